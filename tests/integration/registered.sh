#!/usr/bin/env bash
# Every scenarios/*.yaml must be listed in scenarios/meson.build, or the `scenarios` suite
# would silently skip it.
set -u
src=$1
missing=0
for f in "$src"/scenarios/*.yaml; do
  base=$(basename "$f")
  if ! grep -q "'$base'" "$src/scenarios/meson.build"; then
    echo "not listed in scenarios/meson.build: $base"
    missing=1
  fi
done
exit $missing
