/* kafka_plan.c: groups partitions by leader and chunks them. */
#include "streamkpi/kafka_plan.h"

#include <stdlib.h>

/* qsort is not stable, so the original position breaks ties. */
typedef struct ranked {
  skpi_plan_item item;
  size_t pos;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if(x->item.leader != y->item.leader)
    return (x->item.leader > y->item.leader) - (x->item.leader < y->item.leader);
  return (x->pos > y->pos) - (x->pos < y->pos);
}

void skpi_plan_free(skpi_plan *p) {
  if(!p)
    return;
  free(p->items);
  free(p->chunks);
  p->items = NULL;
  p->chunks = NULL;
  p->nitems = 0;
  p->nchunks = 0;
}

skpi_err skpi_plan_build(const skpi_plan_item *items, size_t n, size_t chunk_size,
                         skpi_plan *out) {
  skpi_err rc = SKPI_OK;
  ranked *r = NULL;
  if(!out)
    return SKPI_EINVAL;
  out->items = NULL;
  out->chunks = NULL;
  out->nitems = 0;
  out->nchunks = 0;
  if(chunk_size < 1 || (n && !items))
    return SKPI_EINVAL;

  size_t kept = 0;
  for(size_t i = 0; i < n; i++)
    if(items[i].leader >= 0)
      kept++;
  if(kept == 0)
    return SKPI_OK;

  r = malloc(kept * sizeof(*r));
  out->items = malloc(kept * sizeof(*out->items));
  /* Each leader run adds at most one partial chunk: kept is an upper bound
   * on the chunk count too. */
  out->chunks = malloc(kept * sizeof(*out->chunks));
  if(!r || !out->items || !out->chunks) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  size_t k = 0;
  for(size_t i = 0; i < n; i++) {
    if(items[i].leader < 0)
      continue;
    r[k].item = items[i];
    r[k].pos = i;
    k++;
  }
  if(kept > 1)
    qsort(r, kept, sizeof(*r), cmp_ranked);
  for(size_t i = 0; i < kept; i++)
    out->items[i] = r[i].item;
  out->nitems = kept;

  for(size_t i = 0; i < kept;) {
    int32_t leader = out->items[i].leader;
    size_t end = i;
    while(end < kept && out->items[end].leader == leader)
      end++;
    /* Advance by count, not chunk_size, so a huge chunk_size cannot wrap. */
    for(size_t first = i; first < end;) {
      size_t count = end - first < chunk_size ? end - first : chunk_size;
      out->chunks[out->nchunks].leader = leader;
      out->chunks[out->nchunks].first = first;
      out->chunks[out->nchunks].count = count;
      out->nchunks++;
      first += count;
    }
    i = end;
  }

out:
  free(r);
  if(rc != SKPI_OK)
    skpi_plan_free(out);
  return rc;
}
