#!/usr/bin/env bash
# Makes the wire fuzz targets' seed corpora in tests/fuzz/seeds/wire_* from real captures:
# small library scenarios are run (faultline run, which needs CAP_NET_RAW) and each
# capture.pcap is kept for wire_pcap, each end's TCP byte stream for wire_frames (first byte 0:
# the client's, 1: the server's) and each end's header blocks for wire_hpack. wire_tcp's seeds
# are written out by hand. The bundle target's: a bundle of a small run (gzip'd), and the same
# cut down to its manifest, scenario and versions as plain tar, which the mutator can change
# without breaking gzip's checksum. The seeds are committed, so ci/fuzz needs no capture.
#   usage: tests/fuzz/seeds.sh [BUILD]      (default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
out=tests/fuzz/seeds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out"/wire_{pcap,frames,hpack,tcp} "$out"/bundle
for name in empty-stream status-code-and-message abrupt-shutdown-with-open-stream \
  malformed-payload null-values-in-struct cancel-vs-deadline graceful-shutdown-with-deadline; do
  "$build/faultline" run --quiet --out "$tmp/$name" "$name" >/dev/null
  cp "$tmp/$name/capture.pcap" "$out/wire_pcap/$name.pcap"
done
python3 - "$out" <<'PY'
import os, struct, sys
out = sys.argv[1]
def packets(path):
    b = open(path, 'rb').read()
    magic = struct.unpack('<I', b[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off = 24
    while off + 16 <= len(b):
        _, _, incl, _ = struct.unpack(e + 'IIII', b[off:off + 16])
        yield b[off + 16:off + 16 + incl]
        off += 16 + incl
def streams(path):
    s, first = {}, None
    for p in packets(path):
        ip = p[14:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6: continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        sport, dport, seq = struct.unpack('>HHI', tcp[:8])
        flags = tcp[13]
        data = tcp[(tcp[12] >> 4) * 4:]
        k = (sport, dport)
        d = s.setdefault(k, {'next': None, 'bytes': b''})
        if flags & 2: d['next'] = seq + 1; continue
        if d['next'] is None: d['next'] = seq
        if data and seq == d['next']:
            d['bytes'] += data; d['next'] += len(data)
    return s
def blocks(stream):
    i, out, cur = 0, [], b''
    if stream.startswith(b'PRI * HTTP/2.0'): i = 24
    while i + 9 <= len(stream):
        n = int.from_bytes(stream[i:i + 3], 'big'); t, f = stream[i + 3], stream[i + 4]
        pl = stream[i + 9:i + 9 + n]
        if t in (1, 9):
            if t == 1:
                if f & 8: pl = pl[1:len(pl) - pl[0]]
                if f & 0x20: pl = pl[5:]
            cur += pl
            if f & 4: out.append(cur); cur = b''
        i += 9 + n
    return out
for f in sorted(os.listdir(out + '/wire_pcap')):
    name = f[:-5]
    s = streams(out + '/wire_pcap/' + f)
    for (sp, dp), d in s.items():
        b = d['bytes']
        if not b: continue
        side = 0 if b.startswith(b'PRI * HTTP/2.0') else 1
        who = 'client' if side == 0 else 'server'
        open(f'{out}/wire_frames/{name}-{who}', 'wb').write(bytes([side]) + b)
        rec = b''.join(b'\0' + len(x).to_bytes(2, 'big') + x for x in blocks(b))
        if rec: open(f'{out}/wire_hpack/{name}-{who}', 'wb').write(rec)
def ops(*o):
    return b''.join(bytes([k]) + off.to_bytes(2, 'big') + ln.to_bytes(2, 'big') +
                    kept.to_bytes(2, 'big') + bytes([fl]) for k, off, ln, kept, fl in o)
isn = (0xfffffff0).to_bytes(4, 'big')  # wraps at once
open(f'{out}/wire_tcp/in-order', 'wb').write(isn + ops((0, 0, 0, 0, 1), (0, 0, 100, 100, 0), (0, 100, 50, 50, 0)))
open(f'{out}/wire_tcp/reordered', 'wb').write(isn + ops((0, 0, 0, 0, 1), (0, 200, 100, 100, 0), (0, 0, 100, 100, 0), (0, 100, 100, 100, 0)))
open(f'{out}/wire_tcp/overlap-cut-ack', 'wb').write(isn + ops((0, 0, 0, 0, 1), (0, 0, 300, 40, 0), (0, 250, 100, 100, 0), (1, 600, 0, 0, 0), (0, 500, 200, 200, 0), (2, 0, 0, 0, 0)))
PY
# bundle: the run's folder is named b to keep the names short
"$build/faultline" run --quiet --out "$tmp/b" empty-stream >/dev/null
"$build/faultline" bundle -o "$out/bundle/empty-stream.tar.gz" "$tmp/b" >/dev/null
mkdir "$tmp/small" && tar -xzf "$out/bundle/empty-stream.tar.gz" -C "$tmp/small"
python3 - "$tmp/small/b" <<'PY'
import json, os, sys
top = sys.argv[1]
keep = {'scenario.yaml', 'versions.json'}
m = json.load(open(top + '/bundle.json'))
m['files'] = [f for f in m['files'] if f['name'] in keep]
for f in os.listdir(top):
    if f not in keep and f != 'bundle.json': os.remove(top + '/' + f)
json.dump(m, open(top + '/bundle.json', 'w'), indent=2)
PY
tar --format=pax --owner=0 --group=0 --numeric-owner -cf "$out/bundle/small.tar" -C "$tmp/small" \
  b/scenario.yaml b/versions.json b/bundle.json
ls "$out"/* | head -40
du -sh "$out"
