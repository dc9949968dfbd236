#include "samples.h"

#include <dirent.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* /proc/PID/status holds "Key:\tvalue [kB]" lines; this reads the ones we want in one pass. */
static int read_status(pid_t pid, fl_sample *s) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    static const struct {
      const char *key;
      size_t offset;
    } keys[] = {
        {"VmRSS:", offsetof(fl_sample, rss_kib)},
        {"Threads:", offsetof(fl_sample, threads)},
        {"voluntary_ctxt_switches:", offsetof(fl_sample, voluntary_ctxt_switches)},
        {"nonvoluntary_ctxt_switches:", offsetof(fl_sample, nonvoluntary_ctxt_switches)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
      size_t n = strlen(keys[i].key);
      if (strncmp(line, keys[i].key, n) == 0) {
        *(int64_t *)((char *)s + keys[i].offset) = strtoll(line + n, NULL, 10);
        found++;
      }
    }
  }
  fclose(f);
  /* A zombie has no VmRSS line: it is gone as far as sampling is concerned. */
  return found == 4 ? 0 : -1;
}

static int64_t count_fds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  int64_t n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* utime + stime from a stat file, in ns, and the name in its parentheses; -1 if unreadable. */
static int64_t stat_cpu(const char *path, char *comm, size_t comm_len) {
  char buf[1024];
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The name may hold spaces and parentheses: the fields start after the last ')'. */
  char *open = strchr(buf, '('), *close = strrchr(buf, ')');
  if (!open || !close || close < open) return -1;
  if (comm) snprintf(comm, comm_len, "%.*s", (int)(close - open - 1), open + 1);
  unsigned long long utime, stime;
  /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
  if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
      2)
    return -1;
  static long hz;
  if (!hz) hz = sysconf(_SC_CLK_TCK);
  return (int64_t)(utime + stime) * (1000000000LL / hz);
}

int fl_sample_read(pid_t pid, fl_sample *out) {
  memset(out, 0, sizeof *out);
  if (read_status(pid, out) < 0) return -1;
  out->fds = count_fds(pid);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  out->cpu_ns = stat_cpu(path, NULL, 0);
  return 0;
}

void fl_sample_write_header(FILE *out) {
  fputs("t_ms,side,pid,rss_kib,threads,fds,voluntary_ctxt_switches,nonvoluntary_ctxt_switches,"
        "cpu_ms\n",
        out);
}

void fl_sample_write_row(FILE *out, double t_ms, const char *side, pid_t pid, const fl_sample *s) {
  fprintf(out,
          "%.3f,%s,%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n",
          t_ms, side, (int)pid, s->rss_kib, s->threads, s->fds, s->voluntary_ctxt_switches,
          s->nonvoluntary_ctxt_switches, s->cpu_ns / 1000000);
}

static int64_t thread_switches(pid_t pid, pid_t tid) {
  char path[96], line[128];
  snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int64_t total = 0;
  while (fgets(line, sizeof line, f)) {
    /* Both voluntary and nonvoluntary: a thread that is preempted still runs. */
    const char *v = strstr(line, "voluntary_ctxt_switches:");
    if (v) total += strtoll(v + strlen("voluntary_ctxt_switches:"), NULL, 10);
  }
  fclose(f);
  return total;
}

void fl_activity_update(fl_activity *a, pid_t pid, int64_t now_ns) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return;
  fl_activity next = {.n = 0};
  for (struct dirent *e; (e = readdir(d)) && next.n < FL_MAX_TRACKED_THREADS;) {
    if (e->d_name[0] == '.') continue;
    pid_t tid = (pid_t)atoi(e->d_name);
    int64_t sw = thread_switches(pid, tid);
    if (sw < 0) continue;
    fl_thread_activity *t = &next.threads[next.n++];
    *t = (fl_thread_activity){.tid = tid, .switches = sw, .active_at_ns = now_ns};
    char stat[96];
    snprintf(stat, sizeof stat, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    t->cpu_ns = t->prev_cpu_ns = stat_cpu(stat, t->comm, sizeof t->comm);
    t->read_at_ns = t->prev_at_ns = now_ns;
    for (int i = 0; i < a->n; i++) {
      const fl_thread_activity *old = &a->threads[i];
      if (old->tid != tid) continue;
      /* The earlier reading moves up to the last one only once that is a window old. */
      bool roll = now_ns - old->read_at_ns >= FL_ACTIVITY_WINDOW_NS;
      t->prev_cpu_ns = roll ? old->cpu_ns : old->prev_cpu_ns;
      t->prev_at_ns = roll ? old->read_at_ns : old->prev_at_ns;
      if (a->threads[i].switches == sw) t->active_at_ns = a->threads[i].active_at_ns;
    }
  }
  closedir(d);
  *a = next;
}

bool fl_activity_busiest(const fl_activity *a, fl_thread_activity *out) {
  int best = -1;
  int64_t most = 0;
  for (int i = 0; i < a->n; i++) {
    int64_t used = a->threads[i].cpu_ns - a->threads[i].prev_cpu_ns;
    if (used > most) {
      most = used;
      best = i;
    }
  }
  if (best < 0) return false;
  *out = a->threads[best];
  return true;
}

size_t fl_activity_idle(const fl_activity *a, int64_t now_ns, fl_thread_idle *idle, size_t max) {
  size_t n = 0;
  for (int i = 0; i < a->n && n < max; i++)
    idle[n++] =
        (fl_thread_idle){.tid = a->threads[i].tid, .idle_ns = now_ns - a->threads[i].active_at_ns};
  return n;
}
