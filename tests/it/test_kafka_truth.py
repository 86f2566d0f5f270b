"""What the exporter reports about a real KRaft broker must be true.

- A commit above the high watermark is counted once in
  streamkpi_kafka_lag_clamped_total, however many cycles it stays there.
- kafka_controller_id has no series: on KRaft the Metadata reply names a
  random live broker, not the controller.
- The first probe after the exporter creates its canary topic succeeds: a
  healthy cluster shows no failed probe and no downtime.
- The incident counters of the cluster exist at 0 before any incident.
"""

import uuid

from helpers_kpi import kpi_config, one

CYCLES = 6  # sampling cycles watched (1 s each)


def _tag():
    return uuid.uuid4().hex[:8]


def test_clamped_commit_counted_once(kafka, exporter_factory, tmp_path):
    tag = _tag()
    cluster, topic, group = f"clamp{tag}", f"clamp{tag}.orders", f"clamp{tag}-app"
    kafka.tool("create", topic, 1, 1)
    kafka.tool("produce", topic, 0, 3)
    kafka.tool("commit", group, topic, 0, 100)  # above the high watermark (3)
    e = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster,
                                    include=f"^clamp{tag}\\."))
    s = e.wait_metrics(
        f"{CYCLES} sampling cycles",
        lambda s: (one(s, "streamkpi_source_cycles_total", cluster=cluster, source="kafka")
                   or 0) >= CYCLES)
    assert one(s, "kafka_consumergroup_lag", cluster=cluster, consumergroup=group,
               topic=topic, partition="0") == 0
    assert one(s, "streamkpi_kafka_lag_clamped_total", cluster=cluster) == 1
    # The commit moves to another offset above the watermark: one more.
    kafka.tool("commit", group, topic, 0, 200)
    e.wait_metrics("the second clamped commit",
                   lambda s: one(s, "kafka_consumergroup_current_offset", cluster=cluster,
                                 consumergroup=group, topic=topic, partition="0") == 200)
    c0 = one(e.metrics(), "streamkpi_source_cycles_total", cluster=cluster, source="kafka")
    s = e.wait_metrics(
        f"{CYCLES} more cycles",
        lambda s: one(s, "streamkpi_source_cycles_total", cluster=cluster,
                      source="kafka") >= c0 + CYCLES)
    assert one(s, "streamkpi_kafka_lag_clamped_total", cluster=cluster) == 2


def test_no_controller_id_on_kraft(kafka, exporter_factory, tmp_path):
    cluster = f"ctl{_tag()}"
    e = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster))
    s = e.wait_metrics("a kafka sample",
                       lambda s: one(s, "kafka_brokers", cluster=cluster) == 1)
    assert one(s, "kafka_controller_id", cluster=cluster) is None


def test_first_probe_on_a_new_canary_topic_succeeds(kafka, exporter_factory, tmp_path):
    tag = _tag()
    cluster, topic = f"fresh{tag}", f"fresh{tag}-probe"
    probe = f"  enabled: true\n  topic: {topic}\n  interval: 2s\n  timeout: 5s\n"
    e = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster,
                                    probe=probe))
    # Before any incident, the counters are there at 0.
    s = e.metrics()
    for src in ("health", "alertmanager"):
        assert one(s, "streamkpi_incidents_opened_total", cluster=cluster, source=src) == 0
        assert one(s, "streamkpi_incidents_resolved_total", cluster=cluster, source=src) == 0
    s = e.wait_metrics("two probe cycles",
                       lambda s: (one(s, "streamkpi_probe_total", cluster=cluster) or 0) >= 2,
                       timeout=60)
    failures = {k: v for k, v in s.items()
                if k[0] == "streamkpi_probe_failures_total" and ("cluster", cluster) in k[1]}
    assert failures and all(v == 0 for v in failures.values()), failures
    assert one(s, "streamkpi_downtime_seconds_total", cluster=cluster) == 0
