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

/* The summary's first line for a run whose report.json has this capture object, without
 * colour. */
static void first_line(const char *capture, char *line, size_t size) {
  char text[512];
  snprintf(text, sizeof text,
           "{\"scenario\": {\"name\": \"capture-burst\"}, \"verdict\": \"reproduced\", "
           "\"outcome\": \"completed\", \"elapsed_ms\": 0, \"expectations\": [], "
           "\"capture\": %s}",
           capture);
  json_error_t e;
  json_t *doc = json_loads(text, 0, &e);
  if (!doc) fail_msg("test JSON: %s", e.text);
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  assert_non_null(out);
  fl_report_print_summary(out, doc, "/r/x", false);
  fclose(out);
  json_decref(doc);
  size_t n = strcspn(buf, "\n");
  snprintf(line, size, "%.*s", (int)n, buf);
  free(buf);
}

static void dropped_packets_are_on_the_verdict_line(void **state) {
  (void)state;
  char line[256];
  first_line("{\"file\": \"capture.pcap\", \"packets\": 4019, \"received\": 4031, "
             "\"dropped\": 12}",
             line, sizeof line);
  assert_string_equal(line, "capture-burst: reproduced (outcome completed, 0.00s) — capture "
                            "dropped 12 of 4031 packets");
}

static void a_complete_capture_adds_nothing(void **state) {
  (void)state;
  char line[256];
  first_line("{\"file\": \"capture.pcap\", \"packets\": 4031, \"received\": 4031, "
             "\"dropped\": 0}",
             line, sizeof line);
  assert_string_equal(line, "capture-burst: reproduced (outcome completed, 0.00s)");

  first_line("{\"file\": null, \"error\": \"packet capture not possible on lo: ...\"}", line,
             sizeof line);
  assert_string_equal(line, "capture-burst: reproduced (outcome completed, 0.00s)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dropped_packets_are_on_the_verdict_line),
      cmocka_unit_test(a_complete_capture_adds_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
