#!/usr/bin/env bash
# Call patterns beyond the library (issue 11): accept: and stop_accepting (from a barrier)
# leave calls queued in C core,
# close_channel lets the call on the channel finish, send_headers ends the headers deadlock;
# and report.json lists every call with its channel and a failed call's message.
# Usage: call_patterns.sh FAULTLINE DATA_DIR SCENARIOS_DIR
set -u
faultline=$1 data=$2 scenarios=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
for name in accept-queues-calls close-channel-lets-calls-finish send-headers-before-reply \
  stop-accepting-from-a-barrier; do
  if ! "$faultline" run --quiet --out "$out/$name" "$data/$name.yaml"; then
    echo "$name: not reproduced"
    fail=1
  fi
done
"$faultline" run --quiet --out "$out/mc" "$scenarios/many-connections.yaml" || fail=1
python3 - "$out" <<'PY' || fail=1
import json, sys
out = sys.argv[1]
r = json.load(open(out + "/mc/report.json"))
calls = r["peers"]["client"]["calls"]
assert [c["channel"] for c in calls] == [1, 2, 3, 4, 1, 2, 3, 4], calls
assert all(c["status"] == "OK" and c["message"] is None and c["headers"] for c in calls), calls
assert all(c["channel"] is None for c in r["peers"]["server"]["calls"]), r["peers"]["server"]
assert r["scenario"]["calls"] == {"count": 8, "concurrency": 8, "every_ms": None,
                                  "channels": 4}, r["scenario"]["calls"]
r = json.load(open(out + "/accept-queues-calls/report.json"))
late = [c for c in r["peers"]["client"]["calls"] if c["status"] == "DEADLINE_EXCEEDED"]
assert len(late) == 2 and all(c["message"] == "Deadline Exceeded" for c in late), late
assert not any(c["headers"] for c in late), late
PY
exit $fail
