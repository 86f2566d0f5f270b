/* expo.h: metric families and their exposition (Prometheus text 0.0.4 and
 * OpenMetrics 1.0).
 *
 * A source fills an skpi_mset during its cycle, then hands it (immutable from
 * then on) to the registry.  The renderer merges several sets: samples of
 * families with the same name are emitted as one contiguous group, HELP and
 * TYPE first, families in order of first appearance.
 *
 * Names are given in their 0.0.4 form: counters end in "_total", info
 * families in "_info".  The OpenMetrics renderer derives the family name
 * (strips "_total" / "_info"), writes "# UNIT" nowhere, and ends with
 * "# EOF".  Label values are escaped once, when added (\\, \", \n).
 */
#ifndef STREAMKPI_EXPO_H
#define STREAMKPI_EXPO_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/buf.h"
#include "streamkpi/err.h"

enum skpi_mtype { SKPI_MT_GAUGE = 0, SKPI_MT_COUNTER, SKPI_MT_HISTOGRAM, SKPI_MT_INFO };

enum skpi_format { SKPI_FMT_TEXT = 0, SKPI_FMT_OPENMETRICS };

#define SKPI_CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define SKPI_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

typedef struct skpi_mset skpi_mset;

/* A histogram's state.  counts[i] is the number of observations <= bounds[i]
 * (cumulative); the +Inf bucket is count.  bounds ascend. */
typedef struct skpi_hist {
  size_t nbounds;
  const double *bounds;
  const uint64_t *cumulative;
  double sum;
  uint64_t count;
} skpi_hist;

/* Returns a new empty set (refcount 1), or NULL on OOM. */
skpi_mset *skpi_mset_new(void);
void skpi_mset_ref(skpi_mset *m);
/* Drops one reference; the last one frees. NULL is ignored. */
void skpi_mset_unref(skpi_mset *m);

/* Declares a family (or finds one already declared with that name) and
 * returns its index, or -1 when the name is not a valid metric name, the
 * type differs from an earlier declaration, or memory ran out.  help may be
 * NULL. */
int skpi_mset_family(skpi_mset *m, const char *name, enum skpi_mtype type, const char *help);

/* Adds one sample to family fam.  The variadic part is label name/value
 * string pairs terminated by NULL (the macro adds it).  Label names must be
 * valid; values are escaped here.  NaN is allowed for gauges only. */
skpi_err skpi_mset_add_(skpi_mset *m, int fam, double value, ...);
#define skpi_mset_add(m, fam, value, ...) skpi_mset_add_((m), (fam), (value), ##__VA_ARGS__, (const char *)0)

/* Same with labels as an array of 2*npairs strings (name, value, ...). */
skpi_err skpi_mset_addv(skpi_mset *m, int fam, double value, const char *const *kv, size_t npairs);

/* Adds a histogram's _bucket/_sum/_count samples. */
skpi_err skpi_mset_add_hist(skpi_mset *m, int fam, const skpi_hist *h, const char *const *kv,
                            size_t npairs);

/* Number of samples in the set (all families). */
size_t skpi_mset_size(const skpi_mset *m);

/* Renders the union of n sets into out (which it appends to).  Sets may be
 * NULL (skipped).  Returns SKPI_ETOOBIG when out's cap is hit. */
skpi_err skpi_expo_render(const skpi_mset *const *sets, size_t n, enum skpi_format fmt,
                          skpi_buf *out);

/* Picks the format an Accept header asks for (NULL means text). */
enum skpi_format skpi_expo_negotiate(const char *accept);

/* Returns 1 when name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
int skpi_expo_valid_name(const char *name);

#endif
