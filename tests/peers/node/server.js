#!/usr/bin/env node
'use strict';
// node-server: a @grpc/grpc-js server of faultline.Test and shop.v1.Orders whose --mode
// decides how it behaves or misbehaves, for faultline's interop tests. The same modes and
// output lines as go-server:
//
//   node-server --port N [--mode MODE] [--size BYTES] [--blocked-after DURATION]
//
// Ready line (stdout): "listening on 127.0.0.1:PORT". One line per finished call (stdout):
//   call method=PATH recv=N sent=N recv_end=0|1 cancelled=0|1 status=NAME code=N message=ENC
//
// Exit status: 0 after a graceful stop, 1 cannot listen, 2 bad usage.

const c = require('./common');
const { grpc } = c;

const prog = 'node-server';
const log = c.logger(prog);

const modes = {
  echo: 0, stream: 1, 'stop-reading': 0, sleep: 1, 'blocked-send': 0, 'graceful-stop': 0, status: 2,
};

const usage = `usage: node-server --port N [--mode MODE] [--size BYTES] [--blocked-after DURATION]

Serves faultline.Test (Unary, ServerStream, ClientStream, Bidi) and shop.v1.Orders (Place,
Watch, Trade) on 127.0.0.1:N (0: a free port); prints "listening on 127.0.0.1:PORT" when ready.

Modes (an argument follows the name after ':' or ' ', e.g. stream:5 or "status NOT_FOUND gone"):
  echo                answer every request (faultline.Test: the same message back), end OK
  stream:N            after the first request send N messages, end OK
  stop-reading        read one request, then stop reading until the call ends
  sleep:D             wait D (e.g. 2s) ignoring the deadline, then echo
  blocked-send        after the first request send --size messages until a send fails; prints
                      "send blocked: ..." once a send has been pending --blocked-after
  graceful-stop       echo; on SIGTERM tryShutdown (waits for open calls), then exit 0
  status:CODE:MSG     end every call at once with that status (CODE a name or number)
`;

let opts;
try {
  opts = c.parseFlags(process.argv.slice(2), { port: -1, mode: 'echo', size: 16384, 'blocked-after': '200ms' });
} catch (e) {
  c.usageError(prog, usage, e.message);
}
if (opts === null) {
  process.stdout.write(usage);
  process.exit(0);
}
if (opts.port < 0 || opts.port > 65535) c.usageError(prog, usage, '--port N (0..65535) is required');
let mode;
let streamN = 0;
let sleepMs = 0;
let statusCode = 0;
let blockedAfterMs = 0;
try {
  mode = c.parseMode(opts.mode, modes);
  if (mode.name === 'stream') {
    if (!/^[0-9]+$/.test(mode.args[0])) throw new Error(`stream:N: "${mode.args[0]}" is not a count`);
    streamN = Number(mode.args[0]);
  } else if (mode.name === 'sleep') {
    sleepMs = c.parseDuration(mode.args[0]);
  } else if (mode.name === 'status') {
    statusCode = c.parseCode(mode.args[0]);
  }
  blockedAfterMs = c.parseDuration(opts['blocked-after']);
} catch (e) {
  c.usageError(prog, usage, `--mode: ${e.message}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const single = (shape) => shape === 'unary' || shape === 'client_stream';
let open = 0;

// The status a call's handler ends with when the call went away under it.
function goneStatus(call) {
  const d = call.getDeadline();
  const t = d instanceof Date ? d.getTime() : Number(d);
  const expired = Number.isFinite(t) && Date.now() >= t;
  return expired
    ? { code: grpc.status.DEADLINE_EXCEEDED, details: 'deadline exceeded' }
    : { code: grpc.status.CANCELLED, details: 'cancelled' };
}

// One call's conversation, whatever its shape (as go-server's `call`): read() resolves to a
// request or null at the end of the client's messages, write() puts one reply on the wire
// (unary and client streaming: keeps it to hand to the callback).
class Conversation {
  constructor(m, call, first) {
    this.m = m;
    this.call = call;
    this.recvN = 0;
    this.sentN = 0;
    this.recvEnd = false;
    this.reply = null;
    this.first = first;
    this.given = false;
    this.rd = first === undefined ? c.reader(call) : null;
    this.wr = single(m.shape) ? null : c.writer(call);
    this.gone = new Promise((resolve) => {
      call.on('cancelled', () => {
        const st = goneStatus(call);
        if (this.rd) this.rd.fail(st);
        if (this.wr) this.wr.abort(st);
        resolve(st);
      });
    });
  }

  async read() {
    let msg;
    if (this.rd) {
      msg = await this.rd.next();
    } else {
      msg = this.given ? null : this.first;
      this.given = true;
    }
    if (msg === null) this.recvEnd = true;
    else this.recvN++;
    return msg;
  }

  async write(msg) {
    if (!this.wr) {
      if (this.reply !== null) throw { code: grpc.status.INTERNAL, details: 'a unary call has one reply' };
      this.reply = msg;
    } else {
      await this.wr.send(msg);
    }
    this.sentN++;
  }
}

async function echo(conv) {
  let last = null;
  for (;;) {
    const req = await conv.read();
    if (req === null) break;
    if (single(conv.m.shape)) last = req;
    else await conv.write(conv.m.echo(req, conv.recvN));
  }
  if (conv.m.shape === 'unary') await conv.write(conv.m.echo(last, 1));
  else if (conv.m.shape === 'client_stream') await conv.write(conv.m.make(last, conv.recvN, opts.size));
}

// Sends until a send fails, to a client that does not read; a watchdog says on stdout once one
// send has been pending blockedAfterMs (grpc-js calls a write back only when HTTP/2 took it).
async function blockedSend(conv, first) {
  let pendingSince = 0;
  const watchdog = setInterval(() => {
    if (pendingSince && Date.now() - pendingSince >= blockedAfterMs) {
      process.stdout.write(
        `send blocked: message ${conv.sentN + 1} pending for ${Date.now() - pendingSince}ms after ${conv.sentN} sent\n`);
      clearInterval(watchdog);
    }
  }, Math.max(1, blockedAfterMs / 4));
  try {
    for (let i = 1; ; i++) {
      pendingSince = Date.now();
      await conv.write(conv.m.make(first, i, opts.size));
      pendingSince = 0;
    }
  } finally {
    clearInterval(watchdog);
  }
}

// The mode's behaviour, one function for every method and shape; resolves to nothing (OK) or
// throws a status.
async function run(conv) {
  switch (mode.name) {
    case 'status':
      throw { code: statusCode, details: mode.args[1] };
    case 'sleep':
      log(`sleep: ${conv.m.path} ${sleepMs}ms`);
      await sleep(sleepMs);
      log(`sleep: woke, cancelled: ${conv.call.cancelled}`);
      return echo(conv);
    case 'stream': {
      const first = await conv.read();
      if (single(conv.m.shape)) return echo(conv);
      for (let i = 1; i <= streamN; i++) await conv.write(conv.m.make(first, i, opts.size));
      return undefined;
    }
    case 'stop-reading': {
      await conv.read();
      log(`stop-reading: ${conv.m.path} read ${conv.recvN} message(s), reading no more`);
      if (conv.rd) conv.call.pause();
      throw await conv.gone;
    }
    case 'blocked-send': {
      if (single(conv.m.shape)) {
        throw { code: grpc.status.UNIMPLEMENTED, details: `mode blocked-send needs a streaming reply, ${conv.m.path} has one` };
      }
      const first = await conv.read();
      return blockedSend(conv, first);
    }
    default: // echo, graceful-stop
      return echo(conv);
  }
}

function toStatus(err) {
  if (err && typeof err.code === 'number') return { code: err.code, details: err.details || err.message || '' };
  return { code: grpc.status.UNKNOWN, details: String(err && err.message ? err.message : err) };
}

// Runs the mode on one call, ends it as its shape requires and prints the call's line.
async function handle(m, call, first, callback) {
  open++;
  const conv = new Conversation(m, call, first);
  let st = { code: grpc.status.OK, details: '' };
  try {
    await run(conv);
  } catch (err) {
    st = toStatus(err);
  }
  open--;
  if (call.cancelled) {
    // The client is gone; nothing more goes on the wire.
  } else if (callback) {
    if (st.code === grpc.status.OK) callback(null, conv.reply);
    else callback(st);
  } else if (st.code === grpc.status.OK) {
    call.end();
  } else {
    call.emit('error', st);
  }
  process.stdout.write(
    `call method=${m.path} recv=${conv.recvN} sent=${conv.sentN} recv_end=${conv.recvEnd ? 1 : 0} ` +
      `cancelled=${call.cancelled ? 1 : 0} status=${c.codeName(st.code)} code=${st.code} message=${c.enc(st.details)}\n`);
}

function implementation(service) {
  const impl = {};
  for (const m of Object.values(c.methods)) {
    if (m.service !== service) continue;
    switch (m.shape) {
      case 'unary':
        impl[m.name] = (call, callback) => handle(m, call, call.request, callback);
        break;
      case 'server_stream':
        impl[m.name] = (call) => handle(m, call, call.request, null);
        break;
      case 'client_stream':
        impl[m.name] = (call, callback) => handle(m, call, undefined, callback);
        break;
      default:
        impl[m.name] = (call) => handle(m, call, undefined, null);
    }
  }
  return impl;
}

const server = new grpc.Server();
for (const [name, ctor] of Object.entries(c.services)) server.addService(ctor.service, implementation(name));

server.bindAsync(`127.0.0.1:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    log(`cannot listen: ${err.message}`);
    process.exit(1);
  }
  if (mode.name === 'graceful-stop') {
    process.on('SIGTERM', () => {
      log(`graceful-stop: SIGTERM with ${open} open call(s); tryShutdown`);
      process.stdout.write(`graceful-stop: started open=${open}\n`);
      server.tryShutdown((e) => {
        if (e) log(`tryShutdown: ${e.message}`);
        process.stdout.write('graceful-stop: done\n');
        process.exit(e ? 1 : 0);
      });
    });
  }
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);
});
