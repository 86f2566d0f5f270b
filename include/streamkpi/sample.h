/* sample.h: what one Kafka sampling cycle saw of one cluster.
 *
 * The Kafka source builds a sample per cycle; the raw-metric mapper
 * (kafka_metrics) and the KPI engines read it.  It is immutable once
 * published and freed by whoever holds the last reference.
 *
 * Topics are sorted by name and each topic's partitions by id, with
 * parts[i].id == i when the metadata was complete, so lookups are a binary
 * search plus an index.  Offsets unknown to this cycle are -1 (a failed
 * leader's partitions), and such partitions export no offset series.
 */
#ifndef STREAMKPI_SAMPLE_H
#define STREAMKPI_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/refcnt.h"

typedef struct skpi_kbroker {
  int32_t id;
  char *host;
  int port;
  char *rack; /* NULL when unset */
} skpi_kbroker;

typedef struct skpi_kpartition {
  int32_t id;
  int32_t leader; /* -1 when none (offline) */
  int32_t *replicas;
  int nreplicas;
  int32_t *isrs;
  int nisrs;
  int err;      /* rd_kafka_resp_err_t from metadata, 0 = fine */
  int64_t low;  /* oldest offset, -1 unknown */
  int64_t high; /* high watermark (read_uncommitted), -1 unknown */
} skpi_kpartition;

typedef struct skpi_ktopic {
  char *name;
  int internal; /* set by the source: Kafka's own topics (skpi_ksample_name_internal)
                   and the exporter's probe topic */
  skpi_kpartition *parts;
  int nparts;
  /* One block holding the replicas and ISRs of every partition (theirs
   * point into it), freed with the topic; NULL when there are none. */
  int32_t *ids;
} skpi_ktopic;

typedef struct skpi_kcommit {
  int32_t topic; /* index into sample->topics, -1 when the topic is unknown (the
                    Kafka source drops commits on topics it does not report) */
  int32_t partition;
  int64_t offset; /* committed offset (>= 0) */
} skpi_kcommit;

typedef struct skpi_kgroup {
  char *id;
  char *state;         /* "Stable", "Empty", "PreparingRebalance", "Dead", ...;
                          NULL when the group could not be described */
  char *protocol_type; /* "consumer", or "" for a simple (never joined) group;
                          librdkafka 2.0.2 lists no other kinds; NULL unknown */
  int nmembers;        /* -1 when the group could not be described */
  int active_members;  /* members with at least one assigned partition, -1 unknown */
  int assigned_parts;  /* partitions assigned to its members, -1 unknown */
  int err;             /* non-zero when describe or offsets failed for it */
  skpi_kcommit *commits; /* sorted by (topic, partition) */
  size_t ncommits;
} skpi_kgroup;

/* Requests sent during the cycle, by kind. */
typedef struct skpi_kreqs {
  unsigned metadata;
  unsigned list_offsets;
  unsigned list_groups;
  unsigned describe_groups;
  unsigned offset_fetch;
  unsigned offsets_topic; /* every request of the __consumer_offsets reader */
} skpi_kreqs;

/* The __consumer_offsets reader (group_offsets: offsets_topic); all 0 when
 * committed offsets come from the admin API. */
typedef struct skpi_koffsets {
  int used;
  int caught_up; /* this cycle's offsets are exact; until then every group has err set */
  uint64_t applied, skipped, bad; /* records since the reader started */
} skpi_koffsets;

typedef struct skpi_ksample {
  char *cluster;
  double time;       /* unix seconds at the end of the cycle */
  double duration_s; /* wall time of the cycle */
  int32_t controller; /* -1 unknown */
  skpi_kbroker *brokers; /* sorted by id */
  size_t nbrokers;
  skpi_ktopic *topics;   /* sorted by name */
  size_t ntopics;
  skpi_kgroup *groups;   /* sorted by id */
  size_t ngroups;
  int groups_ok;         /* 0 when group listing failed this cycle */
  skpi_kreqs reqs;
  skpi_kreqs errors;     /* of those, calls that failed (per call, not per request) */
  uint64_t lag_clamped;  /* commits above the high watermark this cycle */
  skpi_koffsets offsets_topic;
  skpi_refcnt refcnt;    /* managed by ref/unref */
} skpi_ksample;

/* Reference counting (atomic).  unref frees on the last reference. */
void skpi_ksample_ref(skpi_ksample *s);
void skpi_ksample_unref(skpi_ksample *s);

/* Frees everything a sample owns and the sample itself (refcount ignored):
 * for builders that abandon a sample. */
void skpi_ksample_free(skpi_ksample *s);

/* Sorts brokers/topics/partitions/groups/commits as described above and
 * resolves nothing else; builders call it once before publishing.  Commit
 * topic indices are remapped to follow their topics.  Topics with equal
 * names keep their relative order. */
void skpi_ksample_sort(skpi_ksample *s);

/* Finds a topic by name (binary search), or NULL. */
const skpi_ktopic *skpi_ksample_topic(const skpi_ksample *s, const char *name);

/* Finds a group by id (binary search), or NULL. */
const skpi_kgroup *skpi_ksample_group(const skpi_ksample *s, const char *id);

/* Whether a topic name is Kafka's own: __consumer_offsets,
 * __transaction_state and every other name starting "__". */
int skpi_ksample_name_internal(const char *name);

/* Whether KPIs leave topic t out: the source marked it internal (Kafka's own
 * topics, the exporter's probe topic), or its name is internal, or it has
 * no name. */
int skpi_ksample_topic_internal(const skpi_ktopic *t);

/* Returns a new array of s->ntopics flags (the caller frees it), 1 where
 * some group has a commit on the topic; NULL when memory runs out or the
 * sample has no topics.  With live_only, groups in state "Dead" count for
 * nothing, and neither does any group when the listing failed. */
unsigned char *skpi_ksample_consumed(const skpi_ksample *s, int live_only);

/* Finds a partition, or NULL. */
const skpi_kpartition *skpi_ksample_partition(const skpi_ksample *s, const char *topic,
                                              int32_t partition);

#endif
