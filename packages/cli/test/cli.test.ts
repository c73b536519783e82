/**
 * The `tsraft` commands on the etcd-written vectors in ../shared/vectors (read in place;
 * the ones a command changes are copied to a temporary directory first): `wal dump` agrees
 * with etcd's own record listing (expect.json `records`) field by field; `wal verify` finds
 * the torn tails and a planted CRC flip with its file and offset; `wal repair` gives etcd's
 * repaired bytes and refuses other damage without changing a byte; `snap ls|show` read
 * etcd's snapshot files and catch the flipped one; `--help` works on each command.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { COMMANDS, EXIT, main, scanWal } from "@tsraft/cli";
import type { Io } from "@tsraft/cli";
import { WAL } from "@tsraft/wal";

const here = dirname(fileURLToPath(import.meta.url));
const VECTORS = join(here, "../../../../shared/vectors");
const WAL_SETS = ["simple", "overwrite", "snapshot", "multi-segment"];

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out, err };
}

async function copyWal(set: string, sub = "wal"): Promise<{ dir: string; base: string }> {
  const base = await mkdtemp(join(tmpdir(), "tsraft-cli-"));
  const dir = join(base, "wal");
  await cp(join(VECTORS, "wal", set, sub), dir, { recursive: true });
  await chmod(dir, 0o755);
  for (const f of await readdir(dir)) await chmod(join(dir, f), 0o644);
  return { dir, base };
}

async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort())
    out[f] = createHash("sha256")
      .update(await readFile(join(dir, f)))
      .digest("hex");
  return out;
}

interface EtcdRecord {
  offset: number;
  recBytes: number;
  padBytes: number;
  type: string;
  crc: number;
  dataBytes: number;
  value?: { index?: number; term?: number; type?: string; commit?: number; vote?: string };
}

describe("tsraft wal dump", () => {
  for (const set of WAL_SETS) {
    test(`${set}: every record as etcd lists it`, async () => {
      const expect = JSON.parse(await readFile(join(VECTORS, "wal", set, "expect.json"), "utf8")) as { records: { file: string; records: EtcdRecord[] }[] };
      const r = await run("wal", "dump", "--json", join(VECTORS, "wal", set, "wal"));
      assert.equal(r.code, EXIT.ok, r.err.join("\n"));
      const got = r.out
        .map((l) => JSON.parse(l) as { record?: Record<string, unknown> })
        .filter((x) => x.record !== undefined)
        .map((x) => x.record!);
      const want = expect.records.flatMap((f) => f.records.map((rec) => ({ file: f.file, ...rec })));
      assert.equal(got.length, want.length);
      want.forEach((w, i) => {
        const g = got[i]!;
        const at = `${w.file}@${w.offset}`;
        assert.equal(`${g["segment"]}@${g["offset"]}`, at);
        assert.equal(g["type"], w.type, at);
        assert.equal(g["recordBytes"], w.recBytes, at);
        assert.equal(g["padBytes"], w.padBytes, at);
        assert.equal(g["dataBytes"], w.dataBytes, at);
        assert.equal(parseInt(String(g["crc"]), 16), w.crc, at);
        assert.equal(g["crcOk"], true, at);
        if (w.type === "entry" || w.type === "snapshot") {
          assert.equal(g["index"], w.value!.index, at);
          assert.equal(g["term"], w.value!.term, at);
        }
        if (w.type === "entry") assert.equal(g["entryType"], w.value!.type, at);
        if (w.type === "state") assert.equal(g["commit"], w.value!.commit, at);
      });
    });
  }

  test("readable lines: one per record and one per segment end", async () => {
    const r = await run("wal", "dump", join(VECTORS, "wal", "simple", "wal"));
    assert.equal(r.code, EXIT.ok);
    assert.match(r.out[1]!, /^0000000000000000-0000000000000000\.wal@16 metadata .*data=20B record=30B pad=2 crc=[0-9a-f]{8}$/);
    assert.match(r.out[3]!, /@80 entry +index=1 term=1 type=EntryConfChange /);
    assert.match(r.out[r.out.length - 1]!, /^-- 0000000000000000-0000000000000000\.wal: zeros at offset \d+ of 32768$/);
  });

  test("a flipped byte shows as a CRC mismatch on that record only", async () => {
    const { dir, base } = await copyWal("simple");
    try {
      const f = join(dir, "0000000000000000-0000000000000000.wal");
      const b = await readFile(f);
      b[112 + 8 + 10]! ^= 0x40; // inside the data of the record at offset 112
      await writeFile(f, b);
      const r = await run("wal", "dump", "--json", dir);
      assert.equal(r.code, EXIT.damage);
      const bad = r.out.map((l) => JSON.parse(l) as { record?: { offset: number; crcOk: boolean } }).filter((x) => x.record !== undefined && !x.record.crcOk);
      assert.deepEqual(
        bad.map((x) => x.record!.offset),
        [112],
      );
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe("tsraft wal dump: sync markers", () => {
  test("each synced save's marker shows the offset durable before it", async () => {
    const base = await mkdtemp(join(tmpdir(), "tsraft-cli-markers-"));
    try {
      const dir = join(base, "wal");
      const w = await WAL.create(dir, new TextEncoder().encode("m"));
      for (let i = 1; i <= 3; i++) await w.save({ term: 1, vote: 0n, commit: i - 1 }, [{ term: 1, index: i, type: 0, data: new Uint8Array(20) }]);
      await w.close();
      const r = await run("wal", "dump", "--json", dir);
      assert.equal(r.code, EXIT.ok, r.err.join("\n"));
      const recs = r.out
        .map((l) => JSON.parse(l) as { record?: { type: string; offset: number; durableTo?: number } })
        .flatMap((x) => (x.record === undefined ? [] : [x.record]));
      assert.equal(recs[0]!.durableTo, undefined); // the segment's first crc record (etcd's) has no data
      const [header, ...saves] = recs.filter((x) => x.type === "crc" && x.offset > 0);
      // The header's marker claims nothing; then one per synced save, each claiming its own
      // offset (each batch is synced whole); then the close's seal, claiming all before it.
      assert.equal(header!.durableTo, 0);
      assert.equal(saves.length, 4);
      assert.deepEqual(
        saves.map((m) => m.durableTo),
        saves.map((m) => m.offset),
      );
      const last = recs[recs.length - 1]!;
      assert.equal(last, saves[3], "the seal is the last record");
      const text = await run("wal", "dump", dir);
      assert.equal(text.out.filter((l) => / crc +sync-marker durable-to=\d+ /.test(l)).length, 5);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe("tsraft wal dump: every segment's header ends with a marker", () => {
  test("at create and at each cut: crc, metadata, snapshot or state, then a marker claiming 0, before any entry", async () => {
    const base = await mkdtemp(join(tmpdir(), "tsraft-cli-headers-"));
    try {
      const dir = join(base, "wal");
      const w = await WAL.create(dir, new TextEncoder().encode("m"), { segmentSizeBytes: 4096 });
      for (let i = 1; i <= 40; i++) await w.save({ term: 1, vote: 0n, commit: i - 1 }, [{ term: 1, index: i, type: 0, data: new Uint8Array(300) }]);
      await w.close();
      const r = await run("wal", "dump", "--json", dir);
      assert.equal(r.code, EXIT.ok, r.err.join("\n"));
      const recs = r.out
        .map((l) => JSON.parse(l) as { record?: { segment: string; type: string; durableTo?: number } })
        .flatMap((x) => (x.record === undefined ? [] : [x.record]));
      const segments = [...new Set(recs.map((x) => x.segment))];
      assert.ok(segments.length >= 3, `cuts happened (${segments.length} segments)`);
      for (const seg of segments) {
        const rs = recs.filter((x) => x.segment === seg);
        const firstEntry = rs.findIndex((x) => x.type === "entry");
        const header = rs.slice(0, firstEntry < 0 ? rs.length : firstEntry);
        assert.deepEqual(
          header.slice(0, 2).map((x) => x.type),
          ["crc", "metadata"],
          seg,
        );
        const markers = header.filter((x) => x.durableTo !== undefined);
        assert.ok(markers.length >= 1 && markers[0]!.durableTo === 0, `${seg}: the header's marker (${JSON.stringify(header)})`);
      }
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe("tsraft wal verify", () => {
  for (const set of WAL_SETS) {
    test(`${set}: clean`, async () => {
      const r = await run("wal", "verify", join(VECTORS, "wal", set, "wal"));
      assert.equal(r.code, EXIT.ok, r.out.concat(r.err).join("\n"));
      assert.match(r.out[0]!, /^ok: /);
    });
  }
  for (const set of ["torn-tail", "torn-tail-zeroed"]) {
    test(`${set}: a torn tail, with the file and the offset etcd's repair cuts at`, async () => {
      const r = await run("wal", "verify", "--json", join(VECTORS, "wal", set, "wal"));
      assert.equal(r.code, EXIT.tornTail);
      assert.deepEqual(JSON.parse(r.out[0]!), { kind: "torn-tail", segments: 1, file: "0000000000000000-0000000000000000.wal", offset: 6808 });
    });
  }
  test("a flipped byte in the middle: damaged, with its file and offset; nothing written", async () => {
    const { dir, base } = await copyWal("multi-segment");
    try {
      const name = "0000000000000001-000000000000002c.wal";
      // The last byte of the data of the 5th entry record of the second segment (the CRC covers it).
      const recs: { segment: string; offset: number; type: string; recordBytes: number }[] = [];
      await scanWal(
        dir,
        (r) => void recs.push(r),
        () => {},
      );
      const victim = recs.filter((r) => r.segment === name && r.type === "entry")[4]!;
      const at = victim.offset + 8 + victim.recordBytes - 1;
      const b = await readFile(join(dir, name));
      b[at]! ^= 0x01;
      await writeFile(join(dir, name), b);
      const before = await hashes(dir);
      const r = await run("wal", "verify", "--json", dir);
      assert.equal(r.code, EXIT.damage);
      const v = JSON.parse(r.out[0]!) as { kind: string; file: string; offset: number; code: string };
      assert.equal(v.kind, "damaged");
      assert.equal(v.file, name);
      assert.equal(v.code, "TSRAFT_WAL_CRC_MISMATCH");
      assert.equal(v.offset, victim.offset);
      assert.deepEqual(await hashes(dir), before);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe("tsraft wal repair", () => {
  for (const set of ["torn-tail", "torn-tail-zeroed"]) {
    test(`${set}: the same bytes as etcd's repair`, async () => {
      const { dir, base } = await copyWal(set);
      try {
        const r = await run("wal", "repair", dir);
        assert.equal(r.code, EXIT.ok, r.err.join("\n"));
        assert.match(r.out[0]!, /^repaired: 0000000000000000-0000000000000000\.wal cut at offset 6808/);
        assert.deepEqual(await hashes(dir), await hashes(join(VECTORS, "wal", set, "repaired")));
        assert.equal((await run("wal", "verify", dir)).code, EXIT.ok);
      } finally {
        await rm(base, { recursive: true, force: true });
      }
    });
  }
  test("a clean WAL: nothing to do", async () => {
    const { dir, base } = await copyWal("simple");
    try {
      const before = await hashes(dir);
      const r = await run("wal", "repair", dir);
      assert.equal(r.code, EXIT.ok);
      assert.match(r.out[0]!, /nothing to repair/);
      assert.deepEqual(await hashes(dir), before);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
  test("other damage: refused, not a byte changed", async () => {
    const { dir, base } = await copyWal("simple");
    try {
      const f = join(dir, "0000000000000000-0000000000000000.wal");
      const b = await readFile(f);
      b[112 + 8 + 10]! ^= 0x40;
      await writeFile(f, b);
      const before = await hashes(dir);
      const r = await run("wal", "repair", dir);
      assert.equal(r.code, EXIT.damage);
      assert.match(r.err[0]!, /^refused: damaged: 0000000000000000-0000000000000000\.wal at offset \d+: .*crc mismatch/);
      assert.deepEqual(await hashes(dir), before);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe("tsraft snap", () => {
  test("ls: etcd's two snapshot files, newest first, checked", async () => {
    const r = await run("snap", "ls", "--json", join(VECTORS, "snap", "two", "snap"));
    assert.equal(r.code, EXIT.ok);
    const v = r.out.map((l) => JSON.parse(l) as { file: string; ok: boolean; index: number; term: number; dataBytes: number });
    assert.deepEqual(
      v.map((x) => [x.file, x.ok, x.term, x.index]),
      [
        ["0000000000000003-00000000000000c8.snap", true, 3, 200],
        ["0000000000000002-0000000000000064.snap", true, 2, 100],
      ],
    );
  });
  test("ls and show: the flipped file is bad (exit 1)", async () => {
    const dir = join(VECTORS, "snap", "flipped", "snap");
    const ls = await run("snap", "ls", dir);
    assert.equal(ls.code, EXIT.damage);
    assert.match(ls.out[0]!, /BAD: .*crc mismatch/i);
    const show = await run("snap", "show", dir);
    assert.equal(show.code, EXIT.damage);
  });
  test("show: the newest file of a directory, in detail", async () => {
    const r = await run("snap", "show", join(VECTORS, "snap", "two", "snap"));
    assert.equal(r.code, EXIT.ok, r.err.join("\n"));
    assert.ok(r.out.includes("index:     200"));
    assert.ok(r.out.includes("term:      3"));
    assert.ok(r.out.includes("check:     ok"));
  });
});

describe("tsraft given the data directory instead of DIR/wal or DIR/snap", () => {
  /** A member's data directory: wal/ (etcd's "simple" WAL) and snap/ (etcd's two snapshot files). */
  async function dataDir(): Promise<string> {
    const { base } = await copyWal("simple");
    await cp(join(VECTORS, "snap", "two", "snap"), join(base, "snap"), { recursive: true });
    return base;
  }
  test("wal dump, verify, repair: exit 1, naming DIR/wal", async () => {
    const base = await dataDir();
    try {
      const hint = `no WAL segment in ${base}; ${join(base, "wal")} holds one: did you mean ${join(base, "wal")}?`;
      const dump = await run("wal", "dump", base);
      assert.equal(dump.code, EXIT.damage);
      assert.deepEqual(dump.out, []);
      assert.ok(dump.err[0]!.includes(hint), dump.err.join("\n"));
      const verify = await run("wal", "verify", "--json", base);
      assert.equal(verify.code, EXIT.damage);
      const v = JSON.parse(verify.out[0]!) as { kind: string; code: string; message: string };
      assert.deepEqual([v.kind, v.code, v.message], ["damaged", "TSRAFT_WAL_NO_SEGMENTS", hint]);
      const repair = await run("wal", "repair", base);
      assert.equal(repair.code, EXIT.damage);
      assert.ok(repair.err[0]!.includes(hint), repair.err.join("\n"));
      assert.equal((await run("wal", "verify", join(base, "wal"))).code, EXIT.ok, "DIR/wal itself is fine");
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
  test("snap ls, show: exit 1, naming DIR/snap", async () => {
    const base = await dataDir();
    try {
      const hint = `no .snap file in ${base}; ${join(base, "snap")} holds one: did you mean ${join(base, "snap")}?`;
      for (const cmd of ["ls", "show"]) {
        const r = await run("snap", cmd, base);
        assert.equal(r.code, EXIT.damage, cmd);
        assert.deepEqual(r.out, [], cmd);
        assert.ok(r.err[0]!.includes(hint), `${cmd}: ${r.err.join("\n")}`);
      }
      assert.equal((await run("snap", "ls", join(base, "snap"))).code, EXIT.ok, "DIR/snap itself is fine");
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
  test("a data directory whose wal/ and snap/ are empty: still named", async () => {
    const base = await mkdtemp(join(tmpdir(), "tsraft-cli-"));
    try {
      await mkdir(join(base, "wal"));
      await mkdir(join(base, "snap"));
      const dump = await run("wal", "dump", base);
      assert.equal(dump.code, EXIT.damage);
      assert.ok(dump.err[0]!.includes(`no WAL segment in ${base}; did you mean ${join(base, "wal")}? (it holds none either)`), dump.err.join("\n"));
      const ls = await run("snap", "ls", base);
      assert.equal(ls.code, EXIT.damage);
      assert.ok(ls.err[0]!.includes(`no .snap file in ${base}; did you mean ${join(base, "snap")}? (it holds none either)`), ls.err.join("\n"));
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
  test("an empty directory: wal dump and verify report no segment (exit 1); snap ls lists none (exit 0)", async () => {
    const base = await mkdtemp(join(tmpdir(), "tsraft-cli-"));
    try {
      const dump = await run("wal", "dump", base);
      assert.equal(dump.code, EXIT.damage);
      assert.deepEqual(dump.err, [`tsraft wal dump: no WAL segment in ${base}`]);
      const verify = await run("wal", "verify", base);
      assert.equal(verify.code, EXIT.damage);
      assert.deepEqual(verify.out, [`damaged: no WAL segment in ${base} [TSRAFT_WAL_NO_SEGMENTS]`]);
      const ls = await run("snap", "ls", base);
      assert.equal(ls.code, EXIT.ok, "a member that has taken no snapshot yet");
      assert.deepEqual(ls.out, [`no .snap file in ${base}`]);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe("tsraft --help", () => {
  test("each command has --help (exit 0, a usage line)", async () => {
    for (const c of COMMANDS) {
      const r = await run(...c.words, "--help");
      assert.equal(r.code, EXIT.ok, c.words.join(" "));
      assert.match(r.out[0]!, new RegExp(`^usage: tsraft ${c.words.join(" ")} `));
    }
    const top = await run("--help");
    assert.equal(top.code, EXIT.ok);
    for (const c of COMMANDS) assert.ok(top.out[0]!.includes(c.words.join(" ")));
  });
  test("unknown commands and flags are usage errors (exit 2)", async () => {
    assert.equal((await run("wal", "frobnicate")).code, EXIT.usage);
    assert.equal((await run("wal", "dump", "--nope", "x")).code, EXIT.usage);
    assert.equal((await run("wal", "verify")).code, EXIT.usage);
  });
  test("the bin runs as a process", () => {
    const main = join(here, "../src/main.ts");
    const r = spawnSync(process.execPath, ["--conditions=@tsraft/source", "--import", "tsx", main, "wal", "verify", join(VECTORS, "wal", "torn-tail", "wal")], {
      encoding: "utf8",
    });
    assert.equal(r.status, EXIT.tornTail, r.stderr);
    assert.match(r.stdout, /^torn tail: /);
  });
});
