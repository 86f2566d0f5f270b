/* offsets_topic.h: the records of Kafka's __consumer_offsets topic, and the
 * table of committed offsets they build.
 *
 * Every record's key starts with a big-endian int16 version: 0 and 1 are an
 * offset commit (group, topic, partition), 2 is a group's metadata (group),
 * anything else is a record kind this reader does not use (Kafka 4's new
 * group coordinator writes several) and is skipped.  An offset commit value
 * is versions 0 to 4 (v1 adds an expiry time, v3 a leader epoch, v4 is
 * flexible: compact metadata string and tagged fields).  A null value is a
 * tombstone: the commit is deleted, or for group metadata the whole group.
 *
 * Parsing is pure (no allocation, no global state) so that it can be unit
 * tested on hand-built bytes and fuzzed.  The table (two skpi_ntable: groups
 * and topic names, each name kept once) owns copies of every name it keeps.
 */
#ifndef STREAMKPI_OFFSETS_TOPIC_H
#define STREAMKPI_OFFSETS_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"

typedef enum skpi_offsets_topic_kind {
  SKPI_OFFSETS_TOPIC_COMMIT, /* key version 0 or 1 */
  SKPI_OFFSETS_TOPIC_GROUP,  /* key version 2 */
  SKPI_OFFSETS_TOPIC_OTHER   /* any other key version: skipped */
} skpi_offsets_topic_kind;

/* One parsed record.  group and topic point into the key passed to parse
 * (not NUL-terminated; lengths beside them) and live as long as it does. */
typedef struct skpi_offsets_topic_rec {
  skpi_offsets_topic_kind kind;
  int key_version;
  const char *group;
  size_t group_len;
  const char *topic; /* commits only */
  size_t topic_len;
  int32_t partition;    /* commits only */
  int tombstone;        /* the value was null */
  int value_version;    /* commits with a value only */
  int64_t offset;       /* commits with a value only */
  int32_t leader_epoch; /* -1 before value version 3 */
  int64_t commit_ms;    /* commit time, unix milliseconds */
  int64_t expire_ms;    /* value version 1 only, else -1 */
} skpi_offsets_topic_rec;

/* Parses one record.  key must be non-NULL; val is NULL for a tombstone.
 * Fills *out and returns SKPI_OK, also for a skipped key version (kind
 * OTHER; its value is not read).  Returns SKPI_EINVAL and points *why (if
 * non-NULL) at a static sentence for a truncated or malformed key or value,
 * a negative partition or offset, an unknown offset commit value version,
 * or bytes left over after the value. */
skpi_err skpi_offsets_topic_parse(const void *key, size_t klen, const void *val, size_t vlen,
                                  skpi_offsets_topic_rec *out, const char **why)
    __attribute__((warn_unused_result));

/* The committed offsets of every group: group -> (topic, partition) ->
 * (offset, commit time). */
typedef struct skpi_offsets_topic skpi_offsets_topic;

/* One committed partition of a group.  topic is owned by the table. */
typedef struct skpi_offsets_topic_entry {
  const char *topic;
  int32_t partition;
  int64_t offset;
  int64_t commit_ms;
} skpi_offsets_topic_entry;

/* Returns a new, empty table, or NULL on OOM.  Free with
 * skpi_offsets_topic_free (NULL is ignored). */
skpi_offsets_topic *skpi_offsets_topic_new(void);
void skpi_offsets_topic_free(skpi_offsets_topic *t);

/* Applies a parsed record: a commit is inserted or replaces the previous
 * one of its (group, topic, partition), a commit tombstone deletes it, a
 * group tombstone deletes all of the group's commits; group metadata with
 * a value and OTHER records change nothing.  Returns SKPI_ENOMEM (no commit
 * changed) when memory runs out. */
skpi_err skpi_offsets_topic_apply(skpi_offsets_topic *t, const skpi_offsets_topic_rec *r)
    __attribute__((warn_unused_result));

/* Returns the commits of group (sorted by topic, then partition) and sets
 * *n, or NULL with *n = 0 when the group has none.  The array is valid
 * until the next apply or free. */
const skpi_offsets_topic_entry *skpi_offsets_topic_group(const skpi_offsets_topic *t,
                                                         const char *group, size_t *n);

/* Number of committed partitions held, all groups together. */
size_t skpi_offsets_topic_size(const skpi_offsets_topic *t);

#endif
