"""The alerting/recording rules and the Grafana dashboards against reality.

promtool checks and unit-tests the rules, and every alert must have a unit
test case that fires, one that stays silent, and a runbook section; the example
Alertmanager configuration must pass amtool and route as documented; the
dashboards must parse and every metric name in their expressions must be one
the exporter really exposes (a live exporter on the shared broker with a probe,
an SLO, a DLQ pipeline and an HTTP target configured) or one the recording
rules define; a real Prometheus loading the rules and scraping that exporter
must evaluate every group without error.
"""

import glob
import json
import os
import re
import subprocess
import time
import uuid

import pytest
import yaml

from conftest import (PROMTOOL, ROOT, exporter_config, families, free_port, poll, require,
                      select)

RULES = sorted(glob.glob(os.path.join(ROOT, "alerts", "*.rules.yml")))
RULE_TESTS = sorted(glob.glob(os.path.join(ROOT, "alerts", "tests", "*.yml")))
DASHBOARDS = sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
RUNBOOKS = os.path.join(ROOT, "docs", "runbooks.md")
AM_EXAMPLE = os.path.join(ROOT, "alerts", "alertmanager.example.yml")
AMTOOL = "/usr/bin/amtool"
# Families another part of the exporter adds; the rules may read them before
# they exist (their promtool tests use synthetic series).
PENDING_PREFIX = "streamkpi_data_product_"

# Words in a PromQL expression that are neither metric names nor functions
# (functions are recognised by the "(" after them).
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan"}
HIST_SUFFIXES = ("_bucket", "_sum", "_count")
# Families that appear only once something happened; the test makes each happen.
WANT_LIVE = {"streamkpi_slo_events_total", "streamkpi_probe_success", "streamkpi_dlq_ratio",
             "streamkpi_dlq_backlog_messages", "streamkpi_incidents_open", "streamkpi_mttr_seconds",
             "streamkpi_state_last_write_timestamp_seconds", "streamkpi_target_up"}


def promtool(*args):
    require(PROMTOOL, "run scripts/deps.sh (Debian package prometheus)")
    r = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120,
                       cwd=os.path.join(ROOT, "alerts"))
    return r.returncode, r.stdout + r.stderr


def metric_names(expr):
    """The metric names an expression selects: strings, label matchers,
    grouping clauses, ranges and Grafana variables removed, then every
    identifier not followed by "(" and not a keyword or number."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)
    e = re.sub(r"\boffset\s+\S+", "", e)
    names = set()
    for m in re.finditer(r"(?<![0-9.\w:])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        # "sum by (...) (" and "sum without (...)": the aggregation itself.
        if word.lower() in KEYWORDS or rest.startswith("(") or \
                re.match(r"(by|without)\b", rest):
            continue
        names.add(word)
    return names


def test_metric_names_parser_finds_names_only():
    got = metric_names('sum by (cluster, le) (rate(a_b_bucket{x="y(z)",c=~"$cluster"}[5m])) '
                       '/ on (slo) slo:rec:rate5m and bool time() - c_total offset 1h > 0.5')
    assert got == {"a_b_bucket", "slo:rec:rate5m", "c_total"}


def test_promtool_check_rules():
    assert RULES, "no alerts/*.yml"
    rc, out = promtool("check", "rules", *RULES)
    assert rc == 0, out


def test_promtool_rule_unit_tests():
    assert RULE_TESTS, "no alerts/tests/*.yml"
    rc, out = promtool("test", "rules", *RULE_TESTS)
    assert rc == 0, out


def load_rules():
    groups = []
    for path in RULES:
        with open(path) as f:
            groups += yaml.safe_load(f)["groups"]
    return groups


def alerts():
    return [r for g in load_rules() for r in g["rules"] if "alert" in r]


def test_every_alert_is_annotated_and_has_a_runbook_section():
    with open(RUNBOOKS) as f:
        anchors = {re.sub(r"[^a-z0-9_-]", "", line[3:].strip().lower().replace(" ", "-"))
                   for line in f if line.startswith("## ")}
    missing = []
    assert len(alerts()) >= 23
    for r in alerts():
        assert r["labels"]["severity"] in ("critical", "warning"), r["alert"]
        ann = r["annotations"]
        assert ann["summary"] and ann["description"], r["alert"]
        path, _, anchor = ann["runbook"].partition("#")
        assert path == "docs/runbooks.md" and anchor == r["alert"].lower(), r["alert"]
        if anchor not in anchors:
            missing.append(r["alert"])
    assert not missing, f"no section '## <alert>' in docs/runbooks.md for {missing}"


def test_every_alert_has_a_firing_and_a_silent_unit_test_case():
    fires, silent = set(), set()
    for path in RULE_TESTS:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for case in doc["tests"]:
            for t in case.get("alert_rule_test", []):
                (fires if t.get("exp_alerts") else silent).add(t["alertname"])
    names = {r["alert"] for r in alerts()}
    assert not names - fires, f"alerts without a firing test case: {sorted(names - fires)}"
    assert not names - silent, f"alerts without a silent test case: {sorted(names - silent)}"


def amtool(*args):
    require(AMTOOL, "run scripts/deps.sh (Debian package prometheus-alertmanager)")
    r = subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def test_example_alertmanager_config_is_valid():
    rc, out, err = amtool("check-config", AM_EXAMPLE)
    assert rc == 0, out + err


@pytest.mark.parametrize("labels,want", [
    # Pages and tickets by severity; every alert but one back to the exporter.
    (["alertname=KafkaClusterUnhealthy", "severity=critical", "cluster=a"], "streamkpi,page"),
    (["alertname=ConsumerGroupStalled", "severity=warning", "cluster=a"], "streamkpi,ticket"),
    # Raised from the exporter's own incidents: never sent back to it.
    (["alertname=KafkaIncidentOpen", "severity=warning", "cluster=a"], "ticket"),
])
def test_example_alertmanager_config_routes_page_ticket_and_webhook(labels, want):
    rc, out, err = amtool("config", "routes", "test", f"--config.file={AM_EXAMPLE}", *labels)
    assert rc == 0, out + err
    assert out.strip() == want, out + err


def test_example_alertmanager_config_sends_to_the_exporter_webhook_with_a_token():
    with open(AM_EXAMPLE) as f:
        doc = yaml.safe_load(f)
    hooks = [w for r in doc["receivers"] for w in r.get("webhook_configs", [])]
    assert len(hooks) == 1
    hook = hooks[0]
    assert hook["url"].endswith("/api/v1/alertmanager") and hook["send_resolved"] is True
    auth = hook["http_config"]["authorization"]
    assert auth["type"] == "Bearer" and (auth.get("credentials_file") or auth.get("credentials"))


def dashboard_exprs():
    assert DASHBOARDS, "no dashboards/*.json"
    exprs = []
    for path in DASHBOARDS:
        with open(path) as f:
            exprs += one_dashboard_exprs(json.load(f))
    return exprs


def one_dashboard_exprs(dash):
    assert 30 <= dash["schemaVersion"] <= 41
    names = [v["name"] for v in dash["templating"]["list"]]
    assert "datasource" in names and "cluster" in names
    exprs = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                exprs.append((p["title"], t["expr"]))
                assert t["datasource"]["uid"] == "${datasource}", p["title"]
    walk(dash["panels"])
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            # label_values(metric, label): only the metric is a name.
            m = re.fullmatch(r"label_values\((.*),\s*\w+\)", v["definition"])
            assert m, v["definition"]
            exprs.append((f"variable {v['name']}", m.group(1)))
    return exprs


def recorded_names():
    return {r["record"] for g in load_rules() for r in g["rules"] if "record" in r}


def test_dashboard_and_rules_against_live_exporter_and_prometheus(kafka, exporter_factory,
                                                                  prometheus_factory,
                                                                  tmp_path):
    tag = uuid.uuid4().hex[:8]
    src, dlq, group = f"orders-{tag}", f"orders-{tag}.dlq", f"billing-{tag}"
    kafka.tool("create", src, 1, 1)
    kafka.tool("create", dlq, 1, 1)
    kafka.tool("produce", src, 0, 20)
    kafka.tool("commit", group, src, 0, 5)
    dead = free_port()  # nobody listens: the target is down, its families still appear
    extra = (f"state:\n  path: {tmp_path / 'state.json'}\n  persist_interval: 1s\n"
             f"probe:\n  enabled: true\n  mode: produce-consume\n  topic: probe-{tag}\n"
             f"  replication_factor: 1\n  interval: 1s\n  timeout: 5s\n"
             f"targets:\n  - name: app-{tag}\n    url: http://127.0.0.1:{dead}/metrics\n"
             f"    interval: 1s\n    timeout: 1s\n"
             f"slos:\n  - name: avail-{tag}\n    sli: probe_availability\n"
             f"    objective: 0.99\n    cluster: it-{tag}\n"
             f"  - name: lag-{tag}\n    sli: group_lag\n    objective: 0.95\n"
             f"    threshold: 2m\n    group: {group}\n    cluster: it-{tag}\n"
             # The webhook is closed unless a token or this opens it.
             f"incidents:\n  webhook_open: true\n")
    exp = exporter_factory(exporter_config(kafka.bootstrap, cluster=f"it-{tag}", extra=extra))
    # The first sample is the DLQ baseline; later traffic on both topics and a
    # group committing on the DLQ give its ratio and backlog.
    exp.wait_metrics("the source topic sampled", lambda s: select(
        s, "kafka_topic_partition_current_offset", topic=src))
    kafka.tool("produce", src, 0, 50)
    kafka.tool("produce", dlq, 0, 5)
    kafka.tool("commit", f"reprocess-{tag}", dlq, 0, 1)
    # One incident that opened and resolved through the Alertmanager webhook
    # gives the incident counters, the recovery histogram and MTTR.
    # Recent times, so the incident falls in every MTTR window.
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    for status, ends in (("firing", "0001-01-01T00:00:00Z"), ("resolved", iso(now - 60))):
        body = {"version": "4", "status": status, "receiver": "streamkpi", "groupKey": "{}:{}",
                "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                "externalURL": "http://127.0.0.1", "alerts": [{
                    "status": status, "fingerprint": f"fp{tag}",
                    "labels": {"alertname": "ItDrill", "severity": "warning",
                               "cluster": f"it-{tag}"},
                    "annotations": {}, "startsAt": iso(now - 300), "endsAt": ends,
                    "generatorURL": ""}]}
        r = exp.get("/api/v1/alertmanager", method="POST", body=json.dumps(body),
                    headers={"Content-Type": "application/json"})
        assert r.status == 200, f"webhook {status}: {r.status} {r.body[:300]!r}"

    def live_names():
        text = exp.metrics_text()
        names = set()
        for fam in families(text):
            names.add(fam)
            names.update(fam + s for s in HIST_SUFFIXES)
        names.update(n for (n, _) in exp.metrics())
        seen["missing"] = sorted(WANT_LIVE - names)
        return names if not seen["missing"] else None
    seen = {"missing": sorted(WANT_LIVE)}
    try:
        exported = poll("the wanted families in /metrics", live_names, timeout=90)
    except BaseException:
        pytest.fail(f"never in /metrics: {seen['missing']}", pytrace=False)
    known = exported | recorded_names()

    missing = []
    for title, expr in dashboard_exprs():
        for name in metric_names(expr):
            if name not in known:
                missing.append(f"{title}: {name}")
    assert not missing, "dashboard uses names nobody exports:\n  " + "\n  ".join(missing)

    # The rules' inputs must be exported names too (recording rules aside).
    unknown = []
    for g in load_rules():
        for r in g["rules"]:
            for name in metric_names(r["expr"]) - known - {"up"}:
                if name.startswith(PENDING_PREFIX):
                    continue
                unknown.append(f"{r.get('alert') or r.get('record')}: {name}")
    assert not unknown, "rules use names nobody exports:\n  " + "\n  ".join(unknown)

    prom = prometheus_factory(exp.port, rule_files=RULES)
    want = {g["name"] for g in load_rules()}

    def all_ok():
        groups = prom.rule_groups()
        bad = [(g["name"], r["name"], r["health"], r.get("lastError", ""))
               for g in groups for r in g["rules"]
               if r["health"] != "ok"]
        evaluated = all(g.get("lastEvaluation", "").startswith("20") for g in groups)
        return {g["name"] for g in groups} == want and not bad and evaluated and groups
    poll("every rule group evaluated with health ok", all_ok, timeout=60, interval=1.0)
    # After a few more scrapes the SLO burn rates are computed from real counters.
    poll("a recorded burn rate for the probe SLO",
         lambda: prom.query(f'slo:streamkpi_burn_rate:rate5m{{slo="avail-{tag}"}}'),
         timeout=60, interval=1.0)
