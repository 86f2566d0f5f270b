/* topic_configs.c: the value one configuration audit produces (see
 * topic_configs.h). */
#include "streamkpi/topic_configs.h"

#include <stdlib.h>
#include <string.h>

static const char *const topic_keys[SKPI_TC_NKEYS] = {
    "retention.ms", "cleanup.policy", "min.insync.replicas", "unclean.leader.election.enable",
    "max.message.bytes"};
static const char *const broker_keys[SKPI_BC_NKEYS] = {"auto.create.topics.enable",
                                                       "min.insync.replicas"};

const char *skpi_tc_key_name(enum skpi_tc_key k) {
  return (unsigned)k < SKPI_TC_NKEYS ? topic_keys[k] : "";
}

const char *skpi_bc_key_name(enum skpi_bc_key k) {
  return (unsigned)k < SKPI_BC_NKEYS ? broker_keys[k] : "";
}

const char *skpi_cfg_source_name(enum skpi_cfg_source s) {
  switch(s) {
  case SKPI_CFGSRC_DEFAULT: return "default";
  case SKPI_CFGSRC_STATIC: return "static";
  case SKPI_CFGSRC_DYNAMIC_BROKER: return "dynamic_broker";
  case SKPI_CFGSRC_DYNAMIC_TOPIC: return "dynamic_topic";
  default: return "unknown";
  }
}

/* ---- the value --------------------------------------------------------- */

skpi_topic_configs *skpi_topic_configs_new(const char *cluster) {
  skpi_topic_configs *c = calloc(1, sizeof(*c));
  if(!c)
    return NULL;
  skpi_refcnt_init(&c->refcnt, 1);
  c->cluster = strdup(cluster ? cluster : "");
  if(!c->cluster) {
    free(c);
    return NULL;
  }
  return c;
}

static void free_values(skpi_tc_value *v, size_t n) {
  for(size_t i = 0; i < n; i++)
    free(v[i].value);
}

static void configs_free(skpi_topic_configs *c) {
  for(size_t i = 0; i < c->ntopics; i++) {
    free(c->topics[i].name);
    free(c->topics[i].error);
    free_values(c->topics[i].v, SKPI_TC_NKEYS);
  }
  for(size_t i = 0; i < c->nbrokers; i++) {
    free(c->brokers[i].error);
    free_values(c->brokers[i].v, SKPI_BC_NKEYS);
  }
  free(c->topics);
  free(c->brokers);
  free(c->cluster);
  free(c);
}

void skpi_topic_configs_ref(skpi_topic_configs *c) {
  if(c)
    skpi_refcnt_inc(&c->refcnt);
}

void skpi_topic_configs_unref(skpi_topic_configs *c) {
  if(c && skpi_refcnt_dec(&c->refcnt))
    configs_free(c);
}

/* Grows an array of n elements of size sz so that one more fits.  The
 * capacity is implied by n: 8, then doubled each time n reaches it.
 * Returns 0, or -1 on OOM (the array unchanged). */
static int grow(void **arr, size_t n, size_t sz) {
  if(n != 0 && (n < 8 || (n & (n - 1)) != 0))
    return 0;
  size_t cap = n == 0 ? 8 : n * 2;
  void *p = realloc(*arr, cap * sz);
  if(!p)
    return -1;
  *arr = p;
  return 0;
}

skpi_tc_topic *skpi_topic_configs_add_topic(skpi_topic_configs *c, const char *name, int internal,
                                            int partitions, int rf) {
  if(!c || !name || grow((void **)&c->topics, c->ntopics, sizeof(*c->topics)))
    return NULL;
  skpi_tc_topic *t = &c->topics[c->ntopics];
  memset(t, 0, sizeof(*t));
  if(!(t->name = strdup(name)))
    return NULL;
  t->internal = internal;
  t->partitions = partitions;
  t->rf = rf;
  t->ok = 1;
  c->ntopics++;
  return t;
}

skpi_tc_broker *skpi_topic_configs_add_broker(skpi_topic_configs *c, int32_t id) {
  if(!c || grow((void **)&c->brokers, c->nbrokers, sizeof(*c->brokers)))
    return NULL;
  skpi_tc_broker *b = &c->brokers[c->nbrokers++];
  memset(b, 0, sizeof(*b));
  b->id = id;
  b->ok = 1;
  return b;
}

skpi_err skpi_tc_set(skpi_tc_value *v, const char *value, enum skpi_cfg_source source) {
  char *copy = NULL;
  if(value && !(copy = strdup(value)))
    return SKPI_ENOMEM;
  free(v->value);
  v->value = copy;
  v->source = value ? source : SKPI_CFGSRC_UNKNOWN;
  return SKPI_OK;
}

static skpi_err set_error(char **dst, const char *reason) {
  char *copy = strdup(reason ? reason : "unknown error");
  if(!copy)
    return SKPI_ENOMEM;
  free(*dst);
  *dst = copy;
  return SKPI_OK;
}

skpi_err skpi_tc_topic_fail(skpi_tc_topic *t, const char *reason) {
  t->ok = 0;
  for(size_t i = 0; i < SKPI_TC_NKEYS; i++)
    skpi_tc_set(&t->v[i], NULL, SKPI_CFGSRC_UNKNOWN);
  return set_error(&t->error, reason);
}

skpi_err skpi_tc_broker_fail(skpi_tc_broker *b, const char *reason) {
  b->ok = 0;
  for(size_t i = 0; i < SKPI_BC_NKEYS; i++)
    skpi_tc_set(&b->v[i], NULL, SKPI_CFGSRC_UNKNOWN);
  return set_error(&b->error, reason);
}

static int topic_cmp(const void *a, const void *b) {
  return strcmp(((const skpi_tc_topic *)a)->name, ((const skpi_tc_topic *)b)->name);
}

static int broker_cmp(const void *a, const void *b) {
  int32_t x = ((const skpi_tc_broker *)a)->id, y = ((const skpi_tc_broker *)b)->id;
  return (x > y) - (x < y);
}

void skpi_topic_configs_sort(skpi_topic_configs *c) {
  if(c->ntopics > 1)
    qsort(c->topics, c->ntopics, sizeof(*c->topics), topic_cmp);
  if(c->nbrokers > 1)
    qsort(c->brokers, c->nbrokers, sizeof(*c->brokers), broker_cmp);
}

const skpi_tc_topic *skpi_topic_configs_topic(const skpi_topic_configs *c, const char *name) {
  size_t lo = 0, hi = c ? c->ntopics : 0;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = strcmp(c->topics[mid].name, name);
    if(r == 0)
      return &c->topics[mid];
    if(r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

