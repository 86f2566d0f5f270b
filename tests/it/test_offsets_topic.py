"""group_offsets: offsets_topic on a real KRaft broker: committed offsets and
lag read from __consumer_offsets equal what kafka-consumer-groups.sh
--describe prints, for several groups, after new commits, after
--reset-offsets, after --delete-offsets and --delete, and after a restart of
the exporter (no offset series before the reader caught up, exact values
after).  No OffsetFetch is sent in that mode.
"""

import os
import subprocess
import uuid

from conftest import KAFKA_LIBS, poll, select
from helpers_kpi import kpi_config, one

PRODUCED = {0: 10, 1: 20, 2: 30}
# group suffix -> {partition: committed offset}
COMMITS = {"a": {0: 4, 1: 20, 2: 7}, "b": {0: 10, 2: 1}, "c": {1: 3}}


def group_cli(kafka, *args):
    """Runs kafka-consumer-groups.sh (its Java class) against the broker."""
    cmd = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-cp", os.path.join(KAFKA_LIBS, "*"),
           "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
           "--bootstrap-server", kafka.bootstrap, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def cli_describe(kafka, group):
    """{(topic, partition): (committed, lag)} as --describe prints it; a
    partition without a commit ("-") and a group that does not exist give
    nothing."""
    rc, out = group_cli(kafka, "--describe", "--group", group)
    if "does not exist" in out:
        return {}
    assert rc == 0, out
    got = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0] == group and f[3] != "-" and f[3].isdigit():
            got[(f[1], f[2])] = (int(f[3]), int(f[5]))
    return got


def exporter_view(s, cluster, group):
    got = {}
    for key, off in select(s, "kafka_consumergroup_current_offset", cluster=cluster,
                           consumergroup=group).items():
        labels = dict(key)
        lag = one(s, "kafka_consumergroup_lag", cluster=cluster, consumergroup=group,
                  topic=labels["topic"], partition=labels["partition"])
        got[(labels["topic"], labels["partition"])] = (int(off), None if lag is None else int(lag))
    return got


def agree(e, kafka, cluster, groups, what):
    """Waits until the exporter shows, for every group, exactly what the CLI
    shows (asked again on every try: the CLI is the truth)."""
    last = {}

    def same():
        s = e.metrics()
        last["caught_up"] = one(s, "streamkpi_kafka_offsets_topic_caught_up", cluster=cluster)
        if last["caught_up"] != 1:
            return False
        for g in groups:
            want, have = cli_describe(kafka, g), exporter_view(s, cluster, g)
            last[g] = (want, have)
            if want != have:
                return False
        return True
    try:
        poll(what, same, timeout=90, interval=1)
    except BaseException as ex:
        raise AssertionError(f"{what}: {ex}; CLI vs exporter {last}")


def config(kafka, tmp_path, cluster, tag):
    return kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster,
                      include=f"^ot{tag}\\.",
                      extra=(f"    groups:\n      include: ['^ot{tag}-']\n"
                             "    group_offsets: offsets_topic\n"
                             "    describe_interval: 60s\n"))


def test_offsets_topic_equals_the_cli(kafka, exporter_factory, tmp_path):
    tag = uuid.uuid4().hex[:8]
    cluster, topic = f"ot{tag}", f"ot{tag}.orders"
    groups = [f"ot{tag}-{g}" for g in COMMITS]
    kafka.tool("create", topic, len(PRODUCED), 1)
    for part, n in PRODUCED.items():
        kafka.tool("produce", topic, part, n)
    for g, commits in COMMITS.items():
        for part, off in commits.items():
            kafka.tool("commit", f"ot{tag}-{g}", topic, part, off)

    e = exporter_factory(config(kafka, tmp_path, cluster, tag))
    agree(e, kafka, cluster, groups, "first catch-up")
    s = e.metrics()
    # The committed offsets came from the topic, not from OffsetFetch.
    assert one(s, "streamkpi_kafka_requests", cluster=cluster, request="offset_fetch") == 0
    assert one(s, "streamkpi_kafka_offsets_topic_records_total", cluster=cluster,
               outcome="applied") >= sum(len(c) for c in COMMITS.values())
    assert one(s, "streamkpi_kafka_offsets_topic_records_total", cluster=cluster,
               outcome="refused") == 0

    # New commits, one moving down.
    kafka.tool("commit", groups[0], topic, 0, 9)
    kafka.tool("commit", groups[1], topic, 2, 0)
    kafka.tool("commit", groups[2], topic, 0, 2)
    agree(e, kafka, cluster, groups, "after new commits")

    # --reset-offsets of an inactive group.
    rc, out = group_cli(kafka, "--reset-offsets", "--group", groups[1], "--topic", topic,
                        "--to-earliest", "--execute")
    assert rc == 0, out
    agree(e, kafka, cluster, groups, "after --reset-offsets")

    # --delete-offsets of one group on the topic: its series go.
    rc, out = group_cli(kafka, "--delete-offsets", "--group", groups[2], "--topic", topic)
    assert rc == 0, out
    agree(e, kafka, cluster, groups, "after --delete-offsets")
    assert exporter_view(e.metrics(), cluster, groups[2]) == {}

    # --delete of a whole group.
    rc, out = group_cli(kafka, "--delete", "--group", groups[0])
    assert rc == 0, out
    agree(e, kafka, cluster, groups, "after --delete")
    assert exporter_view(e.metrics(), cluster, groups[0]) == {}

    # A restart reads the topic again from its start: until the reader
    # caught up no group has an offset series, then the values are exact.
    e.stop()
    os.makedirs(tmp_path / "again", exist_ok=True)
    e2 = exporter_factory(config(kafka, tmp_path / "again", cluster, tag))
    seen_before = []

    def caught_up():
        s = e2.metrics()
        flag = one(s, "streamkpi_kafka_offsets_topic_caught_up", cluster=cluster)
        if flag != 1:
            seen_before.append(any(exporter_view(s, cluster, g) for g in groups))
        return flag == 1
    poll("the restarted exporter caught up", caught_up, timeout=60, interval=0.2)
    assert not any(seen_before), "offset series before the reader caught up"
    agree(e2, kafka, cluster, groups, "after a restart")
