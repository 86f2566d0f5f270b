/* test_amwebhook.c: Alertmanager webhook parsing, validation, bearer token
 * and the route handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/amwebhook.h"

#define NOW 1700000000.0

static const char *firing =
    "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"KafkaDown\\\"}\",\"status\":\"firing\","
    "\"receiver\":\"streamkpi\",\"groupLabels\":{},\"commonLabels\":{},\"commonAnnotations\":{},"
    "\"externalURL\":\"http://127.0.0.1:9093\",\"truncatedAlerts\":0,\"alerts\":[{"
    "\"status\":\"firing\",\"labels\":{\"alertname\":\"KafkaDown\",\"severity\":\"critical\","
    "\"cluster\":\"prod\",\"instance\":\"k1\"},\"annotations\":{\"summary\":\"down\"},"
    "\"startsAt\":\"2023-11-14T22:00:00.123456789Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"http://x\",\"fingerprint\":\"c3f1a0b2d4e5f607\"}]}";

static const char *resolved =
    "{\"version\":\"4\",\"status\":\"resolved\",\"alerts\":[{"
    "\"status\":\"resolved\",\"labels\":{\"alertname\":\"KafkaDown\",\"severity\":\"critical\","
    "\"cluster\":\"prod\"},\"annotations\":{},"
    "\"startsAt\":\"2023-11-14T23:00:00.123456789+01:00\",\"endsAt\":\"2023-11-14T22:25:30."
    "123456789Z\","
    "\"fingerprint\":\"c3f1a0b2d4e5f607\"}]}";

static void times(void **state) {
  double t;
  assert_int_equal(skpi_am_parse_time("2023-11-14T22:13:20Z", &t), 0);
  assert_true(t == 1700000000.0);
  assert_int_equal(skpi_am_parse_time("2023-11-14T23:13:20.5+01:00", &t), 0);
  assert_true(t == 1700000000.5);
  assert_int_equal(skpi_am_parse_time("2023-11-14T21:43:20-00:30", &t), 0);
  assert_true(t == 1700000000.0);
  assert_int_equal(skpi_am_parse_time("0001-01-01T00:00:00Z", &t), 0);
  assert_true(t == 0);
  /* The one RFC 3339 grammar allows a space for the T. */
  assert_int_equal(skpi_am_parse_time("2023-11-14 22:13:20Z", &t), 0);
  assert_true(t == 1700000000.0);
  const char *bad[] = {"",
                       "2023-11-14",
                       "2023-11-14T22:13:20",
                       "2023-11-14_22:13:20Z",
                       "2023-13-14T22:13:20Z",
                       "2023-02-30T22:13:20Z",
                       "2023-11-14T24:13:20Z",
                       "2023-11-14T22:13:20.Z",
                       "2023-11-14T22:13:20Zjunk",
                       "2023-11-14T22:13:20+0100",
                       "1969-12-31T23:59:59Z",
                       "x023-11-14T22:13:20Z",
                       "2023-11-14T22:13:20.123456789012345678901234567890123456789Z"};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(skpi_am_parse_time(bad[i], &t), -1);
  assert_int_equal(skpi_am_parse_time(NULL, &t), -1);
}

static void bearer(void **state) {
  assert_true(skpi_am_bearer_ok(NULL, NULL));
  assert_true(skpi_am_bearer_ok("anything", ""));
  assert_true(skpi_am_bearer_ok("Bearer s3cret", "s3cret"));
  assert_false(skpi_am_bearer_ok(NULL, "s3cret"));
  assert_false(skpi_am_bearer_ok("Bearer s3cre", "s3cret"));
  assert_false(skpi_am_bearer_ok("Bearer s3cret2", "s3cret"));
  assert_false(skpi_am_bearer_ok("Bearer s3creT", "s3cret"));
  assert_false(skpi_am_bearer_ok("Basic s3cret", "s3cret"));
  /* The scheme is case-insensitive (RFC 7235), the token is not. */
  assert_true(skpi_am_bearer_ok("bearer s3cret", "s3cret"));
  assert_true(skpi_am_bearer_ok("BEARER s3cret", "s3cret"));
  assert_false(skpi_am_bearer_ok("bearer S3CRET", "s3cret"));
}

static void parse_firing(void **state) {
  skpi_am_payload p;
  char err[256];
  assert_int_equal(skpi_am_parse(firing, strlen(firing), &p, err, sizeof(err)), SKPI_OK);
  assert_int_equal(p.nalerts, 1);
  assert_true(p.alerts[0].firing);
  assert_string_equal(p.alerts[0].fingerprint, "c3f1a0b2d4e5f607");
  assert_string_equal(p.alerts[0].alertname, "KafkaDown");
  assert_string_equal(p.alerts[0].severity, "critical");
  assert_string_equal(p.alerts[0].cluster, "prod");
  assert_true(p.alerts[0].starts_at > 1699999200.12 && p.alerts[0].starts_at < 1699999200.13);
  assert_true(p.alerts[0].ends_at == 0);
  skpi_am_payload_free(&p);
}

static void firing_then_resolved_one_incident(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 100);
  skpi_buf r;
  skpi_buf_init(&r, 4096);
  assert_int_equal(skpi_am_handle(inc, "tok", "Bearer tok", firing, strlen(firing), NOW, &r), 200);
  skpi_buf_reset(&r);
  assert_int_equal(skpi_am_handle(inc, "tok", "Bearer tok", resolved, strlen(resolved), NOW, &r),
                   200);
  assert_int_equal(skpi_inc_count(inc), 1);
  skpi_inc_info i;
  skpi_inc_get(inc, 0, &i);
  assert_false(i.open);
  assert_string_equal(i.source, "alertmanager");
  assert_string_equal(i.cluster, "prod");
  /* 22:00:00.123456789 to 22:25:30.123456789 */
  assert_true(i.end - i.start > 1529.999 && i.end - i.start < 1530.001);
  skpi_buf_free(&r);
  skpi_inc_free(inc);
}

static char *state_of(const skpi_incidents *inc) {
  json_t *d = skpi_inc_save(inc);
  char *s = json_dumps(d, JSON_SORT_KEYS);
  json_decref(d);
  return s;
}

/* Every bad body: an error status, a message, and the engine unchanged. */
static void expect_rejected(skpi_incidents *inc, const char *body, size_t len, int status) {
  char *before = state_of(inc);
  skpi_buf r;
  skpi_buf_init(&r, 4096);
  assert_int_equal(skpi_am_handle(inc, NULL, NULL, body, len, NOW, &r), status);
  assert_non_null(strstr(r.data, "\"error\""));
  char *after = state_of(inc);
  assert_string_equal(before, after);
  free(before);
  free(after);
  skpi_buf_free(&r);
}

static void garbage_bodies_change_nothing(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 100);
  skpi_buf r;
  skpi_buf_init(&r, 4096);
  assert_int_equal(skpi_am_handle(inc, NULL, NULL, firing, strlen(firing), NOW, &r), 200);
  skpi_buf_free(&r);
  const char *bad[] = {
      "not json",
      "[]",
      "\"4\"",
      "{}",
      "{\"version\":4,\"status\":\"firing\",\"alerts\":[]}",
      "{\"version\":\"3\",\"status\":\"firing\",\"alerts\":[]}",
      "{\"version\":\"4\",\"status\":\"burning\",\"alerts\":[]}",
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":{}}",
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[1]}",
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{"
      "\"a\":1},"
      "\"annotations\":{},\"startsAt\":\"2023-11-14T22:00:00Z\",\"endsAt\":\"0001-01-01T00:00:"
      "00Z\","
      "\"fingerprint\":\"f\"}]}",
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
      "\"startsAt\":\"2023-11-14T22:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\",\"fingerprint\":"
      "\"f\"}]}",
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
      "\"annotations\":{},\"startsAt\":\"yesterday\",\"endsAt\":\"0001-01-01T00:00:00Z\","
      "\"fingerprint\":\"f\"}]}",
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
      "\"annotations\":{},\"startsAt\":\"2023-11-14T22:00:00Z\",\"endsAt\":\"0001-01-01T00:00:"
      "00Z\","
      "\"fingerprint\":\"\"}]}",
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
      "\"annotations\":{},\"startsAt\":\"2023-11-14T22:00:00Z\",\"endsAt\":\"0001-01-01T00:00:"
      "00Z\","
      "\"fingerprint\":7}]}",
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"pending\",\"labels\":{},"
      "\"annotations\":{},\"startsAt\":\"2023-11-14T22:00:00Z\",\"endsAt\":\"0001-01-01T00:00:"
      "00Z\","
      "\"fingerprint\":\"f\"}]}",
      /* a valid first alert followed by a bad one: nothing is applied */
      "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
      "\"annotations\":{},\"startsAt\":\"2023-11-14T22:00:00Z\",\"endsAt\":\"0001-01-01T00:00:"
      "00Z\","
      "\"fingerprint\":\"new\"},{\"status\":\"firing\"}]}",
      "{\"version\":\"4\",\"version\":\"4\",\"status\":\"firing\",\"alerts\":[]}",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_rejected(inc, bad[i], strlen(bad[i]), 400);
  expect_rejected(inc, "", 0, 400);
  expect_rejected(inc, NULL, 0, 400);
  /* deeply nested */
  size_t depth = 100000;
  char *deep = malloc(2 * depth + 1);
  memset(deep, '[', depth);
  memset(deep + depth, ']', depth);
  deep[2 * depth] = '\0';
  expect_rejected(inc, deep, 2 * depth, 400);
  free(deep);
  /* one byte past the cap */
  size_t big = SKPI_AM_MAX_BODY + 1;
  char *huge = malloc(big);
  memset(huge, ' ', big);
  huge[0] = '{';
  huge[big - 1] = '}';
  expect_rejected(inc, huge, big, 413);
  free(huge);
  /* wrong token */
  char *before = state_of(inc);
  skpi_buf_init(&r, 4096);
  assert_int_equal(skpi_am_handle(inc, "tok", "Bearer nope", resolved, strlen(resolved), NOW, &r),
                   401);
  assert_int_equal(skpi_am_handle(inc, "tok", NULL, resolved, strlen(resolved), NOW, &r), 401);
  char *after = state_of(inc);
  assert_string_equal(before, after);
  free(before);
  free(after);
  skpi_buf_free(&r);
  skpi_inc_free(inc);
}

/* An alert accepted from the webhook is saved in a form the state loader
 * accepts too, even with an empty alertname. */
static void too_many_alerts(void **state) {
  skpi_buf b;
  skpi_buf_init(&b, SKPI_AM_MAX_BODY);
  assert_int_equal(skpi_buf_addstr(&b, "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":["),
                   SKPI_OK);
  for(unsigned i = 0; i <= SKPI_AM_MAX_ALERTS; i++)
    assert_int_equal(skpi_buf_addstr(&b, i ? ",{}" : "{}"), SKPI_OK);
  assert_int_equal(skpi_buf_addstr(&b, "]}"), SKPI_OK);
  skpi_am_payload p;
  char err[128];
  assert_int_equal(skpi_am_parse(b.data, b.len, &p, err, sizeof(err)), SKPI_ETOOBIG);
  assert_null(p.alerts);
  skpi_buf_free(&b);
}

/* One alert of the payload as JSON text. */
static void alert_json(skpi_buf *b, const char *fp, const char *alertname, const char *starts) {
  skpi_buf_printf(b,
                  "{\"status\":\"firing\",\"labels\":{\"alertname\":\"%s\",\"cluster\":\"prod\"},"
                  "\"annotations\":{},\"startsAt\":\"%s\",\"endsAt\":\"0001-01-01T00:00:00Z\","
                  "\"fingerprint\":\"%s\"}",
                  alertname, starts, fp);
}

static int post(skpi_incidents *inc, const skpi_buf *body, skpi_buf *resp) {
  skpi_buf_reset(resp);
  return skpi_am_handle(inc, NULL, NULL, body->data, body->len, NOW, resp);
}

static void refused_like_the_loader(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 100);
  skpi_buf b, r;
  skpi_buf_init(&b, 4096);
  skpi_buf_init(&r, 4096);
  skpi_buf_addstr(&b, "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[");
  alert_json(&b, "f1", "", "2023-11-14T22:00:00Z");
  skpi_buf_addstr(&b, "]}");
  assert_int_equal(post(inc, &b, &r), 400);
  assert_non_null(strstr(r.data, "alertname"));
  skpi_buf_reset(&b);
  skpi_buf_addstr(&b, "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[");
  alert_json(&b, "f2", "A", "9999-12-31T00:00:00Z");
  skpi_buf_addstr(&b, "]}");
  assert_int_equal(post(inc, &b, &r), 400);
  assert_non_null(strstr(r.data, "2000"));
  assert_int_equal(skpi_inc_count(inc), 0);
  skpi_buf_free(&b);
  skpi_buf_free(&r);
  skpi_inc_free(inc);
}

static void full_list_is_retried(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  skpi_buf b, r;
  skpi_buf_init(&b, 1 << 16);
  skpi_buf_init(&r, 4096);
  skpi_buf_addstr(&b, "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[");
  char fp[16];
  for(int k = 0; k < 12; k++) {
    snprintf(fp, sizeof(fp), "f%d", k);
    if(k)
      skpi_buf_addc(&b, ',');
    alert_json(&b, fp, "A", "2023-11-14T22:00:00Z");
  }
  skpi_buf_addstr(&b, "]}");
  assert_int_equal(post(inc, &b, &r), 503);
  assert_non_null(strstr(r.data, "\"error\""));
  assert_int_equal(skpi_inc_count(inc), 0);
  skpi_buf_free(&b);
  skpi_buf_free(&r);
  skpi_inc_free(inc);
}

/* A body larger than the old hidden 1 MiB cap but within the configurable
 * one is parsed and applied. */
static void large_body_within_cap_accepted(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 100);
  skpi_buf b, r;
  size_t size = 1536 * 1024;
  assert_true(size < SKPI_AM_MAX_BODY);
  skpi_buf_init(&b, size + 4096);
  skpi_buf_init(&r, 4096);
  skpi_buf_addstr(&b, "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[");
  alert_json(&b, "big", "A", "2023-11-14T22:00:00Z");
  skpi_buf_addstr(&b, "],\"commonAnnotations\":{\"pad\":\"");
  while(b.len < size)
    skpi_buf_addc(&b, 'x');
  skpi_buf_addstr(&b, "\"}}");
  assert_int_equal(post(inc, &b, &r), 200);
  assert_int_equal(skpi_inc_count(inc), 1);
  skpi_buf_free(&b);
  skpi_buf_free(&r);
  skpi_inc_free(inc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(times),
      cmocka_unit_test(bearer),
      cmocka_unit_test(parse_firing),
      cmocka_unit_test(firing_then_resolved_one_incident),
      cmocka_unit_test(garbage_bodies_change_nothing),
      cmocka_unit_test(too_many_alerts),
      cmocka_unit_test(refused_like_the_loader),
      cmocka_unit_test(full_list_is_retried),
      cmocka_unit_test(large_body_within_cap_accepted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
