/* incidents.c: health and Alertmanager incidents, recovery and MTTR. */
#include "streamkpi/incidents.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streamkpi/availability.h"
#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/hist.h"
#include "streamkpi/state.h"

#define KEEP_S (31.0 * 86400.0)
#define MAX_TIME 1e12
/* Clusters and (cluster, source) series are few; a bound keeps webhook
 * input from growing them without limit. */
#define MAX_SERIES 4096
#define MAX_TRACKERS 1024

enum { SRC_HEALTH = 0, SRC_AM, NSRC };
static const char *const src_names[NSRC] = {"health", "alertmanager"};

static const double rec_bounds[] = {60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400};
#define NBOUNDS (sizeof(rec_bounds) / sizeof(rec_bounds[0]))

typedef struct inc {
  uint64_t id;
  int source;
  char *cluster;
  char *cause;
  char *fingerprint; /* NULL for health */
  char *alertname;
  char *severity;
  double start, end;
  int open;
} inc_t;

typedef struct series {
  char *cluster;
  int source;
  double opened, resolved;
  skpi_histogram rec; /* recovery durations */
} series_t;

typedef struct tracker {
  char *cluster;
  unsigned unhealthy, healthy; /* current streaks */
  double streak_start;         /* first unhealthy interval of the streak */
  double healthy_start;        /* first healthy interval while open */
  int cause;                   /* worst cause of the pending/open streak */
} tracker_t;

struct skpi_incidents {
  unsigned open_after, resolve_after;
  size_t max_kept;
  uint64_t next_id;
  unsigned long unknown_resolved, dropped;
  inc_t *v;
  size_t n, cap;
  series_t *ser;
  size_t nser;
  tracker_t *trk;
  size_t ntrk;
  char **declared; /* configured clusters: their counters exist from the start */
  size_t ndeclared;
};

skpi_incidents *skpi_inc_new(unsigned open_after, unsigned resolve_after, size_t max_kept) {
  if(!open_after || !resolve_after || !max_kept)
    return NULL;
  skpi_incidents *inc = calloc(1, sizeof(*inc));
  if(!inc)
    return NULL;
  inc->open_after = open_after;
  inc->resolve_after = resolve_after;
  inc->max_kept = max_kept;
  inc->next_id = 1;
  return inc;
}

static void inc_clear(inc_t *x) {
  free(x->cluster);
  free(x->cause);
  free(x->fingerprint);
  free(x->alertname);
  free(x->severity);
}

/* Frees the contents, not the struct. */
static void clear_all(skpi_incidents *inc) {
  for(size_t i = 0; i < inc->n; i++)
    inc_clear(&inc->v[i]);
  free(inc->v);
  for(size_t i = 0; i < inc->nser; i++)
    free(inc->ser[i].cluster);
  free(inc->ser);
  for(size_t i = 0; i < inc->ntrk; i++)
    free(inc->trk[i].cluster);
  free(inc->trk);
  inc->v = NULL;
  inc->ser = NULL;
  inc->trk = NULL;
  inc->n = inc->cap = inc->nser = inc->ntrk = 0;
}

void skpi_inc_free(skpi_incidents *inc) {
  if(!inc)
    return;
  clear_all(inc);
  for(size_t i = 0; i < inc->ndeclared; i++)
    free(inc->declared[i]);
  free(inc->declared);
  free(inc);
}

static int bad_str(const char *s) { return !s || !*s || strlen(s) > SKPI_INC_MAX_STR; }
static int bad_opt_str(const char *s) { return s && strlen(s) > SKPI_INC_MAX_STR; }
static int bad_time(double t) { return !isfinite(t) || t < 0 || t > MAX_TIME; }

static char *dup_opt(const char *s, int *oom) {
  if(!s)
    return NULL;
  char *d = strdup(s);
  if(!d)
    *oom = 1;
  return d;
}

static series_t *get_series(skpi_incidents *inc, const char *cluster, int source, int create) {
  for(size_t i = 0; i < inc->nser; i++)
    if(inc->ser[i].source == source && strcmp(inc->ser[i].cluster, cluster) == 0)
      return &inc->ser[i];
  if(!create || inc->nser >= MAX_SERIES)
    return NULL;
  series_t *ns = realloc(inc->ser, (inc->nser + 1) * sizeof(*ns));
  if(!ns)
    return NULL;
  inc->ser = ns;
  series_t *s = &ns[inc->nser];
  memset(s, 0, sizeof(*s));
  if(!(s->cluster = strdup(cluster)))
    return NULL;
  /* The bounds are constant and valid. */
  (void)skpi_hist_init(&s->rec, rec_bounds, NBOUNDS);
  s->source = source;
  inc->nser++;
  return s;
}

static tracker_t *get_tracker(skpi_incidents *inc, const char *cluster) {
  for(size_t i = 0; i < inc->ntrk; i++)
    if(strcmp(inc->trk[i].cluster, cluster) == 0)
      return &inc->trk[i];
  if(inc->ntrk >= MAX_TRACKERS)
    return NULL;
  tracker_t *nt = realloc(inc->trk, (inc->ntrk + 1) * sizeof(*nt));
  if(!nt)
    return NULL;
  inc->trk = nt;
  tracker_t *t = &nt[inc->ntrk];
  memset(t, 0, sizeof(*t));
  if(!(t->cluster = strdup(cluster)))
    return NULL;
  inc->ntrk++;
  return t;
}

/* Removes v[i], keeping opening order. */
static void remove_at(skpi_incidents *inc, size_t i) {
  inc_clear(&inc->v[i]);
  memmove(&inc->v[i], &inc->v[i + 1], (inc->n - i - 1) * sizeof(inc_t));
  inc->n--;
}

/* Makes room for one more incident.  Returns 0, or -1 when every kept one
 * is open (counted) or memory ran out. */
static int make_room(skpi_incidents *inc) {
  if(inc->n >= inc->max_kept) {
    size_t i;
    for(i = 0; i < inc->n && inc->v[i].open; i++)
      ;
    if(i == inc->n) {
      inc->dropped++;
      return -1;
    }
    remove_at(inc, i);
  }
  if(inc->n == inc->cap) {
    size_t nc = inc->cap ? inc->cap * 2 : 16;
    inc_t *nv = realloc(inc->v, nc * sizeof(*nv));
    if(!nv)
      return -1;
    inc->v = nv;
    inc->cap = nc;
  }
  return 0;
}

/* Appends an open incident with id (strings copied) without counting it. */
static skpi_err append_incident(skpi_incidents *inc, uint64_t id, int source,
                                const char *cluster, const char *cause, const char *fp,
                                const char *alertname, const char *severity, double start) {
  if(make_room(inc) != 0)
    return inc->n >= inc->max_kept ? SKPI_ETOOBIG : SKPI_ENOMEM;
  inc_t x = {0};
  int oom = 0;
  x.id = id;
  x.source = source;
  x.cluster = dup_opt(cluster, &oom);
  x.cause = dup_opt(cause, &oom);
  x.fingerprint = dup_opt(fp, &oom);
  x.alertname = dup_opt(alertname, &oom);
  x.severity = dup_opt(severity, &oom);
  x.start = start;
  x.open = 1;
  if(oom) {
    inc_clear(&x);
    return SKPI_ENOMEM;
  }
  inc->v[inc->n++] = x;
  return SKPI_OK;
}

/* Opens a new incident and counts it. */
static skpi_err open_incident(skpi_incidents *inc, int source, const char *cluster,
                              const char *cause, const char *fp, const char *alertname,
                              const char *severity, double start) {
  series_t *s = get_series(inc, cluster, source, 1);
  if(!s)
    return SKPI_ENOMEM;
  skpi_err rc = append_incident(inc, inc->next_id, source, cluster, cause, fp, alertname,
                                severity, start);
  if(rc != SKPI_OK)
    return rc;
  inc->next_id++;
  s->opened++;
  return SKPI_OK;
}

static void resolve_incident(skpi_incidents *inc, inc_t *x, double end) {
  if(end < x->start)
    end = x->start;
  x->end = end;
  x->open = 0;
  series_t *s = get_series(inc, x->cluster, x->source, 0);
  if(!s)
    return; /* opened before a load that lacked it; nothing to count into */
  double d = end - x->start;
  s->resolved++;
  skpi_hist_observe(&s->rec, d);
}

static inc_t *open_health(skpi_incidents *inc, const char *cluster) {
  for(size_t i = 0; i < inc->n; i++)
    if(inc->v[i].open && inc->v[i].source == SRC_HEALTH && strcmp(inc->v[i].cluster, cluster) == 0)
      return &inc->v[i];
  return NULL;
}

skpi_err skpi_inc_health(skpi_incidents *inc, const char *cluster, double t_start, double t_end,
                         enum skpi_cause cause, int in_maintenance) {
  if(bad_str(cluster) || bad_time(t_start) || bad_time(t_end) || t_end < t_start ||
     cause < SKPI_CAUSE_NONE || cause > SKPI_CAUSE_ALL_BROKERS_UNREACHABLE)
    return SKPI_EINVAL;
  if(in_maintenance)
    return SKPI_OK;
  tracker_t *t = get_tracker(inc, cluster);
  if(!t)
    return SKPI_ENOMEM;
  inc_t *open = open_health(inc, cluster);
  if(cause != SKPI_CAUSE_NONE) {
    t->healthy = 0;
    if(t->unhealthy == 0 && !open) {
      t->streak_start = t_start;
      t->cause = SKPI_CAUSE_NONE;
    }
    if(t->unhealthy < inc->open_after)
      t->unhealthy++;
    if((int)cause > t->cause)
      t->cause = (int)cause;
    if(open) {
      if(strcmp(open->cause, skpi_cause_name((enum skpi_cause)t->cause)) != 0) {
        char *c = strdup(skpi_cause_name((enum skpi_cause)t->cause));
        if(!c)
          return SKPI_ENOMEM;
        free(open->cause);
        open->cause = c;
      }
      return SKPI_OK;
    }
    if(t->unhealthy >= inc->open_after) {
      skpi_err rc = open_incident(inc, SRC_HEALTH, cluster,
                                  skpi_cause_name((enum skpi_cause)t->cause), NULL, NULL, NULL,
                                  t->streak_start);
      /* At the cap the streak stays pending and is retried next interval. */
      return rc == SKPI_ETOOBIG ? SKPI_OK : rc;
    }
    return SKPI_OK;
  }
  t->unhealthy = 0;
  if(!open)
    return SKPI_OK;
  if(t->healthy == 0)
    t->healthy_start = t_start;
  t->healthy++;
  if(t->healthy >= inc->resolve_after) {
    resolve_incident(inc, open, t->healthy_start);
    t->healthy = 0;
    t->cause = SKPI_CAUSE_NONE;
  }
  return SKPI_OK;
}

skpi_err skpi_inc_alert_apply(skpi_incidents *inc, const skpi_inc_alert *a, double now) {
  if(bad_str(a->fingerprint) || bad_opt_str(a->alertname) || bad_opt_str(a->severity) ||
     bad_opt_str(a->cluster) || (a->cluster && !*a->cluster) || bad_time(a->starts_at) ||
     bad_time(a->ends_at) || bad_time(now))
    return SKPI_EINVAL;
  const char *cluster = a->cluster ? a->cluster : "unknown";
  inc_t *open = NULL;
  int seen = 0, seen_same_start = 0;
  for(size_t i = 0; i < inc->n; i++) {
    inc_t *x = &inc->v[i];
    if(x->source != SRC_AM || strcmp(x->fingerprint, a->fingerprint) != 0)
      continue;
    seen = 1;
    if(x->open)
      open = x;
    else if(a->starts_at > 0 && x->start == a->starts_at)
      seen_same_start = 1;
  }
  if(a->firing) {
    /* Already open, or a late repeat of one already resolved. */
    if(open || seen_same_start)
      return SKPI_OK;
    double start = a->starts_at > 0 ? a->starts_at : now;
    /* The cause must be non-empty, as the state loader requires of it: an
     * empty alertname names no cause. */
    const char *cause = a->alertname && *a->alertname ? a->alertname : "alert";
    skpi_err rc = open_incident(inc, SRC_AM, cluster, cause, a->fingerprint, a->alertname,
                                a->severity, start);
    return rc == SKPI_ETOOBIG ? SKPI_OK : rc;
  }
  if(open) {
    resolve_incident(inc, open, a->ends_at > 0 ? a->ends_at : now);
    return SKPI_OK;
  }
  if(!seen)
    inc->unknown_resolved++;
  return SKPI_OK;
}

void skpi_inc_prune(skpi_incidents *inc, double now) {
  size_t i = 0;
  while(i < inc->n) {
    if(!inc->v[i].open && inc->v[i].end < now - KEEP_S)
      remove_at(inc, i);
    else
      i++;
  }
}

size_t skpi_inc_count(const skpi_incidents *inc) { return inc->n; }

int skpi_inc_get(const skpi_incidents *inc, size_t i, skpi_inc_info *out) {
  if(i >= inc->n)
    return -1;
  const inc_t *x = &inc->v[i];
  out->id = x->id;
  out->cluster = x->cluster;
  out->source = src_names[x->source];
  out->cause = x->cause;
  out->fingerprint = x->fingerprint;
  out->start = x->start;
  out->end = x->open ? 0 : x->end;
  out->open = x->open;
  return 0;
}

double skpi_inc_mttr(const skpi_incidents *inc, const char *cluster, double now, double len_s,
                     size_t *n) {
  double sum = 0;
  size_t k = 0;
  for(size_t i = 0; i < inc->n; i++) {
    const inc_t *x = &inc->v[i];
    if(x->open || strcmp(x->cluster, cluster) != 0 || x->end <= now - len_s || x->end > now)
      continue;
    sum += x->end - x->start;
    k++;
  }
  *n = k;
  return k ? sum / (double)k : 0;
}

unsigned long skpi_inc_unknown_resolved(const skpi_incidents *inc) {
  return inc->unknown_resolved;
}

unsigned long skpi_inc_dropped(const skpi_incidents *inc) { return inc->dropped; }

skpi_err skpi_inc_declare(skpi_incidents *inc, const char *cluster) {
  if(!inc || bad_str(cluster))
    return SKPI_EINVAL;
  for(size_t i = 0; i < inc->ndeclared; i++)
    if(strcmp(inc->declared[i], cluster) == 0)
      return SKPI_OK;
  if(inc->ndeclared >= MAX_SERIES / NSRC)
    return SKPI_ETOOBIG;
  char **grown = realloc(inc->declared, (inc->ndeclared + 1) * sizeof(*grown));
  if(!grown)
    return SKPI_ENOMEM;
  inc->declared = grown;
  if(!(grown[inc->ndeclared] = strdup(cluster)))
    return SKPI_ENOMEM;
  inc->ndeclared++;
  return SKPI_OK;
}

/* Zero counters, gauge and histogram for the declared (cluster, source)
 * pairs that have no incident yet, so that increase() sees the first one. */
static skpi_err render_declared(const skpi_incidents *inc, skpi_mset *m, int f_op, int f_res,
                                int f_open, int f_rec) {
  skpi_err rc = SKPI_OK;
  static const uint64_t zeros[NBOUNDS];
  for(size_t i = 0; i < inc->ndeclared; i++)
    for(int src = 0; src < NSRC; src++) {
      if(get_series((skpi_incidents *)inc, inc->declared[i], src, 0))
        continue;
      const char *kv[] = {"cluster", inc->declared[i], "source", src_names[src]};
      skpi_hist h = {NBOUNDS, rec_bounds, zeros, 0, 0};
      if((rc = skpi_mset_addv(m, f_op, 0, kv, 2)) != SKPI_OK ||
         (rc = skpi_mset_addv(m, f_res, 0, kv, 2)) != SKPI_OK ||
         (rc = skpi_mset_addv(m, f_open, 0, kv, 2)) != SKPI_OK ||
         (rc = skpi_mset_add_hist(m, f_rec, &h, kv, 2)) != SKPI_OK)
        return rc;
    }
  return rc;
}

/* Returns 1 when cluster already appeared in ser[0..upto). */
static int cluster_seen_before(const skpi_incidents *inc, size_t upto) {
  for(size_t j = 0; j < upto; j++)
    if(strcmp(inc->ser[j].cluster, inc->ser[upto].cluster) == 0)
      return 1;
  return 0;
}

skpi_err skpi_inc_render(const skpi_incidents *inc, double now, skpi_mset *m) {
  skpi_err rc = SKPI_OK;
  int f_op = skpi_mset_family(m, "streamkpi_incidents_opened_total", SKPI_MT_COUNTER,
                              "Incidents opened.");
  int f_res = skpi_mset_family(m, "streamkpi_incidents_resolved_total", SKPI_MT_COUNTER,
                               "Incidents resolved.");
  int f_open = skpi_mset_family(m, "streamkpi_incidents_open", SKPI_MT_GAUGE,
                                "Incidents open now.");
  int f_rec = skpi_mset_family(m, "streamkpi_incident_recovery_seconds", SKPI_MT_HISTOGRAM,
                               "Time from incident start to resolution.");
  int f_mttr = skpi_mset_family(m, "streamkpi_mttr_seconds", SKPI_MT_GAUGE,
                                "Mean time to recovery of incidents resolved in the window.");
  int f_old = skpi_mset_family(m, "streamkpi_incident_oldest_open_start_timestamp_seconds",
                               SKPI_MT_GAUGE, "Start time of the oldest open incident.");
  int f_unk = skpi_mset_family(m, "streamkpi_alertmanager_unknown_resolved_total",
                               SKPI_MT_COUNTER,
                               "Resolved alerts for fingerprints never seen firing (ignored).");
  int f_drop = skpi_mset_family(m, "streamkpi_incidents_dropped_total", SKPI_MT_COUNTER,
                                "Incidents not recorded because the kept list was full of open ones.");
  if(f_op < 0 || f_res < 0 || f_open < 0 || f_rec < 0 || f_mttr < 0 || f_old < 0 || f_unk < 0 ||
     f_drop < 0)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < inc->nser; i++) {
    const series_t *s = &inc->ser[i];
    const char *kv[] = {"cluster", s->cluster, "source", src_names[s->source]};
    double nopen = 0;
    for(size_t j = 0; j < inc->n; j++)
      if(inc->v[j].open && inc->v[j].source == s->source &&
         strcmp(inc->v[j].cluster, s->cluster) == 0)
        nopen++;
    skpi_hist h;
    skpi_hist_view(&s->rec, &h);
    if((rc = skpi_mset_addv(m, f_op, s->opened, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_res, s->resolved, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_open, nopen, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_add_hist(m, f_rec, &h, kv, 2)) != SKPI_OK)
      goto out;
  }
  if((rc = render_declared(inc, m, f_op, f_res, f_open, f_rec)) != SKPI_OK)
    goto out;
  /* Per-cluster families: each cluster once, whatever its sources. */
  for(size_t i = 0; i < inc->nser; i++) {
    if(cluster_seen_before(inc, i))
      continue;
    const char *c = inc->ser[i].cluster;
    for(size_t w = 0; w < SKPI_AVAIL_NWINDOWS; w++) {
      size_t n;
      double mttr = skpi_inc_mttr(inc, c, now, skpi_avail_window_seconds[w], &n);
      if(n && (rc = skpi_mset_add(m, f_mttr, mttr, "cluster", c, "window",
                                  skpi_avail_window_names[w])) != SKPI_OK)
        goto out;
    }
    double oldest = -1;
    for(size_t j = 0; j < inc->n; j++)
      if(inc->v[j].open && strcmp(inc->v[j].cluster, c) == 0 &&
         (oldest < 0 || inc->v[j].start < oldest))
        oldest = inc->v[j].start;
    if(oldest >= 0 && (rc = skpi_mset_add(m, f_old, oldest, "cluster", c)) != SKPI_OK)
      goto out;
  }
  if((rc = skpi_mset_add(m, f_unk, (double)inc->unknown_resolved)) != SKPI_OK)
    goto out;
  rc = skpi_mset_add(m, f_drop, (double)inc->dropped);
out:
  return rc;
}

/* RFC 3339 UTC with milliseconds. */
static json_t *iso_time(double t) {
  char out[64];
  time_t s = (time_t)floor(t);
  int ms = (int)((t - floor(t)) * 1000.0);
  ms = ms < 0 ? 0 : (ms > 999 ? 999 : ms);
  struct tm tm;
  if(!gmtime_r(&s, &tm))
    return json_null();
  char base[32];
  if(strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    return json_null();
  snprintf(out, sizeof(out), "%s.%03dZ", base, ms);
  return json_string(out);
}

static int newest_first(const void *a, const void *b) {
  const inc_t *x = *(const inc_t *const *)a, *y = *(const inc_t *const *)b;
  if(x->start != y->start)
    return x->start > y->start ? -1 : 1;
  return x->id > y->id ? -1 : (x->id < y->id ? 1 : 0);
}

static json_t *labels_of(const inc_t *x) {
  json_t *l = json_object();
  if(!l)
    return NULL;
  if(x->source == SRC_AM) {
    if(x->alertname)
      json_object_set_new(l, "alertname", json_string(x->alertname));
    if(x->severity)
      json_object_set_new(l, "severity", json_string(x->severity));
  }
  json_object_set_new(l, "cluster", json_string(x->cluster));
  return l;
}

json_t *skpi_inc_list_json(const skpi_incidents *inc, double now) {
  json_t *root = NULL, *arr = json_array();
  const inc_t **order = malloc((inc->n ? inc->n : 1) * sizeof(*order));
  if(!arr || !order)
    goto fail;
  for(size_t i = 0; i < inc->n; i++)
    order[i] = &inc->v[i];
  if(inc->n > 1)
    qsort(order, inc->n, sizeof(*order), newest_first);
  for(size_t i = 0; i < inc->n; i++) {
    const inc_t *x = order[i];
    double end = x->open ? now : x->end;
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:o, s:o, s:f, s:b}", "id", (json_int_t)x->id,
        "cluster", x->cluster, "source", src_names[x->source], "cause", x->cause, "fingerprint",
        x->fingerprint ? json_string(x->fingerprint) : json_null(), "labels", labels_of(x),
        "start", iso_time(x->start), "start_unix", x->start, "end",
        x->open ? json_null() : iso_time(x->end), "end_unix",
        x->open ? json_null() : json_real(x->end), "duration_seconds",
        end > x->start ? end - x->start : 0.0, "open", x->open);
    if(!o || json_array_append_new(arr, o) != 0)
      goto fail;
  }
  free(order);
  order = NULL;
  if(!(root = json_pack("{s:o}", "incidents", arr)))
    arr = NULL;
  return root;
fail:
  free(order);
  json_decref(arr);
  return NULL;
}

json_t *skpi_inc_save(const skpi_incidents *inc) {
  json_t *ser = json_array(), *trk = json_array(), *list = json_array();
  if(!ser || !trk || !list)
    goto fail;
  for(size_t i = 0; i < inc->nser; i++) {
    const series_t *s = &inc->ser[i];
    json_t *b = json_array();
    /* Finite buckets only: the +Inf bucket is count minus their sum. */
    for(size_t k = 0; b && k < NBOUNDS; k++)
      json_array_append_new(b, json_integer((json_int_t)skpi_hist_bucket(&s->rec, k)));
    json_t *o = json_pack("{s:s, s:s, s:f, s:f, s:o, s:f, s:I}", "cluster", s->cluster, "source",
                          src_names[s->source], "opened", s->opened, "resolved", s->resolved,
                          "buckets", b, "sum", s->rec.sum, "count", (json_int_t)s->rec.count);
    if(!o || json_array_append_new(ser, o) != 0)
      goto fail;
  }
  for(size_t i = 0; i < inc->ntrk; i++) {
    const tracker_t *t = &inc->trk[i];
    json_t *o = json_pack("{s:s, s:i, s:i, s:f, s:f, s:i}", "cluster", t->cluster, "unhealthy",
                          (int)t->unhealthy, "healthy", (int)t->healthy, "streak_start",
                          t->streak_start, "healthy_start", t->healthy_start, "cause", t->cause);
    if(!o || json_array_append_new(trk, o) != 0)
      goto fail;
  }
  for(size_t i = 0; i < inc->n; i++) {
    const inc_t *x = &inc->v[i];
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:f, s:b}", "id",
                          (json_int_t)x->id, "source", src_names[x->source], "cluster",
                          x->cluster, "cause", x->cause, "fingerprint",
                          x->fingerprint ? json_string(x->fingerprint) : json_null(), "alertname",
                          x->alertname ? json_string(x->alertname) : json_null(), "severity",
                          x->severity ? json_string(x->severity) : json_null(), "start", x->start,
                          "end", x->end, "open", x->open);
    if(!o || json_array_append_new(list, o) != 0)
      goto fail;
  }
  return json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}", "next_id", (json_int_t)inc->next_id,
                   "unknown_resolved", (json_int_t)inc->unknown_resolved, "dropped",
                   (json_int_t)inc->dropped, "series", ser, "trackers", trk, "incidents", list);
fail:
  json_decref(ser);
  json_decref(trk);
  json_decref(list);
  return NULL;
}

static int source_of(const char *s) {
  for(int i = 0; s && i < NSRC; i++)
    if(strcmp(s, src_names[i]) == 0)
      return i;
  return -1;
}

static int num_ok(const json_t *v, double *out) {
  return skpi_state_number(v, 0, MAX_TIME * 1000, out);
}

static int uint_ok(const json_t *v, json_int_t max, json_int_t *out) {
  if(!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
    return 0;
  *out = json_integer_value(v);
  return 1;
}

static const char *opt_string(const json_t *v, int *bad) {
  if(json_is_null(v) || !v)
    return NULL;
  const char *s = json_string_value(v);
  if(!s || bad_opt_str(s))
    *bad = 1;
  return s;
}

/* Fills fresh from doc; returns a static reason or NULL. */
static const char *load_into(skpi_incidents *fresh, const json_t *doc) {
  json_int_t iv, iv2;
  if(!json_is_object(doc))
    return "incidents: not an object";
  if(!uint_ok(json_object_get(doc, "next_id"), INT64_MAX, &iv) || iv < 1)
    return "incidents: bad next_id";
  fresh->next_id = (uint64_t)iv;
  if(!uint_ok(json_object_get(doc, "unknown_resolved"), INT64_MAX, &iv) ||
     !uint_ok(json_object_get(doc, "dropped"), INT64_MAX, &iv2))
    return "incidents: bad counters";
  fresh->unknown_resolved = (unsigned long)iv;
  fresh->dropped = (unsigned long)iv2;
  json_t *ser = json_object_get(doc, "series"), *trk = json_object_get(doc, "trackers");
  json_t *list = json_object_get(doc, "incidents");
  if(!json_is_array(ser) || json_array_size(ser) > MAX_SERIES || !json_is_array(trk) ||
     json_array_size(trk) > MAX_TRACKERS || !json_is_array(list))
    return "incidents: series, trackers or incidents missing or too long";
  size_t i;
  json_t *o;
  json_array_foreach(ser, i, o) {
    const char *c = json_string_value(json_object_get(o, "cluster"));
    int src = source_of(json_string_value(json_object_get(o, "source")));
    json_t *b = json_object_get(o, "buckets");
    if(bad_str(c) || src < 0 || !json_is_array(b) || json_array_size(b) != NBOUNDS)
      return "incidents: bad series";
    if(get_series(fresh, c, src, 0))
      return "incidents: duplicate series";
    series_t *s = get_series(fresh, c, src, 1);
    if(!s)
      return "incidents: out of memory";
    double sum;
    uint64_t counts[NBOUNDS + 1], finite = 0;
    if(!num_ok(json_object_get(o, "opened"), &s->opened) ||
       !num_ok(json_object_get(o, "resolved"), &s->resolved) ||
       !num_ok(json_object_get(o, "sum"), &sum) ||
       !uint_ok(json_object_get(o, "count"), INT64_MAX, &iv))
      return "incidents: bad series values";
    for(size_t k = 0; k < NBOUNDS; k++) {
      if(!uint_ok(json_array_get(b, k), INT64_MAX, &iv2) || (uint64_t)iv2 > (uint64_t)iv - finite)
        return "incidents: bad histogram bucket";
      counts[k] = (uint64_t)iv2;
      finite += counts[k];
    }
    counts[NBOUNDS] = (uint64_t)iv - finite;
    if(skpi_hist_restore(&s->rec, counts, NBOUNDS + 1, sum) != SKPI_OK)
      return "incidents: bad histogram";
  }
  json_array_foreach(trk, i, o) {
    const char *c = json_string_value(json_object_get(o, "cluster"));
    if(bad_str(c))
      return "incidents: bad tracker";
    for(size_t j = 0; j < fresh->ntrk; j++)
      if(strcmp(fresh->trk[j].cluster, c) == 0)
        return "incidents: duplicate tracker";
    tracker_t *t = get_tracker(fresh, c);
    if(!t)
      return "incidents: out of memory";
    if(!uint_ok(json_object_get(o, "unhealthy"), 1000000, &iv) ||
       !uint_ok(json_object_get(o, "healthy"), 1000000, &iv2))
      return "incidents: bad tracker streaks";
    t->unhealthy = (unsigned)iv;
    t->healthy = (unsigned)iv2;
    if(!num_ok(json_object_get(o, "streak_start"), &t->streak_start) ||
       !num_ok(json_object_get(o, "healthy_start"), &t->healthy_start) ||
       !uint_ok(json_object_get(o, "cause"), SKPI_CAUSE_ALL_BROKERS_UNREACHABLE, &iv))
      return "incidents: bad tracker values";
    t->cause = (int)iv;
  }
  json_array_foreach(list, i, o) {
    int bad = 0;
    const char *c = json_string_value(json_object_get(o, "cluster"));
    const char *cause = json_string_value(json_object_get(o, "cause"));
    int src = source_of(json_string_value(json_object_get(o, "source")));
    const char *fp = opt_string(json_object_get(o, "fingerprint"), &bad);
    const char *an = opt_string(json_object_get(o, "alertname"), &bad);
    const char *sv = opt_string(json_object_get(o, "severity"), &bad);
    json_t *open = json_object_get(o, "open");
    double start, end;
    if(bad || bad_str(c) || bad_str(cause) || src < 0 || (src == SRC_AM) != (fp != NULL) ||
       !json_is_boolean(open) || !uint_ok(json_object_get(o, "id"), INT64_MAX, &iv) ||
       (uint64_t)iv >= fresh->next_id || !num_ok(json_object_get(o, "start"), &start) ||
       !num_ok(json_object_get(o, "end"), &end))
      return "incidents: bad incident";
    if(fresh->n && (uint64_t)iv <= fresh->v[fresh->n - 1].id)
      return "incidents: incident ids not ascending";
    if(!get_series(fresh, c, src, 0))
      return "incidents: incident without series";
    if(append_incident(fresh, (uint64_t)iv, src, c, cause, fp, an, sv, start) != SKPI_OK)
      return "incidents: too many incidents or out of memory";
    inc_t *x = &fresh->v[fresh->n - 1];
    x->open = json_is_true(open);
    x->end = x->open ? 0 : end;
  }
  return NULL;
}

skpi_err skpi_inc_load(skpi_incidents *inc, const json_t *doc, char *errbuf, size_t errlen) {
  skpi_incidents *fresh = skpi_inc_new(inc->open_after, inc->resolve_after, inc->max_kept);
  if(!fresh)
    return SKPI_ENOMEM;
  const char *why = load_into(fresh, doc);
  if(why) {
    if(errbuf && errlen)
      snprintf(errbuf, errlen, "%s", why);
    skpi_inc_free(fresh);
    return SKPI_ESTATE;
  }
  clear_all(inc);
  skpi_incidents keep = *inc;
  *inc = *fresh;
  inc->open_after = keep.open_after;
  inc->resolve_after = keep.resolve_after;
  inc->max_kept = keep.max_kept;
  inc->declared = keep.declared;
  inc->ndeclared = keep.ndeclared;
  free(fresh);
  return SKPI_OK;
}

/* ---- KPI family "incidents" (estate-wide; the instance is the
 * skpi_incidents itself) ---- */

#define MTTR_FACT_WINDOW_S (30 * 86400.0)

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  skpi_incidents *inc = skpi_inc_new(ctx->cfg->incidents.open_after,
                                     ctx->cfg->incidents.resolve_after, SKPI_INC_DEFAULT_MAX);
  if(!inc)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < ctx->cfg->nclusters; i++) {
    skpi_err rc = skpi_inc_declare(inc, ctx->cfg->clusters[i].name);
    if(rc != SKPI_OK) {
      skpi_inc_free(inc);
      return rc;
    }
  }
  *self = inc;
  return SKPI_OK;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  if(ev->kind != SKPI_EV_PROBE || !(ev->u.probe.t0 < ev->u.probe.t1))
    return;
  skpi_err rc = skpi_inc_health(self, ev->cluster, ev->u.probe.t0, ev->u.probe.t1,
                                ev->u.probe.cause, ev->maintenance);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "incidents rejected an interval", "cluster", ev->cluster, "error",
             skpi_strerror(rc));
}

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const skpi_incidents *inc = self;
  double sum = 0;
  size_t n = 0;
  for(size_t i = 0; i < inc->n; i++) {
    const inc_t *x = &inc->v[i];
    if(x->open || x->end <= now - MTTR_FACT_WINDOW_S || x->end > now)
      continue;
    sum += x->end - x->start;
    n++;
  }
  skpi_facts_observed(out, SKPI_FACT_INCIDENTS_TRACKED, NULL, 1, "bool", now);
  skpi_facts_observed(out, SKPI_FACT_INCIDENTS_RESOLVED, NULL, (double)n, "count", now);
  if(n)
    skpi_facts_observed(out, SKPI_FACT_MTTR, NULL, sum / (double)n, "seconds", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_MTTR, NULL, "seconds",
                       "no incident was resolved in the last 30 days");
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  return skpi_inc_render(self, now, m);
}

static json_t *kpi_save(void *self, double now) {
  skpi_inc_prune(self, now);
  return skpi_inc_save(self);
}

static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  return skpi_inc_load(self, doc, errbuf, errlen);
}

static void kpi_free(void *self) { skpi_inc_free(self); }

const skpi_kpi_ops skpi_kpi_incidents = {
    "incidents", 0, kpi_create, kpi_observe, kpi_facts, kpi_render, kpi_save, kpi_load, kpi_free,
};
