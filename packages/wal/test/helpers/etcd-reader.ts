/**
 * Runs etcd's own wal/snap code over a directory we wrote, through the vector generator's
 * helpers (../shared/etcd-baseline/gen/etcdvec), built in GOPATH mode as gen.sh does. The Go
 * program is written here into a temporary directory; no etcd code is copied.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const ETCDVEC = join(here, "../../../../../shared/etcd-baseline/gen/etcdvec");
const ETCD_SRC = "/usr/share/gocode/src/go.etcd.io/etcd";

const MAIN = `package main

import (
	"encoding/json"
	"os"
	"strconv"

	"go.etcd.io/etcd/wal/walpb"
	"tsraft.local/etcdvec"
)

func main() {
	var out interface{}
	switch os.Args[1] {
	case "wal":
		idx, _ := strconv.ParseUint(os.Args[3], 10, 64)
		term, _ := strconv.ParseUint(os.Args[4], 10, 64)
		at := walpb.Snapshot{Index: idx, Term: term}
		out = map[string]interface{}{
			"open":        etcdvec.Read(os.Args[2], "Open", at),
			"openForRead": etcdvec.Read(os.Args[2], "OpenForRead", at),
			"verify":      etcdvec.Verify(os.Args[2], at),
			"valid":       etcdvec.ValidSnaps(os.Args[2]),
		}
	case "snap":
		files := []etcdvec.JSnapFile{}
		for _, n := range os.Args[3:] {
			files = append(files, etcdvec.ReadSnapFile(os.Args[2], n))
		}
		out = map[string]interface{}{"files": files, "load": etcdvec.SnapLoad(os.Args[2], nil)}
	}
	if err := json.NewEncoder(os.Stdout).Encode(etcdvec.SafeNumbers(out)); err != nil {
		panic(err)
	}
}
`;

/** Why the etcd reader cannot run here, or undefined when it can. */
export function etcdReaderUnavailable(): string | undefined {
  if (spawnSync("go", ["version"]).status !== 0) return "go is not installed (apt-get install golang-go)";
  if (!existsSync(join(ETCD_SRC, "wal"))) return `etcd sources not found at ${ETCD_SRC} (apt-get install golang-etcd-server-dev)`;
  if (!existsSync(ETCDVEC)) return `${ETCDVEC} not found`;
  return undefined;
}

/** Builds the reader; returns its path and a cleanup function. */
export async function buildEtcdReader(): Promise<{ bin: string; cleanup: () => Promise<void> }> {
  const gp = await mkdtemp(join(tmpdir(), "tsraft-etcdreader-"));
  await mkdir(join(gp, "src/tsraft.local/reader"), { recursive: true });
  await symlink(ETCDVEC, join(gp, "src/tsraft.local/etcdvec"));
  await writeFile(join(gp, "src/tsraft.local/reader/main.go"), MAIN);
  const env: NodeJS.ProcessEnv = { ...process.env, GO111MODULE: "off", GOPATH: `${gp}:/usr/share/gocode`, GOFLAGS: "" };
  if (env.GOCACHE === undefined && env.HOME === undefined && env.XDG_CACHE_HOME === undefined) env.GOCACHE = join(tmpdir(), "etcd-baseline-gocache");
  const bin = join(gp, "reader");
  execFileSync("go", ["build", "-o", bin, "."], { cwd: join(gp, "src/tsraft.local/reader"), env, stdio: ["ignore", "ignore", "pipe"] });
  return { bin, cleanup: () => rm(gp, { recursive: true, force: true }) };
}

/** Runs the reader. */
export function runEtcdReader(bin: string, args: string[]): Record<string, unknown> {
  return JSON.parse(execFileSync(bin, args, { encoding: "utf8", maxBuffer: 64 << 20 })) as Record<string, unknown>;
}
