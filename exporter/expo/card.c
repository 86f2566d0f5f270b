/* card.c: family filter and per-family series caps for one render path. */
#include "streamkpi/card.h"

#include <stdlib.h>
#include <string.h>

typedef struct fam {
  char *name;
  int allowed;
  long cap;  /* 0: none */
  long used; /* series admitted this cycle */
  uint64_t dropped;
} fam;

struct skpi_card {
  const skpi_filter *filter;
  long default_cap;
  skpi_card_cap *caps; /* names owned */
  size_t ncaps;
  fam *fams;
  size_t nfams, capfams;
};

void skpi_card_free(skpi_card *c) {
  if(!c)
    return;
  for(size_t i = 0; i < c->ncaps; i++)
    free((char *)c->caps[i].family);
  for(size_t i = 0; i < c->nfams; i++)
    free(c->fams[i].name);
  free(c->caps);
  free(c->fams);
  free(c);
}

skpi_card *skpi_card_new(const skpi_filter *families, long default_cap, const skpi_card_cap *caps,
                         size_t ncaps) {
  if(default_cap < 0 || (ncaps && !caps))
    return NULL;
  skpi_card *c = calloc(1, sizeof(*c));
  if(!c)
    return NULL;
  c->filter = families;
  c->default_cap = default_cap;
  if(ncaps && !(c->caps = calloc(ncaps, sizeof(*c->caps))))
    goto fail;
  for(size_t i = 0; i < ncaps; i++) {
    if(!caps[i].family || caps[i].cap < 0)
      goto fail;
    if(!(c->caps[i].family = strdup(caps[i].family)))
      goto fail;
    c->caps[i].cap = caps[i].cap;
    c->ncaps++;
  }
  return c;
fail:
  skpi_card_free(c);
  return NULL;
}

void skpi_card_begin(skpi_card *c) {
  if(!c)
    return;
  for(size_t i = 0; i < c->nfams; i++)
    c->fams[i].used = 0;
}

static long cap_of(const skpi_card *c, const char *name) {
  for(size_t i = 0; i < c->ncaps; i++)
    if(!strcmp(c->caps[i].family, name))
      return c->caps[i].cap;
  return c->default_cap;
}

skpi_err skpi_card_family(skpi_card *c, const char *name, int *handle) {
  *handle = -1;
  if(!name)
    return SKPI_EINVAL;
  if(!c) {
    *handle = 0;
    return SKPI_OK;
  }
  for(size_t i = 0; i < c->nfams; i++)
    if(!strcmp(c->fams[i].name, name)) {
      *handle = c->fams[i].allowed ? (int)i : -1;
      return SKPI_OK;
    }
  if(c->nfams == SKPI_CARD_MAX_FAMILIES)
    return SKPI_ENOMEM;
  if(c->nfams == c->capfams) {
    size_t want = c->capfams ? c->capfams * 2 : 32;
    fam *v = realloc(c->fams, want * sizeof(*v));
    if(!v)
      return SKPI_ENOMEM;
    c->fams = v;
    c->capfams = want;
  }
  fam *f = &c->fams[c->nfams];
  memset(f, 0, sizeof(*f));
  if(!(f->name = strdup(name)))
    return SKPI_ENOMEM;
  f->allowed = !c->filter || skpi_filter_match(c->filter, name);
  f->cap = cap_of(c, name);
  c->nfams++;
  *handle = f->allowed ? (int)(c->nfams - 1) : -1;
  return SKPI_OK;
}

int skpi_card_admit(skpi_card *c, int handle) {
  if(handle < 0)
    return 0;
  if(!c)
    return 1;
  if((size_t)handle >= c->nfams || !c->fams[handle].allowed)
    return 0;
  fam *f = &c->fams[handle];
  if(f->cap > 0 && f->used >= f->cap) {
    f->dropped++;
    return 0;
  }
  f->used++;
  return 1;
}

uint64_t skpi_card_dropped(const skpi_card *c, const char *name) {
  if(!c || !name)
    return 0;
  for(size_t i = 0; i < c->nfams; i++)
    if(!strcmp(c->fams[i].name, name))
      return c->fams[i].dropped;
  return 0;
}

skpi_err skpi_card_render(const skpi_card *c, skpi_mset *m, const char *cluster) {
  if(!c)
    return SKPI_OK;
  int f = skpi_mset_family(m, "streamkpi_series_dropped_total", SKPI_MT_COUNTER,
                           "Series left out because their family reached its series cap, summed "
                           "over sampling cycles.");
  if(f < 0)
    return SKPI_EINVAL;
  for(size_t i = 0; i < c->nfams; i++) {
    if(!c->fams[i].allowed || c->fams[i].cap <= 0)
      continue;
    skpi_err rc = skpi_mset_add(m, f, (double)c->fams[i].dropped, "cluster", cluster ? cluster : "",
                                "family", c->fams[i].name);
    if(rc != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}
