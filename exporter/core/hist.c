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

void skpi_hist_view(const skpi_histogram *h, skpi_hist *out) {
  out->nbounds = h->nbounds;
  out->bounds = h->bounds;
  out->cumulative = h->cumulative;
  out->sum = h->sum;
  out->count = h->count;
}
