/* facts.c: a small set of named facts (see facts.h).  Sets hold tens to a
 * few hundred facts, so look-up is a linear scan. */
#include "streamkpi/facts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
  skpi_fact f; /* strings owned */
} entry;

struct skpi_facts {
  entry *v;
  size_t n, cap;
};

skpi_facts *skpi_facts_new(void) { return calloc(1, sizeof(skpi_facts)); }

static void entry_clear(entry *e) {
  free((char *)e->f.name);
  free((char *)e->f.cluster);
  free((char *)e->f.unit);
  free((char *)e->f.reason);
  memset(e, 0, sizeof(*e));
}

void skpi_facts_free(skpi_facts *f) {
  if(!f)
    return;
  for(size_t i = 0; i < f->n; i++)
    entry_clear(&f->v[i]);
  free(f->v);
  free(f);
}

static int same_scope(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static entry *find(const skpi_facts *f, const char *name, const char *cluster) {
  for(size_t i = 0; i < f->n; i++)
    if(strcmp(f->v[i].f.name, name) == 0 && same_scope(f->v[i].f.cluster, cluster))
      return &f->v[i];
  return NULL;
}

static char *dup_opt(const char *s, int *oom) {
  if(!s)
    return NULL;
  char *d = strdup(s);
  if(!d)
    *oom = 1;
  return d;
}

skpi_err skpi_facts_put(skpi_facts *f, const skpi_fact *fact) {
  if(!f || !fact || !fact->name || !fact->name[0] || !fact->unit || !fact->unit[0])
    return SKPI_EINVAL;
  int oom = 0;
  entry e;
  memset(&e, 0, sizeof(e));
  e.f = *fact;
  e.f.name = dup_opt(fact->name, &oom);
  e.f.cluster = dup_opt(fact->cluster, &oom);
  e.f.unit = dup_opt(fact->unit, &oom);
  e.f.reason = dup_opt(fact->reason, &oom);
  if(oom) {
    entry_clear(&e);
    return SKPI_ENOMEM;
  }
  entry *old = find(f, fact->name, fact->cluster);
  if(old) {
    entry_clear(old);
    *old = e;
    return SKPI_OK;
  }
  if(f->n == f->cap) {
    size_t cap = f->cap ? 2 * f->cap : 32;
    entry *v = realloc(f->v, cap * sizeof(*v));
    if(!v) {
      entry_clear(&e);
      return SKPI_ENOMEM;
    }
    f->v = v;
    f->cap = cap;
  }
  f->v[f->n++] = e;
  return SKPI_OK;
}

skpi_err skpi_facts_observed(skpi_facts *f, const char *name, const char *cluster, double value,
                             const char *unit, double as_of) {
  skpi_fact x = {name, cluster, value, unit, SKPI_PROV_OBSERVED, as_of, NULL};
  return skpi_facts_put(f, &x);
}

skpi_err skpi_facts_unknown(skpi_facts *f, const char *name, const char *cluster,
                            const char *unit, const char *reason) {
  skpi_fact x = {name, cluster, NAN, unit, SKPI_PROV_OBSERVED, 0, reason};
  return skpi_facts_put(f, &x);
}

const skpi_fact *skpi_facts_get(const skpi_facts *f, const char *name, const char *cluster) {
  if(!f || !name)
    return NULL;
  const entry *e = find(f, name, cluster);
  return e ? &e->f : NULL;
}

size_t skpi_facts_count(const skpi_facts *f) { return f ? f->n : 0; }

const skpi_fact *skpi_facts_at(const skpi_facts *f, size_t i) {
  return f && i < f->n ? &f->v[i].f : NULL;
}
