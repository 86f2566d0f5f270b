/* policytool: one configuration audit of a cluster, printed as JSON, for
 * the policy scenarios.
 *
 *   policytool -b BROKERS [-t TIMEOUT_S] [--cluster NAME] [--per-request N]
 *              [--platform-team TEAM] [--samples N] [--every S]
 *
 * Runs skpi_configs_cycle_once and the policy engine over its result,
 * then, with --samples, that many Kafka sampling cycles (S seconds apart),
 * each fed to a time-lag engine and to the retention risk and rendered.  Prints one JSON object:
 * "configs" (every topic and broker with the kept values and their source), "policy"
 * (skpi_policy_json), "verdicts", "counts" per rule, "metrics" (the family's 0.0.4 text at the
 * end), "metrics_per_sample" (the same after each sample) and, with
 * --samples, "low" (topic -> partition -> oldest offset) and "commits"
 * (group -> topic -> partition -> offset) of the last sample.
 *
 * Exit codes: 0 success, 1 Kafka failure, 2 usage error.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/buf.h"
#include "streamkpi/clock.h"
#include "streamkpi/expo.h"
#include "streamkpi/kafka_source.h"
#include "streamkpi/log.h"
#include "streamkpi/policy.h"
#include "streamkpi/timelag.h"
#include "streamkpi/configs_source.h"

static void usage(void) {
  fputs("usage: policytool -b BROKERS [-t TIMEOUT_S] [--cluster NAME] [--per-request N]\n"
        "                  [--platform-team TEAM] [--samples N] [--every S]\n",
        stderr);
  exit(2);
}

static long num_arg(const char *s, long lo, long hi) {
  char *end;
  long v = strtol(s, &end, 10);
  if(!*s || *end || v < lo || v > hi)
    usage();
  return v;
}

static json_t *configs_json(const skpi_topic_configs *c) {
  json_t *doc = json_object(), *topics = json_object(), *brokers = json_object();
  for(size_t i = 0; i < c->ntopics; i++) {
    const skpi_tc_topic *t = &c->topics[i];
    json_t *vals = json_object();
    for(int k = 0; k < SKPI_TC_NKEYS; k++)
      if(t->v[k].value)
        json_object_set_new(vals, skpi_tc_key_name((enum skpi_tc_key)k),
                            json_pack("{s:s,s:s}", "value", t->v[k].value, "source",
                                      skpi_cfg_source_name(t->v[k].source)));
    json_object_set_new(topics, t->name,
                        json_pack("{s:b,s:b,s:i,s:i,s:s?,s:o}", "ok", t->ok, "internal",
                                  t->internal, "partitions", t->partitions, "rf", t->rf, "error",
                                  t->error, "values", vals));
  }
  for(size_t i = 0; i < c->nbrokers; i++) {
    const skpi_tc_broker *b = &c->brokers[i];
    json_t *vals = json_object();
    for(int k = 0; k < SKPI_BC_NKEYS; k++)
      if(b->v[k].value)
        json_object_set_new(vals, skpi_bc_key_name((enum skpi_bc_key)k),
                            json_pack("{s:s,s:s}", "value", b->v[k].value, "source",
                                      skpi_cfg_source_name(b->v[k].source)));
    char id[16];
    snprintf(id, sizeof(id), "%d", (int)b->id);
    json_object_set_new(
        brokers, id, json_pack("{s:b,s:s?,s:o}", "ok", b->ok, "error", b->error, "values", vals));
  }
  json_object_set_new(doc, "topics", topics);
  json_object_set_new(doc, "brokers", brokers);
  json_object_set_new(doc, "requests", json_integer(c->requests));
  json_object_set_new(doc, "errors", json_integer(c->errors));
  json_object_set_new(doc, "failed_topics", json_integer(c->failed_topics));
  return doc;
}

static void sample_json(const skpi_ksample *s, json_t *out) {
  json_t *low = json_object(), *commits = json_object();
  for(size_t i = 0; i < s->ntopics; i++) {
    json_t *parts = json_object();
    for(int p = 0; p < s->topics[i].nparts; p++) {
      char k[16];
      snprintf(k, sizeof(k), "%d", (int)s->topics[i].parts[p].id);
      json_object_set_new(parts, k, json_integer(s->topics[i].parts[p].low));
    }
    json_object_set_new(low, s->topics[i].name, parts);
  }
  for(size_t g = 0; g < s->ngroups; g++) {
    json_t *gt = json_object();
    for(size_t c = 0; c < s->groups[g].ncommits; c++) {
      const skpi_kcommit *k = &s->groups[g].commits[c];
      const char *tn = s->topics[k->topic].name;
      json_t *parts = json_object_get(gt, tn);
      if(!parts) {
        parts = json_object();
        json_object_set_new(gt, tn, parts);
      }
      char key[16];
      snprintf(key, sizeof(key), "%d", (int)k->partition);
      json_object_set_new(parts, key, json_integer(k->offset));
    }
    json_object_set_new(commits, s->groups[g].id, gt);
  }
  json_object_set_new(out, "low", low);
  json_object_set_new(out, "commits", commits);
}

/* The family's metrics at now as 0.0.4 text (caller frees), NULL on error. */
static char *render(const skpi_policy *p, double now) {
  skpi_mset *m = skpi_mset_new();
  skpi_buf b;
  skpi_buf_init(&b, 64 << 20);
  const skpi_mset *sets[1] = {m};
  char *text = NULL;
  if(m && skpi_policy_render(p, now, m) == SKPI_OK &&
     skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b) == SKPI_OK)
    text = skpi_buf_steal(&b, NULL);
  skpi_buf_free(&b);
  skpi_mset_unref(m);
  return text;
}

int main(int argc, char **argv) {
  const char *brokers = NULL, *cluster = "itest", *platform = NULL;
  long timeout = 10, per_request = 0, samples = 0, every = 1;
  for(int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if(i + 1 >= argc)
      usage();
    if(!strcmp(a, "-b"))
      brokers = argv[++i];
    else if(!strcmp(a, "-t"))
      timeout = num_arg(argv[++i], 1, 600);
    else if(!strcmp(a, "--cluster"))
      cluster = argv[++i];
    else if(!strcmp(a, "--per-request"))
      per_request = num_arg(argv[++i], 1, 100000);
    else if(!strcmp(a, "--platform-team"))
      platform = argv[++i];
    else if(!strcmp(a, "--samples"))
      samples = num_arg(argv[++i], 0, 100);
    else if(!strcmp(a, "--every"))
      every = num_arg(argv[++i], 0, 600);
    else
      usage();
  }
  if(!brokers)
    usage();
  skpi_log_setup("warn", "logfmt");
  skpi_cluster_cfg cfg = {.name = (char *)cluster,
                          .bootstrap_servers = (char *)brokers,
                          .request_timeout_s = (double)timeout,
                          .max_inflight = 10,
                          .chunk_size = 2000};
  int rc = 1;
  skpi_timelag *tl = NULL;
  skpi_policy *p = NULL;
  skpi_topic_configs *c = NULL;
  skpi_ksample *last = NULL;
  json_t *per_sample = NULL;
  char err[256];
  if(skpi_timelag_new(cluster, NULL, &tl) != SKPI_OK)
    goto out;
  skpi_policy_cfg pcfg;
  skpi_policy_cfg_default(&pcfg);
  if(platform)
    pcfg.platform_team = platform;
  if(skpi_policy_new(cluster, &pcfg, tl, &p, err, sizeof(err)) != SKPI_OK) {
    fprintf(stderr, "policytool: %s\n", err);
    goto out;
  }
  skpi_configs_opts opts = {.topics_per_request = (int)per_request};
  if(skpi_configs_cycle_once(&cfg, &opts, &c) != SKPI_OK) {
    fprintf(stderr, "policytool: config audit failed\n");
    goto out;
  }
  if(skpi_policy_audit(p, c, skpi_now()) != SKPI_OK)
    goto out;
  per_sample = json_array();
  for(long i = 0; i < samples; i++) {
    if(i > 0)
      skpi_sleep((double)every, NULL);
    skpi_ksample *s = NULL;
    if(skpi_kafka_source_cycle_once(&cfg, &s) != SKPI_OK) {
      fprintf(stderr, "policytool: kafka sampling failed\n");
      goto out;
    }
    skpi_timelag_observe(tl, s, s->time);
    skpi_policy_sample(p, s);
    skpi_ksample_unref(last);
    last = s;
    char *t = render(p, skpi_now());
    if(!t)
      goto out;
    json_array_append_new(per_sample, json_string(t));
    free(t);
  }
  double now = skpi_now();
  char *text = render(p, now);
  if(!text)
    goto out;
  json_t *doc = json_object();
  json_object_set_new(doc, "configs", configs_json(c));
  json_object_set_new(doc, "policy", skpi_policy_json(p, now));
  size_t v[3];
  skpi_policy_verdicts(p, v);
  json_object_set_new(
      doc, "verdicts",
      json_pack("{s:i,s:i,s:i}", "pass", (int)v[0], "fail", (int)v[1], "unknown", (int)v[2]));
  json_t *counts = json_object();
  const skpi_policy_rule_def *rules = skpi_policy_rules();
  for(int r = 0; r < SKPI_PR_COUNT; r++) {
    size_t n[3];
    if(skpi_policy_counts(p, (enum skpi_policy_rule)r, n))
      json_object_set_new(
          counts, rules[r].id,
          json_pack("{s:i,s:i,s:i}", "pass", (int)n[0], "fail", (int)n[1], "unknown", (int)n[2]));
  }
  json_object_set_new(doc, "counts", counts);
  json_object_set_new(doc, "metrics", json_string(text));
  json_object_set_new(doc, "metrics_per_sample", per_sample);
  per_sample = NULL;
  free(text);
  if(last)
    sample_json(last, doc);
  char *dump = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(1));
  json_decref(doc);
  if(!dump)
    goto out;
  puts(dump);
  free(dump);
  rc = 0;
out:
  json_decref(per_sample);
  skpi_ksample_unref(last);
  skpi_topic_configs_unref(c);
  skpi_policy_free(p);
  skpi_timelag_free(tl);
  return rc;
}
