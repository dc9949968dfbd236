/*
 * dump_files: writes the three files of one dump of a live process through the runner's call,
 * fl_threads_dump_files, with the hooks the runner fills from its observations: an idle time
 * for every thread (the main thread 90 s, so Go's ", 1 minutes" appears; the others 1.5 s) and
 * two pending operations of a built-in peer. dump_formats.sh then reads the files with
 * panicparse and go tool pprof.
 *
 * usage: dump_files PID DIR STEM      (writes DIR/STEM.txt, DIR/STEM.go.txt, DIR/STEM.pb.gz)
 * Exit 0 written, 1 failed (the reason on stderr), 2 usage.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "threads.h"

#define MAX_THREADS 256

int main(int argc, char **argv) {
  fl_thread_idle idle[MAX_THREADS];
  size_t n_idle = 0;
  const fl_pending_op pending[] = {
      {.op = "close_send",
       .call = 1,
       .step_file = "scenarios/closesend-blocked.yaml",
       .step_line = 17,
       .pending_ns = 1250000000,
       .queued_bytes = 65536},
      {.op = "recv_message", .call = 1, .pending_ns = -1, .queued_bytes = -1},
  };
  char path[64], err[512];
  fl_dump_info info;
  struct dirent *de;
  DIR *tasks;
  pid_t pid;
  int dirfd;

  if (argc != 4 || (pid = (pid_t)atoi(argv[1])) <= 0) {
    fprintf(stderr, "usage: dump_files PID DIR STEM\n");
    return 2;
  }
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  tasks = opendir(path);
  while (tasks != NULL && (de = readdir(tasks)) != NULL && n_idle < MAX_THREADS) {
    pid_t tid = (pid_t)atoi(de->d_name);

    if (tid > 0)
      idle[n_idle++] = (fl_thread_idle){.tid = tid, .idle_ns = tid == pid ? 90e9 : 1.5e9};
  }
  if (tasks != NULL) closedir(tasks);
  dirfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    perror(argv[2]);
    return 1;
  }
  fl_dump_opts o = {.label = "fixture",
                    .why = "test: the runner's call",
                    .idle = idle,
                    .n_idle = n_idle,
                    .pending = pending,
                    .n_pending = sizeof pending / sizeof pending[0]};
  if (fl_threads_dump_files(pid, &o, dirfd, argv[3], &info, err, sizeof err) != 0) {
    fprintf(stderr, "dump_files: %s\n", err);
    return 1;
  }
  close(dirfd);
  printf("dumped %d threads in %.1f ms\n", info.threads, info.elapsed_ms);
  return 0;
}
