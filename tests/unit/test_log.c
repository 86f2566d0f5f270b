/* test_log.c: log records and the rate limit on repeated lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "streamkpi/log.h"

/* Runs fn with stderr sent to a temporary file; returns what was written
 * (malloc'd). */
static char *capture(void (*fn)(void)) {
  char path[] = "/tmp/test_log_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  int saved = dup(2);
  assert_true(saved >= 0);
  assert_int_equal(dup2(fd, 2), 2);
  fn();
  assert_int_equal(dup2(saved, 2), 2);
  close(saved);
  off_t len = lseek(fd, 0, SEEK_END);
  assert_true(len >= 0);
  char *text = calloc(1, (size_t)len + 1);
  assert_non_null(text);
  assert_int_equal(pread(fd, text, (size_t)len, 0), len);
  close(fd);
  return text;
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for(const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

static void flood(void) {
  for(int i = 0; i < 100; i++)
    skpi_log(SKPI_WARN, "bad request", "peer", "127.0.0.2");
  skpi_log(SKPI_WARN, "another message");
}

static void after_window(void) {
  skpi_log(SKPI_WARN, "bad request", "peer", "127.0.0.3");
}

static void repeated_lines_are_limited_and_counted(void **state) {
  skpi_log_limit(3, 1e9);
  unsigned long before = skpi_log_suppressed();
  char *out = capture(flood);
  assert_int_equal(count(out, "msg=\"bad request\""), 3);
  assert_int_equal(count(out, "msg=\"another message\""), 1);
  assert_int_equal(skpi_log_suppressed() - before, 97);
  free(out);
  /* A new window: the first line written tells how many were dropped. */
  skpi_log_limit(3, 1e9);
  out = capture(after_window);
  assert_int_equal(count(out, "msg=\"bad request\""), 1);
  assert_non_null(strstr(out, "suppressed=97"));
  free(out);
}

static void emit_many(void) {
  for(int i = 0; i < 50; i++)
    skpi_log(SKPI_WARN, "unlimited");
}

static void burst_zero_means_no_limit(void **state) {
  skpi_log_limit(0, 1);
  char *out = capture(emit_many);
  assert_int_equal(count(out, "msg=unlimited"), 50);
  free(out);
}

static void emit_json(void) {
  skpi_log(SKPI_ERROR, "quoted \"x\"", "k", "a\nb");
}

static void json_records_escape(void **state) {
  skpi_log_limit(10, 10);
  assert_int_equal(skpi_log_setup(NULL, "json"), 0);
  char *out = capture(emit_json);
  assert_int_equal(skpi_log_setup(NULL, "logfmt"), 0);
  assert_non_null(strstr(out, "\"msg\":\"quoted \\\"x\\\"\""));
  assert_non_null(strstr(out, "\"k\":\"a\\nb\"}"));
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(repeated_lines_are_limited_and_counted),
      cmocka_unit_test(burst_zero_means_no_limit),
      cmocka_unit_test(json_records_escape),
  };
  return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
