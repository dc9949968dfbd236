#!/bin/bash
# A FAULTLINE_PEER wrapper for clock experiments (tests/clock/probe.sh): starts the real peer
# ($CLK_PEER) with extra environment for one side only. CLK_SERVER_ENV / CLK_CLIENT_ENV hold
# NAME=VALUE assignments separated by '|' (a value may hold spaces: FAKETIME=+0 x2).
side=
prev=
for a in "$@"; do
  [ "$prev" = "--side" ] && side=$a
  prev=$a
done
case "$side" in
server) extra=${CLK_SERVER_ENV-} ;;
client) extra=${CLK_CLIENT_ENV-} ;;
*) extra= ;;
esac
assign=()
if [ -n "$extra" ]; then
  IFS='|' read -r -a assign <<<"$extra"
fi
exec env "${assign[@]}" "$CLK_PEER" "$@"
