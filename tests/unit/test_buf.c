/* test_buf.c: the capped buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/buf.h"

static void append_and_terminate(void **state) {
  skpi_buf b;
  skpi_buf_init(&b, 100);
  assert_int_equal(skpi_buf_addstr(&b, "abc"), SKPI_OK);
  assert_int_equal(skpi_buf_printf(&b, "-%d-", 42), SKPI_OK);
  assert_int_equal(b.len, 7);
  assert_string_equal(b.data, "abc-42-");
  skpi_buf_free(&b);
}

static void cap_fails_and_frees(void **state) {
  skpi_buf b;
  skpi_buf_init(&b, 8);
  assert_int_equal(skpi_buf_addstr(&b, "12345678"), SKPI_OK);
  assert_int_equal(skpi_buf_addc(&b, 'x'), SKPI_ETOOBIG);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  /* still usable after the failure */
  assert_int_equal(skpi_buf_addstr(&b, "ok"), SKPI_OK);
  assert_string_equal(b.data, "ok");
  skpi_buf_free(&b);
}

static void long_printf_grows(void **state) {
  skpi_buf b;
  skpi_buf_init(&b, 10000);
  char big[1000];
  memset(big, 'z', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(skpi_buf_printf(&b, "[%s]", big), SKPI_OK);
  assert_int_equal(b.len, 1001);
  assert_int_equal(b.data[1000], ']');
  assert_int_equal(skpi_buf_printf(&b, "%s%s%s%s%s%s%s%s%s%s", big, big, big, big, big, big,
                                   big, big, big, big),
                   SKPI_ETOOBIG);
  skpi_buf_free(&b);
}

static void steal_empty_gives_string(void **state) {
  skpi_buf b;
  skpi_buf_init(&b, 10);
  size_t len = 99;
  char *p = skpi_buf_steal(&b, &len);
  assert_non_null(p);
  assert_int_equal(len, 0);
  assert_string_equal(p, "");
  free(p);
}

static void steal_keeps_the_bytes_after_growth(void **state) {
  skpi_buf b;
  skpi_buf_init(&b, 1 << 20);
  char chunk[3000];
  memset(chunk, 'q', sizeof(chunk));
  for(int i = 0; i < 30; i++) /* 90,000 bytes in a 131,072-byte allocation */
    assert_int_equal(skpi_buf_add(&b, chunk, sizeof(chunk)), SKPI_OK);
  assert_true(b.alloc - b.len > 4096);
  size_t len;
  char *p = skpi_buf_steal(&b, &len);
  assert_non_null(p);
  assert_int_equal(len, 90000);
  assert_int_equal(p[len], '\0');
  for(size_t i = 0; i < len; i++)
    if(p[i] != 'q')
      fail();
  free(p);
  assert_null(b.data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(append_and_terminate),
      cmocka_unit_test(cap_fails_and_frees),
      cmocka_unit_test(long_printf_grows),
      cmocka_unit_test(steal_empty_gives_string),
      cmocka_unit_test(steal_keeps_the_bytes_after_growth),
  };
  return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
