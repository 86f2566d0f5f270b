/* registry.h: where sources publish, and where scrapes read.
 *
 * Each source (a Kafka cluster's sampler, a probe, an HTTP target, a KPI
 * engine) owns one slot.  At the end of a cycle it publishes an skpi_mset
 * (success) or an error (failure).  A composer thread turns the slots into
 * an immutable, refcounted skpi_snapshot whose 0.0.4 text is assembled in
 * the background; other encodings (OpenMetrics, gzip) are assembled on
 * first use and cached in that snapshot.  A scrape takes a reference to the newest
 * snapshot and writes its bytes: it never waits for a source.
 *
 * A failed source keeps its last good set (marked by streamkpi_source_up 0)
 * until ttl seconds after its last success, then its set is dropped.
 * The registry renders each set once, when it arrives, and keeps the
 * rendering, not the set; text that did not change from a source's
 * previous set is shared, not rendered again (see skpi_rendered_new).
 *
 * The composer adds the self-metrics: streamkpi_build_info,
 * streamkpi_source_up, streamkpi_source_last_success_timestamp_seconds,
 * streamkpi_source_collect_duration_seconds, streamkpi_source_errors_total,
 * streamkpi_source_cycles_total (labels cluster, source).
 */
#ifndef STREAMKPI_REGISTRY_H
#define STREAMKPI_REGISTRY_H

#include <stddef.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"

typedef struct skpi_registry skpi_registry;
typedef struct skpi_snapshot skpi_snapshot;

/* Creates a registry and starts its composer thread.  NULL on failure. */
skpi_registry *skpi_registry_new(void);

/* Stops the composer and frees everything.  Sources must be stopped first;
 * snapshots still referenced stay valid until released. */
void skpi_registry_free(skpi_registry *r);

/* Adds a slot for one source and returns its id (>= 0), or -1.  cluster may
 * be "" for sources not tied to a cluster.  ttl_s: how long the last good
 * set survives failures.  ready: whether /ready waits for this source. */
int skpi_registry_add_source(skpi_registry *r, const char *cluster, const char *source,
                             double ttl_s, int ready);

/* Publishes the end of a cycle.  On success pass set (ownership moves to the
 * registry) and error NULL; on failure pass set NULL and a short error text
 * (copied).  duration_s is the cycle's wall time. */
void skpi_registry_publish(skpi_registry *r, int slot, skpi_mset *set, const char *error,
                           double duration_s);

/* Returns the newest snapshot with a reference taken (never NULL after
 * skpi_registry_new succeeded). */
skpi_snapshot *skpi_registry_acquire(skpi_registry *r);
void skpi_snapshot_release(skpi_snapshot *s);

/* Gives the snapshot's body in the asked encoding as a list of parts to
 * send one after the other, with their total length, assembling and caching
 * it on first use.  The parts belong to the snapshot: valid until it is
 * released.  SKPI_ENOMEM. */
skpi_err skpi_snapshot_parts(skpi_snapshot *s, enum skpi_format fmt, int gzip,
                             const skpi_expo_part **parts, size_t *nparts, size_t *total);

/* One source's state, for /ready and the landing page. */
typedef struct skpi_source_status {
  char cluster[128];
  char source[64];
  int up;                 /* last cycle succeeded */
  int has_data;           /* a set is held (fresh or stale) */
  int ready;              /* counts for /ready */
  double last_success;    /* unix seconds, 0 = never */
  double last_attempt;    /* unix seconds, 0 = never */
  double duration_s;
  unsigned long errors;
  char last_error[256];
} skpi_source_status;

/* Copies up to max statuses into out and returns the total count. */
size_t skpi_registry_status(skpi_registry *r, skpi_source_status *out, size_t max);

/* Returns 1 when every ready-source succeeded within max_age_s seconds. */
int skpi_registry_ready(skpi_registry *r, double max_age_s);

#endif
