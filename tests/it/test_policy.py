"""The continuous policy audit on real brokers.

policytool runs one configuration audit (DescribeConfigs through the config
source), the policy engine over it and, when asked, Kafka sampling cycles
for the retention risk, and prints it all as JSON.  Topics are created with
kafkatool and their configs changed with kafka-configs (ConfigCommand from
the Kafka jars), so the audit reads what a platform team would have set.
"""

import json
import os
import subprocess

import pytest

from conftest import ROOT, parse_metrics, poll, promtool_check_metrics, value

POLICYTOOL = os.path.join(ROOT, "build", "tools", "policytool")


@pytest.fixture(scope="module")
def policytool():
    """The audit tool, built by make test (tests/tools/policytool/)."""
    if not os.access(POLICYTOOL, os.X_OK):
        pytest.fail(f"{POLICYTOOL} is missing: run make build/tools/policytool", pytrace=False)
    return POLICYTOOL


def audit(tool, cluster, *args, timeout=180):
    cmd = [tool, "-b", cluster.bootstrap, "-t", "5", *map(str, args)]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0 or "Sanitizer" in r.stderr:
        pytest.fail(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}",
                    pytrace=False)
    return json.loads(r.stdout)


def counts(doc):
    """{rule: (pass, fail, unknown)}"""
    return {k: (v["pass"], v["fail"], v["unknown"]) for k, v in doc["counts"].items()}


def violations(doc):
    return sorted((v["topic"], v["rule"], v["observed"], v["threshold"])
                  for v in doc["policy"]["violations"])


def metric(doc, name, **labels):
    return value(parse_metrics(doc["metrics"]), name, **labels)


def test_single_broker_audit_before_and_after_alteration(kafka_cluster_factory, policytool):
    k = kafka_cluster_factory(1)
    for t in ("shop.orders", "shop.unclean", "shop.compact", "BadName"):
        k.tool("create", t, 2, 1)
    doc = audit(policytool, k)
    assert sorted(n for n, t in doc["configs"]["topics"].items() if not t["internal"]) == \
        ["BadName", "shop.compact", "shop.orders", "shop.unclean"]
    orders = doc["configs"]["topics"]["shop.orders"]
    assert orders["ok"] and orders["rf"] == 1 and orders["partitions"] == 2
    assert orders["values"]["retention.ms"] == {"value": "604800000", "source": "default"}
    # Metadata, one DescribeConfigs for the topics, one for the broker.
    assert (doc["configs"]["requests"], doc["configs"]["errors"]) == (3, 0)
    # One broker: replication 1 fails honestly, and so does min ISR 1.
    assert counts(doc) == {
        "replication_factor": (0, 4, 0), "min_insync_replicas": (0, 4, 0),
        "unclean_leader_election": (4, 0, 0), "retention": (0, 4, 0),
        "cleanup_policy": (4, 0, 0), "partitions": (4, 0, 0), "max_message_bytes": (4, 0, 0),
        "naming": (3, 1, 0), "owner": (3, 1, 0), "schema": (0, 0, 4),
        "broker_auto_create_topics": (1, 0, 0), "broker_min_insync_replicas": (0, 1, 0)}
    assert doc["verdicts"] == {"pass": 0, "fail": 4, "unknown": 0}
    assert metric(doc, "streamkpi_policy_pass_ratio", cluster="itest") == 0.0
    assert doc["policy"]["pass_ratio"] == 0.0
    assert ("BadName", "naming", "BadName", "^[a-z0-9]([._-][a-z0-9]|[a-z0-9])*$") in violations(doc)
    assert ("BadName", "owner", "none", "catalog or team regex") in violations(doc)
    assert ("shop.orders", "replication_factor", "1", ">= 3") in violations(doc)
    assert ("shop.orders", "retention", "604800000 (default)", "set on the topic, <= 2592000000") \
        in violations(doc)
    assert len(violations(doc)) == 4 * 3 + 2
    assert doc["policy"]["broker_results"] == [
        {"broker": 1, "rule": "broker_min_insync_replicas", "observed": "1",
         "threshold": ">= 2"}]
    assert metric(doc, "streamkpi_topic_policy_violation", cluster="itest", topic="BadName",
                  rule="naming") == 1
    rc, out = promtool_check_metrics(doc["metrics"])
    assert rc == 0, out

    k.alter_configs("topics", "shop.orders", {"retention.ms": 86400000,
                                              "min.insync.replicas": 2})
    k.alter_configs("topics", "shop.unclean", {"unclean.leader.election.enable": "true"})
    k.alter_configs("topics", "shop.compact", {"cleanup.policy": "compact"})
    doc = audit(policytool, k)
    orders = doc["configs"]["topics"]["shop.orders"]
    assert orders["values"]["retention.ms"] == {"value": "86400000", "source": "dynamic_topic"}
    c = counts(doc)
    assert c["retention"] == (2, 2, 0)
    assert c["unclean_leader_election"] == (3, 1, 0)
    assert c["min_insync_replicas"] == (0, 4, 0)
    assert ("shop.orders", "min_insync_replicas", "2", ">= 2 and <= 0") in violations(doc)
    assert ("shop.unclean", "unclean_leader_election", "true", "false") in violations(doc)
    assert not any(v[0] in ("shop.orders", "shop.compact") and v[1] == "retention"
                   for v in violations(doc))
    assert len(violations(doc)) == 4 * 3 + 2 - 2 + 1


RF3_CONFIGS = {"min.insync.replicas": 2, "retention.ms": 604800000}


def test_three_brokers_alteration_and_one_broker_down(kafka_cluster_factory, policytool):
    k = kafka_cluster_factory(3)
    topics = {"pay.good": 3, "pay.noisr": 3, "pay.unclean": 3, "pay.noret": 3, "pay.rf1": 1,
              "Bad.Name": 3}
    for t, rf in topics.items():
        k.tool("create", t, 3, rf)
    k.alter_configs("topics", "pay.good", RF3_CONFIGS)
    k.alter_configs("topics", "pay.noisr", {"retention.ms": 604800000})
    k.alter_configs("topics", "pay.unclean", dict(RF3_CONFIGS,
                                                  **{"unclean.leader.election.enable": "true"}))
    k.alter_configs("topics", "pay.noret", {"min.insync.replicas": 2})
    k.alter_configs("topics", "Bad.Name", RF3_CONFIGS)
    # One topic per request: six topic calls spread over the brokers.
    doc = audit(policytool, k, "--per-request", 1)
    assert (doc["configs"]["requests"], doc["configs"]["errors"]) == (1 + 6 + 3, 0)
    assert doc["verdicts"] == {"pass": 1, "fail": 5, "unknown": 0}
    assert doc["policy"]["pass_ratio"] == pytest.approx(1 / 6)
    assert violations(doc) == sorted([
        ("Bad.Name", "naming", "Bad.Name", "^[a-z0-9]([._-][a-z0-9]|[a-z0-9])*$"),
        ("pay.noisr", "min_insync_replicas", "1", ">= 2 and <= 2"),
        ("pay.noret", "retention", "604800000 (default)", "set on the topic, <= 2592000000"),
        ("pay.rf1", "min_insync_replicas", "1", ">= 2 and <= 0"),
        ("pay.rf1", "replication_factor", "1", ">= 3"),
        ("pay.rf1", "retention", "604800000 (default)", "set on the topic, <= 2592000000"),
        ("pay.unclean", "unclean_leader_election", "true", "false"),
    ])
    assert counts(doc)["replication_factor"] == (5, 1, 0)
    assert counts(doc)["broker_min_insync_replicas"] == (0, 3, 0)

    k.alter_configs("topics", "pay.noisr", {"min.insync.replicas": 2})
    k.alter_configs("topics", "pay.noret", {"retention.ms": 86400000})
    doc = audit(policytool, k, "--per-request", 1)
    assert doc["verdicts"] == {"pass": 3, "fail": 3, "unknown": 0}
    assert doc["policy"]["pass_ratio"] == 0.5
    assert metric(doc, "streamkpi_policy_pass_ratio", cluster="itest") == 0.5
    assert metric(doc, "streamkpi_policy_topics", cluster="itest", rule="min_insync_replicas",
                  result="fail") == 1
    after = violations(doc)
    assert not any(v[0] in ("pay.noisr", "pay.noret") for v in after)
    assert len(after) == 5

    k.stop_node(3)
    doc = audit(policytool, k, "--per-request", 1)
    cfg = doc["configs"]
    # Every topic is still audited: a chunk sent to the dead broker is
    # retried on the next one.
    assert all(t["ok"] for t in cfg["topics"].values()), cfg["topics"]
    assert cfg["failed_topics"] == 0
    assert cfg["brokers"]["1"]["ok"] and cfg["brokers"]["2"]["ok"]
    if "3" in cfg["brokers"]:
        # Still listed: its own configuration cannot be read, so its broker
        # rules are unknown, and every call sent to it failed.
        assert not cfg["brokers"]["3"]["ok"]
        assert cfg["errors"] >= 1
        unknown = [r for r in doc["policy"]["broker_results"] if r["broker"] == 3]
        assert sorted(r["rule"] for r in unknown) == ["broker_auto_create_topics",
                                                      "broker_min_insync_replicas"]
        assert all("reason" in r for r in unknown)
    # The verdicts are those of the running brokers' answers: unchanged.
    assert doc["verdicts"] == {"pass": 3, "fail": 3, "unknown": 0}
    assert violations(doc) == after


def test_retention_risk_of_a_stalled_consumer(kafka_cluster_factory, policytool):
    k = kafka_cluster_factory(1)
    k.tool("create", "shop.slow", 1, 1)
    k.tool("create", "shop.shortlived", 1, 1)
    k.alter_configs("topics", "shop.slow", {"retention.ms": 600000})
    k.alter_configs("topics", "shop.shortlived", {"retention.ms": 1000, "segment.ms": 1000})
    k.tool("produce", "shop.slow", 0, 50)
    k.tool("produce", "shop.shortlived", 0, 50)
    k.tool("commit", "stalled", "shop.slow", 0, 10)
    k.tool("commit", "stalled", "shop.shortlived", 0, 10)

    # The margin falls while the group stands still.
    doc = audit(policytool, k, "--samples", 3, "--every", 1)
    margins = [value(parse_metrics(text), "kafka_consumergroup_retention_margin_seconds",
                     cluster="itest", consumergroup="stalled", topic="shop.slow")
               for text in doc["metrics_per_sample"]]
    assert all(m < 600 for m in margins), margins
    assert margins[0] > margins[1] > margins[2], margins
    rc, out = promtool_check_metrics(doc["metrics"])
    assert rc == 0, out
    assert metric(doc, "kafka_consumergroup_skipped_messages", cluster="itest",
                  consumergroup="stalled", topic="shop.slow") == 0

    # A new message rolls the expired segment; the retention check (every
    # second on these brokers) then deletes it and the low watermark moves
    # past the group's commit.
    def deleted():
        k.tool("produce", "shop.shortlived", 0, 1)
        d = audit(policytool, k, "--samples", 1)
        return d if d["low"]["shop.shortlived"]["0"] > 10 else None
    doc = poll("segment deletion on shop.shortlived", deleted, timeout=120, interval=2)
    low = doc["low"]["shop.shortlived"]["0"]
    committed = doc["commits"]["stalled"]["shop.shortlived"]["0"]
    assert committed == 10
    assert metric(doc, "kafka_consumergroup_skipped_messages", cluster="itest",
                  consumergroup="stalled", topic="shop.shortlived") == low - committed
