/* card.h: cardinality controls on the way from a sample to a metric set.
 *
 * A card holds one cluster's rules: which metric families may be emitted
 * (a family filter: include and exclude regexes over family names) and how
 * many series each family may carry per cycle (a default cap and caps per
 * family name; 0 means no cap).  The render path asks the card once per
 * family (skpi_card_family) and once per series (skpi_card_admit); series
 * past a family's cap are left out and counted.  Render order is stable, so
 * the series kept are the first ones in that order, the same every cycle.
 *
 * The count is exported by skpi_card_render as
 * streamkpi_series_dropped_total{cluster,family}: series left out by the
 * cap, summed over cycles, one sample per family that has a cap.  Families
 * the filter refuses are not counted: leaving them out is what was asked.
 *
 * One card belongs to one render thread (a Kafka source); it is not
 * locked.
 */
#ifndef STREAMKPI_CARD_H
#define STREAMKPI_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/expo.h"

/* Families one card tracks; a render declares a few dozen. */
#define SKPI_CARD_MAX_FAMILIES 4096

typedef struct skpi_card skpi_card;

/* One family's own cap (0: no cap, even when a default cap is set). */
typedef struct skpi_card_cap {
  const char *family;
  long cap;
} skpi_card_cap;

/* Creates a card.  families (may be NULL: every family passes) is
 * borrowed and must outlive the card; default_cap applies to families
 * without their own entry in caps (0: none); caps (ncaps entries) is
 * copied.  NULL when memory runs out or a cap is negative. */
skpi_card *skpi_card_new(const skpi_filter *families, long default_cap, const skpi_card_cap *caps,
                         size_t ncaps);

/* Frees the card.  NULL is ignored. */
void skpi_card_free(skpi_card *c);

/* Starts one cycle's render: every family's series count goes back to 0.
 * NULL is ignored. */
void skpi_card_begin(skpi_card *c);

/* Looks a family up before its series are added.  *handle becomes -1 when
 * the filter refuses the family, else a value for skpi_card_admit.  A NULL
 * card passes every family (*handle 0).  SKPI_ENOMEM when the card cannot
 * track one more family (*handle is then -1: nothing of it is emitted
 * rather than emitted beyond its cap); SKPI_EINVAL for a NULL name. */
skpi_err skpi_card_family(skpi_card *c, const char *name, int *handle);

/* Returns 1 when one more series of the family may be added this cycle,
 * else 0 (and counts the series as dropped when it was the cap, not the
 * filter, that refused it).  With a NULL card every handle >= 0 passes. */
int skpi_card_admit(skpi_card *c, int handle);

/* Series dropped by the cap, summed over cycles, for a family name (0 when
 * it never had a cap or was never seen). */
uint64_t skpi_card_dropped(const skpi_card *c, const char *name);

/* Adds streamkpi_series_dropped_total{cluster,family} to m: one sample per
 * family with a cap seen so far.  A NULL card adds nothing.  Errors as for
 * skpi_mset_add (SKPI_EINVAL when the family cannot be declared). */
skpi_err skpi_card_render(const skpi_card *c, skpi_mset *m, const char *cluster);

#endif
