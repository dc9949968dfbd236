#!/usr/bin/env bash
# Issue 8, "Trust": nothing of a user's is touched, hostile input is refused plainly, and the
# command line keeps the conventions users expect. Real runs of the real CLI; each check says
# what it saw when it fails.
# usage: trust.sh FAULTLINE SOURCE_ROOT
set -u
fl=$(realpath "$1")
src=$(realpath "$2")
failures=0
tmp=$(mktemp -d /tmp/faultline-trust-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

ok() { echo "ok   $1"; }
bad() {
  echo "FAIL $1"
  [ -f "$tmp/out" ] && sed 's/^/    /' "$tmp/out" | head -20
  failures=$((failures + 1))
}
# expect DESCRIPTION EXIT PATTERN -- COMMAND...: the exit status and a line of its output.
expect() {
  local what=$1 want=$2 pattern=$3
  shift 4
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    bad "$what: exit $got, wanted $want"
  elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/out"; then
    bad "$what: output lacks /$pattern/"
  else
    ok "$what"
  fi
}
same() { cmp -s "$1" "$2"; }

lib=$src/scenarios
D=$tmp/D
mkdir -p "$D"

# ---- the input scenario is never touched -------------------------------------------------
expect "a first run" 0 "ping-pong: reproduced" -- "$fl" run --quiet --out "$D/r" ping-pong
expect "the run again from its own copy" 0 "ping-pong: reproduced" -- \
  "$fl" run --quiet --out "$D/r" "$D/r/scenario.yaml"
if same "$D/r/scenario.yaml" "$lib/ping-pong.yaml" && [ -s "$D/r/report.json" ]; then
  ok "the copy run from is intact, and the run complete"
else
  bad "the run directory's scenario.yaml was damaged ($(wc -c <"$D/r/scenario.yaml") bytes)"
fi
cp "$lib/ping-pong.yaml" "$D/ping-pong.yaml"
(cd "$D" && "$fl" run --quiet --out . ping-pong.yaml) >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && same "$D/ping-pong.yaml" "$lib/ping-pong.yaml" &&
  grep -q "holds 'ping-pong.yaml', which no faultline run wrote" "$tmp/out"; then
  ok "--out . in a folder of the user's is refused, the input intact"
else
  bad "--out . in the input's folder: exit $rc"
fi
(cd "$D/r" && "$fl" run --quiet --out . scenario.yaml) >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && same "$D/r/scenario.yaml" "$lib/ping-pong.yaml" &&
  grep -q "is the current directory" "$tmp/out"; then
  ok "--out . standing in an earlier run is refused, the input intact"
else
  bad "--out . in an earlier run: exit $rc"
fi

# ---- links inside an earlier run directory are never followed -----------------------------
echo "the victim's own bytes" >"$tmp/victim"
rm "$D/r/report.json"
ln -s "$tmp/victim" "$D/r/report.json"
expect "an earlier run with report.json -> victim is replaced" 0 "ping-pong: reproduced" -- \
  "$fl" run --quiet --out "$D/r" ping-pong
if [ "$(cat "$tmp/victim")" = "the victim's own bytes" ] && [ -f "$D/r/report.json" ] &&
  [ ! -L "$D/r/report.json" ]; then
  ok "the victim is untouched; report.json is a new file"
else
  bad "the link was followed: victim now '$(head -c 60 "$tmp/victim")'"
fi
mkdir "$D/foreign"
ln -s "$tmp/victim" "$D/foreign/report.json"
expect "a prepared folder that is no run of ours is refused" 2 \
  "--out .*foreign: holds 'report.json', which no faultline run wrote" -- \
  "$fl" run --quiet --out "$D/foreign" ping-pong
refuses_foreign=$([ -e "$D/foreign/events.jsonl" ] && echo no || echo yes)
[ "$(cat "$tmp/victim")" = "the victim's own bytes" ] && ok "victim still untouched" ||
  bad "victim changed"

# ---- the --out rule --------------------------------------------------------------------------
expect "a run with thread dumps" 0 "reproduced" -- \
  "$fl" run --quiet --out "$D/dumps" "$src/tests/integration/data/dump-step.yaml"
ls "$D/dumps"/threads-*.txt >/dev/null 2>&1 || bad "the dump-step run wrote no thread dump"
expect "replaced by a run without dumps" 0 "reproduced" -- \
  "$fl" run --quiet --out "$D/dumps" ping-pong
if ls "$D/dumps"/threads-*.txt >/dev/null 2>&1; then
  bad "the earlier run's thread dumps stayed beside the new report.json"
else
  ok "nothing of the earlier run stays beside the new one"
fi
if ls -A "$D" | grep -q faultline-old; then bad "an earlier run was left aside: $(ls -A "$D")"; else
  ok "no earlier run left aside"; fi
mkdir "$D/empty"
expect "an empty folder is used" 0 "reproduced" -- "$fl" run --quiet --out "$D/empty" ping-pong
echo "notes" >"$D/r/my-notes.txt"
expect "an earlier run holding a user's file is refused" 2 \
  "holds 'my-notes.txt', which no faultline run wrote" -- "$fl" run --quiet --out "$D/r" ping-pong
[ "$(cat "$D/r/my-notes.txt")" = notes ] && ok "the user's file is kept" || bad "my-notes.txt lost"
# A faultline that does not refuse a folder of the user's would write into / here.
if [ "$refuses_foreign" = yes ]; then
  expect "--out / is refused" 2 "--out /: is the root directory" -- "$fl" run --out / ping-pong
else
  bad "--out / not tried: this faultline writes into folders not its own, / among them"
fi
mkdir "$tmp/home"
expect "--out \$HOME is refused" 2 "is your home directory" -- \
  env HOME="$tmp/home" "$fl" run --out "$tmp/home" ping-pong
ln -s "$D/empty" "$D/link"
expect "--out a symbolic link is refused" 2 "is a symbolic link" -- \
  "$fl" run --out "$D/link" ping-pong
echo x >"$D/plain"
expect "--out a file is refused" 2 "exists and is not a directory" -- \
  "$fl" run --out "$D/plain" ping-pong

# ---- a batch: one folder of runs, a total, and a closed stdout ends nothing -------------------
expect "a batch ends with its total" 0 "^2 scenarios: 2 reproduced, 0 not, 0 errors$" -- \
  "$fl" run --quiet --out "$D/batch" ping-pong empty-stream
tail -1 "$tmp/out" | grep -q "^2 scenarios:" || bad "the total is not the last line"
[ -s "$D/batch/ping-pong/report.json" ] && [ -s "$D/batch/empty-stream/report.json" ] &&
  ok "each run of the batch in DIR/NAME" || bad "batch run directories missing"
"$fl" run --out "$D/pipe" ping-pong empty-stream server-streaming 2>&1 | head -1 >"$tmp/first"
rc=${PIPESTATUS[0]}
complete=0
for n in ping-pong empty-stream server-streaming; do
  [ -s "$D/pipe/$n/report.json" ] && [ -s "$D/pipe/$n/events.jsonl" ] && complete=$((complete + 1))
done
if [ "$rc" -eq 0 ] && [ $complete -eq 3 ]; then
  ok "| head -1: the batch ran on (exit $rc), 3 complete run directories"
else
  bad "| head -1: exit $rc, $complete of 3 run directories complete"
fi

# ---- conventions -------------------------------------------------------------------------------
expect "options after the name" 0 "reproduced" -- "$fl" run ping-pong --out "$D/after" --quiet
n=$(wc -l <"$tmp/out")
[ "$n" -eq 1 ] && ok "--quiet prints the verdict line only" || bad "--quiet printed $n lines"
expect "-- ends the options" 2 "no scenario named '--quiet'" -- \
  "$fl" run --out "$D/dd" -- --quiet
expect "a missing option argument" 2 "^faultline run: option '--out' requires an argument$" -- \
  "$fl" run ping-pong --out
expect "an option another command takes" 2 "option '--out' is not one of list's" -- \
  "$fl" list --out x
expect "help run" 0 "^usage: faultline run " -- "$fl" help run
expect "help dump" 0 "usage: faultline dump" -- "$fl" help dump
for cmd in list show validate run dump; do
  expect "$cmd --version" 0 "^faultline [0-9]+\.[0-9]+\.[0-9]+$" -- "$fl" $cmd --version
done
for cmd in list show validate run; do
  "$fl" $cmd --help >"$tmp/out" 2>&1
  grep -q "^Exit codes:" "$tmp/out" && grep -qE "^  2 " "$tmp/out" &&
    ok "$cmd --help lists its exit codes" || bad "$cmd --help lists no exit codes"
done
"$fl" run --help | grep -qE "^  130 " && "$fl" run --help | grep -qE "^  1 " &&
  ok "run --help lists 1 and 130" || bad "run --help lacks 1 or 130"
"$fl" validate --help | grep -qE "^  (1|3|130) " && bad "validate --help lists codes it never gives" ||
  ok "validate --help lists only its own codes"

# Colour: only on a terminal, never for TERM=dumb or a non-empty NO_COLOR.
colour() { # colour ENV... : 0 if the summary on a pseudo-terminal holds an escape code
  script -qec "env $* '$fl' run --out '$D/c$RANDOM' ping-pong" /dev/null 2>/dev/null |
    grep -q $'\033'
}
if command -v script >/dev/null; then
  colour TERM=xterm NO_COLOR= && ok "colour on a terminal (NO_COLOR empty is not set)" ||
    bad "no colour on a terminal"
  colour TERM=dumb && bad "TERM=dumb got escape codes" || ok "TERM=dumb: no escape codes"
  colour TERM=xterm NO_COLOR=1 && bad "NO_COLOR=1 got escape codes" || ok "NO_COLOR=1: no colour"
else
  echo "skip colour checks: no script(1)"
fi

# ---- hostile and broken input ------------------------------------------------------------------
expect "validate /dev/zero is refused at once" 2 \
  "/dev/zero: not a regular file \(a character device\)" -- timeout 10 "$fl" validate /dev/zero
mkfifo "$tmp/f.yaml"
expect "a fifo does not block validate" 2 "not a regular file \(a fifo\)" -- \
  timeout 10 "$fl" validate "$tmp/f.yaml"
expect "a fifo does not block run" 2 "not a regular file \(a fifo\)" -- \
  timeout 10 "$fl" run --out "$D/fifo" "$tmp/f.yaml"
expect "nor show" 2 "not a regular file" -- timeout 10 "$fl" show "$tmp/f.yaml"
truncate -s 17M "$tmp/big.yaml"
expect "a file over 16 MiB" 2 "big.yaml: larger than 16 MiB" -- "$fl" validate "$tmp/big.yaml"
mkdir "$tmp/lib"
printf 'name: fail-me\nsummary: broken on purpose\n' >"$tmp/lib/fail.yaml"
expect "a file named unlike its scenario" 2 \
  "fail.yaml:1:7: the file is named 'fail.yaml' but its scenario is named 'fail-me'" -- \
  "$fl" validate "$tmp/lib/fail.yaml"
printf 'name: evil\nsummary: "red \\e[31m text"\n' >"$tmp/lib/evil.yaml"
esc=$'\e'
printf 'name: x\n' >"$tmp/lib/${esc}[2J.yaml"
"$fl" list --scenarios "$tmp/lib" >"$tmp/out" 2>&1
if grep -q $'\033' "$tmp/out"; then bad "list let an escape code through"; else
  ok "list prints no control character"; fi
grep -q "evil.yaml.*control character (U+001B)" "$tmp/out" && ok "the summary's ESC is refused" ||
  bad "a summary with ESC was not refused"
printf 'name: warn\nclient:\n  args: { grpc.http2.lookahead_byte: 100 }\n' >"$tmp/warn.yaml"
expect "an unknown channel argument is a warning, not an error" 0 \
  "warn.yaml:3:11: warning: 'grpc.http2.lookahead_byte' is not a channel argument .*did you mean 'grpc.http2.lookahead_bytes'" -- \
  "$fl" validate "$tmp/warn.yaml"
printf 'name: huge\nclient:\n  script:\n    - send: { count: 1000000000000 }\n    - sleep: 9223372036854775807ns\n' >"$tmp/huge.yaml"
expect "a count of 10^12 is refused where it stands" 2 "huge.yaml:4:22: 'count' must be at most 1000000" -- \
  "$fl" validate "$tmp/huge.yaml"
for f in "$lib"/*.yaml "$src"/tests/integration/data/*.yaml; do
  case $f in *broken-key.yaml) continue ;; esac
  "$fl" validate "$f" >"$tmp/out" 2>&1 || bad "$(basename "$f") no longer validates"
  grep -q "warning:" "$tmp/out" && bad "$(basename "$f") has warnings: $(cat "$tmp/out")"
done
ok "the library and the test scenarios validate without warnings, each named after its file"

echo "$failures failed"
[ "$failures" -eq 0 ]
