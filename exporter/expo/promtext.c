/* promtext.c: bounded Prometheus text-format 0.0.4 parser. */
#include "streamkpi/promtext.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parser state for one input: limits, the scratch area names and unescaped
 * values are copied into, and the pointer arrays handed to the callback. */
typedef struct parser {
  skpi_promtext_limits lim;
  const char *family;
  size_t family_len;
  skpi_promtext_cb cb;
  void *ud;
  char *scratch; /* 2 * max_line + 2 bytes: enough for every string of a line */
  size_t used;
  const char **lnames;
  const char **lvalues;
  size_t nsamples;
  size_t lineno;
  char *errbuf;
  size_t errlen;
} parser;

/* A cursor over one line (no newline inside). */
typedef struct cursor {
  const char *p;
  const char *end;
} cursor;

static skpi_err fail(parser *ps, skpi_err rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static skpi_err fail(parser *ps, skpi_err rc, const char *fmt, ...) {
  if(ps->errbuf && ps->errlen) {
    int n = snprintf(ps->errbuf, ps->errlen, "line %zu: ", ps->lineno);
    if(n >= 0 && (size_t)n < ps->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(ps->errbuf + n, ps->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return rc;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static void skip_blanks(cursor *c) {
  while(c->p < c->end && is_blank(*c->p))
    c->p++;
}

static int name_start(char c, int metric) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}

static int name_char(char c, int metric) { return name_start(c, metric) || (c >= '0' && c <= '9'); }

/* Reads a metric (metric=1) or label name into scratch and returns it, or
 * NULL with *rc set. */
static const char *read_name(parser *ps, cursor *c, int metric, skpi_err *rc) {
  const char *s = c->p;
  if(c->p >= c->end || !name_start(*c->p, metric)) {
    *rc = fail(ps, SKPI_EINVAL, "expected a %s name", metric ? "metric" : "label");
    return NULL;
  }
  while(c->p < c->end && name_char(*c->p, metric))
    c->p++;
  size_t n = (size_t)(c->p - s);
  if(n > ps->lim.max_name) {
    *rc = fail(ps, SKPI_ETOOBIG, "name longer than %zu bytes", ps->lim.max_name);
    return NULL;
  }
  char *out = ps->scratch + ps->used;
  memcpy(out, s, n);
  out[n] = '\0';
  ps->used += n + 1;
  return out;
}

/* Reads a quoted label value, unescaping it into scratch. */
static const char *read_value(parser *ps, cursor *c, skpi_err *rc) {
  if(c->p >= c->end || *c->p != '"') {
    *rc = fail(ps, SKPI_EINVAL, "expected '\"' to open a label value");
    return NULL;
  }
  c->p++;
  char *out = ps->scratch + ps->used;
  size_t n = 0;
  for(;;) {
    if(c->p >= c->end) {
      *rc = fail(ps, SKPI_EINVAL, "unterminated label value");
      return NULL;
    }
    char ch = *c->p++;
    if(ch == '"')
      break;
    if(ch == '\\') {
      if(c->p >= c->end) {
        *rc = fail(ps, SKPI_EINVAL, "unterminated escape in label value");
        return NULL;
      }
      char e = *c->p++;
      if(e == 'n')
        ch = '\n';
      else if(e == '\\' || e == '"')
        ch = e;
      else {
        *rc = fail(ps, SKPI_EINVAL, "invalid escape '\\%c' in label value",
                   (e >= 0x20 && e < 0x7f) ? e : '?');
        return NULL;
      }
    }
    if(n >= ps->lim.max_value) {
      *rc = fail(ps, SKPI_ETOOBIG, "label value longer than %zu bytes", ps->lim.max_value);
      return NULL;
    }
    out[n++] = ch;
  }
  out[n] = '\0';
  ps->used += n + 1;
  return out;
}

/* Parses a sample value token: decimal/exponent floats or the special
 * words.  strtod alone would also take hex floats and "infinity". */
static int parse_float(const char *s, size_t n, double *out) {
  char tmp[64];
  if(n == 0 || n >= sizeof(tmp))
    return -1;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  const char *w = tmp;
  double sign = 1.0;
  if(*w == '+' || *w == '-') {
    sign = *w == '-' ? -1.0 : 1.0;
    w++;
  }
  if(strcasecmp(w, "inf") == 0) {
    *out = sign * INFINITY;
    return 0;
  }
  if(strcasecmp(tmp, "nan") == 0) {
    *out = NAN;
    return 0;
  }
  for(size_t i = 0; i < n; i++) {
    char ch = tmp[i];
    if(!((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' ||
         ch == '-'))
      return -1;
  }
  char *end = NULL;
  errno = 0;
  double v = strtod(tmp, &end);
  if(end != tmp + n || end == tmp)
    return -1;
  /* Overflow to +-Inf is a value the exposer meant to be huge: keep it; an
   * underflow to 0 is harmless.  Both set ERANGE, which we accept. */
  *out = v;
  return 0;
}

static int parse_ts(const char *s, size_t n, int64_t *out) {
  char tmp[32];
  if(n == 0 || n >= sizeof(tmp))
    return -1;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  for(size_t i = 0; i < n; i++)
    if(!((tmp[i] >= '0' && tmp[i] <= '9') || (i == 0 && (tmp[i] == '-' || tmp[i] == '+'))))
      return -1;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(tmp, &end, 10);
  if(errno == ERANGE || end != tmp + n || end == tmp)
    return -1;
  *out = (int64_t)v;
  return 0;
}

/* Returns the length of the token at the cursor (up to a blank or the end). */
static size_t token_len(const cursor *c) {
  const char *p = c->p;
  while(p < c->end && !is_blank(*p))
    p++;
  return (size_t)(p - c->p);
}

static int family_match(const parser *ps, const char *name) {
  static const char *const suffixes[] = {"", "_total", "_bucket", "_sum", "_count", "_created"};
  if(!ps->family)
    return 1;
  if(strncmp(name, ps->family, ps->family_len) != 0)
    return 0;
  const char *rest = name + ps->family_len;
  for(size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
    if(strcmp(rest, suffixes[i]) == 0)
      return 1;
  return 0;
}

static skpi_err parse_comment(parser *ps, cursor *c) {
  skpi_err rc = SKPI_OK;
  c->p++; /* '#' */
  skip_blanks(c);
  size_t n = token_len(c);
  int help = n == 4 && memcmp(c->p, "HELP", 4) == 0;
  int type = n == 4 && memcmp(c->p, "TYPE", 4) == 0;
  if(!help && !type)
    return SKPI_OK; /* a plain comment */
  c->p += 4;
  if(c->p < c->end && !is_blank(*c->p))
    return fail(ps, SKPI_EINVAL, "expected a blank after %s", help ? "HELP" : "TYPE");
  skip_blanks(c);
  if(!read_name(ps, c, 1, &rc))
    return rc;
  if(help) {
    /* The docstring is free text; only the name separator is checked. */
    if(c->p < c->end && !is_blank(*c->p))
      return fail(ps, SKPI_EINVAL, "bad character after the HELP name");
    return SKPI_OK;
  }
  if(c->p >= c->end || !is_blank(*c->p))
    return fail(ps, SKPI_EINVAL, "TYPE needs a type");
  skip_blanks(c);
  static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
  n = token_len(c);
  int ok = 0;
  for(size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if(strlen(types[i]) == n && memcmp(c->p, types[i], n) == 0)
      ok = 1;
  if(!ok)
    return fail(ps, SKPI_EINVAL, "unknown metric type");
  c->p += n;
  skip_blanks(c);
  if(c->p != c->end)
    return fail(ps, SKPI_EINVAL, "trailing characters after TYPE");
  return SKPI_OK;
}

static skpi_err parse_labels(parser *ps, cursor *c, size_t *nlabels) {
  skpi_err rc = SKPI_OK;
  size_t n = 0;
  c->p++; /* '{' */
  for(;;) {
    skip_blanks(c);
    if(c->p < c->end && *c->p == '}') {
      c->p++;
      break;
    }
    if(n >= ps->lim.max_labels)
      return fail(ps, SKPI_ETOOBIG, "more than %zu label pairs", ps->lim.max_labels);
    const char *ln = read_name(ps, c, 0, &rc);
    if(!ln)
      return rc;
    for(size_t i = 0; i < n; i++)
      if(strcmp(ps->lnames[i], ln) == 0)
        return fail(ps, SKPI_EINVAL, "duplicate label name '%s'", ln);
    skip_blanks(c);
    if(c->p >= c->end || *c->p != '=')
      return fail(ps, SKPI_EINVAL, "expected '=' after label name");
    c->p++;
    skip_blanks(c);
    const char *lv = read_value(ps, c, &rc);
    if(!lv)
      return rc;
    ps->lnames[n] = ln;
    ps->lvalues[n] = lv;
    n++;
    skip_blanks(c);
    if(c->p < c->end && *c->p == ',') {
      c->p++;
      continue;
    }
    if(c->p < c->end && *c->p == '}') {
      c->p++;
      break;
    }
    return fail(ps, SKPI_EINVAL, "expected ',' or '}' in label set");
  }
  *nlabels = n;
  return SKPI_OK;
}

static skpi_err parse_sample(parser *ps, cursor *c) {
  skpi_err rc = SKPI_OK;
  skpi_promtext_sample s;
  memset(&s, 0, sizeof(s));
  s.line = ps->lineno;
  s.name = read_name(ps, c, 1, &rc);
  if(!s.name)
    return rc;
  const char *after_name = c->p;
  skip_blanks(c);
  if(c->p < c->end && *c->p == '{') {
    if((rc = parse_labels(ps, c, &s.nlabels)) != SKPI_OK)
      return rc;
    skip_blanks(c);
  } else if(c->p == after_name && c->p < c->end) {
    return fail(ps, SKPI_EINVAL, "invalid character in metric name");
  }
  size_t n = token_len(c);
  if(parse_float(c->p, n, &s.value) != 0)
    return fail(ps, SKPI_EINVAL, "invalid sample value");
  c->p += n;
  skip_blanks(c);
  if(c->p < c->end) {
    n = token_len(c);
    if(parse_ts(c->p, n, &s.timestamp_ms) != 0)
      return fail(ps, SKPI_EINVAL, "invalid timestamp");
    s.has_timestamp = 1;
    c->p += n;
    skip_blanks(c);
    if(c->p != c->end)
      return fail(ps, SKPI_EINVAL, "trailing characters after the sample");
  }
  if(++ps->nsamples > ps->lim.max_samples)
    return fail(ps, SKPI_ETOOBIG, "more than %zu samples", ps->lim.max_samples);
  s.label_names = ps->lnames;
  s.label_values = ps->lvalues;
  if(ps->cb && family_match(ps, s.name))
    return ps->cb(&s, ps->ud);
  return SKPI_OK;
}

static skpi_err parse_line(parser *ps, const char *p, size_t n) {
  cursor c = {p, p + n};
  if(n > 0 && c.end[-1] == '\r')
    c.end--;
  ps->used = 0;
  skip_blanks(&c);
  if(c.p == c.end)
    return SKPI_OK;
  if(*c.p == '#')
    return parse_comment(ps, &c);
  return parse_sample(ps, &c);
}

skpi_err skpi_promtext_parse(const char *data, size_t len, const skpi_promtext_limits *limits,
                             const char *family, skpi_promtext_cb cb, void *ud, char *errbuf,
                             size_t errlen) {
  skpi_err rc = SKPI_OK;
  parser ps;
  memset(&ps, 0, sizeof(ps));
  if(limits)
    ps.lim = *limits;
  if(!ps.lim.max_line)
    ps.lim.max_line = 65536;
  if(!ps.lim.max_samples)
    ps.lim.max_samples = 1000000;
  if(!ps.lim.max_labels)
    ps.lim.max_labels = 64;
  if(!ps.lim.max_name)
    ps.lim.max_name = 256;
  if(!ps.lim.max_value)
    ps.lim.max_value = 4096;
  ps.family = family;
  ps.family_len = family ? strlen(family) : 0;
  ps.cb = cb;
  ps.ud = ud;
  ps.errbuf = errbuf;
  ps.errlen = errlen;
  if(errbuf && errlen)
    errbuf[0] = '\0';
  if(!data && len) {
    rc = fail(&ps, SKPI_EINVAL, "no data");
    goto out;
  }
  if(ps.lim.max_line > ((size_t)-1) / 4) {
    rc = fail(&ps, SKPI_EINVAL, "max_line too large");
    goto out;
  }
  ps.scratch = malloc(2 * ps.lim.max_line + 2);
  ps.lnames = calloc(ps.lim.max_labels, sizeof(*ps.lnames));
  ps.lvalues = calloc(ps.lim.max_labels, sizeof(*ps.lvalues));
  if(!ps.scratch || !ps.lnames || !ps.lvalues) {
    rc = fail(&ps, SKPI_ENOMEM, "out of memory");
    goto out;
  }
  size_t pos = 0;
  while(pos < len) {
    ps.lineno++;
    const char *ls = data + pos;
    const char *nl = memchr(ls, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - ls) : len - pos;
    pos += n + (nl ? 1 : 0);
    if(n > ps.lim.max_line) {
      rc = fail(&ps, SKPI_ETOOBIG, "line longer than %zu bytes", ps.lim.max_line);
      goto out;
    }
    if(memchr(ls, '\0', n)) {
      rc = fail(&ps, SKPI_EINVAL, "NUL byte in input");
      goto out;
    }
    if((rc = parse_line(&ps, ls, n)) != SKPI_OK)
      goto out;
  }
out:
  free(ps.scratch);
  free(ps.lnames);
  free(ps.lvalues);
  return rc;
}
