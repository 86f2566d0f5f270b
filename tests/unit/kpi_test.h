/* kpi_test.h: helpers shared by the KPI engine tests: building Kafka
 * samples by hand and reading values back from a rendered metric set. */
#ifndef STREAMKPI_KPI_TEST_H
#define STREAMKPI_KPI_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/buf.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

static inline void *kt_xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz);
  if(!p)
    abort();
  return p;
}

/* A sample at time t.  Topics must be added in name order. */
static inline skpi_ksample *ks_new(const char *cluster, double t) {
  skpi_ksample *s = kt_xcalloc(1, sizeof(*s));
  s->cluster = strdup(cluster);
  s->time = t;
  s->controller = -1;
  s->groups_ok = 1;
  skpi_refcnt_init(&s->refcnt, 1);
  s->topics = kt_xcalloc(64, sizeof(skpi_ktopic));
  s->groups = kt_xcalloc(64, sizeof(skpi_kgroup));
  return s;
}

/* Adds a topic with nparts partitions, all offsets unknown (-1); returns its
 * index. */
static inline int ks_topic(skpi_ksample *s, const char *name, int nparts) {
  if(s->ntopics >= 64)
    abort();
  skpi_ktopic *t = &s->topics[s->ntopics];
  t->name = strdup(name);
  t->internal = skpi_ksample_name_internal(name);
  t->nparts = nparts;
  t->parts = kt_xcalloc((size_t)nparts, sizeof(skpi_kpartition));
  for(int i = 0; i < nparts; i++) {
    t->parts[i].id = i;
    t->parts[i].leader = 0;
    t->parts[i].low = -1;
    t->parts[i].high = -1;
  }
  return (int)s->ntopics++;
}

static inline void ks_wm(skpi_ksample *s, int topic, int part, int64_t low, int64_t high) {
  s->topics[topic].parts[part].low = low;
  s->topics[topic].parts[part].high = high;
}

/* Adds a group (in id order); returns its index. */
static inline int ks_group(skpi_ksample *s, const char *id, const char *state, int nmembers) {
  if(s->ngroups >= 64)
    abort();
  skpi_kgroup *g = &s->groups[s->ngroups];
  g->id = strdup(id);
  g->state = strdup(state);
  g->protocol_type = strdup("consumer");
  g->nmembers = nmembers;
  g->active_members = -1;
  g->assigned_parts = -1;
  g->commits = kt_xcalloc(64, sizeof(skpi_kcommit));
  return (int)s->ngroups++;
}

static inline void ks_commit(skpi_ksample *s, int group, int topic, int part, int64_t off) {
  skpi_kgroup *g = &s->groups[group];
  if(g->ncommits >= 64)
    abort();
  g->commits[g->ncommits].topic = topic;
  g->commits[g->ncommits].partition = part;
  g->commits[g->ncommits].offset = off;
  g->ncommits++;
}

static inline void ks_free(skpi_ksample *s) {
  for(size_t i = 0; i < s->ntopics; i++) {
    free(s->topics[i].name);
    free(s->topics[i].parts);
  }
  for(size_t i = 0; i < s->ngroups; i++) {
    free(s->groups[i].id);
    free(s->groups[i].state);
    free(s->groups[i].protocol_type);
    free(s->groups[i].commits);
  }
  free(s->topics);
  free(s->groups);
  free(s->cluster);
  free(s);
}

/* Renders m as 0.0.4 text into a malloc'd string (caller frees). */
static inline char *kt_render(const skpi_mset *m) {
  skpi_buf b;
  skpi_buf_init(&b, 1 << 24);
  const skpi_mset *sets[1] = {m};
  if(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b) != SKPI_OK)
    abort();
  char *s = skpi_buf_steal(&b, NULL);
  if(!s)
    abort();
  return s;
}

/* The value of the sample line that starts with series (name plus its
 * rendered label block, e.g. `x{a="1"}`), or NAN when there is none. */
static inline double kt_value(const char *text, const char *series) {
  size_t n = strlen(series);
  const char *p = text;
  while(p && *p) {
    if(strncmp(p, series, n) == 0 && p[n] == ' ')
      return strtod(p + n + 1, NULL);
    p = strchr(p, '\n');
    if(p)
      p++;
  }
  return NAN;
}

/* Number of sample lines whose series starts with prefix. */
static inline int kt_count(const char *text, const char *prefix) {
  int c = 0;
  size_t n = strlen(prefix);
  const char *p = text;
  while(p && *p) {
    if(*p != '#' && strncmp(p, prefix, n) == 0)
      c++;
    p = strchr(p, '\n');
    if(p)
      p++;
  }
  return c;
}

#endif
