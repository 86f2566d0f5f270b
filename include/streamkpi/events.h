/* events.h: what sources deliver, in types that belong to no source.
 *
 * Sources (Kafka sampler, canary probe, HTTP targets, webhooks) never call a
 * KPI: the assembly (app/) turns what they report into skpi_event values and
 * hands each one to every KPI instance, in the order of the KPI table.  A
 * KPI looks at the kinds it cares about and ignores the rest.
 *
 * An event and everything it points to is borrowed for the duration of the
 * observe call; a KPI that keeps a sample takes a reference
 * (skpi_ksample_ref).
 */
#ifndef STREAMKPI_EVENTS_H
#define STREAMKPI_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/health.h"
#include "streamkpi/sample.h"
#include "streamkpi/topic_configs.h"

enum skpi_event_kind {
  /* One Kafka sampling cycle of a cluster: ev->u.sample. */
  SKPI_EV_SAMPLE = 0,
  /* One canary probe cycle, judged by the health rule: ev->u.probe. */
  SKPI_EV_PROBE,
  /* Cumulative good/total events of an application target: ev->u.quality. */
  SKPI_EV_APP_QUALITY,
  /* Schema Registry coverage of a cluster's topics holding data:
   * ev->u.coverage. */
  SKPI_EV_SCHEMA_COVERAGE,
  /* Kafka Connect connectors seen by the Connect targets: ev->u.connect. */
  SKPI_EV_CONNECT,
  /* Periodic tick (about once a second) so windows move without traffic. */
  SKPI_EV_TICK,
  /* One topic and broker configuration audit of a cluster: ev->u.configs. */
  SKPI_EV_TOPIC_CONFIGS,
  /* Timestamps of the messages at committed offsets, read from the brokers:
   * ev->u.msg_times.  Delivered just before the sample they belong to. */
  SKPI_EV_MSG_TIMES,
};

/* A probe cycle as the health rule judged it.  The interval [t0, t1] is the
 * span this probe speaks for: from the end of the previous probe when that
 * ended recently enough (see health.h), else the probe's own span. */
typedef struct skpi_probe_event {
  double t0, t1;
  int ok;                     /* the probe cycle itself passed */
  enum skpi_cause cause;      /* SKPI_CAUSE_NONE: healthy */
  double roundtrip_latency_s; /* worst round trip, -1 when none */
  int metadata_only;          /* the probe ran in metadata-only mode */
} skpi_probe_event;

typedef struct skpi_quality_event {
  const char *target; /* the metrics target's name */
  double good, total; /* cumulative, counter-reset-safe */
} skpi_quality_event;

typedef struct skpi_coverage_event {
  size_t covered; /* topics holding data with a "<topic>-value" subject */
  size_t topics;  /* topics holding data */
} skpi_coverage_event;

typedef struct skpi_connect_event {
  size_t connectors;    /* configured */
  size_t running;       /* in state RUNNING */
  int have_tasks;       /* the two below are known */
  size_t tasks;         /* task configurations of those connectors */
  size_t tasks_running; /* of those, in state RUNNING */
} skpi_connect_event;

/* How a message timestamp was found. */
enum skpi_msgtime_method {
  SKPI_MSGTIME_EXACT = 0, /* the message at the committed offset itself */
  SKPI_MSGTIME_NEXT,      /* that offset is gone (compacted, deleted, a control
                             record): the next message after it */
};

/* The timestamp of the message at (topic, partition, offset). */
typedef struct skpi_msgtime {
  const char *topic;
  int32_t partition;
  int64_t offset;   /* the committed offset that was asked for */
  double timestamp; /* unix seconds, the message's own timestamp */
  enum skpi_msgtime_method method;
} skpi_msgtime;

typedef struct skpi_msgtimes_event {
  const skpi_msgtime *items;
  size_t n;
} skpi_msgtimes_event;

typedef struct skpi_event {
  enum skpi_event_kind kind;
  double now;          /* unix seconds */
  const char *cluster; /* the cluster it concerns, NULL for none */
  size_t cluster_idx;  /* index into the config's clusters when cluster set */
  int maintenance;     /* inside a maintenance window of that cluster */
  union {
    const skpi_ksample *sample;
    skpi_probe_event probe;
    skpi_quality_event quality;
    skpi_coverage_event coverage;
    skpi_connect_event connect;
    const skpi_topic_configs *configs;
    skpi_msgtimes_event msg_times;
  } u;
} skpi_event;

#endif
