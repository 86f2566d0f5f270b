"""The Kafka metrics are exact against a real broker.

A known world is built on the shared broker (topics with known message counts
per partition, a group with known commits and no member, a group with one live
member), and the exporter's /metrics must show exactly those truths; a real
Prometheus must scrape them; a deleted topic must vanish.  A dedicated broker
is stopped and restarted to check that the exporter degrades and recovers.
"""

import html.parser
import os
import re
import subprocess
import uuid

import pytest

from conftest import (EXPORTER, Exporter, ToolProc, chromium_dump_dom, exporter_config,
                      families, gunzip, parse_metrics, poll, promtool_check_metrics, require,
                      select, value)

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"

# The world: topic -> messages produced per partition.
ORDERS = [5, 7, 0]    # partition 2 stays empty
PAYMENTS = [30]
DOOMED = [4, 4]       # deleted during the test
COMMITS = {0: 2, 1: 7}  # committed-group offsets on orders; none on partition 2
LIVE_CONSUMED = 12      # the live member consumes this many of payments' 30


class World:
    def __init__(self, kafka, tag):
        self.kafka = kafka
        self.cluster = f"itest-{tag}"
        self.orders = f"orders-{tag}"
        self.payments = f"payments-{tag}"
        self.doomed = f"doomed-{tag}"
        self.g_committed = f"committed-{tag}"
        self.g_live = f"live-{tag}"


def build_world(kafka, tag):
    w = World(kafka, tag)
    for topic, counts in ((w.orders, ORDERS), (w.payments, PAYMENTS), (w.doomed, DOOMED)):
        kafka.tool("create", topic, len(counts), 1)
        for part, n in enumerate(counts):
            if n:
                out = kafka.tool("produce", topic, part, n)
                assert out.strip() == f"produced {n}"
    for part, off in COMMITS.items():
        kafka.tool("commit", w.g_committed, w.orders, part, off)
    return w


def mismatches(s, w):
    """Every way the series s differ from the world's exact truths."""
    bad = []

    def expect(name, want, **labels):
        hits = select(s, name, cluster=w.cluster, **labels)
        if len(hits) != 1:
            bad.append(f"{name}{labels}: {len(hits)} series, want 1 with value {want}")
        elif next(iter(hits.values())) != want:
            bad.append(f"{name}{labels} = {next(iter(hits.values()))}, want {want}")

    expect("streamkpi_source_up", 1, source="kafka")
    expect("kafka_brokers", 1)
    for topic, counts in ((w.orders, ORDERS), (w.payments, PAYMENTS), (w.doomed, DOOMED)):
        expect("kafka_topic_partitions", len(counts), topic=topic)
        for part, n in enumerate(counts):
            expect("kafka_topic_partition_current_offset", n, topic=topic, partition=str(part))
            expect("kafka_topic_partition_oldest_offset", 0, topic=topic, partition=str(part))
    # The group with commits and no member.
    for part, off in COMMITS.items():
        expect("kafka_consumergroup_current_offset", off, consumergroup=w.g_committed,
               topic=w.orders, partition=str(part))
        expect("kafka_consumergroup_lag", ORDERS[part] - off, consumergroup=w.g_committed,
               topic=w.orders, partition=str(part))
    expect("kafka_consumergroup_lag_sum", sum(ORDERS[p] - o for p, o in COMMITS.items()),
           consumergroup=w.g_committed, topic=w.orders)
    expect("kafka_consumergroup_members", 0, consumergroup=w.g_committed)
    expect("kafka_consumergroup_state", 1, consumergroup=w.g_committed, state="Empty")
    for name in ("kafka_consumergroup_lag", "kafka_consumergroup_current_offset"):
        if select(s, name, cluster=w.cluster, consumergroup=w.g_committed, topic=w.orders,
                  partition="2"):
            bad.append(f"{name} has a series for a partition without commit")
    # The group with one live member.
    expect("kafka_consumergroup_current_offset", LIVE_CONSUMED, consumergroup=w.g_live,
           topic=w.payments, partition="0")
    expect("kafka_consumergroup_lag", PAYMENTS[0] - LIVE_CONSUMED, consumergroup=w.g_live,
           topic=w.payments, partition="0")
    expect("kafka_consumergroup_lag_sum", PAYMENTS[0] - LIVE_CONSUMED, consumergroup=w.g_live,
           topic=w.payments)
    expect("kafka_consumergroup_members", 1, consumergroup=w.g_live)
    expect("kafka_consumergroup_state", 1, consumergroup=w.g_live, state="Stable")
    # Every Kafka series carries the cluster label.
    for (name, labels) in s:
        if name.startswith("kafka_") and ("cluster", w.cluster) not in labels:
            bad.append(f"{name}{dict(labels)} lacks cluster=\"{w.cluster}\"")
    return bad


def wait_truths(exp, w, timeout=60):
    last = {}

    def check():
        s = exp.metrics()
        last["bad"] = mismatches(s, w)
        return s if not last["bad"] else None
    try:
        return poll("the exact truths in /metrics", check, timeout=timeout, interval=0.5)
    except BaseException:
        pytest.fail("exporter never showed the truths; last differences:\n  " +
                    "\n  ".join(last.get("bad", ["(no scrape succeeded)"])), pytrace=False)


@pytest.fixture(scope="module")
def world(kafka, tmp_path_factory):
    """The known world on the shared broker and one exporter watching it."""
    tag = uuid.uuid4().hex[:8]
    w = build_world(kafka, tag)
    live = ToolProc(kafka, ["consume", w.g_live, w.payments, "--max", str(LIVE_CONSUMED),
                            "--hold", "900"])
    exp = None
    try:
        live.wait_line(re.compile(rf"^committed {LIVE_CONSUMED}$"), timeout=60)
        exp = Exporter(str(tmp_path_factory.mktemp("exporter")),
                       exporter_config(kafka.bootstrap, cluster=w.cluster))
        exp.start()
        w.exporter = exp
        w.series = wait_truths(exp, w)
        yield w
        exp.stop()
    finally:
        if exp:
            exp.kill()
        rc = live.stop()
        assert rc == 0, f"live member exited {rc}:\n{live.output()}"


def test_exact_offsets_lag_members_state(world):
    bad = mismatches(world.exporter.metrics(), world)
    assert not bad, "\n".join(bad)


def test_promtool_accepts_text(world):
    """promtool check metrics on the 0.0.4 text prints nothing and exits 0."""
    r = world.exporter.get("/metrics")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    rc, out = promtool_check_metrics(r.text())
    assert rc == 0 and out == "", f"promtool check metrics ({rc}):\n{out}"


def test_openmetrics(world):
    r = world.exporter.get("/metrics", headers={"Accept": OPENMETRICS})
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    body = r.text()
    assert body.endswith("# EOF\n"), f"OpenMetrics body ends with {body[-80:]!r}"
    # promtool 2.42 parses only the 0.0.4 format (it rejects OpenMetrics'
    # "info" type), so the OpenMetrics body gets the strict parser instead:
    # OpenMetrics types, sample names per type, "# EOF" last, same truths.
    om = parse_metrics(body, openmetrics=True)
    assert not mismatches(om, world), mismatches(om, world)


def test_gzip_response(world):
    plain = world.exporter.get("/metrics")
    r = world.exporter.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert r.status == 200
    assert r.headers.get("content-encoding") == "gzip", r.headers
    text = gunzip(r.body).decode("utf-8")
    assert families(text) == families(plain.text())
    assert not mismatches(parse_metrics(text), world)


def test_prometheus_scrapes_lag(world, prometheus_factory):
    prom = prometheus_factory(world.exporter.port)
    expr = (f'kafka_consumergroup_lag{{cluster="{world.cluster}",'
            f'consumergroup="{world.g_live}",partition="0"}}')
    res = poll(f"prometheus to return {expr}", lambda: prom.query(expr), timeout=60)
    assert len(res) == 1, res
    assert res[0][1] == PAYMENTS[0] - LIVE_CONSUMED
    assert res[0][0]["topic"] == world.payments
    assert prom.targets_health() == ["up"]


def test_http_errors(world):
    assert world.exporter.get("/no-such-page").status == 404
    r = world.exporter.get("/metrics", method="POST", body=b"x")
    assert r.status == 405
    assert "GET" in r.headers.get("allow", ""), r.headers


class _Rows(html.parser.HTMLParser):
    """Collects the text of each table row's cells."""

    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def test_landing_page_in_chromium(world, tmp_path):
    dom = chromium_dump_dom(f"http://127.0.0.1:{world.exporter.port}/", str(tmp_path))
    p = _Rows()
    p.feed(dom)
    rows = [r for r in p.rows if world.cluster in r and "kafka" in r]
    assert len(rows) == 1, f"no single row for cluster {world.cluster} in:\n{dom[:3000]}"
    assert "up" in rows[0], f"cluster row does not say up: {rows[0]}"


def test_deleted_topic_disappears(world):
    """Runs last in this module: it changes the world."""
    exp = world.exporter

    def cycles(s):
        return value(s, "streamkpi_source_cycles_total", cluster=world.cluster, source="kafka")

    before = cycles(exp.metrics())
    world.kafka.tool("delete", world.doomed)

    def gone():
        s = exp.metrics()
        left = [k for k in s if ("topic", world.doomed) in k[1]]
        return None if left else s
    s = poll(f"series of deleted topic {world.doomed} to vanish", gone, timeout=60, interval=0.2)
    # Two cycles, plus the one that may have been in flight at the deletion.
    assert cycles(s) - before <= 3, f"series vanished only after {cycles(s) - before} cycles"
    # The rest of the world is untouched.
    assert value(s, "kafka_topic_partitions", cluster=world.cluster, topic=world.orders) == 3


def test_broker_outage_and_recovery(dedicated_kafka, exporter_factory):
    kafka = dedicated_kafka
    tag = uuid.uuid4().hex[:8]
    cluster = f"outage-{tag}"
    topic = f"events-{tag}"
    kafka.tool("create", topic, 2, 1)
    kafka.tool("produce", topic, 0, 9)
    kafka.tool("produce", topic, 1, 3)
    exp = exporter_factory(exporter_config(kafka.bootstrap, cluster=cluster, extra=(
        "    request_timeout: 2s\n")))

    def offsets(s):
        return {p: value(s, "kafka_topic_partition_current_offset", cluster=cluster,
                         topic=topic, partition=str(p)) for p in (0, 1)}

    def up(s):
        return value(s, "streamkpi_source_up", cluster=cluster, source="kafka")

    exp.wait_metrics("first good sample", lambda s: select(
        s, "kafka_topic_partition_current_offset", cluster=cluster, topic=topic) and up(s) == 1)
    assert offsets(exp.metrics()) == {0: 9, 1: 3}
    poll("/ready 200", lambda: exp.get("/ready").status == 200, timeout=30)

    kafka.stop()
    # Every scrape during the outage must answer; http_request's own timeout
    # bounds "promptly" without measuring it.
    s = exp.wait_metrics("streamkpi_source_up 0", lambda s: up(s) == 0, timeout=90)
    assert offsets(s) == {0: 9, 1: 3}, "last good offsets must stay while stale"
    poll("/ready 503", lambda: exp.get("/ready").status == 503, timeout=90)
    assert exp.get("/metrics", timeout=5).status == 200

    kafka.start()
    s = exp.wait_metrics("streamkpi_source_up 1 after restart", lambda s: up(s) == 1,
                         timeout=120)
    assert offsets(s) == {0: 9, 1: 3}
    poll("/ready 200 after restart", lambda: exp.get("/ready").status == 200, timeout=60)


def test_unknown_config_key_exits_2(tmp_path):
    require(EXPORTER, "run `make build/san/streamkpi_exporter`")
    cfg = tmp_path / "bad.yml"
    lines = ["global:", "  sample_interval: 1s", "clusters:", "  - name: bad",
             "    bootstrap_servers: \"127.0.0.1:1\"", "    frobnicate_level: 3"]
    cfg.write_text("\n".join(lines) + "\n")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
    r = subprocess.run([EXPORTER, f"--config.file={cfg}", "--web.listen-address=127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 2, f"exit {r.returncode}, stderr:\n{r.stderr}"
    assert "frobnicate_level" in r.stderr, r.stderr
    assert re.search(r"(:6\b|line 6\b)", r.stderr), f"stderr does not name line 6:\n{r.stderr}"
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
