/* ntable.c: sorted name-keyed table with a hash index for recent additions. */
#include "streamkpi/ntable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_MIN 16

static skpi_nentry *entry(const skpi_ntable *t, size_t i) {
  return (skpi_nentry *)(void *)(t->v + i * t->esize);
}

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const skpi_nentry *)a)->name, ((const skpi_nentry *)b)->name);
}

/* FNV-1a: names are short and not adversarial enough to need more. */
static size_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for(; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return (size_t)h;
}

static void index_reset(skpi_ntable *t) {
  free(t->index);
  t->index = NULL;
  t->nindex = 0;
}

static void index_put(size_t *index, size_t nindex, const char *name, size_t pos) {
  size_t i = hash(name) & (nindex - 1);
  while(index[i])
    i = (i + 1) & (nindex - 1);
  index[i] = pos + 1;
}

/* Makes room in the index for one more unsorted entry (load <= 1/2). */
static skpi_err index_reserve(skpi_ntable *t) {
  size_t pending = t->n - t->nsorted;
  if(2 * (pending + 1) <= t->nindex)
    return SKPI_OK;
  size_t want = t->nindex ? t->nindex * 2 : INDEX_MIN;
  while(2 * (pending + 1) > want)
    want *= 2;
  size_t *ni = calloc(want, sizeof(*ni));
  if(!ni)
    return SKPI_ENOMEM;
  for(size_t p = t->nsorted; p < t->n; p++)
    index_put(ni, want, entry(t, p)->name, p);
  free(t->index);
  t->index = ni;
  t->nindex = want;
  return SKPI_OK;
}

void skpi_ntable_init(skpi_ntable *t, size_t esize, skpi_ntable_drop drop, void *user) {
  memset(t, 0, sizeof(*t));
  t->esize = esize < sizeof(skpi_nentry) ? sizeof(skpi_nentry) : esize;
  t->drop = drop;
  t->user = user;
}

static void drop_entry(skpi_ntable *t, skpi_nentry *e) {
  if(t->drop)
    t->drop(e, t->user);
  free(e->name);
}

void skpi_ntable_clear(skpi_ntable *t) {
  for(size_t i = 0; i < t->n; i++)
    drop_entry(t, entry(t, i));
  free(t->v);
  index_reset(t);
  t->v = NULL;
  t->n = t->nsorted = t->cap = 0;
}

size_t skpi_ntable_len(const skpi_ntable *t) {
  return t->n;
}

void *skpi_ntable_at(const skpi_ntable *t, size_t i) {
  return i < t->n ? entry(t, i) : NULL;
}

const void *skpi_ntable_bsearch(const void *base, size_t n, size_t size, size_t off,
                                const char *name) {
  size_t lo = 0, hi = n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *elem = (const char *)base + mid * size;
    const char *key;
    memcpy(&key, elem + off, sizeof(key));
    int c = strcmp(key, name);
    if(c == 0)
      return elem;
    if(c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

void *skpi_ntable_find(const skpi_ntable *t, const char *name) {
  if(!name)
    return NULL;
  const void *hit = skpi_ntable_bsearch(t->v, t->nsorted, t->esize, 0, name);
  if(hit)
    return (void *)(uintptr_t)hit;
  if(t->n == t->nsorted || !t->nindex)
    return NULL;
  for(size_t i = hash(name) & (t->nindex - 1); t->index[i]; i = (i + 1) & (t->nindex - 1)) {
    skpi_nentry *e = entry(t, t->index[i] - 1);
    if(strcmp(e->name, name) == 0)
      return e;
  }
  return NULL;
}

skpi_err skpi_ntable_add(skpi_ntable *t, const char *name, void **out) {
  *out = NULL;
  if(!name || skpi_ntable_find(t, name))
    return SKPI_EINVAL;
  if(t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 16;
    unsigned char *nv = realloc(t->v, ncap * t->esize);
    if(!nv)
      return SKPI_ENOMEM;
    t->v = nv;
    t->cap = ncap;
  }
  char *copy = strdup(name);
  if(!copy || index_reserve(t) != SKPI_OK) {
    free(copy);
    return SKPI_ENOMEM;
  }
  skpi_nentry *e = entry(t, t->n);
  memset(e, 0, t->esize);
  e->name = copy;
  index_put(t->index, t->nindex, copy, t->n);
  t->n++;
  *out = e;
  return SKPI_OK;
}

void skpi_ntable_sort(skpi_ntable *t) {
  if(t->n == t->nsorted)
    return;
  /* glibc's qsort merges, so a long sorted prefix costs little. */
  qsort(t->v, t->n, t->esize, cmp_entry);
  t->nsorted = t->n;
  index_reset(t);
}

int skpi_ntable_remove(skpi_ntable *t, const char *name) {
  skpi_ntable_sort(t);
  skpi_nentry *e = skpi_ntable_find(t, name);
  if(!e)
    return 0;
  size_t i = (size_t)((unsigned char *)e - t->v) / t->esize;
  drop_entry(t, e);
  memmove(t->v + i * t->esize, t->v + (i + 1) * t->esize, (t->n - i - 1) * t->esize);
  t->n--;
  t->nsorted = t->n;
  return 1;
}

size_t skpi_ntable_sweep(skpi_ntable *t, double now, double max_age) {
  int was_sorted = t->n == t->nsorted;
  size_t w = 0, dropped = 0;
  for(size_t i = 0; i < t->n; i++) {
    skpi_nentry *e = entry(t, i);
    if(now - e->last_seen > max_age) {
      drop_entry(t, e);
      dropped++;
      continue;
    }
    if(w != i)
      memcpy(entry(t, w), e, t->esize);
    w++;
  }
  t->n = w;
  index_reset(t);
  /* Dropping keeps the order of what stays; only additions need a sort. */
  t->nsorted = was_sorted ? w : 0;
  skpi_ntable_sort(t);
  return dropped;
}
