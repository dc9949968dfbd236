#!/usr/bin/env bash
# The interop suite (issue 10): faultline's built-in C core peers, grpc-go and grpc-js talking
# to each other over loopback, each side's own account of the call checked.
#
#   interop.sh SOURCE_ROOT BUILD_ROOT CASE
#
# Most cases drive the built-in peers by hand (their event lines read, their `wait` barriers
# released by the test), to check each implementation's own account of a call; the runner-*
# cases run tests/peers/scenarios/ through `faultline run`, with the third-party peers as
# external sides. Exit 77 (SKIP) when the third-party peers cannot be built here.
set -euo pipefail
src=$1
build=$2
case=$3
peer=$build/faultline-peer
data=$src/tests/peers/data
work=$build/test-runs/interop/$case
rm -rf "$work"
mkdir -p "$work"
# shellcheck source=lib.sh
. "$src/tests/peers/lib.sh"

[ -x "$peer" ] || { echo "FAIL: $peer not built"; exit 1; }
peers_build "$src" "$build"

# run NAME CMD...: a client to its end; its output in $work/NAME.out, exit status in $rc.
run() {
  local name=$1
  shift
  spawn "$name" "$@"
  finish "$name"
}

# The one line a client ends with.
status_of() { tail -n1 "$work/$1.out"; }

# --- cases -----------------------------------------------------------------------------------

# Builds the peers (the first test of the suite; the others find them built).
case_build() {
  local b
  for b in go-server go-client node-server node-client; do
    [ -x "$bin/$b" ] || fail "$bin/$b missing"
    "$bin/$b" --help >"$work/$b.help" 2>&1 || true
    grep -q '^usage: ' "$work/$b.help" || fail "$b --help prints no usage"
  done
  # The Go sources as gofmt writes them, and clean under go vet (the generated code too).
  local unformatted
  unformatted=$(gofmt -l "$src/tests/peers/go")
  [ -z "$unformatted" ] || fail "not gofmt-formatted: $unformatted"
  GO111MODULE=off GOPATH="$build/peers/go:/usr/share/gocode" GOCACHE="$build/peers/go/cache" \
    go vet faultline/peers/... >"$work/vet.txt" 2>&1 || fail "go vet: $(cat "$work/vet.txt")"
  echo "peers in $bin"
}

# Bad usage exits 2 with a message; a client against a closed port reports UNAVAILABLE.
case_usage() {
  local b
  for b in go-server node-server; do
    run "$b-bad-mode" "$bin/$b" --port 0 --mode nonsense
    [ "$rc" -eq 2 ] || fail "$b --mode nonsense: exit $rc, want 2"
    expect "$work/$b-bad-mode.err" 'unknown mode "nonsense"' "$b names the bad mode"
    run "$b-bad-arg" "$bin/$b" --port 0 --mode stream
    [ "$rc" -eq 2 ] || fail "$b --mode stream (no N): exit $rc, want 2"
  done
  # a port that was free a moment ago and is closed now: a server we start and stop
  start_server gone "$bin/go-server"
  local closed=$addr
  stop gone
  for b in go-client node-client; do
    run "$b-no-target" "$bin/$b"
    [ "$rc" -eq 2 ] || fail "$b without --target: exit $rc, want 2"
    run "$b-bad-method" "$bin/$b" --target "$closed" --method /nope.Svc/M
    [ "$rc" -eq 2 ] || fail "$b --method /nope.Svc/M: exit $rc, want 2"
    run "$b-closed" "$bin/$b" --target "$closed" --deadline 10s
    [ "$rc" -eq 3 ] || fail "$b against a closed port: exit $rc, want 3"
    expect "$work/$b-closed.out" '^status=UNAVAILABLE code=14 ' "$b against a closed port"
  done
}

# The built-in client against each third-party echo server: four pairs, one a Struct of null
# values; each reply must be what was sent (same size, same nulls) and the server must have
# seen four messages and the half-close.
case_c_client_echo() {
  local s
  for s in go-server node-server; do
    start_server "$s" "$bin/$s" --mode echo
    builtin "c-$s" client "$data/c-client-ping-pong.yaml" "$addr"
    wait_for "$work/c-$s.out" ' done$' 20
    builtin_end "c-$s"
    local ev=$work/c-$s.out
    # grpc-js puts "OK" in grpc-message, grpc-go nothing: only the code is the same
    expect "$ev" ' status code=0 ' "built-in client vs $s: status"
    expect "$ev" ' recv n=4 ' "built-in client vs $s: fourth reply"
    expect_not "$ev" ' recv n=5 ' "built-in client vs $s: no fifth reply"
    expect_not "$ev" ' recv .*decoded=0' "built-in client vs $s: every reply decodes"
    local n sent recvd
    for n in 1 2 3 4; do
      sent=$(sed -n "s/.* sent n=$n bytes=\([0-9]*\) .*nulls=\([0-9]*\).*/\1 \2/p" "$ev")
      recvd=$(sed -n "s/.* recv n=$n bytes=\([0-9]*\) .*nulls=\([0-9]*\).*/\1 \2/p" "$ev")
      [ -n "$sent" ] && [ "$sent" = "$recvd" ] ||
        fail "built-in client vs $s: message $n sent (bytes nulls) '$sent', echoed '$recvd'"
    done
    [ "$(sed -n 's/.* sent n=2 .*nulls=\([0-9]*\).*/\1/p' "$ev")" -gt 0 ] ||
      fail "the null_values message carried no nulls"
    wait_for "$work/$s.out" '^call method=/faultline.Test/Bidi recv=4 sent=4 recv_end=1 cancelled=0 status=OK code=0 '
    stop "$s"
  done
}

# The built-in client's half-close right behind a burst of 20, against the Node server (and the
# Go one): every message and the half-close arrive, every reply returns.
case_c_client_half_close_race() {
  local s
  for s in node-server go-server; do
    start_server "$s" "$bin/$s" --mode echo
    builtin "c-$s" client "$data/c-client-half-close-race.yaml" "$addr"
    wait_for "$work/c-$s.out" ' done$' 20
    builtin_end "c-$s"
    local ev=$work/c-$s.out
    expect "$ev" ' half_close$' "built-in client vs $s: half-close completed"
    expect "$ev" ' recv n=20 ' "built-in client vs $s: 20 replies"
    expect_not "$ev" ' recv n=21 ' "built-in client vs $s: no 21st reply"
    # grpc-js puts "OK" in grpc-message, grpc-go nothing: only the code is the same
    expect "$ev" ' status code=0 ' "built-in client vs $s: status"
    wait_for "$work/$s.out" '^call method=/faultline.Test/Bidi recv=20 sent=20 recv_end=1 cancelled=0 status=OK '
    stop "$s"
  done
}

# Each third-party client against the built-in server: a bidi ping-pong and a server stream.
case_c_server() {
  local cl
  for cl in node-client go-client; do
    builtin "c-echo-$cl" server "$data/c-server-echo.yaml"
    run "$cl-echo" "$bin/$cl" --target "$addr" --count 3 --deadline 20s
    [ "$rc" -eq 0 ] || fail "$cl vs built-in server: exit $rc"
    expect "$work/$cl-echo.out" '^status=OK code=0 sent=3 recv=3 ' "$cl vs built-in server"
    wait_for "$work/c-echo-$cl.out" ' done$'
    builtin_end "c-echo-$cl"
    local ev=$work/c-echo-$cl.out
    expect "$ev" ' call_start method=/faultline.Test/Bidi' "built-in server vs $cl: method"
    # the clients' Struct: seq, from, tags, nested, missing (a null)
    expect "$ev" ' recv n=3 bytes=[0-9]+ decoded=1 fields=[0-9]+ nulls=1 ' "built-in server vs $cl: third request"
    expect "$ev" ' recv_end$' "built-in server vs $cl: half-close seen"
    expect "$ev" ' status code=0 ' "built-in server vs $cl: status sent"

    builtin "c-stream-$cl" server "$data/c-server-stream.yaml"
    run "$cl-stream" "$bin/$cl" --target "$addr" --method /faultline.Test/ServerStream --deadline 20s
    expect "$work/$cl-stream.out" '^status=OK code=0 sent=1 recv=4 ' "$cl server stream from built-in server"
    wait_for "$work/c-stream-$cl.out" ' done$'
    builtin_end "c-stream-$cl"
  done
}

# CLIENT against SERVER (the Go and the Node program each way round): every method of both
# services, and the modes that change how a call ends.
matrix() {
  local cl=$1 sv=$2 tag=$1-$2
  start_server "$tag-echo" "$bin/$sv" --mode echo
  local m want
  for m in /faultline.Test/Unary:3:3 /faultline.Test/ServerStream:1:1 \
    /faultline.Test/ClientStream:3:1 /faultline.Test/Bidi:3:3 /shop.v1.Orders/Place:3:3 \
    /shop.v1.Orders/Watch:1:1 /shop.v1.Orders/Trade:3:3; do
    IFS=: read -r path s r <<<"$m"
    run "$tag-${path##*/}" "$bin/$cl" --target "$addr" --method "$path" --count 3 --deadline 20s
    [ "$rc" -eq 0 ] || fail "$cl -> $sv $path: exit $rc"
    expect "$work/$tag-${path##*/}.out" "^status=OK code=0 sent=$s recv=$r " "$cl -> $sv $path"
  done
  local so=$work/$tag-echo.out
  wait_for "$so" '^call method=/shop.v1.Orders/Trade recv=3 sent=3 recv_end=1 cancelled=0 status=OK '
  [ "$(grep -c '^call method=/shop.v1.Orders/Place recv=1 sent=1 recv_end=1 cancelled=0 status=OK ' "$so")" -eq 3 ] ||
    fail "$sv: three Place calls"
  expect "$so" '^call method=/faultline.Test/ClientStream recv=3 sent=1 recv_end=1 cancelled=0 status=OK ' "$sv client stream"

  run "$tag-cancel" "$bin/$cl" --target "$addr" --mode cancel-after:2 --count 5 --deadline 20s
  [ "$rc" -eq 3 ] || fail "$cl cancel-after:2: exit $rc"
  expect "$work/$tag-cancel.out" '^status=CANCELLED code=1 sent=2 recv=2 ' "$cl cancel-after:2"
  wait_for "$so" '^call method=/faultline.Test/Bidi recv=2 sent=2 recv_end=0 cancelled=1 status=CANCELLED '

  run "$tag-race" "$bin/$cl" --target "$addr" --mode half-close-race --count 30 --size 2000 --deadline 20s
  expect "$work/$tag-race.out" '^status=OK code=0 sent=30 recv=30 ' "$cl half-close-race"
  wait_for "$so" '^call method=/faultline.Test/Bidi recv=30 sent=30 recv_end=1 cancelled=0 status=OK '
  stop "$tag-echo"

  start_server "$tag-status" "$bin/$sv" --mode "status:NOT_FOUND:order 42 not found"
  for path in /faultline.Test/Bidi /shop.v1.Orders/Place; do
    run "$tag-status-${path##*/}" "$bin/$cl" --target "$addr" --method "$path" --deadline 20s
    [ "$rc" -eq 3 ] || fail "$cl vs status server $path: exit $rc"
    expect "$work/$tag-status-${path##*/}.out" '^status=NOT_FOUND code=5 .* message=order%2042%20not%20found$' \
      "$cl sees the server's status on $path"
  done
  wait_for "$work/$tag-status.out" '^call method=/shop.v1.Orders/Place recv=0 sent=0 .*status=NOT_FOUND code=5 message=order%2042%20not%20found$'
  stop "$tag-status"

  start_server "$tag-stream" "$bin/$sv" --mode stream:5 --size 1000
  run "$tag-stream-ss" "$bin/$cl" --target "$addr" --method /faultline.Test/ServerStream --deadline 20s
  expect "$work/$tag-stream-ss.out" '^status=OK code=0 sent=1 recv=5 ' "$cl stream:5 server stream"
  run "$tag-stream-watch" "$bin/$cl" --target "$addr" --method /shop.v1.Orders/Watch --deadline 20s
  expect "$work/$tag-stream-watch.out" '^status=OK code=0 sent=1 recv=5 ' "$cl stream:5 Watch"
  stop "$tag-stream"

  # The handler sleeps past the client's deadline: the client sees DEADLINE_EXCEEDED at its
  # deadline, the server finds the call gone when it wakes: cancelled by the client's
  # RST_STREAM or by its own deadline timer, whichever came first, or (grpc-go, once the Node
  # client closed its channel) the transport closing; the request may or may not have been
  # read before.
  start_server "$tag-sleep" "$bin/$sv" --mode sleep:1s
  run "$tag-sleep-c" "$bin/$cl" --target "$addr" --count 1 --deadline 300ms
  [ "$rc" -eq 3 ] || fail "$cl vs sleeping server: exit $rc"
  expect "$work/$tag-sleep-c.out" '^status=DEADLINE_EXCEEDED code=4 ' "$cl deadline on a sleeping server"
  wait_for "$work/$tag-sleep.out" '^call method=/faultline.Test/Bidi recv=[01] sent=0 recv_end=0 cancelled=1 status=[A-Z_]+ '
  stop "$tag-sleep"
}

case_go_client_node_server() { matrix go-client node-server; }
case_node_client_go_server() { matrix node-client go-server; }

# A server that stops reading after one message: with HTTP/2 windows of 64 KiB the built-in
# client's 200 x 16 KiB sends stall until its deadline (1 s) ends the call.
case_stop_reading() {
  local s
  for s in "go-server --window 65535" node-server; do
    local name=${s%% *}
    # shellcheck disable=SC2086
    start_server "$name" "$bin"/$s --mode stop-reading
    builtin "c-$name" client "$data/c-client-stall.yaml" "$addr"
    wait_for "$work/c-$name.out" ' done$' 20
    builtin_end "c-$name"
    local ev=$work/c-$name.out sent
    expect "$ev" ' status code=4 ' "built-in client vs $name stop-reading: DEADLINE_EXCEEDED"
    sent=$(grep -c ' sent n=' "$ev" || true)
    [ "$sent" -ge 1 ] && [ "$sent" -lt 40 ] ||
      fail "built-in client vs $name stop-reading: $sent of 200 sends completed, want a stall after a window's worth"
    expect "$ev" ' op_start op=send ' "the stalled send was started"
    wait_for "$work/$name.out" '^call method=/faultline.Test/Bidi recv=1 sent=0 recv_end=0 cancelled=1 '
    stop "$name"
  done
  # The third-party clients' bursts stall the same way against the Go server (grpc-go after a
  # window and its write quota, grpc-js after about 1 MB buffered in Node's HTTP/2 stream).
  local cl
  start_server go-stopped "$bin/go-server" --window 65535 --mode stop-reading
  for cl in go-client node-client; do
    run "$cl-stall" "$bin/$cl" --target "$addr" --mode half-close-race --count 200 --size 16384 --deadline 1s
    [ "$rc" -eq 3 ] || fail "$cl burst to a server that stopped reading: exit $rc"
    expect "$work/$cl-stall.out" '^status=DEADLINE_EXCEEDED code=4 ' "$cl burst stalls until its deadline"
    sent=$(sed -n 's/^status=.* sent=\([0-9]*\) .*/\1/p' "$work/$cl-stall.out")
    [ "$sent" -ge 1 ] && [ "$sent" -lt 200 ] || fail "$cl: $sent of 200 sends taken, want a stall"
  done
  stop go-stopped
}

# The seed's chapter 2.3 in Go: a server goroutine blocked in Send to a client that stopped
# reading. SIGQUIT makes the Go runtime print every goroutine and exit 2; the handler's
# goroutine must show the blocked Send, down to grpc-go's write-quota wait.
case_go_blocked_send_dump() {
  start_server go-blocked "$bin/go-server" --mode blocked-send --size 16384
  builtin c-reader client "$data/c-client-stop-reading.yaml" "$addr"
  wait_for "$work/c-reader.out" ' stop_reading$' 20
  wait_for "$work/go-blocked.out" '^send blocked: message [0-9]+ pending for ' 20
  local n
  n=$(sed -n 's/^send blocked: .* after \([0-9]*\) sent$/\1/p' "$work/go-blocked.out")
  [ "$n" -ge 1 ] && [ "$n" -lt 100 ] || fail "blocked after $n sends, want a window's worth"
  kill -QUIT "${pid_of[go-blocked]}"
  finish go-blocked
  [ "$rc" -eq 2 ] || fail "go-server after SIGQUIT: exit $rc, want 2 (Go's dump-and-exit)"
  local dump=$work/go-blocked.err
  expect "$dump" '^SIGQUIT: quit' "the Go runtime's dump"
  # the one goroutine that runs the handler, as a paragraph of the dump
  awk -v RS= '/main\.\(\*server\)\.blockedSend/' "$dump" >"$work/blocked-goroutine.txt"
  local g=$work/blocked-goroutine.txt
  [ -s "$g" ] || fail "no goroutine in main.(*server).blockedSend"
  expect "$g" '^goroutine [0-9]+ \[select' "the handler's goroutine waits in a select"
  expect "$g" '^google\.golang\.org/grpc/internal/transport\.\(\*writeQuota\)\.get' "blocked on the stream's write quota"
  expect "$g" '^google\.golang\.org/grpc/internal/transport\.\(\*http2Server\)\.Write' "inside the transport's Write"
  expect "$g" '^google\.golang\.org/grpc\.\(\*serverStream\)\.SendMsg' "inside SendMsg"
  expect "$g" '^main\.\(\*server\)\.blockedSend\(' "called from the handler"
  expect "$g" '/faultline/peers/server/main\.go:[0-9]+ ' "with file:line"
  # The built-in client saw the server vanish.
  wait_for "$work/c-reader.out" ' status code=14 '
  builtin_end c-reader
}

# The same against grpc-js: its writes wait for HTTP/2 (no unbounded buffering); the server
# finds the call cancelled once the client goes away.
case_node_blocked_send() {
  start_server node-blocked "$bin/node-server" --mode blocked-send --size 16384
  builtin c-reader client "$data/c-client-stop-reading.yaml" "$addr"
  wait_for "$work/node-blocked.out" '^send blocked: message [0-9]+ pending for ' 20
  local n
  n=$(sed -n 's/^send blocked: .* after \([0-9]*\) sent$/\1/p' "$work/node-blocked.out")
  [ "$n" -ge 1 ] && [ "$n" -lt 100 ] || fail "blocked after $n sends, want a window's worth"
  builtin_end c-reader
  wait_for "$work/node-blocked.out" '^call method=/faultline.Test/ServerStream recv=1 sent=[0-9]+ recv_end=[01] cancelled=1 '
  stop node-blocked
}

# A graceful stop with an open stream (Go's GracefulStop, grpc-js's tryShutdown): the built-in
# client holds its call open at a barrier, the server gets SIGTERM, and only then is the
# barrier released. The call must finish OK with every reply, and the server exit 0 only after
# it (its "call" line before "graceful-stop: done").
case_graceful_stop() {
  local s
  for s in go-server node-server; do
    start_server "$s" "$bin/$s" --mode graceful-stop
    builtin "c-$s" client "$data/c-client-graceful.yaml" "$addr"
    wait_for "$work/c-$s.out" ' wait index=2 ' 20
    kill -TERM "${pid_of[$s]}"
    wait_for "$work/$s.out" '^graceful-stop: started open=1$'
    expect_not "$work/$s.out" '^graceful-stop: done' "$s stopped with a call open"
    release "c-$s" 2
    wait_for "$work/c-$s.out" ' done$' 20
    builtin_end "c-$s"
    expect "$work/c-$s.out" ' recv n=3 ' "built-in client vs $s graceful stop: all replies"
    expect "$work/c-$s.out" ' status code=0 ' "built-in client vs $s graceful stop: OK"
    finish "$s"
    [ "$rc" -eq 0 ] || fail "$s after a graceful stop: exit $rc, want 0"
    grep -E '^(call method=|graceful-stop: done)' "$work/$s.out" >"$work/$s.order"
    [ "$(sed -n 1p "$work/$s.order")" != 'graceful-stop: done' ] &&
      [ "$(tail -n1 "$work/$s.order")" = 'graceful-stop: done' ] ||
      fail "$s: the stop finished before the open call"
    expect "$work/$s.out" '^call method=/faultline.Test/Bidi recv=3 sent=3 recv_end=1 cancelled=0 status=OK ' "$s served the call to its end"
  done
}

# A third-party client held at --pause-after by the test: the barrier the peers offer to the
# runner (a line on stdin), used here across a graceful stop from the Node client to the Go
# server.
case_client_pause() {
  start_server go-graceful "$bin/go-server" --mode graceful-stop
  spawn_held node-paused "$bin/node-client" --target "$addr" --count 4 --pause-after 1 --deadline 20s
  wait_for "$work/node-paused.out" '^paused after 1 replies$' 20
  kill -TERM "${pid_of[go-graceful]}"
  wait_for "$work/go-graceful.out" '^graceful-stop: started open=1$'
  say node-paused go
  finish node-paused
  [ "$rc" -eq 0 ] || fail "node-client across a graceful stop: exit $rc"
  expect "$work/node-paused.out" '^status=OK code=0 sent=4 recv=4 ' "node-client across a graceful stop"
  unhold node-paused
  finish go-graceful
  [ "$rc" -eq 0 ] || fail "go-server after a graceful stop: exit $rc"
  expect "$work/go-graceful.out" '^graceful-stop: done$' "go-server stopped"
}

# --- scenarios with external sides, run by `faultline run` ----------------------------------

# runner NAME: runs tests/peers/scenarios/NAME.yaml with the third-party peers on PATH (its
# exec: names them bare); it must reproduce. The run directory is $work/NAME.
runner() {
  local name=$1
  rc=0
  PATH=$bin:$PATH "$build/faultline" run --quiet --out "$work/$name" \
    "$src/tests/peers/scenarios/$name.yaml" >"$work/$name.summary" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { cat "$work/$name.summary"; fail "$name: faultline run exited $rc"; }
}

# A grpc-go server blocked in SendMsg: the hang's SIGQUIT dump shows where, and panicparse
# reads it.
case_runner_go_server_blocked_dump() {
  runner go-server-blocked-dump
  local dump
  dump=$(ls "$work/go-server-blocked-dump"/goroutines-server-*.txt 2>/dev/null | head -1)
  [ -n "$dump" ] || fail "no goroutines-server-N.txt in the run directory"
  expect "$dump" 'transport\.\(\*writeQuota\)\.get' "the goroutine dump shows the blocked Send"
  expect "$dump" 'SendMsg' "the goroutine dump shows SendMsg"
  grep -q '"go_file": "goroutines-server-' "$work/go-server-blocked-dump/report.json" ||
    fail "report.json does not list the goroutine dump"
  if command -v panicparse >/dev/null; then
    panicparse "$dump" >"$work/pp.txt" 2>&1 || true
    grep -q 'writeQuota' "$work/pp.txt" || fail "panicparse does not read the goroutine dump"
  fi
}
case_runner_half_close_race_node_server() { runner half-close-race-node-server; }
# The README's walk-through: the user's own proto, a Go server's Watch blocked in SendMsg.
case_runner_orders_watch_stall() {
  runner orders-watch-stall
  local dir=$work/orders-watch-stall dump
  dump=$(ls "$dir"/goroutines-server-*.txt 2>/dev/null | head -1)
  [ -n "$dump" ] || fail "no goroutines-server-N.txt in the run directory"
  expect "$dump" '_Orders_Watch_Handler' "the goroutine dump shows the Watch handler"
  expect "$dump" 'writeQuota' "the goroutine dump shows it waiting for flow-control quota"
  grep -q '"text": "seq: 1 order' "$dir/events.jsonl" ||
    grep -q '"text":"seq: 1 order' "$dir/events.jsonl" ||
    fail "the client's first OrderEvent is not decoded in the timeline"
}
case_runner_node_client_c_server() { runner node-client-c-server; }
case_runner_go_client_node_server_proxy() {
  runner go-client-node-server-proxy
  expect "$work/go-client-node-server-proxy/client.stderr" '^status=INTERNAL code=13 ' \
    "grpc-go reports the reset inside a message as INTERNAL"
}

fn=case_${case//-/_}
declare -F "$fn" >/dev/null || { echo "FAIL: no case $case"; exit 1; }
"$fn"
echo "ok: $case"
