"""Helpers for the KPI and HTTP-target scenarios.

- Small HTTP servers on loopback, in threads of the pytest process: an
  application `/metrics` endpoint whose counters move by a known amount on
  every scrape, one answering garbage, one that accepts and never answers,
  and a Schema Registry stand-in serving a recorded `GET /subjects` answer.
- `ConnectWorker`: a real Apache Kafka Connect worker (ConnectStandalone from
  the official jars in build/connect/libs, fetched by scripts/deps.sh from
  tests/connect/pom.xml) with its REST API on a free loopback port.
- Config and metric helpers shared by test_kpis.py and test_targets.py.
"""

import http.server
import json
import os
import signal
import threading
import time

import pytest

from conftest import (ROOT, _kill, _spawn, _tail, free_port, http_request, poll, select)

CONNECT_LIBS = os.path.join(ROOT, "build", "connect", "libs")


# --------------------------------------------------------------------------
# Test HTTP servers

class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class TestServer:
    """A threaded HTTP server on 127.0.0.1:<free port>; `handle(h)` of the
    subclass answers each GET.  stop() releases hanging handlers too."""

    def __init__(self):
        self.released = threading.Event()
        self.requests = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.requests += 1
                outer.handle(self)

            def log_message(self, *args):
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reply(self, h, status, body, ctype="text/plain; version=0.0.4"):
        data = body.encode() if isinstance(body, str) else body
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def stop(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class AppMetricsServer(TestServer):
    """An application /metrics: every scrape first adds `step` (status ->
    increment) to each of two pods' events_processed_total, then serves them.
    So the increase between any two consecutive scrapes is exactly
    2 * step, whatever the scrape timing.  `served` holds the summed
    cumulative values of every answer (status -> list)."""

    def __init__(self, step):
        self.step = dict(step)
        self.counts = {pod: {s: 0 for s in step} for pod in ("a", "b")}
        self.served = {s: [] for s in step}
        super().__init__()

    def handle(self, h):
        with self.lock:
            lines = ["# HELP events_processed_total Events by outcome.",
                     "# TYPE events_processed_total counter"]
            for pod, counts in self.counts.items():
                for status, inc in self.step.items():
                    counts[status] += inc
                    lines.append(f'events_processed_total{{pod="{pod}",status="{status}"}} '
                                 f'{counts[status]}')
            for status in self.step:
                self.served[status].append(sum(c[status] for c in self.counts.values()))
            lines += ["# TYPE other_metric gauge", "other_metric 1", ""]
            body = "\n".join(lines)
        self.reply(h, 200, body)


class GarbageServer(TestServer):
    """Answers 200 with bytes that are no Prometheus text."""

    def handle(self, h):
        self.reply(h, 200, "events_processed_total{status=\"success\" 12\n\x01\x02 {{{ not metrics\n")


class HangingServer(TestServer):
    """Accepts the request and never answers (until stop())."""

    def handle(self, h):
        self.released.wait(120)


# A `GET /subjects` answer in the shape Confluent Schema Registry 7.x returns
# (recorded; the registry itself is not on Maven Central, so it is served by a
# test server).  Subjects use the default TopicNameStrategy: <topic>-key,
# <topic>-value.
RECORDED_SUBJECTS = ["sr.orders-key", "sr.orders-value", "sr.audit-value",
                     "legacy.customers-value", "sr.payments-key"]


class SchemaRegistryServer(TestServer):
    def handle(self, h):
        if h.path.split("?")[0] == "/subjects":
            self.reply(h, 200, json.dumps(RECORDED_SUBJECTS),
                       "application/vnd.schemaregistry.v1+json")
        else:
            self.reply(h, 404, '{"error_code":404,"message":"HTTP 404 Not Found"}',
                       "application/vnd.schemaregistry.v1+json")


@pytest.fixture
def servers():
    """servers(cls, *args) starts a test server; all stop at teardown."""
    started = []

    def make(cls, *args):
        s = cls(*args)
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


# --------------------------------------------------------------------------
# Kafka Connect (real)

class ConnectWorker:
    """A real Kafka Connect standalone worker from the official jars, REST on
    a free loopback port, offsets in a file of its own."""

    def __init__(self, workdir, bootstrap, port=None):
        if not os.path.isfile(os.path.join(CONNECT_LIBS, ".complete")):
            pytest.fail(f"no Kafka Connect jars in {CONNECT_LIBS}: run scripts/deps.sh",
                        pytrace=False)
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.worker = os.path.join(self.dir, "worker.properties")
        with open(self.worker, "w") as f:
            f.write(f"bootstrap.servers={bootstrap}\n"
                    "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
                    "value.converter=org.apache.kafka.connect.storage.StringConverter\n"
                    f"offset.storage.file.filename={os.path.join(self.dir, 'offsets')}\n"
                    "offset.flush.interval.ms=1000\n"
                    f"listeners=http://127.0.0.1:{self.port}\n"
                    "plugin.discovery=only_scan\n")
        self.log4j = os.path.join(self.dir, "log4j2.properties")
        with open(self.log4j, "w") as f:
            f.write("appender.c.type = Console\nappender.c.name = STDOUT\n"
                    "appender.c.layout.type = PatternLayout\n"
                    "appender.c.layout.pattern = [%d] %p %m (%c)%n\n"
                    "rootLogger.level = warn\nrootLogger.appenderRef.c.ref = STDOUT\n")
        self.log = os.path.join(self.dir, "connect.log")
        self.proc = _spawn(["java", "-Xmx256m", "-Xms64m", "-XX:+UseSerialGC",
                            "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                            f"-Dlog4j2.configurationFile={self.log4j}",
                            "-cp", os.path.join(CONNECT_LIBS, "*"),
                            "org.apache.kafka.connect.cli.ConnectStandalone", self.worker],
                           self.log)

        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"connect worker exited {self.proc.returncode}:\n{_tail(self.log)}",
                            pytrace=False)
            r = http_request(self.port, "/connectors", timeout=3)
            return r.status == 200
        poll("kafka connect REST /connectors", ready, timeout=120, interval=0.5)

    def create(self, name, config):
        body = json.dumps({"name": name, "config": config})
        r = http_request(self.port, "/connectors", method="POST", body=body,
                         headers={"Content-Type": "application/json"})
        assert r.status == 201, f"create connector {name}: {r.status} {r.body[:500]!r}"

    def states(self):
        """{connector: (connector state, [task states])} from the worker."""
        r = http_request(self.port, "/connectors?expand=status")
        assert r.status == 200, r.body[:300]
        doc = json.loads(r.body)
        return {n: (v["status"]["connector"]["state"],
                    sorted(t["state"] for t in v["status"]["tasks"])) for n, v in doc.items()}

    def stop(self):
        _kill(self.proc, signal.SIGTERM, wait=30)
        _kill(self.proc)


@pytest.fixture
def connect_factory(tmp_path):
    started = []

    def make(bootstrap, port=None):
        w = ConnectWorker(str(tmp_path / f"connect{len(started)}"), bootstrap, port)
        started.append(w)
        return w
    yield make
    for w in started:
        w.stop()


# --------------------------------------------------------------------------
# Config and metrics

def kpi_config(bootstrap, workdir, cluster="itest", include=None, probe=None, extra="",
               persist="1s"):
    """A one-cluster config with 1 s sampling, a state file of the test's own
    (so the engines start fresh and restarts reuse it), topics limited to the
    `include` regex, and the probe section given (default: disabled)."""
    inc = f"    topics:\n      include: ['{include}']\n" if include else ""
    probe = probe or "  enabled: false\n"
    return (f"global:\n  sample_interval: 1s\n  stale_ttl: 5m\n"
            f"state:\n  path: {os.path.join(workdir, 'state.json')}\n"
            f"  persist_interval: {persist}\n"
            f"probe:\n{probe}"
            f"clusters:\n  - name: {cluster}\n    bootstrap_servers: \"{bootstrap}\"\n"
            f"    sample_interval: 1s\n"
            f"    properties:\n      reconnect.backoff.ms: 100\n"
            f"      reconnect.backoff.max.ms: 500\n{inc}{extra}")


def one(series, name, **labels):
    """The value of the one series of name with labels, or None when absent
    (fails when several match)."""
    hits = select(series, name, **labels)
    assert len(hits) <= 1, f"several {name}{labels}: {hits}"
    return next(iter(hits.values())) if hits else None


def hist(series, name, **labels):
    """(count, sum) of a histogram's series, or (None, None)."""
    return one(series, name + "_count", **labels), one(series, name + "_sum", **labels)


def wait_kafka_cycle(exporter, cluster, timeout=60):
    """Waits until the exporter published a successful Kafka sample."""
    return exporter.wait_metrics(
        f"a kafka sample of {cluster}",
        lambda s: one(s, "streamkpi_source_up", cluster=cluster, source="kafka") == 1,
        timeout=timeout)


def now():
    return time.time()


def wait_a_bit(seconds):
    """A pause in the scenario's script (the world's timing), never an
    assertion on how long something took."""
    time.sleep(seconds)



def kpi_render_time(series):
    """(t, d): when the exporter rendered the KPI values of this scrape, as
    its own clock says, and how long that render took.  The KPI slot
    (source="kpi") publishes the time it finished at; the render started d
    seconds before.  Time-lag values are computed at the render's start, so a
    scenario compares them with t - d rather than with the scrape's wall
    time: on a loaded machine the shown values can be seconds old."""
    last = select(series, "streamkpi_source_last_success_timestamp_seconds", source="kpi")
    dur = select(series, "streamkpi_source_collect_duration_seconds", source="kpi")
    assert len(last) == 1 and len(dur) == 1, (last, dur)
    t = next(iter(last.values()))
    d = next(iter(dur.values()))
    return t - d, d


def kafka_cycle_seconds(series, cluster):
    """The wall time of the cluster's last Kafka cycle (its sample spacing is
    at most the interval plus this)."""
    hits = select(series, "streamkpi_source_collect_duration_seconds", cluster=cluster,
                  source="kafka")
    assert len(hits) == 1, hits
    return next(iter(hits.values()))
