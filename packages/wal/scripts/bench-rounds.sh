#!/usr/bin/env bash
# Interleaved rounds of the WAL benchmarks against etcd's Go code, with the disk measured
# around each round (see the package README, "Figures"). The machine is shared: compare the
# ratios of the same round, and medians over rounds.
#
#   bash packages/wal/scripts/bench-rounds.sh OUT_DIR [ROUNDS]    (from the repository root)
#
# Each round: dd (synced 4 KiB writes), etcd's wal-write + wal-replay, `pnpm bench wal-write
# wal-replay --baseline` on the etcd file, wal-replay again with the JavaScript CRC
# (TSRAFT_CRC32C=js), then dd (sequential 512 MiB + fdatasync, synced 4 KiB writes).
# Writes OUT_DIR/{log.txt,go-N.jsonl,ts-N.jsonl,tsjs-N.jsonl}.
set -euo pipefail
OUT=${1:?usage: bench-rounds.sh OUT_DIR [ROUNDS]}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BASELINE=$ROOT/../shared/etcd-baseline/run.sh
DD=${TMPDIR:-/tmp}/wal-bench-rounds-dd.$$
mkdir -p "$OUT"
cd "$ROOT"
pnpm run build > /dev/null
dd_sync() { dd if=/dev/zero of="$DD" bs=4k count=500 oflag=dsync 2>&1 | tail -1; }
dd_seq() { dd if=/dev/zero of="$DD" bs=1M count=512 conv=fdatasync 2>&1 | tail -1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
trap 'rm -f "$DD"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  { echo "round $r start $(date -Is) load $(load)"; echo "  dsync4k: $(dd_sync)"; } >> "$OUT/log.txt"
  bash "$BASELINE" wal-write wal-replay > "$OUT/go-$r.jsonl" 2>> "$OUT/go-$r.err"
  echo "  go done $(date -Is) load $(load)" >> "$OUT/log.txt"
  node --expose-gc bench/dist/main.js wal-write wal-replay --baseline "$OUT/go-$r.jsonl" > "$OUT/ts-$r.jsonl" 2> "$OUT/ts-$r.err"
  echo "  ts done $(date -Is) load $(load)" >> "$OUT/log.txt"
  TSRAFT_CRC32C=js node --expose-gc bench/dist/main.js wal-replay > "$OUT/tsjs-$r.jsonl" 2> "$OUT/tsjs-$r.err"
  { echo "  tsjs done $(date -Is) load $(load)"; echo "  seq1M: $(dd_seq)"; echo "  dsync4k: $(dd_sync)"; } >> "$OUT/log.txt"
done
echo "all done $(date -Is)" >> "$OUT/log.txt"
