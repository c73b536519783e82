/** `tsraft wal dump|verify|repair DIR`. @module */
import { EXIT, parseArgs, type Command, type Io } from "./io.js";
import { scanWal, segmentFiles, type DumpRecord } from "./records.js";
import { noSegmentMessage, repairWal, verifyWal, type Verdict } from "./verify.js";

function usage(io: Io, cmd: Command, why: string): number {
  io.err(`tsraft ${cmd.words.join(" ")}: ${why}`);
  io.err(cmd.help);
  return EXIT.usage;
}

function oneDir(io: Io, cmd: Command, args: readonly string[], flags: readonly string[]): { dir: string; flags: Set<string> } | number {
  const p = parseArgs(args, ["--help", ...flags]);
  if (p.flags.has("--help")) {
    io.out(cmd.help);
    return EXIT.ok;
  }
  if (p.bad !== undefined) return usage(io, cmd, `unknown flag ${p.bad}`);
  if (p.positional.length !== 1) return usage(io, cmd, "expects one directory");
  return { dir: p.positional[0]!, flags: p.flags };
}

function line(r: DumpRecord): string {
  const parts = [`${r.segment}@${r.offset}`, r.type.padEnd(8)];
  if (r.index !== undefined) parts.push(`index=${r.index}`);
  if (r.term !== undefined) parts.push(`term=${r.term}`);
  if (r.entryType !== undefined) parts.push(`type=${r.entryType}`);
  if (r.vote !== undefined) parts.push(`vote=${r.vote}`);
  if (r.commit !== undefined) parts.push(`commit=${r.commit}`);
  if (r.durableTo !== undefined) parts.push(`sync-marker durable-to=${r.durableTo}`);
  parts.push(`data=${r.dataBytes}B`, `record=${r.recordBytes}B`, `pad=${r.padBytes}`, `crc=${r.crc}${r.crcOk ? "" : " CRC-MISMATCH"}`);
  if (r.error !== undefined) parts.push(`undecodable: ${r.error}`);
  return parts.join(" ");
}

export const walDump: Command = {
  words: ["wal", "dump"],
  summary: "print every record of a WAL directory (type, index, term, sizes, CRC, offset)",
  help: `usage: tsraft wal dump DIR [--json]

Prints each record of the WAL segments in DIR, in file order: segment@offset, record type
(metadata, entry, state, crc, snapshot), index/term (entries, snapshots), vote/commit (state),
durable-to (a crc record that is a tsraft sync marker: the segment's bytes before that offset
were durable when the batch after it was written),
the data, record and padding sizes, the stored CRC-32C and whether the running CRC chain
agrees. After each segment, how it ended (end of file, zero-filled tail, or why reading
stopped). DIR is the WAL directory (a member's DATA_DIR/wal). Read only. Exit 0, or 1 if a
CRC mismatched, reading stopped early, or DIR holds no segment.

  --json   one JSON object per line: {"record": {...}} and {"segmentEnd": {...}}`,
  async run(args, io) {
    const a = oneDir(io, walDump, args, ["--json"]);
    if (typeof a === "number") return a;
    if ((await segmentFiles(a.dir)).length === 0) {
      io.err(`tsraft wal dump: ${await noSegmentMessage(a.dir)}`);
      return EXIT.damage;
    }
    const json = a.flags.has("--json");
    let bad = false;
    await scanWal(
      a.dir,
      (r) => {
        if (!r.crcOk || r.error !== undefined) bad = true;
        io.out(json ? JSON.stringify({ record: r }) : line(r));
      },
      (e) => {
        if (e.how !== "end" && e.how !== "zeros") bad = true;
        io.out(json ? JSON.stringify({ segmentEnd: e }) : `-- ${e.segment}: ${e.how} at offset ${e.offset} of ${e.size}`);
      },
    );
    return bad ? EXIT.damage : EXIT.ok;
  },
};

function describeVerdict(v: Verdict): string {
  switch (v.kind) {
    case "clean":
      return `ok: ${v.segments} segment(s), every record checked`;
    case "torn-tail":
      return `torn tail: ${v.file} ends inside a record; its last whole record ends at offset ${v.offset} (tsraft wal repair cuts it there)`;
    case "damaged":
      return `damaged: ${v.file === undefined ? "" : `${v.file} at offset ${v.offset ?? "?"}: `}${v.message} [${v.code}]`;
  }
}

export const walVerify: Command = {
  words: ["wal", "verify"],
  summary: "check every record of a WAL; report the first damage with its file and offset",
  help: `usage: tsraft wal verify DIR [--json]

Reads every record of the WAL in DIR (a member's DATA_DIR/wal) with @tsraft/wal (CRC chain, framing, record types,
index continuity) without changing anything, and reports the first damage with its file and
byte offset. A torn tail (the last segment cut inside a record, as after a crash during a
write) is reported apart: it is what tsraft wal repair fixes.

Exit codes: 0 clean; 1 damaged (not repairable by tsraft wal repair), or no segment in DIR
(code TSRAFT_WAL_NO_SEGMENTS); 3 torn tail; 2 usage.
  --json   the verdict as one JSON object`,
  async run(args, io) {
    const a = oneDir(io, walVerify, args, ["--json"]);
    if (typeof a === "number") return a;
    const v = await verifyWal(a.dir);
    io.out(a.flags.has("--json") ? JSON.stringify(v) : describeVerdict(v));
    return v.kind === "clean" ? EXIT.ok : v.kind === "torn-tail" ? EXIT.tornTail : EXIT.damage;
  },
};

export const walRepair: Command = {
  words: ["wal", "repair"],
  summary: "repair a torn tail of a WAL (etcd's repair); refuse any other damage",
  help: `usage: tsraft wal repair DIR

Repairs a torn tail of the WAL in DIR (a member's DATA_DIR/wal) only, as etcd's wal.Repair
does: the last segment is copied to NAME.broken, then cut after its last whole record, and
synced. Any other damage (a CRC
mismatch, a corrupt record before the tail, a missing segment) is refused: nothing is
changed, and the damage is printed (restore that member from a snapshot and the WAL of a
healthy one, or remove it and add it back). The member must be stopped (the WAL is locked).

Exit codes: 0 repaired or already clean; 1 refused (also when DIR holds no segment); 2 usage.`,
  async run(args, io) {
    const a = oneDir(io, walRepair, args, []);
    if (typeof a === "number") return a;
    const r = await repairWal(a.dir);
    if (r.kind === "clean") io.out("ok: the WAL ends cleanly; nothing to repair");
    else if (r.kind === "repaired") io.out(`repaired: ${r.file} cut at offset ${r.offset} (the original is kept as ${r.file}.broken)`);
    else {
      io.err(`refused: ${describeVerdict(r.verdict)}`);
      io.err("tsraft wal repair fixes torn tails only; this WAL was left unchanged.");
      return EXIT.damage;
    }
    return EXIT.ok;
  },
};
