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

/* Renders the union of n sets into out (which it appends to), as
 * skpi_rendered_new and skpi_expo_assemble do, in one piece.  Sets may be
 * NULL (skipped).  Returns SKPI_ETOOBIG when out's cap is hit (out is then
 * freed by skpi_buf, nothing else to clean up).  Same-named families form
 * one group placed at the name's first declaration, with that
 * declaration's HELP and TYPE; families of that name declared with another
 * type in later sets are left out; groups without samples are omitted.
 * Text output is empty or ends in "\n"; OpenMetrics ends in "# EOF\n". */
skpi_err skpi_expo_render(const skpi_mset *const *sets, size_t n, enum skpi_format fmt,
                          skpi_buf *out);

/* ---- render once, serve many times ----
 *
 * A published set is rendered once into an skpi_rendered: each family's
 * sample lines, cut into blocks of SKPI_EXPO_BLOCK samples (a power-of-two
 * multiple of it for a family that would need more than 64 blocks).  Sample lines
 * are the same in both formats, so one rendering serves text and
 * OpenMetrics, plain and gzip.  A block whose samples (labels and values)
 * equal the block at the same place of the same family in the source's
 * previous rendering is not rendered again but shared with it, so a cycle
 * that changed little costs little, and the text that did not change is
 * held once however many snapshots show it.  Blocks are compared by a
 * 64-bit hash of their samples and their count. */
#define SKPI_EXPO_BLOCK 1024

typedef struct skpi_rendered skpi_rendered;

/* Renders m, sharing unchanged blocks with prev (the same source's last
 * rendering; NULL renders everything).  m and prev are only read.  Sets
 * *out (refcount 1).  SKPI_ENOMEM, or SKPI_ETOOBIG for a line past 1 GiB. */
skpi_err skpi_rendered_new(const skpi_mset *m, const skpi_rendered *prev, skpi_rendered **out);
/* Reference counting (atomic); NULL is ignored. */
void skpi_rendered_ref(skpi_rendered *r);
void skpi_rendered_unref(skpi_rendered *r);
/* Bytes of sample lines held by r, and of those the bytes r rendered
 * itself (the rest it shares with the rendering it was given as prev). */
size_t skpi_rendered_bytes(const skpi_rendered *r);
size_t skpi_rendered_fresh_bytes(const skpi_rendered *r);

/* One contiguous piece of an exposition body. */
typedef struct skpi_expo_part {
  const char *data;
  size_t len;
} skpi_expo_part;

/* An exposition body assembled from renderings: a list of parts, served
 * one after the other (writev).  It holds references to the renderings,
 * so it stays valid however long it is kept. */
typedef struct skpi_expo_body skpi_expo_body;

/* Assembles the union of n renderings (NULL entries are skipped) in format
 * fmt, gzip-compressed when gzip is set, with the grouping rules of
 * skpi_expo_render.  Compressed bodies are one gzip member whose blocks
 * are compressed once and shared like their text.  SKPI_ENOMEM. */
skpi_err skpi_expo_assemble(skpi_rendered *const *r, size_t n, enum skpi_format fmt, int gzip,
                            skpi_expo_body **out);
/* Frees b (NULL is ignored); the renderings live on while referenced. */
void skpi_expo_body_free(skpi_expo_body *b);
/* The body's parts and their total length.  Valid while b lives. */
const skpi_expo_part *skpi_expo_body_parts(const skpi_expo_body *b, size_t *nparts,
                                           size_t *total);
/* Appends the parts' bytes to out (SKPI_ETOOBIG past its cap). */
skpi_err skpi_expo_join(const skpi_expo_part *parts, size_t n, skpi_buf *out);

/* Picks the format an Accept header asks for (NULL means text):
 * OpenMetrics when application/openmetrics-text (version absent, 1.0.0 or
 * 0.0.1) has a q above 0 and at least the highest q of text/plain and of
 * the wildcards "text/<star>" and "<star>/<star>".  Malformed ranges are
 * ignored; so are bytes past SKPI_EXPO_MAX_ACCEPT. */
enum skpi_format skpi_expo_negotiate(const char *accept);

/* Returns 1 when name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
int skpi_expo_valid_name(const char *name);

#endif
