#!/usr/bin/env node
'use strict';
// node-client: a @grpc/grpc-js client that calls one method of faultline.Test or shop.v1.Orders
// and behaves as --mode says, for faultline's interop tests. The same modes and output as
// go-client:
//
//   node-client --target HOST:PORT [--method PATH] [--mode MODE] [--count N] [--size BYTES]
//               [--deadline DURATION] [--pause-after N] [--window BYTES]
//
// Its last line on stdout is the final status it saw:
//   status=NAME code=N sent=N recv=N message=ENC
//
// Exit status: 0 the call ended with OK, 3 it ended with another status, 1 the client itself
// failed, 2 bad usage.

const readline = require('readline');
const c = require('./common');
const { grpc } = c;

const prog = 'node-client';
const log = c.logger(prog);

const modes = { echo: 0, 'half-close-race': 0, 'cancel-after': 1, 'stop-reading': 0 };

const usage = `usage: node-client --target HOST:PORT [--method PATH] [--mode MODE] [--count N]
                   [--size BYTES] [--deadline DURATION] [--pause-after N] [--window BYTES]

Calls PATH (default /faultline.Test/Bidi) and prints the final status as its last line:
  status=NAME code=N sent=N recv=N message=ENC

Modes:
  echo             send --count requests, each after the previous reply (unary: --count calls;
                   server streaming: one request), half-close, read to the end
  half-close-race  send --count requests back to back and half-close right after the burst,
                   then read to the end
  cancel-after:N   as echo, but cancel the call once N replies have arrived
  stop-reading     send the requests and half-close, never read; ends at the deadline (or
                   when killed)
--pause-after N prints "paused after N replies" and waits for a line (or end of file) on stdin
before going on. --window sets grpc-js's grpc-node.flow_control_window (stream and connection).
`;

let opts;
try {
  opts = c.parseFlags(process.argv.slice(2), {
    target: '', method: '/faultline.Test/Bidi', mode: 'echo', count: 3, size: 0, deadline: '',
    'pause-after': 0, window: 0,
  });
} catch (e) {
  c.usageError(prog, usage, e.message);
}
if (opts === null) {
  process.stdout.write(usage);
  process.exit(0);
}
if (!opts.target) c.usageError(prog, usage, '--target HOST:PORT is required');
const m = c.methods[opts.method];
if (!m) c.usageError(prog, usage, `--method: unknown method "${opts.method}" (known: ${Object.keys(c.methods).sort().join(', ')})`);
let mode;
let cancelN = 0;
let deadlineMs = 0;
try {
  mode = c.parseMode(opts.mode, modes);
  if (mode.name === 'cancel-after') {
    if (!/^[1-9][0-9]*$/.test(mode.args[0])) throw new Error(`cancel-after:N: "${mode.args[0]}" is not a positive count`);
    cancelN = Number(mode.args[0]);
  }
  if (opts.deadline) deadlineMs = c.parseDuration(opts.deadline);
} catch (e) {
  c.usageError(prog, usage, e.message);
}

// A line (or the end) of stdin, for --pause-after.
const lines = [];
const lineWaiters = [];
let stdinClosed = false;
if (opts['pause-after']) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (l) => (lineWaiters.length ? lineWaiters.shift()() : lines.push(l)));
  rl.on('close', () => {
    stdinClosed = true;
    while (lineWaiters.length) lineWaiters.shift()();
  });
}
const nextLine = () =>
  lines.length || stdinClosed ? Promise.resolve(lines.shift()) : new Promise((r) => lineWaiters.push(r));

const channelOptions = opts.window ? { 'grpc-node.flow_control_window': opts.window } : {};
const client = new c.services[m.service](opts.target, grpc.credentials.createInsecure(), channelOptions);
const callOptions = () => (deadlineMs ? { deadline: new Date(Date.now() + deadlineMs) } : {});

let sent = 0;
let recv = 0;

function finish(st) {
  process.stdout.write(
    `status=${c.codeName(st.code)} code=${st.code} sent=${sent} recv=${recv} message=${c.enc(st.details || '')}\n`);
  client.close();
  process.exit(st.code === grpc.status.OK ? 0 : 3);
}

// Counts a reply and applies --pause-after and cancel-after:N; true when it cancelled `call`.
async function replied(call) {
  recv++;
  if (opts['pause-after'] && recv === opts['pause-after']) {
    process.stdout.write(`paused after ${recv} replies\n`);
    await nextLine();
  }
  if (mode.name === 'cancel-after' && recv === cancelN) {
    log(`cancel-after: cancelling after ${recv} replies`);
    call.cancel();
    return true;
  }
  return false;
}

// --count unary calls, one after the other, stopping at the first that fails.
async function unary() {
  for (let i = 1; i <= opts.count; i++) {
    let call;
    const st = await new Promise((resolve) => {
      call = client[m.name](m.request(i, opts.size), callOptions(), (err) => {
        if (err) resolve({ code: err.code, details: err.details });
        else resolve(null);
      });
    });
    sent++;
    if (st) return st;
    if (await replied(call)) return { code: grpc.status.CANCELLED, details: 'Cancelled on client' };
  }
  return { code: grpc.status.OK, details: '' };
}

// n writes at once, without waiting for grpc-js to take each; `sent` counts those it took
// (their write callbacks), so a burst stalled by flow control shows as sent < n.
function burst(call, n) {
  for (let i = 1; i <= n; i++) {
    call.write(m.request(i, opts.size), (err) => {
      if (!err) sent++;
    });
  }
}

async function streaming() {
  const call = m.shape === 'server_stream'
    ? client[m.name](m.request(1, opts.size), callOptions())
    : m.shape === 'client_stream'
      ? client[m.name](callOptions(), () => {})
      : client[m.name](callOptions());
  const status = new Promise((resolve) => call.on('status', resolve));
  call.on('error', () => {}); // the status event carries it
  const n = m.shape === 'bidi' || m.shape === 'client_stream' ? opts.count : 1;
  if (m.shape === 'server_stream') sent = 1;
  const wr = m.shape === 'server_stream' ? null : c.writer(call);
  status.then((st) => wr && st.code !== grpc.status.OK && wr.abort(st));

  // Client streaming: a burst and the half-close; the one reply comes with the status.
  if (m.shape === 'client_stream' && mode.name !== 'stop-reading') {
    burst(call, n);
    call.end();
    const st = await status;
    if (st.code === grpc.status.OK) recv = 1;
    return st;
  }

  if (mode.name === 'stop-reading') {
    for (let i = 1; wr && i <= n; i++) {
      try {
        await wr.send(m.request(i, opts.size));
        sent++;
      } catch (e) {
        break;
      }
    }
    if (wr) call.end();
    log(`stop-reading: sent ${sent}, reading nothing`);
    return status; // the deadline, if any; without one the client waits to be killed
  }

  const rd = c.reader(call);
  status.then((st) => st.code !== grpc.status.OK && rd.fail(st));
  const readToEnd = async () => {
    try {
      while ((await rd.next()) !== null) await replied(call);
    } catch (e) {
      // the status says it
    }
    return status;
  };

  if (mode.name === 'half-close-race' || m.shape === 'server_stream') {
    // A burst and the half-close right behind it.
    if (wr) {
      burst(call, n);
      call.end();
    }
    return readToEnd();
  }
  // bidi ping-pong: echo, cancel-after
  for (let i = 1; i <= n; i++) {
    try {
      await wr.send(m.request(i, opts.size));
    } catch (e) {
      return status;
    }
    sent++;
    let reply;
    try {
      reply = await rd.next();
    } catch (e) {
      return status;
    }
    if (reply === null) return status;
    if (await replied(call)) return readToEnd();
  }
  call.end();
  return readToEnd();
}

(m.shape === 'unary' ? unary() : streaming()).then(finish, (err) => {
  log(`internal error: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
