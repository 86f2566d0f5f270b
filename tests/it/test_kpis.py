"""The KPI families against a real broker.

Each scenario builds a world with known truths on a real KRaft broker and
reads the ASan exporter's /metrics (sample interval 1 s):
- DLQ counters are exact, across an exporter restart with messages written
  while it was down, and the ratio is k/(k+n);
- onboarding durations equal the times the test waited between creating,
  writing and committing, within one sample interval;
- the time lag of a group that stopped consuming grows with wall time;
- an SLO fed by the probe burns its budget during a broker outage by the
  number of failed probes, and its budget gauge is the documented formula of
  its own counters.
Only waits are polls with a deadline; the only time comparisons are the
truths above, with the sample interval (and the measured duration of the
test's own tool calls) as tolerance.
"""

import uuid

from conftest import ToolProc, select
from helpers_kpi import (hist, kafka_cycle_seconds, kpi_config, kpi_render_time, now, one,
                         wait_a_bit, wait_kafka_cycle)

INTERVAL = 1.0  # the exporter's sample interval in these configs
# How far the render time read back from the exporter's own gauges can be off:
# the KPI slot's publish takes the registry lock after the render is timed.
RENDER_SLACK = 0.25


def _tag():
    return uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------
# DLQ

def _dlq_counts(s, cluster):
    return (one(s, "streamkpi_dlq_messages_total", cluster=cluster, topic="orders.dlq",
                source_topic="orders"),
            one(s, "streamkpi_dlq_source_messages_total", cluster=cluster, topic="orders"))


def test_dlq_counts_exact_across_restart(kafka, exporter_factory, tmp_path):
    cluster = "dlq"
    kafka.tool("create", "orders", 2, 1)
    kafka.tool("create", "orders.dlq", 1, 1)
    e = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster,
                                    include=r"^orders(\.dlq)?$"))

    def counts_are(k, n):
        return lambda s: _dlq_counts(s, cluster) == (k, n)
    e.wait_metrics("the DLQ baseline (0, 0)", counts_are(0, 0))

    # k and n in three rounds: before, during and after an exporter restart.
    rounds = [(3, (12, 8)), (2, (6, 4)), (4, (9, 6))]
    k = n = 0
    for i, (dk, (n0, n1)) in enumerate(rounds):
        if i == 1:
            e.stop()  # SIGTERM: state flushed; messages below are written while it is down
        kafka.tool("produce", "orders.dlq", 0, dk)
        kafka.tool("produce", "orders", 0, n0)
        kafka.tool("produce", "orders", 1, n1)
        k, n = k + dk, n + n0 + n1
        if i == 1:
            e.start()
        s = e.wait_metrics(f"DLQ counters ({k}, {n}) after round {i}", counts_are(k, n))

    # Stays exact (nothing counted twice) over more cycles.
    wait_kafka_cycle(e, cluster)
    wait_a_bit(2 * INTERVAL)
    s = e.metrics()
    assert _dlq_counts(s, cluster) == (k, n)
    for window in ("1h", "1d", "7d"):
        got = one(s, "streamkpi_dlq_ratio", cluster=cluster, source_topic="orders",
                  window=window)
        assert got is not None and abs(got - k / (k + n)) < 1e-9, (window, got, k, n)


# --------------------------------------------------------------------------
# Onboarding

def test_onboarding_durations(kafka, exporter_factory, tmp_path):
    tag = _tag()
    cluster = "onb"
    base, new, group = f"onb{tag}.base", f"onb{tag}.new", f"onb{tag}-app"
    kafka.tool("create", base, 1, 1)
    kafka.tool("produce", base, 0, 1)
    e = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster,
                                    include=f"^onb{tag}\\."))
    # The baseline: the pre-existing topic is seen and not pending.
    e.wait_metrics("the onboarding baseline",
                   lambda s: one(s, "streamkpi_streams_onboarding_pending", cluster=cluster) == 0
                   and one(s, "kafka_topic_partitions", cluster=cluster, topic=base) == 1)
    wait_kafka_cycle(e, cluster)

    t1, t2 = 4.0, 3.0
    c0 = now()
    kafka.tool("create", new, 1, 1)
    c1 = now()
    e.wait_metrics("the new topic pending",
                   lambda s: one(s, "streamkpi_streams_onboarding_pending", cluster=cluster) == 1)
    wait_a_bit(max(0.0, t1 - (now() - c1)))
    p0 = now()
    kafka.tool("produce", new, 0, 1)
    p1 = now()
    wait_a_bit(t2)
    m0 = now()
    kafka.tool("commit", group, new, 0, 1)
    m1 = now()

    name = "streamkpi_stream_onboarding_duration_seconds"

    def both_steps(s):
        return (hist(s, name, cluster=cluster, step="first_message")[0] == 1 and
                hist(s, name, cluster=cluster, step="first_consumer")[0] == 1)
    s = e.wait_metrics("both onboarding steps observed", both_steps)
    _, first_message = hist(s, name, cluster=cluster, step="first_message")
    _, first_consumer = hist(s, name, cluster=cluster, step="first_consumer")
    # Truth brackets from the test's own timestamps, widened by one interval.
    assert p0 - c1 - INTERVAL <= first_message <= p1 - c0 + INTERVAL, \
        (first_message, p0 - c1, p1 - c0)
    assert m0 - p1 - INTERVAL <= first_consumer <= m1 - p0 + INTERVAL, \
        (first_consumer, m0 - p1, m1 - p0)
    assert one(s, "streamkpi_streams_onboarding_pending", cluster=cluster) == 0
    # The group was first seen already committed: its first commit took 0.
    count, took = hist(s, "streamkpi_app_deploy_duration_seconds", cluster=cluster,
                       step="first_commit")
    assert count == 1 and 0 <= took <= INTERVAL, (count, took)


# --------------------------------------------------------------------------
# Time lag

def test_time_lag_grows_with_wall_time(kafka, exporter_factory, tmp_path):
    tag = _tag()
    cluster = "tlag"
    topic, group = f"tl{tag}.events", f"tl{tag}-reader"
    kafka.tool("create", topic, 1, 1)
    kafka.tool("produce", topic, 0, 20)
    kafka.tool("commit", group, topic, 0, 20)  # caught up, then it stops consuming
    e = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster,
                                    include=f"^tl{tag}\\."))
    lag_name = "kafka_consumergroup_lag_seconds"
    e.wait_metrics("time lag 0 while caught up",
                   lambda s: one(s, lag_name, cluster=cluster, consumergroup=group,
                                 topic=topic, partition="0") == 0)
    # The topic stays idle for a few intervals: an idle, caught-up group has
    # no time lag, and the idle time must not count once writes resume.
    wait_a_bit(4 * INTERVAL)

    # Message 20 is the first the group has not consumed: written in [a, b].
    a = now()
    kafka.tool("produce", topic, 0, 1)
    b = now()
    producer = ToolProc(kafka, ["produce", topic, "0", "200", "--rate", "5/s"])
    try:
        readings = _lag_readings(e, cluster, group, topic, a, b)
    finally:
        producer.stop()
    (t0, l0), (t1, l1) = readings[0], readings[-1]
    # Between two renders the lag rises by exactly the time between them.
    assert abs((l1 - l0) - (t1 - t0)) <= 2 * RENDER_SLACK, readings


def _lag_readings(e, cluster, group, topic, a, b):
    lag_name = "kafka_consumergroup_lag_seconds"

    def lag_of(s):
        return one(s, lag_name, cluster=cluster, consumergroup=group, topic=topic,
                   partition="0")
    readings = []
    for i in range(4):
        wait_a_bit(2 * INTERVAL)
        if i == 0:
            # Until a Kafka sample has seen message 20 the exporter shows 0
            # (a loaded machine can delay that sample); from then on, a lag.
            s = e.wait_metrics("the time lag of message 20", lambda s: (lag_of(s) or 0) > 0)
        else:
            s = e.metrics()
        lag = lag_of(s)
        mx = one(s, lag_name + "_max", cluster=cluster, consumergroup=group)
        assert lag is not None and lag > 0 and mx == lag, (lag, mx)
        # The true lag at the render is t - (write time of message 20), in
        # [t - b, t - a].  The exporter times the write by its last sample
        # before it, so it may place it up to one sample spacing (interval
        # plus the cycle's own time) earlier, never later.
        t, _ = kpi_render_time(s)
        spacing = INTERVAL + kafka_cycle_seconds(s, cluster)
        assert t - b - RENDER_SLACK <= lag <= t - a + spacing + RENDER_SLACK, \
            (lag, t - b, t - a, spacing)
        readings.append((t, lag))
    return readings


# --------------------------------------------------------------------------
# SLO fed by the probe

SLO_OBJECTIVE = 0.9


def _slo(s, name):
    return (one(s, "streamkpi_slo_events_total", slo=name),
            one(s, "streamkpi_slo_bad_events_total", slo=name),
            one(s, "streamkpi_slo_error_budget_remaining_ratio", slo=name))


def _budget_formula_holds(s, name):
    total, bad, remaining = _slo(s, name)
    assert total is not None and bad is not None and remaining is not None, (total, bad)
    want = 1 - bad / ((1 - SLO_OBJECTIVE) * total) if total else 1.0
    assert abs(remaining - want) < 1e-9, (remaining, want, total, bad)
    return total, bad


def test_slo_budget_burns_during_broker_outage(dedicated_kafka, exporter_factory, tmp_path):
    cluster, slo = "slo", "platform-availability"
    probe = ("  enabled: true\n  mode: produce-consume\n  replication_factor: 1\n"
             "  interval: 1s\n  timeout: 500ms\n")
    extra = (f"slos:\n  - name: {slo}\n    sli: probe_availability\n"
             f"    objective: {SLO_OBJECTIVE}\n    cluster: {cluster}\n")
    cfg = kpi_config(dedicated_kafka.bootstrap, str(tmp_path), cluster=cluster,
                     include="^none$", probe=probe) + extra
    e = exporter_factory(cfg)
    # A fresh broker can fail the first probes (topic creation, leader
    # election); what counts below is measured from bad0 on.
    s = e.wait_metrics("three good probe events",
                       lambda s: (_slo(s, slo)[0] or 0) - (_slo(s, slo)[1] or 0) >= 3 and
                       one(s, "streamkpi_probe_success", cluster=cluster) == 1)
    _budget_formula_holds(s, slo)

    _, bad0 = _budget_formula_holds(e.metrics(), slo)
    down = now()
    dedicated_kafka.stop()
    wait_a_bit(6 * INTERVAL)
    s = e.metrics()
    _, bad_mid = _budget_formula_holds(s, slo)
    assert bad_mid > bad0, "no bad event while the broker is down"
    dedicated_kafka.start()
    up = now()

    # Recovered: good probes again, and no bad event after the broker is back.
    s = e.wait_metrics("probe success after the outage",
                       lambda s: one(s, "streamkpi_probe_success", cluster=cluster) == 1)
    t_rec, b_rec = _budget_formula_holds(s, slo)
    s = e.wait_metrics("three more probe events",
                       lambda s: (_slo(s, slo)[0] or 0) >= t_rec + 3)
    total, bad = _budget_formula_holds(s, slo)
    assert bad == b_rec, "bad events after recovery"
    assert total > bad > 0
    # One bad event per failed probe, and as many failed probes as intervals
    # in the outage (kill .. broker answering again), within one interval
    # plus the 0.5 s granularity of the broker readiness poll (conftest) that
    # dates the end of the outage.
    failed = sum(select(s, "streamkpi_probe_failures_total", cluster=cluster).values())
    assert bad == failed, (bad, failed)
    outage = up - down
    burned = bad - bad0
    assert abs(burned - outage / INTERVAL) <= 1 + 0.5 / INTERVAL, (burned, outage)
