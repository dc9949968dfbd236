#!/usr/bin/env bash
# Thread dumps in a run directory: on a hang (the default trigger) the dump of the blocked
# client shows its main thread inside C core's completion-queue wait, called from the peer's
# own step code with file:line, and the grouped summary accounts for every thread. A `dump`
# step dumps both peers at its point of the script.
set -u
fl=$1
data=$2
src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

"$fl" run --quiet --out "$tmp/hang" "$data/hang-is-detected.yaml" >"$tmp/out" 2>&1 || { no "hang run"; cat "$tmp/out"; }
d=$tmp/hang/threads-client-1.txt
[ -s "$d" ] || { no "no $d"; ls "$tmp/hang"; exit 1; }
grep -q '^why: hang: no progress for 0.5s with a call open' "$d" || no "the dump does not say why"
grep -q '"file": "threads-client-1.txt"' "$tmp/hang/report.json" || no "report.json lists no client dump"
grep -q '"dump_ms": ' "$tmp/hang/report.json" || no "report.json has no dump time"

# The main thread: the pump's line in peer.c must be the one that calls
# grpc_completion_queue_next, and C core's poller must be below it.
main_thread=$(awk '/^thread [0-9]+ /{p = 0} /^thread [0-9]+ "faultline-peer"/{p = 1} p' "$d")
echo "$main_thread" | head -12 | sed 's/^/  /'
echo "$main_thread" | grep -q 'grpc_pollset_work' || no "main thread is not in C core's poller"
pump_line=$(echo "$main_thread" | grep -A1 '^fl_peer_pump(' | grep -o 'peer\.c:[0-9]*' | head -1 | cut -d: -f2)
[ -n "$pump_line" ] || no "main thread has no fl_peer_pump frame with peer.c:LINE"
if [ -n "$pump_line" ]; then
  sed -n "${pump_line}p" "$src/harness/peer/peer.c" | grep -q grpc_completion_queue_next ||
    no "peer.c:$pump_line does not call grpc_completion_queue_next: $(sed -n "${pump_line}p" "$src/harness/peer/peer.c")"
fi
echo "$main_thread" | grep -A1 -E '^fl_peer_run_(script|client)\(' | grep -Eq '(peer|client)\.c:[0-9]+ \+0x' ||
  no "no step-code frame with file:line"

# The grouped summary accounts for every thread: its counts add up to the header's total.
total=$(grep -m1 '^thread profile: total' "$d" | grep -o '[0-9]*$')
sum=$(grep -E '^[0-9]+ @ ' "$d" | awk '{s += $1} END {print s}')
listed=$(grep -c '^thread [0-9]* "' "$d")
[ -n "$total" ] && [ "$total" = "$sum" ] && [ "$total" = "$listed" ] ||
  no "summary total $total, groups add to $sum, threads listed $listed"

"$fl" run --quiet --out "$tmp/step" "$data/dump-step.yaml" >"$tmp/out" 2>&1 || { no "dump-step run"; cat "$tmp/out"; }
for side in server client; do
  f=$tmp/step/threads-$side-1.txt
  [ -s "$f" ] || { no "no $f"; continue; }
  grep -q '^why: script step: client dump (line 17)' "$f" || no "$f does not name the step"
done
[ $fail -eq 0 ] && echo "ok: hang dump ($total threads, pump at peer.c:$pump_line), dump step on both sides"
exit $fail
