/* refcnt.h: the one reference count and the one stop flag.
 *
 * Shared objects (samples, metric sets, snapshots) carry an skpi_refcnt;
 * threads that must be told to stop poll an skpi_stop.  Both are C11
 * atomics, so every access goes through these functions and no reader
 * relies on volatile.
 */
#ifndef STREAMKPI_REFCNT_H
#define STREAMKPI_REFCNT_H

#include <stdatomic.h>

typedef struct skpi_refcnt {
  atomic_uint n;
} skpi_refcnt;

/* Sets the count to n (usually 1: the creator's reference).  Not atomic
 * with respect to other threads: call before the object is shared. */
void skpi_refcnt_init(skpi_refcnt *r, unsigned n);

/* Takes one more reference. */
void skpi_refcnt_inc(skpi_refcnt *r);

/* Drops one reference.  Returns 1 when it was the last one: the caller then
 * frees the object, and sees every write other holders made before they let
 * go. */
int skpi_refcnt_dec(skpi_refcnt *r);

/* The current count, for tests and assertions. */
unsigned skpi_refcnt_get(const skpi_refcnt *r);

/* A flag one thread raises to tell another to stop. */
typedef atomic_int skpi_stop;

/* Lowers (0) or raises (1) the flag. */
void skpi_stop_set(skpi_stop *s, int v);

/* Returns non-zero once the flag is raised.  s may be NULL (never stops). */
int skpi_stop_get(const skpi_stop *s);

#endif
