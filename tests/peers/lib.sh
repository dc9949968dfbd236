# Helpers for the interop suite (sourced by interop.sh): build the third-party peers once, start
# processes in their own process groups, wait for the lines they print, drive the built-in
# faultline-peer by hand, and always clean up.
#
# Every wait is for an observed line and has a deadline; nothing orders a race with a sleep.
# Logs of a case stay in $work (under the build tree) for a failing test to show.

# peers_build SRC BUILD: sets $bin to the directory of go-server, go-client, node-server and
# node-client, building them with ci/peers (once: later calls find them up to date). Exits 77
# (meson SKIP) when ci/peers says the prerequisites cannot be had here.
peers_build() {
  local out rc=0
  out=$("$1/ci/peers" "$2/peers") || rc=$?
  if [ $rc -eq 77 ]; then
    echo "SKIP: the third-party peers cannot be built here (ci/peers exit 77, reason above)"
    exit 77
  fi
  [ $rc -eq 0 ] || { echo "FAIL: ci/peers exit $rc"; exit 1; }
  bin=$(printf '%s\n' "$out" | tail -n1)
}

pids=()
declare -A ctl_fd=() pid_of=()

cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM -- "-$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    # a process that ignores SIGTERM (a stuck graceful stop) must not outlive the test
    timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL -- "-$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  local f
  for f in "$work"/*; do
    [ -f "$f" ] && [ -s "$f" ] || continue
    echo "---- ${f#"$work"/}"
    tail -n 40 "$f"
  done
  exit 1
}

# wait_for FILE ERE [SECONDS]: until a line of FILE matches, or fail. Every process the suite
# starts prints its state as lines; this is how the suite learns of it.
wait_for() {
  local file=$1 re=$2 limit=${3:-10}
  local end=$((SECONDS + limit))
  until grep -Eq -- "$re" "$file" 2>/dev/null; do
    [ $SECONDS -lt $end ] || fail "no line matching '$re' in ${file#"$work"/} within ${limit}s"
    sleep 0.02
  done
}

# expect FILE ERE WHAT: FILE has a line matching ERE.
expect() {
  grep -Eq -- "$2" "$1" || fail "$3: no line matching '$2' in ${1#"$work"/}"
}

# expect_not FILE ERE WHAT
expect_not() {
  if grep -Eq -- "$2" "$1"; then fail "$3: unexpected line matching '$2' in ${1#"$work"/}"; fi
}

# spawn NAME CMD...: runs CMD in its own process group (so cleanup ends it and its children)
# with stdout in $work/NAME.out and stderr in $work/NAME.err; stdin from $work/NAME.in when
# that fifo exists, else /dev/null. Sets pid_of[NAME].
spawn() {
  local name=$1
  shift
  local in=/dev/null
  [ -p "$work/$name.in" ] && in=$work/$name.in
  setsid "$@" <"$in" >"$work/$name.out" 2>"$work/$name.err" &
  pid_of[$name]=$!
  pids+=($!)
}

# start_server NAME PROG ARGS...: a third-party server on a free port; waits for its ready line
# "listening on 127.0.0.1:PORT" and sets $addr.
start_server() {
  local name=$1
  shift
  spawn "$name" "$@" --port 0
  local end=$((SECONDS + 20))
  until grep -q '^listening on ' "$work/$name.out" 2>/dev/null; do
    kill -0 "${pid_of[$name]}" 2>/dev/null || fail "$name exited before it was ready"
    [ $SECONDS -lt $end ] || fail "$name not ready within 20s"
    sleep 0.02
  done
  addr=$(sed -n 's/^listening on //p' "$work/$name.out")
}

# spawn_held NAME CMD...: spawn with stdin from a pipe this shell holds open: `say NAME LINE`
# writes to it, `unhold NAME` closes it (the built-in peer's control pipe; a client's
# --pause-after barrier).
spawn_held() {
  local name=$1
  mkfifo "$work/$name.in"
  spawn "$@"
  local fd
  exec {fd}>"$work/$name.in" # opens once the child has opened its end
  ctl_fd[$name]=$fd
}
say() { echo "$2" >&"${ctl_fd[$1]}"; }
unhold() {
  local fd=${ctl_fd[$1]}
  exec {fd}>&-
}

# builtin NAME SIDE SCENARIO [TARGET]: the built-in faultline-peer driven by hand: events in
# $work/NAME.out (one line each, harness/observe/event.h), control pipe held by this shell
# (release NAME INDEX sends "go INDEX" for the script's `wait` step INDEX; builtin_end closes
# it). A server's address lands in $addr once it reports `ready port=N`.
builtin() {
  local name=$1 side=$2 scenario=$3 target=${4:-}
  local args=(--side "$side" --scenario "$scenario" --events-fd 1 --control-fd 0)
  [ -n "$target" ] && args+=(--target "$target")
  spawn_held "$name" "$peer" "${args[@]}"
  if [ "$side" = server ]; then
    wait_for "$work/$name.out" ' ready port=[0-9]+' 20
    addr=127.0.0.1:$(sed -n 's/.* ready port=\([0-9]*\).*/\1/p' "$work/$name.out")
  fi
}

release() { say "$1" "go $2"; }

# builtin_end NAME: closes the control pipe (the peer exits) and checks it exited 0.
builtin_end() {
  local name=$1 rc=0
  unhold "$name"
  wait "${pid_of[$name]}" || rc=$?
  [ $rc -eq 0 ] || fail "$name (faultline-peer) exit status $rc"
}

# finish NAME: waits for NAME to exit (its own deadline bounds it) and sets $rc.
finish() {
  rc=0
  wait "${pid_of[$1]}" || rc=$?
}

# stop NAME: ends a server that is still running (SIGTERM to its group) and reaps it.
stop() {
  kill -TERM -- "-${pid_of[$1]}" 2>/dev/null || true
  wait "${pid_of[$1]}" 2>/dev/null || true
}
