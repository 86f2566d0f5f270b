"""Stateful processing detection with a real Kafka Streams application.

tests/streams/CountApp.java (compiled here with javac against the Kafka
Streams jars of the broker's version, build/streams/libs) counts the values
of an input topic: grouping by value makes a repartition topic, the count
store a changelog topic, and the application's consumer group is its
application id.  The exporter must find that application with its kind, one
changelog and one repartition topic, and its lag falling to 0 once the app
has processed what was produced; an unrelated consumer group with no state
topics is no application.
"""

import os
import re
import subprocess
import uuid

import pytest

from conftest import ROOT, ToolProc, _kill, _spawn, _tail, exporter_config, poll, select, value

STREAMS_LIBS = os.path.join(ROOT, "build", "streams", "libs")
SOURCE = os.path.join(ROOT, "tests", "streams", "CountApp.java")


@pytest.fixture
def count_app_classes(tmp_path):
    if not os.path.isfile(os.path.join(STREAMS_LIBS, ".complete")):
        pytest.fail(f"no Kafka Streams jars in {STREAMS_LIBS}: run scripts/deps.sh", pytrace=False)
    out = tmp_path / "classes"
    out.mkdir()
    r = subprocess.run(["javac", "-d", str(out), "-cp", os.path.join(STREAMS_LIBS, "*"), SOURCE],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return str(out)


def test_kafka_streams_app_detected_with_its_state_topics(kafka, exporter_factory,
                                                         count_app_classes, tmp_path):
    tag = uuid.uuid4().hex[:8]
    app_id = f"count-{tag}"
    src, out = f"words-{tag}", f"counts-{tag}"
    kafka.tool("create", src, 2, 1)
    kafka.tool("create", out, 2, 1)
    cluster = "stateful"
    e = exporter_factory(exporter_config(kafka.bootstrap, cluster=cluster))

    log = str(tmp_path / "countapp.log")
    state_dir = tmp_path / "streams-state"
    state_dir.mkdir()
    app = _spawn(["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp",
                  f"{count_app_classes}:{os.path.join(STREAMS_LIBS, '*')}", "CountApp",
                  kafka.bootstrap, app_id, src, out, str(state_dir)], log)
    try:
        def running():
            if app.poll() is not None:
                pytest.fail(f"CountApp exited {app.returncode}:\n{_tail(log)}", pytrace=False)
            return "state RUNNING" in _tail(log, 200000)
        poll("the Streams app RUNNING", running, timeout=120, interval=1.0)
        kafka.tool("produce", src, 0, 50)
        kafka.tool("produce", src, 1, 30)

        def detected(s):
            apps = select(s, "streamkpi_stateful_apps", cluster=cluster, kind="kafka_streams")
            lag = select(s, "streamkpi_stateful_app_lag_messages", cluster=cluster, app=app_id)
            return apps and lag and list(lag.values())[0] == 0 and select(
                s, "streamkpi_stateful_app_state_topics", cluster=cluster, app=app_id,
                type="changelog")
        s = e.wait_metrics("the app detected, caught up", detected, timeout=180)
        # The broker is shared: other scenarios' applications may be there too.
        n_apps = value(s, "streamkpi_stateful_apps", cluster=cluster, kind="kafka_streams")
        assert n_apps >= 1
        assert value(s, "streamkpi_stateful_app_state_topics", cluster=cluster, app=app_id,
                     kind="kafka_streams", type="changelog") == 1
        assert value(s, "streamkpi_stateful_app_state_topics", cluster=cluster, app=app_id,
                     kind="kafka_streams", type="repartition") == 1
        # The state topics the app made are the ones the exporter counted.
        topics = [n for lab, v in select(s, "kafka_topic_partitions", cluster=cluster).items()
                  for k, n in lab if k == "topic"]
        assert f"{app_id}-counts-changelog" in topics, topics
        assert f"{app_id}-by-value-repartition" in topics, topics
        assert not [t for t in topics if t.startswith(app_id) and
                    not re.search(r"-(changelog|repartition)$", t)], topics

        # A plain consumer group with no state topics is no application.
        plain = ToolProc(kafka, ["consume", f"plain-{tag}", src, "--max", "80", "--hold", "60"])
        try:
            e.wait_metrics("the plain group seen", lambda s: select(
                s, "kafka_consumergroup_current_offset", cluster=cluster,
                consumergroup=f"plain-{tag}"), timeout=60)
            s = e.metrics()
            assert value(s, "streamkpi_stateful_apps", cluster=cluster,
                         kind="kafka_streams") == n_apps
            assert not select(s, "streamkpi_stateful_app_lag_messages", cluster=cluster,
                              app=f"plain-{tag}")
        finally:
            plain.stop()
    finally:
        _kill(app, sig=15, wait=60)
