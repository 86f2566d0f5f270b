/* hist.h: a fixed-size histogram accumulator (bucket counting).
 *
 * Any module that exports a Prometheus histogram keeps one skpi_histogram per
 * series, observes values into it and, when building its metric set, takes an
 * skpi_hist view (expo.h) of it for skpi_mset_add_hist.  The struct holds no
 * pointers and allocates nothing, so it may be copied by value, embedded in
 * other structs and reset with skpi_hist_init.  Not thread-safe: the owner
 * locks.
 */
#ifndef STREAMKPI_HIST_H
#define STREAMKPI_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"

#define SKPI_HIST_MAX_BOUNDS 32

typedef struct skpi_histogram {
  size_t nbounds;
  double bounds[SKPI_HIST_MAX_BOUNDS];       /* ascending upper bounds, +Inf implied */
  uint64_t cumulative[SKPI_HIST_MAX_BOUNDS]; /* observations <= bounds[i] */
  double sum;
  uint64_t count; /* all observations (the +Inf bucket) */
} skpi_histogram;

/* Empties h and sets its bucket bounds (copied).  Returns SKPI_EINVAL, and
 * leaves h empty with no bounds, when n exceeds SKPI_HIST_MAX_BOUNDS, a bound
 * is not finite, or the bounds do not strictly ascend.  n may be 0 (only the
 * +Inf bucket). */
skpi_err skpi_hist_init(skpi_histogram *h, const double *bounds, size_t n);

/* Records one observation.  NaN is ignored (it has no bucket); +Inf counts
 * in the +Inf bucket only. */
void skpi_hist_observe(skpi_histogram *h, double v);

/* Observations in bucket i alone, not cumulative: those in (bounds[i-1],
 * bounds[i]], and for i == nbounds those above the last bound (+Inf).
 * 0 for i > nbounds.  This is the form state files keep. */
uint64_t skpi_hist_bucket(const skpi_histogram *h, size_t i);

/* Restores the observations of h, whose bounds skpi_hist_init set, from n
 * per-bucket counts as skpi_hist_bucket gives them (n == nbounds + 1, the
 * last being the +Inf bucket) and their sum.  Returns SKPI_EINVAL, leaving
 * h unchanged, when n is wrong, sum is not finite or the counts overflow. */
skpi_err skpi_hist_restore(skpi_histogram *h, const uint64_t *counts, size_t n, double sum);

/* Fills out with a view of h for skpi_mset_add_hist.  The view points into
 * h: valid while h lives and is not changed. */
void skpi_hist_view(const skpi_histogram *h, skpi_hist *out);

#endif
