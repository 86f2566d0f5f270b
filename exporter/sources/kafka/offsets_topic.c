/* offsets_topic.c: parses __consumer_offsets records and keeps the table of
 * committed offsets they describe.  See include/streamkpi/offsets_topic.h. */
#include "streamkpi/offsets_topic.h"

#include <stdlib.h>
#include <string.h>

/* ---- parsing ----------------------------------------------------------- */

/* A read cursor over untrusted bytes: every read checks what is left. */
typedef struct rd {
  const unsigned char *p;
  size_t left;
} rd;

static int get_i16(rd *r, int16_t *v) {
  if(r->left < 2)
    return -1;
  *v = (int16_t)(uint16_t)((unsigned)r->p[0] << 8 | r->p[1]);
  r->p += 2;
  r->left -= 2;
  return 0;
}

static int get_i32(rd *r, int32_t *v) {
  if(r->left < 4)
    return -1;
  uint32_t u = 0;
  for(int i = 0; i < 4; i++)
    u = u << 8 | r->p[i];
  *v = (int32_t)u;
  r->p += 4;
  r->left -= 4;
  return 0;
}

static int get_i64(rd *r, int64_t *v) {
  if(r->left < 8)
    return -1;
  uint64_t u = 0;
  for(int i = 0; i < 8; i++)
    u = u << 8 | r->p[i];
  *v = (int64_t)u;
  r->p += 8;
  r->left -= 8;
  return 0;
}

/* Unsigned varint of the flexible versions: at most 5 bytes for 32 bits. */
static int get_uvarint(rd *r, uint32_t *v) {
  uint32_t u = 0;
  for(int i = 0; i < 5; i++) {
    if(r->left == 0)
      return -1;
    unsigned char b = *r->p++;
    r->left--;
    if(i == 4 && b > 0x0f)
      return -1;
    u |= (uint32_t)(b & 0x7f) << (7 * i);
    if(!(b & 0x80)) {
      *v = u;
      return 0;
    }
  }
  return -1;
}

static int skip(rd *r, size_t n) {
  if(r->left < n)
    return -1;
  r->p += n;
  r->left -= n;
  return 0;
}

/* A classic string: int16 length then bytes.  Null (-1) only when allowed. */
static int get_str(rd *r, const char **s, size_t *len, int nullable) {
  int16_t n;
  if(get_i16(r, &n) != 0 || n < -1 || (n == -1 && !nullable))
    return -1;
  *s = n < 0 ? NULL : (const char *)r->p;
  *len = n < 0 ? 0 : (size_t)n;
  return skip(r, *len);
}

static int fail(const char **why, const char *msg) {
  if(why)
    *why = msg;
  return -1;
}

static int parse_key(rd *r, skpi_offsets_topic_rec *o, const char **why) {
  int16_t kv;
  if(get_i16(r, &kv) != 0)
    return fail(why, "key shorter than its version");
  o->key_version = kv;
  if(kv < 0 || kv > 2) {
    o->kind = SKPI_OFFSETS_TOPIC_OTHER;
    return 0;
  }
  o->kind = kv == 2 ? SKPI_OFFSETS_TOPIC_GROUP : SKPI_OFFSETS_TOPIC_COMMIT;
  if(get_str(r, &o->group, &o->group_len, 0) != 0)
    return fail(why, "key: group name truncated or null");
  /* Names become C strings in the table. */
  if(memchr(o->group, '\0', o->group_len))
    return fail(why, "key: group name holds a NUL byte");
  if(o->kind == SKPI_OFFSETS_TOPIC_COMMIT) {
    if(get_str(r, &o->topic, &o->topic_len, 0) != 0)
      return fail(why, "key: topic name truncated or null");
    if(memchr(o->topic, '\0', o->topic_len))
      return fail(why, "key: topic name holds a NUL byte");
    if(get_i32(r, &o->partition) != 0)
      return fail(why, "key: partition truncated");
    if(o->partition < 0)
      return fail(why, "key: negative partition");
  }
  if(r->left)
    return fail(why, "key: bytes after the last field");
  return 0;
}

/* Skips the tagged fields of a flexible version: a count, then per field
 * its tag, its size and that many bytes. */
static int skip_tags(rd *r) {
  uint32_t n, tag, size;
  if(get_uvarint(r, &n) != 0)
    return -1;
  for(uint32_t i = 0; i < n; i++)
    if(get_uvarint(r, &tag) != 0 || get_uvarint(r, &size) != 0 || skip(r, size) != 0)
      return -1;
  return 0;
}

static int parse_commit_value(rd *r, skpi_offsets_topic_rec *o, const char **why) {
  int16_t vv;
  const char *meta;
  size_t mlen;
  if(get_i16(r, &vv) != 0)
    return fail(why, "value shorter than its version");
  if(vv < 0 || vv > 4)
    return fail(why, "offset commit value version not supported");
  o->value_version = vv;
  if(get_i64(r, &o->offset) != 0)
    return fail(why, "value: offset truncated");
  if(vv >= 3 && get_i32(r, &o->leader_epoch) != 0)
    return fail(why, "value: leader epoch truncated");
  if(vv >= 4) {
    uint32_t n;
    /* Compact string: length + 1, 0 for null. */
    if(get_uvarint(r, &n) != 0 || (n > 0 && skip(r, n - 1) != 0))
      return fail(why, "value: metadata truncated");
  } else if(get_str(r, &meta, &mlen, 1) != 0) {
    return fail(why, "value: metadata truncated");
  }
  if(get_i64(r, &o->commit_ms) != 0)
    return fail(why, "value: commit time truncated");
  if(vv == 1 && get_i64(r, &o->expire_ms) != 0)
    return fail(why, "value: expiry time truncated");
  if(vv >= 4 && skip_tags(r) != 0)
    return fail(why, "value: tagged fields truncated");
  if(r->left)
    return fail(why, "value: bytes after the last field");
  if(o->offset < 0)
    return fail(why, "value: negative offset");
  return 0;
}

skpi_err skpi_offsets_topic_parse(const void *key, size_t klen, const void *val, size_t vlen,
                                  skpi_offsets_topic_rec *out, const char **why) {
  if(!out)
    return SKPI_EINVAL;
  memset(out, 0, sizeof(*out));
  out->leader_epoch = -1;
  out->expire_ms = -1;
  out->offset = -1;
  out->commit_ms = -1;
  out->value_version = -1;
  if(!key) {
    fail(why, "record without a key");
    return SKPI_EINVAL;
  }
  rd r = {key, klen};
  if(parse_key(&r, out, why) != 0)
    return SKPI_EINVAL;
  out->tombstone = val == NULL;
  if(out->kind != SKPI_OFFSETS_TOPIC_COMMIT || !val)
    return SKPI_OK;
  rd v = {val, vlen};
  return parse_commit_value(&v, out, why) == 0 ? SKPI_OK : SKPI_EINVAL;
}

/* ---- the table --------------------------------------------------------- */

typedef struct grp {
  char *name;
  skpi_offsets_topic_entry *e; /* sorted by (topic, partition) */
  size_t n, cap;
} grp;

/* Open addressing, power-of-two capacity, never more than half full.  The
 * group slots never empty (a deleted group keeps its name, no commits), so
 * lookups need no tombstones. */
struct skpi_offsets_topic {
  grp **groups;
  size_t ngroups, gcap;
  char **topics; /* interned topic names */
  size_t ntopics, tcap;
  size_t size; /* committed partitions, all groups */
};

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for(size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static int name_eq(const char *a, const char *b, size_t blen) {
  return strncmp(a, b, blen) == 0 && a[blen] == '\0';
}

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if(p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

skpi_offsets_topic *skpi_offsets_topic_new(void) {
  return calloc(1, sizeof(skpi_offsets_topic));
}

void skpi_offsets_topic_free(skpi_offsets_topic *t) {
  if(!t)
    return;
  for(size_t i = 0; i < t->gcap; i++)
    if(t->groups[i]) {
      free(t->groups[i]->name);
      free(t->groups[i]->e);
      free(t->groups[i]);
    }
  for(size_t i = 0; i < t->tcap; i++)
    free(t->topics[i]);
  free(t->groups);
  free(t->topics);
  free(t);
}

/* Slot of name in a table of cap slots (cap a power of two): its own slot
 * or the empty one where it would go. */
static size_t group_slot(grp *const *slots, size_t cap, const char *name, size_t len) {
  size_t i = (size_t)hash(name, len) & (cap - 1);
  while(slots[i] && !name_eq(slots[i]->name, name, len))
    i = (i + 1) & (cap - 1);
  return i;
}

static size_t topic_slot(char *const *slots, size_t cap, const char *name, size_t len) {
  size_t i = (size_t)hash(name, len) & (cap - 1);
  while(slots[i] && !name_eq(slots[i], name, len))
    i = (i + 1) & (cap - 1);
  return i;
}

static skpi_err grow_groups(skpi_offsets_topic *t) {
  size_t cap = t->gcap ? t->gcap * 2 : 64;
  grp **s = calloc(cap, sizeof(*s));
  if(!s)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < t->gcap; i++)
    if(t->groups[i])
      s[group_slot(s, cap, t->groups[i]->name, strlen(t->groups[i]->name))] = t->groups[i];
  free(t->groups);
  t->groups = s;
  t->gcap = cap;
  return SKPI_OK;
}

static skpi_err grow_topics(skpi_offsets_topic *t) {
  size_t cap = t->tcap ? t->tcap * 2 : 64;
  char **s = calloc(cap, sizeof(*s));
  if(!s)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < t->tcap; i++)
    if(t->topics[i])
      s[topic_slot(s, cap, t->topics[i], strlen(t->topics[i]))] = t->topics[i];
  free(t->topics);
  t->topics = s;
  t->tcap = cap;
  return SKPI_OK;
}

static grp *find_group(const skpi_offsets_topic *t, const char *name, size_t len) {
  if(!t->gcap)
    return NULL;
  return t->groups[group_slot(t->groups, t->gcap, name, len)];
}

static skpi_err get_group(skpi_offsets_topic *t, const char *name, size_t len, grp **out) {
  if(!(*out = find_group(t, name, len))) {
    if(2 * (t->ngroups + 1) > t->gcap && grow_groups(t) != SKPI_OK)
      return SKPI_ENOMEM;
    grp *g = calloc(1, sizeof(*g));
    if(!g || !(g->name = dup_n(name, len))) {
      free(g);
      return SKPI_ENOMEM;
    }
    t->groups[group_slot(t->groups, t->gcap, name, len)] = g;
    t->ngroups++;
    *out = g;
  }
  return SKPI_OK;
}

static skpi_err intern_topic(skpi_offsets_topic *t, const char *name, size_t len,
                             const char **out) {
  if(2 * (t->ntopics + 1) > t->tcap && grow_topics(t) != SKPI_OK)
    return SKPI_ENOMEM;
  size_t i = topic_slot(t->topics, t->tcap, name, len);
  if(!t->topics[i]) {
    if(!(t->topics[i] = dup_n(name, len)))
      return SKPI_ENOMEM;
    t->ntopics++;
  }
  *out = t->topics[i];
  return SKPI_OK;
}

/* Compares a commit with (topic[0..len), partition). */
static int cmp_entry(const skpi_offsets_topic_entry *e, const char *topic, size_t len,
                     int32_t partition) {
  int c = strncmp(e->topic, topic, len);
  if(c == 0 && e->topic[len] != '\0')
    c = 1;
  if(c)
    return c;
  return e->partition < partition ? -1 : e->partition > partition;
}

/* Index of the first commit not below (topic, partition); *found when equal. */
static size_t lower_bound(const grp *g, const char *topic, size_t len, int32_t partition,
                          int *found) {
  size_t lo = 0, hi = g->n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(cmp_entry(&g->e[mid], topic, len, partition) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < g->n && cmp_entry(&g->e[lo], topic, len, partition) == 0;
  return lo;
}

static skpi_err put_commit(skpi_offsets_topic *t, const skpi_offsets_topic_rec *r) {
  grp *g;
  int found;
  const char *topic;
  skpi_err rc;
  if((rc = get_group(t, r->group, r->group_len, &g)) != SKPI_OK)
    return rc;
  size_t i = lower_bound(g, r->topic, r->topic_len, r->partition, &found);
  if(!found) {
    if(g->n == g->cap) {
      size_t cap = g->cap ? g->cap * 2 : 4;
      skpi_offsets_topic_entry *e = realloc(g->e, cap * sizeof(*e));
      if(!e)
        return SKPI_ENOMEM;
      g->e = e;
      g->cap = cap;
    }
    if((rc = intern_topic(t, r->topic, r->topic_len, &topic)) != SKPI_OK)
      return rc;
    memmove(&g->e[i + 1], &g->e[i], (g->n - i) * sizeof(*g->e));
    g->e[i] = (skpi_offsets_topic_entry){.topic = topic, .partition = r->partition};
    g->n++;
    t->size++;
  }
  g->e[i].offset = r->offset;
  g->e[i].commit_ms = r->commit_ms;
  return SKPI_OK;
}

static void drop_commit(skpi_offsets_topic *t, const skpi_offsets_topic_rec *r) {
  int found;
  grp *g = find_group(t, r->group, r->group_len);
  if(!g)
    return;
  size_t i = lower_bound(g, r->topic, r->topic_len, r->partition, &found);
  if(!found)
    return;
  memmove(&g->e[i], &g->e[i + 1], (g->n - i - 1) * sizeof(*g->e));
  g->n--;
  t->size--;
}

skpi_err skpi_offsets_topic_apply(skpi_offsets_topic *t, const skpi_offsets_topic_rec *r) {
  if(!t || !r)
    return SKPI_EINVAL;
  if(r->kind == SKPI_OFFSETS_TOPIC_COMMIT) {
    if(!r->tombstone)
      return put_commit(t, r);
    drop_commit(t, r);
    return SKPI_OK;
  }
  if(r->kind == SKPI_OFFSETS_TOPIC_GROUP && r->tombstone) {
    grp *g = find_group(t, r->group, r->group_len);
    if(g) {
      t->size -= g->n;
      free(g->e);
      g->e = NULL;
      g->n = g->cap = 0;
    }
  }
  return SKPI_OK;
}

const skpi_offsets_topic_entry *skpi_offsets_topic_group(const skpi_offsets_topic *t,
                                                         const char *group, size_t *n) {
  *n = 0;
  if(!t || !group)
    return NULL;
  const grp *g = find_group(t, group, strlen(group));
  if(!g || g->n == 0)
    return NULL;
  *n = g->n;
  return g->e;
}

size_t skpi_offsets_topic_size(const skpi_offsets_topic *t) {
  return t ? t->size : 0;
}
