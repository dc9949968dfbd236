#!/usr/bin/env bash
# A captured run's capture.pcap opens with libpcap, holds the TCP handshake on the server's
# port, and tshark (Wireshark's decoder) finds HTTP/2 HEADERS and DATA on the call's stream.
set -u
fl=$1
pcap_check=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$fl" run --quiet --out "$tmp/run" ping-pong >"$tmp/stdout" 2>&1 || { echo "FAIL: run failed"; cat "$tmp/stdout"; exit 1; }
if grep -q '"error": "packet capture not possible' "$tmp/run/report.json"; then
  echo "SKIP: no CAP_NET_RAW here"; exit 77
fi
port=$(grep -o '"port": [0-9]*' "$tmp/run/report.json" | head -1 | grep -o '[0-9]*$')
fail=0
"$pcap_check" "$tmp/run/capture.pcap" "$port" || { echo "FAIL: libpcap check"; fail=1; }
grep -q '"dropped": 0,' "$tmp/run/report.json" || { echo "FAIL: packets dropped"; grep -A3 '"packets"' "$tmp/run/report.json"; fail=1; }

# One line per HTTP/2 frame, "stream type": tshark lists a packet's frames as parallel
# comma-separated fields, zipped here. Types: 0 DATA, 1 HEADERS. The call is stream 1.
frames=$(tshark -r "$tmp/run/capture.pcap" -d "tcp.port==$port,http2" -Y http2 \
  -T fields -e http2.streamid -e http2.type 2>"$tmp/tshark.err" |
  awk -F'\t' '{ n = split($1, s, ","); split($2, t, ","); for (i = 1; i <= n; i++) print s[i], t[i] }')
echo "$frames" | sort | uniq -c | sed 's/^/  tshark frames (count stream type):/'
echo "$frames" | grep -qx '1 1' || { echo "FAIL: no HEADERS on stream 1"; cat "$tmp/tshark.err"; fail=1; }
echo "$frames" | grep -qx '1 0' || { echo "FAIL: no DATA on stream 1"; fail=1; }
path=$(tshark -r "$tmp/run/capture.pcap" -d "tcp.port==$port,http2" -Y 'http2.type==1' \
  -T fields -e http2.header.value 2>/dev/null | grep -o '/faultline.Test/Bidi' | head -1)
[ "$path" = /faultline.Test/Bidi ] || { echo "FAIL: the :path header /faultline.Test/Bidi is not decoded"; fail=1; }
[ $fail -eq 0 ] && echo "ok: handshake, HEADERS and DATA on stream 1, :path $path, no drops"
exit $fail
