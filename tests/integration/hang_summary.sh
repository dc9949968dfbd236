#!/usr/bin/env bash
# A hang names what it is made of: every barrier still waited at, with its predicate and the
# value its field has, and every op still pending (issue "Trust": a barrier that can never
# open is named). Usage: hang_summary.sh FAULTLINE DATA_DIR
set -u
faultline=$1 data=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
summary=$("$faultline" run --out "$out/r" "$data/hang-is-detected.yaml" 2>/dev/null)
fail=0
check() { grep -qF -- "$1" <<<"$summary" || { echo "summary lacks: $1"; fail=1; }; }
check 'waiting at end: server at `wait: client.sent >= 2` (line 12); client.sent is 1'
check 'pending at end: client recv'
python3 - "$out/r/report.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
w = r["waiting_barriers"]
assert w == [{"side": "server", "step": 1, "line": 12, "predicate": "client.sent >= 2",
              "field": "client.sent", "seen": "1", "calls": 1}], w
ops = r["peers"]["client"]["pending_ops"]
assert [o["op"] for o in ops] == ["recv"] and ops[0]["call"] == 1 and ops[0]["line"] == 17, ops
PY
[ $fail = 0 ] || echo "$summary"
exit $fail
