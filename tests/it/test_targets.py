"""HTTP targets against real servers.

- Application /metrics: a test server whose events_processed_total moves by
  a known amount per scrape gives an exact data-quality ratio and app_ratio
  SLO; a server answering garbage and one that never answers get their error
  counters while the good target stays up and error-free.
- Kafka Connect: a REAL worker (Apache Kafka's ConnectStandalone from Maven
  Central, tests/connect/pom.xml) with a running FileStreamSource and a
  FileStreamSink whose task fails; the exporter's streamkpi_connect_* must
  match what the worker's own REST API says.
- Schema Registry: Confluent's registry is not on Maven Central, so a test
  server serves a RECORDED `GET /subjects` answer (helpers_kpi.py); the
  coverage ratio must count only topics holding data.
- With every family on (probe, all SLI kinds, DLQ, groups, targets),
  `promtool check metrics` is clean and the strict parser accepts text and
  OpenMetrics.
"""

import uuid

from conftest import parse_metrics, poll, promtool_check_metrics, select
from helpers_kpi import (AppMetricsServer, GarbageServer, HangingServer, RECORDED_SUBJECTS,
                         SchemaRegistryServer, connect_factory, kpi_config, one,  # noqa: F401
                         servers)  # noqa: F401

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
REASONS = ("timeout", "too_big", "http_status", "parse", "connect")


def _target(name, url, kind="metrics", extra=""):
    return (f"  - name: {name}\n    url: {url}\n    kind: {kind}\n"
            f"    interval: 1s\n    timeout: 1s\n{extra}")


def _errors(s, target):
    return {r: one(s, "streamkpi_target_errors_total", target=target, reason=r) for r in REASONS}


def test_app_targets_quality_and_errors(kafka, exporter_factory, servers, tmp_path):
    good = servers(AppMetricsServer, {"success": 9, "error": 1})
    garbage = servers(GarbageServer)
    hang = servers(HangingServer)
    slo = "app-quality"
    extra = ("targets:\n" +
             _target("app-good", good.url + "/metrics") +
             _target("app-garbage", garbage.url + "/metrics") +
             _target("app-hang", hang.url + "/metrics") +
             f"slos:\n  - name: {slo}\n    sli: app_ratio\n    objective: 0.8\n"
             f"    target: app-good\n")
    e = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path), include="^none$") + extra)

    def settled(s):
        return (one(s, "streamkpi_data_quality_ratio", target="app-good") is not None and
                (one(s, "streamkpi_target_errors_total", target="app-hang",
                     reason="timeout") or 0) >= 2 and
                (one(s, "streamkpi_target_errors_total", target="app-garbage",
                     reason="parse") or 0) >= 2 and
                (one(s, "streamkpi_slo_events_total", slo=slo) or 0) > 0)
    s = e.wait_metrics("scrapes of all three targets", settled, timeout=60)

    # Every scrape adds 2 pods x (9 success, 1 error): the interval's share is 0.9.
    assert one(s, "streamkpi_data_quality_ratio", target="app-good") == 0.9
    ok = one(s, "streamkpi_app_events_total", target="app-good", status="success")
    err = one(s, "streamkpi_app_events_total", target="app-good", status="error")
    assert ok in good.served["success"] and err == ok / 9, (ok, err)
    # The good target is unaffected by the broken ones.
    assert one(s, "streamkpi_target_up", target="app-good") == 1
    assert set(_errors(s, "app-good").values()) == {0}
    assert good.requests >= 2
    # The broken ones: down, each with its own reason only.
    for name, reason in (("app-garbage", "parse"), ("app-hang", "timeout")):
        assert one(s, "streamkpi_target_up", target=name) == 0
        errs = _errors(s, name)
        assert errs[reason] >= 2 and all(v == 0 for r, v in errs.items() if r != reason), errs
        assert not select(s, "streamkpi_app_events_total", target=name)
        assert one(s, "streamkpi_data_quality_ratio", target=name) is None
    # app_ratio SLO: events are the counter deltas, 1 in 10 bad; the budget
    # gauge is the documented formula of the exporter's own counters.
    total = one(s, "streamkpi_slo_events_total", slo=slo)
    bad = one(s, "streamkpi_slo_bad_events_total", slo=slo)
    assert total > 0 and abs(bad / total - 0.1) < 1e-9, (total, bad)
    remaining = one(s, "streamkpi_slo_error_budget_remaining_ratio", slo=slo)
    assert abs(remaining - (1 - bad / ((1 - 0.8) * total))) < 1e-9, (remaining, total, bad)


def test_connect_schema_registry_and_all_families(kafka, exporter_factory, servers,
                                                  connect_factory, tmp_path):
    tag = uuid.uuid4().hex[:6]
    cluster = "targets"
    # Topics: two holding data (one with a <topic>-value subject), one empty,
    # a DLQ of orders, and a group on orders.
    kafka.tool("create", "sr.orders", 1, 1)
    kafka.tool("create", "sr.payments", 1, 1)
    kafka.tool("create", "sr.audit", 1, 1)
    kafka.tool("create", "sr.orders.dlq", 1, 1, "--if-not-exists")
    kafka.tool("produce", "sr.orders", 0, 5)
    kafka.tool("produce", "sr.payments", 0, 3)
    kafka.tool("commit", f"sr-app-{tag}", "sr.orders", 0, 2)

    # A real Connect worker: a running source and a sink whose task fails
    # (its output file's directory does not exist).
    worker = connect_factory(kafka.bootstrap)
    infile = tmp_path / "in.txt"
    infile.write_text("one\ntwo\n")
    kafka.tool("create", f"cx{tag}.lines", 1, 1)
    worker.create("file-src", {"connector.class":
                               "org.apache.kafka.connect.file.FileStreamSourceConnector",
                               "tasks.max": "1", "file": str(infile),
                               "topic": f"cx{tag}.lines"})
    worker.create("bad-sink", {"connector.class":
                               "org.apache.kafka.connect.file.FileStreamSinkConnector",
                               "tasks.max": "1", "topics": f"cx{tag}.lines",
                               "file": str(tmp_path / "missing-dir" / "out.txt")})
    want_states = {"file-src": ("RUNNING", ["RUNNING"]), "bad-sink": ("RUNNING", ["FAILED"])}
    poll("the worker's own status of both connectors", lambda: worker.states() == want_states,
         timeout=60)

    app = servers(AppMetricsServer, {"success": 3, "error": 1})
    registry = servers(SchemaRegistryServer)
    probe = "  enabled: true\n  replication_factor: 1\n  interval: 1s\n  timeout: 1s\n"
    extra = ("targets:\n" +
             _target("app", app.url + "/metrics") +
             _target("registry", registry.url, kind="schema_registry") +
             _target("connect", worker.url, kind="connect") +
             "slos:\n"
             f"  - name: avail\n    sli: probe_availability\n    objective: 0.99\n"
             f"  - name: latency\n    sli: probe_latency\n    objective: 0.99\n"
             f"    threshold: 2s\n"
             f"  - name: lag\n    sli: group_lag\n    objective: 0.99\n    threshold: 1h\n"
             f"    group: sr-app-{tag}\n"
             f"  - name: dlq\n    sli: dlq_ratio\n    objective: 0.99\n    threshold: 0.1\n"
             f"    topic: sr.orders\n"
             f"  - name: app\n    sli: app_ratio\n    objective: 0.5\n    target: app\n")
    e = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path), cluster=cluster,
                                    include=r"^sr\.", probe=probe) + extra)

    def ready(s):
        return (one(s, "streamkpi_schema_coverage_ratio", cluster=cluster) == 0.5 and
                one(s, "streamkpi_connect_tasks", target="connect", state="FAILED") == 1 and
                one(s, "streamkpi_data_quality_ratio", target="app") is not None and
                one(s, "streamkpi_probe_success", cluster=cluster) == 1 and
                one(s, "streamkpi_slo_events_total", slo="app") and
                one(s, "streamkpi_slo_events_total", slo="avail"))
    s = e.wait_metrics("targets, coverage and probe", ready, timeout=90)

    # Schema Registry (recorded answer): subjects counted; coverage = topics
    # with data having <topic>-value (sr.orders) / topics with data (orders,
    # payments); sr.audit is empty and does not count.
    assert one(s, "streamkpi_schema_registry_subjects", target="registry") == \
        len(RECORDED_SUBJECTS)
    # Connect: exactly what the real worker reports.
    assert worker.states() == want_states
    conn = {r["state"]: v for r, v in
            ((dict(k), v) for k, v in select(s, "streamkpi_connect_connectors",
                                             target="connect").items())}
    tasks = {r["state"]: v for r, v in
             ((dict(k), v) for k, v in select(s, "streamkpi_connect_tasks",
                                              target="connect").items())}
    assert conn.pop("RUNNING") == 2 and set(conn.values()) == {0}, conn
    assert tasks.pop("RUNNING") == 1 and tasks.pop("FAILED") == 1 and \
        set(tasks.values()) == {0}, tasks
    for name in ("file-src", "bad-sink"):
        assert one(s, "streamkpi_connect_connector_running", target="connect",
                   connector=name) == 1
    # Tasks per connector, and the running share over every Connect target.
    for name, running in (("file-src", 1), ("bad-sink", 0)):
        assert one(s, "streamkpi_connect_connector_tasks", target="connect", connector=name) == 1
        assert one(s, "streamkpi_connect_connector_tasks_running", target="connect",
                   connector=name) == running
    e.wait_metrics("the Connect task ratio",
                   lambda s: one(s, "streamkpi_connect_tasks_running_ratio") == 0.5)
    assert one(s, "streamkpi_target_up", target="connect") == 1
    assert one(s, "streamkpi_data_quality_ratio", target="app") == 0.75

    # Every family at once: promtool and the strict parsers are clean.
    text = e.metrics_text()
    rc, out = promtool_check_metrics(text)
    assert rc == 0 and out.strip() == "", out
    om = e.metrics_text(headers={"Accept": OPENMETRICS})
    parse_metrics(om, openmetrics=True)
    names = set(n for n, _ in parse_metrics(text))
    for fam in ("streamkpi_connect_connectors", "streamkpi_schema_coverage_ratio",
                "streamkpi_slo_error_budget_remaining_ratio", "streamkpi_dlq_messages_total",
                "kafka_consumergroup_lag_seconds", "streamkpi_probe_total",
                "streamkpi_stream_onboarding_duration_seconds_bucket",
                "streamkpi_availability_ratio", "streamkpi_data_quality_ratio"):
        assert fam in names, fam
