#!/bin/bash
# Instructions per entry of rawnode-1node's Ready loop, counted by valgrind's callgrind: a
# deterministic figure for changes to the Ready cycle, which wall-clock runs on a shared
# machine cannot resolve (see packages/raft/README.md, "The Ready cycle").
#
#   bench/tools/rawnode-callgrind.sh [B] [N] [MODE] [OUTDIR]     MODE: default | one-cycle
#
# Runs node --single-threaded (garbage collection and compilation on the main thread, so they
# are counted) under callgrind twice: warm-up + N entries, and warm-up + 1 entry; prints
# (Ir(N) - Ir(1)) / (N - 1). Needs a build (pnpm run build). About 1-2 minutes at N = 200,000.
set -euo pipefail
B=${1:-1}
N=${2:-200000}
mode=${3:-default}
out=${4:-$(mktemp -d)}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"
run() {
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$out/cg.$1" \
    node --single-threaded --expose-gc "$here/rawnode-callgrind.mjs" "$1" "$B" "$mode" >"$out/log.$1" 2>&1
  grep -m1 '^summary:' "$out/cg.$1" | awk '{print $2}'
}
big=$(run "$N")
one=$(run 1)
printf 'rawnode-1node B=%s mode=%s: %d instructions per entry ((%s - %s) / %d)\n' "$B" "$mode" $(((big - one) / (N - 1))) "$big" "$one" $((N - 1))
