#!/usr/bin/env bash
# `meson install` into a DESTDIR gives a faultline that works without its source tree: it finds
# faultline-peer beside it and the scenario library it installed (not the sources'), and the man
# page reads cleanly.
# usage: install.sh BUILD_ROOT SOURCE_ROOT
set -u
build=$(realpath "$1")
src=$(realpath "$2")
tmp=$(mktemp -d /tmp/faultline-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok   $1"; }
bad() {
  echo "FAIL $1"
  [ -f "$tmp/out" ] && sed 's/^/    /' "$tmp/out" | head -20
  failures=$((failures + 1))
}

if ! meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/dest" >"$tmp/out" 2>&1; then
  bad "meson install failed"
  exit 1
fi
prefix=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
root=$tmp/dest$prefix
fl=$root/bin/faultline
[ -x "$fl" ] && [ -x "$root/bin/faultline-peer" ] && ok "faultline and faultline-peer installed" ||
  bad "binaries missing under $root/bin"
n_src=$(ls "$src"/scenarios/*.yaml | wc -l)
n_inst=$(ls "$root"/share/faultline/scenarios/*.yaml 2>/dev/null | wc -l)
[ "$n_inst" -eq "$n_src" ] && ok "the scenario library installed ($n_inst files)" ||
  bad "$n_inst of $n_src scenario files installed"
[ -s "$root/share/man/man1/faultline.1" ] && ok "the man page installed" || bad "no man page"

cd "$tmp" || exit 1 # away from the source tree
unset FAULTLINE_SCENARIOS FAULTLINE_PEER
"$fl" --help >"$tmp/out" 2>&1
lib=$(realpath "$root/share/faultline/scenarios")
grep -qF "default here: $lib" "$tmp/out" && ok "the installed faultline uses the installed library" ||
  bad "the installed faultline's library is not $lib"
"$fl" list >"$tmp/out" 2>&1 && grep -q "^ping-pong " "$tmp/out" && ok "list from outside the tree" ||
  bad "list failed"
"$fl" run --quiet --out "$tmp/run" ping-pong >"$tmp/out" 2>&1 &&
  grep -q "^ping-pong: reproduced" "$tmp/out" && ok "run by name from outside the tree" ||
  bad "run ping-pong with the installed faultline"
grep -q "\"file\": \"$lib/ping-pong.yaml\"" "$tmp/run/report.json" &&
  ok "the run read the installed ping-pong.yaml" || bad "report.json names another scenario file"

if command -v groff >/dev/null; then
  groff -man -Tutf8 -ww -z "$root/share/man/man1/faultline.1" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ] &&
    ok "the man page formats without a warning" || bad "groff warns about the man page"
  groff -man -Tutf8 -P-cbou "$root/share/man/man1/faultline.1" 2>/dev/null |
    grep -q "^EXIT STATUS" &&
    ok "the man page has its exit codes" || bad "no EXIT STATUS in the man page"
fi

echo "$failures failed"
[ "$failures" -eq 0 ]
