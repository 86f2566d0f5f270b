/* expo.c: metric sets and their exposition (Prometheus text 0.0.4,
 * OpenMetrics 1.0).
 *
 * A set holds families in declaration order, found by name through an
 * open-addressing hash.  Each family keeps a growable array of samples; a
 * sample is (suffix id, pre-escaped label string, value).  Label strings
 * live in a chunked arena owned by the set, so adding a sample costs no
 * malloc of its own and rendering is concatenation.  A label string is
 * interned: the families of one partition or group share one copy, which
 * at 100k partitions is most of a set's size.
 */
#include "streamkpi/expo.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "streamkpi/refcnt.h"

enum suffix { SUF_NONE = 0, SUF_BUCKET, SUF_SUM, SUF_COUNT };

static const char *const suffix_str[] = {"", "_bucket", "_sum", "_count"};
static const size_t suffix_len[] = {0, 7, 4, 6};

typedef struct sample {
  const char *labels; /* "{a=\"b\"}" or "" (points into the arena) */
  uint32_t lablen;
  uint8_t suffix;
  double value;
} sample;

typedef struct family {
  char *name; /* 0.0.4 name */
  size_t namelen;
  size_t famlen; /* OpenMetrics family name length (a prefix of name) */
  enum skpi_mtype type;
  char *help; /* raw UTF-8 (already made valid), NULL when none */
  sample *samples;
  size_t nsamples;
  size_t cap;
} family;

/* Arena chunks are chained; big label strings get a chunk of their own so
 * a chunk never wastes more than a quarter of its size. */
#define CHUNK_SIZE (256 * 1024)

/* One label string held in the arena, found by its hash. */
typedef struct interned {
  const char *p; /* NULL = empty entry */
  uint32_t len;
  uint32_t hash;
} interned;

typedef struct chunk {
  struct chunk *next;
  size_t used;
  size_t size;
  char data[];
} chunk;

struct skpi_mset {
  skpi_refcnt refs;
  family *fams;
  size_t nfams;
  size_t famcap;
  uint32_t *slots; /* family index + 1; 0 = empty */
  size_t nslots;   /* power of two */
  chunk *arena;
  size_t nsamples;
  struct interned *labels; /* open addressing, at most half full */
  size_t nlabels;
  size_t labcap; /* power of two, or 0 */
};

/* ---- names and escaping ---- */

static int name_start(unsigned char c, int colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static int name_char(unsigned char c, int colon) {
  return name_start(c, colon) || (c >= '0' && c <= '9');
}

static int valid_name_n(const char *s, size_t n, int colon) {
  if(n == 0 || !name_start((unsigned char)s[0], colon))
    return 0;
  for(size_t i = 1; i < n; i++)
    if(!name_char((unsigned char)s[i], colon))
      return 0;
  return 1;
}

int skpi_expo_valid_name(const char *name) {
  if(!name)
    return 0;
  size_t n = strnlen(name, SKPI_EXPO_MAX_NAME + 1);
  return n <= SKPI_EXPO_MAX_NAME && valid_name_n(name, n, 1);
}

static int valid_label_name(const char *s) {
  size_t n = strnlen(s, SKPI_EXPO_MAX_NAME + 1);
  if(n > SKPI_EXPO_MAX_NAME || !valid_name_n(s, n, 0))
    return 0;
  return !(s[0] == '_' && s[1] == '_');
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there
 * are not one (overlong forms, surrogates and values past U+10FFFF are
 * refused as RFC 3629 says). */
static size_t utf8_seq(const unsigned char *s, size_t left) {
  unsigned char c = s[0];
  if(c < 0x80)
    return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if(c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if(c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if(c == 0xE0)
      lo = 0xA0;
    else if(c == 0xED)
      hi = 0x9F;
  } else if(c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if(c == 0xF0)
      lo = 0x90;
    else if(c == 0xF4)
      hi = 0x8F;
  } else
    return 0;
  if(left < n)
    return 0;
  if(s[1] < lo || s[1] > hi)
    return 0;
  for(size_t i = 2; i < n; i++)
    if(s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return n;
}

#define ESC_QUOTE 1 /* also escape '"' (label values, OpenMetrics HELP) */
#define ESC_NONE 2  /* only repair UTF-8, escape nothing */

/* Escapes src[0..n) into dst (which may be NULL to only measure) and returns
 * the escaped length.  Invalid UTF-8 bytes become U+FFFD so the output stays
 * valid UTF-8 whatever a Kafka client or a config put in a name. */
static size_t escape(char *dst, const char *src, size_t n, int flags) {
  const unsigned char *s = (const unsigned char *)src;
  size_t o = 0, i = 0;
  while(i < n) {
    unsigned char c = s[i];
    const char *rep = NULL;
    size_t rl = 0;
    size_t adv = 1;
    if(flags != ESC_NONE && c == '\\')
      rep = "\\\\", rl = 2;
    else if(flags != ESC_NONE && c == '\n')
      rep = "\\n", rl = 2;
    else if(flags == ESC_QUOTE && c == '"')
      rep = "\\\"", rl = 2;
    else if(c >= 0x80) {
      adv = utf8_seq(s + i, n - i);
      if(adv == 0) {
        rep = "\xEF\xBF\xBD", rl = 3;
        adv = 1;
      }
    }
    if(rep) {
      if(dst)
        memcpy(dst + o, rep, rl);
      o += rl;
    } else {
      if(dst)
        memcpy(dst + o, s + i, adv);
      o += adv;
    }
    i += adv;
  }
  return o;
}

/* ---- numbers ---- */

/* Writes v into out (at least 32 bytes) and returns the length: integral
 * values within +-2^53 as plain integers, others as the shortest of %.15g,
 * %.16g, %.17g that reads back to the same double. */
static size_t fmt_double(char *out, double v) {
  if(isnan(v)) {
    memcpy(out, "NaN", 3);
    return 3;
  }
  if(isinf(v)) {
    memcpy(out, v > 0 ? "+Inf" : "-Inf", 4);
    return 4;
  }
  if(v >= -9007199254740992.0 && v <= 9007199254740992.0) {
    int64_t i = (int64_t)v;
    if((double)i == v) {
      char tmp[24];
      size_t n = 0;
      uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
      do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
      } while(u);
      size_t o = 0;
      if(i < 0)
        out[o++] = '-';
      while(n)
        out[o++] = tmp[--n];
      return o;
    }
  }
  int len = 0;
  for(int prec = 15; prec <= 17; prec++) {
    len = snprintf(out, 32, "%.*g", prec, v);
    if(prec == 17 || strtod(out, NULL) == v)
      break;
  }
  return len > 0 ? (size_t)len : 0;
}

/* ---- the set ---- */

skpi_mset *skpi_mset_new(void) {
  skpi_mset *m = calloc(1, sizeof(*m));
  if(!m)
    return NULL;
  skpi_refcnt_init(&m->refs, 1);
  return m;
}

void skpi_mset_ref(skpi_mset *m) {
  if(m)
    skpi_refcnt_inc(&m->refs);
}

void skpi_mset_seal(skpi_mset *m) {
  if(!m)
    return;
  /* The lookup table only serves later adds; the strings stay in the arena. */
  free(m->labels);
  m->labels = NULL;
  m->nlabels = 0;
  m->labcap = 0;
  for(size_t i = 0; i < m->nfams; i++) {
    family *f = &m->fams[i];
    if(f->cap == f->nsamples)
      continue;
    if(!f->nsamples) {
      free(f->samples);
      f->samples = NULL;
      f->cap = 0;
      continue;
    }
    sample *t = realloc(f->samples, f->nsamples * sizeof(*t));
    if(t) {
      f->samples = t;
      f->cap = f->nsamples;
    }
  }
}

void skpi_mset_unref(skpi_mset *m) {
  if(!m || !skpi_refcnt_dec(&m->refs))
    return;
  for(size_t i = 0; i < m->nfams; i++) {
    free(m->fams[i].name);
    free(m->fams[i].help);
    free(m->fams[i].samples);
  }
  free(m->fams);
  free(m->slots);
  free(m->labels);
  chunk *c = m->arena;
  while(c) {
    chunk *next = c->next;
    free(c);
    c = next;
  }
  free(m);
}

size_t skpi_mset_size(const skpi_mset *m) {
  return m ? m->nsamples : 0;
}

size_t skpi_mset_label_bytes(const skpi_mset *m) {
  size_t n = 0;
  for(const chunk *c = m ? m->arena : NULL; c; c = c->next)
    n += c->used;
  return n;
}

static uint32_t hash_name(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for(size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

/* The name of entry k of a table's owner (a set or a rendering). */
typedef const char *(*name_at_fn)(const void *owner, size_t k, size_t *len);

/* Finds name in an open-addressing table of entry index + 1 (0 = empty,
 * nslots a power of two or 0); returns the entry's index, or -1. */
static long probe_name(const uint32_t *slots, size_t nslots, const char *name, size_t n,
                       name_at_fn at, const void *owner) {
  if(!nslots)
    return -1;
  size_t mask = nslots - 1;
  for(size_t i = hash_name(name, n) & mask;; i = (i + 1) & mask) {
    uint32_t s = slots[i];
    if(!s)
      return -1;
    size_t len;
    const char *fn = at(owner, s - 1, &len);
    if(len == n && memcmp(fn, name, n) == 0)
      return (long)(s - 1);
  }
}

static const char *mset_name_at(const void *owner, size_t k, size_t *len) {
  const family *f = &((const skpi_mset *)owner)->fams[k];
  *len = f->namelen;
  return f->name;
}

/* Returns the index of the family called name, or -1. */
static long find_family(const skpi_mset *m, const char *name, size_t n) {
  return probe_name(m->slots, m->nslots, name, n, mset_name_at, m);
}

static void slot_put(uint32_t *slots, size_t nslots, const char *name, size_t n, uint32_t idx1) {
  size_t mask = nslots - 1;
  size_t i = hash_name(name, n) & mask;
  while(slots[i])
    i = (i + 1) & mask;
  slots[i] = idx1;
}

/* Keeps the table at most half full so probes stay short. */
static skpi_err grow_slots(skpi_mset *m) {
  if((m->nfams + 1) * 2 <= m->nslots)
    return SKPI_OK;
  size_t n = m->nslots ? m->nslots * 2 : 64;
  uint32_t *s = calloc(n, sizeof(*s));
  if(!s)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < m->nfams; i++)
    slot_put(s, n, m->fams[i].name, m->fams[i].namelen, (uint32_t)(i + 1));
  free(m->slots);
  m->slots = s;
  m->nslots = n;
  return SKPI_OK;
}

static int has_suffix(const char *s, size_t n, const char *suf) {
  size_t l = strlen(suf);
  return n > l && memcmp(s + n - l, suf, l) == 0;
}

int skpi_mset_family(skpi_mset *m, const char *name, enum skpi_mtype type, const char *help) {
  if(!m || !skpi_expo_valid_name(name))
    return -1;
  if(type != SKPI_MT_GAUGE && type != SKPI_MT_COUNTER && type != SKPI_MT_HISTOGRAM &&
     type != SKPI_MT_INFO && type != SKPI_MT_UNTYPED)
    return -1;
  size_t n = strlen(name);
  long idx = find_family(m, name, n);
  if(idx >= 0)
    return m->fams[idx].type == type ? (int)idx : -1;
  size_t famlen = n;
  /* The OpenMetrics family name drops the suffix; what is left must still
   * be a name, so "_total" alone is refused. */
  if(type == SKPI_MT_COUNTER) {
    if(!has_suffix(name, n, "_total"))
      return -1;
    famlen = n - 6;
  } else if(type == SKPI_MT_INFO) {
    if(!has_suffix(name, n, "_info"))
      return -1;
    famlen = n - 5;
  }
  if(!valid_name_n(name, famlen, 1) || m->nfams >= SKPI_EXPO_MAX_FAMILIES)
    return -1;
  if(grow_slots(m) != SKPI_OK)
    return -1;
  if(m->nfams == m->famcap) {
    size_t c = m->famcap ? m->famcap * 2 : 16;
    family *f = realloc(m->fams, c * sizeof(*f));
    if(!f)
      return -1;
    m->fams = f;
    m->famcap = c;
  }
  family *f = &m->fams[m->nfams];
  memset(f, 0, sizeof(*f));
  f->name = malloc(n + 1);
  if(!f->name)
    return -1;
  memcpy(f->name, name, n + 1);
  if(help) {
    size_t hl = strnlen(help, SKPI_EXPO_MAX_HELP);
    size_t el = escape(NULL, help, hl, ESC_NONE);
    f->help = malloc(el + 1);
    if(!f->help) {
      free(f->name);
      return -1;
    }
    escape(f->help, help, hl, ESC_NONE);
    f->help[el] = '\0';
  }
  f->namelen = n;
  f->famlen = famlen;
  f->type = type;
  slot_put(m->slots, m->nslots, f->name, f->namelen, (uint32_t)(m->nfams + 1));
  return (int)m->nfams++;
}

/* Returns n bytes of arena space, or NULL on OOM. */
static char *arena_alloc(skpi_mset *m, size_t n) {
  chunk *c = m->arena;
  if(c && c->size - c->used >= n) {
    char *p = c->data + c->used;
    c->used += n;
    return p;
  }
  size_t size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
  chunk *nc = malloc(sizeof(*nc) + size);
  if(!nc)
    return NULL;
  nc->size = size;
  nc->used = n;
  /* A dedicated big chunk goes behind the current one so the current
   * chunk's free space is still used. */
  if(c && size != CHUNK_SIZE) {
    nc->next = c->next;
    c->next = nc;
  } else {
    nc->next = c;
    m->arena = nc;
  }
  return nc->data;
}

static void intern_put(interned *tab, size_t cap, interned e) {
  size_t mask = cap - 1;
  size_t i = e.hash & mask;
  while(tab[i].p)
    i = (i + 1) & mask;
  tab[i] = e;
}

/* Returns the set's copy of the label string p[0..len), which was just
 * written at the end of the arena's head chunk: an earlier equal string
 * (and p's bytes are given back), else p itself, now remembered.  When the
 * table cannot grow, p is kept unshared: interning only saves memory. */
static const char *intern(skpi_mset *m, char *p, size_t len) {
  uint32_t h = hash_name(p, len);
  if(m->labcap) {
    size_t mask = m->labcap - 1;
    for(size_t i = h & mask; m->labels[i].p; i = (i + 1) & mask) {
      const interned *e = &m->labels[i];
      if(e->hash == h && e->len == len && memcmp(e->p, p, len) == 0) {
        chunk *c = m->arena;
        if(c->data + c->used == p + len)
          c->used -= len;
        return e->p;
      }
    }
  }
  if((m->nlabels + 1) * 2 > m->labcap) {
    size_t cap = m->labcap ? m->labcap * 2 : 1024;
    interned *tab = calloc(cap, sizeof(*tab));
    if(!tab)
      return p;
    for(size_t i = 0; i < m->labcap; i++)
      if(m->labels[i].p)
        intern_put(tab, cap, m->labels[i]);
    free(m->labels);
    m->labels = tab;
    m->labcap = cap;
  }
  intern_put(m->labels, m->labcap, (interned){p, (uint32_t)len, h});
  m->nlabels++;
  return p;
}

static skpi_err reserve_samples(skpi_mset *m, family *f, size_t k) {
  if(k > SKPI_EXPO_MAX_SAMPLES || m->nsamples > SKPI_EXPO_MAX_SAMPLES - k)
    return SKPI_ETOOBIG;
  if(f->cap - f->nsamples >= k)
    return SKPI_OK;
  size_t c = f->cap ? f->cap : 4;
  while(c - f->nsamples < k)
    c *= 2;
  sample *s = realloc(f->samples, c * sizeof(*s));
  if(!s)
    return SKPI_ENOMEM;
  f->samples = s;
  f->cap = c;
  return SKPI_OK;
}

/* Checks the label pairs and returns, in *len, the length of their escaped
 * form without the closing brace: "{a=\"x\",b=\"y\"" (0 when npairs is 0). */
static skpi_err measure_labels(const char *const *kv, size_t npairs, int hist, size_t *len) {
  if(npairs > SKPI_EXPO_MAX_LABELS || (npairs && !kv))
    return SKPI_EINVAL;
  size_t total = 0;
  for(size_t i = 0; i < npairs; i++) {
    const char *k = kv[2 * i], *v = kv[2 * i + 1];
    if(!k || !v || !valid_label_name(k))
      return SKPI_EINVAL;
    if(hist && strcmp(k, "le") == 0)
      return SKPI_EINVAL;
    for(size_t j = 0; j < i; j++)
      if(strcmp(kv[2 * j], k) == 0)
        return SKPI_EINVAL;
    size_t vl = strnlen(v, SKPI_EXPO_MAX_VALUE + 1);
    if(vl > SKPI_EXPO_MAX_VALUE)
      return SKPI_ETOOBIG;
    /* separator ('{' or ','), name, '=', quotes */
    total += 1 + strlen(k) + 3 + escape(NULL, v, vl, ESC_QUOTE);
  }
  *len = total;
  return SKPI_OK;
}

static void write_labels(char *dst, const char *const *kv, size_t npairs) {
  size_t o = 0;
  for(size_t i = 0; i < npairs; i++) {
    const char *k = kv[2 * i], *v = kv[2 * i + 1];
    size_t kl = strlen(k);
    dst[o++] = i ? ',' : '{';
    memcpy(dst + o, k, kl);
    o += kl;
    dst[o++] = '=';
    dst[o++] = '"';
    o += escape(dst + o, v, strlen(v), ESC_QUOTE);
    dst[o++] = '"';
  }
}

static void push(family *f, const char *labels, size_t lablen, enum suffix suf, double v) {
  sample *s = &f->samples[f->nsamples++];
  s->labels = labels;
  s->lablen = (uint32_t)lablen;
  s->suffix = (uint8_t)suf;
  s->value = v;
}

skpi_err skpi_mset_addv(skpi_mset *m, int fam, double value, const char *const *kv, size_t npairs) {
  if(!m || fam < 0 || (size_t)fam >= m->nfams)
    return SKPI_EINVAL;
  family *f = &m->fams[fam];
  if(f->type == SKPI_MT_HISTOGRAM)
    return SKPI_EINVAL;
  if(isnan(value) && f->type != SKPI_MT_GAUGE)
    return SKPI_EINVAL;
  if(f->type == SKPI_MT_COUNTER && !(value >= 0))
    return SKPI_EINVAL;
  /* OpenMetrics defines an info sample's value as 1. */
  if(f->type == SKPI_MT_INFO && value != 1.0)
    return SKPI_EINVAL;
  size_t len;
  skpi_err rc;
  if((rc = measure_labels(kv, npairs, 0, &len)) != SKPI_OK)
    return rc;
  if((rc = reserve_samples(m, f, 1)) != SKPI_OK)
    return rc;
  const char *labels = "";
  if(npairs) {
    len++; /* closing brace */
    char *p = arena_alloc(m, len);
    if(!p)
      return SKPI_ENOMEM;
    write_labels(p, kv, npairs);
    p[len - 1] = '}';
    labels = intern(m, p, len);
  }
  push(f, labels, len, SUF_NONE, value);
  m->nsamples++;
  return SKPI_OK;
}

skpi_err skpi_mset_add_(skpi_mset *m, int fam, double value, ...) {
  const char *kv[2 * SKPI_EXPO_MAX_LABELS];
  size_t n = 0;
  skpi_err rc = SKPI_OK;
  va_list ap;
  va_start(ap, value);
  for(;;) {
    const char *k = va_arg(ap, const char *);
    if(!k)
      break;
    const char *v = va_arg(ap, const char *);
    /* A name without a value is an odd list (the terminator came early). */
    if(!v || n == SKPI_EXPO_MAX_LABELS) {
      rc = SKPI_EINVAL;
      break;
    }
    kv[2 * n] = k;
    kv[2 * n + 1] = v;
    n++;
  }
  va_end(ap);
  if(rc != SKPI_OK)
    return rc;
  return skpi_mset_addv(m, fam, value, kv, n);
}

skpi_err skpi_mset_add_hist(skpi_mset *m, int fam, const skpi_hist *h, const char *const *kv,
                            size_t npairs) {
  if(!m || !h || fam < 0 || (size_t)fam >= m->nfams)
    return SKPI_EINVAL;
  family *f = &m->fams[fam];
  if(f->type != SKPI_MT_HISTOGRAM || h->nbounds > SKPI_EXPO_MAX_BUCKETS ||
     (h->nbounds && (!h->bounds || !h->cumulative)) || isnan(h->sum))
    return SKPI_EINVAL;
  for(size_t i = 0; i < h->nbounds; i++) {
    if(!isfinite(h->bounds[i]) || (i && !(h->bounds[i] > h->bounds[i - 1])))
      return SKPI_EINVAL;
    if(h->cumulative[i] > h->count || (i && h->cumulative[i] < h->cumulative[i - 1]))
      return SKPI_EINVAL;
  }
  size_t base;
  skpi_err rc;
  if((rc = measure_labels(kv, npairs, 1, &base)) != SKPI_OK)
    return rc;
  if((rc = reserve_samples(m, f, h->nbounds + 3)) != SKPI_OK)
    return rc;
  /* One arena block: the base labels (for _sum and _count) then one label
   * string per bucket, each the base plus le. */
  char les[SKPI_EXPO_MAX_BUCKETS + 1][32];
  size_t lel[SKPI_EXPO_MAX_BUCKETS + 1];
  size_t total = npairs ? base + 1 : 0;
  for(size_t i = 0; i <= h->nbounds; i++) {
    lel[i] = i < h->nbounds ? fmt_double(les[i], h->bounds[i]) : fmt_double(les[i], INFINITY);
    total += base + lel[i] + 7; /* '{' or ',' + le="..." + '}' */
  }
  char *p = arena_alloc(m, total);
  if(!p)
    return SKPI_ENOMEM;
  char *q = p;
  if(npairs) {
    write_labels(q, kv, npairs);
    q[base] = '}';
    q += base + 1;
  }
  for(size_t i = 0; i <= h->nbounds; i++) {
    char *s = q;
    write_labels(q, kv, npairs);
    q += base;
    *q++ = npairs ? ',' : '{';
    memcpy(q, "le=\"", 4);
    q += 4;
    memcpy(q, les[i], lel[i]);
    q += lel[i];
    *q++ = '"';
    *q++ = '}';
    push(f, s, (size_t)(q - s), SUF_BUCKET,
         i < h->nbounds ? (double)h->cumulative[i] : (double)h->count);
  }
  size_t bl = npairs ? base + 1 : 0;
  push(f, npairs ? p : "", bl, SUF_SUM, h->sum);
  push(f, npairs ? p : "", bl, SUF_COUNT, (double)h->count);
  m->nsamples += h->nbounds + 3;
  return SKPI_OK;
}

/* ---- rendering ---- */

static const char *type_name(enum skpi_mtype t, enum skpi_format fmt) {
  switch(t) {
  case SKPI_MT_COUNTER: return "counter";
  case SKPI_MT_HISTOGRAM: return "histogram";
  case SKPI_MT_INFO: return fmt == SKPI_FMT_OPENMETRICS ? "info" : "gauge";
  case SKPI_MT_UNTYPED: return fmt == SKPI_FMT_OPENMETRICS ? "unknown" : "untyped";
  case SKPI_MT_GAUGE:
  default: return "gauge";
  }
}

/* ---- rendering: blocks shared between renderings ---- */

/* A block's gzip form: raw deflate ending on a byte boundary (sync flush),
 * so forms of independent blocks concatenate into one deflate stream. */
typedef struct zform {
  uint32_t crc; /* CRC-32 of the block's text */
  size_t len;
  unsigned char data[];
} zform;

typedef struct block {
  skpi_refcnt refs;
  uint64_t hash; /* of the samples it was rendered from */
  size_t nsamples;
  _Atomic(zform *) z; /* made on first gzip use, by whichever thread */
  size_t len;
  char data[];
} block;

/* A family as rendered: what its group head needs, and its blocks. */
typedef struct rfam {
  char *name;
  size_t namelen;
  size_t famlen;
  enum skpi_mtype type;
  char *help;
  size_t nsamples;
  block **blocks;
  size_t nblocks;
} rfam;

struct skpi_rendered {
  skpi_refcnt refs;
  rfam *fams;
  size_t nfams;
  uint32_t *slots; /* family index + 1 by name hash; 0 = empty */
  size_t nslots;   /* power of two, at least twice nfams */
  size_t bytes;
  size_t fresh;
};

static void block_unref(block *b) {
  if(!b || !skpi_refcnt_dec(&b->refs))
    return;
  free(atomic_load(&b->z));
  free(b);
}

static uint64_t rotl64(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

/* One step of a MurmurHash3-style 64-bit mix. */
static uint64_t mix64(uint64_t h, uint64_t k) {
  k *= 0x87c37b91114253d5ULL;
  k = rotl64(k, 31);
  k *= 0x4cf5ad432745937fULL;
  h ^= k;
  return rotl64(h, 27) * 5 + 0x52dce729;
}

static uint64_t hash_bytes(uint64_t h, const char *p, size_t n) {
  for(; n >= 8; p += 8, n -= 8) {
    uint64_t k;
    memcpy(&k, p, 8);
    h = mix64(h, k);
  }
  uint64_t t = 0;
  memcpy(&t, p, n);
  return mix64(h, t ^ ((uint64_t)n << 56));
}

/* Hash of samples [from, to) of f: labels, suffix and value bits. */
static uint64_t hash_samples(const family *f, size_t from, size_t to) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for(size_t i = from; i < to; i++) {
    const sample *s = &f->samples[i];
    uint64_t bits;
    memcpy(&bits, &s->value, 8);
    h = mix64(h, bits);
    h = mix64(h, ((uint64_t)s->lablen << 8) | s->suffix);
    h = hash_bytes(h, s->labels, s->lablen);
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

static skpi_err render_samples(skpi_buf *out, const family *f, size_t from, size_t to) {
  skpi_err rc;
  char line[512];
  for(size_t i = from; i < to; i++) {
    const sample *s = &f->samples[i];
    /* Short lines are built on the stack and appended once. */
    size_t need = f->namelen + suffix_len[s->suffix] + s->lablen + 34;
    if(need <= sizeof(line)) {
      size_t o = 0;
      memcpy(line, f->name, f->namelen);
      o += f->namelen;
      memcpy(line + o, suffix_str[s->suffix], suffix_len[s->suffix]);
      o += suffix_len[s->suffix];
      memcpy(line + o, s->labels, s->lablen);
      o += s->lablen;
      line[o++] = ' ';
      o += fmt_double(line + o, s->value);
      line[o++] = '\n';
      if((rc = skpi_buf_add(out, line, o)) != SKPI_OK)
        return rc;
      continue;
    }
    char num[34];
    size_t nl = fmt_double(num + 1, s->value);
    num[0] = ' ';
    num[nl + 1] = '\n';
    if((rc = skpi_buf_add(out, f->name, f->namelen)) != SKPI_OK ||
       (rc = skpi_buf_add(out, suffix_str[s->suffix], suffix_len[s->suffix])) != SKPI_OK ||
       (rc = skpi_buf_add(out, s->labels, s->lablen)) != SKPI_OK ||
       (rc = skpi_buf_add(out, num, nl + 2)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

/* Renders samples [from, to) of f into a block of exactly its size; the
 * scratch buffer is reused between blocks. */
static skpi_err new_block(const family *f, size_t from, size_t to, uint64_t hash,
                          skpi_buf *scratch, block **out) {
  skpi_buf_reset(scratch);
  skpi_err rc = render_samples(scratch, f, from, to);
  if(rc)
    return rc;
  block *b = malloc(sizeof(*b) + scratch->len);
  if(!b)
    return SKPI_ENOMEM;
  skpi_refcnt_init(&b->refs, 1);
  b->hash = hash;
  b->nsamples = to - from;
  atomic_init(&b->z, NULL);
  b->len = scratch->len;
  if(scratch->len)
    memcpy(b->data, scratch->data, scratch->len);
  *out = b;
  return SKPI_OK;
}

static const char *rendered_name_at(const void *owner, size_t k, size_t *len) {
  const rfam *f = &((const skpi_rendered *)owner)->fams[k];
  *len = f->namelen;
  return f->name;
}

/* Returns the index of r's family called name, or -1 (also for NULL r). */
static long find_rfam(const skpi_rendered *r, const char *name, size_t n) {
  return r ? probe_name(r->slots, r->nslots, name, n, rendered_name_at, r) : -1;
}

void skpi_rendered_ref(skpi_rendered *r) {
  if(r)
    skpi_refcnt_inc(&r->refs);
}

void skpi_rendered_unref(skpi_rendered *r) {
  if(!r || !skpi_refcnt_dec(&r->refs))
    return;
  for(size_t i = 0; i < r->nfams; i++) {
    rfam *f = &r->fams[i];
    for(size_t b = 0; b < f->nblocks; b++)
      block_unref(f->blocks[b]);
    free(f->blocks);
    free(f->name);
    free(f->help);
  }
  free(r->fams);
  free(r->slots);
  free(r);
}

size_t skpi_rendered_bytes(const skpi_rendered *r) {
  return r ? r->bytes : 0;
}

size_t skpi_rendered_fresh_bytes(const skpi_rendered *r) {
  return r ? r->fresh : 0;
}

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if(d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

/* Samples per block for a family of n: SKPI_EXPO_BLOCK, doubled until the
 * family needs at most MAX_BLOCKS blocks, so an answer stays a few hundred
 * parts at a million partitions.  Powers of two keep the layout, and so
 * the sharing, stable until the family's size crosses one.  A block's text
 * depends only on its samples, so blocks of another layout that compare
 * equal are still the right text. */
#define MAX_BLOCKS 64
static size_t block_samples(size_t n) {
  size_t bs = SKPI_EXPO_BLOCK;
  while(n / bs >= MAX_BLOCKS)
    bs *= 2;
  return bs;
}

/* Fills rf from family f, sharing blocks with old (the same family in the
 * previous rendering, or NULL). */
static skpi_err render_family(skpi_rendered *r, rfam *rf, const family *f, const rfam *old,
                              skpi_buf *scratch) {
  rf->namelen = f->namelen;
  rf->famlen = f->famlen;
  rf->type = f->type;
  rf->nsamples = f->nsamples;
  if(!(rf->name = dup_n(f->name, f->namelen)) ||
     (f->help && !(rf->help = dup_n(f->help, strlen(f->help)))))
    return SKPI_ENOMEM;
  size_t bs = block_samples(f->nsamples);
  size_t nb = (f->nsamples + bs - 1) / bs;
  if(nb && !(rf->blocks = calloc(nb, sizeof(*rf->blocks))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < nb; i++) {
    size_t from = i * bs;
    size_t to = from + bs < f->nsamples ? from + bs : f->nsamples;
    uint64_t h = hash_samples(f, from, to);
    block *prev = old && i < old->nblocks ? old->blocks[i] : NULL;
    if(prev && prev->hash == h && prev->nsamples == to - from) {
      skpi_refcnt_inc(&prev->refs);
      rf->blocks[i] = prev;
    } else {
      skpi_err rc = new_block(f, from, to, h, scratch, &rf->blocks[i]);
      if(rc)
        return rc;
      r->fresh += rf->blocks[i]->len;
    }
    rf->nblocks = i + 1;
    r->bytes += rf->blocks[i]->len;
  }
  return SKPI_OK;
}

skpi_err skpi_rendered_new(const skpi_mset *m, const skpi_rendered *prev, skpi_rendered **out) {
  *out = NULL;
  skpi_rendered *r = calloc(1, sizeof(*r));
  if(!r)
    return SKPI_ENOMEM;
  skpi_refcnt_init(&r->refs, 1);
  skpi_err rc = SKPI_OK;
  size_t nf = m ? m->nfams : 0;
  if(nf) {
    r->nslots = 64;
    while(r->nslots < nf * 2)
      r->nslots *= 2;
    r->fams = calloc(nf, sizeof(*r->fams));
    r->slots = calloc(r->nslots, sizeof(*r->slots));
    if(!r->fams || !r->slots) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  }
  skpi_buf scratch;
  skpi_buf_init(&scratch, (size_t)1 << 30);
  for(size_t i = 0; i < nf && rc == SKPI_OK; i++) {
    const family *f = &m->fams[i];
    long o = find_rfam(prev, f->name, f->namelen);
    const rfam *old = o >= 0 && prev->fams[o].type == f->type ? &prev->fams[o] : NULL;
    rc = render_family(r, &r->fams[i], f, old, &scratch);
    r->nfams = i + 1;
    slot_put(r->slots, r->nslots, f->name, f->namelen, (uint32_t)(i + 1));
  }
  skpi_buf_free(&scratch);
out:
  if(rc) {
    skpi_rendered_unref(r);
    return rc;
  }
  *out = r;
  return SKPI_OK;
}

/* ---- assembling bodies ---- */

/* A part while the body is built: bytes in the body's own buffer (at off)
 * or a block's text or gzip form. */
typedef struct bpart {
  const block *b; /* NULL: own bytes */
  int zipped;     /* the block's gzip form, not its text */
  size_t off;
  size_t len;
} bpart;

struct skpi_expo_body {
  skpi_rendered **r;
  size_t n;
  char *own;  /* heads, and the gzip header, compressed heads and trailer */
  char *glue; /* small parts copied together, when own is still used */
  skpi_expo_part *parts;
  size_t nparts;
  size_t total;
};

typedef struct builder {
  skpi_buf own;
  bpart *parts;
  size_t nparts, cap;
} builder;

static skpi_err add_part(builder *bd, const block *b, int zipped, size_t off, size_t len) {
  if(!len)
    return SKPI_OK;
  if(bd->nparts == bd->cap) {
    size_t cap = bd->cap ? bd->cap * 2 : 256;
    bpart *p = realloc(bd->parts, cap * sizeof(*p));
    if(!p)
      return SKPI_ENOMEM;
    bd->parts = p;
    bd->cap = cap;
  }
  bd->parts[bd->nparts++] = (bpart){b, zipped, off, len};
  return SKPI_OK;
}

/* Appends own bytes and records them as a part. */
static skpi_err add_own(builder *bd, const void *p, size_t n) {
  size_t off = bd->own.len;
  skpi_err rc = skpi_buf_add(&bd->own, p, n);
  return rc ? rc : add_part(bd, NULL, 0, off, n);
}

static skpi_err head_into(skpi_buf *out, const rfam *f, enum skpi_format fmt) {
  skpi_err rc;
  size_t fl = fmt == SKPI_FMT_OPENMETRICS ? f->famlen : f->namelen;
  if(f->help) {
    if((rc = skpi_buf_add(out, "# HELP ", 7)) != SKPI_OK ||
       (rc = skpi_buf_add(out, f->name, fl)) != SKPI_OK ||
       (rc = skpi_buf_addc(out, ' ')) != SKPI_OK)
      return rc;
    /* 0.0.4 escapes backslash and newline in HELP; OpenMetrics also
     * quotes.  The stored text is valid UTF-8 already. */
    const char *h = f->help, *run = h;
    for(; *h; h++) {
      const char *rep = NULL;
      if(*h == '\\')
        rep = "\\\\";
      else if(*h == '\n')
        rep = "\\n";
      else if(*h == '"' && fmt == SKPI_FMT_OPENMETRICS)
        rep = "\\\"";
      if(!rep)
        continue;
      if((rc = skpi_buf_add(out, run, (size_t)(h - run))) != SKPI_OK ||
         (rc = skpi_buf_add(out, rep, 2)) != SKPI_OK)
        return rc;
      run = h + 1;
    }
    if((rc = skpi_buf_add(out, run, (size_t)(h - run))) != SKPI_OK ||
       (rc = skpi_buf_addc(out, '\n')) != SKPI_OK)
      return rc;
  }
  if((rc = skpi_buf_add(out, "# TYPE ", 7)) != SKPI_OK ||
     (rc = skpi_buf_add(out, f->name, fl)) != SKPI_OK || (rc = skpi_buf_addc(out, ' ')) != SKPI_OK ||
     (rc = skpi_buf_addstr(out, type_name(f->type, fmt))) != SKPI_OK)
    return rc;
  return skpi_buf_addc(out, '\n');
}

/* The text parts of the union: per group, its head (own bytes) and the
 * blocks of every member.  A group is placed at its name's first
 * declaration, takes the members of that type from that rendering on, and
 * is left out when they have no samples. */
static skpi_err plan_text(skpi_rendered *const *r, size_t n, enum skpi_format fmt, builder *bd) {
  skpi_err rc;
  for(size_t i = 0; i < n; i++) {
    if(!r[i])
      continue;
    for(size_t j = 0; j < r[i]->nfams; j++) {
      const rfam *first = &r[i]->fams[j];
      int seen = 0;
      for(size_t k = 0; k < i && !seen; k++)
        seen = find_rfam(r[k], first->name, first->namelen) >= 0;
      size_t total = 0;
      for(size_t k = i; k < n && !seen; k++) {
        long idx = find_rfam(r[k], first->name, first->namelen);
        if(idx >= 0 && r[k]->fams[idx].type == first->type)
          total += r[k]->fams[idx].nsamples;
      }
      if(seen || !total)
        continue;
      size_t off = bd->own.len;
      if((rc = head_into(&bd->own, first, fmt)) != SKPI_OK ||
         (rc = add_part(bd, NULL, 0, off, bd->own.len - off)) != SKPI_OK)
        return rc;
      for(size_t k = i; k < n; k++) {
        long idx = find_rfam(r[k], first->name, first->namelen);
        if(idx < 0 || r[k]->fams[idx].type != first->type)
          continue;
        const rfam *mf = &r[k]->fams[idx];
        for(size_t b = 0; b < mf->nblocks; b++)
          if((rc = add_part(bd, mf->blocks[b], 0, 0, mf->blocks[b]->len)) != SKPI_OK)
            return rc;
      }
    }
  }
  if(fmt == SKPI_FMT_OPENMETRICS)
    return add_own(bd, "# EOF\n", 6);
  return SKPI_OK;
}

/* Raw deflate of n bytes with a sync flush at the end, appended to out. */
static skpi_err deflate_into(z_stream *zs, const void *p, size_t n, skpi_buf *out) {
  zs->next_in = (Bytef *)(uintptr_t)p;
  zs->avail_in = (uInt)n;
  do {
    unsigned char zout[16384];
    zs->next_out = zout;
    zs->avail_out = sizeof(zout);
    int zrc = deflate(zs, Z_SYNC_FLUSH);
    if(zrc != Z_OK && zrc != Z_BUF_ERROR)
      return SKPI_EIO;
    skpi_err rc = skpi_buf_add(out, zout, sizeof(zout) - zs->avail_out);
    if(rc)
      return rc;
  } while(zs->avail_out == 0 || zs->avail_in);
  return SKPI_OK;
}

static int zinit(z_stream *zs) {
  memset(zs, 0, sizeof(*zs));
  return deflateInit2(zs, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

/* The block's gzip form, made once (a racing thread's copy is dropped). */
static const zform *block_z(block *b, z_stream *zs, skpi_buf *scratch) {
  zform *z = atomic_load_explicit(&b->z, memory_order_acquire);
  if(z)
    return z;
  skpi_buf_reset(scratch);
  if(deflateReset(zs) != Z_OK || deflate_into(zs, b->data, b->len, scratch) != SKPI_OK ||
     !(z = malloc(sizeof(*z) + scratch->len)))
    return NULL;
  z->crc = (uint32_t)crc32(0L, (const Bytef *)b->data, (uInt)b->len);
  z->len = scratch->len;
  memcpy(z->data, scratch->data, scratch->len);
  zform *expected = NULL;
  if(!atomic_compare_exchange_strong(&b->z, &expected, z)) {
    free(z);
    return expected;
  }
  return z;
}

static void put_le32(unsigned char *p, uint32_t v) {
  for(int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* Turns the text parts into one gzip member: header, each part's raw
 * deflate (blocks' shared forms, own bytes compressed here), a final empty
 * block and the trailer (CRC-32 and length of the text). */
static skpi_err plan_gzip(builder *text, builder *bd) {
  static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  static const unsigned char final_block[2] = {0x03, 0x00};
  z_stream zs;
  if(!zinit(&zs))
    return SKPI_ENOMEM;
  skpi_buf scratch;
  skpi_buf_init(&scratch, (size_t)1 << 30);
  uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
  uint64_t total = 0;
  skpi_err rc = add_own(bd, header, sizeof(header));
  for(size_t i = 0; i < text->nparts && rc == SKPI_OK; i++) {
    const bpart *p = &text->parts[i];
    if(p->b) {
      const zform *z = block_z((block *)(uintptr_t)p->b, &zs, &scratch);
      if(!z) {
        rc = SKPI_ENOMEM;
        break;
      }
      crc = (uint32_t)crc32_combine(crc, z->crc, (z_off_t)p->len);
      rc = add_part(bd, p->b, 1, 0, z->len);
    } else {
      const char *d = text->own.data + p->off;
      crc = (uint32_t)crc32(crc, (const Bytef *)d, (uInt)p->len);
      size_t off = bd->own.len;
      if((rc = deflateReset(&zs) == Z_OK ? SKPI_OK : SKPI_EIO) == SKPI_OK &&
         (rc = deflate_into(&zs, d, p->len, &bd->own)) == SKPI_OK)
        rc = add_part(bd, NULL, 0, off, bd->own.len - off);
    }
    total += p->len;
  }
  unsigned char trailer[8];
  put_le32(trailer, crc);
  put_le32(trailer + 4, (uint32_t)total);
  if(rc == SKPI_OK && (rc = add_own(bd, final_block, sizeof(final_block))) == SKPI_OK)
    rc = add_own(bd, trailer, sizeof(trailer));
  deflateEnd(&zs);
  skpi_buf_free(&scratch);
  return rc;
}

/* Parts shorter than this are copied together (heads, small families, a
 * family's last block), so an answer is a few hundred writes at most. */
#define GLUE_BELOW 8192

/* Copies each run of parts shorter than small into one buffer, which
 * replaces b->own (ownlen bytes) once no part points into that any more. */
static skpi_err coalesce(skpi_expo_body *b, size_t ownlen, size_t small) {
  size_t glue_len = 0;
  for(size_t i = 0; i < b->nparts; i++)
    if(b->parts[i].len < small)
      glue_len += b->parts[i].len;
  if(!glue_len)
    return SKPI_OK;
  char *glue = malloc(glue_len);
  if(!glue)
    return SKPI_ENOMEM;
  size_t o = 0, k = 0;
  int in_run = 0, own_used = 0;
  for(size_t i = 0; i < b->nparts; i++) {
    skpi_expo_part p = b->parts[i];
    if(p.len >= small) {
      own_used |= p.data >= b->own && p.data < b->own + ownlen;
      b->parts[k++] = p;
      in_run = 0;
      continue;
    }
    memcpy(glue + o, p.data, p.len);
    if(in_run)
      b->parts[k - 1].len += p.len;
    else
      b->parts[k++] = (skpi_expo_part){glue + o, p.len};
    in_run = 1;
    o += p.len;
  }
  b->nparts = k;
  if(own_used) {
    free(b->glue);
    b->glue = glue;
  } else {
    free(b->own);
    b->own = glue;
  }
  return SKPI_OK;
}

void skpi_expo_body_free(skpi_expo_body *b) {
  if(!b)
    return;
  for(size_t i = 0; i < b->n; i++)
    skpi_rendered_unref(b->r[i]);
  free(b->r);
  free(b->own);
  free(b->glue);
  free(b->parts);
  free(b);
}

static void builder_free(builder *bd) {
  skpi_buf_free(&bd->own);
  free(bd->parts);
}

skpi_err skpi_expo_assemble(skpi_rendered *const *r, size_t n, enum skpi_format fmt, int gzip,
                            skpi_expo_body **out) {
  *out = NULL;
  builder text = {0}, zip = {0};
  skpi_buf_init(&text.own, (size_t)1 << 30);
  skpi_buf_init(&zip.own, (size_t)1 << 30);
  builder *bd = gzip ? &zip : &text;
  skpi_expo_body *b = calloc(1, sizeof(*b));
  skpi_err rc = b ? SKPI_OK : SKPI_ENOMEM;
  if(rc == SKPI_OK && n && !(b->r = calloc(n, sizeof(*b->r))))
    rc = SKPI_ENOMEM;
  if(rc == SKPI_OK)
    rc = plan_text(r, n, fmt, &text);
  if(rc == SKPI_OK && gzip)
    rc = plan_gzip(&text, &zip);
  if(rc == SKPI_OK && bd->nparts && !(b->parts = calloc(bd->nparts, sizeof(*b->parts))))
    rc = SKPI_ENOMEM;
  if(rc) {
    builder_free(&text);
    builder_free(&zip);
    skpi_expo_body_free(b);
    return rc;
  }
  for(size_t i = 0; i < n; i++)
    if(r[i]) {
      skpi_rendered_ref(r[i]);
      b->r[b->n++] = r[i];
    }
  b->own = skpi_buf_steal(&bd->own, NULL);
  for(size_t i = 0; i < bd->nparts; i++) {
    const bpart *p = &bd->parts[i];
    const char *d;
    if(!p->b)
      d = b->own + p->off;
    else if(p->zipped)
      d = (const char *)atomic_load(&((block *)(uintptr_t)p->b)->z)->data;
    else
      d = p->b->data;
    b->parts[i] = (skpi_expo_part){d, p->len};
    b->total += p->len;
  }
  b->nparts = bd->nparts;
  size_t ownlen = bd->own.len;
  builder_free(&text);
  builder_free(&zip);
  /* A gzip body is about 1/25 of the text: one buffer serves it fastest.
   * Text keeps its blocks and glues only what is smaller than a block. */
  rc = b->own ? coalesce(b, ownlen, gzip ? SIZE_MAX : GLUE_BELOW) : SKPI_ENOMEM;
  if(rc) {
    skpi_expo_body_free(b);
    return rc;
  }
  *out = b;
  return SKPI_OK;
}

const skpi_expo_part *skpi_expo_body_parts(const skpi_expo_body *b, size_t *nparts,
                                           size_t *total) {
  *nparts = b->nparts;
  *total = b->total;
  return b->parts;
}

skpi_err skpi_expo_join(const skpi_expo_part *parts, size_t n, skpi_buf *out) {
  for(size_t i = 0; i < n; i++) {
    skpi_err rc = skpi_buf_add(out, parts[i].data, parts[i].len);
    if(rc)
      return rc;
  }
  return SKPI_OK;
}

skpi_err skpi_expo_render(const skpi_mset *const *sets, size_t n, enum skpi_format fmt,
                          skpi_buf *out) {
  if(!out || (n && !sets))
    return SKPI_EINVAL;
  skpi_rendered **r = calloc(n ? n : 1, sizeof(*r));
  skpi_expo_body *b = NULL;
  skpi_err rc = r ? SKPI_OK : SKPI_ENOMEM;
  for(size_t i = 0; i < n && rc == SKPI_OK; i++)
    if(sets[i])
      rc = skpi_rendered_new(sets[i], NULL, &r[i]);
  if(rc == SKPI_OK)
    rc = skpi_expo_assemble(r, n, fmt, 0, &b);
  if(rc == SKPI_OK)
    rc = skpi_expo_join(b->parts, b->nparts, out);
  skpi_expo_body_free(b);
  for(size_t i = 0; r && i < n; i++)
    skpi_rendered_unref(r[i]);
  free(r);
  return rc;
}

/* ---- content negotiation ---- */

static const char *skip_ws(const char *p, const char *end) {
  while(p < end && (*p == ' ' || *p == '\t'))
    p++;
  return p;
}

static int token_is(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Parses one media range [p, end): its type/subtype and its q and version
 * parameters.  Returns 0 when the range is malformed (it is then ignored). */
static int parse_range(const char *p, const char *end, const char **mt, size_t *mtl, double *q,
                       const char **ver, size_t *verl) {
  p = skip_ws(p, end);
  const char *s = p;
  while(p < end && *p != ';' && *p != ' ' && *p != '\t')
    p++;
  *mt = s;
  *mtl = (size_t)(p - s);
  *q = 1.0;
  *ver = NULL;
  *verl = 0;
  if(!*mtl)
    return 0;
  while(p < end) {
    p = skip_ws(p, end);
    if(p >= end)
      break;
    if(*p != ';')
      return 0;
    p = skip_ws(p + 1, end);
    const char *k = p;
    while(p < end && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
      p++;
    size_t kl = (size_t)(p - k);
    p = skip_ws(p, end);
    if(p >= end || *p != '=')
      return 0;
    p = skip_ws(p + 1, end);
    const char *v = p;
    size_t vl;
    if(p < end && *p == '"') {
      v = ++p;
      while(p < end && *p != '"')
        p++;
      if(p >= end)
        return 0;
      vl = (size_t)(p - v);
      p++;
    } else {
      while(p < end && *p != ';' && *p != ' ' && *p != '\t')
        p++;
      vl = (size_t)(p - v);
    }
    if(token_is(k, kl, "q")) {
      char tmp[16];
      if(vl == 0 || vl >= sizeof(tmp))
        return 0;
      memcpy(tmp, v, vl);
      tmp[vl] = '\0';
      char *e;
      double d = strtod(tmp, &e);
      if(*e || !(d >= 0.0 && d <= 1.0))
        return 0;
      *q = d;
    } else if(token_is(k, kl, "version")) {
      *ver = v;
      *verl = vl;
    }
  }
  return 1;
}

enum skpi_format skpi_expo_negotiate(const char *accept) {
  if(!accept)
    return SKPI_FMT_TEXT;
  /* Real Accept headers are short; past the bound the rest is ignored. */
  const char *p = accept, *stop = accept + strnlen(accept, SKPI_EXPO_MAX_ACCEPT);
  double q_om = -1.0, q_text = -1.0;
  int ranges = 0;
  while(p < stop && ranges++ < 64) {
    const char *e = memchr(p, ',', (size_t)(stop - p));
    if(!e)
      e = stop;
    const char *mt, *ver;
    size_t mtl, verl;
    double q;
    if(parse_range(p, e, &mt, &mtl, &q, &ver, &verl)) {
      if(token_is(mt, mtl, "application/openmetrics-text")) {
        if((!ver || token_is(ver, verl, "1.0.0") || token_is(ver, verl, "0.0.1")) && q > q_om)
          q_om = q;
      } else if(token_is(mt, mtl, "text/plain") || token_is(mt, mtl, "text/*") ||
                token_is(mt, mtl, "*/*")) {
        if(q > q_text)
          q_text = q;
      }
    }
    p = e + 1;
  }
  return q_om > 0.0 && q_om >= q_text ? SKPI_FMT_OPENMETRICS : SKPI_FMT_TEXT;
}
