/*
 * exit_codes: the exit status of every faultline command, defined once. Each command's --help
 * lists the codes it can give with fl_exit_codes_print, from this table; the README and the man
 * page quote the same words.
 */
#ifndef FL_EXIT_CODES_H
#define FL_EXIT_CODES_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define FL_EXIT_OK 0
#define FL_EXIT_NOT_REPRODUCED 1
#define FL_EXIT_USAGE 2
#define FL_EXIT_HARNESS 3
#define FL_EXIT_INTERRUPTED 130

/* Which commands can give each code, and what it means for them. */
static const struct {
  int code;
  const char *commands; /* space-separated, each surrounded by spaces */
  const char *meaning;
} fl_exit_codes[] = {
    {FL_EXIT_OK, " run ", "every run reproduced (or a shard held nothing to run)"},
    {FL_EXIT_OK, " validate ", "every file is valid"},
    {FL_EXIT_OK, " list show help ", "done"},
    {FL_EXIT_OK, " dump ", "every process was dumped"},
    {FL_EXIT_OK, " report ", "rendered"},
    {FL_EXIT_OK, " bundle ", "the bundle is written"},
    {FL_EXIT_NOT_REPRODUCED, " run ",
     "some run was not reproduced (with --repeat, a flaky scenario too)"},
    {FL_EXIT_USAGE, " run validate list show dump report bundle help ",
     "bad usage or a broken scenario file (the message says where)"},
    {FL_EXIT_USAGE, " run ",
     "--bundle: no such file, not a bundle, or a bundle refused as hostile"},
    {FL_EXIT_USAGE, " bundle ",
     "not a run directory, a file in it that is not regular, or an output that exists"},
    {FL_EXIT_HARNESS, " run ",
     "a scenario could not be run, or its evidence or --junit FILE not written (verdict error)"},
    {FL_EXIT_HARNESS, " dump ", "some process could not be dumped (the others are)"},
    {FL_EXIT_HARNESS, " report ",
     "report.json cannot be read or is not a faultline report, or report.html cannot be "
     "written"},
    {FL_EXIT_HARNESS, " bundle ",
     "the run directory cannot be read or the bundle not written (the reason on stderr)"},
    {FL_EXIT_INTERRUPTED, " run ",
     "interrupted by SIGINT or SIGTERM (run directories still written; no new run starts)"},
};

/* Prints "Exit codes:" and the lines for `command` ("run", ...), or with NULL every code, each
 * with what it means for each command ("2  run, validate, ...: bad usage ..."). */
static inline void fl_exit_codes_print(FILE *out, const char *command) {
  const size_t n = sizeof fl_exit_codes / sizeof fl_exit_codes[0];
  char key[32];
  snprintf(key, sizeof key, " %s ", command ? command : "");
  fputs("Exit codes:\n", out);
  for (size_t i = 0; i < n; i++) {
    if (command && !strstr(fl_exit_codes[i].commands, key)) continue;
    if (command) {
      fprintf(out, "  %-4d %s\n", fl_exit_codes[i].code, fl_exit_codes[i].meaning);
      continue;
    }
    /* "list show help" -> "list, show, help" */
    char cmds[96];
    size_t o = 0;
    for (const char *c = fl_exit_codes[i].commands + 1; *c && o + 3 < sizeof cmds; c++) {
      if (*c != ' ') {
        cmds[o++] = *c;
      } else if (c[1]) {
        cmds[o++] = ',';
        cmds[o++] = ' ';
      }
    }
    cmds[o] = '\0';
    bool first = i == 0 || fl_exit_codes[i - 1].code != fl_exit_codes[i].code;
    if (first)
      fprintf(out, "  %-4d %s: %s\n", fl_exit_codes[i].code, cmds, fl_exit_codes[i].meaning);
    else
      fprintf(out, "       %s: %s\n", cmds, fl_exit_codes[i].meaning);
  }
}

#endif
