#include "threads.h"
#include "dump_go.h"
#include "dump_pprof.h"
#include "dump_text.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Deeper stacks are cut: a corrupt frame chain can loop, and no dump reader wants more. */
#define MAX_FRAMES 256

/* Address ranges of one module's compilation units, for modules whose DWARF has no
 * .debug_aranges (see cu_for_address). */
typedef struct {
  Dwarf_Addr start, end; /* in the process's addresses */
  Dwarf_Die cu;
} cu_range;

typedef struct {
  Dwfl_Module *mod;
  bool cu_table_built;
  cu_range *cus;
  size_t ncus;
} module_aux;

/* The state of one take: the Dwfl session and what is collected before it ends. */
typedef struct {
  pid_t pid;
  Dwfl *dwfl;
  fl_dump *d;
  int thread_cap;
  int *stop_errnos; /* parallel to d->threads: errno of a failed unwind, 0 if none */
  bool oom;
  module_aux *aux; /* parallel to d->modules */
  int module_cap;
  size_t *slots; /* hash table of indices + 1 into d->symbols, by looked-up address */
  size_t nslots;
} session;

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

/* The name to keep, allocated: without the symbol version glibc's symbols carry in the symbol
 * table ("pthread_cond_wait@@GLIBC_2.3.2"), demangled if C++. NULL if out of memory. */
static char *display_name(const char *name) {
  const char *at = strchr(name, '@');
  char *plain = at != NULL && at != name ? strndup(name, (size_t)(at - name)) : strdup(name);
  char *d;
  int status = -1;

  if (plain == NULL || strncmp(plain, "_Z", 2) != 0) return plain;
  pthread_once(&demangle_once, load_demangler);
  if (cxa_demangle == NULL) return plain;
  d = cxa_demangle(plain, NULL, NULL, &status);
  if (status != 0 || d == NULL) {
    free(d);
    return plain;
  }
  free(plain);
  return d;
}

/* ---- source paths ------------------------------------------------------------------------ */

/* Folds "." and ".." lexically and squeezes slashes, as Go's filepath.Clean does:
 * "/src/proj/build/../tests/x.c" -> "/src/proj/tests/x.c", "./io/../sysdeps/x.c" ->
 * "sysdeps/x.c". A relative path keeps the ".." it cannot fold. Allocated; NULL if out of
 * memory. */
static char *clean_path(const char *path) {
  size_t cap = strlen(path) + 2, len = 0;
  bool absolute = path[0] == '/';
  char *out = malloc(cap), *copy = strdup(path), *save = NULL;
  size_t floor = 0; /* out[0..floor) is a run of "../" that cannot be folded */

  if (out == NULL || copy == NULL) {
    free(out);
    free(copy);
    return NULL;
  }
  for (char *part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, ".") == 0) continue;
    if (strcmp(part, "..") == 0) {
      if (len > floor) {
        while (len > floor && out[len - 1] != '/') len--;
        if (len > floor) len--; /* the slash before the removed part */
        continue;
      }
      if (absolute) continue; /* "/.." is "/" */
      if (len > 0) out[len++] = '/';
      memcpy(out + len, "..", 2);
      len += 2;
      floor = len;
      continue;
    }
    if (len > 0 || absolute) out[len++] = '/';
    memcpy(out + len, part, strlen(part));
    len += strlen(part);
  }
  if (len == 0) out[len++] = absolute ? '/' : '.';
  out[len] = '\0';
  free(copy);
  return out;
}

/* The file of a line record as a reader can open it. libdw has prefixed the name with its
 * directory entry; for directory 0 that is the compilation directory, any other relative entry
 * ("../sysdeps/unix/sysv/linux") is relative to the compilation directory and left so. Joining
 * those with DW_AT_comp_dir (and folding) gives one path per file: absolute when the comp_dir
 * is, else relative to the root the compiler's prefix map named ".". Allocated. */
static char *source_path(Dwarf_Die *cu, const char *file) {
  Dwarf_Attribute attr;
  const char *dir;
  size_t dlen;
  char *joined, *out;

  if (file[0] == '/') return clean_path(file);
  dir = cu != NULL ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : NULL;
  if (dir == NULL || dir[0] == '\0') return clean_path(file);
  dlen = strlen(dir);
  if (strncmp(file, dir, dlen) == 0 && file[dlen] == '/') return clean_path(file);
  if (asprintf(&joined, "%s/%s", dir, file) < 0) return NULL;
  out = clean_path(joined);
  free(joined);
  return out;
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
    /* A sleep (nanosleep, poll, a futex with a timeout) that a signal or a ptrace stop - an
     * earlier dump - interrupted resumes through restart_syscall. */
    {SYS_restart_syscall, "restart_syscall", ARG_NONE},
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
static void describe_syscall(session *s, const char *line, char *out, size_t size) {
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
      name_data_address(s->dwfl, (Dwarf_Addr)args[0], what, sizeof what);
      if (verb != NULL)
        snprintf(out, size, "futex %s %s", verb, what);
      else
        snprintf(out, size, "futex op %d %s", op, what);
      return;
    }
    case ARG_FD0:
      snprintf(path, sizeof path, "/proc/%d/fd/%llu", (int)s->pid, args[0]);
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

static void read_thread_state(session *s, fl_thread *t) {
  char dir[64], path[96], buf[512];
  char c;

  snprintf(dir, sizeof dir, "/proc/%d/task/%d", (int)s->pid, (int)t->tid);
  snprintf(path, sizeof path, "%s/comm", dir);
  if (read_small(path, buf, sizeof buf) >= 0) {
    chomp(buf);
    snprintf(t->name, sizeof t->name, "%s", buf);
  }
  c = read_state_letter(dir);
  t->state_letter = c;
  t->state = c ? state_word(c) : "gone";

  snprintf(path, sizeof path, "%s/syscall", dir);
  if (read_small(path, buf, sizeof buf) >= 0) {
    describe_syscall(s, buf, t->waits, sizeof t->waits);
    return;
  }
  /* syscall needs ptrace rights and is missing on kernels without CONFIG_HAVE_ARCH_TRACEHOOK;
   * the kernel function the thread sleeps in is the next best thing. */
  snprintf(path, sizeof path, "%s/wchan", dir);
  if (read_small(path, buf, sizeof buf) > 0 && strcmp(buf, "0") != 0)
    snprintf(t->waits, sizeof t->waits, "in %s", buf);
}

/* ---- unwinding --------------------------------------------------------------------------- */

typedef struct {
  fl_thread *t;
  int cap;
} unwind_state;

static int on_frame(Dwfl_Frame *state, void *arg) {
  unwind_state *u = arg;
  fl_thread *t = u->t;
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
  if (t->nframes == u->cap) {
    int cap = u->cap ? u->cap * 2 : 16;
    fl_frame *f = realloc(t->frames, cap * sizeof *f);

    if (f == NULL) {
      snprintf(t->stop_reason, sizeof t->stop_reason, "out of memory");
      return DWARF_CB_ABORT;
    }
    t->frames = f;
    u->cap = cap;
  }
  t->frames[t->nframes] = (fl_frame){.pc = pc, .activation = activation};
  t->nframes++;
  return DWARF_CB_OK;
}

static int on_thread(Dwfl_Thread *thread, void *arg) {
  session *s = arg;
  fl_dump *d = s->d;
  unwind_state u = {0};

  if (d->nthreads == s->thread_cap) {
    int cap = s->thread_cap ? s->thread_cap * 2 : 32;
    fl_thread *r = realloc(d->threads, cap * sizeof *r);
    int *e = r != NULL ? realloc(s->stop_errnos, cap * sizeof *e) : NULL;

    if (r != NULL) d->threads = r;
    if (e == NULL) {
      s->oom = true;
      return DWARF_CB_ABORT;
    }
    s->stop_errnos = e;
    s->thread_cap = cap;
  }
  s->stop_errnos[d->nthreads] = 0;
  u.t = &d->threads[d->nthreads++];
  memset(u.t, 0, sizeof *u.t);
  u.t->tid = dwfl_thread_tid(thread);
  /* Before the attach: once ptrace-attached every thread reads as "tracing stop". */
  read_thread_state(s, u.t);
  errno = 0;
  if (dwfl_thread_getframes(thread, on_frame, &u) == -1 && u.t->stop_reason[0] == '\0') {
    s->stop_errnos[d->nthreads - 1] = errno;
    snprintf(u.t->stop_reason, sizeof u.t->stop_reason, "%s", dwfl_errmsg(-1));
  }
  return DWARF_CB_OK;
}

/* ---- modules ----------------------------------------------------------------------------- */

static int on_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                     void *arg) {
  session *s = arg;
  fl_dump *d = s->d;
  Dwarf_Addr end = 0;

  if (d->nmodules == s->module_cap) {
    int cap = s->module_cap ? s->module_cap * 2 : 32;
    fl_module *m = realloc(d->modules, cap * sizeof *m);
    module_aux *a = m != NULL ? realloc(s->aux, cap * sizeof *a) : NULL;

    if (m != NULL) d->modules = m;
    if (a == NULL) {
      s->oom = true;
      return DWARF_CB_ABORT;
    }
    s->aux = a;
    s->module_cap = cap;
  }
  dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
  d->modules[d->nmodules] = (fl_module){.path = strdup(name), .start = start, .end = end};
  s->aux[d->nmodules] = (module_aux){.mod = mod};
  if (d->modules[d->nmodules].path == NULL) {
    s->oom = true;
    return DWARF_CB_ABORT;
  }
  /* The index, kept in the module's own slot so an address's module is found in O(1). */
  *userdata = (void *)(intptr_t)(d->nmodules + 1);
  d->nmodules++;
  return DWARF_CB_OK;
}

/* Puts the process's executable (/proc/PID/exe) first among the modules, as pprof expects of
 * its mappings, and renumbers the modules' slots. */
static void main_module_first(session *s) {
  fl_dump *d = s->d;
  char link[64], exe[PATH_MAX];
  ssize_t n;

  snprintf(link, sizeof link, "/proc/%d/exe", (int)s->pid);
  n = readlink(link, exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  for (int i = 1; i < d->nmodules; i++) {
    if (strcmp(d->modules[i].path, exe) != 0) continue;
    fl_module m = d->modules[i];
    module_aux a = s->aux[i];

    memmove(&d->modules[1], &d->modules[0], (size_t)i * sizeof *d->modules);
    memmove(&s->aux[1], &s->aux[0], (size_t)i * sizeof *s->aux);
    d->modules[0] = m;
    s->aux[0] = a;
    for (int k = 0; k <= i; k++) {
      void **userdata = NULL;

      dwfl_module_info(s->aux[k].mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
      if (userdata != NULL) *userdata = (void *)(intptr_t)(k + 1);
    }
    return;
  }
}

static int module_index(Dwfl_Module *mod) {
  void **userdata = NULL;

  dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
  return userdata != NULL ? (int)(intptr_t)*userdata - 1 : -1;
}

/* Build ids of the modules that frames touched (their ELF is open by then; the others would
 * have to be opened just for this, which a dump does not need). */
static void read_build_ids(session *s) {
  for (int i = 0; i < s->d->nmodules; i++) {
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(s->aux[i].mod, &bits, &vaddr);
    char *hex = s->d->modules[i].build_id;

    hex[0] = '\0';
    for (int k = 0; k < n && 2 * k + 2 < (int)sizeof s->d->modules[i].build_id; k++)
      snprintf(hex + 2 * k, 3, "%02x", bits[k]);
  }
}

static int cmp_cu_range(const void *pa, const void *pb) {
  const cu_range *a = pa, *b = pb;

  return (a->start > b->start) - (a->start < b->start);
}

/* libdw 0.188 finds the compilation unit of an address through .debug_aranges only, and a
 * module without that section (Go's linker writes none; clang does not by default) has, to it,
 * no line information at all, although each CU states its address ranges (DW_AT_ranges,
 * DW_AT_low_pc/high_pc). For such modules the ranges are read once per dump, on the first
 * address that needs them. Returns the CU holding pc, or NULL. */
static Dwarf_Die *cu_for_address(session *s, int mi, Dwarf_Addr pc, Dwarf_Addr *bias) {
  module_aux *a = &s->aux[mi];
  Dwarf *dw = dwfl_module_getdwarf(a->mod, bias);
  size_t lo = 0, hi;

  if (dw == NULL) return NULL;
  if (!a->cu_table_built) {
    Dwarf_Aranges *aranges;
    size_t naranges = 0, cap = 0;
    Dwarf_Die *cu = NULL;
    Dwarf_Addr b;

    a->cu_table_built = true;
    /* With aranges present libdw has looked already; scanning would find nothing new. */
    if (dwarf_getaranges(dw, &aranges, &naranges) == 0 && naranges > 0) return NULL;
    while ((cu = dwfl_module_nextcu(a->mod, cu, &b)) != NULL) {
      Dwarf_Addr base, start, end;
      ptrdiff_t off = 0;

      while ((off = dwarf_ranges(cu, off, &base, &start, &end)) > 0) {
        if (a->ncus == cap) {
          size_t ncap = cap ? cap * 2 : 64;
          cu_range *r = realloc(a->cus, ncap * sizeof *r);

          if (r == NULL) return NULL; /* no line information then; not worth failing a dump */
          a->cus = r;
          cap = ncap;
        }
        a->cus[a->ncus++] = (cu_range){.start = start + b, .end = end + b, .cu = *cu};
      }
    }
    qsort(a->cus, a->ncus, sizeof *a->cus, cmp_cu_range);
  }
  /* The last range starting at or below pc; ranges of different CUs do not overlap. */
  hi = a->ncus;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (a->cus[mid].start <= pc)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0 || pc >= a->cus[lo - 1].end) return NULL;
  return &a->cus[lo - 1].cu;
}

/* ---- symbols ----------------------------------------------------------------------------- */

static Dwarf_Addr lookup_pc(const fl_frame *f) {
  /* A return address points after the call, possibly into the next line or function. */
  return f->activation ? f->pc : f->pc - 1;
}

/* The name a DWARF scope gives its function: the linkage name (demangled) when there is one,
 * else DW_AT_name, following abstract origins. Allocated; NULL if out of memory. */
static char *scope_name(Dwarf_Die *die) {
  Dwarf_Attribute a;
  const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));

  if (n == NULL) n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
  if (n == NULL) n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
  return display_name(n != NULL ? n : "??");
}

/* Where an inlined subroutine was called from: DW_AT_call_file (an index into the CU's file
 * table) and DW_AT_call_line. Sets *file NULL if unknown. Returns -1 if out of memory. */
static int call_site(Dwarf_Die *cu, Dwarf_Die *inl, char **file, int *line) {
  Dwarf_Attribute a;
  Dwarf_Word idx, ln;
  Dwarf_Files *files;
  size_t nfiles;
  const char *name;

  *file = NULL;
  *line = 0;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &idx) != 0 ||
      dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &ln) != 0 || ln == 0 ||
      dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles ||
      (name = dwarf_filesrc(files, idx, NULL, NULL)) == NULL)
    return 0;
  *file = source_path(cu, name);
  if (*file == NULL) return -1;
  *line = (int)ln;
  return 0;
}

/* Expands the inlined functions at addr (a module address) of sym, whose file and line hold
 * the line table's row for it: the row becomes the innermost inlined function's, and each
 * call site moves one frame out. Returns -1 if out of memory. */
static int expand_inlines(Dwarf_Die *cu, Dwarf_Addr addr, fl_symbol *sym) {
  Dwarf_Die *scopes = NULL;
  int n = dwarf_getscopes(cu, addr, &scopes), ninl = 0, rv = 0;

  for (int i = 0; i < n && dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine; i++) ninl++;
  if (ninl > 0 && (sym->inlined = calloc((size_t)ninl, sizeof *sym->inlined)) == NULL) rv = -1;
  for (int i = 0; rv == 0 && i < ninl; i++) {
    fl_inline *in = &sym->inlined[sym->ninlined++];

    in->function = scope_name(&scopes[i]);
    in->file = sym->file;
    in->line = sym->line;
    if (in->function == NULL || call_site(cu, &scopes[i], &sym->file, &sym->line) != 0) rv = -1;
  }
  free(scopes);
  return rv;
}

/* Fills sym (whose pc is set) from the module that maps it. Returns -1 if out of memory. */
static int symbolize(session *s, fl_symbol *sym) {
  Dwarf_Addr pc = sym->pc, bias = 0;
  Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
  GElf_Off off = 0;
  GElf_Sym elfsym;
  const char *name, *file = NULL;
  Dwarf_Die *cu = NULL;
  Dwfl_Line *line;
  int lineno = 0;

  sym->module = -1;
  if (mod == NULL) return 0;
  sym->module = module_index(mod);
  if (sym->module >= 0) sym->module_offset = pc - s->d->modules[sym->module].start;
  name = dwfl_module_addrinfo(mod, pc, &off, &elfsym, NULL, NULL, NULL);
  if (name != NULL) {
    sym->function = display_name(name);
    if (sym->function == NULL) return -1;
    sym->function_offset = off;
  }
  line = dwfl_module_getsrc(mod, pc);
  if (line != NULL) {
    file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
    cu = dwfl_linecu(line);
    if (dwfl_module_getdwarf(mod, &bias) == NULL) cu = NULL;
  } else if (sym->module >= 0 && (cu = cu_for_address(s, sym->module, pc, &bias)) != NULL) {
    Dwarf_Line *l = dwarf_getsrc_die(cu, pc - bias);

    if (l != NULL && dwarf_lineno(l, &lineno) == 0) file = dwarf_linesrc(l, NULL, NULL);
  }
  if (file == NULL || lineno <= 0) return 0;
  sym->file = source_path(cu, file);
  if (sym->file == NULL) return -1;
  sym->line = lineno;
  return cu != NULL ? expand_inlines(cu, pc - bias, sym) : 0;
}

/* Resolves every frame's address once: stacks repeat heavily (a pool of identical workers). */
static int resolve_all(session *s) {
  fl_dump *d = s->d;
  size_t total = 0, mask;

  for (int i = 0; i < d->nthreads; i++) total += d->threads[i].nframes;
  /* Sized once, at most half full, so lookups stay short and nothing is rehashed; symbols
   * never move, so frames may point at them. */
  s->nslots = 64;
  while (s->nslots < 2 * total) s->nslots *= 2;
  mask = s->nslots - 1;
  s->slots = calloc(s->nslots, sizeof *s->slots);
  d->symbols = calloc(total ? total : 1, sizeof *d->symbols);
  if (s->slots == NULL || d->symbols == NULL) return -1;
  for (int i = 0; i < d->nthreads; i++) {
    for (int j = 0; j < d->threads[i].nframes; j++) {
      fl_frame *f = &d->threads[i].frames[j];
      Dwarf_Addr pc = lookup_pc(f);
      size_t k = (size_t)((pc * 0x9E3779B97F4A7C15ull) >> 20) & mask;

      while (s->slots[k] != 0 && d->symbols[s->slots[k] - 1].pc != pc) k = (k + 1) & mask;
      if (s->slots[k] == 0) {
        fl_symbol *sym = &d->symbols[d->nsymbols++];

        sym->pc = pc;
        s->slots[k] = d->nsymbols;
        if (symbolize(s, sym) != 0) return -1;
      }
      f->sym = &d->symbols[s->slots[k] - 1];
    }
  }
  return 0;
}

/* ---- the dump ---------------------------------------------------------------------------- */

/* Plain answers for the two failures a user meets: no such process, not allowed to trace it.
 * /proc/PID/syscall is guarded by the same check as PTRACE_ATTACH (ptrace_may_access in
 * attach mode, which includes Yama), so reading it tells beforehand whether the attach would be
 * refused, without attaching. */
static int check_traceable(pid_t pid, char *err, size_t errlen) {
  char path[64], buf[2048];
  const char *tp;
  char state;

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
  state = read_state_letter(path);
  if (state == 'Z' || state == 'X') {
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

static void read_process(fl_dump *d, const fl_dump_opts *o) {
  char path[64];
  ssize_t n;

  snprintf(d->comm, sizeof d->comm, "?");
  snprintf(path, sizeof path, "/proc/%d/comm", (int)d->pid);
  if (read_small(path, d->comm, sizeof d->comm) >= 0) chomp(d->comm);
  snprintf(d->label, sizeof d->label, "%s", o->label != NULL ? o->label : d->comm);
  snprintf(d->why, sizeof d->why, "%s", o->why != NULL ? o->why : "");
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)d->pid);
  n = read_small(path, d->command, sizeof d->command);
  if (n > 0) {
    for (ssize_t i = 0; i < n - 1; i++)
      if (d->command[i] == '\0') d->command[i] = ' ';
    d->command_cut = n == (ssize_t)sizeof d->command - 1;
  } else {
    d->command[0] = '\0';
  }
}

static int copy_pending(fl_dump *d, const fl_dump_opts *o) {
  if (o->n_pending == 0) return 0;
  d->pending = calloc(o->n_pending, sizeof *d->pending);
  if (d->pending == NULL) return -1;
  for (size_t i = 0; i < o->n_pending; i++) {
    const fl_pending_op *p = &o->pending[i];
    fl_pending_op *c = &d->pending[d->npending++];

    *c = *p;
    c->op = strdup(p->op != NULL ? p->op : "?");
    c->step_file = p->step_file != NULL ? strdup(p->step_file) : NULL;
    if (c->op == NULL || (p->step_file != NULL && c->step_file == NULL)) return -1;
  }
  return 0;
}

static void end_session(session *s) {
  if (s->aux != NULL)
    for (int i = 0; i < s->d->nmodules; i++) free(s->aux[i].cus);
  free(s->aux);
  free(s->slots);
  free(s->stop_errnos);
  if (s->dwfl != NULL) dwfl_end(s->dwfl);
  s->aux = NULL;
  s->slots = NULL;
  s->stop_errnos = NULL;
  s->dwfl = NULL;
}

void fl_dump_free(fl_dump *d) {
  if (d == NULL) return;
  for (int i = 0; i < d->nthreads; i++) free(d->threads[i].frames);
  free(d->threads);
  for (int i = 0; i < d->nmodules; i++) free(d->modules[i].path);
  free(d->modules);
  for (size_t i = 0; i < d->nsymbols; i++) {
    for (int k = 0; k < d->symbols[i].ninlined; k++) {
      free(d->symbols[i].inlined[k].function);
      free(d->symbols[i].inlined[k].file);
    }
    free(d->symbols[i].inlined);
    free(d->symbols[i].function);
    free(d->symbols[i].file);
  }
  free(d->symbols);
  for (size_t i = 0; i < d->npending; i++) {
    free((char *)d->pending[i].op);
    free((char *)d->pending[i].step_file);
  }
  free(d->pending);
  free(d);
}

/* Why no thread could be unwound, in the words check_traceable would have used. */
static void explain_no_frames(const session *s, char *err, size_t errlen) {
  const fl_dump *d = s->d;
  const fl_thread *t = d->nthreads ? &d->threads[0] : NULL;
  int e = t != NULL ? s->stop_errnos[0] : 0;

  if (e == EPERM || e == EACCES)
    fl_set_err(err, errlen, "not permitted to trace pid %d (ptrace: %s)", (int)d->pid,
               t->stop_reason);
  else if (e == ESRCH)
    fl_set_err(err, errlen, "no such process: pid %d (it exited during the dump)", (int)d->pid);
  else
    fl_set_err(err, errlen, "cannot dump pid %d: no thread could be unwound (%s)", (int)d->pid,
               t != NULL ? t->stop_reason : "no threads");
}

int fl_dump_take(pid_t pid, const fl_dump_opts *opts, fl_dump **out, char *err, size_t errlen) {
  static const fl_dump_opts none;
  const fl_dump_opts *o = opts != NULL ? opts : &none;
  double t0 = mono_ms();
  session s = {.pid = pid};
  fl_dump *d;
  int rv, unwound = 0;

  *out = NULL;
  if (check_traceable(pid, err, errlen) != 0) return -1;
  d = calloc(1, sizeof *d);
  if (d == NULL) {
    fl_set_err(err, errlen, "cannot dump pid %d: out of memory", (int)pid);
    return -1;
  }
  s.d = d;
  d->pid = pid;
  clock_gettime(CLOCK_REALTIME, &d->when);
  read_process(d, o);

  s.dwfl = dwfl_begin(&dwfl_callbacks);
  if (s.dwfl == NULL) {
    fl_set_err(err, errlen, "cannot dump pid %d: %s", (int)pid, dwfl_errmsg(-1));
    goto fail;
  }
  rv = dwfl_linux_proc_report(s.dwfl, pid);
  if (rv != 0) {
    fl_set_err(err, errlen, "cannot dump pid %d: reading its memory map: %s", (int)pid,
               rv == ENOENT ? "no such process"
               : rv > 0     ? strerror(rv)
                            : dwfl_errmsg(-1));
    goto fail;
  }
  if (dwfl_report_end(s.dwfl, NULL, NULL) != 0 ||
      (rv = dwfl_linux_proc_attach(s.dwfl, pid, false)) != 0) {
    fl_set_err(err, errlen, "cannot dump pid %d: %s", (int)pid,
               rv > 0 ? strerror(rv) : dwfl_errmsg(-1));
    goto fail;
  }
  if (dwfl_getmodules(s.dwfl, on_module, &s, 0) != 0 && s.oom) goto oom;
  main_module_first(&s);

  if (dwfl_getthreads(s.dwfl, on_thread, &s) == -1 && d->nthreads == 0) {
    fl_set_err(err, errlen, "cannot dump pid %d: %s", (int)pid, dwfl_errmsg(-1));
    goto fail;
  }
  if (s.oom) goto oom;
  d->consistent = true;
  for (int i = 0; i < d->nthreads; i++) {
    unwound += d->threads[i].nframes > 0;
    /* Read before each attach, so 't' here means someone else's ptrace stop. */
    if (d->threads[i].state_letter != 'T' && d->threads[i].state_letter != 't')
      d->consistent = false;
  }
  if (unwound == 0) {
    explain_no_frames(&s, err, errlen);
    goto fail;
  }
  for (int i = 0; i < d->nthreads; i++) {
    for (size_t k = 0; k < o->n_idle; k++)
      if (o->idle[k].tid == d->threads[i].tid && o->idle[k].idle_ns > 0)
        d->threads[i].idle_ns = o->idle[k].idle_ns;
  }
  if (resolve_all(&s) != 0 || copy_pending(d, o) != 0) goto oom;
  read_build_ids(&s);
  end_session(&s);
  d->elapsed_ms = mono_ms() - t0;
  *out = d;
  return 0;

oom:
  fl_set_err(err, errlen, "cannot dump pid %d: out of memory", (int)pid);
fail:
  end_session(&s);
  fl_dump_free(d);
  return -1;
}

/* ---- files ------------------------------------------------------------------------------- */

typedef int (*render_fn)(const fl_dump *, FILE *, char *, size_t);

/* The directory a relative name is written in, for messages: its path if /proc tells it. */
static void dir_name(int dirfd, char *buf, size_t size) {
  char link[64];
  ssize_t n;

  snprintf(buf, size, ".");
  if (dirfd == AT_FDCWD) return;
  snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
  n = readlink(link, buf, size - 1);
  if (n > 0)
    buf[n] = '\0';
  else
    snprintf(buf, size, ".");
}

static int write_one(const fl_dump *d, int dirfd, const char *stem, const char *suffix,
                     render_fn render, char *err, size_t errlen) {
  char name[PATH_MAX], dir[PATH_MAX], why[256];
  int fd;
  FILE *f;
  int rv;

  snprintf(name, sizeof name, "%s%s", stem, suffix);
  fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (f == NULL) {
    int e = errno;

    if (fd >= 0) close(fd);
    dir_name(dirfd, dir, sizeof dir);
    fl_set_err(err, errlen, "cannot write %s%s%s: %s", name[0] == '/' ? "" : dir,
               name[0] == '/' ? "" : "/", name, strerror(e));
    return -1;
  }
  rv = render(d, f, why, sizeof why);
  if (fclose(f) != 0 && rv == 0) {
    rv = -1;
    snprintf(why, sizeof why, "%s", strerror(errno));
  }
  if (rv != 0) {
    dir_name(dirfd, dir, sizeof dir);
    fl_set_err(err, errlen, "cannot write %s%s%s: %s", name[0] == '/' ? "" : dir,
               name[0] == '/' ? "" : "/", name, why);
  }
  return rv;
}

int fl_dump_write_files(const fl_dump *d, int dirfd, const char *stem, char *err, size_t errlen) {
  static const struct {
    const char *suffix;
    render_fn render;
  } forms[] = {{FL_DUMP_SUFFIX_TEXT, fl_dump_write_text},
               {FL_DUMP_SUFFIX_GO, fl_dump_write_go},
               {FL_DUMP_SUFFIX_PPROF, fl_dump_write_pprof}};
  int rv = 0;

  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char e[512];

    if (write_one(d, dirfd, stem, forms[i].suffix, forms[i].render, e, sizeof e) != 0 && rv == 0) {
      rv = -1;
      fl_set_err(err, errlen, "%s", e);
    }
  }
  return rv;
}

int fl_threads_dump_files(pid_t pid, const fl_dump_opts *opts, int dirfd, const char *stem,
                          fl_dump_info *info, char *err, size_t errlen) {
  fl_dump *d;
  int rv;

  if (fl_dump_take(pid, opts, &d, err, errlen) != 0) return -1;
  if (info != NULL) *info = (fl_dump_info){.threads = d->nthreads, .elapsed_ms = d->elapsed_ms};
  rv = fl_dump_write_files(d, dirfd, stem, err, errlen);
  fl_dump_free(d);
  return rv;
}

int fl_threads_dump(pid_t pid, const char *label, const char *why, FILE *out, fl_dump_info *info,
                    char *err, size_t errlen) {
  return fl_threads_dump_idle(pid, label, why, NULL, 0, out, info, err, errlen);
}

int fl_threads_dump_idle(pid_t pid, const char *label, const char *why, const fl_thread_idle *idle,
                         size_t n_idle, FILE *out, fl_dump_info *info, char *err, size_t errlen) {
  fl_dump_opts o = {.label = label, .why = why, .idle = idle, .n_idle = n_idle};
  fl_dump *d;
  char why_not[256];
  int rv;

  if (fl_dump_take(pid, &o, &d, err, errlen) != 0) return -1;
  rv = fl_dump_write_text(d, out, why_not, sizeof why_not);
  if (rv != 0)
    fl_set_err(err, errlen, "cannot write the dump of pid %d: %s", (int)pid, why_not);
  else if (info != NULL)
    *info = (fl_dump_info){.threads = d->nthreads, .elapsed_ms = d->elapsed_ms};
  fl_dump_free(d);
  return rv;
}
