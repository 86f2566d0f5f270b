/* ntable.h: a table of entries keyed by name, kept sorted, with a sweep.
 *
 * KPI modules remember things by name across samples (topics, consumer
 * groups, DLQ pipelines) and forget those not seen for a while.  An
 * skpi_ntable holds such entries in one array sorted by name: look-ups are a
 * binary search, iteration by index is in name order.  Entries added since
 * the last sort sit after the sorted ones, in insertion order, and are found
 * through a small hash index, so a whole sample can be added before one sort
 * puts them in place (skpi_ntable_sort, or skpi_ntable_sweep which sorts
 * too).
 *
 * Each entry is a caller-defined struct of the size given at init whose
 * first member is an skpi_nentry: the table owns the name, the caller sets
 * last_seen (a time, or a cycle number: the sweep only compares it).  The
 * drop callback frees what else an entry owns whenever the table lets go of
 * one.  Pointers to entries stay valid until the next add, remove, sort,
 * sweep or clear.  Not thread-safe: the owner locks.
 */
#ifndef STREAMKPI_NTABLE_H
#define STREAMKPI_NTABLE_H

#include <stddef.h>

#include "streamkpi/err.h"

/* The first member of every entry. */
typedef struct skpi_nentry {
  char *name;       /* owned by the table */
  double last_seen; /* set by the caller, read by skpi_ntable_sweep */
} skpi_nentry;

/* Frees what an entry owns besides its name (user as given at init). */
typedef void (*skpi_ntable_drop)(void *entry, void *user);

typedef struct skpi_ntable {
  unsigned char *v; /* n entries of esize bytes */
  size_t n, nsorted, cap, esize;
  size_t *index; /* open addressing over the unsorted entries: position + 1, 0 empty */
  size_t nindex; /* slots, a power of two, or 0 */
  skpi_ntable_drop drop;
  void *user;
} skpi_ntable;

/* Binary search over n structs of size bytes each, sorted (strcmp) by the
 * string pointer each holds at byte offset off: the look-up an ntable does,
 * for sorted arrays it does not own (a sample's topics and groups).
 * Returns the matching struct, or NULL. */
const void *skpi_ntable_bsearch(const void *base, size_t n, size_t size, size_t off,
                                const char *name);

/* Sets up an empty table of entries of esize bytes (>= sizeof(skpi_nentry),
 * skpi_nentry first).  drop may be NULL.  Allocates nothing. */
void skpi_ntable_init(skpi_ntable *t, size_t esize, skpi_ntable_drop drop, void *user);

/* Drops every entry and frees the table's memory; the table stays
 * initialised and empty. */
void skpi_ntable_clear(skpi_ntable *t);

/* Number of entries. */
size_t skpi_ntable_len(const skpi_ntable *t);

/* Entry i (0 <= i < len): in name order after a sort or sweep. */
void *skpi_ntable_at(const skpi_ntable *t, size_t i);

/* The entry named name, or NULL. */
void *skpi_ntable_find(const skpi_ntable *t, const char *name);

/* Adds an entry named name (copied), zeroed apart from its name, and sets
 * *out to it.  Returns SKPI_EINVAL when name is NULL or already present,
 * SKPI_ENOMEM when memory runs out (the table is unchanged then). */
skpi_err skpi_ntable_add(skpi_ntable *t, const char *name, void **out);

/* Drops the entry named name.  Returns 1 when there was one, else 0.  The
 * table is sorted afterwards. */
int skpi_ntable_remove(skpi_ntable *t, const char *name);

/* Puts the entries added since the last sort in name order. */
void skpi_ntable_sort(skpi_ntable *t);

/* Drops the entries with now - last_seen > max_age (not seen since a time;
 * with cycle numbers and max_age 0, not marked in this cycle), then sorts.
 * Returns the number dropped. */
size_t skpi_ntable_sweep(skpi_ntable *t, double now, double max_age);

#endif
