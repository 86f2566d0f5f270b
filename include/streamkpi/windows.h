/* windows.h: a ring of per-minute buckets for rolling windows.
 *
 * Each bucket covers one wall-clock minute [60m, 60m+60) (m = floor(t/60))
 * and holds nslots doubles (for example observed seconds and downtime
 * seconds).  The ring keeps `capacity` minutes (31 days = 44,640 is the
 * usual choice); adding to a minute that has fallen out of the ring, or that
 * a newer minute has already replaced, is refused.  Sums over a time range
 * include every bucket that overlaps it, so a window that does not start on a
 * minute boundary may include up to one minute more than its length.
 *
 * Plain data structure: not thread-safe, the caller locks.  Time is always an
 * argument (unix seconds); the module never reads the clock.
 */
#ifndef STREAMKPI_WINDOWS_H
#define STREAMKPI_WINDOWS_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/err.h"

/* 31 days of minutes: enough for a 30-day window plus slack. */
#define SKPI_WIN_MINUTES_31D 44640u
/* Upper bounds that keep a ring's memory sane. */
#define SKPI_WIN_MAX_SLOTS 16u
#define SKPI_WIN_MAX_CAPACITY (366u * 1440u)

typedef struct skpi_win skpi_win;

/* Returns an empty ring of capacity minutes with nslots values per minute,
 * or NULL when an argument is out of range (0 or above the maxima) or memory
 * ran out.  Free with skpi_win_free. */
skpi_win *skpi_win_new(size_t nslots, size_t capacity);

/* Frees w; NULL is ignored. */
void skpi_win_free(skpi_win *w);

/* Adds v to slot of the minute containing t.  Errors: SKPI_EINVAL when t is
 * negative or not finite, v is not finite, slot is out of range, or the
 * minute is older than what the ring holds (it was replaced by a newer one).
 * Nothing changes on error. */
skpi_err skpi_win_add(skpi_win *w, double t, size_t slot, double v);

/* Returns the sum of slot over the buckets overlapping [from_t, to_t) that
 * the ring still holds.  0 for an empty or inverted range
 * or a bad slot.  Cost is O(min(range minutes, capacity)). */
double skpi_win_sum(const skpi_win *w, double from_t, double to_t, size_t slot);

/* Empties every bucket for a minute older than now's minute - capacity + 1,
 * so a later sum or save never sees it. */
void skpi_win_prune(skpi_win *w, double now);

/* Returns a new JSON document holding the non-empty buckets:
 *   {"slots":N,"buckets":[[minute,v0,...,vN-1],...]} (ascending minutes).
 * NULL on OOM.  Caller decrefs. */
json_t *skpi_win_save(const skpi_win *w);

/* Replaces w's contents with doc (as written by skpi_win_save).  Strict:
 * wrong types, a slot count that differs from w's, a negative minute,
 * non-finite values, more buckets than the capacity or duplicate minutes give SKPI_ESTATE with a message in errbuf (may be NULL),
 * and w is left unchanged.  Buckets too old for the ring (relative to the
 * newest one) are dropped. */
skpi_err skpi_win_load(skpi_win *w, const json_t *doc, char *errbuf, size_t errlen);

/* Number of values per minute and number of minutes kept. */
size_t skpi_win_slots(const skpi_win *w);
size_t skpi_win_capacity(const skpi_win *w);

#endif
