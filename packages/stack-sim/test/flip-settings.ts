/** Member settings of the bit-flip tests. */
import type { MemberSettings } from "../src/index.js";

/** A flip at every restart, 1 KiB segments, no snapshots: the log lives in sealed segments, where the flips land. */
export const FLIPS_IN_SEALED_SEGMENTS: Partial<MemberSettings> = { flipOnRestart: 1, segmentSizeBytes: 1024, snapshotEntries: 1000 };
