#!/bin/bash
# Instructions per entry in each window of one log-growth run, counted by valgrind's callgrind:
# a deterministic figure for "is the cost per cycle flat as the log grows", which wall-clock
# windows on a shared machine cannot show (see bench/README.md, log-growth).
#
#   bench/tools/log-growth-callgrind.sh COMPACT_EVERY [TOTAL] [OUTDIR]
#
# Runs node --single-threaded (garbage collection and compilation on the main thread, so they
# are counted; no helper threads) under callgrind with --dump-before=getrusage; the tool calls
# getrusage (process.cpuUsage) only at window boundaries, so dump k+1 holds window k. Needs a
# build (pnpm run build). A 1,000,000-entry run takes about 4-6 minutes under valgrind.
set -euo pipefail
every=${1:?compactEvery}
total=${2:-1000000}
out=${3:-$(mktemp -d)}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"
valgrind --tool=callgrind --smc-check=all-non-file --dump-before=getrusage \
  --callgrind-out-file="$out/cg.out" \
  node --single-threaded --expose-gc "$here/log-growth-callgrind.mjs" "$every" "$total" >"$out/log" 2>&1
window=$((total / 10))
irs=()
for f in $(ls "$out"/cg.out.* | sort -t. -k3 -n); do
  irs+=("$(grep -m1 '^summary:' "$f" | awk '{print $2}')")
done
# Dump 1 is everything before the first window (start-up, warm-up); dumps 2..11 the windows.
per=()
for ((k = 1; k <= 10; k++)); do per+=($((irs[k] / window))); done
sorted=($(printf '%s\n' "${per[@]}" | sort -n))
med=$(((sorted[4] + sorted[5]) / 2))
printf 'log-growth compactEvery=%s total=%s: instructions per entry by window (and / median %s)\n' "$every" "$total" "$med"
printf '(timed entries, counted after the run'"'"'s untimed settling cycles)\n'
for ((k = 0; k < 10; k++)); do
  printf '  window %2d: entries %8d..%8d  %6d  %.2f\n' $((k + 1)) $((k * window + 1)) $(((k + 1) * window)) "${per[k]}" "$(echo "${per[k]} / $med" | bc -l)"
done
