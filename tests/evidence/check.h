/*
 * check.h: the evidence tests' assertion. Unlike assert(), a failed CHECK says what was
 * seen and lets the test go on, so one run reports every broken expectation; main returns
 * failures != 0.
 */
#ifndef FL_TEST_CHECK_H
#define FL_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                              \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

#endif
