// Command etcdraft-wasm exposes etcd 3.4's raft RawNode and MemoryStorage to JavaScript, for
// the mixed-cluster tests of tsraft (packages/raft-test/mixed). Built with GOOS=js
// GOARCH=wasm in GOPATH mode against Debian's golang-etcd-server-dev sources; it uses etcd
// only through its exported API, except to seed etcd's source of election timeouts (see
// lockedRand below).
//
// Every value crosses the boundary as bytes encoded with etcd's raftpb (messages, entries,
// HardState, Snapshot, ConfState, ConfChange[V2]), or as small framed records of those (a
// Ready, a node's view); numbers (ids, indexes, ticks) cross as JavaScript numbers, which is
// exact for the small values a simulation uses. Errors come back as a string starting with
// "error: " (etcd's error) or "panic: " (a panic recovered, etcd's logger.Panicf included).
//
// The planted faults (setFault) wrap etcd's RawNode; etcd's code is never changed:
//   - grantVotesWithoutLogCheck: a vote request is stepped with its log position raised, so
//     the node grants it whatever its log;
//   - forgetVote: the node's storage drops the vote of every HardState it is given;
//   - trustCommit: before a MsgApp, the node steps a heartbeat carrying the MsgApp's commit
//     (capped at its own last index), so it commits entries it never matched with the leader.
package main

import (
	"encoding/binary"
	"fmt"
	"io/ioutil"
	"log"
	"math/rand"
	"sync"
	"syscall/js"
	_ "unsafe" // go:linkname

	"go.etcd.io/etcd/raft"
	pb "go.etcd.io/etcd/raft/raftpb"
)

// etcd 3.4 draws election timeouts from a package-level source seeded with the clock
// (raft.go, globalRand), and exports no way to seed it. A schedule must replay from its seed,
// so seedElections reaches it by name; nothing else of etcd's internals is used.
type lockedRand struct {
	mu   sync.Mutex
	rand *rand.Rand
}

//go:linkname etcdGlobalRand go.etcd.io/etcd/raft.globalRand
var etcdGlobalRand *lockedRand

type node struct {
	rn      *raft.RawNode
	storage *storage
	ready   *raft.Ready
}

// storage is etcd's MemoryStorage with the forgetVote fault switch in front of SetHardState.
type storage struct {
	*raft.MemoryStorage
}

func (s *storage) SetHardState(st pb.HardState) error {
	if faults["forgetVote"] {
		st.Vote = 0
	}
	return s.MemoryStorage.SetHardState(st)
}

var (
	nodes    = map[int]*node{}
	storages = map[int]*storage{}
	nextID   = 1
	faults   = map[string]bool{}
	// faultHits counts the times a planted fault changed what etcd's code saw.
	faultHits = 0
	logger    = &raft.DefaultLogger{Logger: log.New(ioutil.Discard, "", 0)}
)

func bytesArg(v js.Value) []byte {
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func toJS(b []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return u
}

// record appends a framed record: tag, uvarint length, bytes.
func record(out []byte, tag byte, b []byte) []byte {
	out = append(out, tag)
	out = binary.AppendUvarint(out, uint64(len(b)))
	return append(out, b...)
}

func uvarints(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// export registers fn under name, turning a panic into a "panic: ..." string result.
func export(obj js.Value, name string, fn func(args []js.Value) interface{}) {
	obj.Set(name, js.FuncOf(func(this js.Value, args []js.Value) (res interface{}) {
		defer func() {
			if r := recover(); r != nil {
				res = fmt.Sprintf("panic: %v", r)
			}
		}()
		return fn(args)
	}))
}

func errResult(err error) interface{} {
	if err == nil {
		return nil
	}
	return "error: " + err.Error()
}

func getNode(v js.Value) *node {
	n, ok := nodes[v.Int()]
	if !ok {
		panic(fmt.Sprintf("no node handle %d", v.Int()))
	}
	return n
}

func getStorage(v js.Value) *storage {
	s, ok := storages[v.Int()]
	if !ok {
		panic(fmt.Sprintf("no storage handle %d", v.Int()))
	}
	return s
}

func decodeEntries(v js.Value) []pb.Entry {
	n := v.Get("length").Int()
	ents := make([]pb.Entry, n)
	for i := 0; i < n; i++ {
		if err := ents[i].Unmarshal(bytesArg(v.Index(i))); err != nil {
			panic(err)
		}
	}
	return ents
}

func confChange(b []byte, v2 bool) pb.ConfChangeI {
	if v2 {
		var cc pb.ConfChangeV2
		if err := cc.Unmarshal(b); err != nil {
			panic(err)
		}
		return cc
	}
	var cc pb.ConfChange
	if err := cc.Unmarshal(b); err != nil {
		panic(err)
	}
	return cc
}

// encodeReady frames a Ready: 1 soft state (lead, state), 2 HardState, 3 entry (repeated),
// 4 snapshot, 5 committed entry (repeated), 6 message (repeated), 7 mustSync.
func encodeReady(rd *raft.Ready) []byte {
	var out []byte
	if rd.SoftState != nil {
		out = record(out, 1, uvarints(rd.SoftState.Lead, uint64(rd.SoftState.RaftState)))
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		out = record(out, 2, must(rd.HardState.Marshal()))
	}
	for i := range rd.Entries {
		out = record(out, 3, must(rd.Entries[i].Marshal()))
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		out = record(out, 4, must(rd.Snapshot.Marshal()))
	}
	for i := range rd.CommittedEntries {
		out = record(out, 5, must(rd.CommittedEntries[i].Marshal()))
	}
	for i := range rd.Messages {
		out = record(out, 6, must(rd.Messages[i].Marshal()))
	}
	if rd.MustSync {
		out = record(out, 7, []byte{1})
	}
	return out
}

// view frames what the tests observe of a node: 1 (term, vote, commit, applied, lead, state,
// leadTransferee), 2 ConfState of its tracker configuration, 3 (first index, last index, term
// of first index - 1) of its storage, 4 storage entry (repeated, first..last).
func view(n *node) []byte {
	st := n.rn.Status()
	var out []byte
	out = record(out, 1, uvarints(st.Term, st.Vote, st.Commit, st.Applied, st.Lead, uint64(st.RaftState), st.LeadTransferee))
	cs := pb.ConfState{AutoLeave: st.Config.AutoLeave}
	cs.Voters = st.Config.Voters[0].Slice()
	cs.VotersOutgoing = st.Config.Voters[1].Slice()
	for id := range st.Config.Learners {
		cs.Learners = append(cs.Learners, id)
	}
	for id := range st.Config.LearnersNext {
		cs.LearnersNext = append(cs.LearnersNext, id)
	}
	out = record(out, 2, must(cs.Marshal()))
	first, _ := n.storage.FirstIndex()
	last, _ := n.storage.LastIndex()
	snapTerm, err := n.storage.Term(first - 1)
	if err != nil {
		panic(err)
	}
	out = record(out, 3, uvarints(first, last, snapTerm))
	if last >= first {
		ents, err := n.storage.Entries(first, last+1, ^uint64(0))
		if err != nil {
			panic(err)
		}
		for i := range ents {
			out = record(out, 4, must(ents[i].Marshal()))
		}
	}
	return out
}

func step(n *node, m pb.Message) error {
	switch {
	case faults["grantVotesWithoutLogCheck"] && (m.Type == pb.MsgVote || m.Type == pb.MsgPreVote):
		m.LogTerm = m.Term
		m.Index = 1 << 40
	case faults["trustCommit"] && m.Type == pb.MsgApp:
		last, _ := n.storage.LastIndex()
		commit := m.Commit
		if commit > last {
			commit = last
		}
		if st := n.rn.BasicStatus(); commit > st.Commit && m.Term >= st.Term {
			faultHits++
		}
		hb := pb.Message{Type: pb.MsgHeartbeat, From: m.From, To: m.To, Term: m.Term, Commit: commit}
		if err := n.rn.Step(hb); err != nil {
			return err
		}
	}
	return n.rn.Step(m)
}

func main() {
	api := js.Global().Get("Object").New()
	export(api, "newStorage", func(args []js.Value) interface{} {
		id := nextID
		nextID++
		storages[id] = &storage{raft.NewMemoryStorage()}
		return id
	})
	export(api, "freeStorage", func(args []js.Value) interface{} {
		delete(storages, args[0].Int())
		return nil
	})
	export(api, "storageAppend", func(args []js.Value) interface{} {
		return errResult(getStorage(args[0]).Append(decodeEntries(args[1])))
	})
	export(api, "storageSetHardState", func(args []js.Value) interface{} {
		var hs pb.HardState
		if err := hs.Unmarshal(bytesArg(args[1])); err != nil {
			panic(err)
		}
		return errResult(getStorage(args[0]).SetHardState(hs))
	})
	export(api, "storageApplySnapshot", func(args []js.Value) interface{} {
		var snap pb.Snapshot
		if err := snap.Unmarshal(bytesArg(args[1])); err != nil {
			panic(err)
		}
		return errResult(getStorage(args[0]).ApplySnapshot(snap))
	})
	export(api, "storageCreateSnapshot", func(args []js.Value) interface{} {
		var cs pb.ConfState
		if err := cs.Unmarshal(bytesArg(args[2])); err != nil {
			panic(err)
		}
		snap, err := getStorage(args[0]).CreateSnapshot(uint64(args[1].Int()), &cs, bytesArg(args[3]))
		if err != nil {
			return errResult(err)
		}
		return toJS(must(snap.Marshal()))
	})
	export(api, "storageCompact", func(args []js.Value) interface{} {
		return errResult(getStorage(args[0]).Compact(uint64(args[1].Int())))
	})
	export(api, "storageSnapshot", func(args []js.Value) interface{} {
		snap, err := getStorage(args[0]).Snapshot()
		if err != nil {
			return errResult(err)
		}
		return toJS(must(snap.Marshal()))
	})
	// newRawNode(storage, id, applied, electionTick, heartbeatTick, checkQuorum, preVote)
	export(api, "newRawNode", func(args []js.Value) interface{} {
		s := getStorage(args[0])
		cfg := &raft.Config{
			ID:              uint64(args[1].Int()),
			Storage:         s,
			Applied:         uint64(args[2].Int()),
			ElectionTick:    args[3].Int(),
			HeartbeatTick:   args[4].Int(),
			CheckQuorum:     args[5].Bool(),
			PreVote:         args[6].Bool(),
			MaxSizePerMsg:   1 << 20,
			MaxInflightMsgs: 256,
			Logger:          logger,
		}
		rn, err := raft.NewRawNode(cfg)
		if err != nil {
			return errResult(err)
		}
		id := nextID
		nextID++
		nodes[id] = &node{rn: rn, storage: s}
		return id
	})
	export(api, "freeNode", func(args []js.Value) interface{} {
		delete(nodes, args[0].Int())
		return nil
	})
	export(api, "tick", func(args []js.Value) interface{} {
		getNode(args[0]).rn.Tick()
		return nil
	})
	export(api, "campaign", func(args []js.Value) interface{} {
		return errResult(getNode(args[0]).rn.Campaign())
	})
	export(api, "step", func(args []js.Value) interface{} {
		var m pb.Message
		if err := m.Unmarshal(bytesArg(args[1])); err != nil {
			panic(err)
		}
		return errResult(step(getNode(args[0]), m))
	})
	export(api, "propose", func(args []js.Value) interface{} {
		return errResult(getNode(args[0]).rn.Propose(bytesArg(args[1])))
	})
	export(api, "proposeConfChange", func(args []js.Value) interface{} {
		return errResult(getNode(args[0]).rn.ProposeConfChange(confChange(bytesArg(args[1]), args[2].Bool())))
	})
	export(api, "applyConfChange", func(args []js.Value) interface{} {
		cs := getNode(args[0]).rn.ApplyConfChange(confChange(bytesArg(args[1]), args[2].Bool()))
		return toJS(must(cs.Marshal()))
	})
	export(api, "transferLeader", func(args []js.Value) interface{} {
		getNode(args[0]).rn.TransferLeader(uint64(args[1].Int()))
		return nil
	})
	export(api, "reportSnapshot", func(args []js.Value) interface{} {
		st := raft.SnapshotFinish
		if !args[2].Bool() {
			st = raft.SnapshotFailure
		}
		getNode(args[0]).rn.ReportSnapshot(uint64(args[1].Int()), st)
		return nil
	})
	export(api, "reportUnreachable", func(args []js.Value) interface{} {
		getNode(args[0]).rn.ReportUnreachable(uint64(args[1].Int()))
		return nil
	})
	export(api, "hasReady", func(args []js.Value) interface{} {
		return getNode(args[0]).rn.HasReady()
	})
	export(api, "ready", func(args []js.Value) interface{} {
		n := getNode(args[0])
		if n.ready != nil {
			panic("ready called twice without advance")
		}
		rd := n.rn.Ready()
		n.ready = &rd
		return toJS(encodeReady(&rd))
	})
	export(api, "advance", func(args []js.Value) interface{} {
		n := getNode(args[0])
		if n.ready == nil {
			panic("advance without ready")
		}
		n.rn.Advance(*n.ready)
		n.ready = nil
		return nil
	})
	export(api, "view", func(args []js.Value) interface{} {
		return toJS(view(getNode(args[0])))
	})
	export(api, "seedElections", func(args []js.Value) interface{} {
		etcdGlobalRand.mu.Lock()
		etcdGlobalRand.rand = rand.New(rand.NewSource(int64(args[0].Int())))
		etcdGlobalRand.mu.Unlock()
		return nil
	})
	// remarshalMessage decodes a message with etcd's codec and encodes it again: the tests
	// compare the bytes with tsraft's encoding of the same message.
	export(api, "remarshalMessage", func(args []js.Value) interface{} {
		var m pb.Message
		if err := m.Unmarshal(bytesArg(args[0])); err != nil {
			return errResult(err)
		}
		return toJS(must(m.Marshal()))
	})
	export(api, "faultHits", func(args []js.Value) interface{} {
		return faultHits
	})
	export(api, "setFault", func(args []js.Value) interface{} {
		faults[args[0].String()] = args[1].Bool()
		return nil
	})
	js.Global().Set("etcdraft", api)
	select {}
}
