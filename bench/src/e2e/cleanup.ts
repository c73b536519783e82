/**
 * Cleanup of what the e2e workload starts (server processes, data directories), however the
 * bench ends: the normal path stops clusters itself; this registry is the safety net for an
 * error that escapes, `process.exit`, and Ctrl-C (SIGINT), SIGTERM and SIGHUP. Each action is
 * synchronous (kill by process id, remove a directory), because an `exit` handler cannot wait.
 *
 * A SIGKILLed bench cannot run anything: its KV members still exit (they are started with
 * `--exit-with-parent` and hold a pipe to us), but etcd members would stay; stop them with
 * `../shared/etcd-baseline/etcd-cluster.sh stop DIR` (DIR is printed when the cluster starts).
 * @module
 */

type Action = () => void;

const actions = new Map<number, Action>();
let nextId = 1;
let installed = false;

function runAll(): void {
  const list = [...actions.values()].reverse();
  actions.clear();
  for (const a of list) {
    try {
      a();
    } catch {
      // best effort: the next action must still run
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      process.stderr.write(`bench: ${sig}: stopping the clusters\n`);
      runAll();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/**
 * Registers a synchronous cleanup action, run on exit or signal unless unregistered first;
 * returns the function that unregisters it (call it once the normal path has cleaned up).
 */
export function onCleanup(action: Action): () => void {
  install();
  const id = nextId++;
  actions.set(id, action);
  return () => {
    actions.delete(id);
  };
}

/** Sends SIGKILL to `pid` (SIGCONT first, in case it is stopped); no error if it is gone. */
export function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGCONT");
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
