/* platform.c: platform and estate facts (see platform.h). */
#include "streamkpi/platform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"

typedef struct platform_kpi {
  const char *cluster; /* borrowed from the config */
  int seen;            /* a sample arrived */
  int reachable;       /* the newest sample had metadata */
  size_t brokers, topics;
  double as_of;
  int schema_target; /* a schema_registry target is configured */
  int have_cov;
  double cov_ratio, cov_as_of;
} platform_kpi;

static int has_target_kind(const skpi_config *cfg, skpi_config_target_kind kind) {
  for(size_t i = 0; i < cfg->ntargets; i++)
    if(cfg->targets[i].kind == kind)
      return 1;
  return 0;
}

static skpi_err platform_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf,
                                size_t errlen) {
  platform_kpi *k = calloc(1, sizeof(*k));
  if(!k)
    return SKPI_ENOMEM;
  k->cluster = ctx->cluster->name;
  k->schema_target = has_target_kind(ctx->cfg, SKPI_CONFIG_TARGET_SCHEMA_REGISTRY);
  *self = k;
  return SKPI_OK;
}

static void platform_observe(void *self, const skpi_event *ev) {
  platform_kpi *k = self;
  if(ev->kind == SKPI_EV_SAMPLE) {
    const skpi_ksample *s = ev->u.sample;
    k->seen = 1;
    k->reachable = s->nbrokers > 0;
    k->brokers = s->nbrokers;
    k->topics = 0;
    for(size_t i = 0; i < s->ntopics; i++)
      k->topics += !s->topics[i].internal;
    k->as_of = ev->now;
  } else if(ev->kind == SKPI_EV_SCHEMA_COVERAGE && ev->u.coverage.topics > 0) {
    k->have_cov = 1;
    k->cov_ratio = (double)ev->u.coverage.covered / (double)ev->u.coverage.topics;
    k->cov_as_of = ev->now;
  }
}

static void platform_facts(const void *self, double now, skpi_facts *out) {
  const platform_kpi *k = self;
  const char *c = k->cluster;
  if(!k->seen) {
    const char *why = "the Kafka source has not finished a cycle yet";
    skpi_facts_unknown(out, SKPI_FACT_CLUSTER_REACHABLE, c, "bool", why);
    skpi_facts_unknown(out, SKPI_FACT_BROKERS, c, "count", why);
    skpi_facts_unknown(out, SKPI_FACT_TOPICS, c, "count", why);
  } else {
    skpi_facts_observed(out, SKPI_FACT_CLUSTER_REACHABLE, c, k->reachable, "bool", k->as_of);
    if(k->reachable) {
      skpi_facts_observed(out, SKPI_FACT_BROKERS, c, (double)k->brokers, "count", k->as_of);
      skpi_facts_observed(out, SKPI_FACT_TOPICS, c, (double)k->topics, "count", k->as_of);
    } else {
      const char *why = "the cluster did not answer the last metadata request";
      skpi_facts_unknown(out, SKPI_FACT_BROKERS, c, "count", why);
      skpi_facts_unknown(out, SKPI_FACT_TOPICS, c, "count", why);
    }
  }
  if(k->have_cov)
    skpi_facts_observed(out, SKPI_FACT_SCHEMA_COVERAGE, c, k->cov_ratio, "ratio", k->cov_as_of);
  else
    skpi_facts_unknown(out, SKPI_FACT_SCHEMA_COVERAGE, c, "ratio",
                       k->schema_target ? "the Schema Registry target has not answered yet, or "
                                          "no topic holds data"
                                        : "add a target of kind schema_registry");
}

static skpi_err platform_render(const void *self, double now, skpi_mset *m) {
  const platform_kpi *k = self;
  if(!k->have_cov)
    return SKPI_OK;
  int f = skpi_mset_family(m, "streamkpi_schema_coverage_ratio", SKPI_MT_GAUGE,
                           "Share of topics holding data that have a <topic>-value subject in "
                           "the Schema Registry.");
  return f < 0 ? SKPI_ENOMEM : skpi_mset_add(m, f, k->cov_ratio, "cluster", k->cluster);
}

const skpi_kpi_ops skpi_kpi_platform = {
    "platform", 1, platform_create, platform_observe, platform_facts, platform_render,
    NULL,       NULL, free,
};

typedef struct estate_kpi {
  size_t clusters;
  int connect_target;
  int have_connect;
  double running, as_of;
} estate_kpi;

static skpi_err estate_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  estate_kpi *k = calloc(1, sizeof(*k));
  if(!k)
    return SKPI_ENOMEM;
  k->clusters = ctx->cfg->nclusters;
  k->connect_target = has_target_kind(ctx->cfg, SKPI_CONFIG_TARGET_CONNECT);
  *self = k;
  return SKPI_OK;
}

static void estate_observe(void *self, const skpi_event *ev) {
  estate_kpi *k = self;
  if(ev->kind != SKPI_EV_CONNECT)
    return;
  k->have_connect = 1;
  k->running = (double)ev->u.connect.running;
  k->as_of = ev->now;
}

static void estate_facts(const void *self, double now, skpi_facts *out) {
  const estate_kpi *k = self;
  skpi_facts_observed(out, SKPI_FACT_CLUSTERS, NULL, (double)k->clusters, "count", now);
  if(k->have_connect)
    skpi_facts_observed(out, SKPI_FACT_CONNECTORS_RUNNING, NULL, k->running, "count", k->as_of);
  else
    skpi_facts_unknown(out, SKPI_FACT_CONNECTORS_RUNNING, NULL, "count",
                       k->connect_target ? "the Kafka Connect target has not answered yet"
                                         : "add a target of kind connect");
}

const skpi_kpi_ops skpi_kpi_estate = {
    "estate", 0, estate_create, estate_observe, estate_facts, NULL, NULL, NULL, free,
};
