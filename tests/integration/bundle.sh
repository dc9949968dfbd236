#!/usr/bin/env bash
# Bundles (README "Bundles"): a real run of a library scenario packed with `faultline bundle`,
# its contents listed by GNU tar (another reader than ours) and checked, rerun with
# `faultline run --bundle` from another directory to the same verdict and exit code; the
# versions that differ are named; the writer never follows a link or overwrites a file; hostile
# archives are refused with a plain message and nothing is written outside.
# usage: bundle.sh FAULTLINE BUNDLE_CRAFT DATA_DIR
set -u
fl=$(realpath "$1")
craft=$(realpath "$2")
data=$(realpath "$3")
peer=$(dirname "$fl")/faultline-peer
proxy=$(dirname "$fl")/faultline-proxy
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp/tmpdir # where run --bundle unpacks: checked empty after every rerun
mkdir -p "$TMPDIR" "$tmp/elsewhere" "$tmp/cwd"

fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
ok() { echo "ok   $*"; }

check() { # check DESCRIPTION EXPECTED_EXIT PATTERN -- COMMAND...
  local what=$1 want=$2 pattern=$3
  shift 4
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, wanted $want"
    sed 's/^/    /' "$tmp/out"
  elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/out"; then
    fail "$what: output lacks /$pattern/"
    sed 's/^/    /' "$tmp/out"
  else
    ok "$what"
  fi
}

tmpdir_empty() { # after a rerun, refused or not, nothing of it is left
  if [ -n "$(ls -A "$TMPDIR")" ]; then
    fail "$1: left in TMPDIR: $(ls -A "$TMPDIR")"
    rm -rf "${TMPDIR:?}"/*
  else
    ok "$1: nothing left in TMPDIR"
  fi
}

json() { # json FILE EXPR: a value of a JSON file, with python3's strict parser
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# --- a real run of a library scenario (with the path proxy), bundled from another directory
"$fl" run --quiet --out "$tmp/reset-run" connection-reset-mid-stream >"$tmp/run.out" 2>&1
run_rc=$?
[ "$run_rc" -eq 0 ] || { fail "the library run: exit $run_rc"; cat "$tmp/run.out"; }
echo "a note of mine" >"$tmp/reset-run/notes.txt"
cd "$tmp/cwd" || exit 1
check "bundle RUNDIR -o FILE" 0 "^$tmp/b.tar.gz: 1[0-9] files, .* \(scenario connection-reset-mid-stream, verdict reproduced\)" -- \
  "$fl" bundle "$tmp/reset-run" -o "$tmp/b.tar.gz"
grep -q "left out $tmp/reset-run/notes.txt: not a file faultline writes" "$tmp/out" &&
  ok "a user's file is left out, and named" || fail "notes.txt not named as left out"

tar -tzf "$tmp/b.tar.gz" | sort >"$tmp/list"
for f in report.json report.html scenario.yaml events.jsonl samples.csv capture.pcap frames.txt \
  frames.jsonl server.stderr client.stderr proxy.stderr versions.json bundle.json; do
  grep -qx "reset-run/$f" "$tmp/list" || fail "the archive lacks reset-run/$f"
done
grep -qE 'notes.txt|\.faultline-run|\.tmp' "$tmp/list" && fail "the archive holds $(grep -E 'notes.txt|\.faultline-run|\.tmp' "$tmp/list")"
ok "GNU tar lists $(wc -l <"$tmp/list") entries, every run file and versions.json, bundle.json"
tar -tvzf "$tmp/b.tar.gz" | awk '$1 != "-rw-r--r--" || $2 != "0/0" {bad=1} END {exit bad}' &&
  ok "every entry a regular file 0644 of 0/0" || fail "entries other than 0644 regular files of 0/0"

mkdir "$tmp/x" && tar -xzf "$tmp/b.tar.gz" -C "$tmp/x"
cmp -s "$tmp/x/reset-run/capture.pcap" "$tmp/reset-run/capture.pcap" &&
  cmp -s "$tmp/x/reset-run/report.json" "$tmp/reset-run/report.json" &&
  ok "capture.pcap and report.json byte for byte" || fail "bundled files differ from the run's"
v=$tmp/x/reset-run/versions.json
[ "$(json "$v" 'd["kernel"]["release"]')" = "$(uname -r)" ] && ok "versions.json: kernel $(uname -r)" ||
  fail "versions.json kernel release"
grpc=$(json "$v" 'd["grpc_core"]')
want=$(pkg-config --modversion grpc 2>/dev/null || echo "$grpc")
[ "$grpc" = "$want" ] && [ "$grpc" != None ] && ok "versions.json: gRPC core $grpc, as pkg-config says" ||
  fail "gRPC core version '$grpc', pkg-config says '$want'"
roles=$(json "$v" '" ".join(p["role"] for p in d["programs"])')
[ "$roles" = "faultline peer proxy" ] && ok "programs: $roles" || fail "programs are '$roles'"
for p in peer proxy; do
  want=$(sha256sum "$(dirname "$fl")/faultline-$p" | cut -d' ' -f1)
  got=$(json "$v" "[p['sha256'] for p in d['programs'] if p['role']=='$p'][0]")
  [ "$got" = "$want" ] && ok "$p sha256 as sha256sum says" || fail "$p sha256 $got, sha256sum $want"
  id=$(json "$v" "[p['build_id'] for p in d['programs'] if p['role']=='$p'][0]")
  readelf -n "$(dirname "$fl")/faultline-$p" | grep -q "Build ID: $id" && ok "$p build id as readelf says" ||
    fail "$p build id $id not readelf's"
done
host=$(hostname)
if [ ${#host} -ge 4 ] && grep -rqF "$host" "$v"; then fail "versions.json holds the host name"; else ok "no host name"; fi
[ "$(json "$tmp/x/reset-run/bundle.json" 'd["run"]["verdict"]')" = reproduced ] && ok "manifest: verdict reproduced" ||
  fail "manifest verdict"
"$fl" report --format text "$tmp/x/reset-run" >/dev/null 2>&1 && ok "the unpacked bundle is a run directory faultline report renders" ||
  fail "faultline report on the unpacked bundle"

# --- never overwrite, never follow, never write into the run directory
sum=$(sha256sum <"$tmp/b.tar.gz")
check "an existing output is refused" 2 "b.tar.gz: exists; faultline never overwrites a file" -- \
  "$fl" bundle "$tmp/reset-run" -o "$tmp/b.tar.gz"
[ "$(sha256sum <"$tmp/b.tar.gz")" = "$sum" ] && ok "the existing file is untouched" || fail "the existing bundle changed"
check "default output: RUNDIR's name .tar.gz in the current directory" 0 "^reset-run.tar.gz: " -- \
  "$fl" bundle "$tmp/reset-run/"
[ -f "$tmp/cwd/reset-run.tar.gz" ] && [ ! -e "$tmp/reset-run.tar.gz" ] && ok "written in the current directory only" ||
  fail "default output not ./reset-run.tar.gz"
ls -A "$tmp/cwd" | grep -q '^\.' && fail "a temporary file is left: $(ls -A "$tmp/cwd")"
check "an output inside the run directory is refused" 2 "is inside the run directory" -- \
  "$fl" bundle "$tmp/reset-run" -o "$tmp/reset-run/b.tar.gz"
ln -s "$tmp/reset-run" "$tmp/link-run"
check "a linked run directory is refused" 2 "is a symbolic link; faultline does not follow links" -- \
  "$fl" bundle "$tmp/link-run" -o "$tmp/l.tar.gz"
cp -r "$tmp/reset-run" "$tmp/tampered-run"
rm "$tmp/tampered-run/capture.pcap"
echo secret >"$tmp/secret"
ln -s "$tmp/secret" "$tmp/tampered-run/capture.pcap"
check "a link among the run files is refused" 2 "capture.pcap: a symbolic link, not a regular file" -- \
  "$fl" bundle "$tmp/tampered-run" -o "$tmp/t.tar.gz"
[ ! -e "$tmp/t.tar.gz" ] && ok "no bundle written for it" || fail "a bundle was written for a tampered run"
check "a folder that is not a run directory" 2 "no report.json: not a faultline run directory" -- \
  "$fl" bundle "$tmp/cwd" -o "$tmp/n.tar.gz"
check "bundle --help" 0 "usage: faultline bundle \[-o FILE.tar.gz\] RUNDIR" -- "$fl" bundle --help
check "bundle without RUNDIR" 2 "which run directory" -- "$fl" bundle

# --- rerun from another directory: the same verdict and exit code, versions the same
cd "$tmp/elsewhere" || exit 1
check "run --bundle from another directory" 0 "^connection-reset-mid-stream: reproduced" -- \
  "$fl" run --bundle "$tmp/b.tar.gz" --out rerun
grep -q "^bundle $tmp/b.tar.gz: scenario connection-reset-mid-stream, run at .* by faultline .*: reproduced" "$tmp/out" &&
  ok "it says what the bundle is" || fail "no bundle header line"
grep -q "^versions: the same as the original run (faultline .*, gRPC core .*, kernel .*, programs faultline, peer, proxy)" "$tmp/out" &&
  ok "versions: the same" || { fail "versions not reported the same"; cat "$tmp/out"; }
[ "$(json rerun/report.json 'd["verdict"]')" = "$(json "$tmp/reset-run/report.json" 'd["verdict"]')" ] &&
  ok "rerun verdict = original verdict" || fail "verdicts differ"
cmp -s rerun/scenario.yaml "$tmp/reset-run/scenario.yaml" && ok "the same scenario ran" || fail "rerun scenario differs"
tmpdir_empty "rerun"

# A peer that differs (the same program with a byte appended): named with its sha256.
cp "$peer" "$tmp/peer-changed" && printf 'x' >>"$tmp/peer-changed"
FAULTLINE_PEER=$tmp/peer-changed check "run --bundle names the versions that differ" 0 \
  "^  program peer: sha256 [0-9a-f]{12} -> [0-9a-f]{12}$" -- "$fl" run --bundle "$tmp/b.tar.gz" --out rerun2
grep -q "^the same: faultline .*, gRPC core .*, kernel .*, programs faultline, proxy$" "$tmp/out" &&
  ok "and what is the same" || { fail "the same-line"; cat "$tmp/out"; }

# A run that is not reproduced reruns to not reproduced, exit 1.
mkdir -p "$tmp/fails"
"$fl" show ping-pong | tail -n +2 |
  sed 's/^name: ping-pong$/name: ping-pong-fails/; s/client.sent == 4/client.sent == 5/' >"$tmp/fails/ping-pong-fails.yaml"
"$fl" run --quiet --out "$tmp/fails-run" "$tmp/fails/ping-pong-fails.yaml" >/dev/null 2>&1
[ $? -eq 1 ] && ok "the failing run: exit 1" || fail "the failing run did not exit 1"
"$fl" bundle "$tmp/fails-run" -o "$tmp/fails.tar.gz" >/dev/null 2>&1 || fail "bundle of the failing run"
check "rerun of a not-reproduced bundle: exit 1" 1 "^ping-pong-fails: not reproduced" -- \
  "$fl" run --quiet --bundle "$tmp/fails.tar.gz" --out rerun3
tmpdir_empty "a not-reproduced rerun"

# A run with thread dumps (a dump step): the dumps are bundled in their three forms.
"$fl" run --quiet --out "$tmp/dump-run" "$data/dump-step.yaml" >/dev/null 2>&1 || fail "the dump-step run"
"$fl" bundle "$tmp/dump-run" -o "$tmp/dump.tar.gz" >/dev/null 2>&1 || fail "bundle of the dump-step run"
n=$(tar -tzf "$tmp/dump.tar.gz" | grep -cE '^dump-run/threads-(server|client)-1\.(txt|go\.txt|pb\.gz)$')
[ "$n" -eq 6 ] && ok "thread dumps bundled: 6 files" || fail "thread dumps bundled: $n of 6"

# --- files the scenario refers to: a .proto that imports another, a payload file; bundled,
# and found inside the unpacked tree when the originals are gone
src=$tmp/src
mkdir -p "$src/scenarios/x" "$src/protos/demo/v1" "$src/protos/demo/common"
cat >"$src/protos/demo/common/common.proto" <<'EOF'
syntax = "proto3";
package demo.common;
message Count { int32 n = 1; }
EOF
cat >"$src/protos/demo/v1/svc.proto" <<'EOF'
syntax = "proto3";
package demo.v1;
import "demo/common/common.proto";
message Req { string id = 1; demo.common.Count count = 2; }
service Svc { rpc Call(stream Req) returns (stream Req); }
EOF
echo 'id: "from-file" count { n: 7 }' |
  protoc --encode=demo.v1.Req -I "$src/protos" "$src/protos/demo/v1/svc.proto" >"$src/scenarios/x/req.bin"
cat >"$src/scenarios/x/refs-demo.yaml" <<'EOF'
name: refs-demo
summary: A payload of a .proto that imports another, and a payload file, bundled and rerun.
method: /demo.v1.Svc/Call
rpc: bidi
capture: { pcap: false }
decode:
  proto: ../../protos/demo/v1/svc.proto
  import_paths: [../../protos]
  request_type: demo.v1.Req
server:
  script:
    - recv: 2
    - send: { payload: { hex: "0a 01 78" } }
client:
  script:
    - send:
        payload:
          proto: ../../protos/demo/v1/svc.proto
          import_paths: [../../protos]
          type: demo.v1.Req
          text: 'id: "x" count { n: 3 }'
    - send: { payload: { file: req.bin } }
    - close_send
    - recv: all
expect:
  - server.recv == 2
  - server.decode_errors == 0
  - client.status == OK
EOF
cd "$tmp/cwd" || exit 1
"$fl" run --quiet --out "$tmp/refs-run" "$src/scenarios/x/refs-demo.yaml" >"$tmp/out" 2>&1 ||
  { fail "the run with referenced files"; cat "$tmp/out"; }
check "bundle a run whose scenario refers to files" 0 "refs.tar.gz: .* \(scenario refs-demo, verdict reproduced\)" -- \
  "$fl" bundle "$tmp/refs-run" -o "$tmp/refs.tar.gz"
tar -tzf "$tmp/refs.tar.gz" | sort >"$tmp/list"
for f in files/scenarios/x/scenario.yaml files/scenarios/x/req.bin files/protos/demo/v1/svc.proto \
  files/protos/demo/common/common.proto; do
  grep -qx "refs-run/$f" "$tmp/list" && ok "bundled: $f" || fail "the archive lacks refs-run/$f"
done
mv "$src" "$tmp/src-gone" # the rerun may use only what the bundle holds
cd "$tmp/elsewhere" || exit 1
check "rerun with the originals gone: the same verdict" 0 "^refs-demo: reproduced" -- \
  "$fl" run --bundle "$tmp/refs.tar.gz" --out refs-rerun
[ "$(json refs-rerun/report.json '[e["seen"] for e in d["expectations"] if e["clause"].startswith("server.decode_errors")][0]')" = 0 ] &&
  ok "both payloads decoded with the bundled protos" || fail "decode errors in the rerun"
tmpdir_empty "rerun with referenced files"
mv "$tmp/src-gone" "$src"
cp -r "$tmp/refs-run" "$tmp/refs-run-abs"
sed -i "s|proto: ../../protos/demo/v1/svc.proto|proto: $src/protos/demo/v1/svc.proto|" "$tmp/refs-run-abs/scenario.yaml"
check "an absolute referenced path is refused, at its line and column" 2 \
  "refs-demo.yaml:[0-9]+:[0-9]+: decode.proto '$src/protos/demo/v1/svc.proto' is an absolute path" -- \
  "$fl" bundle "$tmp/refs-run-abs" -o "$tmp/abs.tar.gz"

# --- hostile archives: refused, plainly, and nothing written outside
cd "$tmp/elsewhere" || exit 1
hostile() { # hostile KIND PATTERN [ARG]
  local kind=$1 pattern=$2
  "$craft" "$kind" "$tmp/h-$kind.tar.gz" "${3:-}" || { fail "bundle_craft $kind"; return; }
  check "hostile ($kind) refused" 2 "$pattern" -- "$fl" run --bundle "$tmp/h-$kind.tar.gz" --out "h-$kind"
  [ ! -e "h-$kind" ] && ok "hostile ($kind): no run directory" || fail "hostile ($kind) made a run directory"
  tmpdir_empty "hostile ($kind)"
}
hostile dotdot "refused: 'b/\.\./\.\./escaped' climbs out of the bundle with '\.\.'" escaped
[ ! -e "$tmp/escaped" ] && [ ! -e "$tmp/tmpdir/escaped" ] && ok "nothing escaped with .." || fail "a file escaped with .."
hostile absolute "refused: '$tmp/abs-escaped' is an absolute path; a bundle's entries are relative" "$tmp/abs-escaped"
[ ! -e "$tmp/abs-escaped" ] && ok "nothing written at the absolute path" || fail "a file was written at the absolute path"
hostile symlink "refused: 'b/link' is a symbolic link \(to '$tmp/secret-dir'\); a bundle holds regular files and folders only" "$tmp/secret-dir"
[ ! -e "$tmp/secret-dir" ] && ok "nothing written through the link" || fail "written through the link"
hostile hardlink "refused: 'b/h' is a hard link \(to '/etc/passwd'\)" /etc/passwd
hostile fifo "refused: 'b/fifo' is a fifo"
hostile twotops "refused: 'b/y' is outside the bundle's folder 'a'"
hostile twice "refused: 'b/x' appears twice"
hostile fileasdir "refused: 'b/x/y' is under 'b/x', which is a file"
hostile huge "refused: 'b/capture.pcap' is 5368709120 bytes, more than the 1 GiB a bundled file may hold"
printf 'not an archive at all\n' >"$tmp/plain.tar.gz"
check "not an archive" 2 "plain.tar.gz: not a faultline bundle" -- "$fl" run --bundle "$tmp/plain.tar.gz"
tmpdir_empty "not an archive"
check "no such bundle" 2 "absent.tar.gz: cannot open: No such file" -- "$fl" run --bundle "$tmp/absent.tar.gz"
check "--bundle with a NAME too" 2 "give no NAME" -- "$fl" run --bundle "$tmp/b.tar.gz" ping-pong

# Tampered: a file changed after bundling, a file added; and a tar without a manifest.
mkdir -p "$tmp/t1" && tar -xzf "$tmp/b.tar.gz" -C "$tmp/t1"
echo '{}' >"$tmp/t1/reset-run/report.json"
tar -czf "$tmp/changed.tar.gz" -C "$tmp/t1" reset-run
check "a changed file is refused" 2 "refused: 'reset-run/report.json' does not match bundle.json" -- \
  "$fl" run --bundle "$tmp/changed.tar.gz"
mkdir -p "$tmp/t2" && tar -xzf "$tmp/b.tar.gz" -C "$tmp/t2"
echo extra >"$tmp/t2/reset-run/extra.txt"
tar -czf "$tmp/added.tar.gz" -C "$tmp/t2" reset-run
check "an added file is refused" 2 "refused: 'reset-run/extra.txt' is not listed in bundle.json" -- \
  "$fl" run --bundle "$tmp/added.tar.gz"
rm "$tmp/t2/reset-run/bundle.json" "$tmp/t2/reset-run/extra.txt"
tar -czf "$tmp/nomanifest.tar.gz" -C "$tmp/t2" reset-run
check "no manifest is refused" 2 "refused: no reset-run/bundle.json: not a faultline bundle" -- \
  "$fl" run --bundle "$tmp/nomanifest.tar.gz"
tmpdir_empty "tampered bundles"

echo "$failures failed"
[ "$failures" -eq 0 ]
