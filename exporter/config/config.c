/* config.c: YAML file -> jansson tree with line numbers -> validated tree and
 * structs.
 *
 * Three stages.  (1) libyaml events build a "raw" tree in which every scalar
 * is a string; a side table maps each raw node to its line.  (2) A
 * table-driven schema walks the raw tree and builds a separate validated
 * tree (defaults filled in, values converted); string nodes are shared with
 * the raw tree, new nodes get the raw node's line.  (3) global and clusters
 * are copied into the C structs of config.h.  The raw tree is kept until
 * skpi_config_free so that no recorded node pointer is ever freed and
 * re-used while the line table still names it.
 */
#include "streamkpi/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "streamkpi/buf.h"

/* ---------------------------------------------------------------- lines */

/* Bit set next to the line for plain YAML null scalars ("", "~", "null"),
 * which the validator treats as "key not given". */
#define LINE_NULL 0x40000000
#define LINE_MASK 0x3fffffff

/* Open-addressing hash from node pointer to line. */
typedef struct linetab {
  const void **keys;
  int *vals;
  size_t cap, n;
} linetab;

static size_t lt_slot(const linetab *t, const void *p) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
  size_t i = (size_t)(h >> 20) & (t->cap - 1);
  while(t->keys[i] && t->keys[i] != p)
    i = (i + 1) & (t->cap - 1);
  return i;
}

static int lt_set(linetab *t, const void *p, int val) {
  if((t->n + 1) * 2 > t->cap) {
    linetab nt = {0};
    nt.cap = t->cap ? t->cap * 2 : 256;
    nt.keys = calloc(nt.cap, sizeof(*nt.keys));
    nt.vals = calloc(nt.cap, sizeof(*nt.vals));
    if(!nt.keys || !nt.vals) {
      free(nt.keys);
      free(nt.vals);
      return -1;
    }
    for(size_t i = 0; i < t->cap; i++) {
      if(t->keys[i]) {
        size_t j = lt_slot(&nt, t->keys[i]);
        nt.keys[j] = t->keys[i];
        nt.vals[j] = t->vals[i];
        nt.n++;
      }
    }
    free(t->keys);
    free(t->vals);
    *t = nt;
  }
  size_t i = lt_slot(t, p);
  if(!t->keys[i]) {
    t->keys[i] = p;
    t->n++;
  }
  t->vals[i] = val;
  return 0;
}

static int lt_get(const linetab *t, const void *p) {
  if(!p || !t->cap)
    return 0;
  size_t i = lt_slot(t, p);
  return t->keys[i] ? t->vals[i] : 0;
}

static void lt_free(linetab *t) {
  free(t->keys);
  free(t->vals);
  memset(t, 0, sizeof(*t));
}

struct skpi_config_priv {
  json_t *raw;  /* parsed file, all scalars strings */
  json_t *tree; /* validated tree */
  linetab lines;
};

/* --------------------------------------------------------------- errors */

/* Writes a value into a message: printable ASCII as is, the rest escaped,
 * cut after 64 bytes so that garbage input gives a readable line. */
static void quote(char *dst, size_t dlen, const char *s) {
  size_t o = 0, i;
  if(dlen < 8)
    return;
  dst[o++] = '"';
  for(i = 0; s[i] && o + 6 < dlen - 2; i++) {
    unsigned char ch = (unsigned char)s[i];
    if(i >= 64) {
      o += (size_t)snprintf(dst + o, dlen - o, "...");
      break;
    }
    if(ch == '"' || ch == '\\')
      o += (size_t)snprintf(dst + o, dlen - o, "\\%c", ch);
    else if(ch < 0x20 || ch >= 0x7f)
      o += (size_t)snprintf(dst + o, dlen - o, "\\x%02x", ch);
    else
      dst[o++] = (char)ch;
  }
  dst[o++] = '"';
  dst[o] = '\0';
}

/* Writes "FILE:LINE: PATH: msg" (PATH omitted when empty). */
static skpi_err failv(char *err, size_t errlen, const char *file, int line, const char *path,
                      const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  if(err && errlen) {
    if(path && *path)
      snprintf(err, errlen, "%s:%d: %s: %s", file, line, path, msg);
    else
      snprintf(err, errlen, "%s:%d: %s", file, line, msg);
  }
  return SKPI_EINVAL;
}

/* snprintf for message paths: a path cut at the buffer size is fine. */
static void pathf(char *dst, size_t dlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pathf(char *dst, size_t dlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, dlen, fmt, ap);
  va_end(ap);
}

/* ----------------------------------------------------------- YAML stage */

typedef struct frame {
  json_t *node;   /* object or array */
  char *key;      /* pending mapping key, malloc'd */
  int key_line;
  char path[256]; /* dotted path of node, for messages */
} frame;

typedef struct yctx {
  const char *file;
  char *err;
  size_t errlen;
  linetab *lines;
  frame st[SKPI_CONFIG_MAX_DEPTH + 1];
  int depth; /* frames in use */
  json_t *root;
  int root_line;
} yctx;

static skpi_err yfail(yctx *y, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static skpi_err yfail(yctx *y, int line, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(y->err, y->errlen, y->file, line, path, fmt, ap);
  va_end(ap);
  return SKPI_EINVAL;
}

/* Path of the child about to be added to the top frame. */
static void child_path(const yctx *y, char *dst, size_t dlen) {
  if(y->depth == 0) {
    dst[0] = '\0';
    return;
  }
  const frame *f = &y->st[y->depth - 1];
  if(json_is_object(f->node))
    pathf(dst, dlen, "%s%s%s", f->path, f->path[0] ? "." : "", f->key ? f->key : "");
  else
    pathf(dst, dlen, "%s[%zu]", f->path, json_array_size(f->node));
}

/* Line to report for the child about to be added: its key's line inside a
 * mapping, else where the child starts. */
static int child_line(const yctx *y, int line) {
  const frame *f = y->depth ? &y->st[y->depth - 1] : NULL;
  return f && json_is_object(f->node) && f->key ? f->key_line : line;
}

/* Adds node (reference stolen) as the next child of the top frame. */
static skpi_err yadd(yctx *y, json_t *node, int line, int flags) {
  int at = line;
  if(y->depth == 0) {
    y->root = node;
    y->root_line = line;
  } else {
    frame *f = &y->st[y->depth - 1];
    if(json_is_object(f->node)) {
      at = f->key_line;
      if(json_object_set_new(f->node, f->key, node) != 0)
        return SKPI_ENOMEM;
      free(f->key);
      f->key = NULL;
    } else if(json_array_append_new(f->node, node) != 0) {
      return SKPI_ENOMEM;
    }
  }
  return lt_set(y->lines, node, at | flags) == 0 ? SKPI_OK : SKPI_ENOMEM;
}

static int plain_null(const yaml_event_t *ev) {
  const char *v = (const char *)ev->data.scalar.value;
  if(ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return 0;
  return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
         !strcmp(v, "NULL");
}

static skpi_err on_scalar(yctx *y, const yaml_event_t *ev, int line) {
  const char *v = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length;
  char path[256];
  child_path(y, path, sizeof(path));
  if(ev->data.scalar.anchor)
    return yfail(y, child_line(y, line), path, "YAML anchors are not supported");
  if(memchr(v, '\0', n))
    return yfail(y, child_line(y, line), path, "NUL byte in value");
  frame *f = y->depth ? &y->st[y->depth - 1] : NULL;
  if(f && json_is_object(f->node) && !f->key) {
    /* A mapping key. */
    json_t *prev = json_object_get(f->node, v);
    pathf(path, sizeof(path), "%s%s%s", f->path, f->path[0] ? "." : "", v);
    if(prev)
      return yfail(y, line, path, "duplicate key (first at line %d)",
                   lt_get(y->lines, prev) & LINE_MASK);
    if(!(f->key = strdup(v)))
      return SKPI_ENOMEM;
    f->key_line = line;
    return SKPI_OK;
  }
  json_t *s = json_stringn(v, n);
  if(!s)
    return yfail(y, line, path, "value is not valid UTF-8");
  return yadd(y, s, line, plain_null(ev) ? LINE_NULL : 0);
}

static skpi_err on_start(yctx *y, const yaml_event_t *ev, int line, int is_map) {
  char path[256];
  skpi_err rc;
  const yaml_char_t *anchor =
      is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
  child_path(y, path, sizeof(path));
  if(anchor)
    return yfail(y, child_line(y, line), path, "YAML anchors are not supported");
  if(y->depth > 0) {
    frame *f = &y->st[y->depth - 1];
    if(json_is_object(f->node) && !f->key)
      return yfail(y, line, f->path, "mapping keys must be plain values, not %s",
                   is_map ? "mappings" : "lists");
  }
  if(y->depth >= SKPI_CONFIG_MAX_DEPTH)
    return yfail(y, child_line(y, line), path, "nested deeper than %d levels",
                 SKPI_CONFIG_MAX_DEPTH);
  json_t *node = is_map ? json_object() : json_array();
  if(!node)
    return SKPI_ENOMEM;
  if((rc = yadd(y, node, line, 0)) != SKPI_OK)
    return rc;
  frame *nf = &y->st[y->depth++];
  nf->node = node;
  nf->key = NULL;
  nf->key_line = 0;
  pathf(nf->path, sizeof(nf->path), "%s", path);
  return SKPI_OK;
}

/* Parses text into *root (all scalars strings).  One error line in err. */
static skpi_err yaml_to_json(const char *file, const char *text, size_t len, linetab *lines,
                             json_t **root, int *root_line, char *err, size_t errlen) {
  yaml_parser_t p;
  yaml_event_t ev;
  yctx y;
  skpi_err rc = SKPI_OK;
  int docs = 0, done = 0;
  memset(&y, 0, sizeof(y));
  y.file = file;
  y.err = err;
  y.errlen = errlen;
  y.lines = lines;
  *root = NULL;
  if(!yaml_parser_initialize(&p))
    return SKPI_ENOMEM;
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  /* Bounded: every event consumes input, and the input is capped. */
  while(!done) {
    if(!yaml_parser_parse(&p, &ev)) {
      int line = (int)p.problem_mark.line + 1;
      rc = yfail(&y, line, NULL, "YAML syntax error: %s%s%s",
                 p.problem ? p.problem : "unknown problem", p.context ? " " : "",
                 p.context ? p.context : "");
      break;
    }
    int line = (int)ev.start_mark.line + 1;
    switch(ev.type) {
    case YAML_DOCUMENT_START_EVENT:
      if(++docs > 1)
        rc = yfail(&y, line, NULL, "only one YAML document is allowed");
      break;
    case YAML_ALIAS_EVENT: {
      char path[256];
      child_path(&y, path, sizeof(path));
      rc = yfail(&y, child_line(&y, line), path, "YAML aliases are not supported");
      break;
    }
    case YAML_SCALAR_EVENT: rc = on_scalar(&y, &ev, line); break;
    case YAML_MAPPING_START_EVENT: rc = on_start(&y, &ev, line, 1); break;
    case YAML_SEQUENCE_START_EVENT: rc = on_start(&y, &ev, line, 0); break;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      if(y.depth > 0) {
        frame *f = &y.st[--y.depth];
        free(f->key);
        f->key = NULL;
      }
      break;
    case YAML_STREAM_END_EVENT: done = 1; break;
    default: break;
    }
    yaml_event_delete(&ev);
    if(rc != SKPI_OK)
      break;
  }
  yaml_parser_delete(&p);
  for(int i = 0; i < y.depth; i++)
    free(y.st[i].key);
  if(rc != SKPI_OK) {
    json_decref(y.root);
    return rc;
  }
  *root = y.root;
  *root_line = y.root_line ? y.root_line : 1;
  return SKPI_OK;
}

/* ------------------------------------------------------------ durations */

int skpi_parse_duration(const char *s, double *out) {
  static const struct {
    const char *name;
    double secs;
  } units[] = {{"w", 604800}, {"d", 86400}, {"h", 3600}, {"ms", 0.001}, {"m", 60}, {"s", 1}};
  /* Rank of each unit in descending size; "ms" is matched before "m". */
  static const int rank[] = {0, 1, 2, 5, 3, 4};
  double total = 0;
  int last_rank = -1, parts = 0;
  const char *p = s;
  if(!s || !*s)
    return -1;
  while(*p) {
    double v = 0, scale = 1;
    int digits = 0, frac = 0;
    while(isdigit((unsigned char)*p) && digits < 40) {
      v = v * 10 + (*p++ - '0');
      digits++;
    }
    if(!digits)
      return -1;
    if(*p == '.') {
      p++;
      while(isdigit((unsigned char)*p) && frac < 40) {
        scale /= 10;
        v += (*p++ - '0') * scale;
        frac++;
      }
      if(!frac)
        return -1;
    }
    if(isdigit((unsigned char)*p))
      return -1;
    if(!*p && parts == 0) {
      total = v; /* a plain number of seconds */
      break;
    }
    size_t u;
    for(u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
      size_t n = strlen(units[u].name);
      if(!strncmp(p, units[u].name, n) && !isalpha((unsigned char)p[n]))
        break;
    }
    if(u == sizeof(units) / sizeof(units[0]) || rank[u] <= last_rank)
      return -1;
    last_rank = rank[u];
    p += strlen(units[u].name);
    total += v * units[u].secs;
    parts++;
    if(!isfinite(total) || total > SKPI_DURATION_MAX)
      return -1;
  }
  if(!isfinite(total) || total > SKPI_DURATION_MAX)
    return -1;
  *out = total;
  return 0;
}

/* --------------------------------------------------------------- schema */

typedef enum ftype {
  FT_STRING,    /* any scalar, kept as text */
  FT_ENUM,      /* one of f->choices ("a|b|c") */
  FT_INT,       /* integer, JSON integer */
  FT_NUMBER,    /* decimal number, JSON real */
  FT_BOOL,      /* true/false/yes/no */
  FT_DURATION,  /* skpi_parse_duration, JSON real seconds */
  FT_TIME,      /* RFC 3339, JSON real seconds since the epoch */
  FT_URL,       /* http:// or https:// string */
  FT_REGEX1,    /* POSIX ERE with exactly one capture group */
  FT_STRLIST,   /* list of non-empty strings */
  FT_REGEXLIST, /* list of POSIX EREs */
  FT_STRMAP,    /* mapping key -> scalar, values kept as text */
  FT_REGEXMAP,  /* mapping POSIX ERE -> non-empty string */
  FT_SECTION,   /* nested mapping, f->sub */
  FT_SECTLIST,  /* list of mappings, f->sub */
} ftype;

#define F_REQ 0x01u      /* must be given */
#define F_NONEMPTY 0x02u /* strings not blank, lists not empty */
#define F_MIN 0x04u      /* value >= lo */
#define F_GT 0x08u       /* value > lo */
#define F_MAX 0x10u      /* value <= hi */
#define F_LT 0x20u       /* value < hi */
#define F_UNIQUE 0x40u   /* unique across the items of the enclosing list */
#define F_NAME 0x80u     /* [A-Za-z0-9_.-]+ */
#define F_OPT 0x100u     /* section: absent stays absent (no defaults) */

struct vctx;
struct section;

typedef struct field {
  const char *key;
  ftype type;
  unsigned flags;
  const char *dflt; /* scalar text, or JSON text for lists; NULL: none */
  double lo, hi;
  const char *choices;        /* FT_ENUM */
  const struct section *sub;  /* FT_SECTION, FT_SECTLIST */
  const char *inherit;        /* top-level "section.key" tried before dflt */
  /* Extra check on the converted value; NULL for none. */
  skpi_err (*check)(struct vctx *v, const json_t *val, int line, const char *path);
} field;

typedef struct section {
  const char *noun; /* "cluster", used in duplicate messages */
  const field *fields;
  size_t nfields;
  /* Runs after the fields of one mapping are converted; NULL for none. */
  skpi_err (*check)(struct vctx *v, const json_t *out, int line, const char *path);
} section;

typedef struct vctx {
  const char *file;
  char *err;
  size_t errlen;
  linetab *lines;
  json_t *root; /* validated top level, filled in table order */
} vctx;

static skpi_err vfail(vctx *v, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static skpi_err vfail(vctx *v, int line, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(v->err, v->errlen, v->file, line, path, fmt, ap);
  va_end(ap);
  return SKPI_EINVAL;
}

static int line_of(const vctx *v, const json_t *n) { return lt_get(v->lines, n) & LINE_MASK; }

static int is_null(const vctx *v, const json_t *n) {
  return n && (lt_get(v->lines, n) & LINE_NULL) != 0;
}

/* Records line for a node the validator created (not for the shared
 * true/false singletons). */
static skpi_err mark(vctx *v, json_t *n, int line) {
  if(!n)
    return SKPI_ENOMEM;
  if(json_is_boolean(n) || line <= 0)
    return SKPI_OK;
  return lt_set(v->lines, n, line) == 0 ? SKPI_OK : SKPI_ENOMEM;
}

static const char *kind(const json_t *n) {
  return json_is_object(n) ? "a mapping" : json_is_array(n) ? "a list" : "a value";
}

static void join(char *dst, size_t dlen, const char *path, const char *key) {
  pathf(dst, dlen, "%s%s%s", path, *path ? "." : "", key);
}

/* "must be at least 1 and at most 1000" from the range flags. */
static void range_text(const field *f, char *dst, size_t dlen) {
  const char *lo = (f->flags & F_MIN) ? "at least" : (f->flags & F_GT) ? "greater than" : NULL;
  const char *hi = (f->flags & F_MAX) ? "at most" : (f->flags & F_LT) ? "less than" : NULL;
  if(lo && hi)
    snprintf(dst, dlen, "must be %s %g and %s %g", lo, f->lo, hi, f->hi);
  else if(lo)
    snprintf(dst, dlen, "must be %s %g", lo, f->lo);
  else
    snprintf(dst, dlen, "must be %s %g", hi ? hi : "in range", f->hi);
}

static int in_range(const field *f, double x) {
  if((f->flags & F_MIN) && x < f->lo)
    return 0;
  if((f->flags & F_GT) && x <= f->lo)
    return 0;
  if((f->flags & F_MAX) && x > f->hi)
    return 0;
  if((f->flags & F_LT) && x >= f->hi)
    return 0;
  return 1;
}

static skpi_err range_fail(vctx *v, const field *f, int line, const char *path, const char *s) {
  char r[128], q[160];
  range_text(f, r, sizeof(r));
  quote(q, sizeof(q), s);
  return vfail(v, line, path, "%s, got %s", r, q);
}

static int blank(const char *s) {
  while(*s && isspace((unsigned char)*s))
    s++;
  return *s == '\0';
}

static int parse_bool(const char *s, int *out) {
  if(!strcasecmp(s, "true") || !strcasecmp(s, "yes"))
    *out = 1;
  else if(!strcasecmp(s, "false") || !strcasecmp(s, "no"))
    *out = 0;
  else
    return -1;
  return 0;
}

static int parse_int(const char *s, long long *out) {
  char *end;
  if(!isdigit((unsigned char)s[0]) && !((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1])))
    return -1;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if(errno || *end)
    return -1;
  *out = x;
  return 0;
}

static int parse_number(const char *s, double *out) {
  char *end;
  if(!*s || strspn(s, "0123456789+-.eE") != strlen(s))
    return -1; /* keeps out hex, inf, nan and spaces, which strtod takes */
  errno = 0;
  double x = strtod(s, &end);
  if(errno || *end || !isfinite(x))
    return -1;
  *out = x;
  return 0;
}

/* RFC 3339 "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.5+02:00". */
static int parse_time(const char *s, double *out) {
  int Y, M, D, h, m, sec, n = 0;
  double frac = 0;
  struct tm tm, back;
  if(strlen(s) < 20 || sscanf(s, "%4d-%2d-%2d%n", &Y, &M, &D, &n) != 3 || n != 10)
    return -1;
  if(!isdigit((unsigned char)s[0]) || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
    return -1;
  if(sscanf(s + 11, "%2d:%2d:%2d%n", &h, &m, &sec, &n) != 3 || n != 8)
    return -1;
  const char *p = s + 19;
  if(*p == '.') {
    double scale = 0.1;
    if(!isdigit((unsigned char)p[1]))
      return -1;
    for(p++; isdigit((unsigned char)*p); p++, scale /= 10)
      frac += (*p - '0') * scale;
  }
  long off = 0;
  if(*p == 'Z' || *p == 'z') {
    p++;
  } else if((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
            isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
            isdigit((unsigned char)p[5])) {
    int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
    if(oh > 23 || om > 59)
      return -1;
    off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return -1;
  }
  if(*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970)
    return -1;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec == 60 ? 59 : sec; /* a leap second counts as :59 */
  time_t t = timegm(&tm);
  /* timegm normalises Feb 30 to Mar 2: refuse dates that moved. */
  if(t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != D || back.tm_mon != M - 1)
    return -1;
  *out = (double)t - (double)off + frac;
  return 0;
}

static skpi_err check_regex(vctx *v, const char *re, int line, const char *path, int nsub) {
  regex_t rx;
  char q[160];
  int rc = regcomp(&rx, re, REG_EXTENDED | (nsub < 0 ? REG_NOSUB : 0));
  if(rc != 0) {
    char msg[160];
    regerror(rc, &rx, msg, sizeof(msg));
    quote(q, sizeof(q), re);
    return vfail(v, line, path, "invalid regex %s: %s", q, msg);
  }
  size_t got = rx.re_nsub;
  regfree(&rx);
  if(nsub >= 0 && got != (size_t)nsub) {
    quote(q, sizeof(q), re);
    return vfail(v, line, path, "regex %s must have exactly %d capture group, has %zu", q, nsub,
                 got);
  }
  return SKPI_OK;
}

static skpi_err validate_section(vctx *v, const section *s, const json_t *raw, int line,
                                 const char *path, const json_t *inherit, json_t **out);

/* Converts one scalar raw value for a scalar field type. */
static skpi_err conv_scalar(vctx *v, const field *f, json_t *raw, int line, const char *path,
                            json_t **out) {
  char q[160];
  const char *s;
  json_t *n = NULL;
  skpi_err rc;
  if(!json_is_string(raw))
    return vfail(v, line, path, "expected %s, got %s",
                 f->type == FT_DURATION ? "a duration like 15s" : "a single value", kind(raw));
  s = json_string_value(raw);
  quote(q, sizeof(q), s);
  switch(f->type) {
  case FT_STRING:
  case FT_URL:
  case FT_REGEX1:
    if((f->flags & (F_NONEMPTY | F_REQ)) && blank(s))
      return vfail(v, line, path, "must not be empty");
    if((f->flags & F_NAME) && (!*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                 "0123456789_.-") != strlen(s)))
      return vfail(v, line, path, "must match [A-Za-z0-9_.-]+, got %s", q);
    if(f->type == FT_URL && strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
      return vfail(v, line, path, "expected an http:// or https:// URL, got %s", q);
    if(f->type == FT_URL && s[strcspn(s, ":") + 3] == '\0')
      return vfail(v, line, path, "URL has no host: %s", q);
    if(f->type == FT_REGEX1 && (rc = check_regex(v, s, line, path, 1)) != SKPI_OK)
      return rc;
    n = json_incref(raw); /* shared: keeps the raw node's line */
    break;
  case FT_ENUM: {
    size_t len = strlen(s);
    const char *c = f->choices;
    int ok = 0;
    while(*c && !ok) {
      size_t cl = strcspn(c, "|");
      ok = cl == len && !strncmp(c, s, len);
      c += cl + (c[cl] == '|');
    }
    if(!ok)
      return vfail(v, line, path, "expected one of %s, got %s", f->choices, q);
    n = json_incref(raw);
    break;
  }
  case FT_INT: {
    long long x;
    if(parse_int(s, &x) != 0)
      return vfail(v, line, path, "expected an integer, got %s", q);
    if(!in_range(f, (double)x))
      return range_fail(v, f, line, path, s);
    n = json_integer(x);
    break;
  }
  case FT_NUMBER: {
    double x;
    if(parse_number(s, &x) != 0)
      return vfail(v, line, path, "expected a number, got %s", q);
    if(!in_range(f, x))
      return range_fail(v, f, line, path, s);
    n = json_real(x);
    break;
  }
  case FT_BOOL: {
    int b;
    if(parse_bool(s, &b) != 0)
      return vfail(v, line, path, "expected true or false, got %s", q);
    n = json_boolean(b);
    break;
  }
  case FT_DURATION: {
    double x;
    if(skpi_parse_duration(s, &x) != 0)
      return vfail(v, line, path, "expected a duration like 15s, got %s", q);
    if(!in_range(f, x))
      return range_fail(v, f, line, path, s);
    n = json_real(x);
    break;
  }
  case FT_TIME: {
    double x;
    if(parse_time(s, &x) != 0)
      return vfail(v, line, path, "expected an RFC 3339 time like 2024-05-01T10:00:00Z, got %s",
                   q);
    n = json_real(x);
    break;
  }
  default: return vfail(v, line, path, "internal error: bad field type");
  }
  if((rc = mark(v, n, line)) != SKPI_OK) {
    json_decref(n);
    return rc;
  }
  *out = n;
  return SKPI_OK;
}

/* Fields flagged F_UNIQUE must differ across the items of a list. */
static skpi_err check_unique(vctx *v, const section *s, const json_t *arr, const char *path) {
  char ip[256], q[160];
  for(size_t fi = 0; fi < s->nfields; fi++) {
    const field *f = &s->fields[fi];
    if(!(f->flags & F_UNIQUE))
      continue;
    for(size_t i = 1; i < json_array_size(arr); i++) {
      const json_t *a = json_object_get(json_array_get(arr, i), f->key);
      for(size_t j = 0; a && json_is_string(a) && j < i; j++) {
        const json_t *b = json_object_get(json_array_get(arr, j), f->key);
        if(!b || !json_is_string(b) || strcmp(json_string_value(a), json_string_value(b)))
          continue;
        pathf(ip, sizeof(ip), "%s[%zu].%s", path, i, f->key);
        quote(q, sizeof(q), json_string_value(a));
        return vfail(v, line_of(v, a), ip, "duplicate %s %s %s (first at line %d)", s->noun,
                     f->key, q, line_of(v, b));
      }
    }
  }
  return SKPI_OK;
}

/* Converts a raw value (never NULL, never a plain null) for field f. */
static skpi_err conv(vctx *v, const field *f, json_t *raw, const char *path,
                     const json_t *inherit, json_t **out) {
  int line = line_of(v, raw);
  char ip[256];
  json_t *arr = NULL;
  skpi_err rc = SKPI_OK;
  size_t i;
  switch(f->type) {
  case FT_STRLIST:
  case FT_REGEXLIST:
  case FT_SECTLIST:
    if(!json_is_array(raw))
      return vfail(v, line, path, "expected a list, got %s", kind(raw));
    if((f->flags & F_NONEMPTY) && json_array_size(raw) == 0)
      return vfail(v, line, path, "must not be empty");
    if((rc = mark(v, arr = json_array(), line)) != SKPI_OK)
      goto out;
    for(i = 0; i < json_array_size(raw); i++) {
      json_t *item = json_array_get(raw, i), *conv_item = NULL;
      int il = line_of(v, item);
      pathf(ip, sizeof(ip), "%s[%zu]", path, i);
      if(f->type == FT_SECTLIST) {
        if(!json_is_object(item)) {
          rc = vfail(v, il, ip, "expected a mapping, got %s", kind(item));
          goto out;
        }
        if((rc = validate_section(v, f->sub, item, il, ip, NULL, &conv_item)) != SKPI_OK)
          goto out;
      } else {
        if(!json_is_string(item)) {
          rc = vfail(v, il, ip, "expected a string, got %s", kind(item));
          goto out;
        }
        if(blank(json_string_value(item))) {
          rc = vfail(v, il, ip, "must not be empty");
          goto out;
        }
        if(f->type == FT_REGEXLIST &&
           (rc = check_regex(v, json_string_value(item), il, ip, -1)) != SKPI_OK)
          goto out;
        conv_item = json_incref(item);
      }
      if(json_array_append_new(arr, conv_item) != 0) {
        rc = SKPI_ENOMEM;
        goto out;
      }
    }
    if(f->type == FT_SECTLIST)
      rc = check_unique(v, f->sub, arr, path);
    break;
  case FT_STRMAP:
  case FT_REGEXMAP: {
    const char *k;
    json_t *val;
    if(!json_is_object(raw))
      return vfail(v, line, path, "expected a mapping, got %s", kind(raw));
    if((rc = mark(v, arr = json_object(), line)) != SKPI_OK)
      goto out;
    json_object_foreach(raw, k, val) {
      int il = line_of(v, val);
      join(ip, sizeof(ip), path, k);
      if(!json_is_string(val)) {
        rc = vfail(v, il, ip, "expected a single value, got %s", kind(val));
        goto out;
      }
      if(f->type == FT_REGEXMAP) {
        if((rc = check_regex(v, k, il, ip, -1)) != SKPI_OK)
          goto out;
        if(blank(json_string_value(val))) {
          rc = vfail(v, il, ip, "must not be empty");
          goto out;
        }
      }
      if(json_object_set(arr, k, val) != 0) {
        rc = SKPI_ENOMEM;
        goto out;
      }
    }
    break;
  }
  case FT_SECTION:
    if(!json_is_object(raw))
      return vfail(v, line, path, "expected a mapping, got %s", kind(raw));
    return validate_section(v, f->sub, raw, line, path, inherit, out);
  default: return conv_scalar(v, f, raw, line, path, out);
  }
out:
  if(rc != SKPI_OK) {
    json_decref(arr);
    return rc;
  }
  *out = arr;
  return SKPI_OK;
}

/* The value at "section.key" of the validated top level, or NULL. */
static json_t *lookup(const vctx *v, const char *dotted) {
  char sect[64];
  const char *dot = strchr(dotted, '.');
  if(!dot)
    return json_object_get(v->root, dotted);
  snprintf(sect, sizeof(sect), "%.*s", (int)(dot - dotted), dotted);
  return json_object_get(json_object_get(v->root, sect), dot + 1);
}

/* Builds the value of an absent field: inherited, default, or none. */
static skpi_err absent(vctx *v, const field *f, const char *path, int line,
                       const json_t *inherit, json_t **out) {
  json_t *from = NULL, *tmp;
  json_error_t jerr;
  skpi_err rc;
  *out = NULL;
  if(f->inherit)
    from = lookup(v, f->inherit);
  if(!from && inherit)
    from = json_object_get(inherit, f->key);
  if(from) {
    *out = json_incref(from);
    return SKPI_OK;
  }
  switch(f->type) {
  case FT_SECTION:
    if(f->flags & F_OPT)
      return SKPI_OK;
    return validate_section(v, f->sub, NULL, line, path, NULL, out);
  case FT_STRLIST:
  case FT_REGEXLIST:
  case FT_SECTLIST:
  case FT_STRMAP:
  case FT_REGEXMAP:
    if(!f->dflt) {
      *out = (f->type == FT_STRMAP || f->type == FT_REGEXMAP) ? json_object() : json_array();
      return *out ? SKPI_OK : SKPI_ENOMEM;
    }
    /* Defaults are trusted text from the table below. */
    *out = json_loads(f->dflt, 0, &jerr);
    return *out ? SKPI_OK : SKPI_ENOMEM;
  default:
    if(!f->dflt)
      return SKPI_OK;
    if(!(tmp = json_string(f->dflt)))
      return SKPI_ENOMEM;
    rc = conv_scalar(v, f, tmp, 0, path, out);
    json_decref(tmp);
    return rc;
  }
}

static const field *find_field(const section *s, const char *key) {
  for(size_t i = 0; i < s->nfields; i++)
    if(!strcmp(s->fields[i].key, key))
      return &s->fields[i];
  return NULL;
}

/* Validates one mapping (raw may be NULL: all defaults) into *out. */
static skpi_err validate_section(vctx *v, const section *s, const json_t *raw, int line,
                                 const char *path, const json_t *inherit, json_t **out) {
  char kp[256];
  const char *k;
  json_t *val, *obj = NULL;
  skpi_err rc = SKPI_OK;
  if(raw) {
    json_object_foreach((json_t *)raw, k, val) {
      if(!find_field(s, k)) {
        join(kp, sizeof(kp), path, k);
        return vfail(v, line_of(v, val), kp, "unknown key");
      }
    }
  }
  if((rc = mark(v, obj = json_object(), line)) != SKPI_OK)
    goto out;
  if(!*path)
    v->root = obj; /* later top-level fields inherit from earlier ones */
  for(size_t i = 0; i < s->nfields; i++) {
    const field *f = &s->fields[i];
    json_t *rv = raw ? json_object_get(raw, f->key) : NULL, *res = NULL;
    const json_t *sub_inherit = NULL;
    join(kp, sizeof(kp), path, f->key);
    if(is_null(v, rv))
      rv = NULL;
    if(f->type == FT_SECTION && f->inherit)
      sub_inherit = lookup(v, f->inherit);
    else if(f->type == FT_SECTION && inherit)
      sub_inherit = json_object_get(inherit, f->key);
    if(rv)
      rc = conv(v, f, rv, kp, sub_inherit, &res);
    else if(f->flags & F_REQ)
      rc = *path ? vfail(v, line, path, "missing required key %s", f->key)
                 : vfail(v, line, NULL, "missing required key %s", f->key);
    else
      rc = absent(v, f, kp, line, inherit, &res);
    if(rc != SKPI_OK)
      goto out;
    if(rv && f->check && (rc = f->check(v, res, line_of(v, rv), kp)) != SKPI_OK) {
      json_decref(res);
      goto out;
    }
    if(res && json_object_set_new(obj, f->key, res) != 0) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  }
  if(s->check)
    rc = s->check(v, obj, line, path);
out:
  if(!*path)
    v->root = NULL;
  if(rc != SKPI_OK) {
    json_decref(obj);
    return rc;
  }
  *out = obj;
  return SKPI_OK;
}

/* --------------------------------------------------------------- checks */

static skpi_err check_path(vctx *v, const json_t *val, int line, const char *path) {
  if(json_string_value(val)[0] != '/')
    return vfail(v, line, path, "must start with /");
  return SKPI_OK;
}

/* Each DLQ pattern names the source topic exactly once. */
static skpi_err check_dlq(vctx *v, const json_t *val, int line, const char *path) {
  char ip[256], q[160];
  for(size_t i = 0; i < json_array_size(val); i++) {
    const json_t *it = json_array_get(val, i);
    const char *s = json_string_value(it), *hit = strstr(s, "{src}");
    if(!hit || strstr(hit + 5, "{src}")) {
      pathf(ip, sizeof(ip), "%s[%zu]", path, i);
      quote(q, sizeof(q), s);
      return vfail(v, line_of(v, it), ip, "must contain {src} exactly once, got %s", q);
    }
  }
  return SKPI_OK;
}

static skpi_err check_incidents(vctx *v, const json_t *out, int line, const char *path) {
  const json_t *tok = json_object_get(out, "webhook_token");
  if(tok && json_object_get(out, "webhook_token_file"))
    return vfail(v, line_of(v, tok), path, "set webhook_token or webhook_token_file, not both");
  return SKPI_OK;
}

static skpi_err check_maintenance(vctx *v, const json_t *out, int line, const char *path) {
  const json_t *end = json_object_get(out, "end");
  char kp[256];
  if(json_real_value(end) <= json_real_value(json_object_get(out, "start"))) {
    join(kp, sizeof(kp), path, "end");
    return vfail(v, line_of(v, end), kp, "must be after start");
  }
  return SKPI_OK;
}

/* The threshold's meaning depends on the SLI, so it is converted here. */
static skpi_err check_slo(vctx *v, const json_t *out, int line, const char *path) {
  const char *sli = json_string_value(json_object_get(out, "sli"));
  json_t *th = json_object_get(out, "threshold"), *n = NULL;
  int want_dur = !strcmp(sli, "probe_latency") || !strcmp(sli, "group_lag");
  int want_num = !strcmp(sli, "dlq_ratio");
  char kp[256], q[160];
  double x;
  skpi_err rc;
  join(kp, sizeof(kp), path, "threshold");
  if(!strcmp(sli, "app_ratio") && !json_object_get(out, "target"))
    return vfail(v, line, path, "missing required key target (sli app_ratio)");
  /* Without these the SLO would validate and then never see an event. */
  if(!strcmp(sli, "group_lag") && !json_object_get(out, "group"))
    return vfail(v, line, path, "missing required key group (sli group_lag)");
  if(!strcmp(sli, "dlq_ratio") && !json_object_get(out, "topic"))
    return vfail(v, line, path, "missing required key topic (sli dlq_ratio)");
  if(!th) {
    if(want_dur || want_num)
      return vfail(v, line, path, "missing required key threshold (sli %s)", sli);
    return SKPI_OK;
  }
  int tl = line_of(v, th);
  quote(q, sizeof(q), json_string_value(th));
  if(want_dur) {
    if(skpi_parse_duration(json_string_value(th), &x) != 0 || x <= 0)
      return vfail(v, tl, kp, "expected a duration like 250ms for sli %s, got %s", sli, q);
  } else if(want_num) {
    if(parse_number(json_string_value(th), &x) != 0 || x < 0 || x > 1)
      return vfail(v, tl, kp, "expected a number from 0 to 1 for sli %s, got %s", sli, q);
  } else {
    return vfail(v, tl, kp, "not used by sli %s", sli);
  }
  if((rc = mark(v, n = json_real(x), tl)) != SKPI_OK) {
    json_decref(n);
    return rc;
  }
  /* The replaced string stays alive in the raw tree. */
  return json_object_set_new((json_t *)out, "threshold", n) == 0 ? SKPI_OK : SKPI_ENOMEM;
}

/* Index of the list item whose `key` equals name, or -1. */
static long find_named(const json_t *list, const char *key, const char *name) {
  for(size_t i = 0; i < json_array_size(list); i++) {
    const char *s = json_string_value(json_object_get(json_array_get(list, i), key));
    if(s && !strcmp(s, name))
      return (long)i;
  }
  return -1;
}

/* A reference from list[i].key (when set) must name an item of target. */
static skpi_err check_refs(vctx *v, const json_t *root, const char *list, const char *key,
                           const char *target, const char *what) {
  const json_t *items = json_object_get(root, list), *dst = json_object_get(root, target);
  char kp[256], q[160];
  for(size_t i = 0; i < json_array_size(items); i++) {
    const json_t *ref = json_object_get(json_array_get(items, i), key);
    if(!ref || find_named(dst, "name", json_string_value(ref)) >= 0)
      continue;
    pathf(kp, sizeof(kp), "%s[%zu].%s", list, i, key);
    quote(q, sizeof(q), json_string_value(ref));
    return vfail(v, line_of(v, ref), kp, "no %s named %s", what, q);
  }
  return SKPI_OK;
}

static skpi_err check_root(vctx *v, const json_t *out, int line, const char *path) {
  const json_t *products = json_object_get(json_object_get(out, "catalog"), "products");
  const json_t *slos = json_object_get(out, "slos");
  char kp[256], q[160];
  skpi_err rc;
  if((rc = check_refs(v, out, "slos", "target", "targets", "target")) != SKPI_OK ||
     (rc = check_refs(v, out, "slos", "cluster", "clusters", "cluster")) != SKPI_OK ||
     (rc = check_refs(v, out, "maintenance", "cluster", "clusters", "cluster")) != SKPI_OK)
    return rc;
  for(size_t i = 0; i < json_array_size(products); i++) {
    const json_t *ps = json_object_get(json_array_get(products, i), "slos");
    for(size_t j = 0; j < json_array_size(ps); j++) {
      const json_t *ref = json_array_get(ps, j);
      if(find_named(slos, "name", json_string_value(ref)) >= 0)
        continue;
      pathf(kp, sizeof(kp), "catalog.products[%zu].slos[%zu]", i, j);
      quote(q, sizeof(q), json_string_value(ref));
      return vfail(v, line_of(v, ref), kp, "no SLO named %s", q);
    }
  }
  return SKPI_OK;
}

/* ---------------------------------------------------------- the schema
 *
 * One row per key.  A new section is a new field table, a `section` for it
 * and one row in root_fields; a new key is one row.  Order matters in
 * root_fields only for inheritance: a section must come after the ones its
 * keys inherit from (global and probe before clusters).
 */

#define ROW(k, t, fl, d) {.key = (k), .type = (t), .flags = (fl), .dflt = (d)}
#define RANGE(k, t, fl, d, l, h) {.key = (k), .type = (t), .flags = (fl), .dflt = (d), .lo = (l), .hi = (h)}
#define ENUM(k, fl, d, c) {.key = (k), .type = FT_ENUM, .flags = (fl), .dflt = (d), .choices = (c)}
#define SUB(k, t, fl, s) {.key = (k), .type = (t), .flags = (fl), .sub = &(s)}
#define SECTION(name, noun, fields, check) \
  static const section name = {(noun), (fields), sizeof(fields) / sizeof((fields)[0]), (check)}

static const field global_fields[] = {
    RANGE("sample_interval", FT_DURATION, F_GT, "15s", 0, 0),
    RANGE("stale_ttl", FT_DURATION, F_GT, "5m", 0, 0),
    RANGE("request_timeout", FT_DURATION, F_GT, "10s", 0, 0),
    ROW("listen_address", FT_STRING, F_NONEMPTY, ":10308"),
    {.key = "telemetry_path", .type = FT_STRING, .flags = F_NONEMPTY, .dflt = "/metrics",
     .check = check_path},
    ENUM("log_level", 0, "info", "debug|info|warn|error"),
    ENUM("log_format", 0, "logfmt", "logfmt|json"),
};
SECTION(global_sect, "global", global_fields, NULL);

static const field filter_fields[] = {
    ROW("include", FT_REGEXLIST, 0, NULL),
    ROW("exclude", FT_REGEXLIST, 0, NULL),
};
SECTION(filter_sect, "filter", filter_fields, NULL);

static const field state_fields[] = {
    ROW("path", FT_STRING, F_NONEMPTY, "streamkpi-state.json"),
    RANGE("persist_interval", FT_DURATION, F_GT, "30s", 0, 0),
};
SECTION(state_sect, "state", state_fields, NULL);

static const field probe_fields[] = {
    ROW("enabled", FT_BOOL, 0, "true"),
    ENUM("mode", 0, "produce-consume", "produce-consume|metadata-only"),
    ROW("topic", FT_STRING, F_NONEMPTY, "streamkpi-probe"),
    RANGE("replication_factor", FT_INT, F_MIN | F_MAX, "3", 1, 10),
    RANGE("interval", FT_DURATION, F_GT, "10s", 0, 0),
    RANGE("timeout", FT_DURATION, F_GT, "5s", 0, 0),
    RANGE("min_brokers", FT_INT, F_MIN, "1", 0, 0),
};
SECTION(probe_sect, "probe", probe_fields, NULL);

static const field incidents_fields[] = {
    RANGE("open_after", FT_INT, F_MIN, "3", 1, 0),
    RANGE("resolve_after", FT_INT, F_MIN, "2", 1, 0),
    ROW("webhook_token", FT_STRING, F_NONEMPTY, NULL),
    ROW("webhook_token_file", FT_STRING, F_NONEMPTY, NULL),
    RANGE("max_body", FT_INT, F_MIN | F_MAX, "1048576", 1, 1073741824),
};
SECTION(incidents_sect, "incidents", incidents_fields, check_incidents);

static const field maintenance_fields[] = {
    ROW("start", FT_TIME, F_REQ, NULL),
    ROW("end", FT_TIME, F_REQ, NULL),
    ROW("cluster", FT_STRING, F_NONEMPTY, NULL),
    ROW("reason", FT_STRING, 0, NULL),
};
SECTION(maintenance_sect, "maintenance window", maintenance_fields, check_maintenance);

static const field availability_fields[] = {
    RANGE("objective", FT_NUMBER, F_GT | F_LT, "0.999", 0, 1),
    RANGE("window", FT_DURATION, F_GT, "30d", 0, 0),
};
SECTION(availability_sect, "availability", availability_fields, NULL);

static const field dlq_fields[] = {
    {.key = "patterns", .type = FT_STRLIST, .flags = 0,
     .dflt = "[\"{src}.dlq\", \"{src}-dlq\", \"dlq.{src}\", \"{src}.DLT\", \"{src}-dlt\"]",
     .check = check_dlq},
};
SECTION(dlq_sect, "dlq", dlq_fields, NULL);

static const field onboarding_fields[] = {
    RANGE("lag_threshold", FT_INT, F_MIN, "100", 0, 0),
    ROW("baseline", FT_BOOL, 0, "true"),
};
SECTION(onboarding_sect, "onboarding", onboarding_fields, NULL);

static const field quality_fields[] = {
    ROW("family", FT_STRING, F_NONEMPTY, "events_processed_total"),
    ROW("label", FT_STRING, F_NONEMPTY, "status"),
    ROW("good", FT_STRLIST, F_NONEMPTY, "[\"success\"]"),
};
SECTION(quality_sect, "quality", quality_fields, NULL);

static const field target_fields[] = {
    ROW("name", FT_STRING, F_REQ | F_UNIQUE, NULL),
    ROW("url", FT_URL, F_REQ, NULL),
    ENUM("kind", 0, "metrics", "metrics|schema_registry|connect"),
    RANGE("interval", FT_DURATION, F_GT, "15s", 0, 0),
    RANGE("timeout", FT_DURATION, F_GT, "5s", 0, 0),
    RANGE("max_bytes", FT_INT, F_MIN | F_MAX, "10485760", 1, 1073741824),
    ROW("username", FT_STRING, 0, NULL),
    ROW("password", FT_STRING, 0, NULL),
    ROW("ca_file", FT_STRING, F_NONEMPTY, NULL),
    ROW("insecure_skip_verify", FT_BOOL, 0, "false"),
    SUB("quality", FT_SECTION, 0, quality_sect),
};
SECTION(target_sect, "target", target_fields, NULL);

static const field slo_fields[] = {
    ROW("name", FT_STRING, F_REQ | F_UNIQUE, NULL),
    ENUM("sli", F_REQ, NULL, "probe_availability|probe_latency|group_lag|dlq_ratio|app_ratio"),
    RANGE("objective", FT_NUMBER, F_REQ | F_GT | F_LT, NULL, 0, 1),
    ENUM("window", 0, "30d", "28d|30d|calendar_month"),
    ROW("cluster", FT_STRING, F_NONEMPTY, NULL),
    ROW("threshold", FT_STRING, F_NONEMPTY, NULL), /* converted by check_slo */
    ROW("group", FT_STRING, F_NONEMPTY, NULL),
    ROW("topic", FT_STRING, F_NONEMPTY, NULL),
    ROW("target", FT_STRING, F_NONEMPTY, NULL),
    ROW("description", FT_STRING, 0, NULL),
};
SECTION(slo_sect, "SLO", slo_fields, check_slo);

static const field product_fields[] = {
    ROW("name", FT_STRING, F_REQ | F_UNIQUE, NULL),
    ROW("owner", FT_STRING, F_REQ, NULL),
    ROW("domain", FT_STRING, F_REQ, NULL),
    ROW("topics", FT_STRLIST, F_REQ | F_NONEMPTY, NULL),
    ROW("slos", FT_STRLIST, 0, NULL),
    ROW("description", FT_STRING, 0, NULL),
};
SECTION(product_sect, "product", product_fields, NULL);

static const field catalog_fields[] = {
    ROW("team_regex", FT_REGEX1, F_NONEMPTY, "^([A-Za-z0-9]+)[._-]"),
    SUB("products", FT_SECTLIST, 0, product_sect),
    ROW("group_domains", FT_REGEXMAP, 0, NULL),
};
SECTION(catalog_sect, "catalog", catalog_fields, NULL);

static const field survey_fields[] = {
    RANGE("skills", FT_INT, F_MIN | F_MAX, NULL, 1, 5),
    RANGE("business_value", FT_INT, F_MIN | F_MAX, NULL, 1, 5),
};
SECTION(survey_sect, "survey", survey_fields, NULL);

static skpi_err check_thresholds(vctx *v, const json_t *val, int line, const char *path) {
  const char *k;
  json_t *it, *n = NULL;
  char kp[256], q[160];
  double x;
  skpi_err rc;
  /* Values arrive as text (FT_STRMAP); thresholds are numbers. */
  json_object_foreach((json_t *)val, k, it) {
    join(kp, sizeof(kp), path, k);
    if(!json_is_string(it))
      continue;
    if(parse_number(json_string_value(it), &x) != 0) {
      quote(q, sizeof(q), json_string_value(it));
      return vfail(v, line_of(v, it), kp, "expected a number, got %s", q);
    }
    if((rc = mark(v, n = json_real(x), line_of(v, it))) != SKPI_OK ||
       json_object_set_new((json_t *)val, k, n) != 0) {
      json_decref(n);
      return SKPI_ENOMEM;
    }
  }
  return SKPI_OK;
}

static const field maturity_fields[] = {
    SUB("survey", FT_SECTION, F_OPT, survey_sect),
    {.key = "thresholds", .type = FT_STRMAP, .check = check_thresholds},
};
SECTION(maturity_sect, "maturity", maturity_fields, NULL);

static const field cluster_fields[] = {
    ROW("name", FT_STRING, F_REQ | F_NAME | F_UNIQUE, NULL),
    ROW("bootstrap_servers", FT_STRING, F_REQ | F_NONEMPTY, NULL),
    ROW("properties", FT_STRMAP, 0, NULL),
    SUB("topics", FT_SECTION, 0, filter_sect),
    SUB("groups", FT_SECTION, 0, filter_sect),
    {.key = "sample_interval", .type = FT_DURATION, .flags = F_GT,
     .inherit = "global.sample_interval"},
    {.key = "stale_ttl", .type = FT_DURATION, .flags = F_GT, .inherit = "global.stale_ttl"},
    {.key = "request_timeout", .type = FT_DURATION, .flags = F_GT,
     .inherit = "global.request_timeout"},
    RANGE("max_inflight", FT_INT, F_MIN | F_MAX, "10", 1, 1000),
    RANGE("chunk_size", FT_INT, F_MIN | F_MAX, "2000", 1, 100000),
    RANGE("message_time_reads", FT_INT, F_MIN | F_MAX, "1000", 0, 100000),
    {.key = "probe", .type = FT_SECTION, .sub = &probe_sect, .inherit = "probe"},
};
SECTION(cluster_sect, "cluster", cluster_fields, NULL);

/* Top level.  Next issues: add a row here (and a table above) for each new
 * section; consumers read it with skpi_config_section(). */
static const field root_fields[] = {
    SUB("global", FT_SECTION, 0, global_sect),
    SUB("state", FT_SECTION, 0, state_sect),
    SUB("probe", FT_SECTION, 0, probe_sect),
    SUB("incidents", FT_SECTION, 0, incidents_sect),
    SUB("availability", FT_SECTION, 0, availability_sect),
    SUB("dlq", FT_SECTION, 0, dlq_sect),
    SUB("onboarding", FT_SECTION, 0, onboarding_sect),
    SUB("targets", FT_SECTLIST, 0, target_sect),
    SUB("slos", FT_SECTLIST, 0, slo_sect),
    SUB("catalog", FT_SECTION, 0, catalog_sect),
    SUB("maturity", FT_SECTION, 0, maturity_sect),
    SUB("clusters", FT_SECTLIST, F_REQ | F_NONEMPTY, cluster_sect),
    SUB("maintenance", FT_SECTLIST, 0, maintenance_sect),
};
SECTION(root_sect, "config", root_fields, check_root);

/* ------------------------------------------------------------- structs */

static void filter_free(skpi_filter *f) {
  for(size_t i = 0; i < f->ninclude; i++)
    regfree(&f->include[i]);
  for(size_t i = 0; i < f->nexclude; i++)
    regfree(&f->exclude[i]);
  free(f->include);
  free(f->exclude);
  memset(f, 0, sizeof(*f));
}

/* Compiles a validated list of regexes (they compiled once already). */
static skpi_err compile_list(const json_t *list, regex_t **out, size_t *n) {
  size_t cnt = json_array_size(list);
  *out = NULL;
  *n = 0;
  if(!cnt)
    return SKPI_OK;
  if(!(*out = calloc(cnt, sizeof(regex_t))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < cnt; i++) {
    if(regcomp(&(*out)[i], json_string_value(json_array_get(list, i)),
               REG_EXTENDED | REG_NOSUB) != 0)
      return SKPI_ENOMEM;
    (*n)++;
  }
  return SKPI_OK;
}

static skpi_err filter_build(const json_t *obj, skpi_filter *f) {
  skpi_err rc;
  if((rc = compile_list(json_object_get(obj, "include"), &f->include, &f->ninclude)) != SKPI_OK)
    return rc;
  return compile_list(json_object_get(obj, "exclude"), &f->exclude, &f->nexclude);
}

static char *dup_key(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return strdup(s ? s : "");
}

static skpi_err cluster_build(const json_t *o, skpi_cluster_cfg *cc) {
  const json_t *props = json_object_get(o, "properties");
  const char *k;
  json_t *val;
  skpi_err rc;
  if(!(cc->name = dup_key(o, "name")) || !(cc->bootstrap_servers = dup_key(o, "bootstrap_servers")))
    return SKPI_ENOMEM;
  if(json_object_size(props)) {
    if(!(cc->properties = calloc(json_object_size(props), sizeof(skpi_kv))))
      return SKPI_ENOMEM;
    json_object_foreach((json_t *)props, k, val) {
      skpi_kv *kv = &cc->properties[cc->nproperties++];
      if(!(kv->key = strdup(k)) || !(kv->value = strdup(json_string_value(val))))
        return SKPI_ENOMEM;
    }
  }
  if((rc = filter_build(json_object_get(o, "topics"), &cc->topics)) != SKPI_OK ||
     (rc = filter_build(json_object_get(o, "groups"), &cc->groups)) != SKPI_OK)
    return rc;
  cc->sample_interval_s = skpi_cfg_duration(o, "sample_interval", 15);
  cc->stale_ttl_s = skpi_cfg_duration(o, "stale_ttl", 300);
  cc->request_timeout_s = skpi_cfg_duration(o, "request_timeout", 10);
  cc->max_inflight = (int)skpi_cfg_int(o, "max_inflight", 10);
  cc->chunk_size = (int)skpi_cfg_int(o, "chunk_size", 2000);
  cc->message_time_reads = (int)skpi_cfg_int(o, "message_time_reads", 1000);
  return SKPI_OK;
}

static skpi_err structs_build(skpi_config *c) {
  const json_t *g = json_object_get(c->priv->tree, "global");
  const json_t *cl = json_object_get(c->priv->tree, "clusters");
  skpi_err rc;
  if(!(c->listen_address = dup_key(g, "listen_address")) ||
     !(c->telemetry_path = dup_key(g, "telemetry_path")) ||
     !(c->log_level = dup_key(g, "log_level")) || !(c->log_format = dup_key(g, "log_format")))
    return SKPI_ENOMEM;
  if(!(c->clusters = calloc(json_array_size(cl) + 1, sizeof(skpi_cluster_cfg))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < json_array_size(cl); i++) {
    c->nclusters++;
    if((rc = cluster_build(json_array_get(cl, i), &c->clusters[i])) != SKPI_OK)
      return rc;
    json_t *probe = skpi_config_cluster_section(c, i, "probe");
    if(skpi_cfg_bool(probe, "enabled", 1) &&
       !(c->clusters[i].probe_topic = strdup(skpi_cfg_string(probe, "topic", "streamkpi-probe"))))
      return SKPI_ENOMEM;
  }
  return SKPI_OK;
}

/* ------------------------------------------------------------ public API */

void skpi_config_free(skpi_config *c) {
  if(!c)
    return;
  for(size_t i = 0; i < c->nclusters; i++) {
    skpi_cluster_cfg *cc = &c->clusters[i];
    free(cc->name);
    free(cc->bootstrap_servers);
    free(cc->probe_topic);
    for(size_t j = 0; j < cc->nproperties; j++) {
      free(cc->properties[j].key);
      free(cc->properties[j].value);
    }
    free(cc->properties);
    filter_free(&cc->topics);
    filter_free(&cc->groups);
  }
  free(c->clusters);
  free(c->path);
  free(c->listen_address);
  free(c->telemetry_path);
  free(c->log_level);
  free(c->log_format);
  if(c->priv) {
    json_decref(c->priv->tree);
    json_decref(c->priv->raw);
    lt_free(&c->priv->lines);
    free(c->priv);
  }
  free(c);
}

/* Validates priv->raw into priv->tree and fills the structs. */
static skpi_err finish(skpi_config *c, const char *file, int root_line, char *err,
                       size_t errlen) {
  vctx v = {.file = file, .err = err, .errlen = errlen, .lines = &c->priv->lines};
  skpi_err rc;
  if(!json_is_object(c->priv->raw))
    return vfail(&v, root_line, NULL, "expected a mapping of sections at the top level, got %s",
                 kind(c->priv->raw));
  if((rc = validate_section(&v, &root_sect, c->priv->raw, root_line, "", NULL,
                            &c->priv->tree)) != SKPI_OK)
    return rc;
  if((rc = structs_build(c)) != SKPI_OK)
    snprintf(err, errlen, "%s: %s", file, skpi_strerror(rc));
  return rc;
}

static skpi_config *config_new(void) {
  skpi_config *c = calloc(1, sizeof(*c));
  if(c && !(c->priv = calloc(1, sizeof(*c->priv)))) {
    free(c);
    return NULL;
  }
  return c;
}

/* Reads at most SKPI_CONFIG_MAX_BYTES of path into b. */
static skpi_err read_file(const char *path, skpi_buf *b, char *err, size_t errlen) {
  char chunk[8192];
  skpi_err rc = SKPI_OK;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return SKPI_EIO;
  }
  for(;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if(n < 0 && errno == EINTR)
      continue;
    if(n < 0) {
      snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
      rc = SKPI_EIO;
      break;
    }
    if(n == 0)
      break;
    if((rc = skpi_buf_add(b, chunk, (size_t)n)) != SKPI_OK) {
      if(rc == SKPI_ETOOBIG)
        snprintf(err, errlen, "%s: file is larger than %d bytes", path, SKPI_CONFIG_MAX_BYTES);
      else
        snprintf(err, errlen, "%s: %s", path, skpi_strerror(rc));
      break;
    }
  }
  close(fd);
  return rc;
}

skpi_err skpi_config_load(const char *path, skpi_config **out, char *errbuf, size_t errlen) {
  skpi_buf b;
  skpi_config *c = NULL;
  skpi_err rc;
  int root_line = 1;
  char dummy[1];
  if(!errbuf || !errlen) {
    errbuf = dummy;
    errlen = sizeof(dummy);
  }
  errbuf[0] = '\0';
  *out = NULL;
  skpi_buf_init(&b, SKPI_CONFIG_MAX_BYTES);
  if((rc = read_file(path, &b, errbuf, errlen)) != SKPI_OK)
    goto out;
  if(!(c = config_new()) || !(c->path = strdup(path))) {
    rc = SKPI_ENOMEM;
    snprintf(errbuf, errlen, "%s: %s", path, skpi_strerror(rc));
    goto out;
  }
  if((rc = yaml_to_json(path, b.data ? b.data : "", b.len, &c->priv->lines, &c->priv->raw,
                        &root_line, errbuf, errlen)) != SKPI_OK)
    goto out;
  if(!c->priv->raw) {
    snprintf(errbuf, errlen, "%s:1: the file is empty: at least a clusters list is required",
             path);
    rc = SKPI_EINVAL;
    goto out;
  }
  rc = finish(c, path, root_line, errbuf, errlen);
out:
  skpi_buf_free(&b);
  if(rc != SKPI_OK) {
    if(rc == SKPI_ENOMEM && !errbuf[0])
      snprintf(errbuf, errlen, "%s: %s", path, skpi_strerror(rc));
    skpi_config_free(c);
    return rc;
  }
  *out = c;
  return SKPI_OK;
}

skpi_err skpi_config_from_brokers(const char *brokers, skpi_config **out, char *errbuf,
                                  size_t errlen) {
  static const char *src = "--kafka.brokers";
  skpi_config *c = NULL;
  json_t *cl = NULL;
  skpi_err rc = SKPI_ENOMEM;
  char dummy[1];
  if(!errbuf || !errlen) {
    errbuf = dummy;
    errlen = sizeof(dummy);
  }
  errbuf[0] = '\0';
  *out = NULL;
  if(!brokers || blank(brokers)) {
    snprintf(errbuf, errlen, "%s: no brokers given (expected host:port[,host:port...])", src);
    return SKPI_EINVAL;
  }
  /* The same validation as a file with one cluster, so that every section
   * gets its defaults. */
  if(!(c = config_new()) || !(c->priv->raw = json_object()) || !(cl = json_object()) ||
     json_object_set_new(cl, "name", json_string("default")) != 0 ||
     json_object_set_new(cl, "bootstrap_servers", json_string(brokers)) != 0 ||
     json_object_set_new(c->priv->raw, "clusters", json_pack("[o]", cl)) != 0) {
    if(!c || !c->priv->raw || !json_object_get(c->priv->raw, "clusters"))
      json_decref(cl);
    snprintf(errbuf, errlen, "%s: %s", src, skpi_strerror(rc));
    goto out;
  }
  rc = finish(c, src, 0, errbuf, errlen);
out:
  if(rc != SKPI_OK) {
    skpi_config_free(c);
    return rc;
  }
  *out = c;
  return SKPI_OK;
}

int skpi_filter_match(const skpi_filter *f, const char *name) {
  int ok = f->ninclude == 0;
  for(size_t i = 0; !ok && i < f->ninclude; i++)
    ok = regexec(&f->include[i], name, 0, NULL, 0) == 0;
  for(size_t i = 0; ok && i < f->nexclude; i++)
    ok = regexec(&f->exclude[i], name, 0, NULL, 0) != 0;
  return ok;
}

json_t *skpi_config_section(const skpi_config *c, const char *name) {
  if(!c || !c->priv || !name || !find_field(&root_sect, name))
    return NULL;
  return json_object_get(c->priv->tree, name);
}

json_t *skpi_config_cluster_section(const skpi_config *c, size_t i, const char *name) {
  json_t *cl = skpi_config_section(c, "clusters");
  if(!name || !find_field(&cluster_sect, name))
    return NULL;
  return json_object_get(json_array_get(cl, i), name);
}

int skpi_config_line(const skpi_config *c, const json_t *node) {
  if(!c || !c->priv || !node)
    return 0;
  return lt_get(&c->priv->lines, node) & LINE_MASK;
}

const char *skpi_cfg_string(const json_t *obj, const char *key, const char *dflt) {
  const json_t *n = json_object_get(obj, key);
  return json_is_string(n) ? json_string_value(n) : dflt;
}

long long skpi_cfg_int(const json_t *obj, const char *key, long long dflt) {
  const json_t *n = json_object_get(obj, key);
  return json_is_integer(n) ? (long long)json_integer_value(n) : dflt;
}

double skpi_cfg_number(const json_t *obj, const char *key, double dflt) {
  const json_t *n = json_object_get(obj, key);
  return json_is_number(n) ? json_number_value(n) : dflt;
}

double skpi_cfg_duration(const json_t *obj, const char *key, double dflt) {
  return skpi_cfg_number(obj, key, dflt);
}

int skpi_cfg_bool(const json_t *obj, const char *key, int dflt) {
  const json_t *n = json_object_get(obj, key);
  return json_is_boolean(n) ? json_is_true(n) : dflt;
}
