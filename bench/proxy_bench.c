/*
 * The measure for bench/proxy: what faultline-proxy (without faults) costs a gRPC C core call,
 * against the direct path in the same run.
 *
 *   proxy_bench SCENARIO ROUNDS PINGS BULK_MIB PROXY [PROXY...]
 *
 * starts a bare C core server (this binary, --server), each PROXY program in front of it
 * (faultline-proxy, or bench/proxy_relay; their events drained from a pipe, as the runner
 * reads them), and in this process a client with one channel straight to the server and one
 * through each proxy. Each round, every path in turn (a different one first each round):
 * PINGS small-message round trips on one bidi call (a 1-byte message and its echo in one
 * batch, each timed), then one server-streaming call of BULK_MIB MiB in 64 KiB messages (timed
 * from the call's start to its status). It prints each path's median round trip and what it
 * adds to the direct one, its median throughput and the ratio to the direct one's, and the
 * median of the per-round ratios (each against the direct stream of the same round, a few
 * tens of milliseconds away: what other tenants of the machine do then weighs on both), then
 * each proxy's CPU time and what it comes to per GiB streamed through it.
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <grpc/support/alloc.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *tag(intptr_t t) { return (void *)t; }

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Completions that came while another was awaited; tags are small numbers, one op each. */
static signed char seen[64];

static bool wait_tag(grpc_completion_queue *cq, intptr_t want) {
  for (;;) {
    if (seen[want]) {
      bool ok = seen[want] > 0;
      seen[want] = 0;
      return ok;
    }
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE) continue;
    intptr_t t = (intptr_t)ev.tag;
    if (t == want) return ev.success;
    seen[t] = ev.success ? 1 : -1;
  }
}

static grpc_byte_buffer *bytes_bb(const void *p, size_t n) {
  grpc_slice s = grpc_slice_from_copied_buffer(p, n);
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  return bb;
}

#define MSG (64 * 1024)

/* ---- server: Echo (bidi, each message back) and Bulk (N bytes in 64 KiB messages) ---- */

static void serve_call(grpc_completion_queue *cq, grpc_call *call, bool bulk) {
  grpc_op op[2];
  memset(op, 0, sizeof op);
  op[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  grpc_call_start_batch(call, op, 1, tag(10), NULL);
  wait_tag(cq, 10);
  static char chunk[MSG];
  for (;;) {
    grpc_byte_buffer *in = NULL;
    memset(op, 0, sizeof op);
    op[0].op = GRPC_OP_RECV_MESSAGE;
    op[0].data.recv_message.recv_message = &in;
    grpc_call_start_batch(call, op, 1, tag(11), NULL);
    wait_tag(cq, 11);
    if (!in) break;
    if (bulk) {
      grpc_byte_buffer_reader r;
      grpc_byte_buffer_reader_init(&r, in);
      grpc_slice s = grpc_byte_buffer_reader_readall(&r);
      uint64_t total = 0;
      memcpy(&total, GRPC_SLICE_START_PTR(s), sizeof total);
      grpc_slice_unref(s);
      grpc_byte_buffer_reader_destroy(&r);
      grpc_byte_buffer_destroy(in);
      for (uint64_t sent = 0; sent < total; sent += MSG) {
        grpc_byte_buffer *out = bytes_bb(chunk, MSG);
        memset(op, 0, sizeof op);
        op[0].op = GRPC_OP_SEND_MESSAGE;
        op[0].data.send_message.send_message = out;
        grpc_call_start_batch(call, op, 1, tag(12), NULL);
        wait_tag(cq, 12);
        grpc_byte_buffer_destroy(out);
      }
      break;
    }
    memset(op, 0, sizeof op);
    op[0].op = GRPC_OP_SEND_MESSAGE;
    op[0].data.send_message.send_message = in;
    grpc_call_start_batch(call, op, 1, tag(12), NULL);
    wait_tag(cq, 12);
    grpc_byte_buffer_destroy(in);
  }
  int cancelled;
  memset(op, 0, sizeof op);
  op[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  op[0].data.send_status_from_server.status = GRPC_STATUS_OK;
  op[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op[1].data.recv_close_on_server.cancelled = &cancelled;
  grpc_call_start_batch(call, op, 2, tag(13), NULL);
  wait_tag(cq, 13);
  grpc_call_unref(call);
}

static int run_server(int port_fd) {
  grpc_init();
  grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
  grpc_server *server = grpc_server_create(NULL, NULL);
  grpc_server_register_completion_queue(server, cq, NULL);
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  int port = grpc_server_add_http2_port(server, "127.0.0.1:0", creds);
  grpc_server_credentials_release(creds);
  grpc_server_start(server);
  dprintf(port_fd, "%d\n", port);
  close(port_fd);
  for (;;) {
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_call_details_init(&details);
    grpc_metadata_array_init(&md);
    grpc_server_request_call(server, &call, &details, &md, cq, cq, tag(1));
    if (!wait_tag(cq, 1)) break;
    char *method = grpc_slice_to_c_string(details.method);
    serve_call(cq, call, strstr(method, "Bulk") != NULL);
    gpr_free(method);
    grpc_call_details_destroy(&details);
    grpc_metadata_array_destroy(&md);
  }
  return 0;
}

/* ---- client ---- */

static grpc_call *new_call(grpc_channel *ch, grpc_completion_queue *cq, const char *method) {
  /* The call's completions go to cq. */
  grpc_slice m = grpc_slice_from_static_string(method);
  grpc_call *c = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
                                          gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  return c;
}

typedef struct {
  grpc_metadata_array initial, trailing;
  grpc_status_code status;
  grpc_slice details;
} call_end;

static void start_call(grpc_call *c, call_end *e) {
  grpc_metadata_array_init(&e->initial);
  grpc_metadata_array_init(&e->trailing);
  grpc_op op[3];
  memset(op, 0, sizeof op);
  op[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  op[1].op = GRPC_OP_RECV_INITIAL_METADATA;
  op[1].data.recv_initial_metadata.recv_initial_metadata = &e->initial;
  grpc_call_start_batch(c, op, 2, tag(20), NULL);
  memset(op, 0, sizeof op);
  op[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  op[0].data.recv_status_on_client.trailing_metadata = &e->trailing;
  op[0].data.recv_status_on_client.status = &e->status;
  op[0].data.recv_status_on_client.status_details = &e->details;
  grpc_call_start_batch(c, op, 1, tag(21), NULL);
}

static void finish_call(grpc_call *c, grpc_completion_queue *cq, call_end *e) {
  wait_tag(cq, 21);
  grpc_slice_unref(e->details);
  grpc_metadata_array_destroy(&e->initial);
  grpc_metadata_array_destroy(&e->trailing);
  grpc_call_unref(c);
  if (e->status != GRPC_STATUS_OK) {
    fprintf(stderr, "proxy_bench: a call ended with status %d\n", e->status);
    exit(1);
  }
}

/* PINGS round trips of a 1-byte message on one call; their times appended to out. */
static void pings(grpc_channel *ch, grpc_completion_queue *cq, int n, int64_t *out) {
  grpc_call *c = new_call(ch, cq, "/bench/Echo");
  call_end e;
  start_call(c, &e);
  bool first = true;
  for (int i = 0; i < n + 1; i++) {
    grpc_byte_buffer *in = NULL, *msg = bytes_bb("x", 1);
    grpc_op op[2];
    memset(op, 0, sizeof op);
    op[0].op = GRPC_OP_SEND_MESSAGE;
    op[0].data.send_message.send_message = msg;
    op[1].op = GRPC_OP_RECV_MESSAGE;
    op[1].data.recv_message.recv_message = &in;
    int64_t t = now_ns();
    grpc_call_start_batch(c, op, 2, tag(22), NULL);
    wait_tag(cq, 22);
    int64_t rtt = now_ns() - t;
    if (first) {
      wait_tag(cq, 20); /* the first also waits for the call's setup: not counted */
      first = false;
    } else {
      out[i - 1] = rtt;
    }
    grpc_byte_buffer_destroy(msg);
    if (in) grpc_byte_buffer_destroy(in);
  }
  grpc_op op = {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT};
  grpc_call_start_batch(c, &op, 1, tag(23), NULL);
  wait_tag(cq, 23);
  finish_call(c, cq, &e);
}

/* One Bulk call of `total` bytes; returns bytes per second. */
static double bulk(grpc_channel *ch, grpc_completion_queue *cq, uint64_t total) {
  int64_t t = now_ns();
  grpc_call *c = new_call(ch, cq, "/bench/Bulk");
  call_end e;
  start_call(c, &e);
  grpc_byte_buffer *req = bytes_bb(&total, sizeof total);
  grpc_op op[2];
  memset(op, 0, sizeof op);
  op[0].op = GRPC_OP_SEND_MESSAGE;
  op[0].data.send_message.send_message = req;
  op[1].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  grpc_call_start_batch(c, op, 2, tag(24), NULL);
  wait_tag(cq, 20);
  wait_tag(cq, 24);
  grpc_byte_buffer_destroy(req);
  uint64_t got = 0;
  for (;;) {
    grpc_byte_buffer *in = NULL;
    memset(op, 0, sizeof op);
    op[0].op = GRPC_OP_RECV_MESSAGE;
    op[0].data.recv_message.recv_message = &in;
    grpc_call_start_batch(c, op, 1, tag(25), NULL);
    wait_tag(cq, 25);
    if (!in) break;
    got += grpc_byte_buffer_length(in);
    grpc_byte_buffer_destroy(in);
  }
  finish_call(c, cq, &e);
  if (got < total) {
    fprintf(stderr, "proxy_bench: %llu of %llu bytes arrived\n", (unsigned long long)got,
            (unsigned long long)total);
    exit(1);
  }
  return (double)got / ((double)(now_ns() - t) / 1e9);
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}
static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void *drain(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[65536];
  long lines = 0;
  /* PROXY_BENCH_EVENTS=FILE keeps the proxy's events, to look at its frames. */
  const char *keep = getenv("PROXY_BENCH_EVENTS");
  FILE *f = keep ? fopen(keep, "w") : NULL;
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
    for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
    if (f) fwrite(buf, 1, (size_t)n, f);
  }
  if (f) fclose(f);
  return (void *)lines;
}

static pid_t spawn(char *const argv[], int fd3, int fd4) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (fd3 >= 0) dup2(fd3, 3);
    if (fd4 >= 0) dup2(fd4, 4);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

/* One path to the server: direct, or through a proxy program. */
typedef struct {
  const char *label;
  pid_t pid;
  int ctl;
  pthread_t drainer;
  grpc_channel *ch;
  int64_t *rtt;
  double *bps;
  double *ratio; /* each round's bps over the direct path's in that round */
} path;

static int start_proxy(path *pa, const char *prog, const char *scenario, int sport) {
  int ev[2], ctl[2];
  if (pipe2(ev, O_CLOEXEC) < 0 || pipe2(ctl, O_CLOEXEC) < 0) return -1;
  char up[64];
  snprintf(up, sizeof up, "127.0.0.1:%d", sport);
  char *pargv[] = {(char *)prog,  "--scenario", (char *)scenario, "--upstream", up,
                   "--events-fd", "3",          "--control-fd",   "4",          NULL};
  pa->pid = spawn(pargv, ev[1], ctl[0]);
  close(ev[1]);
  close(ctl[0]);
  pa->ctl = ctl[1];
  /* The first line is `ready port=N`. */
  char line[256];
  size_t n = 0;
  while (n < sizeof line - 1 && read(ev[0], line + n, 1) == 1 && line[n] != '\n') n++;
  line[n] = '\0';
  const char *pe = strstr(line, "port=");
  if (!pe) {
    fprintf(stderr, "proxy_bench: %s did not start: %s\n", prog, line);
    return -1;
  }
  pthread_create(&pa->drainer, NULL, drain, (void *)(intptr_t)ev[0]);
  return atoi(pe + 5);
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--server")) return run_server(3);
  if (argc < 6) {
    fprintf(stderr, "usage: proxy_bench SCENARIO ROUNDS PINGS BULK_MIB PROXY [PROXY...]\n");
    return 2;
  }
  const char *scenario = argv[1];
  int rounds = atoi(argv[2]), npings = atoi(argv[3]);
  uint64_t total = (uint64_t)atoi(argv[4]) << 20;
  int np = 1 + (argc - 5);
  if (rounds < 1 || npings < 1 || !total || np > 4) return 2;
  signal(SIGPIPE, SIG_IGN);

  int pp[2];
  if (pipe2(pp, O_CLOEXEC) < 0) return 3;
  char *sargv[] = {"/proc/self/exe", "--server", NULL};
  pid_t server = spawn(sargv, pp[1], -1);
  close(pp[1]);
  char buf[64] = {0};
  if (read(pp[0], buf, sizeof buf - 1) <= 0) return 3;
  close(pp[0]);
  int sport = atoi(buf);

  grpc_init();
  grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  path paths[4] = {{.label = "direct"}};
  for (int i = 0; i < np; i++) {
    int port = sport;
    if (i > 0) {
      const char *prog = argv[4 + i];
      const char *base = strrchr(prog, '/');
      paths[i].label = base ? base + 1 : prog;
      port = start_proxy(&paths[i], prog, scenario, sport);
      if (port < 0) return 3;
    }
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    paths[i].ch = grpc_channel_create(target, creds, NULL);
    paths[i].rtt = calloc((size_t)rounds * npings + 20, sizeof(int64_t));
    paths[i].bps = calloc((size_t)rounds, sizeof(double));
    paths[i].ratio = calloc((size_t)rounds, sizeof(double));
    /* A warm-up of each path, not counted. */
    pings(paths[i].ch, cq, 20, paths[i].rtt);
    bulk(paths[i].ch, cq, total / 4);
  }
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < np; k++) {
      path *pa = &paths[(r + k) % np]; /* each round starts with another path */
      pings(pa->ch, cq, npings, pa->rtt + (size_t)r * npings);
      pa->bps[r] = bulk(pa->ch, cq, total);
    }
    for (int k = 1; k < np; k++) paths[k].ratio[r] = paths[k].bps[r] / paths[0].bps[r];
  }
  size_t ns = (size_t)rounds * npings;
  printf("rounds %d, alternating; per path and round %d round trips of 1 byte and one %llu MiB "
         "stream\n",
         rounds, npings, (unsigned long long)(total >> 20));
  double med0 = 0, thr0 = 0;
  for (int i = 0; i < np; i++) {
    path *pa = &paths[i];
    qsort(pa->rtt, ns, sizeof(int64_t), cmp64);
    qsort(pa->bps, (size_t)rounds, sizeof(double), cmpd);
    qsort(pa->ratio, (size_t)rounds, sizeof(double), cmpd);
    double med = pa->rtt[ns / 2] / 1e3, p90 = pa->rtt[ns * 9 / 10] / 1e3;
    double thr = pa->bps[rounds / 2] / (1 << 20);
    if (i == 0) {
      med0 = med;
      thr0 = thr;
      printf("%-16s round trip median %6.1f us (p90 %6.1f)             stream %5.0f MiB/s\n",
             pa->label, med, p90, thr);
    } else {
      printf("%-16s round trip median %6.1f us (p90 %6.1f), added %5.1f  stream %5.0f MiB/s, "
             "ratio %.3f (per round %.3f)\n",
             pa->label, med, p90, med - med0, thr, thr / thr0, pa->ratio[rounds / 2]);
    }
  }
  for (int i = 0; i < np; i++) grpc_channel_destroy(paths[i].ch);
  grpc_channel_credentials_release(creds);
  for (int i = 1; i < np; i++) {
    path *pa = &paths[i];
    close(pa->ctl); /* the run is over: the proxy leaves */
    int st;
    struct rusage ru;
    wait4(pa->pid, &st, 0, &ru);
    void *lines;
    pthread_join(pa->drainer, &lines);
#define TV(t) ((t).tv_sec + (t).tv_usec / 1e6)
    double cpu = TV(ru.ru_utime) + TV(ru.ru_stime);
    /* Every stream went through it: the warm-up's and one a round (the pings are noise). */
    double gib = (double)(total / 4 + (uint64_t)rounds * total) / (1 << 30);
    printf("%-16s %ld event lines, %.2f s CPU (user %.2f, system %.2f; %.0f ms per GiB "
           "streamed), exit %d\n",
           pa->label, (long)(intptr_t)lines, cpu, TV(ru.ru_utime), TV(ru.ru_stime), cpu * 1e3 / gib,
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  }
  kill(server, SIGKILL);
  int st;
  waitpid(server, &st, 0);
  return 0;
}
