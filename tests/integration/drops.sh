#!/usr/bin/env bash
# A scenario with capture on loses no packets of its own traffic: the two heaviest scenarios
# (tens of megabytes on 8 streams; 1000 concurrent streams) end with libpcap's drop count 0.
set -u
fl=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for name in unread-stream-memory-growth concurrent-streams; do
  "$fl" run --quiet --out "$tmp/$name" "$name" >"$tmp/out" 2>&1 || { echo "FAIL: $name did not reproduce"; cat "$tmp/out"; fail=1; continue; }
  if grep -q '"error": "packet capture not possible' "$tmp/$name/report.json"; then
    echo "SKIP: no CAP_NET_RAW here"; exit 77
  fi
  packets=$(grep -o '"packets": [0-9]*' "$tmp/$name/report.json" | grep -o '[0-9]*$')
  dropped=$(grep -o '"dropped": [0-9]*' "$tmp/$name/report.json" | grep -o '[0-9]*$')
  echo "$name: $packets packets captured, $dropped dropped"
  [ "${packets:-0}" -gt 100 ] || { echo "FAIL: $name: too few packets for its traffic"; fail=1; }
  [ "$dropped" = 0 ] || { echo "FAIL: $name dropped $dropped packets"; fail=1; }
done
exit $fail
