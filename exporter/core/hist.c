/* hist.c: fixed-size histogram accumulator. */
#include "streamkpi/hist.h"

#include <math.h>
#include <string.h>

skpi_err skpi_hist_init(skpi_histogram *h, const double *bounds, size_t n) {
  memset(h, 0, sizeof(*h));
  if(n > SKPI_HIST_MAX_BOUNDS || (n > 0 && !bounds))
    return SKPI_EINVAL;
  for(size_t i = 0; i < n; i++) {
    if(!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
      return SKPI_EINVAL;
  }
  if(n > 0)
    memcpy(h->bounds, bounds, n * sizeof(*bounds));
  h->nbounds = n;
  return SKPI_OK;
}

void skpi_hist_observe(skpi_histogram *h, double v) {
  if(isnan(v))
    return;
  /* Bounds ascend, so the buckets holding v are a suffix: walk from the top
   * and stop at the first bound below v. */
  for(size_t i = h->nbounds; i > 0 && v <= h->bounds[i - 1]; i--)
    h->cumulative[i - 1]++;
  h->sum += v;
  h->count++;
}

uint64_t skpi_hist_bucket(const skpi_histogram *h, size_t i) {
  if(i > h->nbounds)
    return 0;
  uint64_t upto = i < h->nbounds ? h->cumulative[i] : h->count;
  return upto - (i > 0 ? h->cumulative[i - 1] : 0);
}

skpi_err skpi_hist_restore(skpi_histogram *h, const uint64_t *counts, size_t n, double sum) {
  uint64_t cum[SKPI_HIST_MAX_BOUNDS], run = 0;
  if(!counts || n != h->nbounds + 1 || !isfinite(sum))
    return SKPI_EINVAL;
  for(size_t i = 0; i < n; i++) {
    if(counts[i] > UINT64_MAX - run)
      return SKPI_EINVAL;
    run += counts[i];
    if(i < h->nbounds)
      cum[i] = run;
  }
  memcpy(h->cumulative, cum, h->nbounds * sizeof(*cum));
  h->count = run;
  h->sum = sum;
  return SKPI_OK;
}

void skpi_hist_view(const skpi_histogram *h, skpi_hist *out) {
  out->nbounds = h->nbounds;
  out->bounds = h->bounds;
  out->cumulative = h->cumulative;
  out->sum = h->sum;
  out->count = h->count;
}
