/* offsets_topic.c: parses __consumer_offsets records and keeps the table of
 * committed offsets they describe.  See include/streamkpi/offsets_topic.h. */
#include "streamkpi/offsets_topic.h"

#include <stdlib.h>
#include <string.h>

#include "streamkpi/ntable.h"

/* ---- parsing ----------------------------------------------------------- */

/* A read cursor over untrusted bytes: every read checks what is left. */
typedef struct rd {
  const unsigned char *p;
  size_t left;
} rd;

/* A big-endian signed integer of width bytes (2, 4 or 8). */
static int get_int(rd *r, size_t width, int64_t *v) {
  uint64_t u = 0;
  if(r->left < width)
    return -1;
  for(size_t i = 0; i < width; i++)
    u = u << 8 | r->p[i];
  r->p += width;
  r->left -= width;
  *v = width == 2 ? (int16_t)(uint16_t)u : width == 4 ? (int32_t)(uint32_t)u : (int64_t)u;
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
  int64_t n;
  if(get_int(r, 2, &n) != 0 || n < -1 || (n == -1 && !nullable))
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
  int64_t kv, part;
  if(get_int(r, 2, &kv) != 0)
    return fail(why, "key shorter than its version");
  o->key_version = (int)kv;
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
    if(get_int(r, 4, &part) != 0)
      return fail(why, "key: partition truncated");
    o->partition = (int32_t)part;
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
  int64_t vv, epoch;
  const char *meta;
  size_t mlen;
  if(get_int(r, 2, &vv) != 0)
    return fail(why, "value shorter than its version");
  if(vv < 0 || vv > 4)
    return fail(why, "offset commit value version not supported");
  o->value_version = (int)vv;
  if(get_int(r, 8, &o->offset) != 0)
    return fail(why, "value: offset truncated");
  if(vv >= 3) {
    if(get_int(r, 4, &epoch) != 0)
      return fail(why, "value: leader epoch truncated");
    o->leader_epoch = (int32_t)epoch;
  }
  if(vv >= 4) {
    uint32_t n;
    /* Compact string: length + 1, 0 for null. */
    if(get_uvarint(r, &n) != 0 || (n > 0 && skip(r, n - 1) != 0))
      return fail(why, "value: metadata truncated");
  } else if(get_str(r, &meta, &mlen, 1) != 0) {
    return fail(why, "value: metadata truncated");
  }
  if(get_int(r, 8, &o->commit_ms) != 0)
    return fail(why, "value: commit time truncated");
  if(vv == 1 && get_int(r, 8, &o->expire_ms) != 0)
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

/* A group: its entry in the groups table, then its commits. */
typedef struct grp {
  skpi_nentry e;
  skpi_offsets_topic_entry *c; /* sorted by (topic, partition) */
  size_t n, cap;
} grp;

/* A topic name, kept once however many commits name it. */
typedef struct tname {
  skpi_nentry e;
} tname;

/* A deleted group keeps its entry (no commits): group ids are few next to
 * commits, and a deleted group often comes back. */
struct skpi_offsets_topic {
  skpi_ntable groups; /* of grp */
  skpi_ntable topics; /* of tname */
  char *scratch;      /* a name from a record, NUL-terminated for look-ups */
  size_t scratch_cap;
  size_t size; /* committed partitions, all groups */
};

static void drop_group(void *entry, void *user) {
  (void)user;
  free(((grp *)entry)->c);
}

skpi_offsets_topic *skpi_offsets_topic_new(void) {
  skpi_offsets_topic *t = calloc(1, sizeof(*t));
  if(t) {
    skpi_ntable_init(&t->groups, sizeof(grp), drop_group, NULL);
    skpi_ntable_init(&t->topics, sizeof(tname), NULL, NULL);
  }
  return t;
}

void skpi_offsets_topic_free(skpi_offsets_topic *t) {
  if(!t)
    return;
  skpi_ntable_clear(&t->groups);
  skpi_ntable_clear(&t->topics);
  free(t->scratch);
  free(t);
}

/* name[0..len) as a C string in the table's scratch buffer, or NULL. */
static const char *cstr(skpi_offsets_topic *t, const char *name, size_t len) {
  if(len + 1 > t->scratch_cap) {
    char *p = realloc(t->scratch, len + 1);
    if(!p)
      return NULL;
    t->scratch = p;
    t->scratch_cap = len + 1;
  }
  memcpy(t->scratch, name, len);
  t->scratch[len] = '\0';
  return t->scratch;
}

/* Finds name in table nt, adding it (zeroed) when absent. */
static skpi_err find_or_add(skpi_ntable *nt, const char *name, void **out) {
  if((*out = skpi_ntable_find(nt, name)))
    return SKPI_OK;
  return skpi_ntable_add(nt, name, out);
}

/* Compares a commit with (topic[0..len), partition). */
static int cmp_commit(const skpi_offsets_topic_entry *e, const char *topic, size_t len,
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
    if(cmp_commit(&g->c[mid], topic, len, partition) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < g->n && cmp_commit(&g->c[lo], topic, len, partition) == 0;
  return lo;
}

static skpi_err put_commit(skpi_offsets_topic *t, const skpi_offsets_topic_rec *r) {
  grp *g;
  tname *topic;
  int found;
  skpi_err rc;
  const char *name = cstr(t, r->topic, r->topic_len);
  if(!name || (rc = find_or_add(&t->topics, name, (void **)&topic)) != SKPI_OK)
    return SKPI_ENOMEM;
  const char *interned = topic->e.name;
  if(!(name = cstr(t, r->group, r->group_len)) ||
     (rc = find_or_add(&t->groups, name, (void **)&g)) != SKPI_OK)
    return SKPI_ENOMEM;
  size_t i = lower_bound(g, r->topic, r->topic_len, r->partition, &found);
  if(!found) {
    if(g->n == g->cap) {
      size_t cap = g->cap ? g->cap * 2 : 4;
      skpi_offsets_topic_entry *c = realloc(g->c, cap * sizeof(*c));
      if(!c)
        return SKPI_ENOMEM;
      g->c = c;
      g->cap = cap;
    }
    memmove(&g->c[i + 1], &g->c[i], (g->n - i) * sizeof(*g->c));
    g->c[i] = (skpi_offsets_topic_entry){.topic = interned, .partition = r->partition};
    g->n++;
    t->size++;
  }
  g->c[i].offset = r->offset;
  g->c[i].commit_ms = r->commit_ms;
  return SKPI_OK;
}

static grp *group_of(skpi_offsets_topic *t, const skpi_offsets_topic_rec *r) {
  const char *name = cstr(t, r->group, r->group_len);
  return name ? skpi_ntable_find(&t->groups, name) : NULL;
}

static void drop_commit(skpi_offsets_topic *t, const skpi_offsets_topic_rec *r) {
  int found;
  grp *g = group_of(t, r);
  if(!g)
    return;
  size_t i = lower_bound(g, r->topic, r->topic_len, r->partition, &found);
  if(!found)
    return;
  memmove(&g->c[i], &g->c[i + 1], (g->n - i - 1) * sizeof(*g->c));
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
    grp *g = group_of(t, r);
    if(g) {
      t->size -= g->n;
      free(g->c);
      g->c = NULL;
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
  const grp *g = skpi_ntable_find(&t->groups, group);
  if(!g || g->n == 0)
    return NULL;
  *n = g->n;
  return g->c;
}

size_t skpi_offsets_topic_size(const skpi_offsets_topic *t) {
  return t ? t->size : 0;
}
