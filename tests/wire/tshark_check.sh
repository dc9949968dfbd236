#!/usr/bin/env bash
# For every library scenario: run it (it captures), then check that `faultline decode` finds
# the same HTTP/2 frames as Wireshark's decoder, packet for packet:
#   tshark -r capture.pcap -d tcp.port==PORT,http2 -T fields -e frame.number -e http2.streamid -e http2.type
# against `faultline decode --fields --port PORT capture.pcap` (the same three columns; the
# port is report.json's peers.server.port).
#
# tshark's own limits: it stops dissecting a packet after gui.max_tree_depth (256) layers
# ("Dissector bug ... saved_layers_len < prefs.gui_max_tree_depth"), which a packet with
# hundreds of small frames reaches (concurrent-streams); the check raises it. In a capture cut
# by a short snaplen tshark restarts its framing at every packet (and reads payload bytes as
# frame headers), while faultline skips bytes inside payloads whose length it knows: there
# the lists are compared up to the first truncated packet, the ladder must count the cut
# packets, and the scenario runs once more with whole packets for a full comparison.
#   usage: tshark_check.sh FAULTLINE SCENARIO_DIR [NAME...]
set -u
fl=$1
dir=$2
shift 2
command -v tshark >/dev/null || { echo "SKIP: no tshark"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$dir"/*.yaml; do names+=("$(basename "$f" .yaml)"); done
fi

fail=0
checked=0
total_runs=0
# check NAME YAML: 0 if the frame lists agree (both legs when proxied); prints a line a leg.
# Sets $cut to the first packet the snaplen cut (empty if none).
check() {
  local name=$1 yaml=$2 out=$tmp/$1
  total_runs=$((total_runs + 1))
  "$fl" run --quiet --out "$out" "$yaml" >"$tmp/$name.stdout" 2>&1
  local rc=$?
  if grep -q '"error": "packet capture not possible' "$out/report.json" 2>/dev/null; then
    echo "SKIP: no CAP_NET_RAW here"; exit 77
  fi
  if [ ! -s "$out/capture.pcap" ]; then
    echo "FAIL $name: no capture (faultline run exited $rc)"; cat "$tmp/$name.stdout"; return 1
  fi
  local port proxy_port
  port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['peers']['server']['port'])" "$out/report.json")
  # A proxied run has two legs: client <-> proxy (the proxy's port) and proxy <-> server. Each
  # is compared on its own; $cut is the server leg's.
  proxy_port=$(python3 -c "import json,sys; p=json.load(open(sys.argv[1])).get('proxy'); print(p['port'] if p else '')" "$out/report.json")
  if [ -n "$proxy_port" ]; then
    compare "$name (client-proxy leg)" "$out" "$proxy_port" || return 1
  fi
  compare "$name" "$out" "$port"
}

# compare LABEL RUNDIR PORT: the frames of the connections to PORT, tshark against faultline.
compare() {
  local name=$1 out=$2 port=$3
  tshark -r "$out/capture.pcap" -o gui.max_tree_depth:100000 -d "tcp.port==$port,http2" \
    -T fields -e frame.number -e http2.streamid -e http2.type -e frame.len -e frame.cap_len \
    -e tcp.analysis.lost_segment -e tcp.analysis.out_of_order 2>"$tmp/tshark.err" >"$tmp/all.txt"
  # The first packet the snaplen cut or that follows bytes the capture lacks (when it dropped
  # some; report.json has the kernel's count), if any: only packets before it are compared.
  # Without drops, tshark's lost_segment / out_of_order marks are reordering on the loopback
  # path (packets from two CPUs' backlogs): faultline reassembles them, tshark's HTTP/2
  # dissector may lose its place after them, so the comparison also stops there (reorder=1).
  dropped=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['capture'].get('dropped') or 0)" "$out/report.json")
  cut=$(awk -F'\t' -v dropped="$dropped" '$5 < $4 || (dropped > 0 && $6 != "") { print $1; exit }' "$tmp/all.txt")
  reorder=$(awk -F'\t' -v dropped="$dropped" 'dropped == 0 && ($6 != "" || $7 != "") { print $1; exit }' "$tmp/all.txt")
  if [ -n "$reorder" ] && { [ -z "$cut" ] || [ "$reorder" -lt "$cut" ]; }; then cut=$reorder; else reorder=; fi
  awk -F'\t' -v cut="${cut:-0}" '$2 != "" && (cut == 0 || $1 < cut) { print $1 "\t" $2 "\t" $3 }' \
    "$tmp/all.txt" >"$tmp/tshark.txt"
  if ! "$fl" decode --fields --port "$port" "$out/capture.pcap" >"$tmp/fl_all.txt" 2>"$tmp/fl.err"; then
    echo "FAIL $name: faultline decode failed"; cat "$tmp/fl.err"; return 1
  fi
  awk -F'\t' -v cut="${cut:-0}" 'cut == 0 || $1 < cut' "$tmp/fl_all.txt" >"$tmp/fl.txt"
  local frames
  frames=$(awk -F'\t' '{ n += split($3, t, ",") } END { print n + 0 }' "$tmp/tshark.txt")
  if [ "$frames" -eq 0 ] && [ -z "$cut" ]; then
    echo "FAIL $name: tshark found no HTTP/2 frame on port $port"; head -3 "$tmp/tshark.err"; return 1
  fi
  if ! cmp -s "$tmp/tshark.txt" "$tmp/fl.txt"; then
    echo "FAIL $name: frame lists differ (< tshark, > faultline decode):"
    diff "$tmp/tshark.txt" "$tmp/fl.txt" | cut -c1-200 | head -10
    return 1
  fi
  if [ -n "$reorder" ]; then
    local total
    total=$(awk -F'\t' '{ n += split($3, t, ",") } END { print n + 0 }' "$tmp/fl_all.txt")
    "$fl" decode --port "$port" "$out/capture.pcap" >"$tmp/ladder.txt" 2>&1
    if grep -Eq '[1-9][0-9]* bytes not captured|framing resumed' "$tmp/ladder.txt"; then
      echo "FAIL $name: the capture dropped nothing, yet the ladder lost its place"; return 1
    fi
    echo "ok $name: $frames frames agree before packet $cut (reordered on the loopback path, which tshark's dissector does not follow); faultline decodes $total in all, none lost"
  elif [ -n "$cut" ]; then
    local total
    total=$(awk -F'\t' '{ n += split($3, t, ",") } END { print n + 0 }' "$tmp/fl_all.txt")
    "$fl" decode --port "$port" "$out/capture.pcap" >"$tmp/ladder.txt" 2>&1
    if ! grep -Eq '[1-9][0-9]* truncated by the snaplen|[1-9][0-9]* bytes not captured' "$tmp/ladder.txt"; then
      echo "FAIL $name: the ladder does not count the bytes the capture lacks"; return 1
    fi
    echo "ok $name: $frames frames agree before packet $cut (the first cut by the snaplen or after a drop); faultline decodes $total in all, $(grep -c 'framing resumed' "$tmp/ladder.txt") resyncs"
  else
    echo "ok $name: $frames frames agree"
  fi
  return 0
}

for name in "${names[@]}"; do
  if ! check "$name" "$dir/$name.yaml"; then fail=1; continue; fi
  checked=$((checked + 1))
  if [ -n "$cut" ] && grep -q '^capture: { *snaplen' "$dir/$name.yaml"; then
    # The same traffic with whole packets (compared in full unless the capture drops some).
    sed -E 's/^capture: \{ *snaplen: *[0-9]+ *\}$/capture: { snaplen: 262144 }/; s/^name: (.*)$/name: \1-whole/' \
      "$dir/$name.yaml" >"$tmp/$name-whole.yaml"
    if check "$name-whole" "$tmp/$name-whole.yaml"; then checked=$((checked + 1)); else fail=1; fi
  fi
done
echo "$checked of $total_runs captures agree with tshark"
exit $fail
