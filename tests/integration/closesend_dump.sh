#!/usr/bin/env bash
# closesend-blocked-by-flow-control dumps both peers while the half-close is pending: the
# client's dump names the pending close_send, its call and the script line that issued it,
# and the send it waits behind (issue "Reports": a built-in peer's pending ops beside its
# threads). Usage: closesend_dump.sh FAULTLINE SOURCE_ROOT
set -u
faultline=$1 src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
scenario=$src/scenarios/closesend-blocked-by-flow-control.yaml
"$faultline" run --quiet --out "$out/r" "$scenario" >/dev/null || { echo "did not reproduce"; exit 1; }
line_send=$(grep -n 'background: true' "$scenario" | cut -d: -f1)
line_close=$(grep -n -- '- close_send' "$scenario" | cut -d: -f1)
dump=$out/r/threads-client-1.txt
fail=0
grep -qE "^  close_send  call 1  step $scenario:$line_close  pending [0-9.]+s  1048[0-9]+ bytes queued" "$dump" ||
  { echo "the client's dump does not name the pending close_send at line $line_close"; fail=1; }
grep -qE "^  send  call 1  step $scenario:$line_send  pending" "$dump" ||
  { echo "the client's dump does not name the stalled send at line $line_send"; fail=1; }
for f in threads-client-1.go.txt threads-client-1.pb.gz threads-server-1.txt; do
  [ -s "$out/r/$f" ] || { echo "missing $f"; fail=1; }
done
python3 - "$out/r/report.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))["thread_dumps"]
assert sorted(x["go_file"] for x in d) == ["threads-client-1.go.txt", "threads-server-1.go.txt"], d
assert all(x["pprof_file"].endswith(".pb.gz") for x in d), d
PY
[ $fail = 0 ] || sed -n 1,15p "$dump"
exit $fail
