/* refcnt.c: reference counts and stop flags on C11 atomics. */
#include "streamkpi/refcnt.h"

#include <stddef.h>

void skpi_refcnt_init(skpi_refcnt *r, unsigned n) {
  atomic_init(&r->n, n);
}

void skpi_refcnt_inc(skpi_refcnt *r) {
  /* Relaxed: taking a reference publishes nothing. */
  atomic_fetch_add_explicit(&r->n, 1, memory_order_relaxed);
}

int skpi_refcnt_dec(skpi_refcnt *r) {
  /* acq_rel so the thread that frees sees every write made before the
   * others let go. */
  return atomic_fetch_sub_explicit(&r->n, 1, memory_order_acq_rel) == 1;
}

unsigned skpi_refcnt_get(const skpi_refcnt *r) {
  return atomic_load_explicit(&r->n, memory_order_relaxed);
}

void skpi_stop_set(skpi_stop *s, int v) {
  atomic_store(s, v);
}

int skpi_stop_get(const skpi_stop *s) {
  return s ? atomic_load(s) : 0;
}
