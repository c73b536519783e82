/** Snapshot files: etcd's vectors read as etcd read them; ours are byte-identical and read by etcd. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeSnapshot } from "@tsraft/raftpb";
import type { Snapshot } from "@tsraft/raftpb";
import { NoSnapshotError, SnapCrcMismatchError, Snapshotter, readSnapFile } from "@tsraft/wal";
import { VECTORS, b64, copyToTemp, readJson, removeTemp, tempDir } from "./helpers/vectors.js";
import { buildEtcdReader, etcdReaderUnavailable, runEtcdReader } from "./helpers/etcd-reader.js";

interface JSnap {
  data: string | null;
  metadata: { confState: Record<string, unknown>; index: number; term: number };
}
interface Expect {
  read: { name: string; snapshot: JSnap | null; error: { name: string } | null }[];
  loads: { call: string; snapshot: JSnap | null; error: { name: string } | null; filesAfter: string[] }[];
}

function jSnap(s: Snapshot): JSnap {
  const cs = s.metadata.confState;
  return {
    data: b64(s.data),
    metadata: {
      confState: {
        voters: cs.voters.map(String),
        learners: cs.learners.map(String),
        votersOutgoing: cs.votersOutgoing.map(String),
        learnersNext: cs.learnersNext.map(String),
        autoLeave: cs.autoLeave,
      },
      index: s.metadata.index,
      term: s.metadata.term,
    },
  };
}

function parseCall(call: string): { index: number; term: number }[] | undefined {
  if (call === "Load()") return undefined;
  return [...call.matchAll(/\{Index:(\d+),Term:(\d+)\}/g)].map((m) => ({ index: Number(m[1]), term: Number(m[2]) }));
}

describe("etcd snap vectors", () => {
  for (const set of ["two", "flipped"]) {
    test(set, async () => {
      const base = join(VECTORS, "snap", set);
      const exp = await readJson<Expect>(join(base, "expect.json"));
      for (const r of exp.read) {
        if (r.error === null) assert.deepEqual(jSnap(await readSnapFile(join(base, "snap", r.name))), r.snapshot);
        else await assert.rejects(readSnapFile(join(base, "snap", r.name)), r.error.name === "snap.ErrCRCMismatch" ? SnapCrcMismatchError : Error);
      }
      for (const l of exp.loads) {
        const dir = await copyToTemp(join(base, "snap"));
        try {
          const ss = new Snapshotter(dir);
          const walSnaps = parseCall(l.call);
          const p = walSnaps === undefined ? ss.load() : ss.loadNewestAvailable(walSnaps);
          if (l.error === null) assert.deepEqual(jSnap(await p), l.snapshot, l.call);
          else await assert.rejects(p, NoSnapshotError);
          assert.deepEqual((await readdir(dir)).sort(), l.filesAfter, l.call);
        } finally {
          await removeTemp(dir);
        }
      }
    });
  }

  test("save writes etcd's bytes; purge keeps the newest", async () => {
    const base = join(VECTORS, "snap", "two", "snap");
    const dir = join(await tempDir(), "snap");
    await (await import("node:fs/promises")).mkdir(dir);
    try {
      const ss = new Snapshotter(dir);
      for (const n of (await readdir(base)).sort()) {
        const raw = await readFile(join(base, n));
        await ss.save(await readSnapFile(join(base, n)));
        assert.deepEqual(await readFile(join(dir, n)), raw, n);
      }
      await writeFile(join(dir, "x.snap.tmp"), "junk");
      assert.deepEqual((await ss.purge(1)).sort(), ["0000000000000002-0000000000000064.snap", "x.snap.tmp"]);
      assert.deepEqual(await readdir(dir), ["0000000000000003-00000000000000c8.snap"]);
      void decodeSnapshot;
    } finally {
      await removeTemp(dir);
    }
  });

  describe("etcd reads our snapshot files", () => {
    const why = etcdReaderUnavailable();
    let reader: Awaited<ReturnType<typeof buildEtcdReader>> | undefined;
    before(async () => {
      if (why === undefined) reader = await buildEtcdReader();
    });
    after(async () => reader?.cleanup());
    test("snap.Read and Snapshotter.Load", async (t) => {
      if (why !== undefined) return t.skip(why);
      const dir = join(await tempDir(), "snap");
      await (await import("node:fs/promises")).mkdir(dir);
      try {
        const ss = new Snapshotter(dir);
        const snap: Snapshot = {
          data: new TextEncoder().encode("state machine bytes"),
          metadata: {
            index: 42,
            term: 7,
            confState: { voters: [1n, 0xffffffffffffffffn], learners: [3n], votersOutgoing: [], learnersNext: [], autoLeave: false },
          },
        };
        await ss.save(snap);
        const out = runEtcdReader(reader!.bin, ["snap", dir, "0000000000000007-000000000000002a.snap"]) as {
          files: { snapshot: unknown; error: unknown }[];
          load: { snapshot: unknown; error: unknown };
        };
        assert.equal(out.files[0]!.error, null);
        assert.deepEqual(out.files[0]!.snapshot, jSnap(snap));
        assert.deepEqual(out.load.snapshot, jSnap(snap));
      } finally {
        await removeTemp(dir);
      }
    });
  });
});
