"""Cardinality controls and sharding against a real KRaft broker.

- At `granularity: topic` the per-partition families carry one series per
  topic, without the partition label, and their values are the sums (or the
  documented maximum/minimum) of the per-partition truths read with kcat.
- A family filter and a series cap cut the output, and the cap's overflow is
  counted in streamkpi_series_dropped_total.
- With describe_interval, steady cycles send no DescribeGroups at all and
  keep serving each group's last description, while a new group, and a
  group whose listed state changes (its member leaves), are described at
  once.
- Three exporters started with --shard=0/3, 1/3 and 2/3 together serve
  exactly the series of one unsharded exporter, value for value, once the
  offsets stopped moving; brokers come from shard 0 only; and each shard
  sends the group requests of its own groups only.
"""

import re
import subprocess
import uuid

import pytest

from conftest import ToolProc, select
from helpers_kpi import kpi_config, one

# topic suffix -> messages per partition
TOPICS = {"a": [5, 7, 0], "b": [30], "c": [3, 3, 3, 3], "d": [1, 2], "e": [9], "f": [4, 0, 6]}
# group suffix -> [(topic suffix, partition, committed offset)]
GROUPS = {
    "g1": [("a", 0, 2), ("a", 1, 7), ("b", 0, 10)],
    "g2": [("c", 0, 1), ("c", 3, 3), ("d", 1, 2)],
    "g3": [("e", 0, 4)],
    "g4": [("f", 0, 4), ("f", 2, 1), ("a", 2, 0)],
    "g5": [("b", 0, 30)],
    "g6": [("d", 0, 0), ("e", 0, 9), ("c", 1, 2)],
}

# Series every exporter reports about itself; a shard's are about its own
# share and work, so they are not part of the union.
SELF_METRICS = {
    "streamkpi_build_info", "streamkpi_source_up", "streamkpi_source_stale",
    "streamkpi_source_last_success_timestamp_seconds",
    "streamkpi_source_collect_duration_seconds", "streamkpi_source_errors_total",
    "streamkpi_source_cycles_total", "streamkpi_kafka_requests",
    "streamkpi_kafka_request_errors", "streamkpi_kafka_lag_clamped_total",
    "streamkpi_kafka_topics_seen", "streamkpi_kafka_groups_seen",
    "streamkpi_kafka_group_listing_ok",
}


CLOCK_DEPENDENT = {"kafka_consumergroup_lag_seconds", "kafka_consumergroup_lag_seconds_max",
                   "kafka_consumergroup_retention_margin_seconds"}


def sharded_family(name):
    """The union covers every kafka_* family: the raw metrics and the KPI
    series kept per group (time lag, status, retention margin).  The
    streamkpi_* KPI families are estate-wide figures each exporter computes
    from what it samples (docs/scale.md), and the self-metrics above are
    about each process."""
    return name.startswith("kafka_")


def build_world(kafka, tag):
    for t, counts in TOPICS.items():
        topic = f"sc{tag}.{t}"
        kafka.tool("create", topic, len(counts), 1)
        for part, n in enumerate(counts):
            if n:
                kafka.tool("produce", topic, part, n)
    for g, commits in GROUPS.items():
        for t, part, off in commits:
            kafka.tool("commit", f"sc{tag}-{g}", f"sc{tag}.{t}", part, off)


def kcat_offset(bootstrap, topic, part, which):
    """The partition's end (-1) or beginning (-2) offset, as kcat reads it
    with its own ListOffsets request."""
    r = subprocess.run(["kcat", "-b", bootstrap, "-Q", "-t", f"{topic}:{part}:{which}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(rf"\[{part}\] offset (-?\d+)", r.stdout)
    assert m, r.stdout
    return int(m.group(1))


def config(kafka, tmp_path, name, cluster, tag, extra=""):
    (tmp_path / name).mkdir()
    return kpi_config(kafka.bootstrap, str(tmp_path / name), cluster=cluster,
                      include=f"^sc{tag}\\.",
                      extra=f"    groups:\n      include: ['^sc{tag}-']\n{extra}")


def cycles(s, cluster):
    return one(s, "streamkpi_source_cycles_total", cluster=cluster, source="kafka") or 0


def test_topic_granularity_equals_kcat_sums(kafka, exporter_factory, tmp_path):
    tag = uuid.uuid4().hex[:8]
    cluster = f"gran{tag}"
    build_world(kafka, tag)
    e = exporter_factory(config(kafka, tmp_path, "e", cluster, tag, "    granularity: topic\n"))
    s = e.wait_metrics("3 sampling cycles", lambda s: cycles(s, cluster) >= 3, timeout=60)
    # Nothing left per partition in the folded families.
    folded = ("kafka_topic_partition_current_offset", "kafka_topic_partition_oldest_offset",
              "kafka_topic_partition_replicas", "kafka_topic_partition_in_sync_replica",
              "kafka_topic_partition_leader_is_preferred",
              "kafka_topic_partition_under_replicated_partition",
              "kafka_consumergroup_current_offset", "kafka_consumergroup_lag")
    for (name, labels) in s:
        if name in folded or name == "kafka_topic_partition_leader":
            assert "partition" not in dict(labels), (name, labels)
    assert not select(s, "kafka_topic_partition_leader", cluster=cluster)
    for t, counts in TOPICS.items():
        topic = f"sc{tag}.{t}"
        ends = [kcat_offset(kafka.bootstrap, topic, p, -1) for p in range(len(counts))]
        begins = [kcat_offset(kafka.bootstrap, topic, p, -2) for p in range(len(counts))]
        assert ends == counts  # the world is what we built
        assert one(s, "kafka_topic_partition_current_offset", cluster=cluster,
                   topic=topic) == sum(ends)
        assert one(s, "kafka_topic_partition_oldest_offset", cluster=cluster,
                   topic=topic) == sum(begins)
        assert one(s, "kafka_topic_partition_replicas", cluster=cluster, topic=topic) == 1
        assert one(s, "kafka_topic_partition_in_sync_replica", cluster=cluster, topic=topic) == 1
        assert one(s, "kafka_topic_partition_under_replicated_partition", cluster=cluster,
                   topic=topic) == 0
        assert one(s, "kafka_topic_partitions", cluster=cluster, topic=topic) == len(counts)
    for g, commits in GROUPS.items():
        group = f"sc{tag}-{g}"
        per_topic = {}
        for t, part, off in commits:
            end = kcat_offset(kafka.bootstrap, f"sc{tag}.{t}", part, -1)
            o, lag = per_topic.get(t, (0, 0))
            per_topic[t] = (o + off, lag + max(end - off, 0))
        for t, (off, lag) in per_topic.items():
            topic = f"sc{tag}.{t}"
            assert one(s, "kafka_consumergroup_current_offset", cluster=cluster,
                       consumergroup=group, topic=topic) == off
            assert one(s, "kafka_consumergroup_lag", cluster=cluster, consumergroup=group,
                       topic=topic) == lag
            assert one(s, "kafka_consumergroup_lag_sum", cluster=cluster, consumergroup=group,
                       topic=topic) == lag


def test_family_filter_and_series_cap(kafka, exporter_factory, tmp_path):
    tag = uuid.uuid4().hex[:8]
    cluster = f"card{tag}"
    build_world(kafka, tag)
    extra = ("    families:\n      exclude: ['^kafka_topic_partition_(leader|replicas)$']\n"
             "    series_caps:\n      kafka_consumergroup_lag: 4\n")
    e = exporter_factory(config(kafka, tmp_path, "e", cluster, tag, extra))
    s = e.wait_metrics("3 sampling cycles", lambda s: cycles(s, cluster) >= 3, timeout=60)
    text = e.metrics_text()
    assert "kafka_topic_partition_leader{" not in text
    assert "kafka_topic_partition_replicas{" not in text
    assert "# TYPE kafka_topic_partition_leader " not in text
    assert select(s, "kafka_topic_partition_in_sync_replica", cluster=cluster)
    lags = select(s, "kafka_consumergroup_lag", cluster=cluster)
    assert len(lags) == 4
    total = sum(len(c) for c in GROUPS.values())  # one lag series per commit
    dropped = one(s, "streamkpi_series_dropped_total", cluster=cluster,
                  family="kafka_consumergroup_lag")
    # Each cycle drops the same total - 4 series; the counter is a multiple.
    assert dropped and dropped % (total - 4) == 0, (dropped, total)


def fnv1a64(name):
    """The shard hash of docs/scale.md (FNV-1a, 64 bits), to pick names."""
    h = 14695981039346656037
    for b in name.encode():
        h = ((h ^ b) * 1099511628211) % (1 << 64)
    return h


def tag_giving_every_shard_a_share(n):
    """A random tag whose topics and groups land on each of n shards (six
    names over three shards leave one empty about a quarter of the time)."""
    for _ in range(1000):
        tag = uuid.uuid4().hex[:8]
        topics = {fnv1a64(f"sc{tag}.{t}") % n for t in TOPICS}
        groups = {fnv1a64(f"sc{tag}-{g}") % n for g in GROUPS}
        if len(topics) == n and len(groups) == n:
            return tag
    pytest.fail(f"no tag in 1000 spreads the names over {n} shards", pytrace=False)


def test_shard_union_equals_single(kafka, exporter_factory, tmp_path):
    tag = tag_giving_every_shard_a_share(3)
    cluster = f"shard{tag}"
    build_world(kafka, tag)  # no producer runs from here on: offsets are static
    single = exporter_factory(config(kafka, tmp_path, "single", cluster, tag))
    shards = [exporter_factory(config(kafka, tmp_path, f"shard{i}", cluster, tag),
                               extra_args=(f"--shard={i}/3",)) for i in range(3)]
    everyone = [single, *shards]
    for e in everyone:
        e.wait_metrics("3 sampling cycles", lambda s: cycles(s, cluster) >= 3, timeout=90)

    def ours(s):
        return {k: v for k, v in s.items()
                if sharded_family(k[0]) and ("cluster", cluster) in k[1]}

    def snapshot():
        whole = ours(single.metrics())
        parts = [ours(e.metrics()) for e in shards]
        return whole, parts

    whole, parts = snapshot()
    # What is left out is exactly the listed self-metrics and the KPI families.
    for name in {k[0] for k in single.metrics()}:
        assert sharded_family(name) or name in SELF_METRICS or name.startswith("streamkpi_"), name
    assert {k[0] for k in whole} >= {"kafka_consumergroup_lag", "kafka_consumergroup_lag_seconds",
                                     "kafka_topic_partition_current_offset", "kafka_brokers"}
    assert select(parts[0], "kafka_brokers", cluster=cluster)
    for p in parts[1:]:
        assert not select(p, "kafka_brokers", cluster=cluster)
        assert not select(p, "kafka_offline_partitions", cluster=cluster)
    # Every shard got a share of the topics and groups.
    for i, p in enumerate(parts):
        assert select(p, "kafka_topic_partitions", cluster=cluster), f"shard {i} has no topic"
    union = {}
    for i, p in enumerate(parts):
        for k, v in p.items():
            assert k not in union, f"{k} served by two shards"
            union[k] = v
    missing = sorted(map(str, set(whole) - set(union)))
    extra = sorted(map(str, set(union) - set(whole)))
    assert not missing and not extra, f"missing {missing[:20]}\nextra {extra[:20]}"
    # Values are equal, except where they move with the clock itself (the
    # time lag of a stalled group grows every second, whoever samples it).
    differ = {k: (whole[k], union[k]) for k in whole
              if whole[k] != union[k] and k[0] not in CLOCK_DEPENDENT}
    assert not differ, differ
    assert len(whole) > 50
    # Each shard asks only for its own groups: the group requests of the
    # shards add up to those of the single exporter, cycle for cycle.
    for kind in ("describe_groups", "offset_fetch"):
        one_cycle = one(single.metrics(), "streamkpi_kafka_requests", cluster=cluster,
                        request=kind)
        shares = [one(e.metrics(), "streamkpi_kafka_requests", cluster=cluster, request=kind)
                  for e in shards]
        assert one_cycle == len(GROUPS), (kind, one_cycle)
        assert sum(shares) == one_cycle, (kind, shares, one_cycle)


def test_describe_interval_skips_steady_groups(kafka, exporter_factory, tmp_path):
    tag = uuid.uuid4().hex[:8]
    cluster = f"desc{tag}"
    build_world(kafka, tag)
    e = exporter_factory(config(kafka, tmp_path, "e", cluster, tag,
                                "    describe_interval: 1h\n"))

    def requests(s):
        return one(s, "streamkpi_kafka_requests", cluster=cluster, request="describe_groups")

    # The first cycle describes every group; later ones none, while the
    # members and state of every group are still served.
    s = e.wait_metrics("a cycle without DescribeGroups",
                       lambda s: cycles(s, cluster) >= 2 and requests(s) == 0, timeout=60)
    for g in GROUPS:
        group = f"sc{tag}-{g}"
        assert one(s, "kafka_consumergroup_members", cluster=cluster, consumergroup=group) == 0
        assert one(s, "kafka_consumergroup_state", cluster=cluster, consumergroup=group,
                   state="Empty") == 1
    # A new group with a live member is described at once, not in an hour.
    live_group, topic = f"sc{tag}-live", f"sc{tag}.b"
    live = ToolProc(kafka, ["consume", live_group, topic, "--max", "5", "--hold", "600"])
    try:
        live.wait_line(re.compile(r"^committed 5$"), timeout=60)
        e.wait_metrics("the live member",
                       lambda s: one(s, "kafka_consumergroup_members", cluster=cluster,
                                     consumergroup=live_group) == 1, timeout=60)
    finally:
        live.stop()
    # Its member left: the listing shows Empty, so it is described again.
    s = e.wait_metrics("the member gone",
                       lambda s: one(s, "kafka_consumergroup_members", cluster=cluster,
                                     consumergroup=live_group) == 0, timeout=90)
    assert one(s, "kafka_consumergroup_state", cluster=cluster, consumergroup=live_group,
               state="Empty") == 1
