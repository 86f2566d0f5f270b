"""Time lag of a consumer that stalled before the exporter started.

A real KRaft broker; a group that committed and stopped before any exporter
ran, on messages written at recorded times.  Its commits are older than
every watermark the exporter will see, so only the messages' own timestamps
can time them.  The scenario checks, from the first sample on and again
after an exporter restart (with its saved watermark history):
- kafka_consumergroup_lag_seconds is now minus the committed message's write
  time, within one sample interval, on each partition;
- it rises with wall time (two readings some seconds apart, each compared
  with the recorded write times);
- a committed offset deleted by DeleteRecords is timed by the oldest message
  left and counted as a fallback; GET /api/v1/timelag names each method.
The only time comparisons are against the recorded write times, with the
sample interval as tolerance.
"""

import json
import uuid

from helpers_kpi import kpi_config, kpi_render_time, now, one, wait_a_bit

INTERVAL = 1.0  # the exporter's sample interval in kpi_config
RENDER_SLACK = 0.25  # see test_kpis.py
LAG = "kafka_consumergroup_lag_seconds"


def _produce(kafka, topic, part, n):
    """Produces n messages; returns the interval (a, b) that contains their
    timestamps (librdkafka stamps them inside the tool's run)."""
    a = now()
    kafka.tool("produce", topic, part, n)
    return a, now()


def _within(lag, t, written):
    """The exporter rendered lag at t (its own clock, read back from the same
    scrape) about a message written in [a, b]: the message's own timestamp
    gives t - b <= lag <= t - a; the bounds allow the render-time slack and,
    above, one interval for the method that falls back to the next message."""
    a, b = written
    return t - b - RENDER_SLACK <= lag <= t - a + INTERVAL + RENDER_SLACK


def _readings(e, cluster, group, truths):
    """One reading per partition: (t, lag), with the bounds checked."""
    s = e.metrics()
    t, _ = kpi_render_time(s)
    out = {}
    for part, (written, _method) in truths.items():
        lag = one(s, LAG, cluster=cluster, consumergroup=group, partition=part)
        assert lag is not None, f"no {LAG} for partition {part}"
        assert _within(lag, t, written), (part, lag, t - written[1], t - written[0])
        out[part] = (t, lag)
    return s, out


def _check(e, cluster, group, truths):
    # The first sample that shows the group: its values must already be the
    # true ones (no extrapolated first reading that later corrects itself).
    e.wait_metrics(f"time lag of {group} on every partition",
                   lambda s: all(one(s, LAG, cluster=cluster, consumergroup=group,
                                     partition=p) is not None for p in truths))
    _, first = _readings(e, cluster, group, truths)

    r = e.get("/api/v1/timelag")
    assert r.status == 200, r.body
    rows = [x for x in json.loads(r.text())["clusters"][cluster] if x["group"] == group]
    methods = {str(x["partition"]): x["method"] for x in rows}
    assert methods == {p: m for p, (_, m) in truths.items()}, methods

    wait_a_bit(5 * INTERVAL)
    s, later = _readings(e, cluster, group, truths)
    for p in truths:
        (t0, l0), (t1, l1) = first[p], later[p]
        # Rising at one second per second between the two renders.
        assert abs((l1 - l0) - (t1 - t0)) <= 2 * RENDER_SLACK, (p, first[p], later[p])
    # Each stalled commit was read once; the deleted one fell back.
    assert one(s, "streamkpi_kafka_message_time_reads_total", cluster=cluster) == len(truths)
    assert one(s, "streamkpi_kafka_message_time_fallbacks_total", cluster=cluster) == 1


def test_time_lag_of_consumer_stalled_before_start(kafka, exporter_factory, tmp_path):
    tag = uuid.uuid4().hex[:8]
    cluster = f"tlx{tag}"
    topic = f"tlx{tag}.orders"
    group = f"tlx{tag}-app"
    kafka.tool("create", topic, 3, 1)
    # Partition 0 gets two bursts some seconds apart; the group committed
    # the first message of the second burst.  Partitions 1 and 2 get one
    # burst each; on 2 the committed offset is then deleted.
    _produce(kafka, topic, 0, 3)
    p1 = _produce(kafka, topic, 1, 5)
    wait_a_bit(4)
    p0 = _produce(kafka, topic, 0, 3)
    _produce(kafka, topic, 2, 3)
    wait_a_bit(2)
    p2 = _produce(kafka, topic, 2, 3)
    kafka.tool("commit", group, topic, 0, 3)
    kafka.tool("commit", group, topic, 1, 2)
    kafka.tool("commit", group, topic, 2, 1)
    kafka.tool("truncate", topic, 2, 3)  # the oldest message left on 2 is from p2
    truths = {"0": (p0, "exact"), "1": (p1, "exact"), "2": (p2, "next")}
    # The stall is now older than anything the exporter will watch.
    wait_a_bit(5)

    cfg = kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster,
                     include=f"^tlx{tag}\\.")
    e = exporter_factory(cfg)
    _check(e, cluster, group, truths)
    e.stop()  # saves the watermark history

    wait_a_bit(3)
    e2 = exporter_factory(cfg)
    _check(e2, cluster, group, truths)
