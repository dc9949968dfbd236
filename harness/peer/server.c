#include "peer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>

/* The close op finishes when the call is over for the server: status sent, or the client
 * cancelled, or the deadline passed. It runs from the pump, so `cancelled` appears when it
 * happens, also in the middle of a sleep or a blocked send. */
static void on_close(fl_peer *p, fl_op *op) {
  (void)p;
  fl_call *c = op->call;
  if (!op->ok) fprintf(stderr, "faultline-peer(server): RECV_CLOSE_ON_SERVER failed\n");
  fl_call_emit(c, FL_EV_CANCELLED, FL_KV_I(VALUE, c->close_cancelled));
}

/* deadline_metadata (peer.h, HEADERS): what the call's key holds, and how much of it is left
 * by this server's wall clock, for the timeline. A call without the key is not checked. */
static void read_metadata_deadline(fl_call *c, const char *key) {
  for (size_t i = 0; i < c->request_md.count; i++) {
    const grpc_metadata *m = &c->request_md.metadata[i];
    if (!grpc_slice_str_cmp(m->key, key)) {
      const uint8_t *v = GRPC_SLICE_START_PTR(m->value);
      size_t len = GRPC_SLICE_LENGTH(m->value);
      static char md[FL_METADATA_TEXT_MAX];
      md[0] = '\0';
      fl_metadata_text_add(md, key, strlen(key), v, len);
      if (fl_metadata_deadline_read(v, len, &c->md_deadline_unix_ms) < 0) {
        c->md_deadline = FL_MD_DEADLINE_BAD;
        fl_call_emit(c, FL_EV_METADATA_DEADLINE, FL_KV_S(METADATA, md));
        return;
      }
      c->md_deadline = FL_MD_DEADLINE_SET;
      fl_call_emit(c, FL_EV_METADATA_DEADLINE, FL_KV_S(METADATA, md),
                   FL_KV_I(LEFT_MS, c->md_deadline_unix_ms - fl_real_ms()));
      return;
    }
  }
}

static void request_next(fl_peer *p);

/* A requested call arrived (or the request ended with the server's shutdown). */
static void on_accept(fl_peer *p, fl_op *op) {
  fl_call *c = op->call;
  if (!op->ok) {
    /* A shutdown fails the requests no client has used yet: those calls never start. */
    if (!p->shutdown.started) fl_peer_fail(p, "accepting a call failed");
    c->finished = true;
    p->n_finished++;
    return;
  }
  request_next(p);
  char *method = grpc_slice_to_c_string(c->details.method);
  fl_call_emit(c, FL_EV_CALL_START, FL_KV_S(METHOD, method));
  gpr_free(method);
  static char md[FL_METADATA_TEXT_MAX];
  if (fl_peer_metadata_text(&c->request_md, md)[0])
    fl_call_emit(c, FL_EV_HEADERS, FL_KV_S(METADATA, md));
  else
    fl_call_emit(c, FL_EV_HEADERS);
  if (p->plan->deadline_metadata) read_metadata_deadline(c, p->plan->deadline_metadata);

  /* The response headers wait for the first message, the status or a send_headers step
   * (peer.h, HEADERS). */
  grpc_op gop = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
  gop.data.recv_close_on_server.cancelled = &c->close_cancelled;
  c->final_op.on_done = on_close;
  fl_call_start(c, &gop, 1, &c->final_op, "recv_close_on_server");
  c->status_out = grpc_empty_slice();
  c->started = true;
}

static void on_shutdown_done(fl_peer *p, fl_op *op) {
  (void)op;
  p->shutdown.done = true;
  fl_peer_emit(p, FL_EV_SHUTDOWN_DONE,
               FL_KV_I(AFTER_MS, (fl_mono_ns() - p->shutdown.start_ns) / 1000000));
  if (p->shutdown.by_signal) _exit(0); /* stopped by SIGTERM: gracefully, then gone */
}

static atomic_bool term_requested;

static void *wait_for_term(void *arg) {
  sigset_t *set = arg;
  int sig;
  while (sigwait(set, &sig) != 0) {
  }
  atomic_store(&term_requested, true);
  return NULL;
}

void fl_server_watch_term(fl_peer *p) {
  static sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_t t;
  if (pthread_sigmask(SIG_BLOCK, &term, NULL) != 0 ||
      pthread_create(&t, NULL, wait_for_term, &term) != 0)
    fl_peer_fail(p, "cannot wait for SIGTERM: %s", strerror(errno));
  pthread_detach(t);
}

void fl_server_term_check(fl_peer *p) {
  if (!atomic_load(&term_requested) || p->shutdown.started || !p->server) return;
  fl_step graceful = {.kind = FL_STEP_SHUTDOWN, .shutdown_mode = FL_SHUTDOWN_GRACEFUL};
  p->shutdown.by_signal = true;
  fl_server_shutdown_start(p, &graceful);
}

static void shutdown_force(fl_peer *p, const char *why) {
  p->shutdown.forced = true;
  fl_peer_emit(p, FL_EV_SHUTDOWN_CANCEL, FL_KV_S(REASON, why));
  grpc_server_cancel_all_calls(p->server);
}

/*
 * `shutdown`: the server stops taking calls and sends GOAWAY (grpc_server_shutdown_and_notify);
 * the script goes on, as a handler goes on while main() shuts the server down. Graceful waits
 * for the open calls to end, for ever unless a deadline is set, after which every call is
 * cancelled (grpc_server_cancel_all_calls); abrupt cancels them at once (Go's Stop()).
 */
void fl_server_shutdown_start(fl_peer *p, const fl_step *st) {
  if (p->shutdown.started) return; /* another call got here first: one shutdown per server */
  p->shutdown.started = true;
  p->shutdown.mode = st->shutdown_mode;
  p->shutdown.start_ns = fl_mono_ns();
  bool abrupt = st->shutdown_mode == FL_SHUTDOWN_ABRUPT;
  if (st->shutdown_deadline_ns > 0) {
    p->shutdown.deadline_at_ns = p->shutdown.start_ns + st->shutdown_deadline_ns;
    fl_peer_emit(p, FL_EV_SHUTDOWN_START, FL_KV_S(MODE, "graceful"),
                 FL_KV_I(DEADLINE_MS, st->shutdown_deadline_ns / 1000000));
  } else {
    fl_peer_emit(p, FL_EV_SHUTDOWN_START, FL_KV_S(MODE, abrupt ? "abrupt" : "graceful"));
  }
  p->shutdown.op = (fl_op){.started = true, .on_done = on_shutdown_done};
  grpc_server_shutdown_and_notify(p->server, p->cq, &p->shutdown.op);
  if (abrupt)
    shutdown_force(p, "abrupt");
  else if (p->shutdown.deadline_at_ns)
    fl_peer_timer(p, p->shutdown.deadline_at_ns);
}

void fl_server_shutdown_tick(fl_peer *p) {
  if (!p->shutdown.started || p->shutdown.done || p->shutdown.forced || !p->shutdown.deadline_at_ns)
    return;
  if (fl_peer_timer(p, p->shutdown.deadline_at_ns)) shutdown_force(p, "deadline");
}

/* Asks C core for the next call slot's call, while the plan lets it. */
static void request_next(fl_peer *p) {
  if (p->requested >= p->accept_limit) return;
  fl_call *c = &p->calls[p->requested++];
  grpc_call_details_init(&c->details);
  grpc_metadata_array_init(&c->request_md);
  c->accept = (fl_op){.started = true, .call = c, .on_done = on_accept};
  grpc_call_error e = grpc_server_request_call(p->server, &c->call, &c->details, &c->request_md,
                                               p->cq, p->cq, &c->accept);
  if (e != GRPC_CALL_OK)
    fl_peer_fail(p, "grpc_server_request_call: %s", grpc_call_error_to_string(e));
}

void fl_server_stop_accepting(fl_peer *p) {
  /* The slots past accept_limit count as over already. */
  for (size_t i = p->requested; i < p->accept_limit; i++) {
    p->calls[i].finished = true;
    p->n_finished++;
  }
  p->accept_limit = p->requested;
}

/* A stop_accepting step in the script: then calls are requested one at a time. */
static bool stops_accepting(const fl_side_plan *plan) {
  for (size_t i = 0; i < plan->n_steps; i++)
    if (plan->steps[i].kind == FL_STEP_STOP_ACCEPTING) return true;
  return false;
}

_Noreturn void fl_peer_run_server(fl_peer *p) {
  grpc_channel_args *args = fl_peer_args_new(p, NULL, 0);
  p->server = grpc_server_create(args, NULL);
  fl_peer_args_free(args);
  grpc_server_register_completion_queue(p->server, p->cq, NULL);
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  /* --target: the address of an earlier run of this side (a restart fault); else a port the
   * kernel picks. */
  const char *addr = p->opt.target ? p->opt.target : "127.0.0.1:0";
  int port = grpc_server_add_http2_port(p->server, addr, creds);
  grpc_server_credentials_release(creds);
  if (port <= 0) fl_peer_fail(p, "cannot listen on %s", addr);
  grpc_server_start(p->server);

  /* Every call is requested up front, so they may arrive in any order; with `accept: N` only
   * N are, and the calls past them wait inside C core, never accepted (those slots count as
   * over for the script). A script that stops accepting asks for one at a time (peer.h). */
  p->accept_limit = p->plan->accept && p->plan->accept < p->n_calls ? p->plan->accept : p->n_calls;
  for (size_t i = p->accept_limit; i < p->n_calls; i++) p->calls[i].finished = true;
  p->n_finished = p->n_calls - p->accept_limit;
  size_t ahead = stops_accepting(p->plan) ? 1 : p->accept_limit;
  for (size_t i = 0; i < ahead; i++) request_next(p);
  long long limit = fl_peer_recv_limit(p);
  if (limit >= 0)
    fl_peer_emit(p, FL_EV_READY, FL_KV_I(PORT, port), FL_KV_I(RECV_LIMIT, limit));
  else
    fl_peer_emit(p, FL_EV_READY, FL_KV_I(PORT, port));

  fl_peer_run_script(p);
  fl_peer_emit(p, FL_EV_DONE);

  /* Keep serving the connection until the runner ends the run by closing the control pipe
   * (the pump then exits the process). Leaving now would close a socket with bytes still
   * unread in it, and the kernel would reset the connection under a client still reading its
   * last messages (it would see UNAVAILABLE). */
  for (;;) fl_peer_pump(p, -1);
}
