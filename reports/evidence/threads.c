#include "threads.h"
#include "util.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Deeper stacks are cut: a corrupt frame chain can loop, and no dump reader wants more. */
#define MAX_FRAMES 256

typedef struct {
  Dwarf_Addr pc; /* as unwound: a return address for every frame but an activation */
  bool activation;
} frame;

typedef struct {
  pid_t tid;
  char name[32];
  char state_letter;
  char state[24];
  char waits[200];
  frame *frames;
  int nframes, cap;
  bool elided;
  char stop_reason[160]; /* why unwinding ended early; empty if it reached the outermost frame */
  int stop_errno;
} thread_rec;

/* What one (pc-1 adjusted) address resolves to. Stacks repeat heavily (a pool of identical
 * workers), so each distinct address is resolved once. Strings belong to the Dwfl session except
 * `owned` (a shortened or demangled name) and `owned_file` (a path joined here). */
typedef struct {
  bool used;
  Dwarf_Addr pc;
  const char *func;
  char *owned;
  GElf_Off symoff;
  const char *file;
  char *owned_file;
  int line;
  const char *module;
  Dwarf_Addr modoff;
} sym_entry;

typedef struct {
  pid_t pid;
  Dwfl *dwfl;
  thread_rec *threads;
  int nthreads, cap;
  sym_entry *syms;
  size_t symcap;
  bool oom;
  const fl_thread_idle *idle; /* the caller's observations, may be NULL */
  size_t n_idle;
} dump;

typedef struct {
  int first; /* index of its first thread, for a stable order among equal counts */
  int count;
  int *members;
} group;

static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

static double mono_ms(void) { return (double)fl_mono_ns() / 1e6; }

/* Reads a small /proc file whole, NUL-terminated. Returns its length, or -1 with errno set.
 * open/read rather than stdio: a dump reads four files per thread. */
static ssize_t read_small(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0) return -1;
  n = read(fd, buf, size - 1);
  if (n < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  close(fd);
  buf[n] = '\0';
  return n;
}

static void chomp(char *s) {
  size_t n = strlen(s);

  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = '\0';
}

static const char *basename_of(const char *path) {
  const char *slash = strrchr(path, '/');

  return slash != NULL ? slash + 1 : path;
}

/* ---- C++ names ----------------------------------------------------------------------------
 * gRPC core is C++ inside. __cxa_demangle lives in libstdc++, which faultline does not link;
 * it is loaded on the first mangled name, and names stay mangled if it cannot be. */

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);
static demangle_fn cxa_demangle;
static pthread_once_t demangle_once = PTHREAD_ONCE_INIT;

static void load_demangler(void) {
  void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);

  /* The handle is kept for the life of the process: the function is used after this returns. */
  if (h != NULL) cxa_demangle = (demangle_fn)dlsym(h, "__cxa_demangle");
}

static const char *demangle(const char *name, char **owned) {
  int status = -1;
  char *d;

  if (strncmp(name, "_Z", 2) != 0) return name;
  pthread_once(&demangle_once, load_demangler);
  if (cxa_demangle == NULL) return name;
  d = cxa_demangle(name, NULL, NULL, &status);
  if (status != 0 || d == NULL) {
    free(d);
    return name;
  }
  *owned = d;
  return d;
}

/* The name to print: without the symbol version glibc's symbols carry in the symbol table
 * ("pthread_cond_wait@@GLIBC_2.3.2"), demangled if C++. Sets *owned if it allocated. */
static const char *display_name(const char *name, char **owned) {
  const char *at = strchr(name, '@');
  char *plain;
  const char *shown;

  if (at == NULL || at == name) return demangle(name, owned);
  plain = strndup(name, (size_t)(at - name));
  if (plain == NULL) return name;
  shown = demangle(plain, owned);
  if (shown == plain) {
    *owned = plain;
  } else {
    free(plain);
  }
  return shown;
}

/* Joins dir and a relative file and folds "." and ".." lexically, so a reader can open the file:
 * "/src/proj/build" + "../tests/x.c" -> "/src/proj/tests/x.c". */
static char *join_path(const char *dir, const char *file) {
  size_t cap = strlen(dir) + strlen(file) + 2, len = 0;
  char *out = malloc(cap), *copy = malloc(cap), *save = NULL;

  if (out == NULL || copy == NULL) {
    free(out);
    free(copy);
    return NULL;
  }
  snprintf(copy, cap, "%s/%s", dir, file);
  for (char *part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, ".") == 0) continue;
    if (strcmp(part, "..") == 0) {
      while (len > 0 && out[len - 1] != '/') len--;
      if (len > 0) len--; /* the slash; "/.." stays "/" */
      continue;
    }
    out[len++] = '/';
    memcpy(out + len, part, strlen(part));
    len += strlen(part);
  }
  if (len == 0) out[len++] = '/';
  out[len] = '\0';
  free(copy);
  return out;
}

/* The line table names files relative to the compilation directory ("../src/x.c" as meson
 * compiles from the build directory). Go prints absolute paths; so do we when the CU says where
 * it was compiled. Sets *owned if it allocated. */
static const char *source_path(Dwfl_Line *line, const char *file, char **owned) {
  Dwarf_Die *cu;
  Dwarf_Attribute attr;
  const char *dir;

  if (file[0] == '/') return file;
  cu = dwfl_linecu(line);
  dir = cu != NULL ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : NULL;
  if (dir == NULL || dir[0] != '/') return file;
  *owned = join_path(dir, file);
  return *owned != NULL ? *owned : file;
}

/* ---- thread state from /proc ------------------------------------------------------------- */

static const char *state_word(char c) {
  switch (c) {
  case 'R': return "running";
  case 'S': return "sleeping";
  case 'D': return "disk sleep";
  case 'T': return "stopped";
  case 't': return "tracing stop";
  case 'Z': return "zombie";
  case 'X': return "dead";
  case 'I': return "idle";
  case 'P': return "parked";
  case 'W': return "waking";
  case 'K': return "wakekill";
  default: return "unknown state";
  }
}

/* The state letter of /proc/.../stat, or 0. comm may hold spaces and ')', so parse after the last
 * ')'. */
static char read_state_letter(const char *dir) {
  char path[96], buf[1024];
  const char *p;

  snprintf(path, sizeof path, "%s/stat", dir);
  if (read_small(path, buf, sizeof buf) < 0) return 0;
  p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ') return 0;
  return p[2];
}

enum { ARG_NONE, ARG_FD0, ARG_FUTEX };

static const struct {
  long nr;
  const char *name;
  int arg;
} syscalls[] = {
    {SYS_futex, "futex", ARG_FUTEX},
#ifdef SYS_futex_waitv
    {SYS_futex_waitv, "futex_waitv", ARG_NONE},
#endif
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait", ARG_FD0},
#endif
    {SYS_epoll_pwait, "epoll_wait", ARG_FD0},
#ifdef SYS_epoll_pwait2
    {SYS_epoll_pwait2, "epoll_wait", ARG_FD0},
#endif
#ifdef SYS_poll
    {SYS_poll, "poll", ARG_NONE},
#endif
    {SYS_ppoll, "poll", ARG_NONE},
#ifdef SYS_select
    {SYS_select, "select", ARG_NONE},
#endif
    {SYS_pselect6, "select", ARG_NONE},
    {SYS_nanosleep, "nanosleep", ARG_NONE},
    {SYS_clock_nanosleep, "nanosleep", ARG_NONE},
    {SYS_read, "read", ARG_FD0},
    {SYS_readv, "read", ARG_FD0},
    {SYS_pread64, "read", ARG_FD0},
    {SYS_recvfrom, "recv", ARG_FD0},
    {SYS_recvmsg, "recv", ARG_FD0},
    {SYS_recvmmsg, "recv", ARG_FD0},
    {SYS_write, "write", ARG_FD0},
    {SYS_writev, "write", ARG_FD0},
    {SYS_pwrite64, "write", ARG_FD0},
    {SYS_sendto, "send", ARG_FD0},
    {SYS_sendmsg, "send", ARG_FD0},
    {SYS_sendmmsg, "send", ARG_FD0},
    {SYS_accept, "accept", ARG_FD0},
    {SYS_accept4, "accept", ARG_FD0},
    {SYS_connect, "connect", ARG_FD0},
    {SYS_flock, "flock", ARG_FD0},
    {SYS_fcntl, "fcntl", ARG_FD0},
    {SYS_fsync, "fsync", ARG_FD0},
    {SYS_fdatasync, "fsync", ARG_FD0},
    {SYS_wait4, "wait", ARG_NONE},
    {SYS_waitid, "wait", ARG_NONE},
#ifdef SYS_pause
    {SYS_pause, "pause", ARG_NONE},
#endif
    {SYS_rt_sigsuspend, "sigsuspend", ARG_NONE},
    {SYS_rt_sigtimedwait, "sigtimedwait", ARG_NONE},
    {SYS_io_getevents, "io_getevents", ARG_NONE},
    {SYS_io_uring_enter, "io_uring_enter", ARG_FD0},
    {SYS_msgrcv, "msgrcv", ARG_NONE},
    {SYS_semtimedop, "semop", ARG_NONE},
    {SYS_sched_yield, "sched_yield", ARG_NONE},
};

/* Names a data address (a futex word) by symbol+offset if a module's symbol table covers it. */
static void name_data_address(Dwfl *dwfl, Dwarf_Addr addr, char *buf, size_t size) {
  Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
  GElf_Off off = 0;
  GElf_Sym sym;
  const char *name = NULL;

  if (mod != NULL) name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
  if (name != NULL && off < sym.st_size)
    snprintf(buf, size, "%s+%llu", name, (unsigned long long)off);
  else
    snprintf(buf, size, "0x%llx", (unsigned long long)addr);
}

/* "futex wait cv+40", "read fd 3 (pipe:[1234])", ... from /proc/.../syscall; "" if not in one. */
static void describe_syscall(dump *d, const char *line, char *out, size_t size) {
  unsigned long long args[3] = {0, 0, 0};
  char path[128], target[96], what[128];
  long nr;
  char *end;
  ssize_t n;

  out[0] = '\0';
  nr = strtol(line, &end, 10);
  if (end == line || nr < 0) return;
  /* "nr arg1 ... arg6 sp pc", args in hex */
  for (int i = 0; i < 3; i++) {
    char *p = end;
    args[i] = strtoull(p, &end, 16);
    if (end == p) break;
  }

  for (size_t i = 0; i < sizeof syscalls / sizeof syscalls[0]; i++) {
    if (syscalls[i].nr != nr) continue;
    switch (syscalls[i].arg) {
    case ARG_FUTEX: {
      int op = (int)(args[1] & FUTEX_CMD_MASK);
      const char *verb = op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET || op == FUTEX_WAIT_REQUEUE_PI
                             ? "wait"
                         : op == FUTEX_LOCK_PI || op == FUTEX_LOCK_PI2 ? "lock_pi"
                                                                       : NULL;
      name_data_address(d->dwfl, (Dwarf_Addr)args[0], what, sizeof what);
      if (verb != NULL)
        snprintf(out, size, "futex %s %s", verb, what);
      else
        snprintf(out, size, "futex op %d %s", op, what);
      return;
    }
    case ARG_FD0:
      snprintf(path, sizeof path, "/proc/%d/fd/%llu", (int)d->pid, args[0]);
      n = readlink(path, target, sizeof target - 1);
      if (n > 0) {
        target[n] = '\0';
        snprintf(out, size, "%s fd %llu (%s)", syscalls[i].name, args[0], target);
      } else {
        snprintf(out, size, "%s fd %llu", syscalls[i].name, args[0]);
      }
      return;
    default: snprintf(out, size, "%s", syscalls[i].name); return;
    }
  }
  snprintf(out, size, "syscall %ld", nr);
}

static void read_thread_state(dump *d, thread_rec *t) {
  char dir[64], path[96], buf[512];
  char c;

  snprintf(dir, sizeof dir, "/proc/%d/task/%d", (int)d->pid, (int)t->tid);
  snprintf(path, sizeof path, "%s/comm", dir);
  if (read_small(path, buf, sizeof buf) >= 0) {
    chomp(buf);
    snprintf(t->name, sizeof t->name, "%s", buf);
  }
  c = read_state_letter(dir);
  t->state_letter = c;
  snprintf(t->state, sizeof t->state, "%s", c ? state_word(c) : "gone");

  snprintf(path, sizeof path, "%s/syscall", dir);
  if (read_small(path, buf, sizeof buf) >= 0) {
    describe_syscall(d, buf, t->waits, sizeof t->waits);
    return;
  }
  /* syscall needs ptrace rights and is missing on kernels without CONFIG_HAVE_ARCH_TRACEHOOK;
   * the kernel function the thread sleeps in is the next best thing. */
  snprintf(path, sizeof path, "%s/wchan", dir);
  if (read_small(path, buf, sizeof buf) > 0 && strcmp(buf, "0") != 0)
    snprintf(t->waits, sizeof t->waits, "in %s", buf);
}

/* ---- unwinding --------------------------------------------------------------------------- */

static int on_frame(Dwfl_Frame *state, void *arg) {
  thread_rec *t = arg;
  Dwarf_Addr pc;
  bool activation;

  if (!dwfl_frame_pc(state, &pc, &activation)) {
    snprintf(t->stop_reason, sizeof t->stop_reason, "%s", dwfl_errmsg(-1));
    return DWARF_CB_ABORT;
  }
  if (t->nframes == MAX_FRAMES) {
    t->elided = true;
    return DWARF_CB_ABORT;
  }
  if (t->nframes == t->cap) {
    int cap = t->cap ? t->cap * 2 : 32;
    frame *f = realloc(t->frames, cap * sizeof *f);

    if (f == NULL) {
      snprintf(t->stop_reason, sizeof t->stop_reason, "out of memory");
      return DWARF_CB_ABORT;
    }
    t->frames = f;
    t->cap = cap;
  }
  t->frames[t->nframes].pc = pc;
  t->frames[t->nframes].activation = activation;
  t->nframes++;
  return DWARF_CB_OK;
}

static int on_thread(Dwfl_Thread *thread, void *arg) {
  dump *d = arg;
  thread_rec *t;

  if (d->nthreads == d->cap) {
    int cap = d->cap ? d->cap * 2 : 32;
    thread_rec *r = realloc(d->threads, cap * sizeof *r);

    if (r == NULL) {
      d->oom = true;
      return DWARF_CB_ABORT;
    }
    d->threads = r;
    d->cap = cap;
  }
  t = &d->threads[d->nthreads++];
  memset(t, 0, sizeof *t);
  t->tid = dwfl_thread_tid(thread);
  /* Before the attach: once ptrace-attached every thread reads as "tracing stop". */
  read_thread_state(d, t);
  errno = 0;
  if (dwfl_thread_getframes(thread, on_frame, t) == -1 && t->stop_reason[0] == '\0') {
    t->stop_errno = errno;
    snprintf(t->stop_reason, sizeof t->stop_reason, "%s", dwfl_errmsg(-1));
  }
  return DWARF_CB_OK;
}

/* ---- symbols ----------------------------------------------------------------------------- */

static Dwarf_Addr adjusted_pc(const frame *f) {
  /* A return address points after the call, possibly into the next line or function. */
  return f->activation ? f->pc : f->pc - 1;
}

static sym_entry *resolve(dump *d, Dwarf_Addr pc) {
  size_t mask = d->symcap - 1;
  size_t i = (size_t)((pc * 0x9E3779B97F4A7C15ull) >> 20) & mask;
  sym_entry *e;
  Dwfl_Module *mod;

  while (d->syms[i].used) {
    if (d->syms[i].pc == pc) return &d->syms[i];
    i = (i + 1) & mask;
  }
  e = &d->syms[i];
  e->used = true;
  e->pc = pc;

  mod = dwfl_addrmodule(d->dwfl, pc);
  if (mod != NULL) {
    Dwarf_Addr start = 0;
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name;
    Dwfl_Line *line;

    e->module = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
    e->modoff = pc - start;
    name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
    if (name != NULL) {
      e->func = display_name(name, &e->owned);
      e->symoff = off;
    }
    line = dwfl_module_getsrc(mod, pc);
    if (line != NULL) {
      int lineno = 0;
      const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

      if (file != NULL && lineno > 0) {
        e->file = source_path(line, file, &e->owned_file);
        e->line = lineno;
      }
    }
  }
  return e;
}

static int resolve_all(dump *d) {
  size_t total = 0;

  for (int i = 0; i < d->nthreads; i++) total += d->threads[i].nframes;
  /* Sized once, at most half full, so lookups stay short and nothing is rehashed. */
  d->symcap = 64;
  while (d->symcap < 2 * total) d->symcap *= 2;
  d->syms = calloc(d->symcap, sizeof *d->syms);
  if (d->syms == NULL) return -1;
  for (int i = 0; i < d->nthreads; i++)
    for (int j = 0; j < d->threads[i].nframes; j++)
      resolve(d, adjusted_pc(&d->threads[i].frames[j]));
  return 0;
}

/* ---- grouping ---------------------------------------------------------------------------- */

static int cmp_stack(const thread_rec *a, const thread_rec *b) {
  if (a->nframes != b->nframes) return a->nframes < b->nframes ? -1 : 1;
  if (a->elided != b->elided) return a->elided ? 1 : -1;
  for (int i = 0; i < a->nframes; i++) {
    if (a->frames[i].pc != b->frames[i].pc) return a->frames[i].pc < b->frames[i].pc ? -1 : 1;
    if (a->frames[i].activation != b->frames[i].activation) return a->frames[i].activation ? 1 : -1;
  }
  return 0;
}

static int cmp_thread_index(const void *pa, const void *pb, void *arg) {
  const dump *d = arg;
  int a = *(const int *)pa, b = *(const int *)pb;
  int c = cmp_stack(&d->threads[a], &d->threads[b]);

  return c != 0 ? c : (a > b) - (a < b);
}

static int cmp_group(const void *pa, const void *pb) {
  const group *a = pa, *b = pb;

  if (a->count != b->count) return a->count > b->count ? -1 : 1;
  return (a->first > b->first) - (a->first < b->first);
}

/* Folds threads with identical stacks. Returns the number of groups, or -1 if out of memory.
 * *order receives the thread indices arranged by group; each group's members point into it. */
static int group_threads(const dump *d, int **order, group **groups) {
  int *idx = malloc((d->nthreads ? d->nthreads : 1) * sizeof *idx);
  group *g = malloc((d->nthreads ? d->nthreads : 1) * sizeof *g);
  int ng = 0;

  if (idx == NULL || g == NULL) {
    free(idx);
    free(g);
    return -1;
  }
  for (int i = 0; i < d->nthreads; i++) idx[i] = i;
  qsort_r(idx, d->nthreads, sizeof *idx, cmp_thread_index, (void *)d);

  for (int i = 0; i < d->nthreads; i++) {
    if (i == 0 || cmp_stack(&d->threads[idx[i - 1]], &d->threads[idx[i]]) != 0) {
      g[ng].first = idx[i]; /* the smallest index: ties were sorted by index */
      g[ng].count = 0;
      g[ng].members = &idx[i];
      ng++;
    }
    g[ng - 1].count++;
  }
  qsort(g, ng, sizeof *g, cmp_group);
  *order = idx;
  *groups = g;
  return ng;
}

/* ---- writing ----------------------------------------------------------------------------- */

static void print_location(FILE *out, const sym_entry *e) {
  if (e->file != NULL)
    fprintf(out, "%s:%d", e->file, e->line);
  else if (e->module != NULL)
    fprintf(out, "?? (%s)", basename_of(e->module));
  else
    fputs("??", out);
}

static void print_summary(FILE *out, dump *d, const group *g, int ng) {
  fprintf(out, "thread profile: total %d\n", d->nthreads);
  for (int k = 0; k < ng; k++) {
    const thread_rec *t = &d->threads[g[k].first];

    fprintf(out, "%d @", g[k].count);
    for (int j = 0; j < t->nframes; j++)
      fprintf(out, " 0x%llx", (unsigned long long)t->frames[j].pc);
    if (t->nframes == 0) fputs(" (no frames)", out);
    fputc('\n', out);
    for (int j = 0; j < t->nframes; j++) {
      const sym_entry *e = resolve(d, adjusted_pc(&t->frames[j]));

      fprintf(out, "#\t0x%llx\t", (unsigned long long)e->pc);
      if (e->func != NULL)
        fprintf(out, "%s+0x%llx\t", e->func, (unsigned long long)e->symoff);
      else if (e->module != NULL)
        fprintf(out, "%s+0x%llx\t", basename_of(e->module), (unsigned long long)e->modoff);
      else
        fputs("??\t", out);
      print_location(out, e);
      fputc('\n', out);
    }
    if (t->elided) fputs("#\t...additional frames elided...\n", out);
    fputs("# threads:", out);
    for (int m = 0; m < g[k].count; m++) fprintf(out, " %d", (int)d->threads[g[k].members[m]].tid);
    fputs("\n\n", out);
  }
}

/* ", idle 1.25s" when the caller saw this thread make no context switch for that long. */
static void format_idle(const dump *d, pid_t tid, char *buf, size_t size) {
  buf[0] = '\0';
  for (size_t i = 0; i < d->n_idle; i++) {
    if (d->idle[i].tid != tid || d->idle[i].idle_ns <= 0) continue;
    double s = (double)d->idle[i].idle_ns / 1e9;
    if (s >= 60)
      snprintf(buf, size, ", idle %.0f minutes", s / 60); /* Go's wording, minus its "1 minutes" */
    else
      snprintf(buf, size, ", idle %.2fs", s);
    return;
  }
}

static void print_thread(FILE *out, dump *d, const thread_rec *t) {
  char idle[48];
  format_idle(d, t->tid, idle, sizeof idle);
  fprintf(out, "thread %d \"%s\" [%s%s%s%s]:\n", (int)t->tid, t->name, t->state,
          t->waits[0] ? ", " : "", t->waits, idle);
  for (int j = 0; j < t->nframes; j++) {
    const frame *f = &t->frames[j];
    const sym_entry *e = resolve(d, adjusted_pc(f));
    /* The offset is from the real pc, as Go prints it; the line is the call's (pc-1). */
    unsigned long long off = e->symoff + (f->activation ? 0 : 1);

    if (e->func == NULL) {
      fputs("??\n", out);
      if (e->module != NULL)
        fprintf(out, "\t0x%llx (%s+0x%llx)\n", (unsigned long long)f->pc, basename_of(e->module),
                (unsigned long long)e->modoff + !f->activation);
      else
        fprintf(out, "\t0x%llx\n", (unsigned long long)f->pc);
      continue;
    }
    fprintf(out, "%s(...)\n\t", e->func);
    print_location(out, e);
    fprintf(out, " +0x%llx\n", off);
  }
  if (t->elided) fputs("...additional frames elided...\n", out);
  if (t->stop_reason[0] != '\0') fprintf(out, "...unwinding stopped: %s\n", t->stop_reason);
  fputc('\n', out);
}

static void print_header(FILE *out, dump *d, const char *label, const char *why,
                         const struct timespec *when, bool all_stopped, double elapsed) {
  char path[64], comm[64] = "?", cmd[512], stamp[64], zone[8];
  struct tm tm;
  ssize_t n;

  snprintf(path, sizeof path, "/proc/%d/comm", (int)d->pid);
  if (read_small(path, comm, sizeof comm) >= 0) chomp(comm);
  fprintf(out, "thread dump: %s, pid %d (%s)\n", label ? label : comm, (int)d->pid, comm);

  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)d->pid);
  n = read_small(path, cmd, sizeof cmd);
  if (n > 0) {
    for (ssize_t i = 0; i < n - 1; i++)
      if (cmd[i] == '\0') cmd[i] = ' ';
    fprintf(out, "command: %s%s\n", cmd, n == (ssize_t)sizeof cmd - 1 ? " ..." : "");
  }

  localtime_r(&when->tv_sec, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  strftime(zone, sizeof zone, "%z", &tm);
  fprintf(out, "when: %s.%03ld%s\n", stamp, when->tv_nsec / 1000000, zone);
  if (why != NULL) fprintf(out, "why: %s\n", why);
  if (all_stopped)
    fputs("snapshot: the process was stopped for the whole dump; the threads form one "
          "consistent picture\n",
          out);
  else
    fputs("snapshot: the process was running; each thread was stopped only while it was "
          "unwound, so threads may show slightly different moments\n",
          out);
  fprintf(out, "threads: %d, unwound in %.1f ms\n\n", d->nthreads, elapsed);
}

/* ---- the dump ---------------------------------------------------------------------------- */

/* Plain answers for the two failures a user meets: no such process, not allowed to trace it.
 * /proc/PID/syscall is guarded by the same check as PTRACE_ATTACH (ptrace_may_access in
 * attach mode, which includes Yama), so reading it tells beforehand whether the attach would be
 * refused, without attaching. */
static int check_traceable(pid_t pid, char *main_state, char *err, size_t errlen) {
  char path[64], buf[2048];
  const char *tp;

  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if (pid <= 0 || read_small(path, buf, sizeof buf) < 0) {
    fl_set_err(err, errlen, "no such process: pid %d", (int)pid);
    return -1;
  }
  tp = strstr(buf, "\nTracerPid:");
  if (tp != NULL && atoi(tp + 11) != 0) {
    fl_set_err(err, errlen,
               "cannot dump pid %d: it is already being traced by pid %d (a debugger?); a "
               "process can have only one tracer",
               (int)pid, atoi(tp + 11));
    return -1;
  }
  snprintf(path, sizeof path, "/proc/%d", (int)pid);
  *main_state = read_state_letter(path);
  if (*main_state == 'Z' || *main_state == 'X') {
    fl_set_err(err, errlen, "cannot dump pid %d: it has exited (zombie)", (int)pid);
    return -1;
  }
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  if (read_small(path, buf, sizeof buf) < 0 && (errno == EACCES || errno == EPERM)) {
    fl_set_err(err, errlen,
               "not permitted to trace pid %d (ptrace: %s); a dump needs the same user and a "
               "dumpable process, or CAP_SYS_PTRACE, and under Yama ptrace_scope=1 an ancestor",
               (int)pid, strerror(errno));
    return -1;
  }
  return 0;
}

static void free_dump(dump *d) {
  for (int i = 0; i < d->nthreads; i++) free(d->threads[i].frames);
  free(d->threads);
  if (d->syms != NULL)
    for (size_t i = 0; i < d->symcap; i++) {
      free(d->syms[i].owned);
      free(d->syms[i].owned_file);
    }
  free(d->syms);
  if (d->dwfl != NULL) dwfl_end(d->dwfl);
}

int fl_threads_dump(pid_t pid, const char *label, const char *why, FILE *out, fl_dump_info *info,
                    char *err, size_t errlen) {
  return fl_threads_dump_idle(pid, label, why, NULL, 0, out, info, err, errlen);
}

int fl_threads_dump_idle(pid_t pid, const char *label, const char *why, const fl_thread_idle *idle,
                         size_t n_idle, FILE *out, fl_dump_info *info, char *err, size_t errlen) {
  dump d = {.pid = pid, .idle = idle, .n_idle = n_idle};
  struct timespec when;
  double t0 = mono_ms(), elapsed;
  char main_state = 0;
  int *order = NULL, ngroups, unwound = 0, rv = -1;
  bool all_stopped = true;
  group *groups = NULL;

  clock_gettime(CLOCK_REALTIME, &when);
  if (check_traceable(pid, &main_state, err, errlen) != 0) return -1;

  d.dwfl = dwfl_begin(&dwfl_callbacks);
  if (d.dwfl == NULL) {
    fl_set_err(err, errlen, "cannot dump pid %d: %s", (int)pid, dwfl_errmsg(-1));
    return -1;
  }
  rv = dwfl_linux_proc_report(d.dwfl, pid);
  if (rv != 0) {
    fl_set_err(err, errlen, "cannot dump pid %d: reading its memory map: %s", (int)pid,
               rv == ENOENT ? "no such process"
               : rv > 0     ? strerror(rv)
                            : dwfl_errmsg(-1));
    goto out;
  }
  if (dwfl_report_end(d.dwfl, NULL, NULL) != 0 ||
      (rv = dwfl_linux_proc_attach(d.dwfl, pid, false)) != 0) {
    fl_set_err(err, errlen, "cannot dump pid %d: %s", (int)pid,
               rv > 0 ? strerror(rv) : dwfl_errmsg(-1));
    goto out;
  }
  rv = -1;

  if (dwfl_getthreads(d.dwfl, on_thread, &d) == -1 && d.nthreads == 0) {
    fl_set_err(err, errlen, "cannot dump pid %d: %s", (int)pid, dwfl_errmsg(-1));
    goto out;
  }
  if (d.oom || resolve_all(&d) != 0) {
    fl_set_err(err, errlen, "cannot dump pid %d: out of memory", (int)pid);
    goto out;
  }
  for (int i = 0; i < d.nthreads; i++) {
    unwound += d.threads[i].nframes > 0;
    /* Read before each attach, so 't' here means someone else's ptrace stop. */
    if (d.threads[i].state_letter != 'T' && d.threads[i].state_letter != 't') all_stopped = false;
  }
  if (unwound == 0) {
    const thread_rec *t = d.nthreads ? &d.threads[0] : NULL;

    if (t != NULL && (t->stop_errno == EPERM || t->stop_errno == EACCES))
      fl_set_err(err, errlen, "not permitted to trace pid %d (ptrace: %s)", (int)pid,
                 t->stop_reason);
    else if (t != NULL && t->stop_errno == ESRCH)
      fl_set_err(err, errlen, "no such process: pid %d (it exited during the dump)", (int)pid);
    else
      fl_set_err(err, errlen, "cannot dump pid %d: no thread could be unwound (%s)", (int)pid,
                 t != NULL ? t->stop_reason : "no threads");
    goto out;
  }
  ngroups = group_threads(&d, &order, &groups);
  if (ngroups < 0) {
    fl_set_err(err, errlen, "cannot dump pid %d: out of memory", (int)pid);
    goto out;
  }
  elapsed = mono_ms() - t0;

  print_header(out, &d, label, why, &when, all_stopped, elapsed);
  print_summary(out, &d, groups, ngroups);
  for (int i = 0; i < d.nthreads; i++) print_thread(out, &d, &d.threads[i]);
  if (fflush(out) != 0 || ferror(out)) {
    fl_set_err(err, errlen, "cannot write the dump of pid %d: %s", (int)pid, strerror(errno));
    goto out;
  }
  if (info != NULL) {
    info->threads = d.nthreads;
    info->elapsed_ms = elapsed;
  }
  rv = 0;

out:
  free(order);
  free(groups);
  free_dump(&d);
  return rv;
}
