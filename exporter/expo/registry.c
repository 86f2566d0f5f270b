/* registry.c: source slots, the composer thread and immutable snapshots.
 *
 * Sources publish under the registry mutex and signal the composer; the
 * composer copies slot state and takes references to the slots' sets under
 * the mutex, then renders outside it.  The newest snapshot pointer is
 * swapped under the mutex; readers take a reference.  Encodings other than
 * plain text are rendered on first use and cached in the snapshot; the
 * composer pre-renders, for the next snapshot, every encoding that was
 * asked for before, so steady-state scrapes only copy bytes.
 *
 * A snapshot replaced by a newer one is retired: it gives its sets back at
 * once and keeps only the bodies already rendered, so an answer still being
 * sent from it pins text, never the sources' sets.  The shown snapshot gives
 * its sets back already when the composer starts on the next one, so a
 * source's old and new sets are not both held while the new text renders;
 * an encoding first asked for in that window waits for the next snapshot.
 */
#include "streamkpi/registry.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <librdkafka/rdkafka.h>

#include "streamkpi/clock.h"
#include "streamkpi/log.h"
#include "streamkpi/refcnt.h"

#define MAX_SLOTS 4096
/* Rendered output is capped so a runaway source cannot exhaust memory. */
#define RENDER_CAP ((size_t)1 << 30)
#define NENC 4 /* text, openmetrics, text+gzip, openmetrics+gzip */
/* How long a request for an encoding the shown snapshot cannot render any
 * more waits for the next snapshot (it normally waits one render). */
#define REPLACE_WAIT_S 10

typedef struct slot {
  char cluster[128];
  char source[64];
  double ttl_s;
  int ready;
  skpi_mset *set; /* last good set, or NULL */
  int up;
  double last_success;
  double last_attempt;
  double duration_s;
  unsigned long errors;
  unsigned long cycles;
  char last_error[256];
} slot;

/* The encodings scrapes asked for, as a bitmask, and each encoding's last
 * size (the next render allocates about that once instead of doubling up to
 * it).  Snapshots record what they are asked for here and may outlive the
 * registry, so the registry and each snapshot hold a reference and the last
 * one frees it. */
typedef struct wanted {
  skpi_refcnt refs;
  atomic_uint bits;
  atomic_size_t last_len[NENC];
} wanted;

struct skpi_snapshot {
  skpi_refcnt refcnt;
  wanted *want;
  skpi_mset **sets; /* sets[0] is the self-metrics set */
  size_t nsets;
  pthread_mutex_t mu;      /* guards the lazily rendered encodings and sets */
  int retired;             /* replaced: sets given back, no new encodings */
  int stripped;            /* sets given back, a newer snapshot is on its way */
  pthread_cond_t replaced; /* signalled when retired */
  char *body[NENC];
  size_t len[NENC];
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
  wanted *want;
  double last_render_s;
  size_t last_render_bytes;
};

static int enc_index(enum skpi_format fmt, int gzip) {
  return (fmt == SKPI_FMT_OPENMETRICS ? 1 : 0) + (gzip ? 2 : 0);
}

/* Room for a body expected to be about hint bytes: a little over the last
 * size, as bodies grow slowly between cycles. */
static size_t room_for(size_t hint) {
  return hint + hint / 32 + 4096;
}

/* Compresses in into a buffer sized from hint (the last gzip size), not
 * from deflateBound: that bound is the input's size, and the compressed
 * text is about 1/25 of it. */
static skpi_err gzip_bytes(const char *in, size_t inlen, size_t hint, char **out, size_t *outlen) {
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  if(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return SKPI_ENOMEM;
  skpi_buf b;
  skpi_buf_init(&b, RENDER_CAP);
  skpi_err rc = skpi_buf_reserve(&b, room_for(hint));
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)inlen;
  int zrc = Z_OK;
  while(rc == SKPI_OK && zrc != Z_STREAM_END) {
    Bytef chunk[65536];
    zs.next_out = chunk;
    zs.avail_out = sizeof(chunk);
    zrc = deflate(&zs, Z_FINISH);
    if(zrc != Z_OK && zrc != Z_STREAM_END)
      rc = SKPI_EIO;
    else
      rc = skpi_buf_add(&b, chunk, sizeof(chunk) - zs.avail_out);
  }
  deflateEnd(&zs);
  if(rc) {
    skpi_buf_free(&b);
    return rc;
  }
  *out = skpi_buf_steal(&b, outlen);
  return *out ? SKPI_OK : SKPI_ENOMEM;
}

/* Renders encoding e into s (caller holds s->mu). */
static skpi_err render_enc(skpi_snapshot *s, int e) {
  if(s->body[e])
    return SKPI_OK;
  if(s->stripped && !s->retired) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += REPLACE_WAIT_S;
    while(!s->retired && pthread_cond_timedwait(&s->replaced, &s->mu, &until) == 0)
      ;
  }
  if(s->retired || s->stripped)
    return SKPI_ENOENT;
  skpi_err rc;
  if(e >= 2) {
    if((rc = render_enc(s, e - 2)) != SKPI_OK)
      return rc;
    rc = gzip_bytes(s->body[e - 2], s->len[e - 2], atomic_load(&s->want->last_len[e]), &s->body[e],
                    &s->len[e]);
  } else {
    skpi_buf b;
    skpi_buf_init(&b, RENDER_CAP);
    size_t hint = atomic_load(&s->want->last_len[e]);
    if(!hint || (rc = skpi_buf_reserve(&b, room_for(hint))) == SKPI_OK)
      rc = skpi_expo_render((const skpi_mset *const *)s->sets, s->nsets,
                            e == 1 ? SKPI_FMT_OPENMETRICS : SKPI_FMT_TEXT, &b);
    if(rc) {
      skpi_buf_free(&b);
      return rc;
    }
    s->body[e] = skpi_buf_steal(&b, &s->len[e]);
    rc = s->body[e] ? SKPI_OK : SKPI_ENOMEM;
  }
  if(rc == SKPI_OK)
    atomic_store(&s->want->last_len[e], s->len[e]);
  return rc;
}

static void wanted_unref(wanted *w) {
  if(w && skpi_refcnt_dec(&w->refs))
    free(w);
}

static void snapshot_free(skpi_snapshot *s) {
  for(size_t i = 0; i < s->nsets; i++)
    skpi_mset_unref(s->sets[i]);
  free(s->sets);
  for(int e = 0; e < NENC; e++)
    free(s->body[e]);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->replaced);
  wanted_unref(s->want);
  free(s);
}

void skpi_snapshot_release(skpi_snapshot *s) {
  if(s && skpi_refcnt_dec(&s->refcnt))
    snapshot_free(s);
}

skpi_err skpi_snapshot_body(skpi_snapshot *s, enum skpi_format fmt, int gzip, const char **data,
                            size_t *len) {
  int e = enc_index(fmt, gzip);
  atomic_fetch_or(&s->want->bits, 1u << e);
  pthread_mutex_lock(&s->mu);
  skpi_err rc = render_enc(s, e);
  if(rc == SKPI_OK) {
    *data = s->body[e];
    *len = s->len[e];
  }
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
  if(f_build < 0 || f_up < 0 || f_stale < 0 || f_last < 0 || f_dur < 0 || f_err < 0 || f_cyc < 0 ||
     f_rs < 0 || f_rb < 0)
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
       (rc = skpi_mset_addv(m, f_stale, !sl->up && sl->set, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_dur, sl->duration_s, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_err, (double)sl->errors, kv, 2)) != SKPI_OK ||
       (rc = skpi_mset_addv(m, f_cyc, (double)sl->cycles, kv, 2)) != SKPI_OK)
      return rc;
    if(sl->last_success > 0 && (rc = skpi_mset_addv(m, f_last, sl->last_success, kv, 2)) != SKPI_OK)
      return rc;
  }
  if(r->last_render_bytes) {
    if((rc = skpi_mset_add(m, f_rs, r->last_render_s)) != SKPI_OK ||
       (rc = skpi_mset_add(m, f_rb, (double)r->last_render_bytes)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

/* Gives back s's sets: while the next snapshot renders (retired 0), or for
 * good once it is shown (retired 1), which wakes requests waiting for it. */
static void give_back_sets(skpi_snapshot *s, int retired) {
  pthread_mutex_lock(&s->mu);
  s->stripped = 1;
  if(retired) {
    s->retired = 1;
    pthread_cond_broadcast(&s->replaced);
  }
  for(size_t i = 0; i < s->nsets; i++)
    skpi_mset_unref(s->sets[i]);
  s->nsets = 0;
  pthread_mutex_unlock(&s->mu);
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
  pthread_cond_init(&s->replaced, NULL);

  pthread_mutex_lock(&r->mu);
  double now = skpi_now();
  size_t n = r->nslots;
  slot *copy = malloc((n ? n : 1) * sizeof(*copy));
  s->sets = calloc(n + 1, sizeof(*s->sets));
  if(!copy || !s->sets) {
    pthread_mutex_unlock(&r->mu);
    free(copy);
    snapshot_free(s);
    return NULL;
  }
  for(size_t i = 0; i < n; i++) {
    slot *sl = &r->slots[i];
    /* The TTL runs from the last success: stale data past it is dropped. */
    if(sl->set && !sl->up && now - sl->last_success > sl->ttl_s) {
      skpi_log(SKPI_WARN, "dropping stale data", "cluster", sl->cluster, "source", sl->source);
      skpi_mset_unref(sl->set);
      sl->set = NULL;
    }
    copy[i] = *sl;
    if(sl->set) {
      skpi_mset_ref(sl->set);
      s->sets[1 + s->nsets++] = sl->set;
    }
  }
  r->dirty = 0;
  pthread_mutex_unlock(&r->mu);

  skpi_mset *self = skpi_mset_new();
  s->sets[0] = self;
  s->nsets++;
  skpi_err rc = self ? self_metrics(r, copy, n, self) : SKPI_ENOMEM;
  free(copy);
  if(rc) {
    skpi_log(SKPI_ERROR, "cannot build self-metrics", "error", skpi_strerror(rc));
    snapshot_free(s);
    return NULL;
  }

  /* Only the composer replaces r->current, so it is read here unlocked. */
  if(r->current)
    give_back_sets(r->current, 0);
  double t0 = skpi_mono();
  unsigned asked = atomic_load(&r->want->bits) | 1u;
  for(int e = 0; e < NENC; e++) {
    if(!(asked & (1u << e)))
      continue;
    if((rc = render_enc(s, e)) != SKPI_OK) {
      skpi_log(SKPI_ERROR, "cannot render snapshot", "error", skpi_strerror(rc));
      snapshot_free(s);
      return NULL;
    }
    if(e == 0) {
      r->last_render_s = skpi_mono() - t0;
      r->last_render_bytes = s->len[0];
    }
  }
  return s;
}

/* Gives back the sets of a snapshot no longer current. */
static void retire(skpi_snapshot *s) {
  give_back_sets(s, 1);
}

static void install(skpi_registry *r, skpi_snapshot *s) {
  pthread_mutex_lock(&r->mu);
  skpi_snapshot *old = r->current;
  r->current = s;
  pthread_mutex_unlock(&r->mu);
  retire(old);
  skpi_snapshot_release(old);
}

/* Returns 1 when some slot holds a set whose TTL has run out. */
static int ttl_due(skpi_registry *r, double now) {
  for(size_t i = 0; i < r->nslots; i++) {
    const slot *sl = &r->slots[i];
    if(sl->set && !sl->up && now - sl->last_success > sl->ttl_s)
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
    else if(r->current)
      retire(r->current); /* no next one: waiting requests stop waiting */
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
  for(int e = 0; e < NENC; e++)
    atomic_init(&r->want->last_len[e], 0);
  r->current = compose(r);
  if(!r->current)
    goto fail;
  if(pthread_create(&r->thread, NULL, composer, r) != 0)
    goto fail;
  return r;
fail:
  skpi_snapshot_release(r->current);
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
  /* Snapshots still held keep their own reference to it. */
  wanted_unref(r->want);
  for(size_t i = 0; i < r->nslots; i++)
    skpi_mset_unref(r->slots[i].set);
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
    skpi_mset_unref(sl->set);
    sl->set = set;
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
    o->has_data = sl->set != NULL;
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
