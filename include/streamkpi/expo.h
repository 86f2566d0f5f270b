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

/* SKPI_MT_UNTYPED renders as "untyped" (0.0.4) and "unknown" (OpenMetrics):
 * for names kept for compatibility that a type would make lint-invalid,
 * such as kafka_exporter's gauges ending in "_sum". */
enum skpi_mtype { SKPI_MT_GAUGE = 0, SKPI_MT_COUNTER, SKPI_MT_HISTOGRAM, SKPI_MT_INFO,
                  SKPI_MT_UNTYPED };

enum skpi_format { SKPI_FMT_TEXT = 0, SKPI_FMT_OPENMETRICS };

#define SKPI_CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define SKPI_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Bounds.  Label values come from Kafka and scraped targets, so every
 * length is capped; hitting a cap is SKPI_ETOOBIG (values, sample count) or
 * SKPI_EINVAL / -1 (names, label and bucket counts). */
#define SKPI_EXPO_MAX_NAME 1024        /* metric and label name length */
#define SKPI_EXPO_MAX_VALUE 4096       /* label value length before escaping */
#define SKPI_EXPO_MAX_LABELS 64        /* label pairs per sample */
#define SKPI_EXPO_MAX_BUCKETS 128      /* histogram bounds (besides +Inf) */
#define SKPI_EXPO_MAX_HELP 4096        /* longer HELP text is cut */
#define SKPI_EXPO_MAX_FAMILIES 65536   /* families per set */
#define SKPI_EXPO_MAX_SAMPLES 16777216 /* samples per set */
#define SKPI_EXPO_MAX_ACCEPT 4096      /* Accept header bytes looked at */

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

/* Returns a new empty set (refcount 1), or NULL on OOM.  A set is filled by
 * one thread; once handed on it is read-only and may be rendered from any
 * number of threads.  The refcount is atomic. */
skpi_mset *skpi_mset_new(void);
/* Takes one more reference.  NULL is ignored. */
void skpi_mset_ref(skpi_mset *m);
/* Drops one reference; the last one frees. NULL is ignored. */
void skpi_mset_unref(skpi_mset *m);
/* Gives back what only filling needs (the label lookup table, unused room
 * in the sample arrays) when m is handed on: a set lives a whole cycle, and
 * two of them (the shown one and the next) are alive at once.  Adding to m
 * afterwards still works, but labels added later are no longer shared with
 * earlier ones.  NULL is ignored. */
void skpi_mset_seal(skpi_mset *m);

/* Declares a family (or finds one already declared with that name) and
 * returns its index, or -1 when the name is not a valid metric name, the
 * type differs from an earlier declaration, or memory ran out.  help may be
 * NULL.  Counter names must end in "_total" and info names in "_info", with
 * a valid name left before the suffix.  Name and help are copied; invalid
 * UTF-8 in help becomes U+FFFD.  A redeclaration keeps the first help. */
int skpi_mset_family(skpi_mset *m, const char *name, enum skpi_mtype type, const char *help);

/* Adds one sample to family fam.  The variadic part is label name/value
 * string pairs terminated by NULL (the macro adds it).  Label names must be
 * valid ([a-zA-Z_][a-zA-Z0-9_]*, not starting "__") and distinct; values
 * are escaped and copied here (invalid UTF-8 becomes U+FFFD).  NaN is
 * allowed for gauges only; counters must be >= 0; info samples must be 1.
 * Histogram families take samples only through skpi_mset_add_hist.
 * SKPI_EINVAL for any of those, for an odd list or a NULL value, and for a
 * bad fam; SKPI_ETOOBIG for an over-long value or a full set; SKPI_ENOMEM.
 * On failure nothing is added.  Duplicate label sets are not detected. */
skpi_err skpi_mset_add_(skpi_mset *m, int fam, double value, ...);
#define skpi_mset_add(m, fam, value, ...) skpi_mset_add_((m), (fam), (value), ##__VA_ARGS__, (const char *)0)

/* Same with labels as an array of 2*npairs strings (name, value, ...). */
skpi_err skpi_mset_addv(skpi_mset *m, int fam, double value, const char *const *kv, size_t npairs);

/* Adds a histogram's _bucket/_sum/_count samples (nbounds + 3 samples:
 * one bucket per bound, the +Inf bucket = count, _sum, _count).  Bounds
 * must be finite and strictly ascending, cumulative non-decreasing and
 * <= count, sum not NaN; the label "le" is reserved.  Errors as for
 * skpi_mset_addv; the histogram is not copied beyond this call. */
skpi_err skpi_mset_add_hist(skpi_mset *m, int fam, const skpi_hist *h, const char *const *kv,
                            size_t npairs);

/* Number of samples in the set (all families). */
size_t skpi_mset_size(const skpi_mset *m);

/* Bytes of arena the set's label strings take.  Equal label strings added
 * to any of the set's families are stored once, so this grows with the
 * distinct label sets, not with the samples.  0 for NULL. */
size_t skpi_mset_label_bytes(const skpi_mset *m);

/* Renders the union of n sets into out (which it appends to).  Sets may be
 * NULL (skipped).  Returns SKPI_ETOOBIG when out's cap is hit (out is then
 * freed by skpi_buf, nothing else to clean up).  Same-named families form
 * one group placed at the name's first declaration, with that
 * declaration's HELP and TYPE; families of that name declared with another
 * type in later sets are left out; groups without samples are omitted.
 * Text output is empty or ends in "\n"; OpenMetrics ends in "# EOF\n". */
skpi_err skpi_expo_render(const skpi_mset *const *sets, size_t n, enum skpi_format fmt,
                          skpi_buf *out);

/* Picks the format an Accept header asks for (NULL means text):
 * OpenMetrics when application/openmetrics-text (version absent, 1.0.0 or
 * 0.0.1) has a q above 0 and at least the highest q of text/plain and of
 * the wildcards "text/<star>" and "<star>/<star>".  Malformed ranges are
 * ignored; so are bytes past SKPI_EXPO_MAX_ACCEPT. */
enum skpi_format skpi_expo_negotiate(const char *accept);

/* Returns 1 when name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
int skpi_expo_valid_name(const char *name);

#endif
