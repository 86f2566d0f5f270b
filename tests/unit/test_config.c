/* test_config.c: YAML loading, schema validation, error lines, defaults,
 * filters and durations.  Run from the repository root (fixtures under
 * tests/unit/configs/). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_test.h"
#include "streamkpi/config.h"

#define DIR "tests/unit/configs/"

/* Loads a fixture expecting failure rc and exactly the message want. */
static void expect_error(const char *file, skpi_err rc, const char *want) {
  char err[512];
  skpi_config *c = (skpi_config *)1;
  assert_int_equal(skpi_config_load(file, &c, err, sizeof(err)), rc);
  assert_null(c);
  assert_string_equal(err, want);
}

/* ------------------------------------------------- the messages of the brief */

static void unknown_key(void **state) {
  expect_error(DIR "unknown_key.yml", SKPI_EINVAL,
               DIR "unknown_key.yml:7: clusters[0].bootstrap_serverz: unknown key");
}

static void bad_duration(void **state) {
  expect_error(DIR "bad_duration.yml", SKPI_EINVAL,
               DIR "bad_duration.yml:3: global.sample_interval: expected a duration like 15s, "
                   "got \"fast\"");
}

static void bad_regex(void **state) {
  char err[512];
  skpi_config *c = NULL;
  const char *want = DIR "bad_regex.yml:9: clusters[1].topics.include[0]: invalid regex \"([\": ";
  assert_int_equal(skpi_config_load(DIR "bad_regex.yml", &c, err, sizeof(err)), SKPI_EINVAL);
  /* The tail is regerror's text, which belongs to libc. */
  assert_memory_equal(err, want, strlen(want));
  assert_true(strlen(err) > strlen(want));
  assert_null(strchr(err, '\n'));
}

static void duplicate_cluster(void **state) {
  expect_error(DIR "dup_cluster.yml", SKPI_EINVAL,
               DIR "dup_cluster.yml:12: clusters[1].name: duplicate cluster name \"prod\" (first "
                   "at line 4)");
}

static void missing_brokers(void **state) {
  expect_error(DIR "missing_brokers.yml", SKPI_EINVAL,
               DIR "missing_brokers.yml:5: clusters[0]: missing required key bootstrap_servers");
}

static void syntax_error(void **state) {
  char err[512];
  skpi_config *c = NULL;
  const char *want = DIR "syntax.yml:3: YAML syntax error: ";
  assert_int_equal(skpi_config_load(DIR "syntax.yml", &c, err, sizeof(err)), SKPI_EINVAL);
  assert_null(c);
  assert_memory_equal(err, want, strlen(want));
}

static void empty_and_no_clusters(void **state) {
  expect_error(DIR "empty.yml", SKPI_EINVAL,
               DIR "empty.yml:1: the file is empty: at least a clusters list is required");
  expect_error(DIR "comments_only.yml", SKPI_EINVAL,
               DIR "comments_only.yml:1: the file is empty: at least a clusters list is "
                   "required");
  expect_error(DIR "no_clusters.yml", SKPI_EINVAL,
               DIR "no_clusters.yml:3: clusters: must not be empty");
  char tail[512];
  assert_int_equal(ct_load("global:\n  log_level: warn\n", tail, sizeof(tail), NULL), SKPI_EINVAL);
  assert_string_equal(tail, "1: missing required key clusters");
}

static void missing_file(void **state) {
  char err[256];
  skpi_config *c = NULL;
  assert_int_equal(skpi_config_load(DIR "no_such_file.yml", &c, err, sizeof(err)), SKPI_EIO);
  assert_null(c);
  assert_non_null(strstr(err, "no_such_file.yml: cannot open: "));
}

/* ------------------------------------------------------------ garbage input */

static void anchors_and_aliases(void **state) {
  expect_error(DIR "anchors.yml", SKPI_EINVAL,
               DIR "anchors.yml:1: defaults: YAML anchors are not supported");
  expect_error(DIR "aliases.yml", SKPI_EINVAL,
               DIR "aliases.yml:3: clusters[0].bootstrap_servers: YAML aliases are not "
                   "supported");
}

static void tabs(void **state) {
  char err[512];
  skpi_config *c = NULL;
  const char *want = DIR "tabs.yml:2: YAML syntax error: ";
  assert_int_equal(skpi_config_load(DIR "tabs.yml", &c, err, sizeof(err)), SKPI_EINVAL);
  assert_memory_equal(err, want, strlen(want));
}

static void binary_bytes(void **state) {
  unsigned char bin[4096];
  uint32_t x = 12345;
  for(size_t i = 0; i < sizeof(bin); i++) {
    x = x * 1103515245u + 12345u;
    bin[i] = (unsigned char)(x >> 16);
  }
  char *path = ct_write_temp((const char *)bin, sizeof(bin));
  char err[512];
  skpi_config *c = NULL;
  assert_int_equal(skpi_config_load(path, &c, err, sizeof(err)), SKPI_EINVAL);
  assert_null(c);
  assert_null(strchr(err, '\n'));
  assert_memory_equal(err, path, strlen(path));
  unlink(path);
  free(path);
}

static void too_big(void **state) {
  size_t n = 2 * 1024 * 1024;
  char *text = malloc(n);
  assert_non_null(text);
  for(size_t i = 0; i < n; i++)
    text[i] = (i % 64 == 63) ? '\n' : '#';
  char *path = ct_write_temp(text, n);
  char err[512], want[600];
  skpi_config *c = NULL;
  assert_int_equal(skpi_config_load(path, &c, err, sizeof(err)), SKPI_ETOOBIG);
  assert_null(c);
  snprintf(want, sizeof(want), "%s: file is larger than 1048576 bytes", path);
  assert_string_equal(err, want);
  unlink(path);
  free(path);
  free(text);
}

static void deep_nesting(void **state) {
  char text[4096], tail[512];
  size_t o = 0;
  /* Flow style: 100 nested lists on line 1. */
  for(int i = 0; i < 100; i++)
    text[o++] = '[';
  for(int i = 0; i < 100; i++)
    text[o++] = ']';
  text[o] = '\0';
  assert_int_equal(ct_load(text, tail, sizeof(tail), NULL), SKPI_EINVAL);
  assert_non_null(strstr(tail, "nested deeper than 32 levels"));
  assert_int_equal(strncmp(tail, "1: ", 3), 0);
  /* Block style mappings, one level per line. */
  o = 0;
  for(int i = 0; i < 40; i++) {
    for(int j = 0; j < i; j++)
      text[o++] = ' ';
    o += (size_t)snprintf(text + o, sizeof(text) - o, "k%d:\n", i);
  }
  text[o] = '\0';
  assert_int_equal(ct_load(text, tail, sizeof(tail), NULL), SKPI_EINVAL);
  assert_string_equal(tail, "32: k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11.k12.k13.k14.k15.k16.k17."
                            "k18.k19.k20.k21.k22.k23.k24.k25.k26.k27.k28.k29.k30.k31: nested "
                            "deeper than 32 levels");
}

static void unterminated_and_odd_yaml(void **state) {
  static const struct {
    const char *yaml;
    const char *want; /* prefix of the tail after "FILE:" */
  } cases[] = {
      {"clusters:\n  - name: 'prod\n", "3: YAML syntax error: "},
      {"clusters: [a, b\n", "2: YAML syntax error: "},
      {"--- \nclusters: []\n--- \nclusters: []\n", "3: only one YAML document is allowed"},
      {"? [a, b]\n: c\n", "1: mapping keys must be plain values, not lists"},
      {"clusters:\n  - name: a\n    name: b\n", "3: clusters[0].name: duplicate key (first at "
                                                "line 2)"},
      {"- a\n- b\n", "1: expected a mapping of sections at the top level, got a list"},
      {"just a string\n", "1: expected a mapping of sections at the top level, got a value"},
      {"clusters:\n  - name: \"a\\0b\"\n", "2: clusters[0].name: NUL byte in value"},
      {"clusters: prod\n", "1: clusters: expected a list, got a value"},
      {"clusters:\n  - prod\n", "2: clusters[0]: expected a mapping, got a value"},
      {"clusters:\n  - name: [a]\n    bootstrap_servers: x\n",
       "2: clusters[0].name: expected a single value, got a list"},
      {"clusters:\n  - name: \"bad name\"\n    bootstrap_servers: x\n",
       "2: clusters[0].name: must match [A-Za-z0-9_.-]+, got \"bad name\""},
      {"clusters:\n  - name: a\n    bootstrap_servers: \"  \"\n",
       "3: clusters[0].bootstrap_servers: must not be empty"},
      {"clusters:\n  - name: a\n    bootstrap_servers:\n", "2: clusters[0]: missing required "
                                                           "key bootstrap_servers"},
  };
  char tail[512];
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(ct_load(cases[i].yaml, tail, sizeof(tail), NULL), SKPI_EINVAL);
    if(strncmp(tail, cases[i].want, strlen(cases[i].want)) != 0)
      fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, tail, cases[i].want);
  }
}

/* ------------------------------------------------------- sections and checks */

/* A valid head so that each case below adds only the key under test. */
#define HEAD "clusters:\n  - name: prod\n    bootstrap_servers: k:9092\n"

static void section_errors(void **state) {
  static const struct {
    const char *yaml;
    const char *want; /* the exact tail after "FILE:" */
  } cases[] = {
      {HEAD "    max_inflight: 0\n",
       "4: clusters[0].max_inflight: must be at least 1 and at most 1000, got \"0\""},
      {HEAD "    chunk_size: 100001\n",
       "4: clusters[0].chunk_size: must be at least 1 and at most 100000, got \"100001\""},
      {HEAD "    chunk_size: 12x\n", "4: clusters[0].chunk_size: expected an integer, got \"12x\""},
      {HEAD "    sample_interval: 0s\n",
       "4: clusters[0].sample_interval: must be greater than 0, got \"0s\""},
      {HEAD "    properties: [a]\n", "4: clusters[0].properties: expected a mapping, got a list"},
      {HEAD "    properties:\n      a: {b: c}\n",
       "5: clusters[0].properties.a: expected a single value, got a mapping"},
      {HEAD "    topics: {inclde: [x]}\n", "4: clusters[0].topics.inclde: unknown key"},
      {HEAD "    groups: {exclude: [\"\"]}\n", "4: clusters[0].groups.exclude[0]: must not be "
                                               "empty"},
      {HEAD "global:\n  log_level: loud\n",
       "5: global.log_level: expected one of debug|info|warn|error, got \"loud\""},
      {HEAD "global:\n  log_format: xml\n",
       "5: global.log_format: expected one of logfmt|json, got \"xml\""},
      {HEAD "global:\n  telemetry_path: metrics\n", "5: global.telemetry_path: must start with /"},
      {HEAD "global:\n  stale_ttl: -5m\n",
       "5: global.stale_ttl: expected a duration like 15s, got \"-5m\""},
      {HEAD "globl:\n  stale_ttl: 5m\n", "4: globl: unknown key"},
      {HEAD "probe:\n  enabled: maybe\n", "5: probe.enabled: expected true or false, got "
                                          "\"maybe\""},
      {HEAD "probe:\n  mode: fast\n",
       "5: probe.mode: expected one of produce-consume|metadata-only, got \"fast\""},
      {HEAD "probe:\n  replication_factor: 11\n",
       "5: probe.replication_factor: must be at least 1 and at most 10, got \"11\""},
      {HEAD "probe:\n  min_brokers: -1\n",
       "5: probe.min_brokers: must be at least 0 and at most 1000, got \"-1\""},
      {HEAD "    probe:\n      timeout: never\n",
       "5: clusters[0].probe.timeout: expected a duration like 15s, got \"never\""},
      {HEAD "state:\n  persist_interval: 1x\n",
       "5: state.persist_interval: expected a duration like 15s, got \"1x\""},
      {HEAD "incidents:\n  open_after: 0\n",
       "5: incidents.open_after: must be at least 1 and at most 1000, got \"0\""},
      {HEAD "incidents:\n  webhook_token: a\n  webhook_token_file: /b\n",
       "5: incidents: set webhook_token or webhook_token_file, not both"},
      {HEAD "availability:\n  objective: 1\n",
       "5: availability.objective: must be greater than 0 and less than 1, got \"1\""},
      {HEAD "availability:\n  objective: 0x1p-1\n",
       "5: availability.objective: expected a number, got \"0x1p-1\""},
      {HEAD "availability:\n  objective: nan\n",
       "5: availability.objective: expected a number, got \"nan\""},
      {HEAD "dlq:\n  patterns: [\"{src}.dlq\", \"dead\"]\n",
       "5: dlq.patterns[1]: must contain {src} exactly once, got \"dead\""},
      {HEAD "dlq:\n  patterns:\n    - \"{src}.{src}\"\n",
       "6: dlq.patterns[0]: must contain {src} exactly once, got \"{src}.{src}\""},
      {HEAD "onboarding:\n  baseline: 2\n", "5: onboarding.baseline: expected true or false, "
                                            "got \"2\""},
      {HEAD "maintenance:\n  - start: 2024-06-01T10:00:00Z\n    end: 2024-06-01T09:00:00Z\n",
       "6: maintenance[0].end: must be after start"},
      {HEAD "maintenance:\n  - start: 2024-02-30T10:00:00Z\n    end: 2024-06-01T09:00:00Z\n",
       "5: maintenance[0].start: expected an RFC 3339 time like 2024-05-01T10:00:00Z, got "
       "\"2024-02-30T10:00:00Z\""},
      {HEAD "maintenance:\n  - start: 2024-06-01T10:00:00Z\n",
       "5: maintenance[0]: missing required key end"},
      {HEAD "maintenance:\n  - start: 2024-06-01T10:00:00Z\n    end: 2024-06-02T00:00:00+01:00\n"
            "    cluster: test\n",
       "7: maintenance[0].cluster: no cluster named \"test\""},
      {HEAD "targets:\n  - name: a\n    url: ftp://x\n",
       "6: targets[0].url: expected an http:// or https:// URL, got \"ftp://x\""},
      {HEAD "targets:\n  - name: a\n    url: http://\n", "6: targets[0].url: URL has no host: "
                                                         "\"http://\""},
      {HEAD "targets:\n  - name: a\n    url: http://x\n  - name: a\n    url: http://y\n",
       "7: targets[1].name: duplicate target name \"a\" (first at line 5)"},
      {HEAD "targets:\n  - name: a\n    url: http://x\n    quality: {good: []}\n",
       "7: targets[0].quality.good: must not be empty"},
      {HEAD "targets:\n  - name: a\n    url: http://x\n    kind: kafka\n",
       "7: targets[0].kind: expected one of metrics|schema_registry|connect, got \"kafka\""},
      {HEAD "slos:\n  - name: s\n    sli: uptime\n    objective: 0.9\n",
       "6: slos[0].sli: expected one of "
       "probe_availability|probe_latency|group_lag|dlq_ratio|app_ratio, got \"uptime\""},
      {HEAD "slos:\n  - name: s\n    sli: probe_availability\n",
       "5: slos[0]: missing required key objective"},
      {HEAD "slos:\n  - name: s\n    sli: probe_latency\n    objective: 0.9\n",
       "5: slos[0]: missing required key threshold (sli probe_latency)"},
      {HEAD "slos:\n  - name: s\n    sli: group_lag\n    objective: 0.9\n    group: g\n"
            "    threshold: 0.5x\n",
       "9: slos[0].threshold: expected a duration like 250ms for sli group_lag, got \"0.5x\""},
      {HEAD "slos:\n  - name: s\n    sli: group_lag\n    objective: 0.9\n    threshold: 5s\n",
       "5: slos[0]: missing required key group (sli group_lag)"},
      {HEAD "slos:\n  - name: s\n    sli: dlq_ratio\n    objective: 0.9\n    threshold: 0.1\n",
       "5: slos[0]: missing required key topic (sli dlq_ratio)"},
      {HEAD "slos:\n  - name: s\n    sli: dlq_ratio\n    objective: 0.9\n    topic: t\n"
            "    threshold: 5s\n",
       "9: slos[0].threshold: expected a number from 0 to 1 for sli dlq_ratio, got \"5s\""},
      {HEAD "slos:\n  - name: s\n    sli: probe_availability\n    objective: 0.9\n"
            "    threshold: 1\n",
       "8: slos[0].threshold: not used by sli probe_availability"},
      {HEAD "slos:\n  - name: s\n    sli: app_ratio\n    objective: 0.9\n",
       "5: slos[0]: missing required key target (sli app_ratio)"},
      {HEAD "slos:\n  - name: s\n    sli: app_ratio\n    objective: 0.9\n    target: web\n",
       "8: slos[0].target: no target named \"web\""},
      {HEAD "slos:\n  - name: s\n    sli: probe_availability\n    objective: 0.9\n"
            "    cluster: other\n",
       "8: slos[0].cluster: no cluster named \"other\""},
      {HEAD "slos:\n  - name: s\n    sli: probe_availability\n    objective: 0.9\n"
            "  - name: s\n    sli: probe_availability\n    objective: 0.5\n",
       "8: slos[1].name: duplicate SLO name \"s\" (first at line 5)"},
      {HEAD "slos:\n  - name: s\n    sli: probe_availability\n    objective: 0.9\n"
            "    window: 7d\n",
       "8: slos[0].window: expected one of 28d|30d|calendar_month, got \"7d\""},
      {HEAD "catalog:\n  team_regex: \"^[a-z]+\"\n",
       "5: catalog.team_regex: regex \"^[a-z]+\" must have exactly 1 capture group, has 0"},
      {HEAD "catalog:\n  products:\n    - name: p\n      owner: o\n      domain: d\n",
       "6: catalog.products[0]: missing required key topics"},
      {HEAD "catalog:\n  products:\n    - name: p\n      owner: o\n      domain: d\n"
            "      topics: [t]\n      slos: [nope]\n",
       "10: catalog.products[0].slos[0]: no SLO named \"nope\""},
      {HEAD "catalog:\n  group_domains:\n    \"(\": sales\n",
       "6: catalog.group_domains.(: invalid regex \"(\": "},
      {HEAD "maturity:\n  survey:\n    - {item: skills, score: 6, date: 2024-05-01}\n",
       "6: maturity.survey[0].score: must be at least 1 and at most 5, got \"6\""},
      {HEAD "maturity:\n  thresholds:\n    teams: many\n",
       "6: maturity.thresholds.teams: expected a number, got \"many\""},
  };
  char tail[512];
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(ct_load(cases[i].yaml, tail, sizeof(tail), NULL), SKPI_EINVAL);
    /* Messages ending in ": " carry libc's regerror text after them. */
    size_t n = strlen(cases[i].want);
    int prefix = n >= 2 && cases[i].want[n - 1] == ' ';
    if(prefix ? strncmp(tail, cases[i].want, n) != 0 : strcmp(tail, cases[i].want) != 0)
      fail_msg("case %zu: got \"%s\", want \"%s\"", i, tail, cases[i].want);
  }
}

/* ------------------------------------------------------ defaults and values */

static void defaults_and_fallback(void **state) {
  char err[512];
  skpi_config *c = NULL;
  assert_int_equal(skpi_config_load(DIR "defaults.yml", &c, err, sizeof(err)), SKPI_OK);
  assert_string_equal(c->path, DIR "defaults.yml");
  assert_string_equal(c->listen_address, ":10308");
  assert_string_equal(c->telemetry_path, "/metrics");
  assert_string_equal(c->log_level, "info");
  assert_string_equal(c->log_format, "logfmt");
  assert_int_equal(c->nclusters, 2);

  const skpi_cluster_cfg *a = &c->clusters[0], *b = &c->clusters[1];
  assert_string_equal(a->name, "a");
  assert_string_equal(a->bootstrap_servers, "a1:9092,a2:9092");
  /* a inherits from global (quoted "20" is a number too), then defaults. */
  assert_true(a->sample_interval_s == 20.0);
  assert_true(a->stale_ttl_s == 300.0);
  assert_true(a->request_timeout_s == 3.0);
  assert_int_equal(a->max_inflight, 10);
  assert_int_equal(a->chunk_size, 2000);
  assert_int_equal(a->nproperties, 0);
  assert_int_equal(a->topics.ninclude + a->topics.nexclude, 0);

  assert_string_equal(b->name, "b.2-x_y");
  assert_true(b->sample_interval_s == 90.0);
  assert_true(b->stale_ttl_s == 3600.0);
  assert_true(b->request_timeout_s == 3.0);
  assert_int_equal(b->max_inflight, 50);
  assert_int_equal(b->chunk_size, 500);
  assert_int_equal(b->nproperties, 3);
  /* Scalars of any YAML type arrive as the text that was written. */
  assert_string_equal(b->properties[0].key, "socket.timeout.ms");
  assert_string_equal(b->properties[0].value, "5000");
  assert_string_equal(b->properties[1].key, "enable.ssl.certificate.verification");
  assert_string_equal(b->properties[1].value, "false");
  assert_string_equal(b->properties[2].value, "streamkpi");
  assert_int_equal(b->line, 10);

  /* Top-level probe: file values over defaults. */
  const skpi_config_probe *probe = &c->probe;
  assert_true(probe->interval_s == 30.0);
  assert_true(probe->timeout_s == 5.0);
  assert_int_equal(probe->replication_factor, 2);
  assert_int_equal(probe->enabled, 1);
  assert_int_equal(probe->mode, SKPI_CONFIG_PROBE_PRODUCE_CONSUME);
  assert_string_equal(probe->topic, "streamkpi-probe");
  assert_int_equal(probe->min_brokers, 1);
  assert_int_equal(probe->line, 4);

  /* Cluster probe: own keys, then the top-level probe, then defaults. */
  const skpi_config_probe *pa = &c->clusters[0].probe, *pb = &c->clusters[1].probe;
  assert_true(pa->interval_s == 30.0);
  assert_int_equal(pa->enabled, 1);
  assert_int_equal(pb->enabled, 0);
  assert_true(pb->timeout_s == 2.0);
  assert_true(pb->interval_s == 30.0);
  assert_int_equal(pb->replication_factor, 2);
  assert_int_equal(pb->min_brokers, 1);
  assert_int_equal(pa->line, 0);
  assert_true(pb->line > 0);
  assert_null(a->role);

  /* Sections absent from the file come with their defaults. */
  assert_string_equal(c->state.path, "streamkpi-state.json");
  assert_true(c->state.persist_interval_s == 30.0);
  assert_int_equal(c->state.line, 0);
  assert_int_equal(c->incidents.open_after, 3);
  assert_int_equal(c->incidents.resolve_after, 2);
  assert_int_equal(c->incidents.max_body, 1048576);
  assert_null(c->incidents.webhook_token);
  assert_null(c->incidents.webhook_token_file);
  assert_true(c->availability.objective == 0.999);
  assert_true(c->availability.window_s == 30 * 86400.0);
  assert_int_equal(c->dlq.patterns.n, 5);
  assert_string_equal(c->dlq.patterns.v[3], "{src}.DLT");
  assert_null(c->dlq.patterns.v[5]);
  assert_int_equal(c->dlq.patterns.lines[3], 0);
  assert_int_equal(c->onboarding.lag_threshold, 100);
  assert_int_equal(c->onboarding.baseline, 1);
  assert_int_equal(c->ntargets, 0);
  assert_int_equal(c->nslos, 0);
  assert_int_equal(c->nmaintenance, 0);
  assert_string_equal(c->catalog.team_regex, "^([A-Za-z0-9]+)[._-]");
  assert_int_equal(c->catalog.nproducts, 0);
  assert_int_equal(c->catalog.ngroup_domains, 0);
  assert_int_equal(c->maturity.nsurvey, 0);
  assert_int_equal(c->maturity.nthresholds, 0);
  assert_int_equal(c->maturity.ncriteria, 0);
  assert_true(c->maturity.survey_max_age_s == 180 * 86400.0);

  /* The policy section, absent here, has its defaults at the top and in
   * every cluster. */
  const skpi_config_policy *pol = &c->policy;
  assert_int_equal(pol->enabled, 1);
  assert_true(pol->interval_s == 300.0);
  assert_string_equal(pol->naming_regex, "^[a-z0-9]([._-][a-z0-9]|[a-z0-9])*$");
  assert_string_equal(pol->platform_team, "platform");
  assert_true(pol->window_s == 30 * 86400.0);
  assert_int_equal(pol->max_violation_series, 1000);
  assert_int_equal(pol->allowed_cleanup_policies.n, 3);
  assert_string_equal(pol->allowed_cleanup_policies.v[2], "compact,delete");
  assert_int_equal(pol->nrules, 0);
  assert_int_equal(pol->line, 0);
  assert_true(c->clusters[1].policy.interval_s == 300.0);
  assert_int_equal(c->clusters[1].policy.nrules, 0);

  /* Every list has its count: nothing past it. */
  assert_int_equal(c->nclusters, 2);
  assert_null(c->clusters[2].name);
  skpi_config_free(c);
}

static void example_loads(void **state) {
  char err[512];
  skpi_config *c = NULL;
  if(skpi_config_load("examples/streamkpi.yml", &c, err, sizeof(err)) != SKPI_OK)
    fail_msg("%s", err);
  assert_int_equal(c->nclusters, 1);
  assert_true(c->clusters[0].sample_interval_s == 10.0);
  assert_true(c->clusters[0].stale_ttl_s == 300.0);
  assert_int_equal(skpi_filter_match(&c->clusters[0].topics, "__consumer_offsets"), 0);
  assert_int_equal(skpi_filter_match(&c->clusters[0].topics, "orders"), 1);

  assert_int_equal(c->nslos, 5);
  assert_int_equal(c->slos[0].sli, SKPI_CONFIG_SLI_PROBE_AVAILABILITY);
  assert_true(isnan(c->slos[0].threshold));
  assert_true(c->slos[1].threshold == 0.25);
  assert_true(c->slos[2].threshold == 120.0);
  assert_true(c->slos[3].threshold == 0.001);
  assert_int_equal(c->slos[4].window, SKPI_CONFIG_WINDOW_CALENDAR_MONTH);
  assert_true(c->slos[4].window_s == 0);

  assert_int_equal(c->nmaintenance, 1);
  assert_true(c->maintenance[0].start == 1717279200.0); /* 2024-06-01T22:00:00Z */
  assert_true(c->maintenance[0].end == 1717284600.0);

  assert_int_equal(c->ntargets, 2);
  assert_int_equal(c->targets[1].kind, SKPI_CONFIG_TARGET_SCHEMA_REGISTRY);
  assert_string_equal(c->targets[1].quality.family, "events_processed_total");

  assert_int_equal(c->maturity.nsurvey, 2);
  assert_string_equal(c->maturity.survey[0].item, "training");
  assert_int_equal(c->maturity.survey[0].score, 3);
  assert_true(c->maturity.survey[0].date == 1714521600.0); /* 2024-05-01 */
  assert_true(c->maturity.survey[1].date == 1714554000.0); /* 09:00Z that day */
  assert_int_equal(c->maturity.nthresholds, 1);
  assert_string_equal(c->maturity.thresholds[0].id, "l2_bv_teams");
  assert_true(c->maturity.thresholds[0].value == 3.0);
  assert_int_equal(c->maturity.ncriteria, 1);
  assert_string_equal(c->maturity.criteria[0].id, "l3_gov_schemas");
  assert_false(c->maturity.criteria[0].enabled);
  assert_int_equal(c->catalog.ngroup_domains, 1);
  assert_string_equal(c->catalog.group_domains[0].regex, "^billing");
  assert_string_equal(c->catalog.group_domains[0].domain, "finance");

  /* The cluster's policy is the top-level one: it names no policy itself. */
  const skpi_config_policy *pol = &c->clusters[0].policy;
  assert_int_equal(pol->nrules, 2);
  assert_string_equal(pol->rules[0].id, "replication_factor");
  assert_string_equal(pol->rules[0].exempt.v[0], "^tmp\\.");
  assert_true(pol->rules[1].threshold == 604800000.0);
  assert_int_equal(pol->allowed_cleanup_policies.n, 3);
  skpi_config_free(c);
}

static void from_brokers(void **state) {
  char err[256];
  skpi_config *c = NULL;
  assert_int_equal(skpi_config_from_brokers("h1:9092,h2:9092", &c, err, sizeof(err)), SKPI_OK);
  assert_null(c->path);
  assert_int_equal(c->nclusters, 1);
  assert_string_equal(c->clusters[0].name, "default");
  assert_string_equal(c->clusters[0].bootstrap_servers, "h1:9092,h2:9092");
  assert_true(c->clusters[0].sample_interval_s == 15.0);
  assert_true(c->clusters[0].request_timeout_s == 10.0);
  assert_int_equal(c->clusters[0].chunk_size, 2000);
  assert_string_equal(c->listen_address, ":10308");
  assert_true(c->clusters[0].probe.interval_s == 10.0);
  assert_string_equal(c->clusters[0].probe_topic, "streamkpi-probe");
  skpi_config_free(c);

  c = (skpi_config *)1;
  assert_int_equal(skpi_config_from_brokers("", &c, err, sizeof(err)), SKPI_EINVAL);
  assert_null(c);
  assert_string_equal(err, "--kafka.brokers: no brokers given (expected host:port[,host:port...])");
  assert_int_equal(skpi_config_from_brokers(" \t\n", &c, err, sizeof(err)), SKPI_EINVAL);
  assert_int_equal(skpi_config_from_brokers(NULL, &c, err, sizeof(err)), SKPI_EINVAL);
}

/* The canary topic is known to the cluster struct only while the probe runs. */
static void probe_topic_follows_probe_section(void **state) {
  const char *path = "/tmp/skpi-test-probe-topic.yml";
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("probe: { topic: canary }\n"
        "clusters:\n"
        "  - { name: a, bootstrap_servers: \"h:1\" }\n"
        "  - { name: b, bootstrap_servers: \"h:2\", probe: { enabled: false } }\n",
        f);
  fclose(f);
  char err[256];
  skpi_config *c = NULL;
  assert_int_equal(skpi_config_load(path, &c, err, sizeof(err)), SKPI_OK);
  assert_string_equal(c->clusters[0].probe_topic, "canary");
  assert_null(c->clusters[1].probe_topic);
  skpi_config_free(c);
  remove(path);
}

static void filters(void **state) {
  char err[512];
  skpi_config *c = NULL;
  /* Include and exclude together, exclude only, and the empty name. */
  const char *yaml =
      HEAD "    topics: {include: [\"^orders\", \"^pay\"], exclude: [\"\\\\.dlq$\"]}\n"
           "    groups: {exclude: [\"^_\", \"test\"]}\n";
  char *path = ct_write_temp(yaml, strlen(yaml));
  assert_int_equal(skpi_config_load(path, &c, err, sizeof(err)), SKPI_OK);
  const skpi_filter *t = &c->clusters[0].topics, *g = &c->clusters[0].groups;
  assert_int_equal(skpi_filter_match(t, "orders"), 1);
  assert_int_equal(skpi_filter_match(t, "payments.v1"), 1);
  assert_int_equal(skpi_filter_match(t, "orders.dlq"), 0);
  assert_int_equal(skpi_filter_match(t, "users"), 0);
  assert_int_equal(skpi_filter_match(t, "x.orders"), 0);
  assert_int_equal(skpi_filter_match(g, "billing"), 1);
  assert_int_equal(skpi_filter_match(g, "_confluent"), 0);
  assert_int_equal(skpi_filter_match(g, "mytest1"), 0);
  assert_int_equal(skpi_filter_match(g, ""), 1);
  skpi_config_free(c);
  unlink(path);
  free(path);
}

static void durations(void **state) {
  static const struct {
    const char *s;
    double want;
  } good[] = {
      {"15s", 15},     {"500ms", 0.5},
      {"2m", 120},     {"1h", 3600},
      {"7d", 604800},  {"2w", 1209600},
      {"1h30m", 5400}, {"1m30s500ms", 90.5},
      {"15", 15},      {"0.5", 0.5},
      {"1.5h", 5400},  {"0", 0},
      {"0s", 0},       {"1w2d3h4m5s6ms", 604800 + 172800 + 10800 + 240 + 5 + 0.006},
  };
  static const char *bad[] = {
      "",           "s",     "-5s",   "+5s", "5 s", " 5s", "5s ",   "fast",
      "1h1h",       "30m1h", "5ms1s", "5x",  "1.s", ".5s", "5sm",   "1e3s",
      "inf",        "nan",   "0x10",  "5S",  "1hh", "5.",  "1..2s", "99999999999999999999999h",
      "5000000000", "1d2",   "5mss",  "5min"};
  double d;
  for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    d = -1;
    if(skpi_parse_duration(good[i].s, &d) != 0 || d != good[i].want)
      fail_msg("\"%s\": got %d %g, want %g", good[i].s, skpi_parse_duration(good[i].s, &d), d,
               good[i].want);
  }
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    d = 42;
    if(skpi_parse_duration(bad[i], &d) != -1)
      fail_msg("\"%s\" accepted as %g", bad[i], d);
    assert_true(d == 42);
  }
  assert_int_equal(skpi_parse_duration(NULL, &d), -1);
}

static void line_lookup(void **state) {
  char err[512];
  skpi_config *c = NULL;
  assert_int_equal(skpi_config_load("examples/streamkpi.yml", &c, err, sizeof(err)), SKPI_OK);
  /* The "- name: prod" line, and the line of its probe key. */
  int item = c->clusters[0].line;
  int pl = c->clusters[0].probe.line;
  assert_true(item > 0);
  assert_true(pl > item);
  /* Cross-check against the file itself. */
  FILE *f = fopen("examples/streamkpi.yml", "r");
  assert_non_null(f);
  char line[512];
  int n = 0, want_item = 0, want_probe = 0;
  while(fgets(line, sizeof(line), f)) {
    n++;
    if(!want_item && strstr(line, "  - name: prod"))
      want_item = n;
    if(want_item && !want_probe && strstr(line, "    probe:"))
      want_probe = n;
  }
  fclose(f);
  assert_int_equal(item, want_item);
  assert_int_equal(pl, want_probe);
  /* Defaults have no line: the second target has no quality key. */
  assert_true(c->targets[1].interval_s == 15.0);
  assert_int_equal(c->targets[1].quality.line, 0);
  assert_true(c->targets[0].quality.line > c->targets[0].line);
  skpi_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unknown_key),
      cmocka_unit_test(bad_duration),
      cmocka_unit_test(bad_regex),
      cmocka_unit_test(duplicate_cluster),
      cmocka_unit_test(missing_brokers),
      cmocka_unit_test(syntax_error),
      cmocka_unit_test(empty_and_no_clusters),
      cmocka_unit_test(missing_file),
      cmocka_unit_test(anchors_and_aliases),
      cmocka_unit_test(tabs),
      cmocka_unit_test(binary_bytes),
      cmocka_unit_test(too_big),
      cmocka_unit_test(deep_nesting),
      cmocka_unit_test(unterminated_and_odd_yaml),
      cmocka_unit_test(section_errors),
      cmocka_unit_test(defaults_and_fallback),
      cmocka_unit_test(example_loads),
      cmocka_unit_test(from_brokers),
      cmocka_unit_test(filters),
      cmocka_unit_test(probe_topic_follows_probe_section),
      cmocka_unit_test(durations),
      cmocka_unit_test(line_lookup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
