#!/bin/bash
# absolute-deadline-in-metadata-with-skew, and the same scenario with the server's clock left
# alone: the skew is what breaks the call. With it the server's handler finds the deadline in
# x-deadline-unix-ms about two hours past (its metadata_deadline event says left_ms near
# -7190000) and ends the call with DEADLINE_EXCEEDED; without it about 10 s are left and the
# call completes OK, so the library scenario is "not reproduced".
#   absolute_deadline.sh FAULTLINE SOURCE_DIR
set -u
faultline=$1 src=$2
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || { echo "skip: no libfaketime"; exit 77; }
out=$(mktemp -d /tmp/fl-abs-deadline.XXXXXX)
trap 'rm -rf "$out"' EXIT
scenario=$src/scenarios/absolute-deadline-in-metadata-with-skew.yaml
left_ms() { grep -o '"event":"metadata_deadline"[^}]*"left_ms":-\?[0-9]*' "$1/events.jsonl" | grep -o -- '-\?[0-9]*$'; }

"$faultline" run --quiet --out "$out/skewed" "$scenario"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: the skewed run did not reproduce (exit $rc)"; exit 1; }
left=$(left_ms "$out/skewed")
echo "skewed: the server saw ${left}ms left"
[ -n "$left" ] && [ "$left" -lt -7180000 ] && [ "$left" -gt -7200000 ] ||
  { echo "FAIL: expected about -7190000 ms left"; exit 1; }

mkdir "$out/plain"
sed '/^  clock:/d' "$scenario" >"$out/plain/${scenario##*/}"
grep -q 'clock:' "$out/plain/${scenario##*/}" && { echo "FAIL: the clock line is still there"; exit 1; }
"$faultline" run --quiet --out "$out/unskewed" "$out/plain/${scenario##*/}"
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: without the skew the scenario should not reproduce (exit $rc, want 1)"; exit 1; }
grep -q '"client.status": *"OK"' "$out/unskewed/report.json" ||
  { echo "FAIL: without the skew the call should end OK"; grep -o '"client.status": *"[A-Z_]*"' "$out/unskewed/report.json"; exit 1; }
left=$(left_ms "$out/unskewed")
echo "unskewed: the server saw ${left}ms left"
[ -n "$left" ] && [ "$left" -gt 9000 ] && [ "$left" -le 10000 ] || { echo "FAIL: expected about 10000 ms left"; exit 1; }
echo ok
