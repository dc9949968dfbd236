/*
 * render_cases: the renderers on a dump built by hand with every case Go's grammar is strict
 * about: a comm and a wait holding "]" and ", ", function names holding '%' and '/', files a
 * goroutine dump cannot name (.cc, .h, .S), frames without a symbol (in a module and outside
 * any), inlined frames, a thread that could not be unwound, an elided stack, a pending
 * operation. dump_formats.sh reads what it writes with panicparse and go tool pprof.
 *
 * usage: render_cases DIR     (writes DIR/cases.txt, DIR/cases.go.txt, DIR/cases.pb.gz)
 * Exit 0 written, 1 failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "threads.h"

#define NTHREADS 5

int main(int argc, char **argv) {
  static fl_module modules[] = {
      {.path = "/src/proj/build/faultline-peer", .start = 0x550000000000, .end = 0x550000100000},
      {.path = "/usr/lib/x86_64-linux-gnu/libgrpc.so.29.0.0",
       .start = 0x7f0000000000,
       .end = 0x7f0000800000,
       .build_id = "0123abcd"},
  };
  static fl_inline inl[] = {
      {.function = "inlined_helper", .file = "/src/proj/inc/util.h", .line = 7},
      {.function = "static_inline.part.0", .file = "/src/proj/x.c", .line = 21}};
  static fl_symbol syms[] = {
      {.pc = 0x550000001000,
       .module = 0,
       .module_offset = 0x1000,
       .function = "ok_function",
       .function_offset = 0x10,
       .file = "/src/proj/ok.c",
       .line = 42},
      {.pc = 0x7f0000100000,
       .module = 1,
       .module_offset = 0x100000,
       .function = "grpc_core::Foo::operator/(int) const",
       .function_offset = 0x20,
       .file = "/src/grpc/foo.cc",
       .line = 10},
      {.pc = 0x7f0000200000,
       .module = 1,
       .module_offset = 0x200000,
       .function = "fifty%_done",
       .function_offset = 0x5,
       .file = "/src/proj/inc/header.h",
       .line = 3},
      {.pc = 0x7f0000300000, .module = 1, .module_offset = 0x300000}, /* no symbol */
      {.pc = 0x1234, .module = -1},                                   /* no module */
      {.pc = 0x550000003000,
       .module = 0,
       .module_offset = 0x3000,
       .function = "with_inlines",
       .function_offset = 0x40,
       .file = "/src/proj/x.c",
       .line = 30,
       .inlined = inl,
       .ninlined = 2},
      {.pc = 0x550000004000,
       .module = 0,
       .module_offset = 0x4000,
       .function = "main.main",
       .function_offset = 0x99,
       .file = "/src/go/main.go",
       .line = 12},
      {.pc = 0x550000002000,
       .module = 0,
       .module_offset = 0x2000,
       .function = "__clone3",
       .function_offset = 0x2b,
       .file = "sysdeps/unix/sysv/linux/x86_64/clone3.S",
       .line = 81},
  };
  static fl_frame all[] = {{.pc = 0x550000001000, .activation = true},
                           {.pc = 0x7f0000100001},
                           {.pc = 0x7f0000200001},
                           {.pc = 0x7f0000300001},
                           {.pc = 0x1235},
                           {.pc = 0x550000003001},
                           {.pc = 0x550000004001},
                           {.pc = 0x550000002001}};
  static fl_frame deep[300];
  static const fl_pending_op pending[] = {{.op = "close_send",
                                           .call = 2,
                                           .step_file = "/src/s]cen, arios/x.yaml",
                                           .step_line = 9,
                                           .pending_ns = 61500000000,
                                           .queued_bytes = 0}};
  fl_thread threads[NTHREADS] = {
      {.tid = 101,
       .name = "we]ird, name",
       .state_letter = 'T',
       .state = "stopped",
       .waits = "epoll_wait fd 5 (anon_inode:[eventpoll])",
       .idle_ns = 150000000000,
       .frames = all,
       .nframes = 8},
      {.tid = 102,
       .name = "plain",
       .state_letter = 'R',
       .state = "running",
       .frames = all,
       .nframes = 1},
      {.tid = 103,
       .name = "gone",
       .state = "gone",
       .stop_reason = "ptrace: No such process, [really]"},
      {.tid = 104,
       .name = "deep",
       .state_letter = 'S',
       .state = "sleeping",
       .waits = "futex wait 0x7f00deadbeef",
       .frames = deep,
       .nframes = 256,
       .elided = true},
      {.tid = 105,
       .name = "cut",
       .state_letter = 'S',
       .state = "sleeping",
       .waits = "nanosleep",
       .idle_ns = 1500000000,
       .frames = all,
       .nframes = 3,
       .stop_reason = "no matching address range"},
  };
  fl_dump d = {.pid = 101,
               .label = "server",
               .comm = "faultline-peer",
               .command = "faultline-peer --side server",
               .why = "test: hand-made",
               .consistent = true,
               .elapsed_ms = 1.5,
               .threads = threads,
               .nthreads = NTHREADS,
               .modules = modules,
               .nmodules = 2,
               .symbols = syms,
               .nsymbols = sizeof syms / sizeof syms[0],
               .pending = (fl_pending_op *)pending,
               .npending = 1};
  char err[512];
  int dirfd;

  if (argc != 2) {
    fprintf(stderr, "usage: render_cases DIR\n");
    return 2;
  }
  clock_gettime(CLOCK_REALTIME, &d.when);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    all[i].sym = &syms[i];
    /* the looked-up address is pc-1 except for the innermost (activation) frame */
    if (all[i].pc - !all[i].activation != syms[i].pc) {
      fprintf(stderr, "render_cases: frame %zu does not match its symbol\n", i);
      return 1;
    }
  }
  for (size_t i = 0; i < sizeof deep / sizeof deep[0]; i++) deep[i] = all[0];
  dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0 || fl_dump_write_files(&d, dirfd, "cases", err, sizeof err) != 0) {
    fprintf(stderr, "render_cases: %s\n", dirfd < 0 ? strerror(errno) : err);
    return 1;
  }
  return 0;
}
