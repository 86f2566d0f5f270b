/* shard.c: the stable split of names among n exporters. */
#include "streamkpi/shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

/* Reads a decimal number without sign or blanks; returns the end or NULL. */
static const char *read_uint(const char *p, unsigned long *v) {
  char *end;
  if(*p < '0' || *p > '9')
    return NULL;
  errno = 0;
  *v = strtoul(p, &end, 10);
  if(errno != 0 || *v > SKPI_SHARD_MAX)
    return NULL;
  return end;
}

skpi_err skpi_shard_parse(const char *text, skpi_shard *out, char *errbuf, size_t errlen) {
  unsigned long i, n;
  const char *p = text;
  if(!text || !out || !(p = read_uint(p, &i)) || *p != '/' || !(p = read_uint(p + 1, &n)) ||
     *p != '\0' || n == 0 || i >= n) {
    if(errbuf && errlen)
      snprintf(errbuf, errlen, "expected \"i/n\" with 0 <= i < n <= %d, got \"%.64s\"",
               SKPI_SHARD_MAX, text ? text : "");
    return SKPI_EINVAL;
  }
  out->index = (unsigned)i;
  out->count = (unsigned)n;
  return SKPI_OK;
}

uint64_t skpi_shard_hash(const char *name) {
  uint64_t h = FNV_OFFSET;
  for(const unsigned char *p = (const unsigned char *)name; p && *p; p++) {
    h ^= *p;
    h *= FNV_PRIME;
  }
  return h;
}

int skpi_shard_owns(const skpi_shard *sh, const char *name) {
  if(!sh || sh->count <= 1)
    return 1;
  return skpi_shard_hash(name) % sh->count == sh->index;
}

int skpi_shard_is_first(const skpi_shard *sh) {
  return !sh || sh->count <= 1 || sh->index == 0;
}
