'use strict';
// What node-server and node-client share: the protos, the methods both know (their streaming
// shape and how their messages are made), status code names, the --mode syntax, command-line
// flags and the encoding of values on output lines. The Go peers (tests/peers/go/peerlib)
// keep the same conventions.

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// ci/peers copies proto/faultline.proto and shop/v1/orders.proto beside this file;
// google/protobuf/struct.proto comes with protobufjs.
const definition = protoLoader.loadSync(['faultline.proto', 'shop/v1/orders.proto'], {
  includeDirs: [path.join(__dirname, 'proto')],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const loaded = grpc.loadPackageDefinition(definition);
const services = { 'faultline.Test': loaded.faultline.Test, 'shop.v1.Orders': loaded.shop.v1.Orders };

// The canonical status names (grpc/status.h, the gRPC spec), by number.
const CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED',
  'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

function codeName(code) {
  return CODE_NAMES[code] !== undefined ? CODE_NAMES[code] : String(code);
}

function parseCode(s) {
  const i = CODE_NAMES.indexOf(String(s).toUpperCase());
  if (i >= 0) return i;
  if (/^[0-9]+$/.test(s)) return Number(s);
  throw new Error(`unknown status code "${s}" (a name such as NOT_FOUND, or a number)`);
}

// Percent-encodes a value for an output line as faultline's event lines do
// (harness/observe/event.h): every byte outside 0x21..0x7e, and '%' and '=', becomes %XX.
function enc(s) {
  let out = '';
  for (const b of Buffer.from(String(s), 'utf8')) {
    if (b < 0x21 || b > 0x7e || b === 0x25 || b === 0x3d) {
      out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
    } else {
      out += String.fromCharCode(b);
    }
  }
  return out;
}

// "stream:5", "stream 5", "status:NOT_FOUND:no such order": the first ':' or ' ' after the
// name is the separator, and the last argument takes the rest of the text.
function parseMode(spec, known) {
  const m = /[: ]/.exec(spec);
  const name = m ? spec.slice(0, m.index) : spec;
  if (!(name in known)) {
    throw new Error(`unknown mode "${name}" (known: ${Object.keys(known).sort().join(', ')})`);
  }
  const nargs = known[name];
  let args = [];
  if (nargs > 0 && m) {
    const rest = spec.slice(m.index + 1);
    const sep = m[0];
    const parts = rest.split(sep);
    args = parts.slice(0, nargs - 1).concat(parts.length >= nargs ? [parts.slice(nargs - 1).join(sep)] : []);
  }
  if (args.length !== nargs) {
    throw new Error(`mode "${name}" takes ${nargs} argument(s), got ${args.length} in "${spec}"`);
  }
  return { name, args };
}

// Go-style durations: 500ms, 2s, 1.5s, 1m, 100us, 10ns. Returns milliseconds.
function parseDuration(s) {
  const units = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  const m = /^([0-9]+(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`"${s}" is not a duration (e.g. 500ms, 2s)`);
  return Number(m[1]) * units[m[2]];
}

// --flag value and --flag=value; `spec` maps each flag to its default (a string or number;
// the type of the default is the flag's type). Unknown flags and stray arguments are errors.
function parseFlags(argv, spec) {
  const opts = Object.assign({}, spec);
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '-h' || a === '--help') return null;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    a = a.slice(2);
    let v;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (!(a in spec)) throw new Error(`unknown flag --${a}`);
    if (v === undefined) {
      if (i + 1 >= argv.length) throw new Error(`--${a} needs a value`);
      v = argv[++i];
    }
    if (typeof spec[a] === 'number') {
      if (!/^[0-9]+$/.test(v)) throw new Error(`--${a}: "${v}" is not a number`);
      opts[a] = Number(v);
    } else {
      opts[a] = v;
    }
  }
  return opts;
}

function pad(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 0x61 + (i % 26);
  return b;
}

// google.protobuf.Struct in proto-loader's object form, from a plain JS value.
function value(v) {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
  return { structValue: struct(v) };
}
function struct(obj) {
  const fields = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = value(v);
  return { fields };
}

// faultline.Test: the server echoes each Message as it came; the messages it makes up carry
// their number. Field values mirror the Go peers' (tests/peers/go/peerlib/messages.go).
const testKind = {
  request: (seq, size) => ({
    seq: String(seq),
    // The seed's dynamic map payloads: typed values, a nested map, a list and a null.
    data: struct({ seq, from: 'node-client', tags: ['a', 'b', 3], nested: { ok: true, empty: {} }, missing: null }),
    padding: pad(size),
  }),
  echo: (req) => req,
  make: (req, seq, size) => ({ seq: String(seq), data: struct({ reply: seq, from: 'node-server' }), padding: pad(size) }),
};

function order(seq, size, from) {
  return {
    id: `o-${seq}`,
    customer: 'acme',
    side: 'BUY',
    state: 'OPEN',
    lines: [
      { sku: 'sku-1', quantity: 2, unit_price: { currency: 'EUR', units: '9', nanos: 500000000 } },
      { sku: 'sku-2', quantity: 1, unit_price: { currency: 'EUR', units: '20' } },
    ],
    labels: { channel: from, seq: String(seq) },
    total: { currency: 'EUR', units: '39' },
    note: pad(size),
  };
}

function watchEvent(req, seq, size) {
  const o = order(seq, size, 'node-server');
  if (req && req.customer) o.customer = req.customer;
  o.state = 'FILLED';
  return { seq: String(seq), order: o, previous: 'OPEN' };
}

function fill(seq, o) {
  const f = { seq: String(seq), order_id: o.id || '', fills: [], positions: {} };
  for (const l of o.lines || []) {
    f.fills.push({ quantity: l.quantity || 0, price: l.unit_price });
    const q = (l.quantity || 0) * (o.side === 'SELL' ? -1 : 1);
    f.positions[l.sku] = String(Number(f.positions[l.sku] || 0) + q);
  }
  return f;
}

const kinds = {
  test: testKind,
  place: {
    request: (seq, size) => order(seq, size, 'node-client'),
    echo: (req) => ({ order_id: req.id || '', state: 'OPEN' }),
    make: (req, seq) => ({ order_id: `o-${seq}`, state: 'OPEN' }),
  },
  watch: {
    request: () => ({ customer: 'acme', states: ['OPEN', 'FILLED'] }),
    echo: (req, n) => watchEvent(req, n, 0),
    make: watchEvent,
  },
  trade: {
    request: (seq, size) => ({ seq: String(seq), order: order(seq, size, 'node-client') }),
    echo: (req) => fill(req.seq || '0', req.order || {}),
    make: (req, seq, size) => fill(String(seq), order(seq, size, 'node-server')),
  },
};

// Every method the peers serve and call: path -> { service, name, shape, kind }.
const methods = {};
for (const [path, service, name, shape, kind] of [
  ['/faultline.Test/Unary', 'faultline.Test', 'Unary', 'unary', kinds.test],
  ['/faultline.Test/ServerStream', 'faultline.Test', 'ServerStream', 'server_stream', kinds.test],
  ['/faultline.Test/ClientStream', 'faultline.Test', 'ClientStream', 'client_stream', kinds.test],
  ['/faultline.Test/Bidi', 'faultline.Test', 'Bidi', 'bidi', kinds.test],
  ['/shop.v1.Orders/Place', 'shop.v1.Orders', 'Place', 'unary', kinds.place],
  ['/shop.v1.Orders/Watch', 'shop.v1.Orders', 'Watch', 'server_stream', kinds.watch],
  ['/shop.v1.Orders/Trade', 'shop.v1.Orders', 'Trade', 'bidi', kinds.trade],
]) {
  methods[path] = { path, service, name, shape, ...kind };
}

// Reads an object-mode Readable one message at a time: next() resolves to the next message or
// null at the end of the stream, and rejects with what fail(err) was given (the call was
// cancelled or ended with a status). Reading stays on demand: once the Readable's buffer is
// full, grpc-js stops reading from HTTP/2 and the peer's sends stall in its windows.
function reader(stream) {
  let ended = false;
  let failed = null;
  let wake = null;
  const poke = () => {
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  stream.on('readable', poke);
  stream.on('end', () => {
    ended = true;
    poke();
  });
  return {
    get ended() {
      return ended;
    },
    fail(err) {
      if (!failed) failed = err;
      poke();
    },
    async next() {
      for (;;) {
        const msg = stream.read();
        if (msg !== null) return msg;
        if (ended) return null;
        if (failed) throw failed;
        await new Promise((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

// A write that resolves once grpc-js has taken the message (its write callback), or rejects
// when abort(err) is called first (the call ended while the write was pending).
function writer(stream) {
  let aborted = null;
  const aborters = new Set();
  return {
    abort(err) {
      if (!aborted) aborted = err;
      for (const a of aborters) a(err);
    },
    send(msg) {
      if (aborted) return Promise.reject(aborted);
      return new Promise((resolve, reject) => {
        aborters.add(reject);
        stream.write(msg, (err) => {
          aborters.delete(reject);
          if (err) reject(err);
          else resolve();
        });
      });
    },
  };
}

function logger(prog) {
  return (msg) => process.stderr.write(`${prog}: ${msg}\n`);
}

// Usage errors exit 2, as the Go peers' do.
function usageError(prog, usage, msg) {
  process.stderr.write(`${prog}: ${msg}\n${usage}`);
  process.exit(2);
}

module.exports = {
  grpc, services, methods, codeName, parseCode, enc, parseMode, parseDuration, parseFlags,
  logger, usageError, reader, writer,
};
