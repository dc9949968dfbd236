#!/usr/bin/env bash
# Prints the channel argument names gRPC C core's installed headers declare: every string macro
# whose value starts with "grpc." (GRPC_ARG_*, GRPC_COMPRESSION_CHANNEL_*, GRPC_SSL_*_ARG), one
# a line, sorted. Each C header is preprocessed on its own, so that one that is not C (the
# event_engine headers are C++) is skipped rather than failing the whole list.
# usage: grpc-arg-names.sh OUTPUT INCLUDEDIR CC [CC ARGS...]
set -euo pipefail
out=$1
inc=$2
shift 2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
n=0
for h in "$inc"/grpc/*.h "$inc"/grpc/impl/*.h "$inc"/grpc/impl/codegen/*.h; do
  [ -f "$h" ] || continue
  rel=${h#"$inc"/}
  if printf '#include <%s>\n' "$rel" | "$@" -I"$inc" -x c -E -dM - >>"$tmp" 2>/dev/null; then
    n=$((n + 1))
  fi
done
if [ "$n" -eq 0 ]; then
  echo "grpc-arg-names.sh: no gRPC header under $inc/grpc could be read" >&2
  exit 1
fi
sed -nE 's/^#define [A-Za-z0-9_]+ "(grpc\.[^"]*)"$/\1/p' "$tmp" | LC_ALL=C sort -u >"$out"
