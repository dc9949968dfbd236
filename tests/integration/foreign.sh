#!/usr/bin/env bash
# A method and messages of the user's own (README "Your own method and messages"): the built-in
# client calls /shop.v1.Orders/Trade on the built-in server with payloads of the shop proto
# (tests/peers/proto), and what each side received is checked against protoc's own encoding,
# byte for byte (FNV-1a 64, computed here) and as protoc decodes it.
#   usage: foreign.sh FAULTLINE PEER DATA_DIR
set -u
fl=$(realpath "$1")
peer=$(realpath "$2")
data=$(cd "$3" && pwd)
proto=$(cd "$data/../../peers/proto" && pwd)
scenario=$data/foreign-payload.yaml
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

# protoc's own bytes for the two proto payloads of the scenario.
protoc --encode=shop.v1.TradeRequest -I "$proto" "$proto/shop/v1/orders.proto" >"$tmp/request.bin" <<'EOF'
seq: 1
order { id: "o-1" customer: "ann" side: BUY lines { sku: "sku-1" quantity: 2 } }
EOF
protoc --encode=shop.v1.TradeFill -I "$proto" "$proto/shop/v1/orders.proto" >"$tmp/fill.bin" <<'EOF'
seq: 1 order_id: "o-1" fills { quantity: 2 price { currency: "EUR" units: 10 } } positions { key: "sku-1" value: 2 }
EOF
protoc --decode=shop.v1.TradeRequest -I "$proto" "$proto/shop/v1/orders.proto" \
  <"$tmp/request.bin" >"$tmp/request.txt"
[ -s "$tmp/request.bin" ] && [ -s "$tmp/fill.bin" ] || { echo "FAIL protoc made no bytes"; exit 1; }

# 1. Paths are the scenario file's: validate from elsewhere.
if (cd / && "$fl" validate "$scenario") >"$tmp/out" 2>&1; then
  ok "validate resolves the proto and the file relative to the scenario"
else
  fail "validate: $(cat "$tmp/out")"
fi

# 2. A protoc error is the scenario's, at file:line:col inside the text (a literal block).
mkdir -p "$tmp/bad"
sed 's/customer: "ann"/customer: 7/; s#\.\./\.\./peers/proto#'"$proto"'#g; s#file: not-a#file: '"$data"'/not-a#' \
  "$scenario" >"$tmp/bad/foreign-payload.yaml"
line=$(grep -n 'customer: 7' "$tmp/bad/foreign-payload.yaml" | cut -d: -f1)
col=$(($(grep 'customer: 7' "$tmp/bad/foreign-payload.yaml" | awk '{print index($0, "7")}')))
"$fl" validate "$tmp/bad/foreign-payload.yaml" >"$tmp/out" 2>&1
rc=$?
want="foreign-payload.yaml:$line:$col: payload text for shop.v1.TradeRequest: protoc: Expected string, got: 7"
if [ "$rc" -eq 2 ] && grep -qF "$want" "$tmp/out"; then
  ok "validate places protoc's error at $line:$col"
else
  fail "validate of a bad text (exit $rc, wanted 2 and '$want'): $(cat "$tmp/out")"
fi

# 3. The run, of the file as it is: its paths are relative to its own directory, and the
# peers, which read the run directory's copy, are told that directory (--base-dir).
if "$fl" run --quiet --out "$tmp/r" "$scenario" >"$tmp/out" 2>&1; then
  ok "run: reproduced"
else
  fail "run: $(cat "$tmp/out")"
fi
if python3 - "$tmp/r/events.jsonl" "$tmp/request.bin" "$tmp/fill.bin" "$tmp/request.txt" \
  "$data/not-a-trade-request.bin" <<'PY'; then
import json, re, sys
events = [json.loads(l) for l in open(sys.argv[1])]
request, fill, bad = (open(sys.argv[i], 'rb').read() for i in (2, 3, 5))
text = re.sub(r'\s*\n\s*', ' ', open(sys.argv[4]).read()).strip()

def fnv(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xffffffffffffffff
    return '%016x' % h

def one(side, name, n=None):
    found = [e for e in events if e['side'] == side and e['event'] == name and (n is None or e.get('n') == n)]
    assert len(found) == 1, (side, name, n, found)
    return found[0]

bad_ones = []
def expect(what, got, want):
    if got != want:
        bad_ones.append('%s: got %r, want %r' % (what, got, want))

for side in ('client', 'server'):
    expect(side + ' method', one(side, 'call_start')['method'], '/shop.v1.Orders/Trade')
# what the client put on the wire is protoc's encoding, and the server got exactly that
expect('client sent 1 hash', one('client', 'sent', 1)['hash'], fnv(request))
expect('client sent 1 bytes', one('client', 'sent', 1)['bytes'], len(request))
r = one('server', 'recv', 1)
expect('server recv 1 hash', r['hash'], fnv(request))
expect('server recv 1 decoded', r.get('decoded'), 1)
expect('server recv 1 text', r.get('text'), text)
expect('server recv 1 raw', r.get('raw'), None)
r = one('server', 'recv', 2)
expect('server recv 2 hash', r['hash'], fnv(bad))
expect('server recv 2 decoded', r.get('decoded'), 0)
expect('server recv 2 error', r.get('error'), 'protoc: Failed to parse input.')
expect('server recv 2 raw', r.get('raw'), bad.hex())
# no response_type: the client keeps the bytes, and claims no decoding
r = one('client', 'recv', 1)
expect('client recv 1 raw', r.get('raw'), fill.hex())
expect('client recv 1 hash', r['hash'], fnv(fill))
expect('client recv 1 decoded', r.get('decoded'), None)
expect('client recv 1 text', r.get('text'), None)
expect('client recv 2 raw', one('client', 'recv', 2).get('raw'), '0a036f2d31')
for b in bad_ones:
    print(b)
sys.exit(1 if bad_ones else 0)
PY
  ok "the server received protoc's bytes ($(wc -c <"$tmp/request.bin") B) and decoded them; the client kept raw bytes"
else
  fail "events.jsonl does not show protoc's bytes received as sent"
fi

# 4. A peer resolves relative paths against --base-dir, the directory of the file its
# --scenario is a copy of (what the runner's run directory holds).
mkdir -p "$tmp/rundir"
cp "$scenario" "$tmp/rundir/scenario.yaml"
"$peer" --side client --scenario "$tmp/rundir/scenario.yaml" --target 127.0.0.1:1 \
  --events-fd 1 --control-fd 0 </dev/null >"$tmp/events" 2>/dev/null
rc=$?
if [ "$rc" -eq 1 ] && grep -q " error message=.*cannot%20open%20'../../peers/proto" "$tmp/events"; then
  ok "peer without --base-dir: the copy's directory has no proto (exit 1, error event)"
else
  fail "peer without --base-dir: exit $rc: $(cat "$tmp/events")"
fi
"$peer" --side client --scenario "$tmp/rundir/scenario.yaml" --base-dir "$data" \
  --target 127.0.0.1:1 --events-fd 1 --control-fd 0 </dev/null >"$tmp/events" 2>/dev/null
rc=$?
if [ "$rc" -eq 0 ] && grep -q " ready" "$tmp/events" &&
  grep -q " call_start method=/shop.v1.Orders/Trade" "$tmp/events"; then
  ok "peer with --base-dir: resolved, ready, calls /shop.v1.Orders/Trade"
else
  fail "peer with --base-dir: exit $rc: $(cat "$tmp/events")"
fi

exit $((failures > 0))
