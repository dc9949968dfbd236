#!/usr/bin/env bash
# A scenario with capture on loses no packets of its own traffic: each named scenario (library
# name or file) reproduces, its report.json says `"dropped": 0`, and the file agrees without
# trusting that count: pcap_complete finds no hole in any TCP byte stream from the SYN to the
# last byte acknowledged, and the file holds as many packets as the report says were written.
#   usage: drops.sh FAULTLINE PCAP_COMPLETE MIN_PACKETS NAME|FILE...
set -u
fl=$1
complete=$2
min_packets=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for name in "$@"; do
  base=$(basename "$name" .yaml)
  out=$tmp/$base
  "$fl" run --quiet --out "$out" "$name" >"$tmp/out" 2>&1 || { echo "FAIL: $base did not reproduce"; cat "$tmp/out"; fail=1; continue; }
  if grep -q '"error": "packet capture not possible' "$out/report.json"; then
    echo "SKIP: no CAP_NET_RAW here"; exit 77
  fi
  packets=$(grep -o '"packets": [0-9]*' "$out/report.json" | grep -o '[0-9]*$')
  dropped=$(grep -o '"dropped": [0-9]*' "$out/report.json" | grep -o '[0-9]*$')
  echo "$base: $packets packets captured, $dropped dropped"
  [ "${packets:-0}" -ge "$min_packets" ] || { echo "FAIL: $base: fewer than $min_packets packets for its traffic"; fail=1; }
  [ "$dropped" = 0 ] || { echo "FAIL: $base dropped $dropped packets"; fail=1; }
  grep -q ' — capture dropped' "$tmp/out" && { echo "FAIL: $base: the summary reports drops"; fail=1; }
  "$complete" "$out/capture.pcap" >"$tmp/complete" 2>&1
  rc=$?
  sed 's/^/  /' "$tmp/complete"
  [ $rc -eq 0 ] || { echo "FAIL: $base: the capture has holes"; fail=1; }
  in_file=$(sed -n 's/^packets //p' "$tmp/complete")
  [ "$in_file" = "$packets" ] || { echo "FAIL: $base: the file holds $in_file packets, report.json says $packets"; fail=1; }
done
exit $fail
