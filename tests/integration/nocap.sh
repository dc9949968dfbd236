#!/usr/bin/env bash
# Without CAP_NET_RAW a run still runs and reproduces; the report says plainly why there is no
# capture.
set -u
fl=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v setpriv >/dev/null || { echo "SKIP: setpriv missing"; exit 77; }
setpriv --inh-caps=-net_raw --bounding-set=-net_raw -- \
  "$fl" run --out "$tmp/run" ping-pong >"$tmp/out" 2>&1
code=$?
fail=0
[ $code -eq 0 ] || { echo "FAIL: exit $code without CAP_NET_RAW, wanted 0"; cat "$tmp/out"; fail=1; }
grep -q 'capture: none: packet capture not possible on lo: it needs CAP_NET_RAW' "$tmp/out" || { echo "FAIL: the summary does not say why"; cat "$tmp/out"; fail=1; }
grep -q '"error": "packet capture not possible on lo: it needs CAP_NET_RAW' "$tmp/run/report.json" || { echo "FAIL: report.json does not say why"; fail=1; }
[ ! -e "$tmp/run/capture.pcap" ] || { echo "FAIL: a capture.pcap exists"; fail=1; }
grep -q '"verdict": "reproduced"' "$tmp/run/report.json" || { echo "FAIL: verdict changed"; fail=1; }
# A scenario whose expectations read the wire cannot be judged without a capture: the verdict
# is error, saying so, not "not reproduced".
setpriv --inh-caps=-net_raw --bounding-set=-net_raw -- \
  "$fl" run --out "$tmp/wire" send-blocked-reader-stopped >"$tmp/out" 2>&1
code=$?
[ $code -eq 3 ] || { echo "FAIL: exit $code for wire expectations without a capture, wanted 3"; cat "$tmp/out"; fail=1; }
grep -q '"verdict": "error"' "$tmp/wire/report.json" || { echo "FAIL: verdict is not error"; fail=1; }
grep -q 'expect clauses read the wire (wire.server.window.min, ...), which this run did not observe' "$tmp/out" || { echo "FAIL: the summary does not say the wire was not observed"; cat "$tmp/out"; fail=1; }
[ $fail -eq 0 ] && echo "ok: no CAP_NET_RAW: run reproduced, report says why; wire expectations are an error"
exit $fail
