#!/bin/bash
# One clock experiment: runs a scenario with one side started under libfaketime and prints one
# line of what held. Used to build the findings table of README "Clock faults"; not a test.
#
#   tests/clock/probe.sh BUILD_DIR LABEL SIDE SCENARIO 'ENV|ENV...'
#
# SIDE is server or client: the side whose environment gets ENV (see peer-wrap.sh). Prints:
#   LABEL SIDE SCENARIO verdict=... outcome=... real_ms=<runner's elapsed> status=<client's>
#   dur=<client.duration, the client's own clock> arr_ms=<the client's call on the runner's
#   arrival stamps> timeout=<grpc-timeout on the wire> pings=<client PINGs, not acks, at s>
#   goaway=<server GOAWAY at s> cpu_ms=<each peer's CPU time> rc=<faultline's exit code>
set -u
build=$1 label=$2 side=$3 scenario=$4 envs=$5
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d /tmp/clock-probe.XXXXXX)
export CLK_PEER=$build/faultline-peer FAULTLINE_PEER=$here/peer-wrap.sh
if [ "$side" = server ]; then export CLK_SERVER_ENV=$envs CLK_CLIENT_ENV=; else export CLK_CLIENT_ENV=$envs CLK_SERVER_ENV=; fi
timeout -k 5 60 "$build/faultline" run --quiet --out "$out/run" "$scenario" >"$out/stdout" 2>&1
rc=$?
r=$out/run
if [ ! -f "$r/report.json" ]; then
  echo "$label $side $(basename "$scenario" .yaml) rc=$rc no-report: $(tr '\n' ' ' <"$out/stdout" | cut -c1-200)"
  exit 0
fi
port=$(grep -o '"event":"ready","peer_ns":[0-9]*,"port":[0-9]*' "$r/events.jsonl" | head -1 | grep -o '[0-9]*$')
frames=$(timeout 30 tshark -r "$r/capture.pcap" -d "tcp.port==$port,http2" -Y http2 -T fields \
  -E separator='|' -e frame.time_relative -e tcp.srcport -e http2.type -e http2.flags \
  -e http2.header.name -e http2.header.value 2>/dev/null)
timeout_hdr=$(timeout 30 tshark -r "$r/capture.pcap" -d "tcp.port==$port,http2" \
  -Y 'http2.header.name == "grpc-timeout"' -V 2>/dev/null | sed -n 's/.*Header: grpc-timeout: //p' | head -1)
pings=$(awk -F'|' -v p="$port" '$2!=p { n=split($3,t,","); split($4,f,",");
  for(i=1;i<=n;i++) if(t[i]==6 && f[i]%2==0) printf "%.2f,", $1 }' <<<"$frames")
goaway=$(awk -F'|' -v p="$port" '$2==p { n=split($3,t,","); for(i=1;i<=n;i++) if(t[i]==7) printf "%.2f,", $1 }' <<<"$frames")
cpu=$(awk -F, 'NR>1 { if ($9+0 > m[$2]) m[$2]=$9+0 } END { printf "server:%d,client:%d", m["server"], m["client"] }' "$r/samples.csv")
python3 - "$r" "$cpu" "$label" "$side" "$(basename "$scenario" .yaml)" "$rc" "${timeout_hdr:-none}" "${pings%,}" "${goaway%,}" <<'PY'
import json, sys
r, cpu, label, side, scen, rc, th, pings, goaway = sys.argv[1:]
d = json.load(open(r + "/report.json"))
f = d["fields"]
arr = {}
for line in open(r + "/events.jsonl"):
    e = json.loads(line)
    if e.get("side") == "client" and e["event"] in ("call_start", "status"):
        arr.setdefault(e["event"], e["arrival_ms"])
dur = f.get("client.duration")
arr_ms = arr["status"] - arr["call_start"] if len(arr) == 2 else None
print(f"{label} {side} {scen} verdict={d['verdict'].replace(' ', '_')} outcome={d['outcome']} "
      f"real_ms={d['elapsed_ms']:.0f} status={f.get('client.status')} "
      f"dur_ms={'none' if dur is None else round(dur / 1e6)} "
      f"arr_ms={'none' if arr_ms is None else round(arr_ms)} timeout={th} "
      f"pings={pings or '-'} goaway={goaway or '-'} cpu_ms={cpu} rc={rc}")
PY
rm -rf "$out"
