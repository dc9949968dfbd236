#!/bin/bash
# The clock findings matrix: every libfaketime combination against the probes, one line each
# (see probe.sh). Takes a few minutes; prints to stdout.   tests/clock/matrix.sh BUILD_DIR
set -u
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
ft=/usr/lib/x86_64-linux-gnu/faketime
combos=(
  "offset-real|FAKETIME=+2h|FAKETIME_DONT_FAKE_MONOTONIC=1"
  "offset-back-real|FAKETIME=-2h|FAKETIME_DONT_FAKE_MONOTONIC=1"
  "offset-mono|FAKETIME=+2h"
  "offset-back-mono|FAKETIME=-2h"
  "rate2-real|FAKETIME=+0 x2|FAKETIME_DONT_FAKE_MONOTONIC=1"
  "rate2-mono|FAKETIME=+0 x2"
  "rate10-real|FAKETIME=+0 x10|FAKETIME_DONT_FAKE_MONOTONIC=1"
  "rate10-mono|FAKETIME=+0 x10"
  "startat-real|FAKETIME=@2030-01-01 00:00:00|FAKETIME_DONT_FAKE_MONOTONIC=1"
  "startat-mono|FAKETIME=@2030-01-01 00:00:00"
)
probes=(
  "server $src/scenarios/deadline-on-sleeping-server.yaml"
  "client $src/scenarios/deadline-on-sleeping-server.yaml"
  "server $here/probe-ok.yaml"
  "client $here/probe-ok.yaml"
  "client $here/probe-keepalive.yaml"
  "server $here/probe-age.yaml"
)
libs=${CLK_LIBS:-"libfaketimeMT.so.1 libfaketime.so.1"}
for lib in $libs; do
  for c in "${combos[@]}"; do
    label=${c%%|*}
    envs="LD_PRELOAD=$ft/$lib|${c#*|}"
    for p in "${probes[@]}"; do
      "$here/probe.sh" "$build" "${lib%.so.1}:$label" ${p%% *} "${p#* }" "$envs"
    done
  done
done
