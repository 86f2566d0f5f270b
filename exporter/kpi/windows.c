/* windows.c: per-minute bucket ring for rolling windows. */
#include "streamkpi/windows.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bucket's minute; EMPTY marks a bucket never written or pruned. */
#define EMPTY INT64_MIN

/* The arrays are allocated on the first write: a window never written (an
 * SLO or a DLQ pair without events yet) costs its struct only. */
struct skpi_win {
  size_t nslots;
  size_t cap;
  int64_t newest;  /* newest minute written, EMPTY when none */
  int64_t oldest;  /* no minute held is older (a lower bound), EMPTY when none */
  int64_t *minute; /* cap entries, or NULL before the first write */
  double *val;     /* cap * nslots entries, or NULL with minute */
};

static void seterr(char *errbuf, size_t errlen, const char *msg) {
  if(errbuf && errlen)
    snprintf(errbuf, errlen, "%s", msg);
}

/* Largest minute index a double time may map to without overflowing. */
#define MAX_T 1e15

static int64_t minute_of(double t) { return (int64_t)floor(t / 60.0); }

static size_t pos_of(const skpi_win *w, int64_t m) { return (size_t)(m % (int64_t)w->cap); }

static skpi_win *alloc_win(size_t nslots, size_t cap) {
  skpi_win *w = calloc(1, sizeof(*w));
  if(!w)
    return NULL;
  w->nslots = nslots;
  w->cap = cap;
  w->newest = EMPTY;
  w->oldest = EMPTY;
  return w;
}

/* Allocates the arrays of a window that has none yet. */
static skpi_err ensure_arrays(skpi_win *w) {
  if(w->minute)
    return SKPI_OK;
  int64_t *minute = malloc(w->cap * sizeof(*minute));
  double *val = calloc(w->cap * w->nslots, sizeof(*val));
  if(!minute || !val) {
    free(minute);
    free(val);
    return SKPI_ENOMEM;
  }
  for(size_t i = 0; i < w->cap; i++)
    minute[i] = EMPTY;
  w->minute = minute;
  w->val = val;
  return SKPI_OK;
}

/* The first minute a walk up to the newest needs to look at. */
static int64_t walk_start(const skpi_win *w, int64_t from) {
  int64_t ring = w->newest - (int64_t)w->cap + 1;
  if(from < ring)
    from = ring;
  if(from < w->oldest)
    from = w->oldest;
  return from < 0 ? 0 : from;
}

skpi_win *skpi_win_new(size_t nslots, size_t capacity) {
  if(nslots == 0 || nslots > SKPI_WIN_MAX_SLOTS || capacity == 0 ||
     capacity > SKPI_WIN_MAX_CAPACITY)
    return NULL;
  return alloc_win(nslots, capacity);
}

void skpi_win_free(skpi_win *w) {
  if(!w)
    return;
  free(w->minute);
  free(w->val);
  free(w);
}

size_t skpi_win_slots(const skpi_win *w) { return w->nslots; }
size_t skpi_win_capacity(const skpi_win *w) { return w->cap; }

/* Puts v into minute m; the caller has checked m and slot. */
static skpi_err add_minute(skpi_win *w, int64_t m, size_t slot, double v) {
  skpi_err rc = ensure_arrays(w);
  if(rc != SKPI_OK)
    return rc;
  size_t p = pos_of(w, m);
  if(w->minute[p] != EMPTY && w->minute[p] > m)
    return SKPI_EINVAL;
  if(w->newest != EMPTY && m <= w->newest - (int64_t)w->cap)
    return SKPI_EINVAL;
  if(w->minute[p] != m) {
    w->minute[p] = m;
    memset(&w->val[p * w->nslots], 0, w->nslots * sizeof(double));
  }
  w->val[p * w->nslots + slot] += v;
  if(w->newest == EMPTY || m > w->newest)
    w->newest = m;
  if(w->oldest == EMPTY || m < w->oldest)
    w->oldest = m;
  return SKPI_OK;
}

skpi_err skpi_win_add(skpi_win *w, double t, size_t slot, double v) {
  if(!isfinite(t) || t < 0 || t > MAX_T || !isfinite(v) || slot >= w->nslots)
    return SKPI_EINVAL;
  return add_minute(w, minute_of(t), slot, v);
}

double skpi_win_sum(const skpi_win *w, double from_t, double to_t, size_t slot) {
  if(slot >= w->nslots || !isfinite(from_t) || !isfinite(to_t) || to_t <= from_t || to_t <= 0 ||
     w->newest == EMPTY)
    return 0;
  if(from_t < 0)
    from_t = 0;
  if(to_t > MAX_T)
    to_t = MAX_T;
  int64_t m0 = minute_of(from_t);
  int64_t m1 = (int64_t)ceil(to_t / 60.0) - 1; /* last minute overlapping */
  if(m1 > w->newest)
    m1 = w->newest; /* nothing newer exists; keeps the walk within the ring */
  if(m1 < m0)
    return 0;
  if(m1 - m0 + 1 > (int64_t)w->cap)
    m0 = m1 - (int64_t)w->cap + 1;
  if(m0 < w->oldest)
    m0 = w->oldest;
  double sum = 0;
  for(int64_t m = m0; m <= m1; m++) {
    size_t p = pos_of(w, m);
    if(w->minute[p] == m)
      sum += w->val[p * w->nslots + slot];
  }
  return sum;
}

void skpi_win_prune(skpi_win *w, double now) {
  if(!isfinite(now) || now < 0)
    return;
  int64_t oldest = minute_of(now > MAX_T ? MAX_T : now) - (int64_t)w->cap + 1;
  if(!w->minute || w->oldest >= oldest)
    return; /* nothing held is that old */
  for(size_t i = 0; i < w->cap; i++)
    if(w->minute[i] != EMPTY && w->minute[i] < oldest)
      w->minute[i] = EMPTY;
  w->oldest = oldest;
}

/* Walks minutes from the oldest the ring can hold to the newest, so the
 * saved rows ascend. */
json_t *skpi_win_save(const skpi_win *w) {
  json_t *doc = json_object();
  json_t *arr = json_array();
  if(!doc || !arr)
    goto fail;
  if(json_object_set_new(doc, "slots", json_integer((json_int_t)w->nslots)) != 0)
    goto fail;
  if(w->newest != EMPTY) {
    for(int64_t m = walk_start(w, 0); m <= w->newest; m++) {
      size_t p = pos_of(w, m);
      if(w->minute[p] != m)
        continue;
      json_t *row = json_array();
      if(!row || json_array_append_new(arr, row) != 0)
        goto fail;
      if(json_array_append_new(row, json_integer((json_int_t)m)) != 0)
        goto fail;
      for(size_t s = 0; s < w->nslots; s++)
        if(json_array_append_new(row, json_real(w->val[p * w->nslots + s])) != 0)
          goto fail;
    }
  }
  if(json_object_set_new(doc, "buckets", arr) != 0) {
    arr = NULL;
    goto fail;
  }
  return doc;
fail:
  json_decref(arr);
  json_decref(doc);
  return NULL;
}

skpi_err skpi_win_load(skpi_win *w, const json_t *doc, char *errbuf, size_t errlen) {
  skpi_err rc = SKPI_ESTATE;
  skpi_win *tmp = NULL;
  if(!json_is_object(doc)) {
    seterr(errbuf, errlen, "windows: not an object");
    goto out;
  }
  json_t *slots = json_object_get(doc, "slots");
  json_t *buckets = json_object_get(doc, "buckets");
  if(!json_is_integer(slots) || json_integer_value(slots) != (json_int_t)w->nslots) {
    seterr(errbuf, errlen, "windows: slots missing or different");
    goto out;
  }
  if(!json_is_array(buckets) || json_array_size(buckets) > w->cap) {
    seterr(errbuf, errlen, "windows: buckets missing, not an array or too many");
    goto out;
  }
  /* Validate everything and find the newest minute before touching w. */
  int64_t newest = EMPTY;
  size_t i;
  json_t *row;
  json_array_foreach(buckets, i, row) {
    json_t *jm = json_array_get(row, 0);
    if(!json_is_array(row) || json_array_size(row) != w->nslots + 1 || !json_is_integer(jm) ||
       json_integer_value(jm) < 0 || json_integer_value(jm) > (json_int_t)(MAX_T / 60)) {
      seterr(errbuf, errlen, "windows: bad bucket row");
      goto out;
    }
    for(size_t s = 1; s <= w->nslots; s++) {
      json_t *jv = json_array_get(row, s);
      if(!json_is_number(jv) || !isfinite(json_number_value(jv))) {
        seterr(errbuf, errlen, "windows: bucket value not a finite number");
        goto out;
      }
    }
    if(json_integer_value(jm) > newest)
      newest = json_integer_value(jm);
  }
  if(!(tmp = alloc_win(w->nslots, w->cap)) ||
     (json_array_size(buckets) > 0 && ensure_arrays(tmp) != SKPI_OK)) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  json_array_foreach(buckets, i, row) {
    int64_t m = json_integer_value(json_array_get(row, 0));
    if(m <= newest - (int64_t)w->cap)
      continue; /* too old for this ring */
    size_t p = pos_of(tmp, m);
    if(tmp->minute[p] == m) {
      seterr(errbuf, errlen, "windows: duplicate minute");
      goto out;
    }
    tmp->minute[p] = m;
    for(size_t s = 0; s < w->nslots; s++)
      tmp->val[p * w->nslots + s] = json_number_value(json_array_get(row, s + 1));
    if(tmp->oldest == EMPTY || m < tmp->oldest)
      tmp->oldest = m;
  }
  tmp->newest = newest;
  /* Swap contents so w's address stays valid for its owner. */
  int64_t *om = w->minute;
  double *ov = w->val;
  w->minute = tmp->minute;
  w->val = tmp->val;
  w->newest = tmp->newest;
  w->oldest = tmp->oldest;
  tmp->minute = om;
  tmp->val = ov;
  rc = SKPI_OK;
out:
  skpi_win_free(tmp);
  return rc;
}
