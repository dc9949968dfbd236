/*
 * The proxy suite: a built-in server peer, faultline-proxy in front of it and a built-in
 * client peer aimed at the proxy, all real processes on loopback, started as the runner would
 * start them (procs.h). Each case runs one scenario of tests/proxy/data and asserts on what
 * the peers and the proxy reported. Ordering is by events only.
 *
 *   usage: proxy_test BUILD_DIR DATA_DIR CASE
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procs.h"

static int failures;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                              \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

static const char *build, *data;

static const char *scenario(const char *name) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s.yaml", data, name);
  return path;
}

#define MS 1000000LL

/*
 * Waits until everything the case asserts on has been reported: the client has left (after
 * its status), the proxy has closed the connection (its frame events all come before its
 * conn_close) and the server's call is over (`cancelled`); then ends the run.
 */
static void settle_as(run *r, bool proxy_sees_close) {
  CHECK(run_wait(r, P_CLIENT, "status", NULL, 15000) >= 0, "the client reported no status");
  CHECK(run_wait_exit(r, P_CLIENT, 10000) == 0, "the client did not leave");
  if (proxy_sees_close)
    CHECK(run_wait(r, P_PROXY, "conn_close", NULL, 10000) >= 0, "the proxy did not close");
  CHECK(run_wait(r, P_SERVER, "cancelled", NULL, 10000) >= 0, "the server's call is not over");
  run_end(r);
}
static void settle(run *r) { settle_as(r, true); }

/* Starts the three and lets the scenario run to its end; -1 if it could not start. A proxy
 * that blackholes the client never sees it close: pass proxy_sees_close false. */
static int start_and_finish_as(run *r, const char *name, bool proxy_sees_close) {
  memset(r, 0, sizeof *r);
  if (run_start(r, build, scenario(name), 0, true) < 0) return -1;
  settle_as(r, proxy_sees_close);
  return 0;
}
static int start_and_finish(run *r, const char *name) { return start_and_finish_as(r, name, true); }

static long long status_of(const run *r, int who) {
  return ev_attr_num(r, who, ev_find(r, who, "status", NULL, 0), "code", -1);
}

static const char *message_of(const run *r, char *buf, size_t len) {
  const char *m =
      ev_attr(r, P_CLIENT, ev_find(r, P_CLIENT, "status", NULL, 0), "message", buf, len);
  return m ? m : "";
}

static const char *hash_of(const run *r, int who, const char *ev, int n, char *buf, size_t len) {
  char nb[16];
  snprintf(nb, sizeof nb, "n=%d", n);
  const char *h = ev_attr(r, who, ev_find(r, who, ev, ATTRS(nb), 0), "hash", buf, len);
  return h ? h : "(none)";
}

static int64_t stamp_of(const run *r, int who, const char *ev, int n) {
  char nb[16];
  snprintf(nb, sizeof nb, "n=%d", n);
  return ev_ns(r, who, ev_find(r, who, ev, ATTRS(nb), 0));
}

/* The proxy left by itself with 0 when its control pipe closed. */
static void check_exits(run *r) {
  proc *p = &r->p[P_PROXY];
  CHECK(p->reaped && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0,
        "the proxy did not exit 0 at the end (status 0x%x)", p->status);
}

static int finish(run *r) {
  run_end(r);
  check_exits(r);
  /* Every line of every process keeps the event table (harness/observe/event.h). */
  for (int i = 0; i < P_N; i++)
    CHECK(ev_protocol_errors(r, i) == 0, "%s wrote lines the event table refuses", r->p[i].name);
  if (failures) run_dump(r);
  run_free(r);
  return failures ? 1 : 0;
}

/* Sums the lengths of the proxy's frame events from `from` (each one a frame its receiver
 * got), with their headers when type is NULL. */
static long long delivered_bytes(const run *r, const char *from, const char *type) {
  long long sum = 0;
  char fb[32], tb[32];
  snprintf(fb, sizeof fb, "from=%s", from);
  snprintf(tb, sizeof tb, "type=%s", type ? type : "");
  for (int k = 0;; k++) {
    int i = type ? ev_find(r, P_PROXY, "frame", ATTRS(fb, tb), k)
                 : ev_find(r, P_PROXY, "frame", ATTRS(fb), k);
    if (i < 0) break;
    sum += ev_attr_num(r, P_PROXY, i, "len", 0) + (type ? 0 : 9);
  }
  return sum;
}

/* Frame events of `who`-side frames stamped after line `after` of the proxy. */
static int frames_after(const run *r, const char *from, int after) {
  int n = 0;
  for (int k = 0;; k++) {
    int i = ev_find(r, P_PROXY, "frame", ATTRS(from), k);
    if (i < 0) break;
    if (ev_ns(r, P_PROXY, i) > ev_ns(r, P_PROXY, after)) n++;
  }
  return n;
}

/* ---- cases ---------------------------------------------------------------------------------- */

/* Without faults every byte passes unchanged: each message's hash is the same on both ends,
 * every frame is delivered in the order it came (n == at), and the bytes the proxy delivered
 * are exactly the preface and the frames it reported. */
static int case_forward(void) {
  run r;
  char a[64], b[64];
  if (start_and_finish(&r, "forward") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld, want OK", status_of(&r, P_CLIENT));
  CHECK(ev_count(&r, P_CLIENT, "recv", NULL) == 4, "client received %d messages",
        ev_count(&r, P_CLIENT, "recv", NULL));
  for (int n = 1; n <= 4; n++) {
    CHECK(!strcmp(hash_of(&r, P_CLIENT, "sent", n, a, sizeof a),
                  hash_of(&r, P_SERVER, "recv", n, b, sizeof b)),
          "request %d: client sent %s, server received %s", n, a, b);
    CHECK(!strcmp(hash_of(&r, P_SERVER, "sent", n, a, sizeof a),
                  hash_of(&r, P_CLIENT, "recv", n, b, sizeof b)),
          "response %d: server sent %s, client received %s", n, a, b);
  }
  return finish(&r);
}

static int case_forward_accounting(void) {
  run r;
  if (start_and_finish(&r, "forward") < 0) return finish(&r);
  CHECK(ev_count(&r, P_PROXY, "fault", NULL) == 0, "a fault event without faults");
  for (int side = 0; side < 2; side++) {
    const char *from = side ? "from=server" : "from=client";
    int frames = 0, gaps = 0, touched = 0;
    char a[32];
    for (int k = 0;; k++) {
      int i = ev_find(&r, P_PROXY, "frame", ATTRS(from), k);
      if (i < 0) break;
      frames++;
      if (ev_attr_num(&r, P_PROXY, i, "ordinal", 0) != frames) gaps++;
      if (ev_attr(&r, P_PROXY, i, "action", a, sizeof a)) touched++;
    }
    CHECK(frames >= 5, "%s: only %d frame events", from, frames);
    CHECK(gaps == 0, "%s: %d frames out of order", from, gaps);
    CHECK(touched == 0, "%s: %d frames carry an action without a fault", from, touched);
  }
  /* The messages' bytes are the DATA frames' (5 bytes of gRPC prefix each), both ways. */
  const int who[2] = {P_CLIENT, P_SERVER};
  const char *const from[2] = {"client", "server"};
  for (int side = 0; side < 2; side++) {
    long long sent = 0;
    for (int k = 0;; k++) {
      int i = ev_find(&r, who[side], "sent", NULL, k);
      if (i < 0) break;
      sent += ev_attr_num(&r, who[side], i, "bytes", 0) + 5;
    }
    long long data = delivered_bytes(&r, from[side], "data");
    CHECK(data == sent, "the %s's DATA frames hold %lld bytes, its messages %lld", from[side], data,
          sent);
  }
  /* Trailers: the server's grpc-status read from its HPACK-coded HEADERS. */
  CHECK(ev_find(&r, P_PROXY, "frame", ATTRS("from=server", "type=headers", "grpc_status=0"), 0) >=
            0,
        "no trailers with grpc-status 0");
  return finish(&r);
}

/* RST_STREAM(CANCEL) injected toward the client just before the server's second DATA frame:
 * C core reports CANCELLED with "Received RST_STREAM with error code 8". */
static int case_rst_stream(void) {
  run r;
  char m[256];
  if (start_and_finish(&r, "rst-stream") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 1, "client status %lld, want CANCELLED (1)",
        status_of(&r, P_CLIENT));
  CHECK(strstr(message_of(&r, m, sizeof m), "RST_STREAM"), "client message \"%s\"", m);
  CHECK(ev_count(&r, P_CLIENT, "recv", NULL) == 1, "client received %d messages, want 1",
        ev_count(&r, P_CLIENT, "recv", NULL));
  int f = ev_find(&r, P_PROXY, "fault",
                  ATTRS("index=0", "action=injected", "stream=1", "type=rst_stream"), 0);
  CHECK(f >= 0, "no fault event for the injection");
  int inj = ev_find(&r, P_PROXY, "frame",
                    ATTRS("from=server", "type=rst_stream", "action=injected", "code=8"), 0);
  CHECK(inj >= 0, "no injected RST_STREAM(CANCEL) frame event");
  long long at = ev_attr_num(&r, P_PROXY, inj, "ordinal", 0);
  CHECK(at && ev_attr_num(&r, P_PROXY, f, "ordinal", 0) == at,
        "the fault event does not name the injected frame");
  /* The server's second DATA frame fired it; the stream is over for the client, so neither
   * that frame nor any later DATA of the stream reaches it, and their bytes go back to the
   * server as connection window (a WINDOW_UPDATE on stream 0, as from the client). */
  CHECK(ev_find(&r, P_PROXY, "frame", ATTRS("from=server", "type=data"), 1) < 0,
        "DATA of the reset stream reached the client after the injected RST_STREAM");
  CHECK(ev_find(&r, P_PROXY, "frame", ATTRS("from=server", "type=rst_stream"), 1) < 0,
        "the server's own RST_STREAM of the reset stream reached the client");
  CHECK(ev_find(&r, P_PROXY, "frame",
                ATTRS("from=client", "type=window_update", "stream=0", "action=injected",
                      "increment=1201"),
                0) >= 0,
        "the dropped DATA frame's bytes were not credited back to the server");
  return finish(&r);
}

/* GOAWAY(ENHANCE_YOUR_CALM, last stream 0) toward the client: UNAVAILABLE, "GOAWAY received". */
static int case_goaway(void) {
  run r;
  char m[256], d[64];
  if (start_and_finish(&r, "goaway") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 14, "client status %lld, want UNAVAILABLE (14)",
        status_of(&r, P_CLIENT));
  CHECK(strstr(message_of(&r, m, sizeof m), "GOAWAY"), "client message \"%s\"", m);
  int g = ev_find(
      &r, P_PROXY, "frame",
      ATTRS("from=server", "type=goaway", "action=injected", "code=11", "last_stream_id=0"), 0);
  CHECK(g >= 0, "no injected GOAWAY frame event");
  CHECK(g < 0 || !strcmp(ev_attr(&r, P_PROXY, g, "debug", d, sizeof d), "too_many_pings"),
        "debug data \"%s\"", d);
  return finish(&r);
}

/* WINDOW_UPDATEs toward the server withheld from the client's HEADERS on: the server sends
 * what the client's windows allowed and stalls there, a send pending; the client's deadline
 * ends the call. (C core's client opens its connection window to 4 MiB - 1 with its first
 * WINDOW_UPDATE, which it sends before or after its first HEADERS: the stall comes at 64 KiB
 * or at 4 MiB.) */
static int case_withhold(void) {
  run r;
  if (start_and_finish(&r, "withhold") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 4, "client status %lld, want DEADLINE_EXCEEDED (4)",
        status_of(&r, P_CLIENT));
  int sent = ev_count(&r, P_SERVER, "sent", NULL);
  CHECK(sent < 100, "the server sent %d of 100 messages", sent);
  int started = ev_count(&r, P_SERVER, "op_start", ATTRS("op=send"));
  int done = ev_count(&r, P_SERVER, "op_done", ATTRS("op=send", "ok=1"));
  CHECK(started == done + 1,
        "the server's last send is not the one left pending (%d started, %d done)", started, done);
  long long data = delivered_bytes(&r, "server", "data");
  CHECK(data >= 65535 && data <= 4194303, "the server's DATA got %lld bytes through", data);
  int f = ev_find(&r, P_PROXY, "fault", ATTRS("index=0", "action=withheld"), 0);
  CHECK(f >= 0, "no withheld fault event");
  int passed = 0;
  for (int k = 0;; k++) {
    int i = ev_find(&r, P_PROXY, "frame", ATTRS("from=client", "type=window_update"), k);
    if (i < 0) break;
    if (ev_ns(&r, P_PROXY, i) > ev_ns(&r, P_PROXY, f)) passed++;
  }
  CHECK(passed == 0, "%d WINDOW_UPDATEs reached the server after the fault", passed);
  /* The proxy's flow-control accounting shows the stall: the server's last DATA frame left
   * it no window. */
  int last = -1;
  for (int k = 0;; k++) {
    int i = ev_find(&r, P_PROXY, "frame", ATTRS("from=server", "type=data"), k);
    if (i < 0) break;
    last = i;
  }
  CHECK(last >= 0 && ev_attr_num(&r, P_PROXY, last, "window", -1) == 0,
        "the server's last DATA frame left it a window of %lld",
        ev_attr_num(&r, P_PROXY, last, "window", -1));
  return finish(&r);
}

/* The server's first DATA frame dropped: the client never sees message 1 and, C core 1.51
 * finding nothing wrong, ends OK with messages 2 and 3. */
static int case_drop(void) {
  run r;
  char a[64], b[64];
  if (start_and_finish(&r, "drop") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld", status_of(&r, P_CLIENT));
  CHECK(ev_count(&r, P_SERVER, "sent", NULL) == 3, "server sent %d",
        ev_count(&r, P_SERVER, "sent", NULL));
  CHECK(ev_count(&r, P_CLIENT, "recv", NULL) == 2, "client received %d, want 2",
        ev_count(&r, P_CLIENT, "recv", NULL));
  CHECK(!strcmp(hash_of(&r, P_CLIENT, "recv", 1, a, sizeof a),
                hash_of(&r, P_SERVER, "sent", 2, b, sizeof b)),
        "the client's first message (%s) is not the server's second (%s)", a, b);
  CHECK(ev_find(&r, P_PROXY, "fault", ATTRS("index=0", "action=armed", "type=headers"), 0) >= 0,
        "no armed fault event at the server's HEADERS");
  CHECK(ev_find(&r, P_PROXY, "fault", ATTRS("index=0", "action=dropped", "type=data"), 0) >= 0,
        "no dropped fault event");
  /* The client got two of the three messages' DATA frames. */
  CHECK(delivered_bytes(&r, "server", "data") == 2 * (271 + 5), "the client got %lld DATA bytes",
        delivered_bytes(&r, "server", "data"));
  return finish(&r);
}

/* The server's first DATA frame held 300ms, with all behind it: the first message arrives
 * at least 300ms after the server sent it, and the three stay in order. */
static int case_delay(void) {
  run r;
  if (start_and_finish(&r, "delay") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld", status_of(&r, P_CLIENT));
  CHECK(ev_count(&r, P_CLIENT, "recv", NULL) == 3, "client received %d",
        ev_count(&r, P_CLIENT, "recv", NULL));
  int64_t late = stamp_of(&r, P_CLIENT, "recv", 1) - stamp_of(&r, P_SERVER, "sent", 1);
  CHECK(late >= 300 * MS && late < 2000 * MS, "message 1 took %.1f ms", late / 1e6);
  CHECK(ev_find(&r, P_PROXY, "frame", ATTRS("from=server", "type=data", "action=delayed"), 0) >= 0,
        "no delayed frame event");
  return finish(&r);
}

/* The length prefix of the server's first message declares one byte more: the client decodes
 * a broken message, and what follows no longer lines up. C core 1.51 ends the call OK,
 * dropping the cut message at the end of the stream without a word. */
static int case_corrupt(void) {
  run r;
  char a[64], b[64];
  if (start_and_finish(&r, "corrupt") < 0) return finish(&r);
  int i = ev_find(&r, P_CLIENT, "recv", ATTRS("n=1"), 0);
  CHECK(i >= 0 && ev_attr_num(&r, P_CLIENT, i, "decoded", 1) == 0,
        "the client decoded its first message");
  CHECK(ev_attr_num(&r, P_CLIENT, i, "bytes", 0) ==
            ev_attr_num(&r, P_SERVER, ev_find(&r, P_SERVER, "sent", NULL, 0), "bytes", 0) + 1,
        "the first message is not one byte longer than sent");
  CHECK(strcmp(hash_of(&r, P_CLIENT, "recv", 1, a, sizeof a),
               hash_of(&r, P_SERVER, "sent", 1, b, sizeof b)),
        "the first message arrived unchanged");
  CHECK(ev_count(&r, P_CLIENT, "recv", NULL) < ev_count(&r, P_SERVER, "sent", NULL),
        "the client received every message");
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld (C core 1.51 gives OK)",
        status_of(&r, P_CLIENT));
  CHECK(ev_find(&r, P_PROXY, "frame", ATTRS("from=server", "type=data", "action=corrupted"), 0) >=
            0,
        "no corrupted frame event");
  return finish(&r);
}

/* A TCP reset of both legs at the server's second DATA frame: UNAVAILABLE with the kernel's
 * "Connection reset by peer" on the client, the server's call cancelled. */
static int case_reset(void) {
  run r;
  char m[256];
  if (start_and_finish(&r, "reset") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 14, "client status %lld, want UNAVAILABLE",
        status_of(&r, P_CLIENT));
  CHECK(strstr(message_of(&r, m, sizeof m), "reset"), "client message \"%s\"", m);
  CHECK(ev_find(&r, P_SERVER, "cancelled", ATTRS("value=1"), 0) >= 0,
        "the server's call was not cancelled");
  CHECK(ev_find(&r, P_PROXY, "conn_close", ATTRS("reason=reset"), 0) >= 0,
        "no conn_close reason=reset");
  CHECK(ev_find(&r, P_PROXY, "fault", ATTRS("index=0", "action=reset", "type=data"), 0) >= 0,
        "no reset fault event naming the DATA frame");
  return finish(&r);
}

/* A FIN toward the client at the server's second DATA frame (which no longer goes): C core
 * reports UNAVAILABLE "Socket closed" after the one message that came before. */
static int case_close(void) {
  run r;
  char m[256];
  if (start_and_finish(&r, "close") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 14, "client status %lld, want UNAVAILABLE",
        status_of(&r, P_CLIENT));
  CHECK(strstr(message_of(&r, m, sizeof m), "Socket closed"), "client message \"%s\"", m);
  CHECK(ev_count(&r, P_CLIENT, "recv", NULL) == 1, "the client received %d, want 1",
        ev_count(&r, P_CLIENT, "recv", NULL));
  int f = ev_find(&r, P_PROXY, "fault", ATTRS("index=0", "action=closed", "type=data"), 0);
  CHECK(f >= 0, "no closed fault event");
  CHECK(frames_after(&r, "from=server", f) == 0, "%d frames reached the client after its FIN",
        frames_after(&r, "from=server", f));
  return finish(&r);
}

/* Nothing passes after the server's first DATA frame: the client gets no message and its
 * deadline ends the call, while the server, knowing nothing, finishes OK. */
static int case_blackhole(void) {
  run r;
  if (start_and_finish_as(&r, "blackhole", false) < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 4, "client status %lld, want DEADLINE_EXCEEDED",
        status_of(&r, P_CLIENT));
  CHECK(ev_count(&r, P_CLIENT, "recv", NULL) == 0, "the client received %d",
        ev_count(&r, P_CLIENT, "recv", NULL));
  CHECK(ev_find(&r, P_SERVER, "status", ATTRS("code=0"), 0) >= 0,
        "the server did not finish its call OK");
  int f = ev_find(&r, P_PROXY, "fault", ATTRS("index=0", "action=blackholed"), 0);
  CHECK(f >= 0, "no blackhole fault event");
  int after = frames_after(&r, "from=server", f) + frames_after(&r, "from=client", f);
  CHECK(after == 0, "%d frames were delivered after the blackhole", after);
  return finish(&r);
}

/* 25ms +- 5ms each way: each message's trip from sender to receiver takes 20..~60 ms. */
static int case_latency(void) {
  run r;
  if (start_and_finish(&r, "latency") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld", status_of(&r, P_CLIENT));
  for (int n = 1; n <= 2; n++) {
    int64_t up = stamp_of(&r, P_SERVER, "recv", n) - stamp_of(&r, P_CLIENT, "sent", n);
    int64_t down = stamp_of(&r, P_CLIENT, "recv", n) - stamp_of(&r, P_SERVER, "sent", n);
    printf("message %d: client->server %.2f ms, server->client %.2f ms\n", n, up / 1e6, down / 1e6);
    CHECK(up >= 20 * MS && up < 500 * MS, "request %d took %.2f ms", n, up / 1e6);
    CHECK(down >= 20 * MS && down < 500 * MS, "response %d took %.2f ms", n, down / 1e6);
  }
  return finish(&r);
}

/* Injected PINGs and a SETTINGS toward the server; the server's ACKs of them never reach the
 * client, which never sent them. */
static int case_ping_settings(void) {
  run r;
  if (start_and_finish(&r, "ping-settings") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld", status_of(&r, P_CLIENT));
  CHECK(ev_count(&r, P_PROXY, "frame", ATTRS("from=client", "type=ping", "action=injected")) == 3,
        "%d injected PINGs", ev_count(&r, P_PROXY, "frame", ATTRS("type=ping", "action=injected")));
  CHECK(ev_count(&r, P_PROXY, "fault", ATTRS("index=0", "action=dropped", "type=ping")) == 3,
        "the server's ACKs of the injected PINGs were not all kept back");
  CHECK(ev_count(&r, P_PROXY, "frame",
                 ATTRS("from=client", "type=settings", "action=injected",
                       "settings=INITIAL_WINDOW_SIZE=1024")) == 1,
        "no injected SETTINGS");
  CHECK(ev_count(&r, P_PROXY, "fault", ATTRS("index=1", "action=dropped", "type=settings")) == 1,
        "the server's ACK of the injected SETTINGS was not kept back");
  /* The client gets ACKs for its own PINGs only. */
  int own = 0;
  char a[32];
  for (int k = 0;; k++) {
    int i = ev_find(&r, P_PROXY, "frame", ATTRS("from=client", "type=ping", "flags=0"), k);
    if (i < 0) break;
    if (!ev_attr(&r, P_PROXY, i, "action", a, sizeof a)) own++;
  }
  int acks = ev_count(&r, P_PROXY, "frame", ATTRS("from=server", "type=ping", "flags=1"));
  CHECK(acks <= own, "the client got %d PING ACKs for %d PINGs of its own", acks, own);
  return finish(&r);
}

/* Wire triggers on fields beyond frame counts fire at the exact frame: the injected PING goes
 * right before the frame that made the predicate true. */
static int case_triggers(void) {
  run r;
  if (start_and_finish(&r, "triggers") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld", status_of(&r, P_CLIENT));
  struct {
    const char *fault, *inj_from, *frame_from, *frame_type, *frame_attr;
  } want[] = {
      {"index=0", "from=client", "from=client", "type=data", "flags=1"},
      {"index=1", "from=server", "from=server", "type=headers", "grpc_status=0"},
  };
  for (int w = 0; w < 2; w++) {
    int f = ev_find(&r, P_PROXY, "fault", ATTRS(want[w].fault, "action=injected"), 0);
    CHECK(f >= 0, "fault %s did not fire", want[w].fault);
    char ob[32];
    snprintf(ob, sizeof ob, "ordinal=%lld", ev_attr_num(&r, P_PROXY, f, "ordinal", 0) + 1);
    CHECK(ev_find(&r, P_PROXY, "frame",
                  ATTRS(want[w].frame_from, want[w].frame_type, want[w].frame_attr, ob), 0) >= 0,
          "fault %s: the frame behind the injected PING is not %s %s", want[w].fault,
          want[w].frame_type, want[w].frame_attr);
  }
  /* wire.connections >= 1 holds at the connection's very first frame. */
  int s3 = ev_find(&r, P_PROXY, "frame",
                   ATTRS("from=server", "type=settings", "action=injected",
                         "settings=MAX_CONCURRENT_STREAMS=100"),
                   0);
  CHECK(s3 >= 0 && ev_attr_num(&r, P_PROXY, s3, "ordinal", 0) <= 2,
        "the SETTINGS of fault 2 did not come with the first frames");
  return finish(&r);
}

/* A trigger on a peer's field: the test does the runner's part, seeing the server's second
 * `sent` and writing `fire 0`; stray control lines are ignored. RST_STREAM(INTERNAL_ERROR)
 * gives INTERNAL. */
static int case_fire(void) {
  run r;
  char m[256];
  memset(&r, 0, sizeof r);
  if (run_start(&r, build, scenario("fire"), 0, true) < 0) return finish(&r);
  CHECK(run_wait(&r, P_SERVER, "sent", ATTRS("n=2"), 10000) >= 0, "the server never sent 2");
  CHECK(run_wait(&r, P_CLIENT, "recv", ATTRS("n=2"), 10000) >= 0, "the client never got 2");
  CHECK(ev_count(&r, P_PROXY, "fault", NULL) == 0, "a fault fired before `fire`");
  CHECK(run_control(&r, P_PROXY, "fire 9\nnonsense\nfire x\n") == 0, "control write");
  CHECK(run_control(&r, P_PROXY, "fire 0\n") == 0, "control write");
  CHECK(run_wait(&r, P_PROXY, "fault", ATTRS("index=0", "action=injected"), 10000) >= 0,
        "no fault event after fire 0");
  settle(&r);
  CHECK(status_of(&r, P_CLIENT) == 13, "client status %lld, want INTERNAL (13)",
        status_of(&r, P_CLIENT));
  CHECK(strstr(message_of(&r, m, sizeof m), "RST_STREAM"), "client message \"%s\"", m);
  printf("client: status %lld \"%s\"\n", status_of(&r, P_CLIENT), m);
  return finish(&r);
}

/* after: 200ms since the call started (the client's HEADERS at the proxy), then after: 100ms
 * since that fault. */
static int case_after(void) {
  run r;
  if (start_and_finish(&r, "after") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 14, "client status %lld, want UNAVAILABLE",
        status_of(&r, P_CLIENT));
  int h = ev_find(&r, P_PROXY, "frame", ATTRS("from=client", "type=headers"), 0);
  int g = ev_find(&r, P_PROXY, "fault", ATTRS("index=0", "action=injected"), 0);
  int x = ev_find(&r, P_PROXY, "fault", ATTRS("index=1", "action=reset"), 0);
  CHECK(h >= 0 && g >= 0 && x >= 0, "missing events (headers %d, goaway %d, reset %d)", h, g, x);
  int64_t t1 = ev_ns(&r, P_PROXY, g) - ev_ns(&r, P_PROXY, h);
  int64_t t2 = ev_ns(&r, P_PROXY, x) - ev_ns(&r, P_PROXY, g);
  printf("goaway %.1f ms after the call started, reset %.1f ms after the goaway\n", t1 / 1e6,
         t2 / 1e6);
  /* The HEADERS frame event is stamped when written, a little after the proxy took it. */
  CHECK(t1 >= 199 * MS && t1 < 600 * MS, "the goaway came %.1f ms after the call started",
        t1 / 1e6);
  CHECK(t2 >= 100 * MS && t2 < 500 * MS, "the reset came %.1f ms after the goaway", t2 / 1e6);
  CHECK(ev_find(&r, P_PROXY, "frame",
                ATTRS("type=goaway", "action=injected", "code=0", "last_stream_id=1"), 0) >= 0,
        "the graceful GOAWAY does not name stream 1 as the last one");
  return finish(&r);
}

/* 1MiB/s toward the client: 4 x 256 KiB take about a second to arrive. */
static int case_bandwidth(void) {
  run r;
  if (start_and_finish(&r, "bandwidth") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld", status_of(&r, P_CLIENT));
  int64_t t = stamp_of(&r, P_CLIENT, "recv", 4) - stamp_of(&r, P_SERVER, "sent", 1);
  printf("1 MiB in %.0f ms at 1MiB/s\n", t / 1e6);
  CHECK(t >= 950 * MS && t < 3000 * MS, "1 MiB took %.0f ms", t / 1e6);
  return finish(&r);
}

/* Held until 300ms passed since the first held byte: messages sent every 50ms arrive in a few
 * bursts. */
static int case_buffer(void) {
  run r;
  if (start_and_finish(&r, "buffer") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld", status_of(&r, P_CLIENT));
  int bursts = 1;
  int64_t most_late = 0;
  for (int n = 1; n <= 8; n++) {
    int64_t late = stamp_of(&r, P_CLIENT, "recv", n) - stamp_of(&r, P_SERVER, "sent", n);
    if (late > most_late) most_late = late;
    if (n > 1 &&
        stamp_of(&r, P_CLIENT, "recv", n) - stamp_of(&r, P_CLIENT, "recv", n - 1) > 20 * MS)
      bursts++;
  }
  printf("8 messages in %d bursts, the latest %.0f ms late\n", bursts, most_late / 1e6);
  CHECK(bursts >= 2 && bursts <= 4, "%d bursts", bursts);
  CHECK(most_late >= 250 * MS, "no message was held long (%.0f ms)", most_late / 1e6);
  return finish(&r);
}

/* 100-byte writes 1ms apart: a 16 KiB message takes at least 160 ms. */
static int case_slice(void) {
  run r;
  if (start_and_finish(&r, "slice") < 0) return finish(&r);
  CHECK(status_of(&r, P_CLIENT) == 0, "client status %lld", status_of(&r, P_CLIENT));
  int64_t t = stamp_of(&r, P_CLIENT, "recv", 1) - stamp_of(&r, P_SERVER, "sent", 1);
  printf("16 KiB in %.0f ms in 100-byte slices\n", t / 1e6);
  CHECK(t >= 160 * MS && t < 3000 * MS, "the message took %.0f ms", t / 1e6);
  return finish(&r);
}

/* Not HTTP/2 (as TLS is not): bytes pass unchanged both ways and the frame fault is refused
 * plainly. The upstream is a plain TCP socket of the test's own. */
static int case_raw(void) {
  run r;
  memset(&r, 0, sizeof r);
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4) < 0 ||
      getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
    perror("upstream socket");
    return 1;
  }
  if (run_start(&r, build, scenario("raw"), ntohs(a.sin_port), false) < 0) return finish(&r);
  int cs = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in pa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                           .sin_port = htons((uint16_t)r.proxy_port)};
  CHECK(connect(cs, (struct sockaddr *)&pa, sizeof pa) == 0, "cannot connect to the proxy");
  /* A TLS ClientHello's first bytes, then some more. */
  static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http/2 at all";
  size_t hl = sizeof hello - 1;
  CHECK(write(cs, hello, hl) == (ssize_t)hl, "write");
  int us = accept(ls, NULL, NULL);
  char got[256];
  size_t n = 0;
  while (us >= 0 && n < hl) {
    ssize_t k = read(us, got + n, sizeof got - n);
    if (k <= 0) break;
    n += (size_t)k;
  }
  CHECK(n == hl && !memcmp(got, hello, hl), "the upstream got %zu bytes, not the %zu sent", n, hl);
  static const char reply[] = "\x16\x03\x03 server bytes";
  CHECK(write(us, reply, sizeof reply - 1) == (ssize_t)(sizeof reply - 1), "write");
  n = 0;
  while (n < sizeof reply - 1) {
    ssize_t k = read(cs, got + n, sizeof got - n);
    if (k <= 0) break;
    n += (size_t)k;
  }
  CHECK(n == sizeof reply - 1 && !memcmp(got, reply, n), "the client got %zu bytes back", n);
  close(cs);
  close(us);
  close(ls);
  CHECK(run_wait(&r, P_PROXY, "conn_close", NULL, 10000) >= 0, "the proxy did not close");
  run_end(&r);
  CHECK(ev_find(&r, P_PROXY, "fault", ATTRS("index=0", "action=refused"), 0) >= 0,
        "the frame fault was not refused");
  char why[512] = "";
  FILE *ef = fopen(r.p[P_PROXY].stderr_path, "r");
  size_t wl = ef ? fread(why, 1, sizeof why - 1, ef) : 0;
  why[wl] = '\0';
  if (ef) fclose(ef);
  CHECK(strstr(why, "h2c"), "the proxy does not say why: \"%s\"", why);
  CHECK(ev_count(&r, P_PROXY, "frame", NULL) == 0, "frame events on a connection that has none");
  return finish(&r);
}

static const struct {
  const char *name;
  int (*fn)(void);
} cases[] = {
    {"forward", case_forward},
    {"forward-accounting", case_forward_accounting},
    {"rst-stream", case_rst_stream},
    {"goaway", case_goaway},
    {"withhold", case_withhold},
    {"drop", case_drop},
    {"delay", case_delay},
    {"corrupt", case_corrupt},
    {"reset", case_reset},
    {"close", case_close},
    {"blackhole", case_blackhole},
    {"latency", case_latency},
    {"ping-settings", case_ping_settings},
    {"triggers", case_triggers},
    {"fire", case_fire},
    {"after", case_after},
    {"bandwidth", case_bandwidth},
    {"buffer", case_buffer},
    {"slice", case_slice},
    {"raw", case_raw},
};

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: proxy_test BUILD_DIR DATA_DIR CASE\n");
    return 2;
  }
  build = argv[1];
  data = argv[2];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (strcmp(cases[i].name, argv[3])) continue;
    int rc = cases[i].fn();
    printf("%s: %s\n", argv[3], rc ? "FAIL" : "ok");
    return rc;
  }
  fprintf(stderr, "unknown case %s\n", argv[3]);
  return 2;
}
