#!/usr/bin/env bash
# The browser suite: real runs of several scenarios, then their report.html opened in headless
# Chromium by check.mjs. Screenshots land in BUILD/screenshots/NAME.png (CI keeps them as
# artifacts). Exits 77 (meson: SKIP) only when Chromium is not there and cannot be installed.
#   usage: run.sh FAULTLINE SOURCE_ROOT BUILD_DIR
set -u
fl=$1
src=$2
build=$3
chromium=/usr/bin/chromium

# Debian's chromium: ci/bootstrap installs it; a developer's machine gets it here if we may.
if [ ! -x "$chromium" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "browser: installing Debian's chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=900 \
    --no-install-recommends chromium >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=900 \
        --no-install-recommends chromium >/dev/null 2>&1; }
fi
if [ ! -x "$chromium" ]; then
  echo "browser: SKIP: $chromium is missing and cannot be installed (apt-get install chromium)"
  exit 77
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser: node and npm are missing (ci/bootstrap installs nodejs and npm)"
  exit 1
fi

# playwright-core, exactly as package-lock.json pins it, in the build directory (the source
# tree stays clean). It drives the system Chromium: no browser is downloaded.
npmdir=$build/npm
mkdir -p "$npmdir"
if ! cmp -s "$src/tests/browser/package-lock.json" "$npmdir/package-lock.json" ||
  [ ! -f "$npmdir/node_modules/playwright-core/package.json" ]; then
  cp "$src/tests/browser/package.json" "$src/tests/browser/package-lock.json" "$npmdir/"
  if ! (cd "$npmdir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
    --ignore-scripts --loglevel=error >npm.log 2>&1); then
    echo "browser: npm ci failed:"; sed 's/^/    /' "$npmdir/npm.log"
    rm -f "$npmdir/package-lock.json"
    exit 1
  fi
fi
cp "$src/tests/browser/check.mjs" "$npmdir/"

# The runs: small and large timelines, a hang with thread dumps, memory growth, a status
# message of markup, windows that reach 0 (on one connection; on both legs of a proxied run),
# a run without a capture (its windows section says why).
runs=$build/runs
rm -rf "$runs"
mkdir -p "$runs"
dirs=()
for s in ping-pong cancel-vs-deadline \
  "$src/tests/integration/data/hang-is-detected.yaml" \
  unread-stream-memory-growth concurrent-streams \
  "$src/tests/browser/data/hostile-text.yaml" \
  send-blocked-reader-stopped window-update-withheld \
  "$src/tests/integration/data/small-evidence.yaml"; do
  name=$(basename "$s" .yaml)
  if ! "$fl" run --quiet --out "$runs/$name" "$s" >"$runs/$name.out" 2>&1; then
    echo "FAIL faultline run $name:"; sed 's/^/    /' "$runs/$name.out"
    exit 1
  fi
  dirs+=("$runs/$name")
done

cd "$npmdir" && exec node check.mjs "$chromium" "$build/screenshots" "${dirs[@]}"
