/**
 * Builds and loads the etcd side of the mixed clusters: our Go program
 * (`packages/raft-test/mixed/go/main.go`) over etcd 3.4's `raft` package from Debian's
 * golang-etcd-server-dev sources, compiled with `GOOS=js GOARCH=wasm` in GOPATH mode into
 * `packages/raft-test/mixed/.build/` (git-ignored), and run in this process with Go's
 * `wasm_exec.js`. The binary's name holds a hash of the Go source and the Go version, so it is
 * rebuilt only when either changes.
 * @module
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Where Debian's golang-etcd-server-dev puts etcd's sources (a GOPATH). */
export const GOCODE = "/usr/share/gocode";
const GO_DIR = resolve(fileURLToPath(import.meta.url), "../../../mixed/go");
const BUILD_DIR = resolve(GO_DIR, "../.build");

/** A result of the Go side: a value, or an error string ("error: ..." / "panic: ..."). */
type GoResult = unknown;

/** The functions main.go registers as `globalThis.etcdraft` (see its comment for the encodings). */
export interface EtcdRaftApi {
  newStorage(): number;
  freeStorage(s: number): GoResult;
  storageAppend(s: number, entries: Uint8Array[]): GoResult;
  storageSetHardState(s: number, hs: Uint8Array): GoResult;
  storageApplySnapshot(s: number, snap: Uint8Array): GoResult;
  storageCreateSnapshot(s: number, i: number, cs: Uint8Array, data: Uint8Array): GoResult;
  storageCompact(s: number, i: number): GoResult;
  storageSnapshot(s: number): GoResult;
  newRawNode(s: number, id: number, applied: number, electionTick: number, heartbeatTick: number, checkQuorum: boolean, preVote: boolean): GoResult;
  freeNode(n: number): GoResult;
  tick(n: number): GoResult;
  campaign(n: number): GoResult;
  step(n: number, m: Uint8Array): GoResult;
  propose(n: number, data: Uint8Array): GoResult;
  proposeConfChange(n: number, cc: Uint8Array, v2: boolean): GoResult;
  applyConfChange(n: number, cc: Uint8Array, v2: boolean): GoResult;
  transferLeader(n: number, to: number): GoResult;
  reportSnapshot(n: number, to: number, ok: boolean): GoResult;
  reportUnreachable(n: number, to: number): GoResult;
  hasReady(n: number): GoResult;
  ready(n: number): GoResult;
  advance(n: number): GoResult;
  view(n: number): GoResult;
  seedElections(seed: number): GoResult;
  remarshalMessage(m: Uint8Array): GoResult;
  faultHits(): number;
  setFault(name: string, on: boolean): GoResult;
}

/** Either the loaded API, or why the etcd side is not available here. */
export type EtcdLoad = { api: EtcdRaftApi; wasm: string; built: boolean } | { skip: string };

function goEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GO111MODULE: "off", GOPATH: GOCODE, GOFLAGS: "", GOOS: "js", GOARCH: "wasm" };
  if (env.GOCACHE === undefined && env.HOME === undefined && env.XDG_CACHE_HOME === undefined) {
    env.GOCACHE = join(BUILD_DIR, "gocache");
  }
  return env;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { cwd: GO_DIR, env, encoding: "utf8" });
  if (r.error !== undefined) return { ok: false, out: r.error.message };
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

/** Finds Go and etcd's sources, and builds the wasm binary unless a current one is cached. */
export function buildEtcdWasm(): { wasm: string; wasmExec: string; built: boolean } | { skip: string } {
  const env = goEnv();
  const version = run("go", ["version"], env);
  if (!version.ok) return { skip: `no Go toolchain (go version: ${version.out})` };
  if (!existsSync(join(GOCODE, "src/go.etcd.io/etcd/raft/rawnode.go"))) {
    return { skip: `no etcd 3.4 sources under ${GOCODE} (Debian package golang-etcd-server-dev)` };
  }
  const goroot = run("go", ["env", "GOROOT"], env);
  const wasmExec = ["misc/wasm/wasm_exec.js", "lib/wasm/wasm_exec.js"].map((p) => join(goroot.out, p)).find((p) => existsSync(p));
  if (wasmExec === undefined) return { skip: `no wasm_exec.js under ${goroot.out}` };
  const hash = createHash("sha256")
    .update(readFileSync(join(GO_DIR, "main.go")))
    .update(version.out)
    .digest("hex")
    .slice(0, 16);
  const wasm = join(BUILD_DIR, `etcdraft-${hash}.wasm`);
  if (existsSync(wasm)) return { wasm, wasmExec, built: false };
  mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${wasm}.${process.pid}.tmp`;
  const b = run("go", ["build", "-o", tmp, "."], env);
  if (!b.ok) throw new Error(`mixed: go build of ${GO_DIR} failed:\n${b.out}`);
  for (const f of readdirSync(BUILD_DIR)) if (/^etcdraft-[0-9a-f]+\.wasm$/.test(f)) rmSync(join(BUILD_DIR, f));
  renameSync(tmp, wasm);
  return { wasm, wasmExec, built: true };
}

// The compiler's lib has no WebAssembly types (no DOM lib); the two calls used here.
interface GoRuntime {
  importObject: object;
  run(instance: object): Promise<void>;
}
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: object }>;
}

let loaded: Promise<EtcdLoad> | undefined;

/** Builds (if needed) and starts the Go program once per process; later calls share it. */
export function loadEtcdRaft(): Promise<EtcdLoad> {
  loaded ??= (async (): Promise<EtcdLoad> => {
    const b = buildEtcdWasm();
    if ("skip" in b) return b;
    await import(pathToFileURL(b.wasmExec).href);
    const Go = (globalThis as unknown as { Go: new () => GoRuntime }).Go;
    const go = new Go();
    const { instance } = await (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.instantiate(readFileSync(b.wasm), go.importObject);
    void go.run(instance);
    const api = (globalThis as unknown as { etcdraft?: EtcdRaftApi }).etcdraft;
    if (api === undefined) throw new Error("mixed: the Go program did not register globalThis.etcdraft");
    return { api, wasm: b.wasm, built: b.built };
  })();
  return loaded;
}
