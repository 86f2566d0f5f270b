/* test_rfc3339.c: the one RFC 3339 parser: exact values, offsets, leap
 * days and seconds, and everything outside the grammar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "streamkpi/rfc3339.h"

static void exact_values(void **state) {
  static const struct {
    const char *s;
    double want;
  } good[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2023-11-14T22:13:20Z", 1700000000},
      {"2023-11-14t22:13:20z", 1700000000},
      {"2023-11-14 22:13:20Z", 1700000000},
      {"2023-11-14T22:13:20.5Z", 1700000000.5},
      {"2023-11-14T22:13:20.123456789Z", 1700000000.123456789},
      {"2023-11-14T23:13:20+01:00", 1700000000},
      {"2023-11-14T21:43:20-00:30", 1700000000},
      {"2023-11-15T09:43:20+11:30", 1700000000},
      {"2023-11-14T22:13:20+00:00", 1700000000},
      {"2023-11-14T22:13:20-00:00", 1700000000},
      {"9999-12-31T23:59:59Z", 253402300799},
  };
  for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    double t = -1;
    if(skpi_rfc3339_parse(good[i].s, &t) != 0 || t != good[i].want)
      fail_msg("\"%s\": got %.9f, want %.9f", good[i].s, t, good[i].want);
  }
}

static void leap_days(void **state) {
  double t;
  /* 2024 and 2000 are leap years; 2023 and 1900 (out of range anyway) are not. */
  assert_int_equal(skpi_rfc3339_parse("2024-02-29T00:00:00Z", &t), 0);
  assert_true(t == 1709164800.0);
  assert_int_equal(skpi_rfc3339_parse("2000-02-29T12:00:00Z", &t), 0);
  assert_true(t == 951825600.0);
  assert_int_equal(skpi_rfc3339_parse("2023-02-29T00:00:00Z", &t), -1);
  assert_int_equal(skpi_rfc3339_parse("2100-02-29T00:00:00Z", &t), -1);
  assert_int_equal(skpi_rfc3339_parse("2024-02-30T00:00:00Z", &t), -1);
  assert_int_equal(skpi_rfc3339_parse("2024-04-31T00:00:00Z", &t), -1);
  assert_int_equal(skpi_rfc3339_parse("2024-12-31T00:00:00Z", &t), 0);
}

/* Second 60 only at 23:59:60 UTC, read as :59 plus the fraction. */
static void leap_seconds(void **state) {
  double t;
  assert_int_equal(skpi_rfc3339_parse("2016-12-31T23:59:60Z", &t), 0);
  assert_true(t == 1483228799.0);
  assert_int_equal(skpi_rfc3339_parse("2016-12-31T23:59:60.5Z", &t), 0);
  assert_true(t == 1483228799.5);
  /* The same instant written in another offset. */
  assert_int_equal(skpi_rfc3339_parse("2017-01-01T00:59:60+01:00", &t), 0);
  assert_true(t == 1483228799.0);
  assert_int_equal(skpi_rfc3339_parse("2016-12-31T12:00:60Z", &t), -1);
  assert_int_equal(skpi_rfc3339_parse("2016-12-31T23:59:60+01:00", &t), -1);
  assert_int_equal(skpi_rfc3339_parse("2016-12-31T23:59:61Z", &t), -1);
}

static void refused(void **state) {
  static const char *bad[] = {
      "",
      "2024-06-01",           /* a date alone is not a date-time */
      "2024-06-01T10:00:00",  /* no offset */
      "2024-+6-01T10:00:00Z", /* sign inside a field */
      "2024-06-01T05:-1:00Z", /* sign inside a field */
      "2024-06-01T05:00:-1Z",
      "2024- 6-01T10:00:00Z", /* space inside a field */
      "2024-06-01T 5:00:00Z",
      "+2024-06-01T10:00:00Z", /* sign before the year */
      "-2024-06-01T10:00:00Z",
      "20240-06-01T10:00:00Z", /* five-digit year */
      "2024-6-01T10:00:00Z",   /* one-digit month */
      "2024-06-1T10:00:00Z",
      "2024-06-01T5:00:00Z",
      "2024-06-01T10:0:00Z",
      "2024-06-01T10:00:0Z",
      "2024-00-01T10:00:00Z", /* out-of-range fields */
      "2024-13-01T10:00:00Z",
      "2024-06-00T10:00:00Z",
      "2024-06-31T10:00:00Z",
      "2024-06-01T24:00:00Z",
      "2024-06-01T10:60:00Z",
      "2024-06-01T10:00:00+24:00",
      "2024-06-01T10:00:00+01:60",
      "2024-06-01T10:00:00+0100", /* offset without colon */
      "2024-06-01T10:00:00+01",
      "2024-06-01T10:00:00.Z",           /* empty fraction */
      "2024-06-01T10:00:00.1234567891Z", /* more than nanoseconds */
      "2024-06-01T10:00:00,5Z",
      "2024-06-01T10:00:00Zjunk", /* trailing junk */
      "2024-06-01T10:00:00Z ",
      " 2024-06-01T10:00:00Z",
      "2024-06-01X10:00:00Z", /* bad separator */
      "2024-06-01_10:00:00Z",
      "2024/06/01T10:00:00Z",
      "1969-12-31T23:59:59Z", /* before the epoch */
      "1970-01-01T00:30:00+01:00",
      "0001-01-01T00:00:00Z",
      "x024-06-01T10:00:00Z",
      "2024-06-01T10:00:00\xc3\xa9",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    double t = 42;
    if(skpi_rfc3339_parse(bad[i], &t) != -1)
      fail_msg("\"%s\" accepted as %f", bad[i], t);
    assert_true(t == 42);
  }
  double t;
  assert_int_equal(skpi_rfc3339_parse(NULL, &t), -1);
}

static void dates(void **state) {
  double t;
  assert_int_equal(skpi_rfc3339_parse_date("2024-05-01", &t), 0);
  assert_true(t == 1714521600.0);
  assert_int_equal(skpi_rfc3339_parse_date("2024-02-29", &t), 0);
  assert_int_equal(skpi_rfc3339_parse_date("2024-05-01T09:00:00Z", &t), 0);
  assert_true(t == 1714554000.0);
  assert_int_equal(skpi_rfc3339_parse_date("2023-02-29", &t), -1);
  assert_int_equal(skpi_rfc3339_parse_date("2024-05-01T", &t), -1);
  assert_int_equal(skpi_rfc3339_parse_date("2024-05-01 ", &t), -1);
  assert_int_equal(skpi_rfc3339_parse_date("2024-5-01", &t), -1);
  assert_int_equal(skpi_rfc3339_parse_date("2024-+5-01", &t), -1);
  assert_int_equal(skpi_rfc3339_parse_date(NULL, &t), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exact_values), cmocka_unit_test(leap_days), cmocka_unit_test(leap_seconds),
      cmocka_unit_test(refused),      cmocka_unit_test(dates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
