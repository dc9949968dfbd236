#!/usr/bin/env bash
# Suites for CI (README "Suites and CI"): a small suite run with -j 2, --repeat 2 and --junit;
# the JUnit file checked with xmllint against tests/junit/junit.xsd and its counts against
# what ran; progress lines; parallel runs in separate run directories; a flaky scenario named;
# shards that cover a selection exactly once; --tag; suite-file errors at file:line:col; the
# --junit file's place; a stopped batch; the live line on a terminal.
#   usage: suite.sh FAULTLINE DATA_DIR SOURCE_ROOT
set -u
fl=$1
data=$2
src=$3
xsd=$src/tests/junit/junit.xsd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok   $1"; }
bad() {
  echo "FAIL $1"
  failures=$((failures + 1))
}
command -v xmllint >/dev/null || {
  echo "xmllint is missing (apt-get install libxml2-utils; ci/bootstrap installs it)"
  exit 1
}
# An XPath number from a JUnit file.
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }

# ---- the small suite: 3 scenarios x 2 runs, 2 at a time -----------------------------------------
j=$tmp/junit.xml
"$fl" run -j 2 --repeat 2 --out "$tmp/runs" --junit "$j" "$data/small.suite" \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && ok "a suite with a scenario not reproduced exits 1" ||
  { bad "exit $rc, wanted 1"; sed 's/^/    /' "$tmp/err" "$tmp/out"; }
if xmllint --noout --schema "$xsd" "$j" 2>"$tmp/xmllint"; then
  ok "the JUnit file validates against tests/junit/junit.xsd"
else
  bad "the JUnit file does not validate: $(cat "$tmp/xmllint")"
fi
# What ran, counted from the run directories themselves: each holds its report.json.
ran=$(find "$tmp/runs" -mindepth 2 -maxdepth 2 -name report.json | wc -l)
repro=$(grep -l '"verdict": "reproduced"' "$tmp"/runs/*/report.json | wc -l)
notrepro=$(grep -l '"verdict": "not reproduced"' "$tmp"/runs/*/report.json | wc -l)
[ "$ran" -eq 6 ] && ok "6 runs, 6 run directories" || bad "$ran run directories, wanted 6"
for attr in tests failures errors skipped; do
  declare "j_$attr=$(xp "$j" "string(/testsuites/testsuite/@$attr)")"
  declare "top_$attr=$(xp "$j" "string(/testsuites/@$attr)")"
done
cases=$(xp "$j" "count(//testcase)")
fails=$(xp "$j" "count(//testcase/failure)")
if [ "$j_tests" = "$ran" ] && [ "$cases" = "$ran" ] && [ "$j_failures" = "$notrepro" ] &&
  [ "$fails" = "$notrepro" ] && [ "$j_errors" = 0 ] && [ "$j_skipped" = 0 ] &&
  [ "$top_tests" = "$ran" ] && [ "$top_failures" = "$notrepro" ] && [ "$notrepro" -eq 2 ] &&
  [ "$repro" -eq 4 ]; then
  ok "JUnit counts what ran: tests=$j_tests failures=$j_failures errors=$j_errors skipped=$j_skipped"
else
  bad "JUnit says tests=$j_tests ($cases testcases) failures=$j_failures ($fails) errors=$j_errors skipped=$j_skipped; ran $ran, $repro reproduced, $notrepro not"
fi
names=$(xp "$j" "//testcase/@name" | sed 's/^ *name="\(.*\)"$/\1/' | sort)
[ "$(echo "$names" | sort -u | wc -l)" -eq 6 ] && ok "every testcase has a name of its own" ||
  bad "testcase names repeat: $names"
echo "$names" | grep -qx "ping-pong (run 2 of 2)" && ok "a repeated run is named 'NAME (run K of N)'" ||
  bad "no 'ping-pong (run 2 of 2)' among: $names"
[ "$(xp "$j" "string(//testcase[@name='ping-pong (run 1 of 2)']/@classname)")" = small ] &&
  ok "classname is the suite file's stem" || bad "classname: $(xp "$j" "//testcase[1]/@classname")"
msg=$(xp "$j" "string(//testcase[@name='suite-not-reproduced (run 1 of 2)']/failure/@message)")
[ "$msg" = "not reproduced: client.sent == 2 (seen 1)" ] &&
  ok "the failure's message is the failing clause with the value seen" || bad "failure message: '$msg'"
body=$(xp "$j" "string(//testcase[@name='suite-not-reproduced (run 1 of 2)']/failure)")
echo "$body" | grep -q "run directory: $tmp/runs/suite-not-reproduced-run1" &&
  ok "the failure's text names the run directory" || bad "failure text: $body"
missing=0
for d in $(xp "$j" "//testcase/system-out/text()" | sed -n 's/^\[\[ATTACHMENT|\(.*\)\]\]$/\1/p'); do
  [ -e "$d" ] || missing=$((missing + 1))
done
n_att=$(xp "$j" "//testcase/system-out/text()" | grep -c '^\[\[ATTACHMENT|')
[ "$missing" -eq 0 ] && [ "$n_att" -eq 12 ] &&
  ok "each testcase attaches its run directory and report.html, and they exist" ||
  bad "$n_att attachments, $missing missing"
# Progress: a line per finished run; two runs started before the first ended (-j 2).
n_prog=$(grep -cE '^\[[1-6]/6\] .+ (reproduced|not reproduced) [0-9.]+s$' "$tmp/err")
[ "$n_prog" -eq 6 ] && ok "a progress line per finished run" ||
  { bad "$n_prog progress lines, wanted 6"; sed 's/^/    /' "$tmp/err"; }
started_first=$(awk '/^\[1\/6\]/ {exit} /^running / {n++} END {print n+0}' "$tmp/err")
[ "$started_first" -eq 2 ] && ok "-j 2: two runs at once" ||
  bad "$started_first runs started before the first ended, wanted 2"
grep -qx "3 scenarios, 6 runs: 4 reproduced, 2 not, 0 errors" "$tmp/out" &&
  ok "the total counts scenarios and runs" || bad "total: $(tail -1 "$tmp/out")"
grep -qx "suite-not-reproduced: 0 of 2 runs reproduced" "$tmp/out" &&
  grep -qx "ping-pong: 2 of 2 runs reproduced" "$tmp/out" &&
  ok "per scenario, how many of its runs reproduced" || bad "repeat lines missing"
grep -q FLAKY "$tmp/out" && bad "a steady scenario called flaky" || ok "no steady scenario called flaky"

# ---- a flaky scenario: a peer wrapper that fails the second client it is asked to be ---------------
real_peer=$(dirname "$fl")/faultline-peer
cat >"$tmp/flaky-peer" <<EOF
#!/usr/bin/env bash
side=
prev=
for a in "\$@"; do [ "\$prev" = --side ] && side=\$a; prev=\$a; done
if [ "\$side" = client ] && ! mkdir "$tmp/first-client" 2>/dev/null; then
  echo "flaky-peer: failing this client on purpose" >&2
  exit 1
fi
exec "$real_peer" "\$@"
EOF
chmod +x "$tmp/flaky-peer"
FAULTLINE_PEER=$tmp/flaky-peer "$fl" run --quiet -j 2 --repeat 2 --out "$tmp/flaky" \
  --junit "$tmp/flaky.xml" ping-pong >"$tmp/out" 2>"$tmp/err"
rc=$?
line=$(grep '^ping-pong: ' "$tmp/out" | grep 'runs reproduced')
if [ "$rc" -ne 0 ] && echo "$line" | grep -qE '^ping-pong: 1 of 2 runs reproduced .*FLAKY: run [12] (error|not reproduced) \('; then
  ok "a scenario that reproduced in 1 of 2 runs is reported FLAKY (exit $rc)"
else
  bad "flaky: exit $rc, line '$line'"
  sed 's/^/    /' "$tmp/out" "$tmp/err"
fi
xmllint --noout --schema "$xsd" "$tmp/flaky.xml" 2>/dev/null &&
  [ "$(xp "$tmp/flaky.xml" "count(//testcase[failure or error][contains(*/@message, '[flaky: reproduced in 1 of 2 runs]')])")" = 1 ] &&
  ok "the JUnit failure of the flaky run says so" || bad "flaky JUnit: $(grep -o 'message="[^"]*"' "$tmp/flaky.xml")"

# ---- errors: a peer that exits at once makes every run an error (exit 3) --------------------------
FAULTLINE_PEER=/bin/false "$fl" run --quiet -j 2 --out "$tmp/errors" --junit "$tmp/errors.xml" \
  ping-pong empty-stream >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -eq 3 ] && xmllint --noout --schema "$xsd" "$tmp/errors.xml" 2>/dev/null &&
  [ "$(xp "$tmp/errors.xml" "string(/testsuites/@errors)")" = 2 ] &&
  [ "$(xp "$tmp/errors.xml" "count(//testcase/error[starts-with(@message, 'error: the server peer')])")" = 2 ]; then
  ok "verdict errors: exit 3, <error> with the why"
else
  bad "errors: exit $rc; $(grep -o '<error message="[^"]*"' "$tmp/errors.xml" 2>/dev/null)"
fi

# ---- hostile text: a status message of markup and control bytes stays a valid file ----------------
"$fl" run --quiet --out "$tmp/hostile" --junit "$tmp/hostile.xml" "$data/suite-hostile.yaml" \
  >/dev/null 2>&1
if xmllint --noout --schema "$xsd" "$tmp/hostile.xml" 2>"$tmp/xmllint" &&
  xp "$tmp/hostile.xml" "string(//failure/@message)" | grep -qF '<script>&amp;'; then
  ok "markup and control bytes in a failure: escaped, the file validates"
else
  bad "hostile: $(cat "$tmp/xmllint")"
fi

# ---- the schema is not a rubber stamp: a file missing what CI reads does not validate --------------
sed 's/ classname="[^"]*"//' "$j" >"$tmp/no-classname.xml"
sed 's/ tests="[0-9]*"/ tests="many"/' "$j" >"$tmp/bad-count.xml"
sed 's|<failure |<failed |; s|</failure>|</failed>|' "$j" >"$tmp/bad-element.xml"
refused=0
for f in no-classname bad-count bad-element; do
  xmllint --noout --schema "$xsd" "$tmp/$f.xml" >/dev/null 2>&1 || refused=$((refused + 1))
done
[ "$refused" -eq 3 ] && ok "the schema refuses files without classname, with a bad count, a bad element" ||
  bad "the schema accepted $((3 - refused)) of 3 broken files"

# ---- shards: the N shards of a selection hold each scenario once ---------------------------------
"$fl" run --dry-run --all | awk '{print $1}' | sort >"$tmp/all"
for n in 1 2 3 5; do
  : >"$tmp/union"
  sizes=
  for i in $(seq "$n"); do
    "$fl" run --dry-run --all --shard "$i/$n" | awk '{print $1}' >"$tmp/shard"
    cat "$tmp/shard" >>"$tmp/union"
    sizes="$sizes $(wc -l <"$tmp/shard")"
  done
  spread=$(echo $sizes | tr ' ' '\n' | sort -n | sed -n '1p;$p' | tr '\n' ' ' | awk '{print $2 - $1}')
  if [ "$(sort "$tmp/union")" = "$(cat "$tmp/all")" ] && [ "$spread" -le 1 ]; then
    ok "--shard I/$n: every scenario of --all exactly once (sizes$sizes)"
  else
    bad "--shard I/$n: the union differs from --all, or sizes$sizes are uneven"
  fi
done
"$fl" run --dry-run "$src/ci/regression.suite" | awk '{print $1}' | sort >"$tmp/regression"
[ "$(cat "$tmp/regression")" = "$(cat "$tmp/all")" ] &&
  ok "ci/regression.suite lists every library scenario, once" ||
  bad "ci/regression.suite and the library differ: $(diff "$tmp/regression" "$tmp/all" | grep '^[<>]' | tr '\n' ' ')"
"$fl" run --out "$tmp/empty-shard" --junit "$tmp/empty.xml" --shard 3/3 "$data/small.suite" \
  --tag broken >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && [ "$(xp "$tmp/empty.xml" "string(/testsuites/@tests)")" = 0 ] &&
  xmllint --noout --schema "$xsd" "$tmp/empty.xml" 2>/dev/null &&
  ok "an empty shard runs nothing, exits 0, writes a JUnit file of no tests" ||
  bad "empty shard: exit $rc; $(cat "$tmp/out")"

# ---- --tag, and usage errors ---------------------------------------------------------------------
expect() { # expect DESCRIPTION EXIT PATTERN -- COMMAND...
  local what=$1 want=$2 pattern=$3
  shift 4
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    bad "$what: exit $got, wanted $want"
    sed 's/^/    /' "$tmp/out"
  elif ! grep -qE -- "$pattern" "$tmp/out"; then
    bad "$what: output lacks /$pattern/"
    sed 's/^/    /' "$tmp/out"
  else
    ok "$what"
  fi
}
expect "--tag selects" 0 "^suite-not-reproduced +1 run +broken$" -- \
  "$fl" run --dry-run --tag broken "$data/small.suite"
[ "$(wc -l <"$tmp/out")" -eq 1 ] || bad "--tag broken selected $(wc -l <"$tmp/out") entries"
expect "--tag with a near miss" 2 "no scenario has tag 'smok' \(did you mean 'smoke'\?\)" -- \
  "$fl" run --tag smok "$data/small.suite"
cat >"$tmp/broken.suite" <<'EOF'
# a broken suite
ping-pong   smoke
empty-stream   smoke repat=2
EOF
expect "a suite file's unknown option" 2 "broken.suite:3:22: unknown option 'repat'; did you mean 'repeat'\?" -- \
  "$fl" run "$tmp/broken.suite"
printf 'ping-pong\n  ping-pomg smoke\n' >"$tmp/typo.suite"
expect "a suite file's unknown scenario" 2 "typo.suite:2:3: no scenario named 'ping-pomg' .*did you mean 'ping-pong'" -- \
  "$fl" run "$tmp/typo.suite"
expect "--all with names" 2 "--all runs the whole library" -- "$fl" run --all ping-pong
expect "--shard out of range" 2 "--shard 4/3: I must be from 1 to N" -- "$fl" run --all --shard 4/3
expect "--repeat 0" 2 "--repeat '0': give a count from 1 to 1000" -- "$fl" run --repeat 0 ping-pong
expect "-j more than the cores" 0 "this machine has [0-9]+ cores?; running [0-9]+ at a time" -- \
  "$fl" run -j 64 --quiet --out "$tmp/j64" ping-pong empty-stream

# ---- the --junit file: a user's file is never overwritten; faultline's own is replaced ------------
echo "<results>mine</results>" >"$tmp/mine.xml"
expect "--junit refuses a file faultline did not write" 2 "exists and is not a JUnit file faultline wrote" -- \
  "$fl" run --quiet --out "$tmp/m" --junit "$tmp/mine.xml" ping-pong
[ "$(cat "$tmp/mine.xml")" = "<results>mine</results>" ] && [ ! -e "$tmp/m" ] &&
  ok "... before anything ran, and the file is as it was" || bad "mine.xml changed or a run took place"
expect "--junit replaces its own file" 0 "reproduced" -- \
  "$fl" run --quiet --out "$tmp/again" --junit "$j" empty-stream
[ "$(xp "$j" "string(/testsuites/@tests)")" = 1 ] && ok "... with the new runs" ||
  bad "the replaced file says tests=$(xp "$j" "string(/testsuites/@tests)")"

# ---- a stopped batch: SIGINT ends the running runs, starts no other, writes the JUnit file ---------
"$fl" run -j 2 --out "$tmp/stop" --junit "$tmp/stop.xml" "$data/long-sleep.yaml" \
  "$data/long-sleep.yaml" ping-pong >"$tmp/out" 2>"$tmp/err" &
batch=$!
for _ in $(seq 300); do
  [ "$(grep -ls '"event":"call_start"' "$tmp"/stop/*/events.jsonl 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.1
done
pids=$(grep -ho '"event":"spawn","peer":"[a-z]*","pid":[0-9]*' "$tmp"/stop/*/events.jsonl 2>/dev/null |
  grep -o '[0-9]*$')
kill -INT $batch
wait $batch
rc=$?
left=0
for pid in $pids; do kill -0 "$pid" 2>/dev/null && { left=$((left + 1)); kill -KILL "$pid"; }; done
if [ "$rc" -eq 130 ] && [ "$(echo $pids | wc -w)" -eq 4 ] && [ "$left" -eq 0 ] &&
  [ "$(xp "$tmp/stop.xml" "string(/testsuites/@skipped)")" = 1 ] &&
  [ "$(grep -l '"outcome": "interrupted"' "$tmp"/stop/*/report.json | wc -l)" -eq 2 ] &&
  grep -q ", 1 not run (interrupted)$" "$tmp/out"; then
  ok "SIGINT: exit 130, both running runs interrupted and written, 1 not run (skipped), no peer left"
else
  bad "SIGINT: exit $rc, peers '$pids' ($left left), $(tail -1 "$tmp/out")"
  sed 's/^/    /' "$tmp/err"
fi

# ---- the live line on a terminal (script(1) gives the batch one) ---------------------------------
if command -v script >/dev/null; then
  TERM=xterm script -qec "'$fl' run -j 2 --out '$tmp/live' ping-pong empty-stream" /dev/null \
    >"$tmp/tty" 2>&1
  if grep -qa $'\r\033\[K\[[0-9]/2\] 0 failed, running ' "$tmp/tty"; then
    ok "on a terminal: a live status line, rewritten in place"
  else
    bad "no live line on a terminal: $(head -c 400 "$tmp/tty" | od -c | head -5)"
  fi
fi

# ---- the CI templates: YAML, running the regression suite sharded with --junit -------------------
if python3 -c 'import yaml' 2>/dev/null; then
  for t in github-actions gitlab-ci; do
    if python3 - "$src/ci/$t.yml" <<'PY'; then
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
text = open(sys.argv[1]).read()
assert isinstance(doc, dict), "not a mapping"
for word in ("ci/regression.suite", "--junit", "--shard", "runs/"):
    assert word in text, word
PY
      ok "ci/$t.yml is YAML and runs the regression suite sharded with --junit"
    else
      bad "ci/$t.yml"
    fi
  done
fi

echo "$failures failed"
[ "$failures" -eq 0 ]
