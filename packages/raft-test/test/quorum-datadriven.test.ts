// Runs etcd-io/raft's quorum scripts (../shared/vectors/etcd-testdata/quorum/*.txt) against
// MajorityConfig and JointConfig. Commands:
//   committed cfg=(ids) [cfgj=(ids)|cfgj=zero] idx=(n|_ ...)   committed index + describe
//   vote      cfg=(ids) [cfgj=(ids)|cfgj=zero] votes=(y|n|_ ...) vote result
// Values are given for the union of cfg and cfgj in order of first appearance; `_` means
// unknown. As in etcd's harness, alternative computations that must agree are run too and any
// disagreement is printed into the output (so it shows up as a mismatch).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { NodeId } from "@tsraft/raftpb";
import { MajorityConfig } from "../../raft/src/quorum/majority.js";
import { JointConfig } from "../../raft/src/quorum/joint.js";
import { indexString, type AckedIndexer, type VoteResult } from "../../raft/src/quorum/types.js";
import { runDatadriven, formatMismatches, sharedVectorsPath, type TestCase } from "./harness/datadriven.js";

const dir = sharedVectorsPath("etcd-testdata", "quorum");

class MapAcked implements AckedIndexer {
  constructor(readonly m: Map<NodeId, number>) {}
  ackedIndex(id: NodeId): number | undefined {
    return this.m.get(id);
  }
}

const VOTE_NAMES: Record<VoteResult, string> = { pending: "VotePending", lost: "VoteLost", won: "VoteWon" };

/** Brute force: the largest index acknowledged by a majority, by counting. */
function bruteCommitted(c: MajorityConfig, l: AckedIndexer): number {
  const ids = c.slice();
  if (ids.length === 0) return Number.MAX_SAFE_INTEGER;
  const q = Math.floor(ids.length / 2) + 1;
  let best = 0;
  for (const cand of ids.map((id) => l.ackedIndex(id) ?? 0)) {
    const n = ids.filter((id) => (l.ackedIndex(id) ?? 0) >= cand).length;
    if (n >= q && cand > best) best = cand;
  }
  return best;
}

function handle(tc: TestCase): string {
  let joint = false;
  const ids: NodeId[] = [];
  const idsj: NodeId[] = [];
  const idxs: number[] = [];
  const votes: number[] = []; // 0 unknown, 1 no, 2 yes
  for (const arg of tc.args) {
    for (const v of arg.vals) {
      switch (arg.key) {
        case "cfg":
          ids.push(BigInt(v));
          break;
        case "cfgj":
          joint = true;
          if (v === "zero") assert.equal(arg.vals.length, 1, `${tc.pos}: cannot mix 'zero' into configuration`);
          else idsj.push(BigInt(v));
          break;
        case "idx":
          if (v === "_") idxs.push(0);
          else {
            const n = Number(v);
            assert.ok(n > 0, `${tc.pos}: cannot use 0 as idx`);
            idxs.push(n);
          }
          break;
        case "votes":
          assert.ok(v === "y" || v === "n" || v === "_", `${tc.pos}: unknown vote ${v}`);
          votes.push(v === "y" ? 2 : v === "n" ? 1 : 0);
          break;
        default:
          assert.fail(`${tc.pos}: unknown arg ${arg.key}`);
      }
    }
  }
  if (tc.args.some((a) => a.key === "cfgj" && a.vals.length === 0)) joint = true;
  const c = new MajorityConfig(ids);
  const cj = new MajorityConfig(idsj);

  // Values map onto the union of ids in order of first appearance; 0 (from `_`) means absent.
  const lookup = (vals: number[]): Map<NodeId, number> => {
    const m = new Map<NodeId, number>();
    let p = 0;
    for (const id of [...ids, ...idsj]) {
      if (m.has(id)) continue;
      if (p < vals.length) m.set(id, vals[p++]!);
    }
    for (const [id, v] of m) if (v === 0) m.delete(id);
    return m;
  };

  const input = tc.cmd === "vote" ? votes : idxs;
  const voters = new JointConfig(c, cj).sortedIds();
  if (voters.length !== input.length) {
    return `error: mismatched input (explicit or _) for voters [${voters.join(" ")}]: [${input.join(" ")}]\n`;
  }

  let out = "";
  switch (tc.cmd) {
    case "committed": {
      const l = new MapAcked(lookup(idxs));
      if (!joint) {
        const idx = c.committedIndex(l);
        out += c.describe(l);
        const alt = bruteCommitted(c, l);
        if (alt !== idx) out += `${indexString(alt)} <-- via alternative computation\n`;
        const zj = new JointConfig(c, new MajorityConfig()).committedIndex(l);
        if (zj !== idx) out += `${indexString(zj)} <-- via zero-joint quorum\n`;
        const sj = new JointConfig(c, c).committedIndex(l);
        if (sj !== idx) out += `${indexString(sj)} <-- via self-joint quorum\n`;
        // Lowering an index that is already below the committed one changes nothing.
        for (const id of c) {
          const iidx = l.ackedIndex(id) ?? 0;
          if (idx > iidx && iidx > 0) {
            for (const lowered of [iidx - 1, 0]) {
              const m = new Map(l.m);
              if (lowered === 0) m.delete(id);
              else m.set(id, lowered);
              const a = c.committedIndex(new MapAcked(m));
              if (a !== idx) out += `${indexString(a)} <-- overlaying ${id}->${lowered}\n`;
            }
          }
        }
        out += `${indexString(idx)}\n`;
      } else {
        const cc = new JointConfig(c, cj);
        out += cc.describe(l);
        const idx = cc.committedIndex(l);
        const sym = new JointConfig(cj, c).committedIndex(l);
        if (sym !== idx) out += `${indexString(sym)} <-- via symmetry\n`;
        out += `${indexString(idx)}\n`;
      }
      break;
    }
    case "vote": {
      const l = new Map<NodeId, boolean>();
      for (const [id, v] of lookup(votes)) l.set(id, v !== 1);
      if (!joint) {
        out += `${VOTE_NAMES[c.voteResult(l)]}\n`;
      } else {
        const r = new JointConfig(c, cj).voteResult(l);
        const ar = new JointConfig(cj, c).voteResult(l);
        if (ar !== r) out += `${VOTE_NAMES[ar]} <-- via symmetry\n`;
        out += `${VOTE_NAMES[r]}\n`;
      }
      break;
    }
    default:
      assert.fail(`${tc.pos}: unknown command ${tc.cmd}`);
  }
  return out;
}

describe("etcd quorum datadriven scripts", () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort();
  test("the scripts are there", () => assert.ok(files.length >= 4, `expected etcd quorum scripts in ${dir}`));
  for (const f of files) {
    test(f, (t) => {
      const r = runDatadriven(join(dir, f), handle);
      t.diagnostic(`${f}: ${r.matched}/${r.total} stanzas match`);
      assert.equal(r.matched, r.total, formatMismatches(r));
    });
  }
});
