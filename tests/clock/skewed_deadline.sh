#!/bin/bash
# deadline-with-skewed-server-clock under the real libfaketime, started with the injector's
# environment (peer-clock.sh): the run reproduces, the server's C core really lives 2 h ahead
# (its own log stamps, from gpr_now(GPR_CLOCK_REALTIME), against the client's), and the
# deadline went out as a relative grpc-timeout near 300 ms.
#   skewed_deadline.sh FAULTLINE CLOCK_ENV SOURCE_DIR
set -u
faultline=$1 clock_env=$2 src=$3
here=$(cd "$(dirname "$0")" && pwd)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || { echo "skip: no libfaketime"; exit 77; }
out=$(mktemp -d /tmp/fl-clock-e2e.XXXXXX)
# libfaketime leaves /dev/shm/{faketime_shm,sem.faketime_sem}_PID behind a peer that does not
# exit normally (injectors/clock.h, fl_clock_cleanup); the runner will remove them, here we do.
cleanup() {
  for pid in $(grep -o '"event":"spawn","peer":"server","pid":[0-9]*' "$out/run/events.jsonl" 2>/dev/null | grep -o '[0-9]*$'); do
    rm -f "/dev/shm/faketime_shm_$pid" "/dev/shm/sem.faketime_sem_$pid"
  done
  rm -rf "$out"
}
trap cleanup EXIT
export CLK_ENV=$clock_env CLK_PEER=$(dirname "$faultline")/faultline-peer
export FAULTLINE_PEER=$here/peer-clock.sh
export CLK_EXTRA_SERVER=GRPC_VERBOSITY=DEBUG CLK_EXTRA_CLIENT=GRPC_VERBOSITY=DEBUG
if ! "$faultline" run --quiet --out "$out/run" "$src/scenarios/deadline-with-skewed-server-clock.yaml"; then
  echo "FAIL: the scenario did not reproduce"; exit 1
fi
# gpr_log lines start "D1202 02:16:05.800402295": the time of day on the process's own clock.
tod() { sed -n 's/^[DIEW][0-9]\{4\} \([0-9][0-9]\):\([0-9][0-9]\):\([0-9][0-9]\)\..*/\1 \2 \3/p' "$1" | head -1 |
  awk '{ print $1 * 3600 + $2 * 60 + $3 }'; }
s=$(tod "$out/run/server.stderr") c=$(tod "$out/run/client.stderr")
if [ -z "$s" ] || [ -z "$c" ]; then echo "FAIL: no C core log stamps in the peers' stderr"; exit 1; fi
skew=$(( ((s - c) % 86400 + 86400) % 86400 ))
echo "server log clock ahead of the client's by ${skew}s"
if [ "$skew" -lt 7140 ] || [ "$skew" -gt 7260 ]; then echo "FAIL: expected about 7200s"; exit 1; fi
if command -v tshark >/dev/null; then
  port=$(grep -o '"event":"ready","peer_ns":[0-9]*,"port":[0-9]*' "$out/run/events.jsonl" | head -1 | grep -o '[0-9]*$')
  t=$(timeout 30 tshark -r "$out/run/capture.pcap" -d "tcp.port==$port,http2" \
    -Y 'http2.header.name == "grpc-timeout"' -V 2>/dev/null | sed -n 's/.*Header: grpc-timeout: //p' | head -1)
  echo "grpc-timeout on the wire: $t"
  case "$t" in
  2[5-9][0-9]m | 300m) ;;
  *) echo "FAIL: expected a relative grpc-timeout of 250m..300m"; exit 1 ;;
  esac
fi
echo ok
