/**
 * `wal verify` and `wal repair` over `@tsraft/wal`'s public API, which owns the verdicts:
 * `WAL.verify` (every record checked, read only; damage other than a torn tail throws an
 * error naming the file and offset) and `WAL.repair` (etcd's torn-tail repair). Whether the
 * tail is torn is asked of `WAL.repair` itself, run on a copy of the last segment in a
 * temporary directory, so that `verify` never writes to the WAL it checks.
 * @module
 */
import { copyFile, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WAL, WalError, WalSnapshotNotFoundError } from "@tsraft/wal";
import { subdirHint } from "./data-dir.js";
import { segmentFiles } from "./records.js";

/**
 * The verdict's `code` when the directory holds no WAL segment. The CLI's own code, not one of
 * @tsraft/wal's `WalErrorCode`s (the library has no such error: `WAL.verify` would report
 * `TSRAFT_WAL_FILE_NOT_FOUND`).
 */
export const NO_SEGMENTS = "TSRAFT_WAL_NO_SEGMENTS";

/**
 * `no WAL segment in DIR`, with the hint naming `DIR/wal` when `DIR` has that subdirectory
 * (a member's data directory given instead of its WAL directory).
 */
export async function noSegmentMessage(dir: string): Promise<string> {
  return `no WAL segment in ${dir}${await subdirHint(dir, "wal", async (p) => (await segmentFiles(p)).length > 0)}`;
}

/** What {@link verifyWal} found. */
export type Verdict =
  | { kind: "clean"; segments: number }
  | { kind: "torn-tail"; segments: number; file: string; offset: number }
  | { kind: "damaged"; file: string | undefined; offset: number | undefined; code: string; message: string };

function located(e: WalError): { file: string | undefined; offset: number | undefined } {
  const f = (e as { file?: unknown }).file;
  const o = (e as { offset?: unknown }).offset;
  return { file: typeof f === "string" ? f : undefined, offset: typeof o === "number" ? o : undefined };
}

/**
 * Checks every record of the WAL in `dir` (read only).
 * @throws the file system's errors other than damage (a missing directory).
 */
export async function verifyWal(dir: string): Promise<Verdict> {
  const files = await segmentFiles(dir);
  if (files.length === 0) return { kind: "damaged", file: undefined, offset: undefined, code: NO_SEGMENTS, message: await noSegmentMessage(dir) };
  try {
    // Verify from the first snapshot record: every selected segment, every record.
    const snaps = await WAL.snapshotEntries(dir);
    const from = snaps[0] ?? { index: 0, term: 0 };
    await WAL.verify(dir, from);
  } catch (e) {
    if (e instanceof WalSnapshotNotFoundError) return { kind: "damaged", file: undefined, offset: undefined, code: e.code, message: e.message };
    if (e instanceof WalError) return { kind: "damaged", ...located(e), code: e.code, message: e.message };
    throw e;
  }
  const last = files[files.length - 1]!;
  const torn = await tornTailOf(dir, last);
  return torn === undefined ? { kind: "clean", segments: files.length } : { kind: "torn-tail", segments: files.length, file: last, offset: torn };
}

/** The offset a torn-tail repair of segment `name` would cut at, or undefined if it ends cleanly. */
async function tornTailOf(dir: string, name: string): Promise<number | undefined> {
  const tmp = await mkdtemp(join(tmpdir(), "tsraft-verify-"));
  try {
    await copyFile(join(dir, name), join(tmp, name));
    const ok = await WAL.repair(tmp);
    if (!ok) return undefined; // damage that is not a torn tail: WAL.verify reported it, or it is not at the tail
    const broken = await stat(join(tmp, `${name}.broken`)).catch(() => undefined);
    if (broken === undefined) return undefined;
    return (await stat(join(tmp, name))).size;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** What {@link repairWal} did. */
export type RepairOutcome = { kind: "clean" } | { kind: "repaired"; file: string; offset: number } | { kind: "refused"; verdict: Verdict };

/**
 * Repairs a torn tail (etcd's repair: the segment is kept as `NAME.broken`, then cut after its
 * last whole record), and refuses anything else, changing nothing.
 * @throws `WalLockedError` if a member has the WAL open; the file system's errors.
 */
export async function repairWal(dir: string): Promise<RepairOutcome> {
  const v = await verifyWal(dir);
  if (v.kind === "clean") return { kind: "clean" };
  if (v.kind === "damaged") return { kind: "refused", verdict: v };
  const ok = await WAL.repair(dir);
  if (!ok) return { kind: "refused", verdict: v };
  return { kind: "repaired", file: v.file, offset: v.offset };
}
