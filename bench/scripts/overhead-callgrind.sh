#!/usr/bin/env bash
# Instructions per proposal of RaftNode (driver-3node's cluster, C = 1), counted by callgrind,
# for the "Overhead" figures of packages/prometheus/README.md. Not load-sensitive, but not exact
# either: two runs started together agree within 0.03%, separate invocations of one build have
# differed by up to 9% (V8's optimizing compiler still runs in the counted window, and GC
# heuristics depend on time). Enough for costs of several percent; run each ROOT several times.
#
#   bash bench/scripts/overhead-callgrind.sh [--warm W] [--n N] [--metrics] ROOT...
#
# Each ROOT is a built checkout (`pnpm install --frozen-lockfile && pnpm build`), e.g. this one
# and a worktree of the commit to compare with. For each, proposal-driver.mjs runs W proposals
# (default 20,000: the JIT settles), then N more (default 5,000) between two getrusage calls;
# callgrind dumps at each (--dump-before=getrusage), so the second dump holds exactly those N
# proposals. Node runs with --single-threaded (the JIT compiles on the main thread, no
# concurrent GC threads) and fixed hash and random seeds. Printed per ROOT: all instructions per proposal, and the part outside V8's
# optimizing compiler and the garbage collector ("mutator"), whose timing moves with small code
# changes. --metrics binds @tsraft/prometheus to every member. Takes about 2-6 minutes per ROOT
# (valgrind runs node about 50x slower); ROOTs run one after the other.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WARM=20000
N=5000
METRICS=
ROOTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --warm) WARM=$2; shift 2 ;;
    --n) N=$2; shift 2 ;;
    --metrics) METRICS=metrics; shift ;;
    *) ROOTS+=("$(cd "$1" && pwd)"); shift ;;
  esac
done
[ ${#ROOTS[@]} -gt 0 ] || { echo "usage: overhead-callgrind.sh [--warm W] [--n N] [--metrics] ROOT..." >&2; exit 2; }
command -v valgrind >/dev/null || { echo "overhead-callgrind.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }

OUT=$(mktemp -d "${TMPDIR:-/tmp}/tsraft-overhead.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
inclusive() { # inclusive instructions of the first function matching $2 in callgrind file $1
  callgrind_annotate --inclusive=yes "$1" 2>/dev/null >"$1.txt"
  awk -v pat="$2" '$0 ~ pat { gsub(",", "", $1); print $1; exit }' "$1.txt"
}
for root in "${ROOTS[@]}"; do
  d=$OUT/$(echo "$root" | tr '/' '_')
  mkdir -p "$d"
  valgrind --tool=callgrind --dump-before=getrusage --callgrind-out-file="$d/cg.out" \
    node --single-threaded --hash-seed=1 --random-seed=1 "$HERE/proposal-driver.mjs" "$root" "$WARM" "$N" $METRICS >"$d/log" 2>&1 ||
    { cat "$d/log" >&2; exit 1; }
  f=$d/cg.out.2
  total=$(inclusive "$f" "PROGRAM TOTALS")
  opt=$(inclusive "$f" "Runtime_CompileOptimized")
  gc=$(inclusive "$f" "Heap::CollectGarbage[(]")
  opt=${opt:-0}
  gc=${gc:-0}
  rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
  echo "{\"root\":\"$root\",\"rev\":\"$rev\",\"proposals\":$N,\"warm\":$WARM,\"metrics\":\"${METRICS:-none}\",\"instructionsPerProposal\":$((total / N)),\"mutatorPerProposal\":$(((total - opt - gc) / N)),\"optimizingCompilerPerProposal\":$((opt / N)),\"gcPerProposal\":$((gc / N))}"
done
