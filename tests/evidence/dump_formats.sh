#!/usr/bin/env bash
# The three forms of a thread dump, read by the tools they are for, on real processes:
#  1. the 23-thread fixture through `faultline dump --format go|pprof`: panicparse parses every
#     thread (its goroutine count is the dump's thread count), go tool pprof -top, -traces, -raw
#     and -lines show the fixture's functions, lines and labels;
#  2. the runner's call (fl_threads_dump_files, via dump_files) with idle times and pending
#     operations: all three files, the extra facts where each grammar keeps them;
#  3. a hung pair of built-in peers (tests/integration/data/hang-is-detected.yaml, started by
#     hand as the runner starts them): panicparse and pprof read both peers' dumps;
#  4. a Go binary (Debian's golang-go, GOPATH mode, offline): its dump shows main.go:LINE in
#     all three forms.
#
#  5. a dump made by hand (render_cases) with every case Go's grammar is strict about: names
#     and waits holding "]", ", ", '%' and '/', files it cannot name, unknown symbols, inlined
#     frames, a thread not unwound, an elided stack.
#  6. source paths: a program compiled from a relative path ("../common/blocker.c") dumps with
#     the absolute path when DW_AT_comp_dir is absolute, and, built the way Debian builds glibc
#     (-fdebug-prefix-map=ROOT=.: comp_dir "./sub"), with the path below ROOT: "common/...".
#
# usage: dump_formats.sh FAULTLINE FAULTLINE_PEER FIXTURE DUMP_FILES RENDER_CASES DATA_DIR
# KEEP_DUMPS=1 keeps the files for a look. Exit 0 pass, 1 fail, 77 skip (panicparse or go missing: ci/bootstrap installs them; ptrace
# refused here).
set -u
fl=$1 peer=$2 fixture=$3 dump_files=$4 render_cases=$5 data=$6
for tool in panicparse go; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (ci/bootstrap installs panicparse and golang-go)"
    exit 77
  fi
done

tmp=$(mktemp -d)
children=()
cleanup() {
  for p in "${children[@]}"; do kill -KILL "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${KEEP_DUMPS:-}" ]; then echo "files kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
# No tool may go to the network: no debuginfod, no module proxy; Go's caches in the sandbox.
export DEBUGINFOD_URLS= HOME=$tmp GOPATH=$tmp/gopath GOCACHE=$tmp/gocache GO111MODULE=off
export GOFLAGS= GOPROXY=off
fail=0
no() {
  echo "FAIL: $*"
  fail=1
}

# Waits (bounded: 20 s) until the command succeeds, looking again every 10 ms: for states a
# test observes (a line in an events file, a thread inside a system call), never a guessed delay.
until_true() {
  for ((i = 0; i < 2000; i++)); do
    "$@" && return 0
    sleep 0.01
  done
  return 1
}

# The number of goroutines panicparse parsed in FILE: the sum of its buckets' "N: state"
# counts. Fails if panicparse failed or printed a line of the goroutine grammar back unparsed
# (what it does from the first line it cannot parse on).
parsed_goroutines() {
  panicparse -no-color "$1" >"$1.pp" 2>"$1.pp.err" || {
    echo "panicparse failed on $1: $(cat "$1.pp.err")" >&2
    return 1
  }
  if grep -qE $'^goroutine [0-9]+ \\[|^\t' "$1.pp"; then
    echo "panicparse left part of $1 unparsed:" >&2
    grep -m3 -E $'^goroutine [0-9]+ \\[|^\t' "$1.pp" >&2
    return 1
  fi
  grep -E '^[0-9]+: ' "$1.pp" | awk -F: '{ s += $1 } END { print s + 0 }'
}

# The thread counts in the headers of a dump file ("threads: N, unwound in ..."), added up.
dump_threads() { grep -E '^threads: [0-9]+,' "$1" | awk '{ s += $2 } END { print s + 0 }'; }

# Reads a Go grammar dump with panicparse and checks every thread was parsed.
check_panicparse() {
  local f=$1 what=$2 n want
  want=$(dump_threads "$f")
  if ! n=$(parsed_goroutines "$f"); then
    no "$what: panicparse could not read it all"
    return
  fi
  [ "$want" -gt 0 ] && [ "$n" = "$want" ] ||
    no "$what: panicparse parsed $n goroutines, the dump has $want threads"
  echo "  $what: panicparse parsed $n of $want threads"
}

# The cum column of function FN in `go tool pprof -top` output.
cum_of() { awk -v fn="$2" '$6 == fn { print $4; exit }' "$1"; }

syscall_nr() { local nr; read -r nr _ <"/proc/$1/syscall" 2>/dev/null && echo "$nr"; }

# ---- 1. the fixture, through faultline dump --format ------------------------------------------
coproc FIX { exec "$fixture"; }
fixpid=$FIX_PID # bash unsets FIX_PID once the coprocess has ended
children+=("$fixpid")
if ! read -r -t 20 ready <&"${FIX[0]}"; then
  echo "FAIL: the fixture did not get ready"
  exit 1
fi
read -r pid wait_line nap_line < <(sed -E 's/ready pid=([0-9]+) wait_line=([0-9]+) nap_line=([0-9]+)/\1 \2 \3/' <<<"$ready")
main_in_read() { [ "$(syscall_nr "$pid")" = 0 ]; }
until_true main_in_read || no "the fixture's main thread never blocked in read(2)"

if ! "$fl" dump --stop --format go --out "$tmp/fx.go.txt" "$pid" 2>"$tmp/err"; then
  if grep -q 'not permitted to trace' "$tmp/err"; then
    echo "SKIP: ptrace is not possible here: $(cat "$tmp/err")"
    exit 77
  fi
  no "faultline dump --format go: $(cat "$tmp/err")"
fi
echo "1. the fixture (pid $pid):"
check_panicparse "$tmp/fx.go.txt" "--format go"
[ "$(dump_threads "$tmp/fx.go.txt")" = 23 ] || no "the fixture's go dump has $(dump_threads "$tmp/fx.go.txt") threads, want 23"
# panicparse groups by what a thread waits on, the goroutine state; the line of the call stays.
grep -q '^20: futex wait cv+40$' "$tmp/fx.go.txt.pp" || no "panicparse has no bucket of 20 \"futex wait cv+40\""
grep -q "fixture_threads.c:$wait_line .*wait_for_signal(...)" "$tmp/fx.go.txt.pp" ||
  no "panicparse does not show wait_for_signal at fixture_threads.c:$wait_line"
grep -q '^2: nanosleep$' "$tmp/fx.go.txt.pp" || no "panicparse has no bucket of 2 nanosleep"
grep -q '^thread dump: fixture_threads, pid ' "$tmp/fx.go.txt.pp" || no "the header did not pass through panicparse"

"$fl" dump --stop --format pprof --out "$tmp/fx.pb.gz" "$pid" || no "faultline dump --format pprof"
[ "$(head -c2 "$tmp/fx.pb.gz" | od -An -tx1 | tr -d ' ')" = 1f8b ] || no "the profile is not gzipped"
go tool pprof -top "$tmp/fx.pb.gz" >"$tmp/top" 2>&1 || no "go tool pprof -top: $(cat "$tmp/top")"
[ "$(cum_of "$tmp/top" wait_for_signal)" = 20 ] || no "pprof -top: wait_for_signal cum $(cum_of "$tmp/top" wait_for_signal), want 20"
[ "$(cum_of "$tmp/top" nap)" = 2 ] || no "pprof -top: nap cum $(cum_of "$tmp/top" nap), want 2"
[ "$(cum_of "$tmp/top" wait_for_eof)" = 1 ] || no "pprof -top: wait_for_eof cum $(cum_of "$tmp/top" wait_for_eof), want 1"
grep -q 'Total samples = 23' "$tmp/top" || no "pprof -top: not 23 samples"
grep -q '^File: fixture_threads$' "$tmp/top" || no "pprof: the fixture is not the profile's File"
go tool pprof -traces "$tmp/fx.pb.gz" >"$tmp/traces" 2>&1 || no "go tool pprof -traces"
[ "$(grep -cE '^ +tid: +[0-9]+$' "$tmp/traces")" = 23 ] || no "pprof -traces: $(grep -cE '^ +tid: +[0-9]+$' "$tmp/traces") traces, want 23"
[ "$(grep -cE '^ +waits: +futex wait cv\+40$' "$tmp/traces")" = 20 ] || no "pprof -traces: want 20 \"waits: futex wait cv+40\" labels"
[ "$(grep -cE '^ +state: +stopped$' "$tmp/traces")" = 23 ] || no "pprof -traces: want 23 \"state: stopped\" labels"
[ "$(grep -cE '^ +thread: +waiter-[0-9]+$' "$tmp/traces")" = 20 ] || no "pprof -traces: want 20 waiter thread labels"
go tool pprof -lines -top "$tmp/fx.pb.gz" >"$tmp/lines" 2>&1 || no "go tool pprof -lines -top"
grep -q "wait_for_signal .*fixture_threads.c:$wait_line\$" "$tmp/lines" || no "pprof -lines: no wait_for_signal at fixture_threads.c:$wait_line"
# -raw is what a flame graph is drawn from: every sample with its stack and labels.
go tool pprof -raw "$tmp/fx.pb.gz" >"$tmp/raw" 2>&1 || no "go tool pprof -raw"
grep -q 'waits:\[futex wait cv+40\]' "$tmp/raw" || no "pprof -raw shows no waits label"
echo "  --format pprof: -top, -traces, -lines and -raw read $(grep -cE '^ +tid: +[0-9]+$' "$tmp/traces") samples"

# The command line: GNU option order, usage errors exit 2 with a message, --help exits 0.
"$fl" dump "$pid" --format=go >"$tmp/late.go.txt" || no "options after the PID are not taken"
grep -q '^goroutine ' "$tmp/late.go.txt" || no "--format=go after the PID did not apply"
usage_error() {
  local out rc
  out=$("$fl" dump "$@" 2>&1 >/dev/null)
  rc=$?
  [ $rc = 2 ] && grep -q -e '--format' <<<"$out" || no "faultline dump $*: exit $rc, said: $out"
}
usage_error --format xml "$pid"
usage_error --format pprof "$pid"                       # a profile needs --out
usage_error --format pprof --out "$tmp/x.pb.gz" "$pid" "$pid" # and one process
"$fl" dump --help | grep -q '^Exit codes: 0 every process dumped, 2 bad usage, 3 ' || no "--help has no exit codes"

# ---- 2. the runner's call: three files, with idle times and pending operations ------------
kill -STOP "$pid"
all_stopped() { ! grep -qv '^T' < <(for t in /proc/"$pid"/task/*; do awk '{ print substr($0, index($0, ") ") + 2, 1) }' "$t/stat"; done); }
until_true all_stopped || no "the fixture did not stop"
"$dump_files" "$pid" "$tmp" fx-files >/dev/null || no "dump_files"
kill -CONT "$pid"
echo "2. fl_threads_dump_files:"
for suffix in .txt .go.txt .pb.gz; do [ -s "$tmp/fx-files$suffix" ] || no "no fx-files$suffix"; done
t=$tmp/fx-files.txt
grep -q '^pending operations: 2 ' "$t" || no "text: no pending operations"
grep -q '^  close_send  call 1  step scenarios/closesend-blocked.yaml:17  pending 1.25s  65536 bytes queued behind it$' "$t" ||
  no "text: the close_send line is wrong: $(grep close_send "$t")"
grep -q '^  recv_message  call 1$' "$t" || no "text: the recv_message line is wrong"
grep -q "^thread $pid \"fixture_threads\" \[stopped, read fd 0 (pipe:\[[0-9]*\]), idle 1 minutes\]:\$" "$t" || no "text: the main thread's idle time"
[ "$(grep -c ', idle 1.50s\]:$' "$t")" = 22 ] || no "text: want 22 threads idle 1.50s"
g=$tmp/fx-files.go.txt
check_panicparse "$g" "fl_threads_dump_files .go.txt"
grep -q '^  close_send  call 1  step scenarios/closesend-blocked.yaml:17' "$g.pp" || no "go: the pending operation did not pass through panicparse"
grep -q "^goroutine $pid \[read fd 0 (pipe:[0-9]*), 1 minutes, stopped, thread \"fixture_threads\"\]:\$" "$g" || no "go: the main thread's header: $(grep "^goroutine $pid " "$g")"
grep -q '^1: read fd 0 (pipe:[0-9]*) \[1 minutes\]$' "$g.pp" || no "go: panicparse did not keep the minutes"
grep -q '^goroutine [0-9]* \[futex wait cv+40, stopped, idle 1.50s, thread "waiter-0"\]:$' "$g" || no "go: a waiter's header"
go tool pprof -comments "$tmp/fx-files.pb.gz" >"$tmp/comments" 2>&1 || no "go tool pprof -comments"
grep -q '^pending operation: close_send  call 1  step scenarios/closesend-blocked.yaml:17  pending 1.25s' "$tmp/comments" || no "pprof: no pending operation comment"
go tool pprof -tags "$tmp/fx-files.pb.gz" >"$tmp/tags" 2>&1 || no "go tool pprof -tags"
grep -q ' idle(nanoseconds):' "$tmp/tags" || grep -q 'idle' "$tmp/tags" || no "pprof -tags: no idle label"
grep -q 'waits: Total 23' "$tmp/tags" || no "pprof -tags: not every thread has a waits label"
echo "  three files; pending operations and idle times in each"

exec {FIX[1]}>&-
wait "$fixpid" 2>/dev/null

# ---- 3. a hung pair of built-in peers --------------------------------------------------------
echo "3. a hung pair of built-in peers (hang-is-detected.yaml):"
scenario=$data/hang-is-detected.yaml
mkfifo "$tmp/server.ctl" "$tmp/client.ctl"
exec {sctl}<>"$tmp/server.ctl" {cctl}<>"$tmp/client.ctl"
"$peer" --side server --scenario "$scenario" --events-fd 1 --control-fd 0 <"$tmp/server.ctl" >"$tmp/server.ev" 2>"$tmp/server.err" {sctl}>&- {cctl}>&- &
spid=$!
children+=("$spid")
until_true grep -q ' ready port=' "$tmp/server.ev" || { no "the server did not get ready: $(cat "$tmp/server.err")"; exit 1; }
port=$(grep -o ' ready port=[0-9]*' "$tmp/server.ev" | cut -d= -f2)
"$peer" --side client --scenario "$scenario" --events-fd 1 --control-fd 0 --target "127.0.0.1:$port" <"$tmp/client.ctl" >"$tmp/client.ev" 2>"$tmp/client.err" {sctl}>&- {cctl}>&- &
cpid=$!
children+=("$cpid")
# Hung as the scenario means it: the server at its barrier, the client's recv started and its
# main thread asleep in C core's poller.
server_hung() { grep -q ' wait index=1 ' "$tmp/server.ev"; }
client_hung() {
  grep -A5 ' step index=1 name=recv' "$tmp/client.ev" | grep -q ' op_start op=recv' &&
    case $(syscall_nr "$cpid") in 232 | 281 | 441) true ;; *) false ;; esac
}
until_true server_hung || no "the server never reached its barrier"
until_true client_hung || no "the client never blocked in its recv"
"$fl" dump --stop --format go --out "$tmp/peers.go.txt" "$spid" "$cpid" 2>"$tmp/err" || no "dump of the peers: $(cat "$tmp/err")"
check_panicparse "$tmp/peers.go.txt" "both peers, --format go"
[ "$(grep -c '^thread dump: ' "$tmp/peers.go.txt")" = 2 ] || no "the go dump does not hold both peers"
grep -q 'fl_peer_pump(...)' "$tmp/peers.go.txt.pp" || no "panicparse shows no fl_peer_pump frame"
"$fl" dump --stop --format pprof --out "$tmp/client.pb.gz" "$cpid" || no "pprof dump of the client"
go tool pprof -top "$tmp/client.pb.gz" >"$tmp/ctop" 2>&1 || no "go tool pprof -top (client)"
[ "$(cum_of "$tmp/ctop" fl_peer_pump)" = 1 ] || no "pprof -top: the client's fl_peer_pump cum $(cum_of "$tmp/ctop" fl_peer_pump), want 1"
# Debian's libgrpc is stripped: its exported functions have names, its static ones (the CQ's
# own next) do not; the poller below fl_peer_pump is exported.
[ "$(cum_of "$tmp/ctop" grpc_pollset_work)" = 1 ] || no "pprof -top: no grpc_pollset_work below fl_peer_pump"
go tool pprof -traces "$tmp/client.pb.gz" >"$tmp/ctraces" 2>&1 || no "go tool pprof -traces (client)"
grep -qE '^ +waits: +epoll_wait fd ' "$tmp/ctraces" || no "pprof -traces: no thread waits in epoll_wait"
echo "  pprof: the client's main thread in fl_peer_pump -> C core's grpc_pollset_work"
exec {sctl}>&- {cctl}>&-
wait "$spid" "$cpid" 2>/dev/null

# ---- 4. a Go binary -------------------------------------------------------------------------
echo "4. a Go binary ($(go version | awk '{ print $3 }')):"
src=$tmp/gopath/src/hang
mkdir -p "$src"
cat >"$src/main.go" <<'EOF'
// A Go program whose main goroutine blocks in read(2) on its stdin: a goroutine in a system
// call keeps its thread, so a thread dump shows it.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	fmt.Printf("ready pid=%d\n", os.Getpid())
	buf := make([]byte, 1)
	syscall.Read(0, buf)
}
EOF
line=$(grep -n 'syscall.Read(0' "$src/main.go" | cut -d: -f1)
(cd "$src" && go build -o "$tmp/hang" .) >"$tmp/gobuild" 2>&1 || { no "go build: $(cat "$tmp/gobuild")"; exit 1; }
coproc GOP { exec "$tmp/hang"; }
goppid=$GOP_PID
children+=("$goppid")
read -r -t 20 ready <&"${GOP[0]}" || no "the Go program did not get ready"
gpid=${ready#ready pid=}
in_read() { for t in /proc/"$gpid"/task/*; do [ "$(syscall_nr "${t#/proc/}")" = 0 ] && return 0; done; return 1; }
until_true in_read || no "no thread of the Go program blocked in read(2)"
"$fl" dump --stop "$gpid" >"$tmp/go.txt" || no "dump of the Go program"
want="$src/main.go:$line"
grep -A1 '^main\.main(\.\.\.)$' "$tmp/go.txt" | grep -qF "	$want +0x" || {
  no "text: main.main is not at $want"
  grep -A1 '^main\.main' "$tmp/go.txt"
}
"$fl" dump --stop -f go "$gpid" -o "$tmp/go.go.txt" || no "go dump of the Go program"
check_panicparse "$tmp/go.go.txt" "the Go binary, --format go"
grep -q "main.go:$line .*main(...)" "$tmp/go.go.txt.pp" || no "panicparse: no main() at main.go:$line"
"$fl" dump --stop -o "$tmp/go.pb.gz" -f pprof "$gpid" || no "pprof dump of the Go program"
go tool pprof -lines -top "$tmp/go.pb.gz" >"$tmp/golines" 2>&1 || no "go tool pprof -lines (Go)"
grep -qF "main.main $want" "$tmp/golines" || no "pprof -lines: no main.main at $want"
echo "  main.main at main.go:$line in the text, Go-grammar and pprof forms"
exec {GOP[1]}>&-
wait "$goppid" 2>/dev/null

# ---- 5. the grammar's edge cases ------------------------------------------------------------
echo "5. a dump made by hand with the grammar's edge cases:"
"$render_cases" "$tmp" || no "render_cases"
check_panicparse "$tmp/cases.go.txt" "edge cases, .go.txt"
grep -q '^1: epoll_wait fd 5 (anon_inode:eventpoll) \[2 minutes\]$' "$tmp/cases.go.txt.pp" || no "panicparse: the sanitized state"
grep -q 'operator∕(int) const(...)' "$tmp/cases.go.txt.pp" || no "panicparse: no operator∕"
grep -q '^  close_send  call 2  step /src/s\]cen, arios/x.yaml:9  pending 61.50s  0 bytes queued behind it$' "$tmp/cases.txt" ||
  no "text: the pending line: $(grep close_send "$tmp/cases.txt")"
go tool pprof -traces "$tmp/cases.pb.gz" >"$tmp/ctr" 2>&1 || no "go tool pprof -traces (edge cases): $(head -3 "$tmp/ctr")"
[ "$(grep -cE '^ +tid: +[0-9]+$' "$tmp/ctr")" = 5 ] || no "pprof -traces: want 5 samples (edge cases)"
grep -qE '^ +unwinding: +ptrace: No such process, \[really\]$' "$tmp/ctr" || no "pprof -traces: no unwinding label"
grep -q '^File: faultline-peer$' "$tmp/ctr" || no "pprof: the main program is not the profile's File"
grep -qE '^ +inlined_helper \(inline\)$' "$tmp/ctr" || no "pprof -traces: inlined frames not marked (inline)"
grep -qE 'libgrpc.so.29.0.0\+0x300000$' "$tmp/ctr" || no "pprof -traces: an unknown symbol is not named module+offset"
echo "  panicparse and pprof read all 5 threads"

# ---- 6. source paths joined with the compilation directory ----------------------------------
echo "6. source paths:"
root=$tmp/root
mkdir -p "$root/sub" "$root/common"
cat >"$root/common/blocker.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int main(void) {
  char c;
  printf("ready pid=%d\n", (int)getpid());
  fflush(stdout);
  return (int)read(0, &c, 1); /* BLOCKS */
}
EOF
bline=$(grep -n 'BLOCKS' "$root/common/blocker.c" | cut -d: -f1)
for map in absolute prefix-mapped; do
  flags=(-g -O0)
  want=$root/common/blocker.c:$bline
  if [ $map = prefix-mapped ]; then
    flags+=("-fdebug-prefix-map=$root=.")
    want=common/blocker.c:$bline
  fi
  (cd "$root/sub" && cc "${flags[@]}" -o "blocker-$map" ../common/blocker.c) || {
    no "cc ($map)"
    continue
  }
  coproc BLK { exec "$root/sub/blocker-$map"; }
  bpid=$BLK_PID
  children+=("$bpid")
  read -r -t 20 ready <&"${BLK[0]}" || no "the $map blocker did not get ready"
  blocked() { [ "$(syscall_nr "$bpid")" = 0 ]; }
  until_true blocked || no "the $map blocker never blocked in read(2)"
  "$fl" dump --stop "$bpid" >"$tmp/blk-$map.txt" || no "dump of the $map blocker"
  at=$(grep -A1 '^main(\.\.\.)$' "$tmp/blk-$map.txt" | tail -1)
  [[ $at == "	$want +0x"* ]] || no "$map comp_dir: main is at \"$at\", want $want"
  echo "  $map comp_dir: main at $want"
  exec {BLK[1]}>&-
  wait "$bpid" 2>/dev/null
done

[ $fail -eq 0 ] && echo "ok: panicparse and go tool pprof read every dump; Go binaries have file:line"
exit $fail
