# perf script -F comm,tid,ip,sym,dso output of one process -> CPU per operation by bucket (kernel work by its syscall, user work by the innermost frame that matches). Args: FILE SAMPLE_HZ OPERATIONS. Used by perf-read-path.sh.
import sys, re, collections
path, freq, reads = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
B = [
 ("kernel: send (write/writev/sendmsg, incl. waking the peer)", r"ksys_write|do_writev|__x64_sys_write|__x64_sys_sendmsg|__x64_sys_sendto"),
 ("kernel: receive (read/recvmsg)", r"ksys_read|do_readv|__x64_sys_read|__x64_sys_recvmsg|__x64_sys_recvfrom"),
 ("kernel: epoll_wait", r"do_epoll_wait|__x64_sys_epoll"),
 ("kernel: return to user (preemption, signals)", r"exit_to_user_mode_loop"),
 ("kernel: other syscalls", r"__x64_sys_|do_syscall_64"),
 ("GC", r"Heap::|Scavenger|MarkCompact|Sweeper|ConcurrentMarking|GCTracer|ScavengeJob"),
 ("V8 compiler", r"OptimizingCompileDispatcher|compiler::|Maglev|Compiler::"),
 ("raftpb codec", r"packages/raftpb/"),
 ("raft (RawNode)", r"packages/raft/"),
 ("metrics (prom-client)", r"prometheus|prom-client"),
 ("RaftNode", r"packages/node/dist/(raft-node|waiters|task-queue|persist-batch|proposal-waiters|diagnostics|scheduler)"),
 ("transport (frames, acceptor, send)", r"packages/node/dist/(tcp-transport|acceptor|frames|envelope|dial)"),
 ("KV loop monitor (timer, /proc read)", r"loop-monitor"),
 ("KV app (routing, state machine, JSON answer)", r"examples/kv/dist|JsonStringifier"),
 ("Node HTTP (llhttp, request/response objects)", r"node:_http|_http_|llhttp|Parser::"),
 ("Node streams/sockets", r"node:internal/streams|stream_base_commons|node:net|LibuvStreamWrap|StreamBase"),
 ("event loop (immediates, timers, microtasks)", r"processImmediate|listOnTimeout|processTicksAndRejections|RunMicrotasks|processPromiseRejections|node:internal/timers"),
 ("kernel: interrupts/scheduling", r"\[k\]"),
]
C = [re.compile(p) for _, p in B]
cnt = collections.Counter(); tot = 0
SYS = [(n, c) for (n, _), c in zip(B, C) if n.startswith("kernel:") and "interrupts" not in n]
USR = [(n, c) for (n, _), c in zip(B, C) if not n.startswith("kernel:")]
def classify(fr):
    for f in fr:
        if "[k]" in f:
            for n, c in SYS:
                if c.search(f): return n
    for f in fr:
        if "[k]" in f: continue
        for n, c in USR:
            if c.search(f): return n
    if fr and "[k]" in fr[0]: return "kernel: interrupts/scheduling"
    return "other (libuv, V8 runtime)"
fr = []
for line in open(path):
    line = line.rstrip("\n")
    if not line.strip():
        if fr: cnt[classify(fr)] += 1; tot += 1
        fr = []; continue
    if line[:1] in "\t ":
        p = line.strip().split(" ", 1); f = p[1] if len(p) > 1 else ""
        if "kernel.kallsyms" in f: f += " [k]"
        fr.append(f)
if fr: cnt[classify(fr)] += 1; tot += 1
us = lambda n: n / freq * 1e6 / reads
print(f"total {us(tot):.1f} us/read ({tot} samples)")
for k, v in cnt.most_common(): print(f"  {us(v):6.1f} us  {100*v/tot:5.1f}%  {k}")
