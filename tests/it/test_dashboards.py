"""The Grafana dashboards: generated, linted, and every panel proven on data.

The lint tests read the JSON only (no Grafana): the files are what
dashboards/generate.py writes, and every dashboard and panel follows the
conventions (datasource and cluster variables, a description and a unit on
every panel, $__rate_interval in rates, links between the dashboards, a grid
without overlaps).

The proof starts one scenario producing every family the panels read (two
cluster names on the shared broker with MirrorMaker 2 style topics between
them, the canary probe, the policy audit, an SLO, a DLQ pipeline, onboarding
of new topics and groups, a live consumer, an application target and a dead
one, an incident through the webhook, the maturity survey, and a catalog of
two data products in two domains, one read by a group of the other domain,
with availability and freshness SLOs and a declared and a counted value),
has a real
Prometheus with the rules of alerts/ scrape it, and runs every panel query
with its variables substituted through Prometheus' HTTP API: each must
return at least one series with a number (NaN, as from a quantile of a
histogram that saw nothing, counts as no data), and every variable must
offer values.  On the same scenario every name the rules read is exported
(or recorded by the rules), every rule group evaluates without error, and
the example Alertmanager configuration delivers an alert to the webhook.
"""

import glob
import importlib.util
import json
import math
import os
import re
import time
import uuid

import pytest
import yaml

from conftest import (ROOT, ToolProc, exporter_config, families, free_port, poll,
                      select)
from helpers_avail import (TOKEN, alertmanager_factory, incidents, post_webhook,  # noqa: F401
                           rfc3339, webhook_payload)
from helpers_kpi import AppMetricsServer, servers, wait_a_bit  # noqa: F401
import test_rules as rules

DASH_DIR = os.path.join(ROOT, "dashboards")
DASHBOARDS = sorted(glob.glob(os.path.join(DASH_DIR, "*.json")))
RULES = sorted(glob.glob(os.path.join(ROOT, "alerts", "*.rules.yml")))
WANT_UIDS = {"streamkpi-maturity", "streamkpi-platform", "streamkpi-streams",
             "streamkpi-consumers", "streamkpi-kafka", "streamkpi-exporter"}
# What Grafana puts for an "All" selection of a multi-value variable, and a
# rate interval for a 1 s scrape.
SUBSTITUTE = {"cluster": ".*", "consumergroup": ".*", "product": ".*",
              "__rate_interval": "30s"}
PRODUCT_PREFIX = "streamkpi_data_product_"
AM_EXAMPLE = os.path.join(ROOT, "alerts", "alertmanager.example.yml")


def generator():
    """dashboards/generate.py as a module."""
    spec = importlib.util.spec_from_file_location("dash_generate",
                                                  os.path.join(DASH_DIR, "generate.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def is_product_query(expr):
    """A query of the data-product family or of its recording rules."""
    return PRODUCT_PREFIX in expr or "product:streamkpi_" in expr


def load(path):
    with open(path) as f:
        return json.load(f)


def panels_of(dash):
    out = []

    def walk(ps):
        for p in ps:
            out.append(p)
            walk(p.get("panels", []))
    walk(dash["panels"])
    return out


def queries():
    """(dashboard uid, panel title, expr) of every panel target."""
    out = []
    for path in DASHBOARDS:
        dash = load(path)
        for p in panels_of(dash):
            for t in p.get("targets", []):
                out.append((dash["uid"], p["title"], t["expr"]))
    return out


def variable_queries():
    """(dashboard uid, variable, metric selector, label) of every query
    variable: label_values(selector, label)."""
    out = []
    for path in DASHBOARDS:
        dash = load(path)
        for v in dash["templating"]["list"]:
            if v["type"] == "query":
                m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", v["definition"])
                assert m, v["definition"]
                out.append((dash["uid"], v["name"], m.group(1), m.group(2)))
    return out


def substitute(expr):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: SUBSTITUTE[m.group(1)], expr)


# --------------------------------------------------------------------------
# Lint

def test_dashboard_files_are_what_the_generator_writes(tmp_path):
    generator().main(["generate.py", str(tmp_path)])
    fresh = {os.path.basename(p) for p in glob.glob(str(tmp_path / "*.json"))}
    assert fresh == {os.path.basename(p) for p in DASHBOARDS}, \
        "run python3 dashboards/generate.py"
    for name in fresh:
        assert load(tmp_path / name) == load(os.path.join(DASH_DIR, name)), \
            f"{name} differs from the generator's output: run python3 dashboards/generate.py"


def test_the_six_dashboards_exist_with_unique_uids_and_titles():
    docs = [load(p) for p in DASHBOARDS]
    uids = [d["uid"] for d in docs]
    titles = [d["title"] for d in docs]
    assert set(uids) == WANT_UIDS and len(uids) == len(set(uids))
    assert len(titles) == len(set(titles))
    for d in docs:
        assert 30 <= d["schemaVersion"] <= 41 and d["description"], d["uid"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=os.path.basename)
def test_dashboard_variables_and_links(path):
    dash = load(path)
    tv = {v["name"]: v for v in dash["templating"]["list"]}
    assert tv["datasource"]["type"] == "datasource" and tv["datasource"]["query"] == "prometheus"
    assert "cluster" in tv, "every dashboard selects clusters"
    for v in tv.values():
        if v["type"] == "query":
            assert v["datasource"]["uid"] == "${datasource}", v["name"]
            assert v["multi"] and v["includeAll"] and v["allValue"] == ".*", v["name"]
    # One link menu to every streamkpi dashboard, keeping time and variables.
    assert "streamkpi" in dash["tags"]
    links = [lk for lk in dash["links"] if lk["type"] == "dashboards"]
    assert links and all("streamkpi" in lk["tags"] and lk["includeVars"] and lk["keepTime"]
                         for lk in links), dash["links"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=os.path.basename)
def test_every_panel_has_description_unit_datasource_and_sound_queries(path):
    dash = load(path)
    problems = []
    variables = {v["name"] for v in dash["templating"]["list"]} | {"__rate_interval"}
    ids = [p["id"] for p in panels_of(dash)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for p in panels_of(dash):
        if p["type"] == "row":
            continue
        t = p["title"]
        if len(p.get("description", "")) < 20:
            problems.append(f"{t}: no description")
        if not p["fieldConfig"]["defaults"].get("unit"):
            problems.append(f"{t}: no unit")
        if p["datasource"].get("uid") != "${datasource}":
            problems.append(f"{t}: datasource is not ${{datasource}}")
        if not p["targets"]:
            problems.append(f"{t}: no query")
        refs = [q["refId"] for q in p["targets"]]
        if len(refs) != len(set(refs)):
            problems.append(f"{t}: refIds repeat")
        for q in p["targets"]:
            e = q["expr"]
            if q["datasource"].get("uid") != "${datasource}":
                problems.append(f"{t}: a query's datasource is not ${{datasource}}")
            for fn, rng in re.findall(r"\b(i?rate|increase)\s*\([^\[]*\[([^\]]*)\]", e):
                # rates follow the scrape interval; increases over a fixed KPI
                # window (1h and longer) are the KPI itself.
                if fn != "increase" and rng != "$__rate_interval":
                    problems.append(f"{t}: {fn} over [{rng}], not [$__rate_interval]")
                if fn == "increase" and not re.fullmatch(r"\$__rate_interval|\d+[hdw]", rng):
                    problems.append(f"{t}: increase over [{rng}]")
            if "$__interval" in e:
                problems.append(f"{t}: $__interval in a query")
            for var in re.findall(r"\$\{?(\w+)\}?", e):
                if var not in variables:
                    problems.append(f"{t}: ${var} is no variable of the dashboard")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", DASHBOARDS, ids=os.path.basename)
def test_panels_fit_the_grid_without_overlap(path):
    cells = {}
    for p in panels_of(load(path)):
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        for y in range(g["y"], g["y"] + g["h"]):
            for x in range(g["x"], g["x"] + g["w"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


def test_data_product_panels_are_on_with_their_variable():
    """The exporter exports the data-product family, so the shipped dashboards
    carry its panels (and the proof below runs them like the rest)."""
    assert generator().PRODUCT_PANELS is True
    streams = load(os.path.join(DASH_DIR, "streamkpi-streams.json"))
    assert "product" in {v["name"] for v in streams["templating"]["list"]}
    titles = {p["title"] for p in panels_of(streams)
              if any(is_product_query(t["expr"]) for t in p.get("targets", []))}
    for want in ("SLO achievement", "Cross-domain reuse", "Product error budget remaining",
                 "Freshness age", "Product SLO burn rate", "Consuming domains",
                 "Missing product topics", "Topics in several products",
                 "Active topics of no product", "Catalog errors", "Delivered value per day"):
        assert want in titles, f"no data-product panel {want!r}"


def test_lint_catches_a_panel_without_description_or_rate_interval(tmp_path):
    """The checks above do fail: a panel broken on purpose is refused."""
    dash = load(DASHBOARDS[0])
    p = next(p for p in dash["panels"] if p["type"] != "row")
    p["description"] = ""
    p["targets"][0]["expr"] = "rate(streamkpi_probe_total[5m])"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dash))
    with pytest.raises(AssertionError) as e:
        test_every_panel_has_description_unit_datasource_and_sound_queries(str(bad))
    assert "no description" in str(e.value) and "not [$__rate_interval]" in str(e.value)


# --------------------------------------------------------------------------
# Proof on a real Prometheus

def catalog_config(tag, src, mirror, today):
    """Two data products in two domains: sales' orders (its source topic,
    read by the sales group shipping-* and the finance group billing-*) and
    finance's orders-replica (the mirrored copy, read by no group).  Their
    availability SLOs get an event from every probe and orders' freshness
    from every sample that sees its watermark move, so every product series
    exists within seconds; the delivered value is counted by the application
    target."""
    return ("catalog:\n  slo_objective: 0.9\n  slo_window: 1h\n"
            "  group_domains: {'^billing-': finance, '^shipping-': sales}\n"
            "  products:\n"
            f"    - name: orders\n      owner: orders\n      domain: sales\n"
            f"      topics: ['{src}']\n      freshness: 1h\n      availability: 0.9\n"
            f"      value: {{amount: 120000, currency: EUR, period: year, date: \"{today}\"}}\n"
            f"      value_target: app-{tag}\n"
            f"    - name: orders-replica\n      owner: platform\n      domain: finance\n"
            f"      topics: ['{mirror}']\n      availability: 0.95\n")


def scenario_config(bootstrap, workdir, east, west, app_port, dead_port, tag, src, mirror):
    today = time.strftime("%Y-%m-%d", time.gmtime())
    survey = "".join(f"    - item: {item}\n      score: 3\n      date: \"{today}\"\n"
                     for item in ("training", "community_of_practice", "on_call",
                                  "value_per_product", "stakeholder_satisfaction"))
    extra = (f"    properties:\n      reconnect.backoff.ms: 100\n"
             f"  - name: {west}\n    bootstrap_servers: \"{bootstrap}\"\n"
             f"    sample_interval: 1s\n"
             f"state:\n  path: {os.path.join(workdir, 'state.json')}\n  persist_interval: 1s\n"
             f"probe:\n  enabled: true\n  mode: produce-consume\n  topic: probe-{tag}\n"
             f"  replication_factor: 1\n  interval: 1s\n  timeout: 3s\n"
             f"policy:\n  interval: 2s\n"
             f"incidents:\n  webhook_token: \"{TOKEN}\"\n"
             f"targets:\n  - name: app-{tag}\n    url: http://127.0.0.1:{app_port}/metrics\n"
             f"    interval: 1s\n    timeout: 1s\n"
             f"  - name: gone-{tag}\n    url: http://127.0.0.1:{dead_port}/metrics\n"
             f"    interval: 1s\n    timeout: 1s\n"
             f"slos:\n  - name: avail-{tag}\n    sli: probe_availability\n"
             f"    objective: 0.99\n    cluster: {east}\n"
             f"maturity:\n  survey:\n{survey}" + catalog_config(tag, src, mirror, today))
    return exporter_config(bootstrap, cluster=east, extra=extra)


def example_alertmanager_config(exporter_port, token_file):
    """alerts/alertmanager.example.yml with its webhook pointed at the test's
    exporter and token; the page and ticket receivers keep their routes but
    send nowhere (no mail server or pager here)."""
    with open(AM_EXAMPLE) as f:
        doc = yaml.safe_load(f)
    doc["global"] = {"resolve_timeout": doc["global"]["resolve_timeout"]}
    doc["receivers"] = [r if r["name"] == "streamkpi" else {"name": r["name"]}
                        for r in doc["receivers"]]
    hook = next(r for r in doc["receivers"] if r["name"] == "streamkpi")["webhook_configs"][0]
    hook["url"] = f"http://127.0.0.1:{exporter_port}/api/v1/alertmanager"
    hook["http_config"]["authorization"]["credentials_file"] = token_file
    return yaml.safe_dump(doc)


def test_every_panel_query_returns_data_on_a_real_prometheus(  # noqa: F811
        kafka, exporter_factory, prometheus_factory, servers, alertmanager_factory, tmp_path):
    tag = uuid.uuid4().hex[:8]
    # Two cluster names on one broker: MirrorMaker 2 flows are found from topic
    # names, so west's "<east>.heartbeats" and "<east>.orders-..." make a flow.
    east, west = f"east{tag}", f"west{tag}"
    src, dlq = f"orders-{tag}", f"orders-{tag}.dlq"
    mirror, beats, checkpoints = f"{east}.{src}", f"{east}.heartbeats", \
        f"{east}.checkpoints.internal"
    app = servers(AppMetricsServer, {"success": 9, "failed": 1})
    exp = exporter_factory(scenario_config(kafka.bootstrap, str(tmp_path), east, west,
                                           app.port, free_port(), tag, src, mirror))
    # Prometheus scrapes from the start, so that the increases of the
    # histograms (onboarding, recovery time) happen in front of it.
    prom = prometheus_factory(exp.port, rule_files=RULES)
    # Topics created after the first sample onboard in front of the exporter.
    exp.wait_metrics("a first kafka sample", lambda s: any(
        n == "kafka_brokers" for (n, _) in s))
    for t in (src, dlq, mirror, beats, checkpoints):
        kafka.tool("create", t, 1, 1)
    kafka.tool("produce", src, 0, 50)
    kafka.tool("produce", mirror, 0, 30)
    kafka.tool("commit", f"billing-{tag}", src, 0, 45)
    live = ToolProc(kafka, ["-X", "auto.commit.interval.ms=500", "follow",
                            f"shipping-{tag}", src])
    try:
        # Watermarks that move over several samples: the DLQ ratio, the
        # heartbeat and checkpoint ages, active streams.
        for _ in range(3):
            kafka.tool("produce", src, 0, 20)
            kafka.tool("produce", dlq, 0, 2)
            kafka.tool("produce", beats, 0, 1)
            kafka.tool("produce", checkpoints, 0, 1)
            wait_a_bit(1.5)
        kafka.tool("commit", f"reprocess-{tag}", dlq, 0, 1)
        # A second onboarding once Prometheus has the first one's histogram
        # series: their increase is what the onboarding panels show.
        late = f"late-{tag}"
        kafka.tool("create", late, 1, 1)
        exp.wait_metrics("the late topic sampled",
                         lambda ser: select(ser, "kafka_topic_partitions", topic=late))
        kafka.tool("produce", late, 0, 5)
        kafka.tool("commit", f"late-app-{tag}", late, 0, 5)
        # An incident opened and resolved through the webhook.
        now = time.time()
        for status, ends in (("firing", None), ("resolved", now - 60)):
            body = webhook_payload(status, [(f"fp{tag}", {"alertname": "Drill",
                                                          "severity": "warning",
                                                          "cluster": east},
                                             now - 300, ends, status)])
            r = post_webhook(exp, body)
            assert r.status == 200, f"webhook {status}: {r.status} {r.body[:300]!r}"
        # The example Alertmanager configuration delivers a page to the
        # exporter's webhook with the token: it becomes an open incident.
        token_file = tmp_path / "streamkpi.token"
        token_file.write_text(TOKEN)
        am = alertmanager_factory(example_alertmanager_config(exp.port, str(token_file)))
        am.push([{"labels": {"alertname": f"Page{tag}", "severity": "critical",
                             "cluster": east}, "startsAt": rfc3339(time.time() - 30)}])
        poll("the page through Alertmanager as an open incident", lambda: any(
            i["cause"] == f"Page{tag}" and i["source"] == "alertmanager" and i["open"]
            for i in incidents(exp)), timeout=30, interval=0.5)

        exprs = queries()
        seen, empty = {}, []

        def all_have_data():
            empty.clear()
            for uid, title, e in exprs:
                res = prom.query(substitute(e))
                seen[(uid, title, e)] = res
                if not any(math.isfinite(v) for _, v in res):
                    empty.append(f"{uid} / {title}: {e}")
            return not empty
        try:
            poll("every panel query answering data", all_have_data, timeout=90,
                 interval=2.0)
        except BaseException:
            pytest.fail("panels without data:\n  " + "\n  ".join(empty), pytrace=False)

        # The product panels show the catalog as declared: orders is read by
        # the finance group across domains (seen on east and on west, the same
        # broker: two), the replica by nobody.
        last = {}

        def reuse_seen():
            last["consumers"] = prom.query("streamkpi_data_product_consumers")
            last["reuse"] = [v for _, v in prom.query("streamkpi_data_product_reuse_ratio")]
            cross = any(lb.get("product") == "orders" and lb.get("consumer_domain") == "finance"
                        and lb.get("cross_domain") == "true" and v == 2
                        for lb, v in last["consumers"])
            return cross and last["reuse"] == [0.5]
        try:
            poll("orders reused by the finance domain, half the products reused", reuse_seen,
                 timeout=30, interval=1.0)
        except BaseException:
            pytest.fail(f"product consumers and reuse not as declared: {last}", pytrace=False)
    finally:
        live.stop()

    # Every variable offers values: its selector has series with its label.
    for uid, name, selector, label in variable_queries():
        got = {labels.get(label) for labels, _ in prom.query(substitute(selector))} - {None}
        assert got, f"{uid}: variable {name} would offer nothing ({selector})"

    # A query whose series carry a cluster label must follow the cluster
    # variable (or the selection would not narrow it).
    unfiltered = [f"{uid} / {title}" for (uid, title, e), res in seen.items()
                  if any(labels.get("cluster") for labels, _ in res) and "$cluster" not in e]
    assert not unfiltered, "queries with cluster series ignoring $cluster:\n  " + \
        "\n  ".join(unfiltered)

    # The rules read only names the exporter exports or the rules record, and
    # a real Prometheus evaluates every group of them without error.
    exported = set()
    for fam in families(exp.metrics_text()):
        exported |= {fam, fam + "_bucket", fam + "_sum", fam + "_count"}
    known = exported | rules.recorded_names() | {"up"}
    unknown = [f"{r.get('alert') or r.get('record')}: {name}"
               for g in rules.load_rules() for r in g["rules"]
               for name in rules.metric_names(r["expr"]) - known]
    assert not unknown, "rules read names nobody exports:\n  " + "\n  ".join(unknown)
    want = {g["name"] for g in rules.load_rules()}
    bad = []

    def all_groups_ok():
        groups = prom.rule_groups()
        bad[:] = [(g["name"], r["name"], r["health"], r.get("lastError", ""))
                  for g in groups for r in g["rules"] if r["health"] != "ok"]
        return ({g["name"] for g in groups} == want and not bad
                and all(g.get("lastEvaluation", "").startswith("20") for g in groups))
    try:
        poll("every rule group evaluated with health ok", all_groups_ok, timeout=30,
             interval=1.0)
    except BaseException:
        pytest.fail(f"rule groups not all healthy: {bad}", pytrace=False)

    # The data-product panels were among the queries proven above.
    assert sum(is_product_query(e) for _, _, e in exprs) >= 15
