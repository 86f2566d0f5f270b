/* history.c: one assessment per UTC day (see assess_history.h). */
#include "streamkpi/assess_history.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_S 86400.0
#define EVIDENCE_DIGITS "%.6g" /* evidence is kept to 6 significant digits */

typedef struct rec {
  long day;
  signed char level, stage, dims[SKPI_DIM_COUNT];
  size_t nc;  /* entries in st/ev: ids known when recorded */
  char *st;   /* 'm', 'n', 'u', '-' per criterion id */
  double *ev; /* NaN when unknown */
} rec;

struct skpi_assess_history {
  rec *d;
  size_t n, cap;
  char **ids;
  size_t nids;
};

skpi_assess_history *skpi_assess_history_new(void) {
  return calloc(1, sizeof(skpi_assess_history));
}

static void rec_clear(rec *r) {
  free(r->st);
  free(r->ev);
  memset(r, 0, sizeof(*r));
}

static void clear(skpi_assess_history *h) {
  for(size_t i = 0; i < h->n; i++)
    rec_clear(&h->d[i]);
  for(size_t i = 0; i < h->nids; i++)
    free(h->ids[i]);
  free(h->d);
  free(h->ids);
  memset(h, 0, sizeof(*h));
}

void skpi_assess_history_free(skpi_assess_history *h) {
  if(!h)
    return;
  clear(h);
  free(h);
}

static ssize_t id_index(const skpi_assess_history *h, const char *id) {
  for(size_t i = 0; i < h->nids; i++)
    if(strcmp(h->ids[i], id) == 0)
      return (ssize_t)i;
  return -1;
}

static skpi_err add_id(skpi_assess_history *h, const char *id) {
  if(h->nids >= SKPI_ASSESS_HISTORY_MAX_CRITERIA)
    return SKPI_ETOOBIG;
  char **v = realloc(h->ids, (h->nids + 1) * sizeof(*v));
  if(!v)
    return SKPI_ENOMEM;
  h->ids = v;
  if(!(h->ids[h->nids] = strdup(id)))
    return SKPI_ENOMEM;
  h->nids++;
  return SKPI_OK;
}

static char status_char(enum skpi_assess_status s) {
  return s == SKPI_ST_MET ? 'm' : s == SKPI_ST_UNMET ? 'n' : 'u';
}

static double round_evidence(double v) {
  char tmp[64];
  if(isnan(v))
    return v;
  snprintf(tmp, sizeof(tmp), EVIDENCE_DIGITS, v);
  return strtod(tmp, NULL);
}

/* Puts r at its day's place: replaces that day, or inserts in order, then
 * drops the oldest beyond the cap.  Takes r's arrays. */
static skpi_err place(skpi_assess_history *h, rec *r) {
  size_t pos = h->n;
  while(pos > 0 && h->d[pos - 1].day >= r->day)
    pos--;
  if(pos < h->n && h->d[pos].day == r->day) {
    rec_clear(&h->d[pos]);
    h->d[pos] = *r;
    return SKPI_OK;
  }
  if(h->n == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 64;
    rec *v = realloc(h->d, cap * sizeof(*v));
    if(!v)
      return SKPI_ENOMEM;
    h->d = v;
    h->cap = cap;
  }
  memmove(&h->d[pos + 1], &h->d[pos], (h->n - pos) * sizeof(*h->d));
  h->d[pos] = *r;
  h->n++;
  if(h->n > SKPI_ASSESS_HISTORY_DAYS) {
    size_t drop = h->n - SKPI_ASSESS_HISTORY_DAYS;
    for(size_t i = 0; i < drop; i++)
      rec_clear(&h->d[i]);
    memmove(h->d, h->d + drop, (h->n - drop) * sizeof(*h->d));
    h->n -= drop;
  }
  return SKPI_OK;
}

skpi_err skpi_assess_history_record(skpi_assess_history *h, const skpi_assessment *a) {
  if(!h || !a || !isfinite(a->time) || a->time < 0 ||
     a->time / DAY_S >= SKPI_ASSESS_HISTORY_MAX_DAY)
    return SKPI_EINVAL;
  size_t added = 0;
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < a->nresults; i++)
    if(a->results[i].enabled && id_index(h, a->results[i].c->id) < 0)
      added++;
  if(h->nids + added > SKPI_ASSESS_HISTORY_MAX_CRITERIA)
    return SKPI_ETOOBIG;
  for(size_t i = 0; i < a->nresults; i++)
    if(a->results[i].enabled && id_index(h, a->results[i].c->id) < 0 &&
       (rc = add_id(h, a->results[i].c->id)) != SKPI_OK)
      return rc;
  rec r = {.day = (long)floor(a->time / DAY_S),
           .level = (signed char)a->level,
           .stage = (signed char)a->stage,
           .nc = h->nids};
  for(int d = 0; d < SKPI_DIM_COUNT; d++)
    r.dims[d] = (signed char)a->dims[d].level;
  r.st = malloc(r.nc + 1);
  r.ev = malloc((r.nc ? r.nc : 1) * sizeof(double));
  if(!r.st || !r.ev) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  memset(r.st, '-', r.nc);
  r.st[r.nc] = '\0';
  for(size_t i = 0; i < r.nc; i++)
    r.ev[i] = NAN;
  for(size_t i = 0; i < a->nresults; i++) {
    const skpi_assess_result *res = &a->results[i];
    if(!res->enabled)
      continue;
    size_t k = (size_t)id_index(h, res->c->id);
    r.st[k] = status_char(res->status);
    r.ev[k] = res->status == SKPI_ST_UNKNOWN ? NAN : round_evidence(res->value);
  }
  if((rc = place(h, &r)) == SKPI_OK)
    return SKPI_OK;
out:
  rec_clear(&r);
  return rc;
}

size_t skpi_assess_history_len(const skpi_assess_history *h) {
  return h ? h->n : 0;
}

int skpi_assess_history_day(const skpi_assess_history *h, size_t i, skpi_assess_day *out) {
  if(!h || i >= h->n || !out)
    return 0;
  const rec *r = &h->d[i];
  out->day = r->day;
  out->level = r->level;
  out->stage = r->stage;
  for(int d = 0; d < SKPI_DIM_COUNT; d++)
    out->dims[d] = r->dims[d];
  return 1;
}

static enum skpi_assess_status status_of(char c) {
  return c == 'm' ? SKPI_ST_MET : c == 'n' ? SKPI_ST_UNMET : SKPI_ST_UNKNOWN;
}

int skpi_assess_history_criterion(const skpi_assess_history *h, size_t i, const char *id,
                                  enum skpi_assess_status *st, double *value) {
  if(!h || i >= h->n || !id)
    return 0;
  ssize_t k = id_index(h, id);
  const rec *r = &h->d[i];
  if(k < 0 || (size_t)k >= r->nc || r->st[k] == '-')
    return 0;
  if(st)
    *st = status_of(r->st[k]);
  if(value)
    *value = r->ev[k];
  return 1;
}

/* ---- save / load ---- */

static json_t *level_json(int v) {
  return v < 0 ? json_null() : json_integer(v);
}

json_t *skpi_assess_history_save(const skpi_assess_history *h) {
  json_t *doc = json_object(), *ids = json_array(), *day = json_array(), *lvl = json_array(),
         *stg = json_array(), *dims = json_array(), *st = json_array(), *ev = json_array();
  int bad = !doc || !ids || !day || !lvl || !stg || !dims || !st || !ev;
  for(size_t i = 0; !bad && h && i < h->nids; i++)
    bad |= json_array_append_new(ids, json_string(h->ids[i]));
  for(size_t i = 0; !bad && h && i < h->n; i++) {
    const rec *r = &h->d[i];
    json_t *dv = json_array(), *ev1 = json_array();
    bad |= !dv || !ev1;
    for(int d = 0; !bad && d < SKPI_DIM_COUNT; d++)
      bad |= json_array_append_new(dv, json_integer(r->dims[d]));
    for(size_t k = 0; !bad && k < r->nc; k++)
      bad |= json_array_append_new(ev1, isnan(r->ev[k]) ? json_null() : json_real(r->ev[k]));
    bad |= json_array_append_new(day, json_integer(r->day));
    bad |= json_array_append_new(lvl, json_integer(r->level));
    bad |= json_array_append_new(stg, json_integer(r->stage));
    bad |= json_array_append_new(dims, dv);
    bad |= json_array_append_new(st, json_string(r->st));
    bad |= json_array_append_new(ev, ev1);
  }
  if(!bad) {
    bad |= json_object_set_new(doc, "version", json_integer(1));
    bad |= json_object_set(doc, "criteria", ids);
    bad |= json_object_set(doc, "day", day);
    bad |= json_object_set(doc, "level", lvl);
    bad |= json_object_set(doc, "stage", stg);
    bad |= json_object_set(doc, "dims", dims);
    bad |= json_object_set(doc, "status", st);
    bad |= json_object_set(doc, "evidence", ev);
  }
  json_decref(ids);
  json_decref(day);
  json_decref(lvl);
  json_decref(stg);
  json_decref(dims);
  json_decref(st);
  json_decref(ev);
  if(bad) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

static skpi_err fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static skpi_err fail(char *errbuf, size_t errlen, const char *fmt, ...) {
  if(errbuf && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
  }
  return SKPI_ESTATE;
}

static int valid_id(const char *s) {
  size_t n = strlen(s);
  if(n == 0 || n > SKPI_ASSESS_HISTORY_MAX_ID)
    return 0;
  for(size_t i = 0; i < n; i++)
    if(!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return 0;
  return 1;
}

/* A JSON integer in [lo, hi], else 0. */
static int int_in(const json_t *j, long lo, long hi, long *out) {
  if(!json_is_integer(j))
    return 0;
  json_int_t v = json_integer_value(j);
  if(v < lo || v > hi)
    return 0;
  *out = (long)v;
  return 1;
}

static const json_t *array_of(const json_t *doc, const char *key, size_t n) {
  const json_t *a = json_object_get(doc, key);
  return json_is_array(a) && json_array_size(a) == n ? a : NULL;
}

static skpi_err load_into(skpi_assess_history *h, const json_t *doc, char *errbuf, size_t errlen) {
  long v;
  if(!json_is_object(doc))
    return fail(errbuf, errlen, "history is not an object");
  if(!int_in(json_object_get(doc, "version"), 1, 1, &v))
    return fail(errbuf, errlen, "history version is not 1");
  const json_t *ids = json_object_get(doc, "criteria");
  if(!json_is_array(ids) || json_array_size(ids) > SKPI_ASSESS_HISTORY_MAX_CRITERIA)
    return fail(errbuf, errlen, "criteria: not an array of at most %d ids",
                SKPI_ASSESS_HISTORY_MAX_CRITERIA);
  for(size_t i = 0; i < json_array_size(ids); i++) {
    const char *s = json_string_value(json_array_get(ids, i));
    if(!s || !valid_id(s) || id_index(h, s) >= 0)
      return fail(errbuf, errlen, "criteria[%zu]: not a valid distinct id", i);
    skpi_err rc = add_id(h, s);
    if(rc)
      return rc;
  }
  const json_t *day = json_object_get(doc, "day");
  if(!json_is_array(day))
    return fail(errbuf, errlen, "day: not an array");
  size_t n = json_array_size(day);
  if(n > SKPI_ASSESS_HISTORY_DAYS)
    return fail(errbuf, errlen, "%zu days, more than the %d kept", n, SKPI_ASSESS_HISTORY_DAYS);
  const json_t *lvl = array_of(doc, "level", n), *stg = array_of(doc, "stage", n),
               *dims = array_of(doc, "dims", n), *st = array_of(doc, "status", n),
               *ev = array_of(doc, "evidence", n);
  if(!lvl || !stg || !dims || !st || !ev)
    return fail(errbuf, errlen, "level, stage, dims, status and evidence need %zu entries", n);
  h->d = calloc(n ? n : 1, sizeof(*h->d));
  if(!h->d)
    return SKPI_ENOMEM;
  h->cap = n ? n : 1;
  for(size_t i = 0; i < n; i++) {
    rec *r = &h->d[h->n++];
    long lv, sv;
    if(!int_in(json_array_get(day, i), 0, SKPI_ASSESS_HISTORY_MAX_DAY, &r->day) ||
       (i > 0 && r->day <= h->d[i - 1].day))
      return fail(errbuf, errlen, "day[%zu]: not a day number after the previous one", i);
    if(!int_in(json_array_get(lvl, i), -1, SKPI_ASSESS_MAX_LEVEL, &lv) ||
       !int_in(json_array_get(stg, i), -1, SKPI_ASSESS_MAX_STAGE, &sv))
      return fail(errbuf, errlen, "level or stage [%zu]: not -1 to 5", i);
    r->level = (signed char)lv;
    r->stage = (signed char)sv;
    const json_t *dv = json_array_get(dims, i);
    if(!json_is_array(dv) || json_array_size(dv) != SKPI_DIM_COUNT)
      return fail(errbuf, errlen, "dims[%zu]: not %d levels", i, SKPI_DIM_COUNT);
    for(int d = 0; d < SKPI_DIM_COUNT; d++) {
      if(!int_in(json_array_get(dv, (size_t)d), -1, SKPI_ASSESS_MAX_LEVEL, &v))
        return fail(errbuf, errlen, "dims[%zu][%d]: not -1 to 5", i, d);
      r->dims[d] = (signed char)v;
    }
    const char *s = json_string_value(json_array_get(st, i));
    const json_t *e = json_array_get(ev, i);
    if(!s || strlen(s) > h->nids || strspn(s, "mnu-") != strlen(s))
      return fail(errbuf, errlen, "status[%zu]: not a status string over the criteria", i);
    r->nc = strlen(s);
    if(!json_is_array(e) || json_array_size(e) != r->nc)
      return fail(errbuf, errlen, "evidence[%zu]: needs %zu entries", i, r->nc);
    r->st = strdup(s);
    r->ev = malloc((r->nc ? r->nc : 1) * sizeof(double));
    if(!r->st || !r->ev)
      return SKPI_ENOMEM;
    for(size_t k = 0; k < r->nc; k++) {
      const json_t *x = json_array_get(e, k);
      double dv2 = NAN;
      if(!json_is_null(x) && !(json_is_number(x) && isfinite(dv2 = json_number_value(x)) &&
                               fabs(dv2) <= SKPI_ASSESS_HISTORY_MAX_EVIDENCE))
        return fail(errbuf, errlen, "evidence[%zu][%zu]: not null or a number in range", i, k);
      r->ev[k] = dv2;
    }
  }
  return SKPI_OK;
}

skpi_err skpi_assess_history_load(skpi_assess_history *h, const json_t *doc, char *errbuf,
                                  size_t errlen) {
  if(!h)
    return SKPI_EINVAL;
  clear(h);
  skpi_err rc = load_into(h, doc, errbuf, errlen);
  if(rc != SKPI_OK) {
    if(rc == SKPI_ENOMEM)
      fail(errbuf, errlen, "out of memory");
    clear(h);
  }
  return rc;
}

/* ---- the API document ---- */

static json_t *date_json(long day) {
  char s[32];
  skpi_assess_format_time(day * DAY_S, "%Y-%m-%d", s, sizeof(s));
  return json_string(s);
}

static json_t *status_json(char c) {
  return c == '-' ? json_null() : json_string(skpi_assess_status_name(status_of(c)));
}

static int add_change(json_t *changes, const char *what, int from, int to) {
  if(from == to)
    return 0;
  return json_array_append_new(changes, json_pack("{s:s,s:o,s:o}", "what", what, "from",
                                                  level_json(from), "to", level_json(to)));
}

static json_t *events_json(const skpi_assess_history *h) {
  json_t *events = json_array();
  int bad = !events;
  for(size_t i = 1; !bad && i < h->n; i++) {
    const rec *p = &h->d[i - 1], *r = &h->d[i];
    json_t *changes = json_array(), *moved = json_array();
    bad |= !changes || !moved;
    bad |= !changes || add_change(changes, "level", p->level, r->level);
    bad |= !changes || add_change(changes, "stage", p->stage, r->stage);
    for(int d = 0; !bad && d < SKPI_DIM_COUNT; d++)
      bad |= add_change(changes, skpi_assess_dim_name((enum skpi_assess_dim)d), p->dims[d],
                        r->dims[d]);
    if(!bad && json_array_size(changes) > 0) {
      for(size_t k = 0; !bad && k < r->nc && k < p->nc; k++)
        if(p->st[k] != r->st[k] && p->st[k] != '-' && r->st[k] != '-')
          bad |= json_array_append_new(moved, json_pack("{s:s,s:o,s:o}", "id", h->ids[k], "from",
                                                        status_json(p->st[k]), "to",
                                                        status_json(r->st[k])));
      bad |= json_array_append_new(events, json_pack("{s:o,s:O,s:O}", "date", date_json(r->day),
                                                     "changes", changes, "criteria", moved));
    }
    json_decref(changes);
    json_decref(moved);
  }
  if(bad) {
    json_decref(events);
    return NULL;
  }
  return events;
}

json_t *skpi_assess_history_json(const skpi_assess_history *h) {
  json_t *doc = json_object(), *days = json_array(), *lvl = json_array(), *stg = json_array(),
         *dims = json_object(), *crit = json_object();
  int bad = !doc || !days || !lvl || !stg || !dims || !crit || !h;
  json_t *dcol[SKPI_DIM_COUNT] = {0};
  for(int d = 0; !bad && d < SKPI_DIM_COUNT; d++) {
    bad |= !(dcol[d] = json_array());
    bad |= bad || json_object_set(dims, skpi_assess_dim_name((enum skpi_assess_dim)d), dcol[d]);
  }
  for(size_t i = 0; !bad && i < h->n; i++) {
    const rec *r = &h->d[i];
    bad |= json_array_append_new(days, date_json(r->day));
    bad |= json_array_append_new(lvl, level_json(r->level));
    bad |= json_array_append_new(stg, level_json(r->stage));
    for(int d = 0; !bad && d < SKPI_DIM_COUNT; d++)
      bad |= json_array_append_new(dcol[d], level_json(r->dims[d]));
  }
  for(size_t k = 0; !bad && k < h->nids; k++) {
    json_t *sv = json_array(), *ev = json_array();
    bad |= !sv || !ev;
    for(size_t i = 0; !bad && i < h->n; i++) {
      const rec *r = &h->d[i];
      char c = k < r->nc ? r->st[k] : '-';
      double x = k < r->nc ? r->ev[k] : NAN;
      bad |= json_array_append_new(sv, status_json(c));
      bad |= json_array_append_new(ev, isnan(x) ? json_null() : json_real(x));
    }
    bad |= bad || json_object_set_new(crit, h->ids[k],
                                      json_pack("{s:O,s:O}", "status", sv, "evidence", ev));
    json_decref(sv);
    json_decref(ev);
  }
  json_t *events = bad ? NULL : events_json(h);
  bad |= !events;
  if(!bad) {
    bad |= json_object_set_new(doc, "schema_version", json_integer(1));
    bad |= json_object_set(doc, "days", days);
    bad |= json_object_set(doc, "level", lvl);
    bad |= json_object_set(doc, "stage", stg);
    bad |= json_object_set(doc, "dimensions", dims);
    bad |= json_object_set(doc, "criteria", crit);
    bad |= json_object_set(doc, "events", events);
  }
  for(int d = 0; d < SKPI_DIM_COUNT; d++)
    json_decref(dcol[d]);
  json_decref(days);
  json_decref(lvl);
  json_decref(stg);
  json_decref(dims);
  json_decref(crit);
  json_decref(events);
  if(bad) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}
