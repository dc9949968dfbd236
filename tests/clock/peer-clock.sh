#!/bin/bash
# A FAULTLINE_PEER that starts the real peer ($CLK_PEER) with the environment injectors/clock.h
# makes of its side's clock: plan ($CLK_ENV is the clock_env tool), for scenarios with a clock
# offset until the runner applies clock: itself. Jumps need the runner's triggers: not here.
# CLK_EXTRA_SERVER / CLK_EXTRA_CLIENT: more NAME=VALUE words for that side (GRPC_VERBOSITY=DEBUG).
set -u
side= scenario= prev=
for a in "$@"; do
  case "$prev" in
  --side) side=$a ;;
  --scenario) scenario=$a ;;
  esac
  prev=$a
done
vars=$("$CLK_ENV" "$scenario" "$side") || exit 1
assign=()
while IFS= read -r v; do [ -n "$v" ] && assign+=("$v"); done <<<"$vars"
if [ "$side" = server ]; then extra=${CLK_EXTRA_SERVER-}; else extra=${CLK_EXTRA_CLIENT-}; fi
# shellcheck disable=SC2206
assign+=($extra)
# A side without a clock is started as the runner starts it; libfaketime's variables are the
# injector's alone.
exec env -u FAKETIME -u FAKETIME_DONT_FAKE_MONOTONIC -u FAKETIME_TIMESTAMP_FILE \
  -u FAKETIME_NO_CACHE "${assign[@]}" "$CLK_PEER" "$@"
