#!/usr/bin/env bash
# A full disk never passes for evidence: a run whose files cannot be written ends with verdict
# `error` naming the file and the reason, leaves no half report.json, and an earlier run it
# was to replace is kept. As root, on a small tmpfs mounted for the test (77: SKIP otherwise).
# usage: fulldisk.sh FAULTLINE DATA
set -u
fl=$(realpath "$1")
data=$(realpath "$2")
if [ "$(id -u)" -ne 0 ]; then
  echo "skip: mounting a tmpfs needs root"
  exit 77
fi
mnt=$(mktemp -d /tmp/faultline-fulldisk-XXXXXX)
out=$(mktemp)
mounted=no
cleanup() {
  [ $mounted = yes ] && umount "$mnt"
  rmdir "$mnt"
  rm -f "$out"
}
trap cleanup EXIT
mount_tmpfs() { # mount_tmpfs BYTES
  [ $mounted = yes ] && umount "$mnt"
  mounted=no
  mount -t tmpfs -o "size=$1,mode=0755" faultline-fulldisk "$mnt" || {
    echo "skip: cannot mount a tmpfs here"
    exit 77
  }
  mounted=yes
}
failures=0
ok() { echo "ok   $1"; }
bad() {
  echo "FAIL $1"
  sed 's/^/    /' "$out" | head -20
  failures=$((failures + 1))
}
scenario=$data/small-evidence.yaml
page=4096

# 1. How many pages a run's files take besides report.json (and report.html, rendered from it
# after it), on a roomy tmpfs.
mount_tmpfs 8m
"$fl" run --quiet --out "$mnt/probe" "$scenario" >"$out" 2>&1 || bad "the probe run failed"
pages=0
for f in "$mnt/probe"/* "$mnt/probe"/.faultline-run; do
  case $(basename "$f") in report.json | report.html) continue ;; esac
  size=$(stat -c %s "$f")
  pages=$((pages + (size + page - 1) / page))
done
report_pages=$(( ($(stat -c %s "$mnt/probe/report.json") + page - 1) / page ))
echo "a run takes $pages pages besides report.json ($report_pages pages)"

# 2. A file system a page short of that room: whatever else fails, report.json cannot be
# written (a run that takes a page more or less than the probe does not change that).
mount_tmpfs $(((pages - 1) * page))
"$fl" run --out "$mnt/r" "$scenario" >"$out" 2>&1
rc=$?
if [ $rc -eq 3 ] && grep -q "^small-evidence: error" "$out" &&
  grep -q "report.json (No space left on device)" "$out"; then
  ok "report.json on a full disk: verdict error, exit 3, naming the file and the reason"
else
  bad "report.json on a full disk: exit $rc"
fi
if [ -e "$mnt/r/report.json" ] || [ -e "$mnt/r/.report.json.staging" ]; then
  bad "a half report.json or its staging directory was left: $(ls -A "$mnt/r")"
else
  ok "no half report.json is left"
fi

# 3. No room at all: the run directory itself cannot be made; said plainly, nothing left.
mount_tmpfs $((pages * page))
fallocate -l $((pages * page)) "$mnt/fill" 2>/dev/null ||
  dd if=/dev/zero of="$mnt/fill" bs=$page 2>/dev/null
"$fl" run --out "$mnt/none" "$scenario" >"$out" 2>&1
rc=$?
if [ $rc -eq 3 ] && grep -q "No space left on device" "$out" && [ ! -e "$mnt/none" ]; then
  ok "a full disk before the run: exit 3, the reason, no directory left"
else
  bad "a full disk before the run: exit $rc, left: $(ls -A "$mnt")"
fi

# 4. An earlier run to be replaced on a disk that fills up is kept, and the summary says where.
mount_tmpfs 8m
"$fl" run --quiet --out "$mnt/old" "$scenario" >"$out" 2>&1 || bad "the earlier run failed"
cp "$mnt/old/scenario.yaml" "$mnt/old-scenario.copy"
free=$(stat -f -c %a "$mnt")
fallocate -l $(((free - 1) * page)) "$mnt/fill" || bad "cannot fill the tmpfs"
"$fl" run --out "$mnt/old" "$mnt/old/scenario.yaml" >"$out" 2>&1
rc=$?
kept=$(ls -d "$mnt"/.old.faultline-old-* 2>/dev/null | head -1)
if [ $rc -eq 3 ] && [ -n "$kept" ] && grep -q "the earlier run directory is kept as .*\.old\.faultline-old-" "$out" &&
  cmp -s "$kept/scenario.yaml" "$mnt/old-scenario.copy" && [ -s "$kept/report.json" ]; then
  ok "the earlier run is kept whole when the new one cannot be written"
else
  bad "replacing on a full disk: exit $rc, kept '$kept'"
fi

echo "$failures failed"
[ "$failures" -eq 0 ]
