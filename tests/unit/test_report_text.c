/*
 * The terminal summary's verdict line: a capture that dropped packets says so on the verdict's
 * own line (issue 8, "Evidence that does not lie"); a complete one adds nothing there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

/* The summary's first line for a run with this capture record, without colour. */
static void first_line(const fl_capture_record *cap, char *line, size_t size) {
  fl_scenario s = {.name = "capture-burst"};
  fl_run_result r = {.capture = *cap};
  fl_verdict v = {.kind = FL_VERDICT_REPRODUCED};
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  assert_non_null(out);
  fl_report_print_summary(out, "/r/x", &s, &r, &v, false);
  fclose(out);
  size_t n = strcspn(buf, "\n");
  snprintf(line, size, "%.*s", (int)n, buf);
  free(buf);
}

static void dropped_packets_are_on_the_verdict_line(void **state) {
  (void)state;
  fl_capture_record cap = {.requested = true, .running = true};
  cap.stats = (fl_capture_stats){.packets_written = 4019, .received = 4031, .dropped = 12};
  char line[256];
  first_line(&cap, line, sizeof line);
  assert_string_equal(line, "capture-burst: reproduced (outcome completed, 0.00s) — capture "
                            "dropped 12 of 4031 packets");
}

static void a_complete_capture_adds_nothing(void **state) {
  (void)state;
  fl_capture_record cap = {.requested = true, .running = true};
  cap.stats = (fl_capture_stats){.packets_written = 4031, .received = 4031};
  char line[256];
  first_line(&cap, line, sizeof line);
  assert_string_equal(line, "capture-burst: reproduced (outcome completed, 0.00s)");

  fl_capture_record none = {.requested = true};
  snprintf(none.error, sizeof none.error, "packet capture not possible on lo: ...");
  first_line(&none, line, sizeof line);
  assert_string_equal(line, "capture-burst: reproduced (outcome completed, 0.00s)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dropped_packets_are_on_the_verdict_line),
      cmocka_unit_test(a_complete_capture_adds_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
