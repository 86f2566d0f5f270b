/* test_offsets_topic.c: __consumer_offsets records built byte by byte, every
 * key and value version, tombstones, garbage, and the table they build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/offsets_topic.h"

/* A record under construction: big-endian fields appended in order. */
typedef struct bytes {
  unsigned char b[512];
  size_t n;
} bytes;

static void put_be(bytes *o, uint64_t v, int width) {
  for(int i = width - 1; i >= 0; i--)
    o->b[o->n++] = (unsigned char)(v >> (8 * i));
}
static void i16(bytes *o, int v) {
  put_be(o, (uint16_t)(int16_t)v, 2);
}
static void i32(bytes *o, int32_t v) {
  put_be(o, (uint32_t)v, 4);
}
static void i64(bytes *o, int64_t v) {
  put_be(o, (uint64_t)v, 8);
}
static void str(bytes *o, const char *s) {
  i16(o, (int)strlen(s));
  memcpy(o->b + o->n, s, strlen(s));
  o->n += strlen(s);
}
static void uvar(bytes *o, uint32_t v) {
  while(v >= 0x80) {
    o->b[o->n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  o->b[o->n++] = (unsigned char)v;
}

static bytes commit_key(int version, const char *g, const char *t, int32_t p) {
  bytes k = {.n = 0};
  i16(&k, version);
  str(&k, g);
  str(&k, t);
  i32(&k, p);
  return k;
}

static bytes group_key(const char *g) {
  bytes k = {.n = 0};
  i16(&k, 2);
  str(&k, g);
  return k;
}

/* An offset commit value of the given version (0..4). */
static bytes commit_value(int version, int64_t offset, int64_t ts) {
  bytes v = {.n = 0};
  i16(&v, version);
  i64(&v, offset);
  if(version >= 3)
    i32(&v, 7); /* leader epoch */
  if(version >= 4) {
    uvar(&v, 3); /* compact "md" */
    memcpy(v.b + v.n, "md", 2);
    v.n += 2;
  } else {
    str(&v, "md");
  }
  i64(&v, ts);
  if(version == 1)
    i64(&v, ts + 1000);
  if(version >= 4)
    uvar(&v, 0); /* no tagged fields */
  return v;
}

static skpi_err parse(const bytes *k, const bytes *v, skpi_offsets_topic_rec *r, const char **why) {
  return skpi_offsets_topic_parse(k->b, k->n, v ? v->b : NULL, v ? v->n : 0, r, why);
}

static void every_value_version_parses(void **state) {
  (void)state;
  for(int ver = 0; ver <= 4; ver++) {
    bytes k = commit_key(ver == 0 ? 0 : 1, "g1", "orders", 3);
    bytes v = commit_value(ver, 42 + ver, 1700000000000 + ver);
    skpi_offsets_topic_rec r;
    const char *why = NULL;
    assert_int_equal(parse(&k, &v, &r, &why), SKPI_OK);
    assert_int_equal(r.kind, SKPI_OFFSETS_TOPIC_COMMIT);
    assert_int_equal(r.value_version, ver);
    assert_int_equal(r.group_len, 2);
    assert_memory_equal(r.group, "g1", 2);
    assert_int_equal(r.topic_len, 6);
    assert_memory_equal(r.topic, "orders", 6);
    assert_int_equal(r.partition, 3);
    assert_int_equal(r.offset, 42 + ver);
    assert_int_equal(r.commit_ms, 1700000000000 + ver);
    assert_int_equal(r.expire_ms, ver == 1 ? 1700000001001 : -1);
    assert_int_equal(r.leader_epoch, ver >= 3 ? 7 : -1);
    assert_false(r.tombstone);
  }
}

static void flexible_value_skips_tagged_fields_and_null_metadata(void **state) {
  (void)state;
  bytes k = commit_key(1, "g", "t", 0);
  bytes v = {.n = 0};
  i16(&v, 4);
  i64(&v, 99);
  i32(&v, -1);
  uvar(&v, 0); /* null metadata */
  i64(&v, 5);
  uvar(&v, 2); /* two tagged fields */
  uvar(&v, 0);
  uvar(&v, 3);
  memcpy(v.b + v.n, "abc", 3);
  v.n += 3;
  uvar(&v, 200); /* a tag number of two varint bytes */
  uvar(&v, 0);
  skpi_offsets_topic_rec r;
  assert_int_equal(parse(&k, &v, &r, NULL), SKPI_OK);
  assert_int_equal(r.offset, 99);
  assert_int_equal(r.commit_ms, 5);
}

static void tombstones_and_group_records(void **state) {
  (void)state;
  skpi_offsets_topic_rec r;
  bytes k = commit_key(1, "g", "t", 1);
  assert_int_equal(parse(&k, NULL, &r, NULL), SKPI_OK);
  assert_int_equal(r.kind, SKPI_OFFSETS_TOPIC_COMMIT);
  assert_true(r.tombstone);
  assert_int_equal(r.offset, -1);
  bytes gk = group_key("g");
  assert_int_equal(parse(&gk, NULL, &r, NULL), SKPI_OK);
  assert_int_equal(r.kind, SKPI_OFFSETS_TOPIC_GROUP);
  assert_true(r.tombstone);
  /* Group metadata with a value: its content is not read. */
  bytes junk = {.b = {0xff, 0x01}, .n = 2};
  assert_int_equal(parse(&gk, &junk, &r, NULL), SKPI_OK);
  assert_int_equal(r.kind, SKPI_OFFSETS_TOPIC_GROUP);
  assert_false(r.tombstone);
}

static void other_key_versions_are_skipped(void **state) {
  (void)state;
  int versions[] = {3, 4, 5, 11, 32767, -1};
  for(size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
    bytes k = {.n = 0};
    i16(&k, versions[i]);
    str(&k, "anything");
    bytes v = {.b = {1, 2, 3}, .n = 3};
    skpi_offsets_topic_rec r;
    assert_int_equal(parse(&k, &v, &r, NULL), SKPI_OK);
    assert_int_equal(r.kind, SKPI_OFFSETS_TOPIC_OTHER);
    assert_int_equal(r.key_version, versions[i]);
  }
}

/* Every strict prefix of a valid key or value is refused with a reason. */
static void truncated_records_are_refused(void **state) {
  (void)state;
  bytes k = commit_key(1, "group", "topic", 2);
  for(int ver = 0; ver <= 4; ver++) {
    bytes v = commit_value(ver, 10, 20);
    for(size_t n = 0; n < v.n; n++) {
      skpi_offsets_topic_rec r;
      const char *why = NULL;
      assert_int_equal(skpi_offsets_topic_parse(k.b, k.n, v.b, n, &r, &why), SKPI_EINVAL);
      assert_non_null(why);
    }
  }
  for(size_t n = 0; n < k.n; n++) {
    bytes v = commit_value(1, 10, 20);
    skpi_offsets_topic_rec r;
    const char *why = NULL;
    assert_int_equal(skpi_offsets_topic_parse(k.b, n, v.b, v.n, &r, &why), SKPI_EINVAL);
    assert_non_null(why);
  }
}

static void garbage_is_refused(void **state) {
  (void)state;
  skpi_offsets_topic_rec r;
  const char *why = NULL;
  bytes k = commit_key(1, "g", "t", 0);
  /* Unknown value version. */
  bytes v = commit_value(3, 1, 1);
  v.b[1] = 9;
  assert_int_equal(parse(&k, &v, &r, &why), SKPI_EINVAL);
  assert_string_equal(why, "offset commit value version not supported");
  /* Bytes after the value. */
  v = commit_value(2, 1, 1);
  v.b[v.n++] = 0;
  assert_int_equal(parse(&k, &v, &r, &why), SKPI_EINVAL);
  assert_string_equal(why, "value: bytes after the last field");
  /* Negative offset and partition. */
  v = commit_value(2, -5, 1);
  assert_int_equal(parse(&k, &v, &r, &why), SKPI_EINVAL);
  assert_string_equal(why, "value: negative offset");
  bytes nk = commit_key(1, "g", "t", -2);
  v = commit_value(2, 1, 1);
  assert_int_equal(parse(&nk, &v, &r, &why), SKPI_EINVAL);
  assert_string_equal(why, "key: negative partition");
  /* A null group name, a negative string length, a NUL inside a name. */
  bytes bad = {.n = 0};
  i16(&bad, 1);
  i16(&bad, -1);
  assert_int_equal(parse(&bad, &v, &r, &why), SKPI_EINVAL);
  bad.n = 0;
  i16(&bad, 1);
  i16(&bad, -7);
  assert_int_equal(parse(&bad, &v, &r, &why), SKPI_EINVAL);
  bytes nul = commit_key(1, "g", "t", 0);
  nul.b[4] = 0; /* the group name's only byte */
  assert_int_equal(parse(&nul, &v, &r, &why), SKPI_EINVAL);
  assert_string_equal(why, "key: group name holds a NUL byte");
  /* Flexible value whose tagged field claims more bytes than there are. */
  v = commit_value(4, 1, 1);
  v.n--;
  uvar(&v, 1);
  uvar(&v, 0);
  uvar(&v, 100);
  assert_int_equal(parse(&k, &v, &r, &why), SKPI_EINVAL);
  /* An over-long varint. */
  v.n = 0;
  i16(&v, 4);
  i64(&v, 1);
  i32(&v, 0);
  for(int i = 0; i < 6; i++)
    v.b[v.n++] = 0xff;
  assert_int_equal(parse(&k, &v, &r, &why), SKPI_EINVAL);
  assert_int_equal(skpi_offsets_topic_parse(NULL, 0, NULL, 0, &r, &why), SKPI_EINVAL);
  assert_int_equal(skpi_offsets_topic_parse(k.b, k.n, NULL, 0, NULL, &why), SKPI_EINVAL);
}

static void apply(skpi_offsets_topic *t, const bytes *k, const bytes *v) {
  skpi_offsets_topic_rec r;
  assert_int_equal(parse(k, v, &r, NULL), SKPI_OK);
  assert_int_equal(skpi_offsets_topic_apply(t, &r), SKPI_OK);
}

static void commit(skpi_offsets_topic *t, const char *g, const char *topic, int32_t p,
                   int64_t off) {
  bytes k = commit_key(1, g, topic, p);
  bytes v = commit_value(3, off, 1000 + off);
  apply(t, &k, &v);
}

static void table_keeps_latest_commit_sorted(void **state) {
  (void)state;
  skpi_offsets_topic *t = skpi_offsets_topic_new();
  assert_non_null(t);
  commit(t, "g1", "b", 1, 10);
  commit(t, "g1", "a", 0, 5);
  commit(t, "g1", "b", 0, 7);
  commit(t, "g1", "b", 1, 12); /* replaces 10 */
  commit(t, "g2", "a", 0, 3);
  size_t n;
  const skpi_offsets_topic_entry *e = skpi_offsets_topic_group(t, "g1", &n);
  assert_int_equal(n, 3);
  assert_string_equal(e[0].topic, "a");
  assert_int_equal(e[0].offset, 5);
  assert_string_equal(e[1].topic, "b");
  assert_int_equal(e[1].partition, 0);
  assert_int_equal(e[2].partition, 1);
  assert_int_equal(e[2].offset, 12);
  assert_int_equal(e[2].commit_ms, 1012);
  assert_int_equal(skpi_offsets_topic_size(t), 4);
  assert_null(skpi_offsets_topic_group(t, "nobody", &n));
  assert_int_equal(n, 0);
  skpi_offsets_topic_free(t);
}

static void tombstones_delete(void **state) {
  (void)state;
  skpi_offsets_topic *t = skpi_offsets_topic_new();
  commit(t, "g1", "a", 0, 5);
  commit(t, "g1", "a", 1, 6);
  commit(t, "g2", "a", 0, 9);
  bytes k = commit_key(1, "g1", "a", 0);
  apply(t, &k, NULL);
  size_t n;
  const skpi_offsets_topic_entry *e = skpi_offsets_topic_group(t, "g1", &n);
  assert_int_equal(n, 1);
  assert_int_equal(e[0].partition, 1);
  /* Deleting what is not there changes nothing. */
  bytes missing = commit_key(1, "g9", "a", 0);
  apply(t, &missing, NULL);
  apply(t, &k, NULL);
  assert_int_equal(skpi_offsets_topic_size(t), 2);
  /* A group tombstone drops the group's commits only. */
  bytes gk = group_key("g1");
  apply(t, &gk, NULL);
  assert_null(skpi_offsets_topic_group(t, "g1", &n));
  assert_non_null(skpi_offsets_topic_group(t, "g2", &n));
  assert_int_equal(skpi_offsets_topic_size(t), 1);
  /* The group may come back. */
  commit(t, "g1", "a", 4, 1);
  e = skpi_offsets_topic_group(t, "g1", &n);
  assert_int_equal(n, 1);
  assert_int_equal(e[0].partition, 4);
  skpi_offsets_topic_free(t);
}

static void many_groups_and_topics(void **state) {
  (void)state;
  skpi_offsets_topic *t = skpi_offsets_topic_new();
  char g[32], topic[32];
  for(int i = 0; i < 500; i++) {
    snprintf(g, sizeof(g), "group-%d", i);
    for(int p = 0; p < 20; p++) {
      snprintf(topic, sizeof(topic), "topic-%d", (i + p) % 97);
      commit(t, g, topic, p, i * 100 + p);
    }
  }
  assert_int_equal(skpi_offsets_topic_size(t), 500 * 20);
  size_t n;
  const skpi_offsets_topic_entry *e = skpi_offsets_topic_group(t, "group-321", &n);
  assert_int_equal(n, 20);
  for(size_t i = 1; i < n; i++)
    assert_true(strcmp(e[i - 1].topic, e[i].topic) < 0 ||
                (strcmp(e[i - 1].topic, e[i].topic) == 0 && e[i - 1].partition < e[i].partition));
  skpi_offsets_topic_free(t);
  skpi_offsets_topic_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_value_version_parses),
      cmocka_unit_test(flexible_value_skips_tagged_fields_and_null_metadata),
      cmocka_unit_test(tombstones_and_group_records),
      cmocka_unit_test(other_key_versions_are_skipped),
      cmocka_unit_test(truncated_records_are_refused),
      cmocka_unit_test(garbage_is_refused),
      cmocka_unit_test(table_keeps_latest_commit_sorted),
      cmocka_unit_test(tombstones_delete),
      cmocka_unit_test(many_groups_and_topics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
