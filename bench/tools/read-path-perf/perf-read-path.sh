#!/bin/bash
# perf-read-path.sh OUTDIR [SECONDS]: 1-client linearizable reads on a fresh 3-member KV cluster
# (the bench's build: run `pnpm bench` once), `perf record -g` of the three members for SECONDS
# (default 15), then the CPU per read of each member by where its samples are (perf-buckets.py).
# Needs Debian's linux-perf and python3. How it was used: bench/README.md, e2e results of
# 2026-12-02 18:50.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
O=$1; S=${2:-15}; mkdir -p "$O"
NODE_OPTIONS=--perf-basic-prof-only-functions node "$here/hold-cluster.mjs" tsraft $((S + 10)) 1 get > "$O/hold.log" 2>&1 &
for _ in $(seq 1 120); do grep -q READY "$O/hold.log" 2>/dev/null && break; sleep 1; done
P=$(grep pids "$O/hold.log" | awk '{print $2}'); L=$(grep pids "$O/hold.log" | awk '{print $4}')
sleep 3
perf record -F 1999 -g -o "$O/perf.data" -p "$P" -- sleep "$S" > "$O/perf.log" 2>&1
wait
OPS=$(grep "ops/s" "$O/hold.log" | awk '{print $4}')
tail -n 1 "$O/hold.log" > "$O/summary.txt"
i=0
for p in $(echo "$P" | tr , ' '); do
  i=$((i + 1))
  perf script -i "$O/perf.data" --pid "$p" -F comm,tid,ip,sym,dso 2>/dev/null > "$O/member-$i.txt"
  echo "== member $i (pid $p)$([ "$i" = "$L" ] && echo ' leader')" >> "$O/summary.txt"
  python3 "$here/perf-buckets.py" "$O/member-$i.txt" 1999 $((OPS * S)) >> "$O/summary.txt"
done
cat "$O/summary.txt"
