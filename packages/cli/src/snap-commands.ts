/** `tsraft snap ls|show`. @module */
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Snapshot } from "@tsraft/raftpb";
import { WalError, readSnapFile } from "@tsraft/wal";
import { snapFiles, subdirHint } from "./data-dir.js";
import { EXIT, parseArgs, type Command, type Io } from "./io.js";

const SNAP_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

interface SnapView {
  file: string;
  bytes: number;
  /** From the file name. */
  term: number;
  index: number;
  ok: boolean;
  error?: string;
  metadata?: { index: number; term: number; voters: string[]; learners: string[]; votersOutgoing: string[]; learnersNext: string[]; autoLeave: boolean };
  dataBytes?: number;
}

async function view(path: string): Promise<SnapView> {
  const name = basename(path);
  const m = SNAP_NAME.exec(name);
  const v: SnapView = {
    file: name,
    bytes: (await stat(path)).size,
    term: m === null ? -1 : parseInt(m[1]!, 16),
    index: m === null ? -1 : parseInt(m[2]!, 16),
    ok: false,
  };
  let s: Snapshot;
  try {
    s = await readSnapFile(path);
  } catch (e) {
    if (!(e instanceof WalError)) throw e;
    v.error = `${e.message} [${e.code}]`;
    return v;
  }
  const md = s.metadata;
  const cs = md.confState;
  const hex = (l: readonly bigint[]): string[] => l.map((id) => id.toString(16));
  v.ok = md.index === v.index && md.term === v.term;
  if (!v.ok) v.error = `the file name says term ${v.term} index ${v.index}; the snapshot says term ${md.term} index ${md.index}`;
  v.metadata = {
    index: md.index,
    term: md.term,
    voters: hex(cs.voters),
    learners: hex(cs.learners),
    votersOutgoing: hex(cs.votersOutgoing),
    learnersNext: hex(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
  v.dataBytes = s.data?.length ?? 0;
  return v;
}

function text(v: SnapView): string {
  if (v.metadata === undefined) return `${v.file} ${v.bytes}B BAD: ${v.error ?? "?"}`;
  const cs = v.metadata;
  const conf = `voters=[${cs.voters.join(",")}] learners=[${cs.learners.join(",")}]${cs.votersOutgoing.length > 0 ? ` outgoing=[${cs.votersOutgoing.join(",")}]` : ""}`;
  return `${v.file} term=${cs.term} index=${cs.index} ${conf} data=${v.dataBytes}B file=${v.bytes}B ${v.ok ? "ok" : `BAD: ${v.error}`}`;
}

/**
 * What to say when `dir` holds no `.snap` file and is a data directory (it has a `snap`
 * subdirectory): the message naming `DIR/snap`. Undefined for any other directory.
 */
async function dataDirMistake(dir: string): Promise<string | undefined> {
  const hint = await subdirHint(dir, "snap", async (p) => (await snapFiles(p)).length > 0);
  return hint === "" ? undefined : `no .snap file in ${dir}${hint}`;
}

function common(cmd: Command, args: readonly string[], io: Io): { target: string; json: boolean } | number {
  const p = parseArgs(args, ["--help", "--json"]);
  if (p.flags.has("--help")) {
    io.out(cmd.help);
    return EXIT.ok;
  }
  if (p.bad !== undefined || p.positional.length !== 1) {
    io.err(`tsraft ${cmd.words.join(" ")}: ${p.bad !== undefined ? `unknown flag ${p.bad}` : "expects one path"}`);
    io.err(cmd.help);
    return EXIT.usage;
  }
  return { target: p.positional[0]!, json: p.flags.has("--json") };
}

export const snapLs: Command = {
  words: ["snap", "ls"],
  summary: "list the snapshot files of a directory, newest first, each checked",
  help: `usage: tsraft snap ls DIR [--json]

Lists the .snap files in DIR (etcd's snapshot directory format: a member's DATA_DIR/snap),
newest first: term, index, configuration, data and file sizes, and whether the file reads
back (CRC-32C, decoding, the name matching the contents). Read only. Exit 0 (also when DIR
holds no .snap file: a member that has taken no snapshot yet), or 1 if a file is bad, or if
DIR holds none but has a snap subdirectory (a data directory given instead of DIR/snap).`,
  async run(args, io) {
    const a = common(snapLs, args, io);
    if (typeof a === "number") return a;
    let bad = false;
    const files = await snapFiles(a.target);
    if (files.length === 0) {
      const mistake = await dataDirMistake(a.target);
      if (mistake !== undefined) {
        io.err(`tsraft snap ls: ${mistake}`);
        return EXIT.damage;
      }
      if (!a.json) io.out(`no .snap file in ${a.target}`);
    }
    for (const f of files) {
      const v = await view(join(a.target, f));
      bad ||= !v.ok;
      io.out(a.json ? JSON.stringify(v) : text(v));
    }
    return bad ? EXIT.damage : EXIT.ok;
  },
};

export const snapShow: Command = {
  words: ["snap", "show"],
  summary: "show one snapshot file (or a directory's newest) in detail",
  help: `usage: tsraft snap show FILE|DIR [--json]

Shows a snapshot file: its metadata (index, term, the configuration: voters, learners,
outgoing voters, learners next, auto leave), the size of its data, and whether it checks.
Given a directory (a member's DATA_DIR/snap), shows its newest file. Read only. Exit 0, or 1
if the file is bad or the directory holds no .snap file.`,
  async run(args, io) {
    const a = common(snapShow, args, io);
    if (typeof a === "number") return a;
    let path = a.target;
    if ((await stat(path)).isDirectory()) {
      const newest = (await snapFiles(path))[0];
      if (newest === undefined) {
        io.err(`tsraft snap show: ${(await dataDirMistake(path)) ?? `no .snap file in ${path}`}`);
        return EXIT.damage;
      }
      path = join(path, newest);
    }
    const v = await view(path);
    if (a.json) io.out(JSON.stringify(v));
    else if (v.metadata === undefined) io.out(text(v));
    else {
      const md = v.metadata;
      io.out(`file:      ${v.file} (${v.bytes} bytes)`);
      io.out(`index:     ${md.index}`);
      io.out(`term:      ${md.term}`);
      io.out(`voters:    [${md.voters.join(",")}]`);
      io.out(`learners:  [${md.learners.join(",")}]`);
      if (md.votersOutgoing.length > 0) io.out(`outgoing:  [${md.votersOutgoing.join(",")}]`);
      if (md.learnersNext.length > 0) io.out(`learnersNext: [${md.learnersNext.join(",")}]`);
      io.out(`autoLeave: ${md.autoLeave}`);
      io.out(`data:      ${v.dataBytes} bytes`);
      io.out(`check:     ${v.ok ? "ok" : `BAD: ${v.error}`}`);
    }
    return v.ok ? EXIT.ok : EXIT.damage;
  },
};
