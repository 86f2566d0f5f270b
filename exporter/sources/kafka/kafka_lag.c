/* kafka_lag.c: offset lag arithmetic. */
#include "streamkpi/kafka_lag.h"

#include <stdlib.h>
#include <string.h>

int skpi_lag_compute(int64_t high, int64_t committed, int64_t *lag, int *clamped) {
  if(clamped)
    *clamped = 0;
  if(high < 0 || committed < 0)
    return 0;
  if(committed > high) {
    /* A commit past the watermark is a stale watermark or a truncated log:
     * the consumer is caught up, not ahead. */
    if(clamped)
      *clamped = 1;
    if(lag)
      *lag = 0;
    return 1;
  }
  if(lag)
    *lag = high - committed;
  return 1;
}

typedef struct ckey {
  char *group;
  char *topic;
  int32_t partition;
  int64_t offset;
} ckey;

struct skpi_lag_clamps {
  ckey *keys; /* sorted by (group, topic, partition, offset) */
  size_t n;
};

skpi_lag_clamps *skpi_lag_clamps_new(void) {
  return calloc(1, sizeof(skpi_lag_clamps));
}

static void free_keys(ckey *k, size_t n) {
  for(size_t i = 0; i < n; i++) {
    free(k[i].group);
    free(k[i].topic);
  }
  free(k);
}

void skpi_lag_clamps_free(skpi_lag_clamps *c) {
  if(!c)
    return;
  free_keys(c->keys, c->n);
  free(c);
}

static int ckey_cmp(const void *a, const void *b) {
  const ckey *x = a, *y = b;
  int r = strcmp(x->group, y->group);
  if(!r)
    r = strcmp(x->topic, y->topic);
  if(!r && x->partition != y->partition)
    r = x->partition < y->partition ? -1 : 1;
  if(!r && x->offset != y->offset)
    r = x->offset < y->offset ? -1 : 1;
  return r;
}

static const skpi_kpartition *part_of(const skpi_ktopic *t, int32_t id) {
  if(id >= 0 && id < t->nparts && t->parts[id].id == id)
    return &t->parts[id];
  for(int p = 0; p < t->nparts; p++)
    if(t->parts[p].id == id)
      return &t->parts[p];
  return NULL;
}

/* Is the commit clamped now, or was it counted before and still there (a
 * watermark unknown this cycle does not make it new again)? */
static int keep_commit(const skpi_lag_clamps *c, const skpi_ksample *s, const skpi_kgroup *g,
                       const skpi_kcommit *k, int *clamped_now, int *known) {
  const skpi_ktopic *t = &s->topics[k->topic];
  const skpi_kpartition *p = part_of(t, k->partition);
  int64_t lag;
  *clamped_now = 0;
  if(p)
    skpi_lag_compute(p->high, k->offset, &lag, clamped_now);
  ckey key = {(char *)g->id, t->name, k->partition, k->offset};
  *known = c->n && bsearch(&key, c->keys, c->n, sizeof(ckey), ckey_cmp) != NULL;
  return *clamped_now || *known;
}

uint64_t skpi_lag_clamps_update(skpi_lag_clamps *c, const skpi_ksample *s) {
  size_t n = 0, cap = 0;
  ckey *next = NULL;
  uint64_t fresh = 0;
  for(size_t gi = 0; gi < s->ngroups; gi++) {
    const skpi_kgroup *g = &s->groups[gi];
    for(size_t i = 0; i < g->ncommits; i++) {
      const skpi_kcommit *k = &g->commits[i];
      int now, known;
      if(k->topic < 0 || (size_t)k->topic >= s->ntopics || s->topics[k->topic].internal ||
         !keep_commit(c, s, g, k, &now, &known))
        continue;
      if(n == cap) {
        size_t ncap = cap ? 2 * cap : 16;
        ckey *grown = realloc(next, ncap * sizeof(*grown));
        if(!grown)
          goto oom;
        next = grown;
        cap = ncap;
      }
      next[n].group = strdup(g->id);
      next[n].topic = strdup(s->topics[k->topic].name);
      next[n].partition = k->partition;
      next[n].offset = k->offset;
      n++;
      if(!next[n - 1].group || !next[n - 1].topic)
        goto oom;
      if(now && !known)
        fresh++;
    }
  }
  if(n > 1)
    qsort(next, n, sizeof(*next), ckey_cmp);
  free_keys(c->keys, c->n);
  c->keys = next;
  c->n = n;
  return fresh;
oom:
  free_keys(next, n);
  return 0;
}
