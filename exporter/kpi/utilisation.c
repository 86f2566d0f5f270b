/* utilisation.c: consumer group parallelism and Connect task utilisation
 * (see utilisation.h). */
#include "streamkpi/utilisation.h"

#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"

/* A group whose members and assignments are both known and that has
 * members: the only ones utilisation speaks for. */
static int judged(const skpi_kgroup *g) {
  return !g->err && g->nmembers > 0 && g->active_members >= 0 && g->assigned_parts >= 0 &&
         g->active_members <= g->nmembers;
}

void skpi_util_totals_of(const skpi_ksample *s, skpi_util_totals *t) {
  memset(t, 0, sizeof(*t));
  for(size_t i = 0; i < s->ngroups; i++) {
    const skpi_kgroup *g = &s->groups[i];
    if(!judged(g))
      continue;
    t->groups++;
    t->members += (size_t)g->nmembers;
    t->active += (size_t)g->active_members;
    t->assigned += (size_t)g->assigned_parts;
  }
}

skpi_err skpi_util_render(const skpi_ksample *s, skpi_mset *m) {
  int fa = skpi_mset_family(m, "streamkpi_consumer_members_active", SKPI_MT_GAUGE,
                            "Consumer group members holding at least one partition.");
  int fi = skpi_mset_family(m, "streamkpi_consumer_members_idle", SKPI_MT_GAUGE,
                            "Consumer group members holding no partition.");
  int fp = skpi_mset_family(m, "streamkpi_consumer_assigned_partitions", SKPI_MT_GAUGE,
                            "Partitions assigned to the consumer group's members.");
  int fr = skpi_mset_family(m, "streamkpi_consumer_parallelism_ratio", SKPI_MT_GAUGE,
                            "Active members per assigned partition: 1 when every partition has "
                            "its own consumer.");
  if(fa < 0 || fi < 0 || fp < 0 || fr < 0)
    return SKPI_ENOMEM;
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; rc == SKPI_OK && i < s->ngroups; i++) {
    const skpi_kgroup *g = &s->groups[i];
    if(!judged(g))
      continue;
    const char *kv[4] = {"cluster", s->cluster, "consumergroup", g->id};
    rc = skpi_mset_addv(m, fa, g->active_members, kv, 2);
    if(rc == SKPI_OK)
      rc = skpi_mset_addv(m, fi, g->nmembers - g->active_members, kv, 2);
    if(rc == SKPI_OK)
      rc = skpi_mset_addv(m, fp, g->assigned_parts, kv, 2);
    if(rc == SKPI_OK && g->assigned_parts > 0)
      rc = skpi_mset_addv(m, fr, (double)g->active_members / (double)g->assigned_parts, kv, 2);
  }
  return rc;
}

/* ---- "utilisation": per cluster ---- */

typedef struct util_kpi {
  const char *cluster; /* borrowed from the config */
  skpi_ksample *last;  /* newest sample with a group listing */
} util_kpi;

static skpi_err util_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  util_kpi *k = calloc(1, sizeof(*k));
  if(!k)
    return SKPI_ENOMEM;
  k->cluster = ctx->cluster->name;
  *self = k;
  return SKPI_OK;
}

static void util_observe(void *self, const skpi_event *ev) {
  util_kpi *k = self;
  if(ev->kind != SKPI_EV_SAMPLE || !ev->u.sample->groups_ok)
    return;
  skpi_ksample_ref((skpi_ksample *)ev->u.sample);
  skpi_ksample_unref(k->last);
  k->last = (skpi_ksample *)ev->u.sample;
}

static void util_facts(const void *self, double now, skpi_facts *out) {
  const util_kpi *k = self;
  const char *c = k->cluster;
  if(!k->last) {
    const char *why = "no sample with a consumer group listing yet";
    skpi_facts_unknown(out, SKPI_FACT_PARALLELISM, c, "ratio", why);
    skpi_facts_unknown(out, SKPI_FACT_IDLE_MEMBERS, c, "count", why);
    return;
  }
  skpi_util_totals t;
  skpi_util_totals_of(k->last, &t);
  if(!t.groups) {
    const char *why = "no consumer group with members could be described";
    skpi_facts_unknown(out, SKPI_FACT_PARALLELISM, c, "ratio", why);
    skpi_facts_unknown(out, SKPI_FACT_IDLE_MEMBERS, c, "count", why);
    return;
  }
  skpi_facts_observed(out, SKPI_FACT_IDLE_MEMBERS, c, (double)(t.members - t.active), "count",
                      k->last->time);
  if(t.assigned)
    skpi_facts_observed(out, SKPI_FACT_PARALLELISM, c, (double)t.active / (double)t.assigned,
                        "ratio", k->last->time);
  else
    skpi_facts_unknown(out, SKPI_FACT_PARALLELISM, c, "ratio",
                       "no consumer group member holds a partition");
}

static skpi_err util_render(const void *self, double now, skpi_mset *m) {
  const util_kpi *k = self;
  return k->last ? skpi_util_render(k->last, m) : SKPI_OK;
}

static void util_free(void *self) {
  util_kpi *k = self;
  if(!k)
    return;
  skpi_ksample_unref(k->last);
  free(k);
}

const skpi_kpi_ops skpi_kpi_utilisation = {
    "utilisation", 1, util_create, util_observe, util_facts, util_render, NULL, NULL, util_free,
};

/* ---- "connect_tasks": the estate's Connect targets ---- */

typedef struct tasks_kpi {
  int connect_target; /* a target of kind connect is configured */
  int have;
  size_t tasks, running;
  double as_of;
} tasks_kpi;

static skpi_err tasks_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  tasks_kpi *k = calloc(1, sizeof(*k));
  if(!k)
    return SKPI_ENOMEM;
  for(size_t i = 0; ctx->cfg && i < ctx->cfg->ntargets; i++)
    k->connect_target |= ctx->cfg->targets[i].kind == SKPI_CONFIG_TARGET_CONNECT;
  *self = k;
  return SKPI_OK;
}

static void tasks_observe(void *self, const skpi_event *ev) {
  tasks_kpi *k = self;
  if(ev->kind != SKPI_EV_CONNECT || !ev->u.connect.have_tasks)
    return;
  k->have = 1;
  k->tasks = ev->u.connect.tasks;
  k->running = ev->u.connect.tasks_running;
  k->as_of = ev->now;
}

static void tasks_facts(const void *self, double now, skpi_facts *out) {
  const tasks_kpi *k = self;
  if(k->have && k->tasks)
    skpi_facts_observed(out, SKPI_FACT_CONNECT_TASKS_RUNNING, NULL,
                        (double)k->running / (double)k->tasks, "ratio", k->as_of);
  else
    skpi_facts_unknown(out, SKPI_FACT_CONNECT_TASKS_RUNNING, NULL, "ratio",
                       !k->connect_target ? "add a target of kind connect"
                       : k->have          ? "no Kafka Connect connector has tasks"
                                          : "the Kafka Connect target has not answered yet");
}

static skpi_err tasks_render(const void *self, double now, skpi_mset *m) {
  const tasks_kpi *k = self;
  if(!k->have || !k->tasks)
    return SKPI_OK;
  int f = skpi_mset_family(m, "streamkpi_connect_tasks_running_ratio", SKPI_MT_GAUGE,
                           "Share of the Kafka Connect tasks of all connect targets that are "
                           "RUNNING.");
  return f < 0 ? SKPI_ENOMEM : skpi_mset_add(m, f, (double)k->running / (double)k->tasks);
}

const skpi_kpi_ops skpi_kpi_connect_tasks = {
    "connect_tasks", 0, tasks_create, tasks_observe, tasks_facts, tasks_render, NULL, NULL, free,
};
