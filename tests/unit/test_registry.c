/* test_registry.c: slots, snapshots, stale data and encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "streamkpi/clock.h"
#include "streamkpi/registry.h"

/* Joins the parts of s's body in one encoding into b (caller frees). */
static skpi_err body_of(skpi_snapshot *s, enum skpi_format fmt, int gz, skpi_buf *b) {
  const skpi_expo_part *parts;
  size_t n, total;
  skpi_buf_init(b, (size_t)1 << 30);
  skpi_err rc = skpi_snapshot_parts(s, fmt, gz, &parts, &n, &total);
  if(rc == SKPI_OK && (rc = skpi_expo_join(parts, n, b)) == SKPI_OK)
    assert_int_equal(b->len, total);
  if(rc == SKPI_OK && !b->data)
    rc = skpi_buf_add(b, "", 0);
  return rc;
}

/* Waits (bounded: 10 s) until the newest text snapshot contains needle, or
 * lacks it when want is 0.  Returns 1 when the condition held. */
static int wait_body(skpi_registry *r, const char *needle, int want) {
  for(int i = 0; i < 1000; i++) {
    skpi_snapshot *s = skpi_registry_acquire(r);
    skpi_buf b;
    int found = 0;
    if(body_of(s, SKPI_FMT_TEXT, 0, &b) == SKPI_OK)
      found = b.data && strstr(b.data, needle) != NULL;
    skpi_buf_free(&b);
    skpi_snapshot_release(s);
    if(found == want)
      return 1;
    skpi_sleep(0.01, NULL);
  }
  return 0;
}

static skpi_mset *one_gauge(const char *name, double v) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, name, SKPI_MT_GAUGE, "test gauge");
  assert_true(f >= 0);
  assert_int_equal(skpi_mset_add(m, f, v, "cluster", "c1"), SKPI_OK);
  return m;
}

static void publish_then_fail_keeps_stale(void **state) {
  skpi_registry *r = skpi_registry_new();
  assert_non_null(r);
  int id = skpi_registry_add_source(r, "c1", "kafka", 3600, 1);
  assert_true(id >= 0);
  assert_false(skpi_registry_ready(r, 60));
  skpi_registry_publish(r, id, one_gauge("test_value", 42), NULL, 0.5);
  assert_true(wait_body(r, "test_value{cluster=\"c1\"} 42\n", 1));
  assert_true(wait_body(r, "streamkpi_source_up{cluster=\"c1\",source=\"kafka\"} 1\n", 1));
  assert_true(skpi_registry_ready(r, 60));

  skpi_registry_publish(r, id, NULL, "all brokers down", 1.0);
  assert_true(wait_body(r, "streamkpi_source_up{cluster=\"c1\",source=\"kafka\"} 0\n", 1));
  assert_true(wait_body(r, "streamkpi_source_stale{cluster=\"c1\",source=\"kafka\"} 1\n", 1));
  assert_true(wait_body(r, "test_value{cluster=\"c1\"} 42\n", 1));
  assert_true(
      wait_body(r, "streamkpi_source_errors_total{cluster=\"c1\",source=\"kafka\"} 1\n", 1));
  assert_false(skpi_registry_ready(r, 60));

  skpi_source_status st[4];
  assert_int_equal(skpi_registry_status(r, st, 4), 1);
  assert_string_equal(st[0].last_error, "all brokers down");
  assert_int_equal(st[0].up, 0);
  assert_int_equal(st[0].has_data, 1);
  skpi_registry_free(r);
}

static void ttl_drops_stale_data(void **state) {
  skpi_registry *r = skpi_registry_new();
  int id = skpi_registry_add_source(r, "c1", "kafka", 0.2, 1);
  skpi_registry_publish(r, id, one_gauge("test_value", 7), NULL, 0.1);
  assert_true(wait_body(r, "test_value{cluster=\"c1\"} 7\n", 1));
  skpi_registry_publish(r, id, NULL, "down", 0.1);
  /* The composer wakes at least every second and drops data past its TTL. */
  assert_true(wait_body(r, "test_value{", 0));
  assert_true(wait_body(r, "streamkpi_source_up{cluster=\"c1\",source=\"kafka\"} 0\n", 1));
  skpi_registry_free(r);
}

static void same_family_from_two_sources_is_one_group(void **state) {
  skpi_registry *r = skpi_registry_new();
  int a = skpi_registry_add_source(r, "a", "kafka", 60, 1);
  int b = skpi_registry_add_source(r, "b", "kafka", 60, 1);
  skpi_mset *ma = skpi_mset_new(), *mb = skpi_mset_new();
  int fa = skpi_mset_family(ma, "kafka_brokers", SKPI_MT_GAUGE, "Brokers.");
  int fb = skpi_mset_family(mb, "kafka_brokers", SKPI_MT_GAUGE, "Brokers.");
  skpi_mset_add(ma, fa, 3, "cluster", "a");
  skpi_mset_add(mb, fb, 1, "cluster", "b");
  skpi_registry_publish(r, a, ma, NULL, 0.1);
  skpi_registry_publish(r, b, mb, NULL, 0.1);
  assert_true(wait_body(r,
                        "# TYPE kafka_brokers gauge\nkafka_brokers{cluster=\"a\"} 3\n"
                        "kafka_brokers{cluster=\"b\"} 1\n",
                        1));
  skpi_registry_free(r);
}

/* Inflates the gzip member gz whole and checks it is exactly text. */
static void assert_gunzips_to(const char *gz, size_t glen, const char *text, size_t tlen) {
  char *plain = malloc(tlen + 1);
  assert_non_null(plain);
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = (Bytef *)(uintptr_t)gz;
  zs.avail_in = (uInt)glen;
  zs.next_out = (Bytef *)plain;
  zs.avail_out = (uInt)tlen + 1;
  assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
  assert_int_equal(zs.total_out, tlen);
  assert_int_equal(zs.avail_in, 0);
  assert_memory_equal(plain, text, tlen);
  inflateEnd(&zs);
  free(plain);
}

static void gzip_and_openmetrics_encodings(void **state) {
  skpi_registry *r = skpi_registry_new();
  int id = skpi_registry_add_source(r, "c1", "kafka", 60, 1);
  skpi_registry_publish(r, id, one_gauge("test_value", 5), NULL, 0.1);
  assert_true(wait_body(r, "test_value{cluster=\"c1\"} 5\n", 1));
  skpi_snapshot *s = skpi_registry_acquire(r);
  skpi_buf text, gz, om;
  assert_int_equal(body_of(s, SKPI_FMT_TEXT, 0, &text), SKPI_OK);
  assert_int_equal(body_of(s, SKPI_FMT_TEXT, 1, &gz), SKPI_OK);
  assert_int_equal(body_of(s, SKPI_FMT_OPENMETRICS, 0, &om), SKPI_OK);
  assert_true(om.len >= 6);
  assert_memory_equal(om.data + om.len - 6, "# EOF\n", 6);
  assert_gunzips_to(gz.data, gz.len, text.data, text.len);
  skpi_buf_free(&text);
  skpi_buf_free(&gz);
  skpi_buf_free(&om);
  skpi_snapshot_release(s);
  skpi_registry_free(r);
}

/* A set of n gauges whose values do not repeat, so its gzip body is far
 * larger than one deflate output chunk. */
static skpi_mset *many_gauges(size_t n, double base) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, "test_many", SKPI_MT_GAUGE, "test gauges");
  assert_true(f >= 0);
  char part[32];
  for(size_t i = 0; i < n; i++) {
    snprintf(part, sizeof(part), "%zu", i);
    assert_int_equal(
        skpi_mset_add(m, f, base + (double)(i * 2654435761u % 1000003u) / 7.0, "partition", part),
        SKPI_OK);
  }
  return m;
}

/* Inflates the gzip body of s and checks it equals the text body. */
static void gzip_matches_text(skpi_snapshot *s) {
  skpi_buf text, gz;
  assert_int_equal(body_of(s, SKPI_FMT_TEXT, 0, &text), SKPI_OK);
  assert_int_equal(body_of(s, SKPI_FMT_TEXT, 1, &gz), SKPI_OK);
  assert_true(gz.len > 3 * 65536);
  assert_gunzips_to(gz.data, gz.len, text.data, text.len);
  skpi_buf_free(&text);
  skpi_buf_free(&gz);
}

static void large_bodies_across_snapshots(void **state) {
  skpi_registry *r = skpi_registry_new();
  int id = skpi_registry_add_source(r, "c1", "kafka", 60, 1);
  skpi_registry_publish(r, id, many_gauges(60000, 0), NULL, 0.1);
  assert_true(wait_body(r, "test_many{partition=\"59999\"}", 1));
  skpi_snapshot *s = skpi_registry_acquire(r);
  gzip_matches_text(s);
  skpi_snapshot_release(s);
  /* The next snapshot is larger than the last render it is sized from. */
  skpi_registry_publish(r, id, many_gauges(90000, 0.5), NULL, 0.1);
  assert_true(wait_body(r, "test_many{partition=\"89999\"}", 1));
  s = skpi_registry_acquire(r);
  gzip_matches_text(s);
  skpi_snapshot_release(s);
  skpi_registry_free(r);
}

/* An encoding asked for the first time while the next snapshot renders
 * is served at once, from the shown snapshot. */
static void new_encoding_while_the_next_renders(void **state) {
  for(int round = 0; round < 4; round++) {
    skpi_registry *r = skpi_registry_new();
    int id = skpi_registry_add_source(r, "c1", "kafka", 60, 1);
    skpi_registry_publish(r, id, many_gauges(40000, 0), NULL, 0.1);
    assert_true(wait_body(r, "test_many{partition=\"39999\"}", 1));
    skpi_registry_publish(r, id, many_gauges(40000, 1), NULL, 0.1);
    if(round % 2)
      skpi_sleep(0.002 * round, NULL); /* land at other points of the render */
    skpi_snapshot *s = skpi_registry_acquire(r);
    skpi_buf om;
    assert_int_equal(body_of(s, SKPI_FMT_OPENMETRICS, 0, &om), SKPI_OK);
    assert_true(om.len > 6);
    assert_memory_equal(om.data + om.len - 6, "# EOF\n", 6);
    assert_non_null(strstr(om.data, "test_many{partition=\"39999\"}"));
    skpi_buf_free(&om);
    skpi_snapshot_release(s);
    skpi_registry_free(r);
  }
}

/* A replaced snapshot still serves what it showed, in every encoding, and
 * a change in one block of a big family leaves the old text intact. */
static void snapshot_outlives_registry_swap(void **state) {
  skpi_registry *r = skpi_registry_new();
  int id = skpi_registry_add_source(r, "c1", "kafka", 60, 1);
  skpi_registry_publish(r, id, many_gauges(5000, 0), NULL, 0.1);
  assert_true(wait_body(r, "test_many{partition=\"4999\"}", 1));
  skpi_snapshot *old = skpi_registry_acquire(r);
  skpi_buf before;
  assert_int_equal(body_of(old, SKPI_FMT_TEXT, 0, &before), SKPI_OK);
  skpi_mset *next = many_gauges(5000, 0);
  int f = skpi_mset_family(next, "test_value", SKPI_MT_GAUGE, "test gauge");
  assert_int_equal(skpi_mset_add(next, f, 2, "cluster", "c1"), SKPI_OK);
  skpi_registry_publish(r, id, next, NULL, 0.1);
  assert_true(wait_body(r, "test_value{cluster=\"c1\"} 2\n", 1));
  skpi_buf again, om, gz;
  assert_int_equal(body_of(old, SKPI_FMT_TEXT, 0, &again), SKPI_OK);
  assert_int_equal(again.len, before.len);
  assert_memory_equal(again.data, before.data, before.len);
  assert_int_equal(body_of(old, SKPI_FMT_OPENMETRICS, 0, &om), SKPI_OK);
  assert_null(strstr(om.data, "test_value"));
  assert_non_null(strstr(om.data, "test_many{partition=\"4999\"}"));
  assert_int_equal(body_of(old, SKPI_FMT_TEXT, 1, &gz), SKPI_OK);
  assert_gunzips_to(gz.data, gz.len, before.data, before.len);
  skpi_buf_free(&before);
  skpi_buf_free(&again);
  skpi_buf_free(&om);
  skpi_buf_free(&gz);
  skpi_snapshot_release(old);
  skpi_registry_free(r);
}

/* The registry is freed while a scrape still holds a snapshot: the snapshot
 * must stay fully usable (every encoding, rendered on demand) and its
 * release must not reach back into the freed registry. */
static void snapshot_outlives_registry_free(void **state) {
  skpi_registry *r = skpi_registry_new();
  assert_non_null(r);
  int id = skpi_registry_add_source(r, "c1", "kafka", 60, 1);
  skpi_registry_publish(r, id, one_gauge("test_value", 7), NULL, 0.1);
  assert_true(wait_body(r, "test_value{cluster=\"c1\"} 7\n", 1));
  skpi_snapshot *s = skpi_registry_acquire(r);
  skpi_registry_free(r);
  skpi_buf b;
  assert_int_equal(body_of(s, SKPI_FMT_OPENMETRICS, 1, &b), SKPI_OK);
  assert_true(b.len > 0);
  skpi_buf_free(&b);
  assert_int_equal(body_of(s, SKPI_FMT_TEXT, 0, &b), SKPI_OK);
  assert_non_null(strstr(b.data, "test_value{cluster=\"c1\"} 7\n"));
  skpi_buf_free(&b);
  skpi_snapshot_release(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(publish_then_fail_keeps_stale),
      cmocka_unit_test(ttl_drops_stale_data),
      cmocka_unit_test(same_family_from_two_sources_is_one_group),
      cmocka_unit_test(gzip_and_openmetrics_encodings),
      cmocka_unit_test(large_bodies_across_snapshots),
      cmocka_unit_test(new_encoding_while_the_next_renders),
      cmocka_unit_test(snapshot_outlives_registry_swap),
      cmocka_unit_test(snapshot_outlives_registry_free),
  };
  return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
