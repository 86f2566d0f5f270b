/* sample.c: ownership, ordering and lookup of a cluster sample. */
#include "streamkpi/sample.h"
#include "streamkpi/ntable.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void skpi_ksample_ref(skpi_ksample *s) {
  if(s)
    skpi_refcnt_inc(&s->refcnt);
}

void skpi_ksample_unref(skpi_ksample *s) {
  if(!s)
    return;
  if(skpi_refcnt_dec(&s->refcnt))
    skpi_ksample_free(s);
}

void skpi_ksample_free(skpi_ksample *s) {
  if(!s)
    return;
  free(s->cluster);
  for(size_t i = 0; i < s->nbrokers; i++) {
    free(s->brokers[i].host);
    free(s->brokers[i].rack);
  }
  free(s->brokers);
  for(size_t i = 0; i < s->ntopics; i++) {
    skpi_ktopic *t = &s->topics[i];
    free(t->ids);
    free(t->parts);
    free(t->name);
  }
  free(s->topics);
  for(size_t i = 0; i < s->ngroups; i++) {
    skpi_kgroup *g = &s->groups[i];
    free(g->id);
    free(g->state);
    free(g->protocol_type);
    free(g->commits);
  }
  free(s->groups);
  free(s);
}

static int cmp_broker(const void *a, const void *b) {
  int32_t x = ((const skpi_kbroker *)a)->id, y = ((const skpi_kbroker *)b)->id;
  return (x > y) - (x < y);
}

static int cmp_part(const void *a, const void *b) {
  int32_t x = ((const skpi_kpartition *)a)->id, y = ((const skpi_kpartition *)b)->id;
  return (x > y) - (x < y);
}

/* Topics are sorted through an index array so commits, which refer to
 * topics by index, can be remapped afterwards. */
typedef struct topic_ix {
  const skpi_ktopic *t;
  size_t old;
} topic_ix;

static int cmp_topic_ix(const void *a, const void *b) {
  const topic_ix *x = a, *y = b;
  int c = strcmp(x->t->name ? x->t->name : "", y->t->name ? y->t->name : "");
  if(c)
    return c;
  return (x->old > y->old) - (x->old < y->old);
}

static int cmp_group(const void *a, const void *b) {
  const skpi_kgroup *x = a, *y = b;
  return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

static int cmp_commit(const void *a, const void *b) {
  const skpi_kcommit *x = a, *y = b;
  if(x->topic != y->topic)
    return (x->topic > y->topic) - (x->topic < y->topic);
  return (x->partition > y->partition) - (x->partition < y->partition);
}

/* Reorders topics by name and fixes commit topic indices.  Returns 0, or -1
 * when the scratch arrays cannot be allocated (the sample is then left in
 * its original, still consistent, order). */
static int sort_topics(skpi_ksample *s) {
  if(s->ntopics < 2)
    return 0;
  topic_ix *ix = malloc(s->ntopics * sizeof(*ix));
  skpi_ktopic *sorted = malloc(s->ntopics * sizeof(*sorted));
  int32_t *newpos = malloc(s->ntopics * sizeof(*newpos));
  if(!ix || !sorted || !newpos) {
    free(ix);
    free(sorted);
    free(newpos);
    return -1;
  }
  for(size_t i = 0; i < s->ntopics; i++) {
    ix[i].t = &s->topics[i];
    ix[i].old = i;
  }
  if(s->ntopics > 1)
    qsort(ix, s->ntopics, sizeof(*ix), cmp_topic_ix);
  for(size_t i = 0; i < s->ntopics; i++) {
    sorted[i] = s->topics[ix[i].old];
    newpos[ix[i].old] = (int32_t)i;
  }
  memcpy(s->topics, sorted, s->ntopics * sizeof(*sorted));
  for(size_t g = 0; g < s->ngroups; g++) {
    skpi_kgroup *grp = &s->groups[g];
    for(size_t c = 0; c < grp->ncommits; c++) {
      int32_t t = grp->commits[c].topic;
      if(t >= 0 && (size_t)t < s->ntopics)
        grp->commits[c].topic = newpos[t];
    }
  }
  free(ix);
  free(sorted);
  free(newpos);
  return 0;
}

void skpi_ksample_sort(skpi_ksample *s) {
  if(!s)
    return;
  if(s->nbrokers > 1)
    qsort(s->brokers, s->nbrokers, sizeof(*s->brokers), cmp_broker);
  sort_topics(s);
  for(size_t i = 0; i < s->ntopics; i++)
    if(s->topics[i].nparts > 1)
      qsort(s->topics[i].parts, (size_t)s->topics[i].nparts, sizeof(skpi_kpartition), cmp_part);
  if(s->ngroups > 1)
    qsort(s->groups, s->ngroups, sizeof(*s->groups), cmp_group);
  for(size_t i = 0; i < s->ngroups; i++)
    if(s->groups[i].ncommits > 1)
      qsort(s->groups[i].commits, s->groups[i].ncommits, sizeof(skpi_kcommit), cmp_commit);
}

const skpi_ktopic *skpi_ksample_topic(const skpi_ksample *s, const char *name) {
  if(!s || !name)
    return NULL;
  return skpi_ntable_bsearch(s->topics, s->ntopics, sizeof(*s->topics),
                             offsetof(skpi_ktopic, name), name);
}

const skpi_kgroup *skpi_ksample_group(const skpi_ksample *s, const char *id) {
  if(!s || !id)
    return NULL;
  return skpi_ntable_bsearch(s->groups, s->ngroups, sizeof(*s->groups),
                             offsetof(skpi_kgroup, id), id);
}

unsigned char *skpi_ksample_consumed(const skpi_ksample *s, int live_only) {
  unsigned char *consumed = s->ntopics ? calloc(s->ntopics, 1) : NULL;
  if(!consumed || (live_only && !s->groups_ok))
    return consumed;
  for(size_t g = 0; g < s->ngroups; g++) {
    const skpi_kgroup *grp = &s->groups[g];
    if(live_only && grp->state && strcmp(grp->state, "Dead") == 0)
      continue;
    for(size_t c = 0; c < grp->ncommits; c++) {
      int32_t ti = grp->commits[c].topic;
      if(ti >= 0 && (size_t)ti < s->ntopics)
        consumed[ti] = 1;
    }
  }
  return consumed;
}

int skpi_ksample_name_internal(const char *name) {
  return name && strncmp(name, "__", 2) == 0;
}

int skpi_ksample_topic_internal(const skpi_ktopic *t) {
  return !t->name || t->internal || skpi_ksample_name_internal(t->name);
}

const skpi_kpartition *skpi_ksample_partition(const skpi_ksample *s, const char *topic,
                                              int32_t partition) {
  const skpi_ktopic *t = skpi_ksample_topic(s, topic);
  if(!t || partition < 0)
    return NULL;
  /* Complete metadata gives parts[i].id == i: the common case is one index. */
  if(partition < t->nparts && t->parts[partition].id == partition)
    return &t->parts[partition];
  int lo = 0, hi = t->nparts;
  while(lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if(t->parts[mid].id == partition)
      return &t->parts[mid];
    if(t->parts[mid].id < partition)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}
