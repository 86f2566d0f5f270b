/* shard.h: which share of a cluster one exporter samples.
 *
 * With `--shard=i/n` (or `global.shard`), n exporters split the topics and
 * consumer groups of every cluster among themselves: a name belongs to
 * shard FNV-1a-64(name) mod n (the 64-bit FNV-1a hash of the name's bytes,
 * offset basis 14695981039346656037, prime 1099511628211).  The hash does
 * not depend on the process, the machine or the order of the names, so
 * every replica agrees on the split without talking to the others.
 * Cluster-wide series (brokers, offline partitions) belong to shard 0.
 */
#ifndef STREAMKPI_SHARD_H
#define STREAMKPI_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"

/* Upper bound on n: more replicas than this would each hold too little to
 * be worth a process. */
#define SKPI_SHARD_MAX 1024

typedef struct skpi_shard {
  unsigned index; /* 0 <= index < count */
  unsigned count; /* 1 = unsharded */
} skpi_shard;

/* Parses "i/n" (decimal, 0 <= i < n <= SKPI_SHARD_MAX, nothing else) into
 * *out.  SKPI_EINVAL with one line in errbuf (may be NULL) on anything
 * else; *out is then left as it was. */
skpi_err skpi_shard_parse(const char *text, skpi_shard *out, char *errbuf, size_t errlen);

/* The 64-bit FNV-1a hash of the NUL-terminated name. */
uint64_t skpi_shard_hash(const char *name);

/* Returns 1 when name belongs to shard sh (always 1 when sh is NULL or its
 * count is 0 or 1). */
int skpi_shard_owns(const skpi_shard *sh, const char *name);

/* Returns 1 when sh holds the cluster-wide series (it is shard 0, or the
 * exporter is not sharded). */
int skpi_shard_is_first(const skpi_shard *sh);

#endif
