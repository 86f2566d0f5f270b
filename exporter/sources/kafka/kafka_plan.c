/* kafka_plan.c: groups partitions by leader and chunks them. */
#include "streamkpi/kafka_plan.h"

#include <stdlib.h>

/* Index of leader in the ascending array lead[0..n), or n when absent. */
static size_t leader_index(const int32_t *lead, size_t n, int32_t leader) {
  size_t lo = 0, hi = n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(lead[mid] < leader)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && lead[lo] == leader ? lo : n;
}

/* Collects the distinct leaders of items, ascending, into *lead. */
static skpi_err distinct_leaders(const skpi_plan_item *items, size_t n, int32_t **lead,
                                 size_t *nlead) {
  size_t cap = 0;
  *lead = NULL;
  *nlead = 0;
  for(size_t i = 0; i < n; i++) {
    int32_t l = items[i].leader;
    if(l < 0 || leader_index(*lead, *nlead, l) < *nlead)
      continue;
    if(*nlead == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      int32_t *p = realloc(*lead, ncap * sizeof(*p));
      if(!p)
        return SKPI_ENOMEM;
      *lead = p;
      cap = ncap;
    }
    size_t at = *nlead;
    while(at > 0 && (*lead)[at - 1] > l) {
      (*lead)[at] = (*lead)[at - 1];
      at--;
    }
    (*lead)[at] = l;
    (*nlead)++;
  }
  return SKPI_OK;
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

/* Leaders are broker ids, so there are few of them: a counting sort by
 * leader groups the items stably with one pass over them and no copy
 * beyond the plan's own, and the chunks are counted before they are
 * allocated.  At a million partitions a sorted copy of every item and an
 * array of chunks sized for the worst case cost tens of MB. */
skpi_err skpi_plan_build(const skpi_plan_item *items, size_t n, size_t chunk_size, skpi_plan *out) {
  skpi_err rc = SKPI_OK;
  int32_t *lead = NULL;
  size_t nlead = 0, *next = NULL;
  if(!out)
    return SKPI_EINVAL;
  out->items = NULL;
  out->chunks = NULL;
  out->nitems = 0;
  out->nchunks = 0;
  if(chunk_size < 1 || (n && !items))
    return SKPI_EINVAL;
  if((rc = distinct_leaders(items, n, &lead, &nlead)) != SKPI_OK || nlead == 0)
    goto out;
  /* next[l]: where leader l's next item goes; first its count. */
  if(!(next = calloc(nlead, sizeof(*next)))) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  size_t kept = 0;
  for(size_t i = 0; i < n; i++)
    if(items[i].leader >= 0) {
      next[leader_index(lead, nlead, items[i].leader)]++;
      kept++;
    }
  size_t nchunks = 0, at = 0;
  for(size_t l = 0; l < nlead; l++) {
    size_t count = next[l];
    /* Divided, not rounded up by adding, so a huge chunk_size cannot wrap. */
    nchunks += count / chunk_size + (count % chunk_size != 0);
    next[l] = at;
    at += count;
  }
  out->items = malloc(kept * sizeof(*out->items));
  out->chunks = malloc(nchunks * sizeof(*out->chunks));
  if(!out->items || !out->chunks) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  for(size_t i = 0; i < n; i++)
    if(items[i].leader >= 0)
      out->items[next[leader_index(lead, nlead, items[i].leader)]++] = items[i];
  out->nitems = kept;
  /* Each leader's items now end at next[l] and start where the previous
   * leader's end. */
  for(size_t l = 0, first = 0; l < nlead; l++) {
    while(first < next[l]) {
      size_t count = next[l] - first < chunk_size ? next[l] - first : chunk_size;
      out->chunks[out->nchunks].leader = lead[l];
      out->chunks[out->nchunks].first = first;
      out->chunks[out->nchunks].count = count;
      out->nchunks++;
      first += count;
    }
  }
out:
  free(lead);
  free(next);
  if(rc != SKPI_OK)
    skpi_plan_free(out);
  return rc;
}
