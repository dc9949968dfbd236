/* Unit tests for the proxy's shaper (injectors/proxy/shaper.h): time is passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "shaper.h"

#define MS 1000000LL

static void test_off(void **state) {
  (void)state;
  fl_shaper s;
  fl_shape p = {0};
  int64_t wake;
  fl_shaper_init(&s, 1);
  assert_int_equal(fl_shaper_add(&s, &p, 100, 5, 0), 0);
  assert_int_equal(fl_shaper_allowed(&s, &p, 5, &wake), 100);
  assert_int_equal(wake, 0);
  fl_shaper_sent(&s, &p, 60, 5);
  assert_int_equal(fl_shaper_allowed(&s, &p, 5, &wake), 40);
  fl_shaper_sent(&s, &p, 40, 5);
  assert_int_equal(fl_shaper_allowed(&s, &p, 5, &wake), 0);
  assert_int_equal(wake, 0);
  fl_shaper_free(&s);
}

static void test_latency_and_order(void **state) {
  (void)state;
  fl_shaper s;
  fl_shape p = {.latency_ns = 10 * MS, .jitter_ns = 5 * MS};
  int64_t wake;
  fl_shaper_init(&s, 7);
  assert_int_equal(fl_shaper_add(&s, &p, 10, 0, 0), 0);
  assert_int_equal(fl_shaper_allowed(&s, &p, 0, &wake), 0);
  assert_true(wake >= 5 * MS && wake <= 15 * MS);
  int64_t first = wake;
  /* A later add is never released before an earlier one, whatever its jitter. */
  for (int i = 1; i <= 50; i++) assert_int_equal(fl_shaper_add(&s, &p, 1, i, 0), 0);
  assert_true(fl_shaper_allowed(&s, &p, first, &wake) >= 10);
  uint64_t prev = 0;
  for (int64_t t = first; t <= 100 * MS; t += MS / 2) {
    uint64_t a = fl_shaper_allowed(&s, &p, t, &wake);
    assert_true(a >= prev); /* releases only grow with time */
    prev = a;
  }
  assert_int_equal(prev, 60);
  fl_shaper_free(&s);

  /* The same seed gives the same delays; each within delay +- jitter. */
  fl_shaper a, b;
  fl_shaper_init(&a, 42);
  fl_shaper_init(&b, 42);
  for (int i = 0; i < 1000; i++) {
    int64_t x = fl_shaper_latency_sample(&a, &p), y = fl_shaper_latency_sample(&b, &p);
    assert_int_equal(x, y);
    assert_true(x >= 5 * MS && x <= 15 * MS);
  }
}

static void test_hold(void **state) {
  (void)state;
  fl_shaper s;
  fl_shape p = {0};
  int64_t wake;
  fl_shaper_init(&s, 1);
  assert_int_equal(fl_shaper_add(&s, &p, 10, 0, 0), 0);
  assert_int_equal(fl_shaper_add(&s, &p, 10, 0, 50 * MS), 0);
  assert_int_equal(fl_shaper_add(&s, &p, 10, 1, 0), 0); /* behind the held one: waits too */
  assert_int_equal(fl_shaper_allowed(&s, &p, 1, &wake), 10);
  assert_int_equal(wake, 50 * MS);
  assert_int_equal(fl_shaper_allowed(&s, &p, 50 * MS, &wake), 30);
  fl_shaper_drop(&s);
  assert_int_equal(fl_shaper_allowed(&s, &p, 50 * MS, &wake), 0);
  fl_shaper_free(&s);
}

static void test_bandwidth(void **state) {
  (void)state;
  fl_shaper s;
  fl_shape p = {.rate = 10000}; /* 10 kB/s: a 50-byte bucket (5 ms) */
  int64_t wake, t = 0;
  fl_shaper_init(&s, 1);
  assert_int_equal(fl_shaper_add(&s, &p, 1000, 0, 0), 0);
  uint64_t sent = 0;
  int writes = 0;
  while (sent < 1000 && t < 1000 * MS) {
    uint64_t a = fl_shaper_allowed(&s, &p, t, &wake);
    if (a) {
      assert_true(a <= 50);
      fl_shaper_sent(&s, &p, a, t);
      sent += a;
      writes++;
      continue;
    }
    assert_true(wake > t);
    t = wake;
  }
  /* 1000 bytes at 10 kB/s: about 95 ms (the first 50 bytes go at once). */
  assert_int_equal(sent, 1000);
  assert_true(t >= 90 * MS && t <= 101 * MS);
  assert_true(writes >= 19);
  fl_shaper_free(&s);
}

static void test_slice(void **state) {
  (void)state;
  fl_shaper s;
  fl_shape p = {.slice_size = 10, .slice_delay_ns = MS};
  int64_t wake;
  fl_shaper_init(&s, 1);
  assert_int_equal(fl_shaper_add(&s, &p, 25, 0, 0), 0);
  assert_int_equal(fl_shaper_allowed(&s, &p, 0, &wake), 10);
  fl_shaper_sent(&s, &p, 10, 0);
  assert_int_equal(fl_shaper_allowed(&s, &p, 0, &wake), 0);
  assert_int_equal(wake, MS);
  assert_int_equal(fl_shaper_allowed(&s, &p, MS, &wake), 10);
  fl_shaper_sent(&s, &p, 10, MS);
  assert_int_equal(fl_shaper_allowed(&s, &p, 2 * MS, &wake), 5);
  fl_shaper_free(&s);
}

static void test_buffer(void **state) {
  (void)state;
  fl_shaper s;
  fl_shape p = {.buffer_bytes = 50};
  int64_t wake;
  fl_shaper_init(&s, 1);
  assert_int_equal(fl_shaper_add(&s, &p, 30, 0, 0), 0);
  assert_int_equal(fl_shaper_allowed(&s, &p, 0, &wake), 0);
  assert_int_equal(wake, 0); /* no time limit: only more bytes release it */
  assert_int_equal(fl_shaper_add(&s, &p, 30, 1, 0), 0);
  assert_int_equal(fl_shaper_allowed(&s, &p, 1, &wake), 60);
  fl_shaper_sent(&s, &p, 60, 1);
  fl_shaper_free(&s);

  fl_shape q = {.buffer_for_ns = 100 * MS};
  fl_shaper_init(&s, 1);
  assert_int_equal(fl_shaper_add(&s, &q, 10, 0, 0), 0);
  assert_int_equal(fl_shaper_allowed(&s, &q, 0, &wake), 0);
  assert_int_equal(wake, 100 * MS);
  assert_int_equal(fl_shaper_add(&s, &q, 10, 60 * MS, 0), 0);
  assert_int_equal(fl_shaper_allowed(&s, &q, 60 * MS, &wake), 0);
  assert_int_equal(fl_shaper_allowed(&s, &q, 100 * MS, &wake), 20); /* the whole burst */
  fl_shaper_sent(&s, &q, 20, 100 * MS);
  /* The next burst starts with the next byte. */
  assert_int_equal(fl_shaper_add(&s, &q, 5, 150 * MS, 0), 0);
  assert_int_equal(fl_shaper_allowed(&s, &q, 150 * MS, &wake), 0);
  assert_int_equal(wake, 250 * MS);
  fl_shaper_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_off),   cmocka_unit_test(test_latency_and_order),
      cmocka_unit_test(test_hold),  cmocka_unit_test(test_bandwidth),
      cmocka_unit_test(test_slice), cmocka_unit_test(test_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
