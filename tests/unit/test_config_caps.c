/* test_config_caps.c: what the loader refuses beyond the schema's types:
 * every list and map cap (one past the cap fails with FILE:LINE, the cap
 * itself loads), values past 32 bits, strict RFC 3339 times, regex bombs,
 * checks that used to wait for the start (listen address, librdkafka
 * properties, token file), and the typed structs of every section,
 * including maturity.  Run from the repository root. */
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
#include "streamkpi/config.h"

#define HEAD "clusters:\n  - name: prod\n    bootstrap_servers: k:9092\n"

static void expect_fail(const char *yaml, const char *want) {
  char tail[1024];
  if(ct_load(yaml, tail, sizeof(tail), NULL) != SKPI_EINVAL)
    fail_msg("accepted: %s", yaml);
  size_t n = strlen(want);
  int prefix = n && want[n - 1] == ' ';
  if(prefix ? strncmp(tail, want, n) != 0 : strcmp(tail, want) != 0)
    fail_msg("got \"%s\", want \"%s\"", tail, want);
}

/* Builds head + n items (item_fmt takes the index as %zu); returns the line
 * of item `mark`. */
static int build(skpi_buf *b, const char *head, const char *item_fmt, size_t n, size_t mark) {
  int line = 0;
  skpi_buf_init(b, 4 * 1024 * 1024);
  assert_int_equal(skpi_buf_addstr(b, head), SKPI_OK);
  for(size_t i = 0; i < n; i++) {
    if(i == mark) {
      line = 1;
      for(size_t k = 0; k < b->len; k++)
        line += b->data[k] == '\n';
    }
    assert_int_equal(skpi_buf_printf(b, item_fmt, i), SKPI_OK);
  }
  return line;
}

static const struct cap_case {
  const char *head, *item, *path; /* path takes the index past the cap */
  size_t cap;
  int cap_loads; /* the list at exactly the cap is valid on its own */
} cap_cases[] = {
    {"clusters:\n", "  - {name: c%zu, bootstrap_servers: \"h:1\"}\n", "clusters[%zu]",
     SKPI_CONFIG_MAX_CLUSTERS, 1},
    {HEAD "    properties:\n", "      p%zu.unknown: x\n", "clusters[0].properties.p%zu.unknown",
     SKPI_CONFIG_MAX_PROPERTIES, 0},
    {HEAD "    topics:\n      include:\n", "        - \"^t%zu\"\n",
     "clusters[0].topics.include[%zu]", SKPI_CONFIG_MAX_FILTER_REGEXES, 1},
    {HEAD "    groups:\n      exclude:\n", "        - \"^g%zu\"\n",
     "clusters[0].groups.exclude[%zu]", SKPI_CONFIG_MAX_FILTER_REGEXES, 1},
    {HEAD "dlq:\n  patterns:\n", "    - \"{src}.d%zu\"\n", "dlq.patterns[%zu]",
     SKPI_CONFIG_MAX_DLQ_PATTERNS, 1},
    {HEAD "targets:\n", "  - {name: t%zu, url: \"http://h/\"}\n", "targets[%zu]",
     SKPI_CONFIG_MAX_TARGETS, 1},
    {HEAD "targets:\n  - name: t\n    url: http://h/\n    quality:\n      good:\n",
     "        - g%zu\n", "targets[0].quality.good[%zu]", SKPI_CONFIG_MAX_QUALITY_GOOD, 1},
    {HEAD "slos:\n", "  - {name: s%zu, sli: probe_availability, objective: 0.9}\n", "slos[%zu]",
     SKPI_CONFIG_MAX_SLOS, 1},
    {HEAD "maintenance:\n",
     "  - {start: 2024-06-01T10:00:00Z, end: 2024-06-01T11:00:00Z, reason: r%zu}\n",
     "maintenance[%zu]", SKPI_CONFIG_MAX_MAINTENANCE, 1},
    {HEAD "catalog:\n  products:\n", "    - {name: p%zu, owner: o, domain: d, topics: [t]}\n",
     "catalog.products[%zu]", SKPI_CONFIG_MAX_PRODUCTS, 1},
    {HEAD "catalog:\n  products:\n    - name: p\n      owner: o\n      domain: d\n      topics:\n",
     "        - t%zu\n", "catalog.products[0].topics[%zu]", SKPI_CONFIG_MAX_PRODUCT_LIST, 1},
    {HEAD "catalog:\n  products:\n    - name: p\n      owner: o\n      domain: d\n"
          "      topics: [t]\n      slos:\n",
     "        - s%zu\n", "catalog.products[0].slos[%zu]", SKPI_CONFIG_MAX_PRODUCT_LIST, 0},
    {HEAD "catalog:\n  group_domains:\n", "    \"^g%zu\": d\n", "catalog.group_domains.^g%zu",
     SKPI_CONFIG_MAX_GROUP_DOMAINS, 1},
    {HEAD "maturity:\n  thresholds:\n", "    c%zu: 1\n", "maturity.thresholds.c%zu",
     SKPI_CONFIG_MAX_MATURITY_KEYS, 1},
    {HEAD "maturity:\n  criteria:\n", "    c%zu: true\n", "maturity.criteria.c%zu",
     SKPI_CONFIG_MAX_MATURITY_KEYS, 1},
    {HEAD "maturity:\n  survey:\n", "    - {item: i%zu, score: 3, date: 2024-05-01}\n",
     "maturity.survey[%zu]", SKPI_CONFIG_MAX_SURVEY, 1},
    {HEAD "policy:\n  rules:\n    naming:\n      exempt:\n", "        - \"^t%zu\\\\.\"\n",
     "policy.rules.naming.exempt[%zu]", SKPI_CONFIG_MAX_POLICY_EXEMPT, 1},
    {HEAD "policy:\n  allowed_cleanup_policies:\n", "    - delete # %zu\n",
     "policy.allowed_cleanup_policies[%zu]", SKPI_CONFIG_MAX_CLEANUP_POLICIES, 1},
};

static void every_cap(void **state) {
  char tail[1024], path[128], want[1024];
  for(size_t i = 0; i < sizeof(cap_cases) / sizeof(cap_cases[0]); i++) {
    const struct cap_case *k = &cap_cases[i];
    skpi_buf b;
    int line = build(&b, k->head, k->item, k->cap + 1, k->cap);
    snprintf(path, sizeof(path), k->path, k->cap);
    snprintf(want, sizeof(want), "%d: %s: too many entries: at most %zu allowed", line, path,
             k->cap);
    if(ct_load(b.data, tail, sizeof(tail), NULL) != SKPI_EINVAL || strcmp(tail, want) != 0)
      fail_msg("case %zu: got \"%s\", want \"%s\"", i, tail, want);
    skpi_buf_free(&b);
    if(!k->cap_loads)
      continue;
    build(&b, k->head, k->item, k->cap, k->cap);
    if(ct_load(b.data, tail, sizeof(tail), NULL) != SKPI_OK)
      fail_msg("case %zu: %zu entries refused: %s", i, k->cap, tail);
    skpi_buf_free(&b);
  }
}

static void values_past_32_bits(void **state) {
  expect_fail(HEAD "incidents:\n  open_after: 4294967296\n",
              "5: incidents.open_after: must be at least 1 and at most 1000, got \"4294967296\"");
  expect_fail(HEAD "incidents:\n  resolve_after: 99999999999999999999999\n",
              "5: incidents.resolve_after: must be at least 1 and at most 1000, got "
              "\"99999999999999999999999\"");
  expect_fail(HEAD "onboarding:\n  lag_threshold: 2147483648\n",
              "5: onboarding.lag_threshold: must be at least 0 and at most 2147483647, got "
              "\"2147483648\"");
  expect_fail(HEAD "    chunk_size: 4294967297\n",
              "4: clusters[0].chunk_size: must be at least 1 and at most 100000, got "
              "\"4294967297\"");
  expect_fail(HEAD
              "targets:\n  - name: t\n    url: http://h/\n    max_bytes: 18446744073709551617\n",
              "7: targets[0].max_bytes: must be at least 1 and at most 1073741824, got "
              "\"18446744073709551617\"");
  expect_fail(HEAD "incidents:\n  max_body: 16777217\n",
              "5: incidents.max_body: must be at least 1 and at most 16777216, got \"16777217\"");
  char tail[256];
  skpi_config *c = NULL;
  assert_int_equal(
      ct_load(HEAD "onboarding:\n  lag_threshold: 2147483647\n", tail, sizeof(tail), &c), SKPI_OK);
  assert_int_equal(c->onboarding.lag_threshold, 2147483647LL);
  skpi_config_free(c);
}

static void strict_times(void **state) {
  expect_fail(HEAD "maintenance:\n  - start: 2024-+6-01T10:00:00Z\n    end: 2024-06-01T11:00:00Z\n",
              "5: maintenance[0].start: expected an RFC 3339 time like 2024-05-01T10:00:00Z, got "
              "\"2024-+6-01T10:00:00Z\"");
  expect_fail(HEAD "maintenance:\n  - start: 2024-06-01T05:-1:00Z\n    end: 2024-06-01T11:00:00Z\n",
              "5: maintenance[0].start: expected an RFC 3339 time like 2024-05-01T10:00:00Z, got "
              "\"2024-06-01T05:-1:00Z\"");
  expect_fail(HEAD "maintenance:\n  - start: 2024-06-01T10:00:00Z\n    end: 2024-06-01\n",
              "6: maintenance[0].end: expected an RFC 3339 time like 2024-05-01T10:00:00Z, got "
              "\"2024-06-01\"");
  expect_fail(HEAD "maturity:\n  survey:\n    - {item: skills, score: 3, date: 2023-02-29}\n",
              "6: maturity.survey[0].date: expected an RFC 3339 date like 2024-05-01 or a time "
              "like 2024-05-01T10:00:00Z, got \"2023-02-29\"");
  char tail[256];
  skpi_config *c = NULL;
  assert_int_equal(ct_load(HEAD "maintenance:\n  - start: 2024-06-01 22:00:00Z\n"
                                "    end: \"2024-06-02T01:30:00+02:00\"\n    cluster: prod\n"
                                "    reason: upgrade\n",
                           tail, sizeof(tail), &c),
                   SKPI_OK);
  assert_int_equal(c->nmaintenance, 1);
  assert_true(c->maintenance[0].start == 1717279200.0);
  assert_true(c->maintenance[0].end == 1717284600.0);
  assert_string_equal(c->maintenance[0].cluster, "prod");
  assert_string_equal(c->maintenance[0].reason, "upgrade");
  assert_int_equal(c->maintenance[0].line, 5);
  skpi_config_free(c);
}

static void regex_bombs_in_config(void **state) {
  expect_fail(HEAD "catalog:\n  team_regex: \"(a)++++++++++++++++++++\"\n",
              "5: catalog.team_regex: invalid regex \"(a)++++++++++++++++++++\": nested "
              "repetition (a repeated group or quantifier that contains a quantifier)");
  expect_fail(HEAD "    topics:\n      include: [\"((a{1,255}){1,255}){1,255}\"]\n",
              "5: clusters[0].topics.include[0]: invalid regex \"((a{1,255}){1,255}){1,255}\": "
              "repetition count above 100");
  expect_fail(HEAD "catalog:\n  group_domains:\n    \"(x+)*\": d\n",
              "6: catalog.group_domains.(x+)*: invalid regex \"(x+)*\": nested repetition (a "
              "repeated group or quantifier that contains a quantifier)");
}

static void start_checks_at_load(void **state) {
  static const char *const bad_listen[] = {"abc",    ":99999",   ":",   "[::1:80",
                                           "::1:80", "ho st:80", ":80x"};
  char yaml[512], tail[512];
  for(size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
    snprintf(yaml, sizeof(yaml), HEAD "global:\n  listen_address: \"%s\"\n", bad_listen[i]);
    assert_int_equal(ct_load(yaml, tail, sizeof(tail), NULL), SKPI_EINVAL);
    if(strncmp(tail, "5: global.listen_address: ", 26) != 0)
      fail_msg("\"%s\": %s", bad_listen[i], tail);
  }
  static const char *const good_listen[] = {":10308", "127.0.0.1:0", "[::1]:10308",
                                            "localhost:9100"};
  for(size_t i = 0; i < sizeof(good_listen) / sizeof(good_listen[0]); i++) {
    snprintf(yaml, sizeof(yaml), HEAD "global:\n  listen_address: \"%s\"\n", good_listen[i]);
    if(ct_load(yaml, tail, sizeof(tail), NULL) != SKPI_OK)
      fail_msg("\"%s\": %s", good_listen[i], tail);
  }
  char longpath[SKPI_CONFIG_MAX_PATH + 2];
  memset(longpath, 'm', sizeof(longpath) - 1);
  longpath[0] = '/';
  longpath[sizeof(longpath) - 1] = '\0';
  snprintf(yaml, sizeof(yaml), HEAD "global:\n  telemetry_path: \"%s\"\n", longpath);
  expect_fail(yaml, "5: global.telemetry_path: longer than 127 bytes");
  char name[SKPI_CONFIG_MAX_NAME + 2];
  memset(name, 'n', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  snprintf(yaml, sizeof(yaml), "clusters:\n  - {name: %s, bootstrap_servers: \"h:1\"}\n", name);
  expect_fail(yaml, "2: clusters[0].name: longer than 56 bytes");
  snprintf(yaml, sizeof(yaml), HEAD "targets:\n  - {name: %s, url: \"http://h/\"}\n", name);
  expect_fail(yaml, "5: targets[0].name: longer than 56 bytes");
  snprintf(yaml, sizeof(yaml),
           HEAD "slos:\n  - {name: %s, sli: probe_availability, objective: 0.9}\n", name);
  expect_fail(yaml, "5: slos[0].name: longer than 56 bytes");
  name[SKPI_CONFIG_MAX_NAME] = '\0';
  snprintf(yaml, sizeof(yaml), "clusters:\n  - {name: %s, bootstrap_servers: \"h:1\"}\n", name);
  assert_int_equal(ct_load(yaml, tail, sizeof(tail), NULL), SKPI_OK);
  expect_fail(HEAD "targets:\n  - name: t\n    url: http://h/\n    quality: {family: app-events}\n",
              "7: targets[0].quality.family: expected a metric or label name "
              "([a-zA-Z_:][a-zA-Z0-9_:]*), got \"app-events\"");
  expect_fail(HEAD "    properties:\n      no.such.property: 1\n",
              "5: clusters[0].properties.no.such.property: librdkafka refuses it: ");
  expect_fail(HEAD "    properties:\n      socket.timeout.ms: soon\n",
              "5: clusters[0].properties.socket.timeout.ms: librdkafka refuses it: ");
}

static void token_file(void **state) {
  char yaml[512], tail[512], want[512];
  expect_fail(HEAD "incidents:\n  webhook_token_file: /nonexistent/token\n",
              "5: incidents.webhook_token_file: cannot read /nonexistent/token: No such file or "
              "directory");
  char *empty = ct_write_temp("\n \n", 3);
  snprintf(yaml, sizeof(yaml), HEAD "incidents:\n  webhook_token_file: %s\n", empty);
  snprintf(want, sizeof(want), "5: incidents.webhook_token_file: %s holds no token", empty);
  expect_fail(yaml, want);
  unlink(empty);
  free(empty);
  /* A FIFO must not hang the load. */
  char fifo[] = "/tmp/skpi_test_caps_fifo_XXXXXX";
  int fd = mkstemp(fifo);
  assert_true(fd >= 0);
  close(fd);
  unlink(fifo);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  snprintf(yaml, sizeof(yaml), HEAD "incidents:\n  webhook_token_file: %s\n", fifo);
  snprintf(want, sizeof(want), "5: incidents.webhook_token_file: %s is not a regular file", fifo);
  expect_fail(yaml, want);
  unlink(fifo);
  char big[SKPI_CONFIG_MAX_TOKEN_FILE + 2];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  char *bigf = ct_write_temp(big, strlen(big));
  snprintf(yaml, sizeof(yaml), HEAD "incidents:\n  webhook_token_file: %s\n", bigf);
  snprintf(want, sizeof(want), "5: incidents.webhook_token_file: %s is larger than 4096 bytes",
           bigf);
  expect_fail(yaml, want);
  unlink(bigf);
  free(bigf);
  char *tok = ct_write_temp("s3cret\r\n", 8);
  snprintf(yaml, sizeof(yaml), HEAD "incidents:\n  webhook_token_file: %s\n", tok);
  skpi_config *c = NULL;
  assert_int_equal(ct_load(yaml, tail, sizeof(tail), &c), SKPI_OK);
  assert_string_equal(c->incidents.webhook_token, "s3cret");
  assert_string_equal(c->incidents.webhook_token_file, tok);
  assert_int_equal(c->incidents.line, 4);
  skpi_config_free(c);
  unlink(tok);
  free(tok);
  assert_int_equal(ct_load(HEAD "incidents:\n  webhook_token: abc\n", tail, sizeof(tail), &c),
                   SKPI_OK);
  assert_string_equal(c->incidents.webhook_token, "abc");
  assert_null(c->incidents.webhook_token_file);
  skpi_config_free(c);
}

static void maturity_section(void **state) {
  const char *yaml = "clusters:\n"                     /* 1 */
                     "  - name: prod\n"                /* 2 */
                     "    bootstrap_servers: k:9092\n" /* 3 */
                     "    role: production\n"          /* 4 */
                     "maturity:\n"                     /* 5 */
                     "  thresholds:\n"                 /* 6 */
                     "    active_teams_level3: 5\n"    /* 7 */
                     "    min_isr_share: \"0.9\"\n"    /* 8 */
                     "  criteria:\n"                   /* 9 */
                     "    dlq_present: false\n"        /* 10 */
                     "    schema_registry: yes\n"      /* 11 */
                     "  survey:\n"                     /* 12 */
                     "    - item: skills\n"            /* 13 */
                     "      score: 4\n"                /* 14 */
                     "      date: 2024-05-01\n"        /* 15 */
                     "    - {item: business_value, score: 1, date: \"2024-05-01T09:00:00+02:00\"}\n"
                     "  survey_max_age: 90d\n";
  char tail[512];
  skpi_config *c = NULL;
  if(ct_load(yaml, tail, sizeof(tail), &c) != SKPI_OK)
    fail_msg("%s", tail);
  const skpi_config_maturity *m = &c->maturity;
  assert_int_equal(m->line, 5);
  assert_int_equal(m->nthresholds, 2);
  assert_string_equal(m->thresholds[0].id, "active_teams_level3");
  assert_true(m->thresholds[0].value == 5.0);
  assert_int_equal(m->thresholds[0].line, 7);
  assert_string_equal(m->thresholds[1].id, "min_isr_share");
  assert_true(m->thresholds[1].value == 0.9);
  assert_int_equal(m->thresholds[1].line, 8);
  assert_int_equal(m->ncriteria, 2);
  assert_string_equal(m->criteria[0].id, "dlq_present");
  assert_int_equal(m->criteria[0].enabled, 0);
  assert_int_equal(m->criteria[0].line, 10);
  assert_int_equal(m->criteria[1].enabled, 1);
  assert_int_equal(m->criteria[1].line, 11);
  assert_int_equal(m->nsurvey, 2);
  assert_string_equal(m->survey[0].item, "skills");
  assert_int_equal(m->survey[0].score, 4);
  assert_true(m->survey[0].date == 1714521600.0);
  assert_int_equal(m->survey[0].line, 13);
  assert_string_equal(m->survey[1].item, "business_value");
  assert_int_equal(m->survey[1].score, 1);
  assert_true(m->survey[1].date == 1714546800.0);
  assert_int_equal(m->survey[1].line, 16);
  assert_true(m->survey_max_age_s == 90 * 86400.0);
  assert_string_equal(c->clusters[0].role, "production");

  /* The line another module prints for an id it does not know. */
  char err[512], want[600];
  skpi_config_error(c, m->thresholds[1].line, "maturity.thresholds.min_isr_share",
                    "unknown criterion", err, sizeof(err));
  snprintf(want, sizeof(want), "%s:8: maturity.thresholds.min_isr_share: unknown criterion",
           c->path);
  assert_string_equal(err, want);
  skpi_config_error(c, 0, NULL, "no key", err, sizeof(err));
  snprintf(want, sizeof(want), "%s:0: no key", c->path);
  assert_string_equal(err, want);
  char small[8];
  skpi_config_error(c, 8, "k", "m", small, sizeof(small));
  assert_int_equal(strlen(small), sizeof(small) - 1);
  skpi_config_free(c);

  assert_int_equal(skpi_config_from_brokers("h:1", &c, err, sizeof(err)), SKPI_OK);
  skpi_config_error(c, 0, "x", "y", err, sizeof(err));
  assert_string_equal(err, "--kafka.brokers:0: x: y");
  skpi_config_free(c);

  expect_fail(HEAD "maturity:\n  criteria:\n    dlq_present: maybe\n",
              "6: maturity.criteria.dlq_present: expected true or false, got \"maybe\"");
  expect_fail(HEAD "maturity:\n  criteria:\n    dlq_present: [a]\n",
              "6: maturity.criteria.dlq_present: expected a single value, got a list");
  expect_fail(HEAD "maturity:\n  survey:\n    - {item: skills, score: 0, date: 2024-05-01}\n",
              "6: maturity.survey[0].score: must be at least 1 and at most 5, got \"0\"");
  expect_fail(HEAD "maturity:\n  survey:\n    - {item: skills, score: 3}\n",
              "6: maturity.survey[0]: missing required key date");
  expect_fail(
      HEAD "maturity:\n  survey:\n    - {item: skills, score: 3, date: 2024-05-01}\n"
           "    - {item: skills, score: 4, date: 2024-06-01}\n",
      "7: maturity.survey[1].item: duplicate survey item item \"skills\" (first at line 6)");
  expect_fail(HEAD "maturity:\n  survey_max_age: 0s\n",
              "5: maturity.survey_max_age: must be greater than 0, got \"0s\"");
  expect_fail(HEAD "    role: \"\"\n", "4: clusters[0].role: must not be empty");
}

/* Every section as a typed struct, with the lines of its entries. */
static void typed_sections(void **state) {
  const char *yaml =
      "state: {path: /var/lib/s.json, persist_interval: 1m}\n"                  /* 1 */
      "probe: {mode: metadata-only, topic: canary, min_brokers: 2}\n"           /* 2 */
      "availability: {objective: 0.99, window: 7d}\n"                           /* 3 */
      "dlq: {patterns: [\"{src}.dead\"]}\n"                                     /* 4 */
      "onboarding: {lag_threshold: 5, baseline: no}\n"                          /* 5 */
      "targets:\n"                                                              /* 6 */
      "  - name: app\n"                                                         /* 7 */
      "    url: https://app:8443/metrics\n"                                     /* 8 */
      "    interval: 30s\n"                                                     /* 9 */
      "    username: u\n"                                                       /* 10 */
      "    password: p\n"                                                       /* 11 */
      "    ca_file: /etc/ca.pem\n"                                              /* 12 */
      "    insecure_skip_verify: true\n"                                        /* 13 */
      "    quality: {family: jobs_total, label: result, good: [ok, retried]}\n" /* 14 */
      "  - {name: sr, url: \"http://sr:8081\", kind: schema_registry}\n"        /* 15 */
      "  - {name: co, url: \"http://co:8083\", kind: connect}\n"                /* 16 */
      "slos:\n"                                                                 /* 17 */
      "  - {name: a, sli: probe_latency, objective: 0.99, threshold: 250ms, window: 28d}\n"
      "  - {name: b, sli: group_lag, objective: 0.9, group: g, threshold: 2m, cluster: prod}\n"
      "  - {name: c, sli: dlq_ratio, objective: 0.9, topic: orders, threshold: 0.01}\n"
      "  - {name: d, sli: app_ratio, objective: 0.95, target: app, description: x}\n"
      "catalog:\n"                     /* 22 */
      "  team_regex: \"^([a-z]+)-\"\n" /* 23 */
      "  products:\n"                  /* 24 */
      "    - {name: orders, owner: shop, domain: sales, topics: [o1, o2], slos: [c, d]}\n"
      "clusters:\n"                     /* 26 */
      "  - name: prod\n"                /* 27 */
      "    bootstrap_servers: k:9092\n" /* 28 */
      "    probe: {enabled: false}\n";  /* 29 */
  char tail[512];
  skpi_config *c = NULL;
  if(ct_load(yaml, tail, sizeof(tail), &c) != SKPI_OK)
    fail_msg("%s", tail);
  assert_string_equal(c->state.path, "/var/lib/s.json");
  assert_true(c->state.persist_interval_s == 60);
  assert_int_equal(c->state.line, 1);
  assert_int_equal(c->probe.mode, SKPI_CONFIG_PROBE_METADATA_ONLY);
  assert_string_equal(c->probe.topic, "canary");
  assert_int_equal(c->probe.min_brokers, 2);
  assert_int_equal(c->clusters[0].probe.mode, SKPI_CONFIG_PROBE_METADATA_ONLY);
  assert_int_equal(c->clusters[0].probe.enabled, 0);
  assert_int_equal(c->clusters[0].probe.line, 29);
  assert_null(c->clusters[0].probe_topic);
  assert_int_equal(c->clusters[0].line, 27);
  assert_true(c->availability.objective == 0.99);
  assert_true(c->availability.window_s == 7 * 86400.0);
  assert_int_equal(c->dlq.patterns.n, 1);
  assert_string_equal(c->dlq.patterns.v[0], "{src}.dead");
  assert_int_equal(c->dlq.patterns.lines[0], 4);
  assert_int_equal(c->onboarding.lag_threshold, 5);
  assert_int_equal(c->onboarding.baseline, 0);

  assert_int_equal(c->ntargets, 3);
  const skpi_config_target *t = &c->targets[0];
  assert_string_equal(t->name, "app");
  assert_string_equal(t->url, "https://app:8443/metrics");
  assert_int_equal(t->kind, SKPI_CONFIG_TARGET_METRICS);
  assert_true(t->interval_s == 30);
  assert_true(t->timeout_s == SKPI_CONFIG_TARGET_TIMEOUT_S);
  assert_int_equal(t->max_bytes, SKPI_CONFIG_TARGET_MAX_BYTES);
  assert_string_equal(t->username, "u");
  assert_string_equal(t->password, "p");
  assert_string_equal(t->ca_file, "/etc/ca.pem");
  assert_int_equal(t->insecure_skip_verify, 1);
  assert_string_equal(t->quality.family, "jobs_total");
  assert_string_equal(t->quality.label, "result");
  assert_int_equal(t->quality.good.n, 2);
  assert_string_equal(t->quality.good.v[1], "retried");
  assert_int_equal(t->quality.line, 14);
  assert_int_equal(t->line, 7);
  assert_int_equal(c->targets[1].kind, SKPI_CONFIG_TARGET_SCHEMA_REGISTRY);
  assert_null(c->targets[1].username);
  assert_int_equal(c->targets[1].quality.good.n, 1);
  assert_string_equal(c->targets[1].quality.good.v[0], "success");
  assert_int_equal(c->targets[1].quality.line, 0);
  assert_true(c->targets[1].interval_s == SKPI_CONFIG_TARGET_INTERVAL_S);
  assert_int_equal(c->targets[2].kind, SKPI_CONFIG_TARGET_CONNECT);
  assert_int_equal(c->targets[2].line, 16);

  assert_int_equal(c->nslos, 4);
  assert_int_equal(c->slos[0].sli, SKPI_CONFIG_SLI_PROBE_LATENCY);
  assert_int_equal(c->slos[0].window, SKPI_CONFIG_WINDOW_28D);
  assert_true(c->slos[0].window_s == 28 * 86400.0);
  assert_true(c->slos[0].threshold == 0.25);
  assert_true(c->slos[0].objective == 0.99);
  assert_null(c->slos[0].cluster);
  assert_int_equal(c->slos[0].line, 18);
  assert_int_equal(c->slos[1].sli, SKPI_CONFIG_SLI_GROUP_LAG);
  assert_string_equal(c->slos[1].group, "g");
  assert_string_equal(c->slos[1].cluster, "prod");
  assert_true(c->slos[1].threshold == 120);
  assert_int_equal(c->slos[1].window, SKPI_CONFIG_WINDOW_30D);
  assert_true(c->slos[1].window_s == 30 * 86400.0);
  assert_int_equal(c->slos[2].sli, SKPI_CONFIG_SLI_DLQ_RATIO);
  assert_string_equal(c->slos[2].topic, "orders");
  assert_int_equal(c->slos[3].sli, SKPI_CONFIG_SLI_APP_RATIO);
  assert_string_equal(c->slos[3].target, "app");
  assert_string_equal(c->slos[3].description, "x");

  assert_string_equal(c->catalog.team_regex, "^([a-z]+)-");
  assert_int_equal(c->catalog.line, 22);
  assert_int_equal(c->catalog.nproducts, 1);
  const skpi_config_product *p = &c->catalog.products[0];
  assert_string_equal(p->name, "orders");
  assert_string_equal(p->owner, "shop");
  assert_string_equal(p->domain, "sales");
  assert_int_equal(p->topics.n, 2);
  assert_string_equal(p->topics.v[1], "o2");
  assert_null(p->topics.v[2]);
  assert_int_equal(p->slos.n, 2);
  assert_null(p->description);
  assert_int_equal(p->line, 25);
  skpi_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_cap),
      cmocka_unit_test(values_past_32_bits),
      cmocka_unit_test(strict_times),
      cmocka_unit_test(regex_bombs_in_config),
      cmocka_unit_test(start_checks_at_load),
      cmocka_unit_test(token_file),
      cmocka_unit_test(maturity_section),
      cmocka_unit_test(typed_sections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
