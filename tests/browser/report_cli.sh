#!/usr/bin/env bash
# `faultline report`: it renders what the run rendered (the same summary text, the same page,
# report.json as written), and says clearly why it cannot.
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

same() { # same DESCRIPTION FILE1 FILE2
  if cmp -s "$2" "$3"; then
    echo "ok   $1"
  else
    echo "FAIL $1:"; diff "$2" "$3" | head -20 | sed 's/^/    /'; failures=$((failures + 1))
  fi
}

for s in ping-pong "$data/hostile-text.yaml"; do
  name=$(basename "$s" .yaml)
  dir=$tmp/$name
  "$fl" run --out "$dir" "$s" >"$tmp/$name.run" 2>/dev/null
  [ -s "$dir/report.html" ] && echo "ok   $name: the run wrote report.html" ||
    { echo "FAIL $name: no report.html"; failures=$((failures + 1)); }
  "$fl" report --format text "$dir" >"$tmp/$name.text"
  same "$name: report --format text prints what the run printed" "$tmp/$name.run" "$tmp/$name.text"
  "$fl" report --format json "$dir" >"$tmp/$name.json"
  same "$name: report --format json prints report.json" "$dir/report.json" "$tmp/$name.json"
  cp "$dir/report.html" "$tmp/$name.html"
  check "$name: report renders report.html again" 0 "^$dir/report.html\$" -- "$fl" report "$dir"
  same "$name: the page rendered again is the run's page" "$tmp/$name.html" "$dir/report.html"
  # Self-contained: nothing the page would load from anywhere.
  if grep -qiE '(src|href|action)="?(https?:)?//|@import|url\([^#]' "$dir/report.html"; then
    echo "FAIL $name: report.html refers to something outside itself"
    grep -oiE '.{20}(src|href|action)="?(https?:)?//.{20}|@import.{20}|url\([^#].{20}' "$dir/report.html" | head -3
    failures=$((failures + 1))
  else
    echo "ok   $name: report.html loads nothing from outside"
  fi
done

# A status message of markup stays text in the page and cannot drive the terminal.
if grep -q '<script>window.pwned' "$tmp/hostile-text/report.html"; then
  echo "FAIL hostile-text: the status message reached the page as markup"; failures=$((failures + 1))
else
  echo "ok   hostile-text: the status message is escaped in the page"
fi
if grep -q $'\e\[31m' "$tmp/hostile-text.text"; then
  echo "FAIL hostile-text: the terminal escape reached the summary"; failures=$((failures + 1))
else
  echo "ok   hostile-text: the summary shows the terminal escape as \\x1b"
fi

dir=$tmp/ping-pong
check "report --help" 0 "usage: faultline report" -- "$fl" report --help
check "report needs a directory" 2 "usage: faultline report" -- "$fl" report
check "report knows its formats" 2 "unknown format 'xml': html, text or json" -- \
  "$fl" report --format xml "$dir"
check "report of a directory without report.json" 3 \
  "cannot read $tmp/nothing/report.json: No such file or directory" -- "$fl" report "$tmp/nothing"
mkdir -p "$tmp/broken"
head -c 200 "$dir/report.json" >"$tmp/broken/report.json"
check "report of a cut report.json names line and column" 3 "broken/report.json:[0-9]+:[0-9]+: " -- \
  "$fl" report --format text "$tmp/broken"
sed 's/"verdict": /"verdicts": /' "$dir/report.json" >"$tmp/broken/report.json"
check "report of a report.json without a verdict" 3 "broken/report.json: verdict is missing" -- \
  "$fl" report --format json "$tmp/broken"
sed 's/"held": true/"held": "yes"/' "$dir/report.json" >"$tmp/broken/report.json"
check "report of a clause whose held is not a boolean" 3 "expectations\[0\]\.held is not a boolean" -- \
  "$fl" report "$tmp/broken"
check "main usage lists report" 0 "report RUNDIR" -- "$fl" --help

echo "report-cli: $((failures == 0 ? 1 : 0)) passed, $((failures > 0 ? 1 : 0)) failed"
[ "$failures" -eq 0 ]
