"""The maturity assessment against a platform whose truth the test scripts.

A three-node KRaft cluster starts empty. Step by step the test adds what the
criteria of the maturity model ask for (streams of two teams with consumers,
names that follow the convention, durable topics with min.insync.replicas 2,
dead-letter topics, a running Kafka Connect connector) and then takes a
broker away. After each step the level of every dimension, the adoption
stage, the status of the criteria and the gap lists must be exactly what the
model says for what was built. Criteria whose source is not configured (no
Schema Registry, no resolved incident) stay unknown throughout.

The report is checked in headless Chromium: levels, gaps and the trend points
of a history with earlier days in the state file; printing it to PDF keeps
every criterion.
"""
import json
import os
from html.parser import HTMLParser
import subprocess
import time

import pytest

from conftest import (CHROMIUM, _STARTED, _kill, chromium_dump_dom, free_port, poll,
                      promtool_check_metrics, require, value, parse_metrics)
from helpers_kpi import connect_factory  # noqa: F401

DIMS = ("technology", "governance", "skills", "operations", "business_value")
STREAMS = {"sales.orders": "sales-orders-app", "sales.payments": "sales-payments-app",
           "billing.invoices": "billing-invoices-app"}
DLQS = ("sales.orders.dlq", "billing.invoices.dlq")
CONNECT_TOPIC = "sales.connect-lines"
DURABLE = {"min.insync.replicas": "2", "retention.ms": "604800000"}


def config(bootstrap, workdir, connect_port):
    today = time.strftime("%Y-%m-%d", time.gmtime())
    survey = "".join(f"    - item: {item}\n      score: 3\n      date: \"{today}\"\n"
                     for item in ("training", "community_of_practice", "on_call"))
    return (f"global:\n  sample_interval: 1s\n"
            f"state:\n  path: {os.path.join(workdir, 'state.json')}\n  persist_interval: 1s\n"
            f"probe:\n  interval: 1s\n  timeout: 3s\n  min_brokers: 3\n"
            f"policy:\n  interval: 2s\n"
            f"targets:\n  - name: connect\n    url: http://127.0.0.1:{connect_port}\n"
            f"    kind: connect\n    interval: 1s\n    timeout: 2s\n"
            f"maturity:\n  survey:\n{survey}"
            f"clusters:\n  - name: prod\n    role: production\n"
            f"    bootstrap_servers: \"{bootstrap}\"\n    sample_interval: 1s\n")


def assessment(exp):
    r = exp.get("/api/v1/assessment")
    assert r.status == 200, r.body[:300]
    return json.loads(r.body)


def summary(doc):
    return ({d["name"]: d["level"] for d in doc["dimensions"]}, doc["stage"])


def wait_for(exp, dims, stage, timeout=120, criteria=None):
    """Polls the assessment until the dimension levels, the stage and the
    given criterion statuses are the expected ones; fails with what was last
    seen."""
    want = (dict(zip(DIMS, dims)), stage)
    criteria = criteria or {}
    seen = {}

    def check():
        doc = assessment(exp)
        seen["doc"] = doc
        st = statuses(doc)
        ok = summary(doc) == want and all(st.get(k) == v for k, v in criteria.items())
        return doc if ok else None
    try:
        return poll(f"assessment {want}", check, timeout=timeout, interval=1)
    except BaseException:
        doc = seen.get("doc")
        if doc:
            got = summary(doc)
            states = {c["id"]: (c["status"], c["value"]) for c in doc["criteria"]
                      if c["model"] == "levels" and c["level"] <= 4}
            pytest.fail(f"expected {want}, last assessment {got}\ncriteria: {states}",
                        pytrace=False)
        raise


def statuses(doc):
    return {c["id"]: c["status"] for c in doc["criteria"]}


def gap_ids(doc, dim):
    return [g["id"] for g in doc["gaps"][dim]]


def check_metrics(exp, doc):
    text = exp.metrics_text()
    promtool_check_metrics(text)
    s = parse_metrics(text)
    for d in doc["dimensions"]:
        assert value(s, "streamkpi_maturity_dimension_level", dimension=d["name"]) == d["level"]
    assert value(s, "streamkpi_maturity_stage") == doc["stage"]
    for c in doc["criteria"]:
        if c["model"] == "levels" and c["enabled"]:
            assert value(s, "streamkpi_maturity_criterion_status", criterion=c["id"],
                         level=str(c["level"]), dimension=c["dimension"],
                         status=c["status"]) == 1, c["id"]


def wait_topic_seen(exp, topic):
    exp.wait_metrics(f"{topic} in the exporter's sample",
                     lambda s: value(s, "kafka_topic_partitions", cluster="prod",
                                     topic=topic) is not None, timeout=60)


def test_platform_climbs_to_level_three_and_falls_back(kafka_cluster_factory, exporter_factory,
                                                       connect_factory, tmp_path):  # noqa: F811
    k = kafka_cluster_factory(3)
    connect_port = free_port()
    exp = exporter_factory(config(k.bootstrap, str(tmp_path), connect_port))

    # Empty: reachable and probed, no stream; operations stops at level 3's
    # unknowns (no topic to check DLQs on, nothing onboarded yet).
    doc = wait_for(exp, (0, 1, 3, 2, 1), 0,
                   criteria={"l3_ops_availability": "met", "l1_ops_probe": "met"})
    st = statuses(doc)
    assert st["l1_tech_reachable"] == "met" and st["l1_tech_streams"] == "unmet"
    assert st["l1_ops_probe"] == "met" and st["l3_ops_availability"] == "met"
    assert st["l3_ops_dlq"] == "unknown" and st["l3_ops_self_service"] == "unknown"
    assert gap_ids(doc, "technology") == ["l1_tech_streams"]
    assert doc["level"] == 0
    check_metrics(exp, doc)

    # Three streams of two teams, consumed; replicated three times but with
    # min.insync.replicas 1 and default retention; no DLQ; Connect not there.
    for t in STREAMS:
        k.tool("create", t, 1, 3)
    for t in STREAMS:
        wait_topic_seen(exp, t)
    for t, g in STREAMS.items():
        k.tool("produce", t, 0, 10)
        k.tool("consume", g, t, "--max", 10)
    doc = wait_for(exp, (2, 2, 3, 2, 2), 2,
                   criteria={"l3_tech_durable": "unmet", "l3_gov_policy": "unmet",
                             "l3_ops_dlq": "unmet", "l3_ops_self_service": "met"})
    st = statuses(doc)
    assert st["l2_tech_streams"] == "met" and st["l2_bv_teams"] == "met"
    assert st["l2_gov_naming"] == "met" and st["l3_tech_brokers"] == "met"
    assert st["l3_tech_durable"] == "unmet" and st["l3_gov_policy"] == "unmet"
    assert st["l3_tech_connectors"] == "unknown"
    assert st["l3_ops_dlq"] == "unmet" and st["l3_ops_self_service"] == "met"
    assert st["s2_streams"] == "met" and st["s3_durable"] == "unmet"
    # Closest first, unknown last.
    assert gap_ids(doc, "technology") == ["l3_tech_durable", "l3_tech_connectors"]
    assert gap_ids(doc, "operations") == ["l3_ops_dlq"]
    check_metrics(exp, doc)

    # Durable topics, DLQs for two of the three pipelines, a running connector.
    for t in (*DLQS, CONNECT_TOPIC):
        k.tool("create", t, 1, 3)
    for t in (*STREAMS, *DLQS, CONNECT_TOPIC):
        k.alter_configs("topics", t, DURABLE)
    src = tmp_path / "lines.txt"
    src.write_text("one\ntwo\n")
    worker = connect_factory(k.bootstrap, connect_port)
    worker.create("lines-in", {"connector.class":
                               "org.apache.kafka.connect.file.FileStreamSourceConnector",
                               "tasks.max": "1", "file": str(src), "topic": CONNECT_TOPIC})
    poll("connector running", lambda: worker.states().get("lines-in", ("",))[0] == "RUNNING",
         timeout=60)
    doc = wait_for(exp, (3, 2, 3, 3, 2), 3, timeout=180,
                   criteria={"l3_gov_policy": "met", "s3_durable": "met"})
    st = statuses(doc)
    assert st["l3_tech_durable"] == "met" and st["l3_tech_connectors"] == "met"
    assert st["l3_gov_policy"] == "met" and st["l3_ops_dlq"] == "met"
    assert st["s3_durable"] == "met" and st["s3_teams"] == "met"
    dlq = next(c for c in doc["criteria"] if c["id"] == "l3_ops_dlq")
    assert dlq["value"] == pytest.approx(2 / 3)
    assert doc["level"] == 2
    check_metrics(exp, doc)

    # A broker lost: fewer than three brokers, and the probe (min_brokers 3)
    # counts downtime, so availability misses 99.9%.
    k.stop_node(3)
    doc = wait_for(exp, (2, 2, 3, 2, 2), 2, timeout=180,
                   criteria={"l3_tech_brokers": "unmet", "l3_ops_availability": "unmet"})
    st = statuses(doc)
    assert st["l3_tech_brokers"] == "unmet" and st["l3_ops_availability"] == "unmet"
    assert st["l3_tech_durable"] == "met"
    assert gap_ids(doc, "technology") == ["l3_tech_brokers"]
    assert gap_ids(doc, "operations") == ["l3_ops_availability"]

    # What has no source stays unknown, never met and never zero.
    for cid in ("l3_gov_schemas", "l4_ops_mttr", "l3_bv_value"):
        c = next(c for c in doc["criteria"] if c["id"] == cid)
        assert c["status"] == "unknown" and c["value"] is None, c
        assert c["reason"], c
    check_metrics(exp, doc)


def history_section(days_back, ids):
    """A compact history section with one day per entry of days_back (days
    before today), every criterion met on the later days."""
    today = int(time.time() // 86400)
    days = [today - d for d in days_back]
    n = len(days)
    return {"version": 1, "criteria": ids, "day": days,
            "level": [1, 1, 2][:n], "stage": [1, 2, 2][:n],
            "dims": [[1, 1, 1, 2, 1], [2, 1, 2, 2, 1], [2, 2, 3, 2, 2]][:n],
            "status": ["m" * len(ids)] * n, "evidence": [[1.0] * len(ids)] * n}


class Tags(HTMLParser):
    """Every start tag of a document with its attributes, and the ids of the
    elements enclosing it."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.stack = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        a["_tag"], a["_in"] = tag, [x.get("id") for x in self.stack if x.get("id")]
        self.tags.append(a)
        if tag not in ("meta", "br", "img", "input", "link", "path", "line", "circle", "rect",
                       "polyline"):
            self.stack.append(a)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["_tag"] == tag:
                del self.stack[i:]
                break

    def find(self, **want):
        return [t for t in self.tags if all(t.get(k) == v for k, v in want.items())]


def test_report_in_chromium_with_history(kafka, exporter_factory, tmp_path):
    workdir = str(tmp_path)
    state = os.path.join(workdir, "state.json")
    ids = ["l1_tech_reachable", "l1_tech_streams"]
    with open(state, "w") as f:
        json.dump({"format": "streamkpi-state", "version": 1, "written": time.time(),
                   "sections": {"maturity": history_section((3, 2, 1), ids)}}, f)
    exp = exporter_factory(f"state:\n  path: {state}\n"
                           f"clusters:\n  - name: report\n"
                           f"    bootstrap_servers: \"{kafka.bootstrap}\"\n"
                           f"    sample_interval: 1s\n")
    poll("a Kafka cycle in the assessment",
         lambda: statuses(assessment(exp))["l1_tech_reachable"] == "met", timeout=60)
    hist = json.loads(exp.get("/api/v1/assessment/history").body)
    assert len(hist["days"]) == 4, hist["days"]

    # The page and the JSON must describe the same assessment: render the
    # page between two identical JSON answers (the KPIs settle within a few
    # cycles).
    for _ in range(10):
        before = summary(assessment(exp))
        dom = Tags(chromium_dump_dom(f"http://127.0.0.1:{exp.port}/report", workdir))
        doc = assessment(exp)
        if summary(doc) == before:
            break
    (overall,) = dom.find(id="overall-level")
    assert overall["data-level"] == str(doc["level"] if doc["level"] is not None else -1)
    (stage,) = dom.find(id="stage")
    assert stage["data-stage"] == str(doc["stage"] if doc["stage"] is not None else -1)
    bars = {t["data-dimension"]: t["data-level"] for t in dom.find(_tag="g")
            if "data-dimension" in t}
    assert bars == {d["name"]: "unknown" if d["level"] is None else str(d["level"])
                    for d in doc["dimensions"]}
    gaps = {t["data-criterion"] for t in dom.tags if t["_tag"] == "li" and "gaps" in t["_in"]}
    assert gaps == {g["id"] for dim in doc["gaps"].values() for g in dim}
    rows = {t["data-criterion"]: t["data-status"] for t in dom.find(_tag="tr")
            if "data-criterion" in t}
    assert rows == {c["id"]: c["status"] for c in doc["criteria"]}
    # The two criteria with history: three stored days and today.
    trends = [t for t in dom.find(_tag="svg") if "trend" in t.get("class", "")]
    assert sorted(t["data-points"] for t in trends).count("4") == 2, [t["data-points"]
                                                                       for t in trends]
    landing = Tags(exp.get("/").text())
    (line,) = landing.find(id="maturity")
    assert line["data-level"] == str(doc["level"])
    assert landing.find(_tag="a", href="/report")

    # Printed to PDF (A4): every criterion id is still in the text.
    require(CHROMIUM, "run scripts/deps.sh (Debian package chromium)")
    pdf = os.path.join(workdir, "report.pdf")
    p = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--no-first-run", "--disable-dev-shm-usage",
                          f"--user-data-dir={os.path.join(workdir, 'chromium-pdf')}",
                          "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                          f"http://127.0.0.1:{exp.port}/report"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    _STARTED.append(p)
    try:
        p.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        _kill(p)
        pytest.fail("chromium did not print the report within 90s", pytrace=False)
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    npages = int(next(line.split()[-1] for line in pages.splitlines()
                      if line.startswith("Pages:")))
    assert 2 <= npages <= 20, pages
    assert "A4" in pages or "595" in pages, pages
    for c in doc["criteria"]:
        assert c["id"] in text, c["id"]


def test_history_survives_kill_and_a_corrupt_section_is_kept_aside(kafka, exporter_factory,
                                                                   tmp_path):
    """Two years of history in the state file load with the exporter; after
    kill -9 and a restart the history is still there (today included); a
    corrupt history section is set aside with the reason and the exporter
    starts with an empty history."""
    workdir = str(tmp_path)
    state = os.path.join(workdir, "state.json")
    ids = ["l1_tech_reachable", "l1_tech_streams"]
    days_back = list(range(730, 0, -1))
    section = history_section((3, 2, 1), ids)
    today = int(time.time() // 86400)
    n = len(days_back)
    section.update({"day": [today - d for d in days_back], "level": [1] * n, "stage": [1] * n,
                    "dims": [[1, 1, 1, 1, 1]] * n, "status": ["mm"] * n,
                    "evidence": [[1.0, 1.0]] * n})
    with open(state, "w") as f:
        json.dump({"format": "streamkpi-state", "version": 1, "written": time.time(),
                   "sections": {"maturity": section}}, f)
    cfg = (f"state:\n  path: {state}\n  persist_interval: 1s\n"
           f"clusters:\n  - name: hist\n    bootstrap_servers: \"{kafka.bootstrap}\"\n"
           f"    sample_interval: 1s\n")
    exp = exporter_factory(cfg)
    hist = json.loads(exp.get("/api/v1/assessment/history").body)
    assert len(hist["days"]) == 731, len(hist["days"])

    # Wait for a state write that holds today, then kill -9 and restart.
    def persisted_today():
        with open(state) as f:
            doc = json.load(f)
        return today in doc["sections"]["maturity"]["day"]
    poll("today's assessment in the state file", persisted_today, timeout=60)
    exp.kill()
    exp.proc = None  # killed on purpose: no clean-exit check
    exp2 = exporter_factory(cfg)
    hist = json.loads(exp2.get("/api/v1/assessment/history").body)
    assert len(hist["days"]) == 731, len(hist["days"])
    exp2.stop()

    # A corrupt history section: kept aside with the reason, history empty.
    with open(state) as f:
        doc = json.load(f)
    doc["sections"]["maturity"]["level"] = "garbage"
    with open(state, "w") as f:
        json.dump(doc, f)
    exp3 = exporter_factory(cfg)
    hist = json.loads(exp3.get("/api/v1/assessment/history").body)
    assert len(hist["days"]) <= 1, hist["days"]
    kept = [p for p in os.listdir(workdir) if p.startswith("state.json.rejected-maturity")]
    assert len(kept) == 1, os.listdir(workdir)
    with open(os.path.join(workdir, kept[0])) as f:
        aside = json.load(f)
    assert "garbage" in json.dumps(aside)
