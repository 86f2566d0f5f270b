/* registry.c: source slots, the composer thread and immutable snapshots.
 *
 * Sources publish under the registry mutex and signal the composer.  The
 * composer takes the sets published since its last round, renders each
 * outside the mutex into an skpi_rendered that shares every unchanged block
 * with the slot's previous rendering, and drops the set: a slot keeps its
 * rendering, not its set.  A snapshot is the list of the slots' renderings
 * (plus the self-metrics); bodies are assembled from it per encoding, on
 * first use, and cached in it.  The composer assembles, for the next
 * snapshot, every encoding asked for before, so steady-state scrapes only
 * write bytes.  Assembling is cheap: the text is the renderings' blocks;
 * gzip compresses only blocks not compressed before.
 *
 * A snapshot still being sent to a slow reader pins its renderings; the
 * blocks it shares with newer snapshots are held once.
 */
#include "streamkpi/registry.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "streamkpi/clock.h"
#include "streamkpi/log.h"
#include "streamkpi/refcnt.h"

#define MAX_SLOTS 4096
#define NENC 4 /* text, openmetrics, text+gzip, openmetrics+gzip */

typedef struct slot {
  char cluster[128];
  char source[64];
  double ttl_s;
  int ready;
  skpi_mset *pending;    /* published, not rendered yet, or NULL */
  skpi_rendered *shown;  /* the last good set, rendered, or NULL */
  int up;
  double last_success;
  double last_attempt;
  double duration_s;
  unsigned long errors;
  unsigned long cycles;
  char last_error[256];
} slot;

/* The encodings scrapes asked for, as a bitmask.  Snapshots record what
 * they are asked for here and may outlive the registry, so the registry and
 * each snapshot hold a reference and the last one frees it. */
typedef struct wanted {
  skpi_refcnt refs;
  atomic_uint bits;
} wanted;

struct skpi_snapshot {
  skpi_refcnt refcnt;
  wanted *want;
  skpi_rendered **r; /* r[0] is the self-metrics */
  size_t n;
  pthread_mutex_t mu; /* guards the lazily assembled bodies */
  skpi_expo_body *body[NENC];
};

struct skpi_registry {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  pthread_t thread;
  int stop;
  int dirty;
  slot *slots;
  size_t nslots;
  skpi_snapshot *current;
  skpi_rendered *self; /* the last self-metrics rendering */
  wanted *want;
  double last_render_s;
  size_t last_render_bytes;
  size_t last_fresh_bytes;
};

static int enc_index(enum skpi_format fmt, int gzip) {
  return (fmt == SKPI_FMT_OPENMETRICS ? 1 : 0) + (gzip ? 2 : 0);
}

/* Assembles encoding e of s (caller holds s->mu, or s is not shown yet). */
static skpi_err assemble(skpi_snapshot *s, int e) {
  if(s->body[e])
    return SKPI_OK;
  return skpi_expo_assemble(s->r, s->n, e & 1 ? SKPI_FMT_OPENMETRICS : SKPI_FMT_TEXT, e >= 2,
                            &s->body[e]);
}

static void wanted_unref(wanted *w) {
  if(w && skpi_refcnt_dec(&w->refs))
    free(w);
}

static void snapshot_free(skpi_snapshot *s) {
  for(size_t i = 0; i < s->n; i++)
    skpi_rendered_unref(s->r[i]);
  free(s->r);
  for(int e = 0; e < NENC; e++)
    skpi_expo_body_free(s->body[e]);
  pthread_mutex_destroy(&s->mu);
  wanted_unref(s->want);
  free(s);
}

void skpi_snapshot_release(skpi_snapshot *s) {
  if(s && skpi_refcnt_dec(&s->refcnt))
    snapshot_free(s);
}

skpi_err skpi_snapshot_parts(skpi_snapshot *s, enum skpi_format fmt, int gzip,
                             const skpi_expo_part **parts, size_t *nparts, size_t *total) {
  int e = enc_index(fmt, gzip);
  atomic_fetch_or(&s->want->bits, 1u << e);
  pthread_mutex_lock(&s->mu);
  skpi_err rc = assemble(s, e);
  if(rc == SKPI_OK)
    *parts = skpi_expo_body_parts(s->body[e], nparts, total);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

skpi_snapshot *skpi_registry_acquire(skpi_registry *r) {
  pthread_mutex_lock(&r->mu);
  skpi_snapshot *s = r->current;
  skpi_refcnt_inc(&s->refcnt);
  pthread_mutex_unlock(&r->mu);
  return s;
}

/* Adds the registry's own families, describing the slots as copied. */
static skpi_err self_metrics(skpi_registry *r, const slot *slots, size_t n, skpi_mset *m) {
  skpi_err rc = SKPI_OK;
  int f_build = skpi_mset_family(m, "streamkpi_build_info", SKPI_MT_INFO,
                                 "A metric with a constant 1 value labelled by version, revision "
                                 "and the librdkafka version streamkpi was built with.");
  int f_up = skpi_mset_family(m, "streamkpi_source_up", SKPI_MT_GAUGE,
                              "1 when the source's last cycle succeeded, else 0.");
  int f_stale = skpi_mset_family(m, "streamkpi_source_stale", SKPI_MT_GAUGE,
                                 "1 when the source's data shown is from an earlier, successful "
                                 "cycle because later cycles failed.");
  int f_last = skpi_mset_family(m, "streamkpi_source_last_success_timestamp_seconds", SKPI_MT_GAUGE,
                                "Unix time of the source's last successful cycle.");
  int f_dur = skpi_mset_family(m, "streamkpi_source_collect_duration_seconds", SKPI_MT_GAUGE,
                               "Wall time of the source's last cycle.");
  int f_err = skpi_mset_family(m, "streamkpi_source_errors_total", SKPI_MT_COUNTER,
                               "Cycles of the source that failed.");
  int f_cyc = skpi_mset_family(m, "streamkpi_source_cycles_total", SKPI_MT_COUNTER,
                               "Cycles of the source, successful or not.");
  int f_rs = skpi_mset_family(m, "streamkpi_exposition_render_duration_seconds", SKPI_MT_GAUGE,
                              "Time the previous snapshot took to render as text, in the "
                              "background (scrapes never wait for it).");
  int f_rb = skpi_mset_family(m, "streamkpi_exposition_bytes", SKPI_MT_GAUGE,
                              "Size of the previous snapshot's text exposition.");
  int f_rf = skpi_mset_family(m, "streamkpi_exposition_rendered_bytes", SKPI_MT_GAUGE,
                              "Bytes of the previous snapshot's text that were rendered anew; "
                              "the rest was unchanged and reused from earlier snapshots.");
  if(f_build < 0 || f_up < 0 || f_stale < 0 || f_last < 0 || f_dur < 0 || f_err < 0 || f_cyc < 0 ||
     f_rs < 0 || f_rb < 0 || f_rf < 0)
    return SKPI_ENOMEM;
  if((rc = skpi_mset_add(m, f_build, 1, "version", SKPI_VERSION, "revision", SKPI_REVISION,
                         "librdkafka", rd_kafka_version_str())) != SKPI_OK)
    return rc;
  for(size_t i = 0; i < n; i++) {
    const slot *sl = &slots[i];
    const char *kv[4] = {"cluster", sl->cluster, "source", sl->source};
    if(sl->last_attempt == 0)
      continue; /* never ran: nothing true to say yet */
    if((rc = skpi_mset_addv(m, f_up, sl->up, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_stale, !sl->up && (sl->shown || sl->pending), kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_dur, sl->duration_s, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_err, (double)sl->errors, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_cyc, (double)sl->cycles, kv, 2)) != SKPI_OK)
      return rc;
    if(sl->last_success > 0 && (rc = skpi_mset_addv(m, f_last, sl->last_success, kv, 2)) != SKPI_OK)
      return rc;
  }
  if(r->last_render_bytes) {
    if((rc = skpi_mset_add(m, f_rs, r->last_render_s)) != SKPI_OK ||
       (rc = skpi_mset_add(m, f_rb, (double)r->last_render_bytes)) != SKPI_OK ||
       (rc = skpi_mset_add(m, f_rf, (double)r->last_fresh_bytes)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

/* A slot's data as the composer takes it: a set to render against the
 * slot's last rendering, or that rendering as it is. */
typedef struct taken {
  skpi_mset *set;
  skpi_rendered *prev;
  skpi_rendered *out;
} taken;

/* Drops a slot's data once its TTL ran out (caller holds r->mu). */
static void drop_if_expired(slot *sl, double now) {
  if(!(sl->shown || sl->pending) || sl->up || now - sl->last_success <= sl->ttl_s)
    return;
  skpi_log(SKPI_WARN, "dropping stale data", "cluster", sl->cluster, "source", sl->source);
  skpi_mset_unref(sl->pending);
  sl->pending = NULL;
  skpi_rendered_unref(sl->shown);
  sl->shown = NULL;
}

/* Renders what was taken; a set that cannot be rendered keeps the slot's
 * last rendering (logged).  Returns the bytes rendered anew. */
static size_t render_taken(const slot *copy, taken *t, size_t n) {
  size_t fresh = 0;
  for(size_t i = 0; i < n; i++) {
    if(!t[i].set) {
      t[i].out = t[i].prev;
      t[i].prev = NULL;
      continue;
    }
    skpi_err rc = skpi_rendered_new(t[i].set, t[i].prev, &t[i].out);
    if(rc) {
      skpi_log(SKPI_ERROR, "cannot render a source's metrics", "cluster", copy[i].cluster,
               "source", copy[i].source, "error", skpi_strerror(rc));
      t[i].out = t[i].prev;
      t[i].prev = NULL;
    } else
      fresh += skpi_rendered_fresh_bytes(t[i].out);
    skpi_mset_unref(t[i].set);
    t[i].set = NULL;
  }
  return fresh;
}

/* Builds a snapshot from the current slots; NULL on failure (logged). */
static skpi_snapshot *compose(skpi_registry *r) {
  skpi_snapshot *s = calloc(1, sizeof(*s));
  if(!s)
    return NULL;
  skpi_refcnt_init(&s->refcnt, 1);
  s->want = r->want;
  skpi_refcnt_inc(&r->want->refs);
  pthread_mutex_init(&s->mu, NULL);

  pthread_mutex_lock(&r->mu);
  double now = skpi_now();
  size_t n = r->nslots;
  slot *copy = malloc((n ? n : 1) * sizeof(*copy));
  taken *t = calloc(n ? n : 1, sizeof(*t));
  s->r = calloc(n + 1, sizeof(*s->r));
  if(!copy || !t || !s->r) {
    pthread_mutex_unlock(&r->mu);
    free(copy);
    free(t);
    snapshot_free(s);
    return NULL;
  }
  for(size_t i = 0; i < n; i++) {
    slot *sl = &r->slots[i];
    drop_if_expired(sl, now);
    copy[i] = *sl;
    t[i].set = sl->pending;
    sl->pending = NULL;
    t[i].prev = sl->shown;
    skpi_rendered_ref(sl->shown);
  }
  r->dirty = 0;
  pthread_mutex_unlock(&r->mu);

  double t0 = skpi_mono();
  size_t fresh = render_taken(copy, t, n);

  /* Only the composer changes a slot's rendering, so the one taken above
   * is still there; a TTL expiry happens only in compose too. */
  pthread_mutex_lock(&r->mu);
  for(size_t i = 0; i < n; i++) {
    slot *sl = &r->slots[i];
    if(t[i].out != sl->shown) {
      skpi_rendered_unref(sl->shown);
      sl->shown = t[i].out;
      skpi_rendered_ref(sl->shown);
    }
    if(sl->shown) {
      skpi_rendered_ref(sl->shown);
      s->r[1 + s->n++] = sl->shown;
    }
  }
  pthread_mutex_unlock(&r->mu);
  for(size_t i = 0; i < n; i++) {
    skpi_rendered_unref(t[i].prev);
    skpi_rendered_unref(t[i].out);
  }
  free(t);

  skpi_mset *self = skpi_mset_new();
  skpi_err rc = self ? self_metrics(r, copy, n, self) : SKPI_ENOMEM;
  free(copy);
  if(rc == SKPI_OK)
    rc = skpi_rendered_new(self, r->self, &s->r[0]);
  skpi_mset_unref(self);
  s->n++;
  if(rc) {
    skpi_log(SKPI_ERROR, "cannot build self-metrics", "error", skpi_strerror(rc));
    snapshot_free(s);
    return NULL;
  }
  skpi_rendered_unref(r->self);
  r->self = s->r[0];
  skpi_rendered_ref(r->self);
  fresh += skpi_rendered_fresh_bytes(s->r[0]);

  unsigned asked = atomic_load(&r->want->bits) | 1u;
  for(int e = 0; e < NENC; e++) {
    if(!(asked & (1u << e)))
      continue;
    if((rc = assemble(s, e)) != SKPI_OK) {
      skpi_log(SKPI_ERROR, "cannot render snapshot", "error", skpi_strerror(rc));
      snapshot_free(s);
      return NULL;
    }
  }
  size_t parts, total;
  skpi_expo_body_parts(s->body[0], &parts, &total);
  r->last_render_s = skpi_mono() - t0;
  r->last_render_bytes = total;
  r->last_fresh_bytes = fresh;
  return s;
}

static void install(skpi_registry *r, skpi_snapshot *s) {
  pthread_mutex_lock(&r->mu);
  skpi_snapshot *old = r->current;
  r->current = s;
  pthread_mutex_unlock(&r->mu);
  skpi_snapshot_release(old);
}

/* Returns 1 when some slot holds data whose TTL has run out. */
static int ttl_due(skpi_registry *r, double now) {
  for(size_t i = 0; i < r->nslots; i++) {
    const slot *sl = &r->slots[i];
    if((sl->shown || sl->pending) && !sl->up && now - sl->last_success > sl->ttl_s)
      return 1;
  }
  return 0;
}

static void *composer(void *arg) {
  skpi_registry *r = arg;
  pthread_mutex_lock(&r->mu);
  while(!r->stop) {
    if(!r->dirty && !ttl_due(r, skpi_now())) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&r->cond, &r->mu, &ts);
      continue;
    }
    pthread_mutex_unlock(&r->mu);
    skpi_snapshot *s = compose(r);
    if(s)
      install(r, s);
    pthread_mutex_lock(&r->mu);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

skpi_registry *skpi_registry_new(void) {
  skpi_registry *r = calloc(1, sizeof(*r));
  if(!r)
    return NULL;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cond, NULL);
  r->want = calloc(1, sizeof(*r->want));
  r->slots = calloc(MAX_SLOTS, sizeof(*r->slots));
  if(!r->want || !r->slots)
    goto fail;
  skpi_refcnt_init(&r->want->refs, 1);
  atomic_init(&r->want->bits, 1u);
  r->current = compose(r);
  if(!r->current)
    goto fail;
  if(pthread_create(&r->thread, NULL, composer, r) != 0)
    goto fail;
  return r;
fail:
  skpi_snapshot_release(r->current);
  skpi_rendered_unref(r->self);
  wanted_unref(r->want);
  free(r->slots);
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->mu);
  free(r);
  return NULL;
}

void skpi_registry_free(skpi_registry *r) {
  if(!r)
    return;
  pthread_mutex_lock(&r->mu);
  r->stop = 1;
  pthread_cond_signal(&r->cond);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  skpi_snapshot_release(r->current);
  /* Snapshots still held keep their own references. */
  wanted_unref(r->want);
  skpi_rendered_unref(r->self);
  for(size_t i = 0; i < r->nslots; i++) {
    skpi_mset_unref(r->slots[i].pending);
    skpi_rendered_unref(r->slots[i].shown);
  }
  free(r->slots);
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

int skpi_registry_add_source(skpi_registry *r, const char *cluster, const char *source,
                             double ttl_s, int ready) {
  pthread_mutex_lock(&r->mu);
  int id = -1;
  if(r->nslots < MAX_SLOTS) {
    slot *sl = &r->slots[r->nslots];
    memset(sl, 0, sizeof(*sl));
    snprintf(sl->cluster, sizeof(sl->cluster), "%s", cluster ? cluster : "");
    snprintf(sl->source, sizeof(sl->source), "%s", source ? source : "");
    sl->ttl_s = ttl_s;
    sl->ready = ready;
    id = (int)r->nslots++;
  }
  pthread_mutex_unlock(&r->mu);
  return id;
}

void skpi_registry_publish(skpi_registry *r, int id, skpi_mset *set, const char *error,
                           double duration_s) {
  skpi_mset_seal(set); /* outside the lock: the set is still the caller's */
  pthread_mutex_lock(&r->mu);
  if(id < 0 || (size_t)id >= r->nslots) {
    pthread_mutex_unlock(&r->mu);
    skpi_mset_unref(set);
    return;
  }
  slot *sl = &r->slots[id];
  double now = skpi_now();
  sl->last_attempt = now;
  sl->duration_s = duration_s;
  sl->cycles++;
  if(set && !error) {
    skpi_mset_unref(sl->pending); /* a set the composer had no time for */
    sl->pending = set;
    sl->up = 1;
    sl->last_success = now;
    sl->last_error[0] = '\0';
  } else {
    skpi_mset_unref(set);
    sl->up = 0;
    sl->errors++;
    snprintf(sl->last_error, sizeof(sl->last_error), "%s", error ? error : "failed");
  }
  r->dirty = 1;
  pthread_cond_signal(&r->cond);
  pthread_mutex_unlock(&r->mu);
}

size_t skpi_registry_status(skpi_registry *r, skpi_source_status *out, size_t max) {
  pthread_mutex_lock(&r->mu);
  size_t n = r->nslots;
  for(size_t i = 0; i < n && i < max; i++) {
    const slot *sl = &r->slots[i];
    skpi_source_status *o = &out[i];
    memset(o, 0, sizeof(*o));
    snprintf(o->cluster, sizeof(o->cluster), "%s", sl->cluster);
    snprintf(o->source, sizeof(o->source), "%s", sl->source);
    o->up = sl->up;
    o->has_data = sl->shown || sl->pending;
    o->ready = sl->ready;
    o->last_success = sl->last_success;
    o->last_attempt = sl->last_attempt;
    o->duration_s = sl->duration_s;
    o->errors = sl->errors;
    snprintf(o->last_error, sizeof(o->last_error), "%s", sl->last_error);
  }
  pthread_mutex_unlock(&r->mu);
  return n;
}

int skpi_registry_ready(skpi_registry *r, double max_age_s) {
  pthread_mutex_lock(&r->mu);
  double now = skpi_now();
  int ok = 1;
  for(size_t i = 0; i < r->nslots; i++) {
    const slot *sl = &r->slots[i];
    if(sl->ready && (!sl->up || now - sl->last_success > max_age_s))
      ok = 0;
  }
  pthread_mutex_unlock(&r->mu);
  return ok;
}
