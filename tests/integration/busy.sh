#!/usr/bin/env bash
# A peer burning CPU without events is busy, not hung (issue "Trust"): the run completes and
# report.json names the busy side and thread. Usage: busy.sh FAULTLINE DATA_DIR
set -u
faultline=$1 data=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$faultline" run --quiet --out "$out/r" "$data/busy-is-not-a-hang.yaml"; then
  echo "the busy scenario did not reproduce"; exit 1
fi
python3 - "$out/r" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/report.json"))
b = r["busy"]
assert b is not None, "report.json names no busy peer"
assert b["side"] in ("client", "server") and b["tid"] > 0 and b["thread"], b
assert b["cpu_ms"] > 0, b
events = [json.loads(l) for l in open(d + "/events.jsonl")]
assert any(e["event"] == "busy" for e in events), "no busy event in the timeline"
assert not any(e["event"] == "hang" for e in events), "a hang was declared"
PY
