/* config.c: YAML file -> jansson tree with line numbers -> validated tree and
 * structs.
 *
 * Three stages.  (1) libyaml events build a "raw" tree in which every scalar
 * is a string; a side table maps each raw node to its line.  (2) A
 * table-driven schema walks the raw tree and builds a separate validated
 * tree (defaults filled in, values converted); string nodes are shared with
 * the raw tree, new nodes get the raw node's line.  (3) Every section is
 * copied into the typed structs of config.h.  Both trees and the line table
 * live until the load ends and are freed together, so that no recorded node
 * pointer is ever freed and re-used while the line table still names it.
 * The schema table is also the source of docs/config.md (config_doc.c,
 * through config_int.h).
 */
#include "streamkpi/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "streamkpi/buf.h"
#include "streamkpi/expo.h"
#include "streamkpi/policy_rules.h"
#include "streamkpi/regex.h"
#include "streamkpi/rfc3339.h"

#include "config_int.h"

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

/* What a load goes through before the structs exist; freed when it ends. */
typedef struct ltree {
  json_t *raw;  /* parsed file, all scalars strings */
  json_t *tree; /* validated tree */
  linetab lines;
} ltree;

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
  json_t *node; /* object or array */
  char *key;    /* pending mapping key, malloc'd */
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
  return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
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

typedef struct vctx {
  const char *file;
  char *err;
  size_t errlen;
  linetab *lines;
  json_t *root; /* validated top level, filled in table order */
  char *token;  /* contents of incidents.webhook_token_file, read while validating */
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

static int line_of(const vctx *v, const json_t *n) {
  return lt_get(v->lines, n) & LINE_MASK;
}

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
    snprintf(dst, dlen, "must be %s %.15g and %s %.15g", lo, f->lo, hi, f->hi);
  else if(lo)
    snprintf(dst, dlen, "must be %s %.15g", lo, f->lo);
  else
    snprintf(dst, dlen, "must be %s %.15g", hi ? hi : "in range", f->hi);
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

/* Returns 0 and sets *out, -1 when s is not a decimal integer, -2 when it
 * is one past 64 bits. */
static int parse_int(const char *s, long long *out) {
  char *end;
  if(!isdigit((unsigned char)s[0]) &&
     !((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1])))
    return -1;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if(*end)
    return -1;
  if(errno == ERANGE)
    return -2;
  if(errno)
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

/* Every configured regex goes through skpi_regex_compile, which refuses
 * patterns that would make regcomp blow up. */
static skpi_err check_regex(vctx *v, const char *re, int line, const char *path, int nsub) {
  regex_t rx;
  char q[160], msg[160];
  skpi_err rc = skpi_regex_compile(&rx, re, nsub < 0 ? REG_NOSUB : 0, msg, sizeof(msg));
  if(rc == SKPI_ENOMEM)
    return rc;
  if(rc != SKPI_OK) {
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
  case FT_REGEX:
  case FT_REGEX1:
    if((f->flags & (F_NONEMPTY | F_REQ)) && blank(s))
      return vfail(v, line, path, "must not be empty");
    if(f->maxlen && strlen(s) > f->maxlen)
      return vfail(v, line, path, "longer than %zu bytes", f->maxlen);
    if((f->flags & F_NAME) &&
       (!*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789_.-") != strlen(s)))
      return vfail(v, line, path, "must match [A-Za-z0-9_.-]+, got %s", q);
    if(f->type == FT_URL && strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
      return vfail(v, line, path, "expected an http:// or https:// URL, got %s", q);
    if(f->type == FT_URL && s[strcspn(s, ":") + 3] == '\0')
      return vfail(v, line, path, "URL has no host: %s", q);
    if(f->type == FT_REGEX1 && (rc = check_regex(v, s, line, path, 1)) != SKPI_OK)
      return rc;
    if(f->type == FT_REGEX && (rc = check_regex(v, s, line, path, -1)) != SKPI_OK)
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
    int pr = parse_int(s, &x);
    if(pr == -1)
      return vfail(v, line, path, "expected an integer, got %s", q);
    /* Every int row has an upper bound that fits in 32 bits; past 64 bits
     * is out of range too, never wrapped. */
    if(pr == -2 || x > INT32_MAX || x < INT32_MIN || !in_range(f, (double)x))
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
  case FT_TIME:
  case FT_DATE: {
    double x;
    int date = f->type == FT_DATE;
    if((date ? skpi_rfc3339_parse_date(s, &x) : skpi_rfc3339_parse(s, &x)) != 0)
      return vfail(v, line, path, "expected an RFC 3339 %s, got %s",
                   date ? "date like 2024-05-01 or a time like 2024-05-01T10:00:00Z"
                        : "time like 2024-05-01T10:00:00Z",
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
        return vfail(v, line_of(v, a), ip, "duplicate %s %s %s (first at line %d)", s->noun, f->key,
                     q, line_of(v, b));
      }
    }
  }
  return SKPI_OK;
}

/* Converts a raw value (never NULL, never a plain null) for field f. */
static skpi_err conv(vctx *v, const field *f, json_t *raw, const char *path, const json_t *inherit,
                     json_t **out) {
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
    if(f->cap && json_array_size(raw) > f->cap) {
      pathf(ip, sizeof(ip), "%s[%zu]", path, f->cap);
      return vfail(v, line_of(v, json_array_get(raw, f->cap)), ip,
                   "too many entries: at most %zu allowed", f->cap);
    }
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
  case FT_REGEXMAP:
  case FT_SECTMAP: {
    const char *k;
    json_t *val;
    size_t seen = 0;
    if(!json_is_object(raw))
      return vfail(v, line, path, "expected a mapping, got %s", kind(raw));
    if((rc = mark(v, arr = json_object(), line)) != SKPI_OK)
      goto out;
    json_object_foreach(raw, k, val) {
      json_t *entry = NULL;
      int il = line_of(v, val);
      join(ip, sizeof(ip), path, k);
      /* jansson iterates in file order, so this names the first key past the cap. */
      if(f->cap && ++seen > f->cap) {
        rc = vfail(v, il, ip, "too many entries: at most %zu allowed", f->cap);
        goto out;
      }
      if(f->type == FT_SECTMAP) {
        if(f->check_key && (rc = f->check_key(v, k, il, ip)) != SKPI_OK)
          goto out;
        if(is_null(v, val)) { /* "id:" alone: the entry with its defaults */
          val = NULL;
        } else if(!json_is_object(val)) {
          rc = vfail(v, il, ip, "expected a mapping, got %s", kind(val));
          goto out;
        }
        if((rc = validate_section(v, f->sub, val, il, ip, json_object_get(inherit, k), &entry)) !=
           SKPI_OK)
          goto out;
      } else if(!json_is_string(val)) {
        rc = vfail(v, il, ip, "expected a single value, got %s", kind(val));
        goto out;
      } else if(f->type == FT_REGEXMAP && (rc = check_regex(v, k, il, ip, -1)) != SKPI_OK) {
        goto out;
      } else if(f->type == FT_REGEXMAP && blank(json_string_value(val))) {
        rc = vfail(v, il, ip, "must not be empty");
        goto out;
      } else {
        entry = json_incref(val);
      }
      if(json_object_set_new(arr, k, entry) != 0) {
        rc = SKPI_ENOMEM;
        goto out;
      }
    }
    /* Entries inherited (FT_SECTMAP in a cluster) that the mapping does not
     * name stay as they are. */
    json_object_foreach((json_t *)inherit, k, val) {
      if(!json_object_get(arr, k) && json_object_set(arr, k, val) != 0) {
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
static skpi_err absent(vctx *v, const field *f, const char *path, int line, const json_t *inherit,
                       json_t **out) {
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
    return validate_section(v, f->sub, NULL, 0, path, NULL, out); /* a default: no line */
  case FT_STRLIST:
  case FT_REGEXLIST:
  case FT_SECTLIST:
  case FT_STRMAP:
  case FT_REGEXMAP:
  case FT_SECTMAP:
    if(!f->dflt) {
      *out = (f->type == FT_STRMAP || f->type == FT_REGEXMAP || f->type == FT_SECTMAP)
                 ? json_object()
                 : json_array();
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
    if((f->type == FT_SECTION || f->type == FT_SECTMAP) && f->inherit)
      sub_inherit = lookup(v, f->inherit);
    else if((f->type == FT_SECTION || f->type == FT_SECTMAP) && inherit)
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

/* Metric family and label names as the Prometheus text format allows them
 * (the HTTP source refuses anything else at start). */
static skpi_err check_metric_name(vctx *v, const json_t *val, int line, const char *path) {
  char q[160];
  if(skpi_expo_valid_name(json_string_value(val)))
    return SKPI_OK;
  quote(q, sizeof(q), json_string_value(val));
  return vfail(v, line, path, "expected a metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*), got %s",
               q);
}

/* "[host]:port", "host:port" or ":port", as the web server reads it; names
 * are resolved only when the server starts. */
static skpi_err check_listen(vctx *v, const json_t *val, int line, const char *path) {
  const char *s = json_string_value(val), *colon = strrchr(s, ':');
  char q[160];
  quote(q, sizeof(q), s);
  if(!colon)
    return vfail(v, line, path, "expected [host]:port, got %s", q);
  size_t hl = (size_t)(colon - s), pl = strlen(colon + 1);
  if(!pl || pl > 5 || strspn(colon + 1, "0123456789") != pl || strtol(colon + 1, NULL, 10) > 65535)
    return vfail(v, line, path, "expected a port from 0 to 65535 after the last ':', got %s", q);
  if(hl > 255)
    return vfail(v, line, path, "host longer than 255 bytes");
  if(hl && s[0] == '[' && s[hl - 1] != ']')
    return vfail(v, line, path, "unclosed [ in %s", q);
  if(hl && s[0] != '[' && memchr(s, ':', hl))
    return vfail(v, line, path, "an IPv6 host needs brackets, as in [::1]:10308, got %s", q);
  for(size_t i = 0; i < hl; i++)
    if(isspace((unsigned char)s[i]) || (unsigned char)s[i] < 0x20)
      return vfail(v, line, path, "blank in host of %s", q);
  return SKPI_OK;
}

/* Every property is tried on a scratch librdkafka configuration, so an
 * unknown name or a bad value fails the check, not the start. */
static skpi_err check_properties(vctx *v, const json_t *val, int line, const char *path) {
  const char *k;
  json_t *it;
  char kp[256], why[256];
  skpi_err rc = SKPI_OK;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if(!conf)
    return SKPI_ENOMEM;
  json_object_foreach((json_t *)val, k, it) {
    if(rd_kafka_conf_set(conf, k, json_string_value(it), why, sizeof(why)) != RD_KAFKA_CONF_OK) {
      join(kp, sizeof(kp), path, k);
      rc = vfail(v, line_of(v, it), kp, "librdkafka refuses it: %s", why);
      break;
    }
  }
  rd_kafka_conf_destroy(conf);
  return rc;
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

/* Reads the token file (at most SKPI_CONFIG_MAX_TOKEN_FILE bytes, trailing
 * newlines and blanks dropped) into a malloc'd string; NULL with why set. */
static char *read_token(const char *path, char *why, size_t whylen) {
  char buf[SKPI_CONFIG_MAX_TOKEN_FILE + 2];
  size_t n = 0;
  ssize_t got;
  /* O_NONBLOCK: a FIFO at the path must not hang the load. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if(fd < 0) {
    snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  if(fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    snprintf(why, whylen, "%s is not a regular file", path);
    return NULL;
  }
  while(n < sizeof(buf) - 1 && (got = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
    if(got < 0 && errno == EINTR)
      continue;
    if(got < 0) {
      close(fd);
      snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
      return NULL;
    }
    n += (size_t)got;
  }
  close(fd);
  if(n > SKPI_CONFIG_MAX_TOKEN_FILE) {
    snprintf(why, whylen, "%s is larger than %d bytes", path, SKPI_CONFIG_MAX_TOKEN_FILE);
    return NULL;
  }
  buf[n] = '\0';
  while(n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    buf[--n] = '\0';
  if(!n || memchr(buf, '\0', n)) {
    snprintf(why, whylen, "%s holds no token", path);
    return NULL;
  }
  char *tok = strdup(buf);
  if(!tok)
    snprintf(why, whylen, "out of memory");
  return tok;
}

static skpi_err check_incidents(vctx *v, const json_t *out, int line, const char *path) {
  const json_t *tok = json_object_get(out, "webhook_token");
  const json_t *file = json_object_get(out, "webhook_token_file");
  char kp[256], why[512];
  if(tok && file)
    return vfail(v, line_of(v, tok), path, "set webhook_token or webhook_token_file, not both");
  if(file) {
    free(v->token);
    if(!(v->token = read_token(json_string_value(file), why, sizeof(why)))) {
      join(kp, sizeof(kp), path, "webhook_token_file");
      return vfail(v, line_of(v, file), kp, "%s", why);
    }
  }
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

/* Puts n (a new reference, may be NULL) in map under k in place of the text
 * value it had, keeping that text's line. */
static skpi_err replace_value(vctx *v, const json_t *map, const char *k, const json_t *it,
                              json_t *n) {
  if(mark(v, n, line_of(v, it)) != SKPI_OK) {
    json_decref(n);
    return SKPI_ENOMEM;
  }
  /* json_object_set_new takes n even when it fails. */
  return json_object_set_new((json_t *)map, k, n) == 0 ? SKPI_OK : SKPI_ENOMEM;
}

/* Values arrive as text (FT_STRMAP); thresholds are numbers. */
static skpi_err check_thresholds(vctx *v, const json_t *val, int line, const char *path) {
  const char *k;
  json_t *it;
  char kp[256], q[160];
  double x;
  json_object_foreach((json_t *)val, k, it) {
    join(kp, sizeof(kp), path, k);
    if(!json_is_string(it))
      continue;
    if(parse_number(json_string_value(it), &x) != 0) {
      quote(q, sizeof(q), json_string_value(it));
      return vfail(v, line_of(v, it), kp, "expected a number, got %s", q);
    }
    if(replace_value(v, val, k, it, json_real(x)) != SKPI_OK)
      return SKPI_ENOMEM;
  }
  return SKPI_OK;
}

/* Values arrive as text (FT_STRMAP); a series cap is a whole number of
 * series and its key a family name. */
static skpi_err check_series_caps(vctx *v, const json_t *val, int line, const char *path) {
  const char *k;
  json_t *it;
  char kp[256], q[160];
  double x;
  json_object_foreach((json_t *)val, k, it) {
    join(kp, sizeof(kp), path, k);
    if(!skpi_expo_valid_name(k)) {
      quote(q, sizeof(q), k);
      return vfail(v, line_of(v, it), kp, "expected a metric family name, got %s", q);
    }
    if(!json_is_string(it))
      continue;
    if(parse_number(json_string_value(it), &x) != 0 || x < 0 || x > SKPI_CONFIG_MAX_SERIES_CAP ||
       x != (double)(long long)x) {
      quote(q, sizeof(q), json_string_value(it));
      return vfail(v, line_of(v, it), kp, "expected a whole number from 0 to %d, got %s",
                   SKPI_CONFIG_MAX_SERIES_CAP, q);
    }
    if(replace_value(v, val, k, it, json_integer((json_int_t)x)) != SKPI_OK)
      return SKPI_ENOMEM;
  }
  return SKPI_OK;
}

/* "i/n", as --shard takes it. */
static skpi_err check_shard(vctx *v, const json_t *val, int line, const char *path) {
  skpi_shard sh;
  char msg[160];
  if(skpi_shard_parse(json_string_value(val), &sh, msg, sizeof(msg)) != SKPI_OK)
    return vfail(v, line, path, "%s", msg);
  return SKPI_OK;
}

/* Criteria stay text in the tree, so that each keeps its line (jansson's
 * true/false are shared and cannot carry one); the structs convert them. */
static skpi_err check_criteria(vctx *v, const json_t *val, int line, const char *path) {
  const char *k;
  json_t *it;
  char kp[256], q[160];
  int b;
  json_object_foreach((json_t *)val, k, it) {
    if(parse_bool(json_string_value(it), &b) != 0) {
      join(kp, sizeof(kp), path, k);
      quote(q, sizeof(q), json_string_value(it));
      return vfail(v, line_of(v, it), kp, "expected true or false, got %s", q);
    }
  }
  return SKPI_OK;
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

/* Rule ids are the policy audit's own (its rule table in policy.c), so a
 * new rule needs no row here. */
static const skpi_policy_rule_def *policy_rule(const char *id) {
  const skpi_policy_rule_def *t = skpi_policy_rules();
  for(size_t i = 0; i < SKPI_PR_COUNT; i++)
    if(!strcmp(t[i].id, id))
      return &t[i];
  return NULL;
}

static const char *policy_rule_at(size_t i) {
  return i < SKPI_PR_COUNT ? skpi_policy_rules()[i].id : NULL;
}

static skpi_err check_rule_id(vctx *v, const char *key, int line, const char *path) {
  return policy_rule(key) ? SKPI_OK : vfail(v, line, path, "unknown rule");
}

/* A threshold is refused for a rule that has none (naming, owner, ...). */
static skpi_err check_rules(vctx *v, const json_t *val, int line, const char *path) {
  const char *k;
  json_t *it;
  char kp[256];
  json_object_foreach((json_t *)val, k, it) {
    const json_t *th = json_object_get(it, "threshold");
    const skpi_policy_rule_def *r = policy_rule(k);
    if(th && r && isnan(r->threshold)) {
      pathf(kp, sizeof(kp), "%s.%s.threshold", path, k);
      return vfail(v, line_of(v, th), kp, "not used by rule %s", k);
    }
  }
  return SKPI_OK;
}

/* Each allowed cleanup.policy is delete, compact or both, comma separated
 * in any order, as Kafka writes it. */
static skpi_err check_cleanup(vctx *v, const json_t *val, int line, const char *path) {
  char ip[256], q[160];
  for(size_t i = 0; i < json_array_size(val); i++) {
    const json_t *it = json_array_get(val, i);
    const char *s = json_string_value(it);
    int ok = 1;
    while(ok && *s) {
      size_t n;
      s += strspn(s, " ");
      n = strcspn(s, ", ");
      ok = (n == 6 && !strncmp(s, "delete", 6)) || (n == 7 && !strncmp(s, "compact", 7));
      s += n;
      s += strspn(s, " ");
      if(ok && *s == ',' && *++s == '\0')
        ok = 0; /* a trailing comma */
    }
    if(!ok) {
      pathf(ip, sizeof(ip), "%s[%zu]", path, i);
      quote(q, sizeof(q), json_string_value(it));
      return vfail(v, line_of(v, it), ip, "expected delete, compact or \"compact,delete\", got %s",
                   q);
    }
  }
  return SKPI_OK;
}

/* ---------------------------------------------------------- the schema
 *
 * One row per key: path, type, default, bounds, cap and one line of
 * documentation; docs/config.md is rendered from these rows.  A new section
 * is a new field table, a `section` for it and one row in root_fields; a
 * new key is one row.  Order matters in root_fields only for inheritance: a
 * section must come after the ones its keys inherit from (global and probe
 * before clusters).  Caps and shared defaults are the SKPI_CONFIG_*
 * constants of config.h, never literals.
 */

#define ROW(k, t, fl, d, doc_)                                                                     \
  { .key = (k), .type = (t), .flags = (fl), .dflt = (d), .doc = (doc_) }
#define RANGE(k, t, fl, d, l, h, doc_)                                                             \
  { .key = (k), .type = (t), .flags = (fl), .dflt = (d), .lo = (l), .hi = (h), .doc = (doc_) }
#define ENUM(k, fl, d, c, doc_)                                                                    \
  { .key = (k), .type = FT_ENUM, .flags = (fl), .dflt = (d), .choices = (c), .doc = (doc_) }
#define LIST(k, t, fl, d, cap_, doc_)                                                              \
  { .key = (k), .type = (t), .flags = (fl), .dflt = (d), .cap = (cap_), .doc = (doc_) }
#define SUB(k, t, fl, s, doc_)                                                                     \
  { .key = (k), .type = (t), .flags = (fl), .sub = &(s), .doc = (doc_) }
#define SECTION(name, noun, fields, check, doc_)                                                   \
  static const section name = {(noun), (fields), sizeof(fields) / sizeof((fields)[0]), (check),    \
                               (doc_)}

static const field global_fields[] = {
    RANGE("sample_interval", FT_DURATION, F_GT, "15s", 0, 0,
          "how often each cluster is sampled; clusters inherit it"),
    RANGE("stale_ttl", FT_DURATION, F_GT, "5m", 0, 0,
          "how long a failing cluster's last data is still served, marked stale; inherited"),
    RANGE("request_timeout", FT_DURATION, F_GT, "10s", 0, 0,
          "bound on one Kafka request; inherited"),
    {.key = "listen_address",
     .type = FT_STRING,
     .flags = F_NONEMPTY,
     .dflt = ":10308",
     .check = check_listen,
     .doc = "`[host]:port` the HTTP server listens on"},
    {.key = "telemetry_path",
     .type = FT_STRING,
     .flags = F_NONEMPTY,
     .dflt = "/metrics",
     .maxlen = SKPI_CONFIG_MAX_PATH,
     .check = check_path,
     .doc = "path of the metrics, starting with `/`"},
    ENUM("log_level", 0, "info", "debug|info|warn|error", "lowest level logged"),
    ENUM("log_format", 0, "logfmt", "logfmt|json", "log line format"),
    {.key = "shard",
     .type = FT_STRING,
     .flags = F_NONEMPTY,
     .dflt = "0/1",
     .check = check_shard,
     .doc = "`i/n`: this exporter samples share i of n of every cluster's topics and groups "
            "(docs/scale.md); `--shard` overrides it"},
};
SECTION(global_sect, "global", global_fields, NULL,
        "Defaults for every cluster and the HTTP side.");

static const field filter_fields[] = {
    LIST("include", FT_REGEXLIST, 0, NULL, SKPI_CONFIG_MAX_FILTER_REGEXES,
         "a name passes when it matches one of these (or the list is empty)"),
    LIST("exclude", FT_REGEXLIST, 0, NULL, SKPI_CONFIG_MAX_FILTER_REGEXES,
         "and matches none of these"),
};
SECTION(filter_sect, "filter", filter_fields, NULL, NULL);

static const field state_fields[] = {
    ROW("path", FT_STRING, F_NONEMPTY, "streamkpi-state.json",
        "file that keeps incidents, histories and SLO counters across restarts"),
    RANGE("persist_interval", FT_DURATION, F_GT, "30s", 0, 0, "how often that file is written"),
};
SECTION(state_sect, "state", state_fields, NULL, "Where durable state lives.");

static const field probe_fields[] = {
    ROW("enabled", FT_BOOL, 0, "true", "run the canary probe"),
    ENUM("mode", 0, "produce-consume", "produce-consume|metadata-only",
         "produce and read back one message, or only check metadata"),
    ROW("topic", FT_STRING, F_NONEMPTY, "streamkpi-probe", "canary topic (created when missing)"),
    RANGE("replication_factor", FT_INT, F_MIN | F_MAX, "3", 1, 10,
          "of the canary topic; never more than the brokers there are"),
    RANGE("interval", FT_DURATION, F_GT, "10s", 0, 0, "time between probes"),
    RANGE("timeout", FT_DURATION, F_GT, "5s", 0, 0, "a probe slower than this failed"),
    RANGE("min_brokers", FT_INT, F_MIN | F_MAX, "1", 0, SKPI_CONFIG_MAX_CYCLES,
          "fewer live brokers than this counts as down"),
};
SECTION(probe_sect, "probe", probe_fields, NULL,
        "The canary probe, for every cluster; a cluster's own `probe` keys override these one "
        "by one.");

static const field incidents_fields[] = {
    RANGE("open_after", FT_INT, F_MIN | F_MAX, "3", 1, SKPI_CONFIG_MAX_CYCLES,
          "failed probes in a row that open an incident"),
    RANGE("resolve_after", FT_INT, F_MIN | F_MAX, "2", 1, SKPI_CONFIG_MAX_CYCLES,
          "good probes in a row that resolve it"),
    ROW("webhook_token", FT_STRING, F_NONEMPTY, NULL,
        "bearer token the Alertmanager webhook must send"),
    ROW("webhook_token_file", FT_STRING, F_NONEMPTY, NULL,
        "file holding that token (read at load, at most " SKPI__STR(
            SKPI_CONFIG_MAX_TOKEN_FILE) " bytes); not together with webhook_token"),
    ROW("webhook_open", FT_BOOL, 0, "false",
        "accept webhook requests without a token; without a token and this, "
        "`POST /api/v1/alertmanager` is refused (403)"),
    RANGE("max_body", FT_INT, F_MIN | F_MAX, "1048576", 1, SKPI_CONFIG_MAX_BODY,
          "largest webhook body accepted, in bytes"),
};
SECTION(incidents_sect, "incidents", incidents_fields, check_incidents,
        "Incidents opened by the probe and received from Alertmanager.");

static const field maintenance_fields[] = {
    ROW("start", FT_TIME, F_REQ, NULL, "window start"),
    ROW("end", FT_TIME, F_REQ, NULL, "window end, after start"),
    ROW("cluster", FT_STRING, F_NONEMPTY, NULL,
        "name of a configured cluster; without it the window covers all"),
    ROW("reason", FT_STRING, 0, NULL, "free text"),
};
SECTION(maintenance_sect, "maintenance window", maintenance_fields, check_maintenance,
        "Planned downtime: probe failures inside a window count neither against availability "
        "and SLOs nor towards incidents.");

static const field availability_fields[] = {
    RANGE("objective", FT_NUMBER, F_GT | F_LT, "0.999", 0, 1, "availability objective"),
    RANGE("window", FT_DURATION, F_GT, "30d", 0, 0, "window of that objective"),
};
SECTION(availability_sect, "availability", availability_fields, NULL,
        "Platform availability objective. No KPI reads it yet: an SLO with "
        "`sli: probe_availability` carries its own objective.");

static const field dlq_fields[] = {
    {.key = "patterns",
     .type = FT_STRLIST,
     .flags = 0,
     .dflt = "[\"{src}.dlq\", \"{src}-dlq\", \"dlq.{src}\", \"{src}.DLT\", \"{src}-dlt\"]",
     .cap = SKPI_CONFIG_MAX_DLQ_PATTERNS,
     .check = check_dlq,
     .doc = "names of dead-letter topics, `{src}` standing for the source topic (exactly once)"},
};
SECTION(dlq_sect, "dlq", dlq_fields, NULL, "How dead-letter topics are recognised.");

static const field onboarding_fields[] = {
    RANGE("lag_threshold", FT_INT, F_MIN | F_MAX, "100", 0, INT32_MAX,
          "a new consumer group with less lag than this has caught up"),
    ROW("baseline", FT_BOOL, 0, "true",
        "accepted but not read yet: groups present at the first sample are always the "
        "baseline"),
};
SECTION(onboarding_sect, "onboarding", onboarding_fields, NULL,
        "Time from a new consumer group's first commit to caught up.");

static const field consumer_status_fields[] = {
    RANGE("window", FT_DURATION, F_GT, "10m", 0, 0,
          "how far back a group's commits and lag are judged"),
    RANGE("min_points", FT_INT, F_MIN | F_MAX, "3", 2, 32,
          "samples needed in the window before a status other than OK is given"),
};
SECTION(consumer_status_sect, "consumer_status", consumer_status_fields, NULL,
        "How a consumer group's status (OK, WARNING, STALLED, STOPPED, ERROR, REWIND) is "
        "judged.");

static const field quality_fields[] = {
    {.key = "family",
     .type = FT_STRING,
     .flags = F_NONEMPTY,
     .dflt = "events_processed_total",
     .check = check_metric_name,
     .doc = "counter family of application outcomes"},
    {.key = "label",
     .type = FT_STRING,
     .flags = F_NONEMPTY,
     .dflt = "status",
     .check = check_metric_name,
     .doc = "label of that family holding the outcome"},
    LIST("good", FT_STRLIST, F_NONEMPTY, "[\"success\"]", SKPI_CONFIG_MAX_QUALITY_GOOD,
         "label values that count as good"),
};
SECTION(quality_sect, "quality", quality_fields, NULL, NULL);

static const field target_fields[] = {
    {.key = "name",
     .type = FT_STRING,
     .flags = F_REQ | F_UNIQUE,
     .maxlen = SKPI_CONFIG_MAX_NAME,
     .doc = "the `target` label"},
    ROW("url", FT_URL, F_REQ, NULL, "http:// or https:// URL (metrics: the full URL)"),
    ENUM("kind", 0, "metrics", "metrics|schema_registry|connect", "what the target serves"),
    RANGE("interval", FT_DURATION, F_GT, SKPI__STR(SKPI_CONFIG_TARGET_INTERVAL_S), 0, 0,
          "time between scrapes"),
    RANGE("timeout", FT_DURATION, F_GT, SKPI__STR(SKPI_CONFIG_TARGET_TIMEOUT_S), 0, 0,
          "bound on one whole scrape"),
    RANGE("max_bytes", FT_INT, F_MIN | F_MAX, SKPI__STR(SKPI_CONFIG_TARGET_MAX_BYTES), 1,
          SKPI_CONFIG_MAX_TARGET_BYTES, "larger responses are refused"),
    ROW("username", FT_STRING, 0, NULL, "basic auth user"),
    ROW("password", FT_STRING, 0, NULL, "basic auth password"),
    ROW("ca_file", FT_STRING, F_NONEMPTY, NULL, "PEM bundle to verify the server with"),
    ROW("insecure_skip_verify", FT_BOOL, 0, "false", "do not verify the TLS certificate"),
    SUB("quality", FT_SECTION, 0, quality_sect, "data quality from a counter of outcomes"),
};
SECTION(target_sect, "target", target_fields, NULL,
        "HTTP endpoints scraped beside Kafka: application metrics, a Schema Registry, Kafka "
        "Connect.");

static const field slo_fields[] = {
    {.key = "name",
     .type = FT_STRING,
     .flags = F_REQ | F_UNIQUE,
     .maxlen = SKPI_CONFIG_MAX_NAME,
     .doc = "the `slo` label"},
    ENUM("sli", F_REQ, NULL, "probe_availability|probe_latency|group_lag|dlq_ratio|app_ratio",
         "what is measured"),
    RANGE("objective", FT_NUMBER, F_REQ | F_GT | F_LT, NULL, 0, 1, "share of good events"),
    ENUM("window", 0, "30d", "28d|30d|calendar_month", "rolling 28 or 30 days, or the month"),
    ROW("cluster", FT_STRING, F_NONEMPTY, NULL, "name of a configured cluster; default all"),
    ROW("threshold", FT_STRING, F_NONEMPTY, NULL,
        "a duration for probe_latency and group_lag, a ratio 0..1 for dlq_ratio; refused for "
        "the others"),
    ROW("group", FT_STRING, F_NONEMPTY, NULL, "consumer group (required for group_lag)"),
    ROW("topic", FT_STRING, F_NONEMPTY, NULL, "source topic (required for dlq_ratio)"),
    ROW("target", FT_STRING, F_NONEMPTY, NULL,
        "name of a `targets` entry (required for app_ratio)"),
    ROW("description", FT_STRING, 0, NULL, "free text"),
};
SECTION(slo_sect, "SLO", slo_fields, check_slo, "Service level objectives.");

/* An absent value section arrives here too, with only its default period:
 * a value is declared only with its amount, currency and date together. */
static skpi_err check_product_value(vctx *v, const json_t *out, int line, const char *path) {
  static const char *const need[] = {"amount", "currency", "date"};
  int given = 0;
  for(size_t i = 0; i < 3; i++)
    given += json_object_get(out, need[i]) != NULL;
  for(size_t i = 0; given && i < 3; i++)
    if(!json_object_get(out, need[i]))
      return vfail(v, line, path, "missing required key %s", need[i]);
  return SKPI_OK;
}

static const field product_value_fields[] = {
    RANGE("amount", FT_NUMBER, F_MIN, NULL, 0, 0, "value per period (required in a value)"),
    ROW("currency", FT_STRING, F_NONEMPTY, NULL, "e.g. `EUR` (required in a value)"),
    ENUM("period", 0, "year", "day|month|year", "what the amount is per"),
    ROW("date", FT_DATE, 0, NULL,
        "when the value was declared: an RFC 3339 date or time (required in a value)"),
};
SECTION(product_value_sect, "value", product_value_fields, check_product_value,
        "The business value a product's owner declares, with the date it was declared.");

static const field product_fields[] = {
    ROW("name", FT_STRING, F_REQ | F_UNIQUE, NULL, "product name"),
    ROW("owner", FT_STRING, F_REQ, NULL, "owning team; its topics count for that team"),
    ROW("domain", FT_STRING, F_REQ, NULL, "business domain"),
    LIST("topics", FT_STRLIST, F_REQ | F_NONEMPTY, NULL, SKPI_CONFIG_MAX_PRODUCT_LIST,
         "exact topic names"),
    LIST("slos", FT_STRLIST, 0, NULL, SKPI_CONFIG_MAX_PRODUCT_LIST, "names of `slos` entries"),
    ROW("description", FT_STRING, 0, NULL, "free text"),
    RANGE("freshness", FT_DURATION, F_GT, NULL, 0, 0,
          "objective: the newest message on its topics is at most this old"),
    RANGE("time_lag", FT_DURATION, F_GT, NULL, 0, 0,
          "objective: its consumer groups are at most this far behind"),
    RANGE("availability", FT_NUMBER, F_GT | F_LT, NULL, 0, 1,
          "objective: share of probes of its cluster that find it healthy"),
    RANGE("dlq_ratio", FT_NUMBER, F_MIN | F_MAX, NULL, 0, 1,
          "objective: DLQ messages over DLQ plus source messages at most this"),
    RANGE("retention", FT_DURATION, F_GT, NULL, 0, 0,
          "objective: its topics keep data at least this long (needs the policy audit)"),
    {.key = "consumers",
     .type = FT_STRMAP,
     .what = "map group -> domain",
     .cap = SKPI_CONFIG_MAX_GROUP_DOMAINS,
     .doc = "consumer groups known to read it, with their business domain"},
    SUB("value", FT_SECTION, 0, product_value_sect, "declared business value"),
    ROW("value_target", FT_STRING, F_NONEMPTY, NULL,
        "name of a metrics target whose good events (its `quality` family and labels) count "
        "the value the product delivers"),
};
SECTION(product_sect, "product", product_fields, NULL, "Declared data products.");

static const field catalog_fields[] = {
    ROW("team_regex", FT_REGEX1, F_NONEMPTY, "^([A-Za-z0-9]+)[._-]",
        "regex with one capture group that takes the team out of a topic name"),
    {.key = "products",
     .type = FT_SECTLIST,
     .sub = &product_sect,
     .cap = SKPI_CONFIG_MAX_PRODUCTS,
     .doc = "data products"},
    LIST("group_domains", FT_REGEXMAP, 0, NULL, SKPI_CONFIG_MAX_GROUP_DOMAINS,
         "consumer group regex -> business domain"),
    ROW("contracts_dir", FT_STRING, F_NONEMPTY, NULL,
        "directory of ODCS v3 data contracts (`*.yaml`, `*.yml`) read as more products"),
    RANGE("slo_objective", FT_NUMBER, F_GT | F_LT, "0.99", 0, 1,
          "objective of every product SLO except availability"),
    RANGE("slo_window", FT_DURATION, F_MIN | F_MAX, "30d", 60, 31 * 86400.0,
          "rolling window of the product SLOs"),
};
SECTION(catalog_sect, "catalog", catalog_fields, NULL, "Teams, domains and data products.");

static const field survey_fields[] = {
    ROW("item", FT_STRING, F_REQ | F_NONEMPTY | F_UNIQUE, NULL,
        "survey item id, e.g. `skills` or `business_value`"),
    RANGE("score", FT_INT, F_REQ | F_MIN | F_MAX, NULL, 1, 5, "declared score"),
    ROW("date", FT_DATE, F_REQ, NULL, "when it was answered: an RFC 3339 date or time"),
};
SECTION(survey_sect, "survey item", survey_fields, NULL,
        "Declared answers for what cannot be observed on the wire.");

static const field maturity_fields[] = {
    {.key = "thresholds",
     .type = FT_STRMAP,
     .what = "map id -> number",
     .cap = SKPI_CONFIG_MAX_MATURITY_KEYS,
     .check = check_thresholds,
     .doc = "criterion id -> number overriding its threshold"},
    {.key = "criteria",
     .type = FT_STRMAP,
     .what = "map id -> bool",
     .cap = SKPI_CONFIG_MAX_MATURITY_KEYS,
     .check = check_criteria,
     .doc = "criterion id -> true or false to enable or disable it"},
    {.key = "survey",
     .type = FT_SECTLIST,
     .sub = &survey_sect,
     .cap = SKPI_CONFIG_MAX_SURVEY,
     .doc = "declared survey answers"},
    RANGE("survey_max_age", FT_DURATION, F_GT, "180d", 0, 0,
          "older survey answers are shown as stale"),
};
SECTION(maturity_sect, "maturity", maturity_fields, NULL,
        "Overrides and declared answers for the maturity assessment. Criterion ids are not "
        "checked here: the assessment knows them and reports an unknown one with its line.");

static const field policy_rule_fields[] = {
    ROW("enabled", FT_BOOL, 0, "true", "judge topics (or brokers) by this rule"),
    RANGE("threshold", FT_NUMBER, F_MIN, NULL, 0, 0,
          "replaces the rule's default threshold; refused for a rule that has none"),
    LIST("exempt", FT_REGEXLIST, 0, NULL, SKPI_CONFIG_MAX_POLICY_EXEMPT,
         "topics matching one of these are not judged by the rule"),
};
SECTION(policy_rule_sect, "policy rule", policy_rule_fields, NULL,
        "Rules and their default thresholds are listed in docs/policy.md; a rule left out keeps "
        "its defaults.");

static const field policy_fields[] = {
    ROW("enabled", FT_BOOL, 0, "true", "run the policy audit"),
    RANGE("interval", FT_DURATION, F_GT, "5m", 0, 0,
          "how often topic and broker configurations are read"),
    ROW("naming_regex", FT_REGEX, F_NONEMPTY, "^[a-z0-9]([._-][a-z0-9]|[a-z0-9])*$",
        "topic names must match it (rule `naming`)"),
    ROW("platform_team", FT_STRING, F_NONEMPTY, "platform",
        "the team whose new topics do not count as self-service"),
    RANGE("window", FT_DURATION, F_GT, "30d", 0, 0, "window of the self-service adoption ratio"),
    RANGE("max_violation_series", FT_INT, F_MIN | F_MAX, "1000", 0,
          SKPI_CONFIG_MAX_VIOLATION_SERIES,
          "most `streamkpi_topic_policy_violation` series; the rest are counted as dropped"),
    {.key = "allowed_cleanup_policies",
     .type = FT_STRLIST,
     .flags = F_NONEMPTY,
     .dflt = "[\"delete\", \"compact\", \"compact,delete\"]",
     .cap = SKPI_CONFIG_MAX_CLEANUP_POLICIES,
     .check = check_cleanup,
     .doc = "`cleanup.policy` values that pass rule `cleanup_policy`"},
    {.key = "rules",
     .type = FT_SECTMAP,
     .sub = &policy_rule_sect,
     .what = "map rule id -> rule",
     .check = check_rules,
     .check_key = check_rule_id,
     .key_at = policy_rule_at,
     .doc = "per-rule settings"},
};
SECTION(policy_sect, "policy", policy_fields, NULL,
        "The continuous audit of topic and broker configurations (docs/policy.md); a cluster's "
        "own `policy` keys override these one by one.");

static const field cluster_fields[] = {
    {.key = "name",
     .type = FT_STRING,
     .flags = F_REQ | F_NAME | F_UNIQUE,
     .maxlen = SKPI_CONFIG_MAX_NAME,
     .doc = "the `cluster` label"},
    ROW("bootstrap_servers", FT_STRING, F_REQ | F_NONEMPTY, NULL, "`host:port,...`"),
    ROW("role", FT_STRING, F_NONEMPTY, NULL, "what the cluster is for, e.g. `production`"),
    {.key = "properties",
     .type = FT_STRMAP,
     .what = "map name -> value",
     .cap = SKPI_CONFIG_MAX_PROPERTIES,
     .check = check_properties,
     .doc = "librdkafka properties as written (TLS, SASL, ...); unknown ones are refused"},
    SUB("topics", FT_SECTION, 0, filter_sect, "which topics are watched"),
    SUB("groups", FT_SECTION, 0, filter_sect, "which consumer groups are watched"),
    {.key = "sample_interval",
     .type = FT_DURATION,
     .flags = F_GT,
     .inherit = "global.sample_interval",
     .doc = "per-cluster override"},
    {.key = "stale_ttl",
     .type = FT_DURATION,
     .flags = F_GT,
     .inherit = "global.stale_ttl",
     .doc = "per-cluster override"},
    {.key = "request_timeout",
     .type = FT_DURATION,
     .flags = F_GT,
     .inherit = "global.request_timeout",
     .doc = "per-cluster override"},
    RANGE("max_inflight", FT_INT, F_MIN | F_MAX, "10", 1, 1000,
          "consumer group offset requests in flight"),
    RANGE("chunk_size", FT_INT, F_MIN | F_MAX, "2000", 1, 100000,
          "partitions per ListOffsets call"),
    RANGE("message_time_reads", FT_INT, F_MIN | F_MAX, "1000", 0, 100000,
          "message timestamps read per cycle for the time lag of commits older than the "
          "watermark history (0: off)"),
    {.key = "probe",
     .type = FT_SECTION,
     .sub = &probe_sect,
     .inherit = "probe",
     .doc = "keys of `probe`, overriding the top-level ones one by one"},
    {.key = "policy",
     .type = FT_SECTION,
     .sub = &policy_sect,
     .inherit = "policy",
     .doc = "keys of `policy`, overriding the top-level ones one by one (a rule named here "
            "overrides that rule's keys)"},
    ENUM("granularity", 0, "partition", "partition|topic",
         "`topic` emits the per-partition families once per topic, without the `partition` "
         "label (docs/scale.md says how each one is folded)"),
    SUB("families", FT_SECTION, 0, filter_sect,
        "which metric families of the Kafka sampler are emitted (regexes over family names)"),
    RANGE("series_cap", FT_INT, F_MIN | F_MAX, "0", 0, SKPI_CONFIG_MAX_SERIES_CAP,
          "most series one family of the Kafka sampler emits per cycle (0: no cap); the rest is "
          "counted in `streamkpi_series_dropped_total`"),
    {.key = "series_caps",
     .type = FT_STRMAP,
     .what = "map family -> number",
     .cap = SKPI_CONFIG_MAX_SERIES_CAPS,
     .check = check_series_caps,
     .doc = "family name -> its own series cap, over `series_cap` (0: no cap)"},
    RANGE("describe_interval", FT_DURATION, 0, "0s", 0, 0,
          "describe a consumer group again only after this long, or at once when the group "
          "listing shows a new state or a new group (0: every cycle); the members and "
          "assignments shown may be this old"),
    ENUM("group_offsets", 0, "admin", "admin|offsets_topic",
         "where committed offsets come from: `admin` asks each group's coordinator every cycle "
         "(two requests per group), `offsets_topic` reads the `__consumer_offsets` topic up to "
         "its end every cycle (a few requests per broker; needs Read on that topic; "
         "docs/scale.md)"),
};
SECTION(
    cluster_sect, "cluster", cluster_fields, NULL,
    "The Kafka clusters to watch (at least one, at most " SKPI__STR(SKPI_CONFIG_MAX_CLUSTERS) ").");

static const field root_fields[] = {
    SUB("global", FT_SECTION, 0, global_sect, NULL),
    SUB("state", FT_SECTION, 0, state_sect, NULL),
    SUB("probe", FT_SECTION, 0, probe_sect, NULL),
    SUB("incidents", FT_SECTION, 0, incidents_sect, NULL),
    SUB("availability", FT_SECTION, 0, availability_sect, NULL),
    SUB("dlq", FT_SECTION, 0, dlq_sect, NULL),
    SUB("onboarding", FT_SECTION, 0, onboarding_sect, NULL),
    SUB("consumer_status", FT_SECTION, 0, consumer_status_sect, NULL),
    {.key = "targets", .type = FT_SECTLIST, .sub = &target_sect, .cap = SKPI_CONFIG_MAX_TARGETS},
    {.key = "slos", .type = FT_SECTLIST, .sub = &slo_sect, .cap = SKPI_CONFIG_MAX_SLOS},
    SUB("catalog", FT_SECTION, 0, catalog_sect, NULL),
    SUB("maturity", FT_SECTION, 0, maturity_sect, NULL),
    SUB("policy", FT_SECTION, 0, policy_sect, NULL),
    {.key = "clusters",
     .type = FT_SECTLIST,
     .flags = F_REQ | F_NONEMPTY,
     .sub = &cluster_sect,
     .cap = SKPI_CONFIG_MAX_CLUSTERS},
    {.key = "maintenance",
     .type = FT_SECTLIST,
     .sub = &maintenance_sect,
     .cap = SKPI_CONFIG_MAX_MAINTENANCE},
};
SECTION(root_sect, "config", root_fields, check_root, NULL);

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
    if(skpi_regex_compile(&(*out)[i], json_string_value(json_array_get(list, i)), REG_NOSUB, NULL,
                          0) != SKPI_OK)
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

/* Readers of the validated tree, where every value has its converted JSON
 * type; dflt only covers a key that has no default. */
static const char *get_str(const json_t *obj, const char *key, const char *dflt) {
  const json_t *n = json_object_get(obj, key);
  return json_is_string(n) ? json_string_value(n) : dflt;
}

static long long get_int(const json_t *obj, const char *key, long long dflt) {
  const json_t *n = json_object_get(obj, key);
  return json_is_integer(n) ? (long long)json_integer_value(n) : dflt;
}

static double get_num(const json_t *obj, const char *key, double dflt) {
  const json_t *n = json_object_get(obj, key);
  return json_is_number(n) ? json_number_value(n) : dflt;
}

static int get_bool(const json_t *obj, const char *key, int dflt) {
  const json_t *n = json_object_get(obj, key);
  return json_is_boolean(n) ? json_is_true(n) : dflt;
}

static char *dup_key(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return strdup(s ? s : "");
}

/* Copies obj[key] into *out, or leaves *out NULL when the key is absent. */
static skpi_err dup_opt(const json_t *obj, const char *key, char **out) {
  const char *s = json_string_value(json_object_get(obj, key));
  *out = NULL;
  if(s && !(*out = strdup(s)))
    return SKPI_ENOMEM;
  return SKPI_OK;
}

/* Line of a validated node; 0 for defaults and booleans (jansson shares
 * true/false, so they cannot carry one). */
static int node_line(const linetab *lt, const json_t *n) {
  return n ? lt_get(lt, n) & LINE_MASK : 0;
}

/* Line of section `key` as written in raw, or 0 when the file left it out. */
static int raw_line(const linetab *lt, const json_t *raw, const char *key) {
  return node_line(lt, json_object_get(raw, key));
}

static void strlist_free(skpi_config_strlist *l) {
  for(size_t i = 0; l->v && i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  free(l->lines);
  memset(l, 0, sizeof(*l));
}

static skpi_err strlist_build(const linetab *lt, const json_t *arr, skpi_config_strlist *l) {
  size_t n = json_array_size(arr);
  if(!(l->v = calloc(n + 1, sizeof(*l->v))) || !(l->lines = calloc(n + 1, sizeof(*l->lines))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < n; i++) {
    const json_t *it = json_array_get(arr, i);
    if(!(l->v[i] = strdup(json_string_value(it))))
      return SKPI_ENOMEM;
    l->lines[i] = node_line(lt, it);
    l->n++;
  }
  return SKPI_OK;
}

static skpi_err probe_build(const linetab *lt, const json_t *o, int line, skpi_config_probe *p) {
  p->enabled = get_bool(o, "enabled", 1);
  p->mode = !strcmp(get_str(o, "mode", ""), "metadata-only") ? SKPI_CONFIG_PROBE_METADATA_ONLY
                                                             : SKPI_CONFIG_PROBE_PRODUCE_CONSUME;
  p->replication_factor = (int)get_int(o, "replication_factor", 0);
  p->interval_s = get_num(o, "interval", 0);
  p->timeout_s = get_num(o, "timeout", 0);
  p->min_brokers = (int)get_int(o, "min_brokers", 0);
  p->line = line;
  return (p->topic = dup_key(o, "topic")) ? SKPI_OK : SKPI_ENOMEM;
}

static void probe_free(skpi_config_probe *p) {
  free(p->topic);
}

static void policy_free(skpi_config_policy *p) {
  free(p->naming_regex);
  free(p->platform_team);
  strlist_free(&p->allowed_cleanup_policies);
  for(size_t i = 0; i < p->nrules; i++) {
    free(p->rules[i].id);
    strlist_free(&p->rules[i].exempt);
  }
  free(p->rules);
  memset(p, 0, sizeof(*p));
}

static skpi_err policy_build(const linetab *lt, const json_t *o, int line, skpi_config_policy *p) {
  const json_t *rules = json_object_get(o, "rules");
  const char *k;
  json_t *val;
  skpi_err rc;
  p->enabled = get_bool(o, "enabled", 1);
  p->interval_s = get_num(o, "interval", 0);
  p->window_s = get_num(o, "window", 0);
  p->max_violation_series = (size_t)get_int(o, "max_violation_series", 0);
  p->line = line;
  if(!(p->naming_regex = dup_key(o, "naming_regex")) ||
     !(p->platform_team = dup_key(o, "platform_team")) ||
     !(p->rules = calloc(json_object_size(rules) + 1, sizeof(*p->rules))))
    return SKPI_ENOMEM;
  if((rc = strlist_build(lt, json_object_get(o, "allowed_cleanup_policies"),
                         &p->allowed_cleanup_policies)) != SKPI_OK)
    return rc;
  json_object_foreach((json_t *)rules, k, val) {
    skpi_config_policy_rule *r = &p->rules[p->nrules++];
    r->enabled = get_bool(val, "enabled", 1);
    r->threshold = get_num(val, "threshold", NAN);
    r->line = node_line(lt, val);
    if(!(r->id = strdup(k)))
      return SKPI_ENOMEM;
    if((rc = strlist_build(lt, json_object_get(val, "exempt"), &r->exempt)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

static skpi_err series_caps_build(const json_t *o, skpi_cluster_cfg *cc) {
  const char *k;
  json_t *val;
  if(!json_object_size(o))
    return SKPI_OK;
  if(!(cc->series_caps = calloc(json_object_size(o), sizeof(*cc->series_caps))))
    return SKPI_ENOMEM;
  json_object_foreach((json_t *)o, k, val) {
    skpi_config_series_cap *sc = &cc->series_caps[cc->nseries_caps];
    if(!(sc->family = strdup(k)))
      return SKPI_ENOMEM;
    sc->cap = (long)json_integer_value(val);
    cc->nseries_caps++;
  }
  return SKPI_OK;
}

static skpi_err cluster_build(const linetab *lt, const json_t *o, const json_t *raw,
                              skpi_cluster_cfg *cc) {
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
  cc->sample_interval_s = get_num(o, "sample_interval", 0);
  cc->stale_ttl_s = get_num(o, "stale_ttl", 0);
  cc->request_timeout_s = get_num(o, "request_timeout", 0);
  cc->max_inflight = (int)get_int(o, "max_inflight", 0);
  cc->chunk_size = (int)get_int(o, "chunk_size", 0);
  cc->message_time_reads = (int)get_int(o, "message_time_reads", 0);
  cc->granularity = !strcmp(get_str(o, "granularity", ""), "topic")
                        ? SKPI_CONFIG_GRANULARITY_TOPIC
                        : SKPI_CONFIG_GRANULARITY_PARTITION;
  cc->series_cap = (long)get_int(o, "series_cap", 0);
  cc->describe_interval_s = get_num(o, "describe_interval", 0);
  cc->group_offsets = !strcmp(get_str(o, "group_offsets", ""), "offsets_topic")
                          ? SKPI_CONFIG_GROUP_OFFSETS_TOPIC
                          : SKPI_CONFIG_GROUP_OFFSETS_ADMIN;
  if((rc = filter_build(json_object_get(o, "families"), &cc->families)) != SKPI_OK ||
     (rc = series_caps_build(json_object_get(o, "series_caps"), cc)) != SKPI_OK)
    return rc;
  cc->line = node_line(lt, o);
  if((rc = dup_opt(o, "role", &cc->role)) != SKPI_OK ||
     (rc = probe_build(lt, json_object_get(o, "probe"), raw_line(lt, raw, "probe"), &cc->probe)) !=
         SKPI_OK)
    return rc;
  if(cc->probe.enabled && !(cc->probe_topic = strdup(cc->probe.topic)))
    return SKPI_ENOMEM;
  return policy_build(lt, json_object_get(o, "policy"), raw_line(lt, raw, "policy"), &cc->policy);
}

static void cluster_free(skpi_cluster_cfg *cc) {
  free(cc->name);
  free(cc->bootstrap_servers);
  free(cc->probe_topic);
  free(cc->role);
  probe_free(&cc->probe);
  policy_free(&cc->policy);
  for(size_t j = 0; j < cc->nproperties; j++) {
    free(cc->properties[j].key);
    free(cc->properties[j].value);
  }
  free(cc->properties);
  filter_free(&cc->topics);
  filter_free(&cc->groups);
  filter_free(&cc->families);
  for(size_t j = 0; j < cc->nseries_caps; j++)
    free(cc->series_caps[j].family);
  free(cc->series_caps);
}

static skpi_err incidents_build(skpi_config *c, const json_t *o, int line, char **token) {
  skpi_config_incidents *in = &c->incidents;
  skpi_err rc;
  in->open_after = (unsigned)get_int(o, "open_after", 0);
  in->resolve_after = (unsigned)get_int(o, "resolve_after", 0);
  in->max_body = (size_t)get_int(o, "max_body", 0);
  in->webhook_open = get_bool(o, "webhook_open", 0);
  in->line = line;
  if((rc = dup_opt(o, "webhook_token_file", &in->webhook_token_file)) != SKPI_OK)
    return rc;
  if(*token) {
    in->webhook_token = *token; /* read from the file while validating */
    *token = NULL;
    return SKPI_OK;
  }
  return dup_opt(o, "webhook_token", &in->webhook_token);
}

static skpi_err maintenance_build(skpi_config *c, const linetab *lt, const json_t *list) {
  size_t n = json_array_size(list);
  if(!(c->maintenance = calloc(n + 1, sizeof(*c->maintenance))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(list, i);
    skpi_config_maintenance *m = &c->maintenance[c->nmaintenance++];
    skpi_err rc;
    m->start = get_num(o, "start", 0);
    m->end = get_num(o, "end", 0);
    m->line = node_line(lt, o);
    if((rc = dup_opt(o, "cluster", &m->cluster)) != SKPI_OK ||
       (rc = dup_opt(o, "reason", &m->reason)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

static skpi_err targets_build(skpi_config *c, const linetab *lt, const json_t *list) {
  size_t n = json_array_size(list);
  if(!(c->targets = calloc(n + 1, sizeof(*c->targets))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(list, i), *q = json_object_get(o, "quality");
    skpi_config_target *t = &c->targets[c->ntargets++];
    const char *kind = get_str(o, "kind", "");
    skpi_err rc;
    t->kind = !strcmp(kind, "schema_registry") ? SKPI_CONFIG_TARGET_SCHEMA_REGISTRY
              : !strcmp(kind, "connect")       ? SKPI_CONFIG_TARGET_CONNECT
                                               : SKPI_CONFIG_TARGET_METRICS;
    t->interval_s = get_num(o, "interval", 0);
    t->timeout_s = get_num(o, "timeout", 0);
    t->max_bytes = (size_t)get_int(o, "max_bytes", 0);
    t->insecure_skip_verify = get_bool(o, "insecure_skip_verify", 0);
    t->line = node_line(lt, o);
    t->quality.line = node_line(lt, q);
    if(!(t->name = dup_key(o, "name")) || !(t->url = dup_key(o, "url")) ||
       !(t->quality.family = dup_key(q, "family")) || !(t->quality.label = dup_key(q, "label")))
      return SKPI_ENOMEM;
    if((rc = dup_opt(o, "username", &t->username)) != SKPI_OK ||
       (rc = dup_opt(o, "password", &t->password)) != SKPI_OK ||
       (rc = dup_opt(o, "ca_file", &t->ca_file)) != SKPI_OK ||
       (rc = strlist_build(lt, json_object_get(q, "good"), &t->quality.good)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

static skpi_err slos_build(skpi_config *c, const linetab *lt, const json_t *list) {
  static const char *const slis[] = {"probe_availability", "probe_latency", "group_lag",
                                     "dlq_ratio", "app_ratio"};
  size_t n = json_array_size(list);
  if(!(c->slos = calloc(n + 1, sizeof(*c->slos))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(list, i);
    skpi_config_slo *s = &c->slos[c->nslos++];
    const char *sli = get_str(o, "sli", ""), *win = get_str(o, "window", "");
    skpi_err rc;
    for(size_t k = 0; k < sizeof(slis) / sizeof(slis[0]); k++)
      if(!strcmp(sli, slis[k]))
        s->sli = (skpi_config_sli)k;
    s->objective = get_num(o, "objective", NAN);
    s->window = !strcmp(win, "28d")              ? SKPI_CONFIG_WINDOW_28D
                : !strcmp(win, "calendar_month") ? SKPI_CONFIG_WINDOW_CALENDAR_MONTH
                                                 : SKPI_CONFIG_WINDOW_30D;
    s->window_s = s->window == SKPI_CONFIG_WINDOW_28D   ? 28 * 86400.0
                  : s->window == SKPI_CONFIG_WINDOW_30D ? 30 * 86400.0
                                                        : 0;
    s->threshold = get_num(o, "threshold", NAN);
    s->line = node_line(lt, o);
    if(!(s->name = dup_key(o, "name")))
      return SKPI_ENOMEM;
    if((rc = dup_opt(o, "cluster", &s->cluster)) != SKPI_OK ||
       (rc = dup_opt(o, "group", &s->group)) != SKPI_OK ||
       (rc = dup_opt(o, "topic", &s->topic)) != SKPI_OK ||
       (rc = dup_opt(o, "target", &s->target)) != SKPI_OK ||
       (rc = dup_opt(o, "description", &s->description)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

static skpi_err catalog_build(skpi_config *c, const linetab *lt, const json_t *o, int line) {
  skpi_config_catalog *cat = &c->catalog;
  const json_t *prods = json_object_get(o, "products"), *gd = json_object_get(o, "group_domains");
  const char *k;
  json_t *val;
  skpi_err rc;
  cat->line = line;
  if(!(cat->team_regex = dup_key(o, "team_regex")) ||
     !(cat->products = calloc(json_array_size(prods) + 1, sizeof(*cat->products))) ||
     !(cat->group_domains = calloc(json_object_size(gd) + 1, sizeof(*cat->group_domains))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < json_array_size(prods); i++) {
    const json_t *p = json_array_get(prods, i);
    skpi_config_product *pr = &cat->products[cat->nproducts++];
    pr->line = node_line(lt, p);
    if(!(pr->name = dup_key(p, "name")) || !(pr->owner = dup_key(p, "owner")) ||
       !(pr->domain = dup_key(p, "domain")))
      return SKPI_ENOMEM;
    if((rc = strlist_build(lt, json_object_get(p, "topics"), &pr->topics)) != SKPI_OK ||
       (rc = strlist_build(lt, json_object_get(p, "slos"), &pr->slos)) != SKPI_OK ||
       (rc = dup_opt(p, "description", &pr->description)) != SKPI_OK)
      return rc;
    pr->freshness_s = get_num(p, "freshness", NAN);
    pr->time_lag_s = get_num(p, "time_lag", NAN);
    pr->availability = get_num(p, "availability", NAN);
    pr->dlq_ratio = get_num(p, "dlq_ratio", NAN);
    pr->retention_s = get_num(p, "retention", NAN);
    const json_t *cons = json_object_get(p, "consumers"), *v = json_object_get(p, "value");
    if(!(pr->consumers = calloc(json_object_size(cons) + 1, sizeof(*pr->consumers))))
      return SKPI_ENOMEM;
    json_object_foreach((json_t *)cons, k, val) {
      skpi_config_consumer *cn = &pr->consumers[pr->nconsumers++];
      cn->line = node_line(lt, val);
      if(!(cn->group = strdup(k)) || !(cn->domain = strdup(json_string_value(val))))
        return SKPI_ENOMEM;
    }
    if((rc = dup_opt(p, "value_target", &pr->value_target)) != SKPI_OK)
      return rc;
    if(json_object_get(v, "date")) {
      pr->value_amount = get_num(v, "amount", 0);
      pr->value_date = get_num(v, "date", 0);
      if(!(pr->value_currency = dup_key(v, "currency")) ||
         !(pr->value_period = dup_key(v, "period")))
        return SKPI_ENOMEM;
    }
  }
  cat->slo_objective = get_num(o, "slo_objective", 0.99);
  cat->slo_window_s = get_num(o, "slo_window", 30 * 86400.0);
  if((rc = dup_opt(o, "contracts_dir", &cat->contracts_dir)) != SKPI_OK)
    return rc;
  json_object_foreach((json_t *)gd, k, val) {
    skpi_config_group_domain *g = &cat->group_domains[cat->ngroup_domains++];
    g->line = node_line(lt, val);
    if(!(g->regex = strdup(k)) || !(g->domain = strdup(json_string_value(val))))
      return SKPI_ENOMEM;
  }
  return SKPI_OK;
}

static skpi_err maturity_build(skpi_config *c, const linetab *lt, const json_t *o, int line) {
  skpi_config_maturity *m = &c->maturity;
  const json_t *th = json_object_get(o, "thresholds"), *cr = json_object_get(o, "criteria");
  const json_t *sv = json_object_get(o, "survey");
  const char *k;
  json_t *val;
  m->line = line;
  m->survey_max_age_s = get_num(o, "survey_max_age", 0);
  if(!(m->thresholds = calloc(json_object_size(th) + 1, sizeof(*m->thresholds))) ||
     !(m->criteria = calloc(json_object_size(cr) + 1, sizeof(*m->criteria))) ||
     !(m->survey = calloc(json_array_size(sv) + 1, sizeof(*m->survey))))
    return SKPI_ENOMEM;
  json_object_foreach((json_t *)th, k, val) {
    skpi_config_threshold *t = &m->thresholds[m->nthresholds++];
    t->value = json_number_value(val);
    t->line = node_line(lt, val);
    if(!(t->id = strdup(k)))
      return SKPI_ENOMEM;
  }
  json_object_foreach((json_t *)cr, k, val) {
    skpi_config_criterion *cn = &m->criteria[m->ncriteria++];
    if(parse_bool(json_string_value(val), &cn->enabled) != 0)
      return SKPI_EINVAL; /* check_criteria let it through: cannot happen */
    cn->line = node_line(lt, val);
    if(!(cn->id = strdup(k)))
      return SKPI_ENOMEM;
  }
  for(size_t i = 0; i < json_array_size(sv); i++) {
    const json_t *it = json_array_get(sv, i);
    skpi_config_survey_item *s = &m->survey[m->nsurvey++];
    s->score = (int)get_int(it, "score", 0);
    s->date = get_num(it, "date", NAN);
    s->line = node_line(lt, it);
    if(!(s->item = dup_key(it, "item")))
      return SKPI_ENOMEM;
  }
  return SKPI_OK;
}

/* Fills every struct of c from the validated tree.  token (may be NULL) is
 * the webhook token read from its file while validating; taken over. */
static skpi_err structs_build(skpi_config *c, const ltree *lt_, char **token) {
  const linetab *lt = &lt_->lines;
  const json_t *t = lt_->tree, *raw = lt_->raw;
  const json_t *g = json_object_get(t, "global");
  const json_t *cl = json_object_get(t, "clusters"), *rcl = json_object_get(raw, "clusters");
  const json_t *o;
  skpi_err rc;
  if(!(c->listen_address = dup_key(g, "listen_address")) ||
     !(c->telemetry_path = dup_key(g, "telemetry_path")) ||
     !(c->log_level = dup_key(g, "log_level")) || !(c->log_format = dup_key(g, "log_format")))
    return SKPI_ENOMEM;
  if(!(c->clusters = calloc(json_array_size(cl) + 1, sizeof(skpi_cluster_cfg))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < json_array_size(cl); i++) {
    c->nclusters++;
    if((rc = cluster_build(lt, json_array_get(cl, i), json_array_get(rcl, i), &c->clusters[i])) !=
       SKPI_OK)
      return rc;
  }
  if(skpi_config_set_shard(c, get_str(g, "shard", "0/1"), NULL, 0) != SKPI_OK)
    return SKPI_EINVAL;
  o = json_object_get(t, "state");
  c->state.persist_interval_s = get_num(o, "persist_interval", 0);
  c->state.line = raw_line(lt, raw, "state");
  if(!(c->state.path = dup_key(o, "path")))
    return SKPI_ENOMEM;
  if((rc = probe_build(lt, json_object_get(t, "probe"), raw_line(lt, raw, "probe"), &c->probe)) !=
         SKPI_OK ||
     (rc = incidents_build(c, json_object_get(t, "incidents"), raw_line(lt, raw, "incidents"),
                           token)) != SKPI_OK ||
     (rc = maintenance_build(c, lt, json_object_get(t, "maintenance"))) != SKPI_OK)
    return rc;
  o = json_object_get(t, "availability");
  c->availability.objective = get_num(o, "objective", NAN);
  c->availability.window_s = get_num(o, "window", 0);
  c->availability.line = raw_line(lt, raw, "availability");
  c->dlq.line = raw_line(lt, raw, "dlq");
  if((rc = strlist_build(lt, json_object_get(json_object_get(t, "dlq"), "patterns"),
                         &c->dlq.patterns)) != SKPI_OK)
    return rc;
  o = json_object_get(t, "onboarding");
  c->onboarding.lag_threshold = get_int(o, "lag_threshold", 0);
  c->onboarding.baseline = get_bool(o, "baseline", 1);
  c->onboarding.line = raw_line(lt, raw, "onboarding");
  o = json_object_get(t, "consumer_status");
  c->consumer_status.window_s = get_num(o, "window", 0);
  c->consumer_status.min_points = (int)get_int(o, "min_points", 0);
  c->consumer_status.line = raw_line(lt, raw, "consumer_status");
  if((rc = targets_build(c, lt, json_object_get(t, "targets"))) != SKPI_OK ||
     (rc = slos_build(c, lt, json_object_get(t, "slos"))) != SKPI_OK ||
     (rc = catalog_build(c, lt, json_object_get(t, "catalog"), raw_line(lt, raw, "catalog"))) !=
         SKPI_OK)
    return rc;
  if((rc = maturity_build(c, lt, json_object_get(t, "maturity"), raw_line(lt, raw, "maturity"))) !=
     SKPI_OK)
    return rc;
  return policy_build(lt, json_object_get(t, "policy"), raw_line(lt, raw, "policy"), &c->policy);
}

static void structs_free(skpi_config *c) {
  for(size_t i = 0; i < c->nclusters; i++)
    cluster_free(&c->clusters[i]);
  free(c->clusters);
  free(c->listen_address);
  free(c->telemetry_path);
  free(c->log_level);
  free(c->log_format);
  free(c->state.path);
  probe_free(&c->probe);
  free(c->incidents.webhook_token);
  free(c->incidents.webhook_token_file);
  for(size_t i = 0; i < c->nmaintenance; i++) {
    free(c->maintenance[i].cluster);
    free(c->maintenance[i].reason);
  }
  free(c->maintenance);
  strlist_free(&c->dlq.patterns);
  for(size_t i = 0; i < c->ntargets; i++) {
    skpi_config_target *t = &c->targets[i];
    free(t->name);
    free(t->url);
    free(t->username);
    free(t->password);
    free(t->ca_file);
    free(t->quality.family);
    free(t->quality.label);
    strlist_free(&t->quality.good);
  }
  free(c->targets);
  for(size_t i = 0; i < c->nslos; i++) {
    skpi_config_slo *s = &c->slos[i];
    free(s->name);
    free(s->cluster);
    free(s->group);
    free(s->topic);
    free(s->target);
    free(s->description);
  }
  free(c->slos);
  for(size_t i = 0; i < c->catalog.nproducts; i++) {
    skpi_config_product *p = &c->catalog.products[i];
    free(p->name);
    free(p->owner);
    free(p->domain);
    free(p->description);
    strlist_free(&p->topics);
    strlist_free(&p->slos);
    for(size_t j = 0; j < p->nconsumers; j++) {
      free(p->consumers[j].group);
      free(p->consumers[j].domain);
    }
    free(p->consumers);
    free(p->value_currency);
    free(p->value_period);
    free(p->value_target);
  }
  free(c->catalog.products);
  for(size_t i = 0; i < c->catalog.ngroup_domains; i++) {
    free(c->catalog.group_domains[i].regex);
    free(c->catalog.group_domains[i].domain);
  }
  free(c->catalog.group_domains);
  free(c->catalog.team_regex);
  free(c->catalog.contracts_dir);
  for(size_t i = 0; i < c->maturity.nthresholds; i++)
    free(c->maturity.thresholds[i].id);
  free(c->maturity.thresholds);
  for(size_t i = 0; i < c->maturity.ncriteria; i++)
    free(c->maturity.criteria[i].id);
  free(c->maturity.criteria);
  for(size_t i = 0; i < c->maturity.nsurvey; i++)
    free(c->maturity.survey[i].item);
  free(c->maturity.survey);
  policy_free(&c->policy);
}

/* ------------------------------------------------------------ public API */

void skpi_config_free(skpi_config *c) {
  if(!c)
    return;
  structs_free(c);
  free(c->path);
  free(c);
}

static void ltree_free(ltree *t) {
  json_decref(t->tree);
  json_decref(t->raw);
  lt_free(&t->lines);
}

/* Validates t->raw into t->tree and fills the structs of c. */
static skpi_err finish(skpi_config *c, ltree *t, const char *file, int root_line, char *err,
                       size_t errlen) {
  vctx v = {.file = file, .err = err, .errlen = errlen, .lines = &t->lines};
  skpi_err rc;
  if(!json_is_object(t->raw))
    return vfail(&v, root_line, NULL, "expected a mapping of sections at the top level, got %s",
                 kind(t->raw));
  if((rc = validate_section(&v, &root_sect, t->raw, root_line, "", NULL, &t->tree)) != SKPI_OK)
    goto out;
  if((rc = structs_build(c, t, &v.token)) != SKPI_OK)
    snprintf(err, errlen, "%s: %s", file, skpi_strerror(rc));
out:
  free(v.token);
  return rc;
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
  ltree t = {0};
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
  if(!(c = calloc(1, sizeof(*c))) || !(c->path = strdup(path))) {
    rc = SKPI_ENOMEM;
    snprintf(errbuf, errlen, "%s: %s", path, skpi_strerror(rc));
    goto out;
  }
  if((rc = yaml_to_json(path, b.data ? b.data : "", b.len, &t.lines, &t.raw, &root_line, errbuf,
                        errlen)) != SKPI_OK)
    goto out;
  if(!t.raw) {
    snprintf(errbuf, errlen, "%s:1: the file is empty: at least a clusters list is required", path);
    rc = SKPI_EINVAL;
    goto out;
  }
  rc = finish(c, &t, path, root_line, errbuf, errlen);
out:
  skpi_buf_free(&b);
  ltree_free(&t);
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
  ltree t = {0};
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
  if(!(c = calloc(1, sizeof(*c))) || !(t.raw = json_object()) || !(cl = json_object()) ||
     json_object_set_new(cl, "name", json_string("default")) != 0 ||
     json_object_set_new(cl, "bootstrap_servers", json_string(brokers)) != 0 ||
     json_object_set_new(t.raw, "clusters", json_pack("[o]", cl)) != 0) {
    if(!t.raw || !json_object_get(t.raw, "clusters"))
      json_decref(cl);
    snprintf(errbuf, errlen, "%s: %s", src, skpi_strerror(rc));
    goto out;
  }
  rc = finish(c, &t, src, 0, errbuf, errlen);
out:
  ltree_free(&t);
  if(rc != SKPI_OK) {
    skpi_config_free(c);
    return rc;
  }
  *out = c;
  return SKPI_OK;
}

skpi_err skpi_config_set_shard(skpi_config *c, const char *text, char *errbuf, size_t errlen) {
  skpi_shard sh;
  skpi_err rc = skpi_shard_parse(text, &sh, errbuf, errlen);
  if(rc != SKPI_OK)
    return rc;
  c->shard = sh;
  for(size_t i = 0; i < c->nclusters; i++)
    c->clusters[i].shard = sh;
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

void skpi_config_error(const skpi_config *c, int line, const char *key, const char *msg,
                       char *errbuf, size_t errlen) {
  const char *file = !c ? "config" : c->path ? c->path : "--kafka.brokers";
  if(!errbuf || !errlen)
    return;
  if(key && *key)
    snprintf(errbuf, errlen, "%s:%d: %s: %s", file, line, key, msg ? msg : "");
  else
    snprintf(errbuf, errlen, "%s:%d: %s", file, line, msg ? msg : "");
}

const section *skpi__config_root(void) {
  return &root_sect;
}
