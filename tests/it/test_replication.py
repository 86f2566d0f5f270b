"""MirrorMaker 2 replication between two real KRaft brokers.

Two single-node brokers, "src" and "dst" (the exporter's cluster names equal
MirrorMaker 2's aliases), and a real MirrorMaker 2 (the official
connect-mirror jars, dedicated mode) copying topic "orders" (2 partitions)
from src to dst under the default replication policy ("src.orders").

The truths are the test's own counts: after MM2 copied the first 100
messages, the lag is 0; with MM2 stopped, producing 30 + 20 more to the two
partitions makes the lag exactly 50, since nothing reaches dst; after MM2
restarts it returns to 0.  The age of the newest replicated heartbeat grows
while MM2 is stopped and falls again after it restarts.  The flow is found.  Waits are polls
with a deadline.
"""

import os

import pytest
from conftest import (KafkaBroker, _kill, _spawn, _tail, exporter_config, poll,
                      promtool_check_metrics, select, value)
from helpers_kpi import CONNECT_LIBS


class MirrorMaker:
    """org.apache.kafka.connect.mirror.MirrorMaker with a properties file of
    the test's own."""

    def __init__(self, workdir, src, dst):
        """src and dst are the KafkaBrokers; MM2 runs with src's JVM flags and
        log configuration, on the Connect jars."""
        if not os.path.isfile(os.path.join(CONNECT_LIBS, ".complete")):
            pytest.fail(f"no Kafka Connect jars in {CONNECT_LIBS}: run scripts/deps.sh",
                        pytrace=False)
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "mm2.properties")
        rf = ("replication.factor", "checkpoints.topic.replication.factor",
              "heartbeats.topic.replication.factor", "offset-syncs.topic.replication.factor",
              "offset.storage.replication.factor", "status.storage.replication.factor",
              "config.storage.replication.factor")
        with open(self.config, "w") as f:
            f.write("clusters = src, dst\n"
                    f"src.bootstrap.servers = {src.bootstrap}\n"
                    f"dst.bootstrap.servers = {dst.bootstrap}\n"
                    "src->dst.enabled = true\n"
                    "dst->src.enabled = false\n"
                    "src->dst.topics = orders\n"
                    "sync.topic.configs.enabled = false\n"
                    "sync.topic.acls.enabled = false\n"
                    "emit.heartbeats.interval.seconds = 1\n"
                    "emit.checkpoints.interval.seconds = 1\n"
                    "refresh.topics.interval.seconds = 2\n"
                    "refresh.groups.interval.seconds = 2\n"
                    "offset.flush.interval.ms = 1000\n")
            f.writelines(f"{k} = 1\n" for k in rf)
        self.cmd = src._java("org.apache.kafka.connect.mirror.MirrorMaker", self.config)
        self.cmd[self.cmd.index("-cp") + 1] = os.path.join(CONNECT_LIBS, "*")
        self.log = os.path.join(self.dir, "mm2.log")
        self.proc = None

    def start(self):
        self.proc = _spawn(self.cmd, self.log)
        return self

    def stop(self):
        _kill(self.proc)

    def check_alive(self):
        if self.proc.poll() is not None:
            pytest.fail(f"MirrorMaker 2 exited {self.proc.returncode}:\n{_tail(self.log)}",
                        pytrace=False)


def test_mirror_maker_lag_rises_when_stopped_and_returns(tmp_path, exporter_factory):
    src = KafkaBroker(str(tmp_path / "src"))
    dst = KafkaBroker(str(tmp_path / "dst"))
    mm = None
    try:
        src.start()
        dst.start()
        src.tool("create", "orders", 2, 1)
        src.tool("produce", "orders", 0, 60)
        src.tool("produce", "orders", 1, 40)
        mm = MirrorMaker(str(tmp_path / "mm2"), src, dst).start()

        extra = f"  - name: dst\n    bootstrap_servers: \"{dst.bootstrap}\"\n"
        e = exporter_factory(exporter_config(src.bootstrap, cluster="src", extra=extra))

        def lag(mm_running=True):
            if mm_running:
                mm.check_alive()
            s = e.metrics()
            hits = select(s, "streamkpi_replication_lag_messages", source="src", target="dst",
                          topic="orders")
            return (s, hits and next(iter(hits.values())))

        s, _ = poll("MirrorMaker 2 to copy the first 100 messages",
                    lambda: (lambda r: r if r[1] == 0 else None)(lag()), timeout=180, interval=1)
        assert value(s, "streamkpi_replication_flow_info", source="src", target="dst",
                     policy="default") == 1
        assert value(s, "streamkpi_replication_topics", source="src", target="dst") == 1
        assert not select(s, "streamkpi_replication_flow_info", source="dst", target="src")
        # The flow and the topic were seen with src.orders holding exactly 100.
        assert sum(v for lab, v in select(s, "kafka_topic_partition_current_offset",
                                          cluster="dst", topic="src.orders").items()) == 100

        def hb_age():
            hits = select(e.metrics(), "streamkpi_replication_heartbeat_age_seconds",
                          source="src", target="dst")
            return next(iter(hits.values())) if hits else None
        poll("a replicated heartbeat", lambda: hb_age() is not None, timeout=60, interval=1)

        mm.stop()
        # With MM2 gone no heartbeat reaches dst: the age only grows.
        stopped_age = hb_age()
        poll("the heartbeat age to grow while MM2 is stopped",
             lambda: hb_age() >= stopped_age + 3, timeout=60, interval=1)
        src.tool("produce", "orders", 0, 30)
        src.tool("produce", "orders", 1, 20)
        poll("the lag to show the 50 messages MM2 did not copy",
             lambda: lag(mm_running=False)[1] == 50, timeout=60, interval=1)
        # It stays at exactly what the offsets imply while nothing copies.
        s = e.metrics()
        assert value(s, "streamkpi_replication_lag_messages", source="src", target="dst",
                     topic="orders") == 50
        assert value(s, "streamkpi_replication_flow_lag_messages", source="src",
                     target="dst") == 50
        rc, out = promtool_check_metrics(e.metrics_text())
        assert rc == 0 and out.strip() == "", out

        mm.start()
        poll("the lag to return to 0 after MM2 restarts",
             lambda: (lambda r: r if r[1] == 0 else None)(lag()), timeout=180, interval=1)
        grown = hb_age()
        poll("fresh heartbeats after the restart", lambda: hb_age() < min(grown, stopped_age + 3),
             timeout=60, interval=1)
    finally:
        if mm and mm.proc:
            mm.stop()
        src.stop()
        dst.stop()
