#!/usr/bin/env bash
# SIGINT to a running `faultline run` ends the run, still writes the report, and leaves no
# peer process behind.
set -u
fl=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/run

"$fl" run --quiet --out "$out" "$data/long-sleep.yaml" >"$tmp/stdout" 2>&1 &
runner=$!

# Wait for an observed event, the client's call start, bounded to 30 s.
for _ in $(seq 300); do
  grep -q '"side":"client","event":"call_start"' "$out/events.jsonl" 2>/dev/null && break
  sleep 0.1
done
if ! grep -q '"side":"client","event":"call_start"' "$out/events.jsonl" 2>/dev/null; then
  echo "FAIL: the client's call never started"; kill -KILL $runner; cat "$tmp/stdout"; exit 1
fi
pids=$(grep -o '"event":"spawn","peer":"[a-z]*","pid":[0-9]*' "$out/events.jsonl" | grep -o '[0-9]*$')
[ "$(echo "$pids" | wc -w)" -eq 2 ] || { echo "FAIL: expected two peer pids, got '$pids'"; exit 1; }

kill -INT $runner
wait $runner
code=$?
fail=0
[ "$code" -eq 130 ] || { echo "FAIL: exit $code after SIGINT, wanted 130"; fail=1; }
grep -q '"outcome": "interrupted"' "$out/report.json" 2>/dev/null || { echo "FAIL: report.json lacks outcome interrupted"; fail=1; }
for pid in $pids; do
  if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: peer $pid is still running: $(cat /proc/$pid/cmdline | tr '\0' ' ')"; fail=1
    kill -KILL "$pid"
  fi
done
if pgrep -f -- "$out/scenario.yaml" >/dev/null; then
  echo "FAIL: a process still runs the scenario: $(pgrep -af -- "$out/scenario.yaml")"; fail=1
fi
[ $fail -eq 0 ] && echo "ok: SIGINT ended the run (exit 130) and peers $pids are gone"
exit $fail
