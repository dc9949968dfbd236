#!/usr/bin/env bash
# The command line's contract: --help everywhere, exit codes, file:line:col errors, name lookup.
set -u
fl=$1
data=$2
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # check DESCRIPTION EXPECTED_EXIT PATTERN -- COMMAND...
  local what=$1 want=$2 pattern=$3
  shift 4
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL $what: exit $got, wanted $want"; sed 's/^/    /' "$tmp/out"; failures=$((failures + 1))
  elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/out"; then
    echo "FAIL $what: output lacks /$pattern/"; sed 's/^/    /' "$tmp/out"; failures=$((failures + 1))
  else
    echo "ok   $what"
  fi
}

check "main help" 0 "Exit codes" -- "$fl" --help
check "no command" 2 "usage: faultline" -- "$fl"
check "unknown command" 2 "unknown command 'frobnicate'" -- "$fl" frobnicate
for cmd in list show validate run; do
  check "$cmd --help" 0 "usage: faultline $cmd" -- "$fl" "$cmd" --help
done
check "run needs an argument" 2 "usage: faultline run" -- "$fl" run
check "unknown option" 2 "unknown option '--bogus'" -- "$fl" run --bogus ping-pong
check "list names the library" 0 "^deadline-on-sleeping-server +The handler sleeps" -- "$fl" list
check "show prints the file" 0 "^name: ping-pong" -- "$fl" show ping-pong
check "show unknown name" 2 "no scenario named 'ping-pomg'.*did you mean 'ping-pong'" -- "$fl" show ping-pomg
check "validate the library" 0 "ok \(status-code-and-message\)" -- \
  "$fl" validate deadline-on-sleeping-server ping-pong status-code-and-message
check "validate a near-miss key" 2 "broken-key.yaml:4:1: .*unknown key 'dedline'.*did you mean 'deadline'" -- \
  "$fl" validate "$data/broken-key.yaml"
check "run refuses a broken file" 2 "broken-key.yaml:4:1:" -- "$fl" run --out "$tmp/r" "$data/broken-key.yaml"
check "run unknown name" 2 "no scenario named" -- "$fl" run no-such-scenario
check "missing file" 2 "No such file" -- "$fl" validate "$tmp/absent.yaml"
FAULTLINE_PEER=/nonexistent/peer check "missing peer binary" 3 "peer program /nonexistent/peer is missing" -- \
  "$fl" run --out "$tmp/p" ping-pong

echo "$failures failed"
[ "$failures" -eq 0 ]
