/* test_contracts.c: the ODCS v3 contract parser and the product catalog:
 * the subset read from real-shaped contracts, and every refusal (garbage,
 * unknown version, missing fields, 10 MB files, YAML aliases, a product
 * declared twice) with FILE:LINE while the rest of the catalog loads.  Run
 * from the repository root. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_test.h"
#include "streamkpi/buf.h"
#include "streamkpi/contracts.h"

#define FIX "tests/fixtures/contracts/"

static char *slurp(const char *path, size_t *len) {
  skpi_buf b;
  skpi_buf_init(&b, SKPI_CONTRACT_MAX_BYTES);
  assert_int_equal(skpi_buf_read_file(&b, path), SKPI_OK);
  return skpi_buf_steal(&b, len);
}

/* Parses text as file "c.yaml"; on failure returns the message. */
static skpi_err parse(const char *text, skpi_product *p, char *err, size_t errlen) {
  err[0] = '\0';
  return skpi_contract_parse("c.yaml", text, strlen(text), p, err, errlen);
}

static void expect_refused(const char *text, const char *want) {
  char err[1024];
  skpi_product p;
  if(parse(text, &p, err, sizeof(err)) != SKPI_EINVAL)
    fail_msg("accepted: %s", text);
  if(strncmp(err, want, strlen(want)) != 0)
    fail_msg("got \"%s\", want \"%s...\"", err, want);
  assert_null(p.name);
  assert_int_equal(p.ntopics, 0);
}

static void fixture_subset(void **st) {
  (void)st;
  size_t len;
  char err[1024];
  skpi_product p;
  char *text = slurp(FIX "payments-ledger.odcs.yaml", &len);
  assert_int_equal(
      skpi_contract_parse(FIX "payments-ledger.odcs.yaml", text, len, &p, err, sizeof(err)),
      SKPI_OK);
  assert_string_equal(p.name, "payments-ledger");
  assert_string_equal(p.owner, "payments");
  assert_string_equal(p.domain, "payments");
  assert_string_equal(p.contract_id, "7d1f3c2e-payments-ledger");
  assert_string_equal(p.origin, FIX "payments-ledger.odcs.yaml:2");
  assert_string_equal(p.description, "Every booked payment, one record per ledger entry.");
  assert_int_equal(p.ntopics, 1);
  assert_string_equal(p.topics[0], "payments.ledger");
  assert_true(p.freshness_s == 600);
  assert_true(p.retention_s == 7 * 86400);
  assert_true(p.availability > 0.99499 && p.availability < 0.99501);
  assert_true(p.dlq_ratio == 0.01);
  assert_true(p.time_lag_s == 120);
  assert_string_equal(p.value_target, "payments-app");
  skpi_product_clear(&p);
  free(text);
}

static void frequency_and_table_objects(void **st) {
  (void)st;
  size_t len;
  char err[1024];
  skpi_product p;
  char *text = slurp(FIX "shipping-status.odcs.yaml", &len);
  assert_int_equal(skpi_contract_parse("s.yaml", text, len, &p, err, sizeof(err)), SKPI_OK);
  assert_string_equal(p.name, "shipping_status"); /* no dataProduct: the contract's name */
  assert_string_equal(p.owner, "shipping");
  assert_int_equal(p.ntopics, 2); /* the table object is not a topic */
  assert_string_equal(p.topics[0], "shipping.status");
  assert_string_equal(p.topics[1], "shipping.carriers");
  assert_true(p.freshness_s == 3600); /* frequency stands in for a missing latency */
  assert_true(isnan(p.retention_s) && isnan(p.availability) && isnan(p.dlq_ratio));
  skpi_product_clear(&p);
  free(text);
}

#define GOOD_HEAD                                                                                  \
  "apiVersion: v3.0.2\nkind: DataContract\nid: x1\ndataProduct: x\ndomain: d\n"                    \
  "team:\n  name: t\n"
#define GOOD_TOPIC "schema:\n  - name: X\n    physicalName: x.events\n    physicalType: topic\n"

static void garbage(void **st) {
  (void)st;
  expect_refused("apiVersion: [v3\n", "c.yaml:2: YAML syntax error");
  expect_refused("- just\n- a list\n", "c.yaml:1: a contract is a YAML mapping");
  expect_refused("", "c.yaml:1: a contract is a YAML mapping");
  expect_refused("a: 1\n---\nb: 2\n", "c.yaml:2: only one YAML document is allowed");
  expect_refused(GOOD_HEAD "id: again\n" GOOD_TOPIC, "c.yaml:8: duplicate key id");
  expect_refused(GOOD_HEAD GOOD_TOPIC "slaProperties:\n  - property: latency\n    value: soon\n",
                 "c.yaml:13: slaProperties[0]: latency needs a positive value");
  expect_refused(GOOD_HEAD GOOD_TOPIC
                 "slaProperties:\n  - property: availability\n    value: 120\n",
                 "c.yaml:13: slaProperties[0]: availability 120 is not a percentage");
  expect_refused(GOOD_HEAD GOOD_TOPIC "slaProperties:\n  - property: retention\n    value: 3\n"
                                      "    unit: fortnights\n",
                 "c.yaml:13: slaProperties[0]: retention needs a positive value");
}

static void unknown_version(void **st) {
  (void)st;
  expect_refused("apiVersion: v2.2.2\nkind: DataContract\n",
                 "c.yaml:1: apiVersion v2.2.2 is not supported");
  expect_refused("kind: DataContract\nid: x\n", "c.yaml:1: missing required key apiVersion");
  expect_refused("apiVersion: v3.0.0\nkind: DataProduct\n", "c.yaml:2: kind DataProduct");
}

static void missing_fields(void **st) {
  (void)st;
  expect_refused("apiVersion: v3.0.2\ndataProduct: x\ndomain: d\nteam:\n  name: t\n" GOOD_TOPIC,
                 "c.yaml:1: missing required key id");
  expect_refused("apiVersion: v3.0.2\nid: x\ndomain: d\nteam:\n  name: t\n" GOOD_TOPIC,
                 "c.yaml:1: missing required key dataProduct or name");
  expect_refused("apiVersion: v3.0.2\nid: x\nname: x\nteam:\n  name: t\n" GOOD_TOPIC,
                 "c.yaml:1: missing required key domain");
  expect_refused("apiVersion: v3.0.2\nid: x\nname: x\ndomain: d\nteam:\n  - username: a\n",
                 "c.yaml:6: missing required key team.name");
  expect_refused(GOOD_HEAD
                 "schema:\n  - name: X\n    physicalName: x_tbl\n    physicalType: table\n",
                 "c.yaml:9: no Kafka topic");
}

static void ten_megabytes(void **st) {
  (void)st;
  char err[256];
  skpi_product p;
  size_t n = (size_t)SKPI_CONTRACT_MAX_BYTES + 1;
  char *big = malloc(n);
  assert_non_null(big);
  memset(big, '#', n);
  assert_int_equal(skpi_contract_parse("big.yaml", big, n, &p, err, sizeof(err)), SKPI_EINVAL);
  assert_string_equal(err, "big.yaml:1: larger than 10485760 bytes, not read");
  free(big);
}

static void alias_bomb(void **st) {
  (void)st;
  expect_refused("apiVersion: v3.0.2\na: &a [x, x, x, x, x, x, x, x, x]\n"
                 "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                 "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
                 "c.yaml:2: YAML anchors are not allowed");
  expect_refused("apiVersion: v3.0.2\nb: [*a]\n", "c.yaml:2: YAML aliases are not allowed");
  expect_refused("apiVersion: v3.0.2\nid: &i x\n", "c.yaml:2: YAML anchors are not allowed");
}

static void deep_nesting(void **st) {
  (void)st;
  char text[256];
  size_t n = 0;
  for(int i = 0; i < 40; i++)
    text[n++] = '[';
  text[n] = '\0';
  expect_refused(text, "c.yaml:1: nested deeper than 32 levels");
}

/* A temporary directory with the given files; returns its malloc'd path. */
static char *mkdir_with(const char *const *names, const char *const *texts, size_t n) {
  char *dir = strdup("/tmp/skpi_contracts_XXXXXX");
  assert_non_null(dir);
  assert_non_null(mkdtemp(dir));
  for(size_t i = 0; i < n; i++) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(texts[i], 1, strlen(texts[i]), f), strlen(texts[i]));
    fclose(f);
  }
  return dir;
}

static void rm_dir(char *dir, const char *const *names, size_t n) {
  for(size_t i = 0; i < n; i++) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
  free(dir);
}

static skpi_config *config_with_dir(const char *dir, const char *products) {
  char yaml[4096], tail[1024];
  skpi_config *c = NULL;
  snprintf(yaml, sizeof(yaml),
           "clusters:\n  - name: prod\n    bootstrap_servers: k:9092\n"
           "catalog:\n  contracts_dir: %s\n%s",
           dir, products);
  if(ct_load(yaml, tail, sizeof(tail), &c) != SKPI_OK)
    fail_msg("config refused: %s", tail);
  return c;
}

static const skpi_product *find(const skpi_catalog *cat, const char *name) {
  for(size_t i = 0; i < cat->n; i++)
    if(!strcmp(cat->v[i].name, name))
      return &cat->v[i];
  return NULL;
}

/* Config product "x" and a contract declaring "x" again: one error naming
 * both places; the other contract and the config product load. */
static void declared_twice(void **st) {
  (void)st;
  const char *names[] = {"a.yaml", "b.yml", "notes.txt"};
  const char *texts[] = {
      GOOD_HEAD GOOD_TOPIC,
      "apiVersion: v3.0.0\nid: y1\nname: y\ndomain: e\nteam:\n  name: u\n" GOOD_TOPIC,
      "not a contract"};
  char *dir = mkdir_with(names, texts, 3);
  skpi_config *c = config_with_dir(dir, "  products:\n    - name: x\n      owner: t\n"
                                        "      domain: d\n      topics: [x.events]\n");
  skpi_catalog *cat = NULL;
  char want[1024];
  assert_int_equal(skpi_catalog_load(c, &cat), SKPI_OK);
  assert_int_equal(cat->n, 2);
  assert_non_null(find(cat, "x"));
  assert_null(find(cat, "x")->contract_id); /* the config's one is kept */
  assert_non_null(find(cat, "y"));
  assert_int_equal(cat->nerrors, 1);
  snprintf(want, sizeof(want),
           "%s/a.yaml:1: product \"x\" is declared twice, first at %s:7; this one is ignored", dir,
           c->path);
  assert_string_equal(cat->errors[0], want);
  skpi_catalog_free(cat);
  skpi_config_free(c);
  rm_dir(dir, names, 3);
}

/* Bad files each give one error with their name; the good one loads. */
static void bad_files_rest_loads(void **st) {
  (void)st;
  const char *names[] = {"1-garbage.yaml", "2-old.yaml", "3-good.yaml", "4-big.yaml"};
  const char *texts[] = {"key: [unclosed\n", "apiVersion: v2.2.0\n", GOOD_HEAD GOOD_TOPIC, ""};
  char *dir = mkdir_with(names, texts, 4);
  char path[512], want[1024];
  snprintf(path, sizeof(path), "%s/4-big.yaml", dir);
  assert_int_equal(truncate(path, (off_t)SKPI_CONTRACT_MAX_BYTES + 1), 0);
  skpi_config *c = config_with_dir(dir, "");
  skpi_catalog *cat = NULL;
  assert_int_equal(skpi_catalog_load(c, &cat), SKPI_OK);
  assert_int_equal(cat->n, 1);
  assert_string_equal(cat->v[0].name, "x");
  assert_int_equal(cat->nerrors, 3);
  snprintf(want, sizeof(want), "%s/1-garbage.yaml:2: YAML syntax error", dir);
  assert_memory_equal(cat->errors[0], want, strlen(want));
  snprintf(want, sizeof(want), "%s/2-old.yaml:1: apiVersion v2.2.0 is not supported", dir);
  assert_memory_equal(cat->errors[1], want, strlen(want));
  snprintf(want, sizeof(want), "%s/4-big.yaml:1: larger than 10485760 bytes, not read", dir);
  assert_string_equal(cat->errors[2], want);
  skpi_catalog_free(cat);
  skpi_config_free(c);
  rm_dir(dir, names, 4);
}

static void missing_dir(void **st) {
  (void)st;
  skpi_config *c = config_with_dir("/nonexistent/contracts", "");
  skpi_catalog *cat = NULL;
  assert_int_equal(skpi_catalog_load(c, &cat), SKPI_OK);
  assert_int_equal(cat->n, 0);
  assert_int_equal(cat->nerrors, 1);
  assert_memory_equal(cat->errors[0], "/nonexistent/contracts:0: cannot open", 37);
  skpi_catalog_free(cat);
  skpi_config_free(c);
}

/* The config's product keys arrive in the catalog unchanged. */
static void config_products(void **st) {
  (void)st;
  skpi_config *c = config_with_dir(
      "/nonexistent", "  products:\n    - name: p\n      owner: o\n      domain: d\n"
                      "      topics: [a, b, a]\n      freshness: 30s\n      dlq_ratio: 0.05\n"
                      "      consumers: {billing-app: billing}\n"
                      "      value: {amount: 1200, currency: EUR, period: month, date: "
                      "2026-01-15}\n");
  skpi_catalog *cat = NULL;
  assert_int_equal(skpi_catalog_load(c, &cat), SKPI_OK);
  assert_int_equal(cat->n, 1);
  const skpi_product *p = &cat->v[0];
  assert_int_equal(p->ntopics, 2); /* a topic listed twice counts once */
  assert_true(p->freshness_s == 30 && p->dlq_ratio == 0.05 && isnan(p->time_lag_s));
  assert_int_equal(p->nconsumers, 1);
  assert_string_equal(p->consumers[0].group, "billing-app");
  assert_string_equal(p->consumers[0].domain, "billing");
  assert_true(p->value_amount == 1200);
  assert_string_equal(p->value_currency, "EUR");
  assert_string_equal(p->value_period, "month");
  assert_true(p->value_date == 1768435200.0);
  skpi_catalog_free(cat);
  skpi_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fixture_subset), cmocka_unit_test(frequency_and_table_objects),
      cmocka_unit_test(garbage),        cmocka_unit_test(unknown_version),
      cmocka_unit_test(missing_fields), cmocka_unit_test(ten_megabytes),
      cmocka_unit_test(alias_bomb),     cmocka_unit_test(deep_nesting),
      cmocka_unit_test(declared_twice), cmocka_unit_test(bad_files_rest_loads),
      cmocka_unit_test(missing_dir),    cmocka_unit_test(config_products),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
