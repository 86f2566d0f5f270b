"""Helpers for the availability, incident and state scenarios.

The exporter config with a fast probe, the incident listing and state file
readers, webhook payloads, and a real Alertmanager (Debian's
prometheus-alertmanager) on loopback with a webhook receiver pointing at the
exporter.  Like conftest.py: nothing mocked, every wait a bounded poll, every
process killed at teardown.
"""

import datetime
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import KAFKATOOL, HttpResponse, _kill, _spawn, _tail, exporter_config, free_port, \
    http_request, poll, require, select

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
AMTOOL = "/usr/bin/amtool"

# The probe settings every scenario uses (seconds); tolerances derive from them.
PROBE_INTERVAL = 1.0
PROBE_TIMEOUT = 1.0
OPEN_AFTER = 2
RESOLVE_AFTER = 1
TOKEN = "it3-secret-token"


def kpi_config(bootstrap, cluster, state_path, persist_interval="1s", token=TOKEN,
               extra=""):
    """A one-cluster config with the fast probe, the incident thresholds of
    the scenarios, a webhook token and a state file of the test's own."""
    return exporter_config(bootstrap, cluster=cluster, extra=(
        f"probe:\n  interval: {PROBE_INTERVAL:g}s\n  timeout: {PROBE_TIMEOUT:g}s\n"
        f"  replication_factor: 1\n"
        f"incidents:\n  open_after: {OPEN_AFTER}\n  resolve_after: {RESOLVE_AFTER}\n"
        f"  webhook_token: \"{token}\"\n"
        f"state:\n  path: \"{state_path}\"\n  persist_interval: {persist_interval}\n{extra}"))


def incidents(exporter):
    """The parsed GET /api/v1/incidents listing (a list of incidents)."""
    r = exporter.get("/api/v1/incidents")
    assert r.status == 200, f"/api/v1/incidents answered {r.status}: {r.body[:300]!r}"
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    doc = json.loads(r.body)
    assert isinstance(doc, dict) and isinstance(doc.get("incidents"), list), doc
    return doc["incidents"]


def one(series, name, **labels):
    """The value of the one series of name with labels, or None when absent."""
    hits = select(series, name, **labels)
    assert len(hits) <= 1, f"several {name}{labels}: {hits}"
    return next(iter(hits.values())) if hits else None


def read_state(path):
    """The state file as a dict; fails the test unless it is one of ours."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        doc = json.loads(raw)
    except ValueError as ex:
        pytest.fail(f"state file {path} is not JSON ({ex}): {raw[:300]!r}", pytrace=False)
    assert isinstance(doc, dict), doc
    assert doc.get("format") == "streamkpi-state", doc.get("format")
    assert doc.get("version") == 1, doc.get("version")
    assert isinstance(doc.get("sections"), dict), doc
    return doc


def rfc3339(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


def webhook_payload(status, alerts):
    """An Alertmanager webhook body (version 4).  alerts: list of
    (fingerprint, labels, starts_unix, ends_unix or None, status)."""
    out = []
    for fp, labels, starts, ends, st in alerts:
        out.append({"status": st, "labels": labels, "annotations": {},
                    "startsAt": rfc3339(starts),
                    "endsAt": rfc3339(ends) if ends is not None else "0001-01-01T00:00:00Z",
                    "generatorURL": "", "fingerprint": fp})
    return json.dumps({"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0,
                       "status": status, "receiver": "streamkpi", "groupLabels": {},
                       "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
                       "alerts": out}).encode()


def post_webhook(exporter, body, token=TOKEN):
    """POSTs body to the webhook; returns (status, response body).  A raw
    socket, because a server may answer 413 before reading an oversized body
    and close: http.client would only see the broken pipe."""
    head = (f"POST /api/v1/alertmanager HTTP/1.1\r\nHost: 127.0.0.1:{exporter.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n")
    if token is not None:
        head += f"Authorization: Bearer {token}\r\n"
    with socket.create_connection(("127.0.0.1", exporter.port), timeout=10) as sock:
        sock.sendall((head + "\r\n").encode())
        try:
            sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered early; the response is already in our receive buffer
        raw = b""
        try:
            while len(raw) < 1 << 20:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        except ConnectionResetError:
            pass
    status_line, _, rest = raw.partition(b"\r\n")
    parts = status_line.split(b" ")
    assert len(parts) >= 2 and parts[0].startswith(b"HTTP/1."), f"bad response {raw[:200]!r}"
    return HttpResponse(int(parts[1]), {}, rest.partition(b"\r\n\r\n")[2])


def restart_bracketed(broker, timeout=90):
    """Starts a stopped KafkaBroker and waits until kafkatool sees it, like
    broker.start(), but returns (t_lo, t_hi) on the monotonic clock: the
    broker became ready after t_lo (the start of the last check that failed,
    or the spawn) and before t_hi (the end of the first check that passed)."""
    assert broker.proc is None or broker.proc.poll() is not None, "broker already running"
    t_lo = time.monotonic()
    broker.proc = _spawn(broker._java("kafka.Kafka", broker.config), broker.log)
    deadline = t_lo + timeout
    while True:
        t_check = time.monotonic()
        if broker.proc.poll() is not None:
            pytest.fail(f"kafka broker exited with {broker.proc.returncode}:\n"
                        f"{_tail(broker.log)}", pytrace=False)
        r = subprocess.run([KAFKATOOL, "-b", broker.bootstrap, "-t", "3", "brokers"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0 and r.stdout.strip() == "1":
            return t_lo, time.monotonic()
        t_lo = t_check
        if time.monotonic() > deadline:
            pytest.fail(f"kafka broker on {broker.bootstrap} not ready after {timeout}s",
                        pytrace=False)
        time.sleep(0.2)


# --------------------------------------------------------------------------
# Alertmanager

def alertmanager_config(webhook_port, token=TOKEN):
    return ("global:\n  resolve_timeout: 5m\n"
            "route:\n  receiver: streamkpi\n  group_by: ['alertname']\n"
            "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
            "receivers:\n  - name: streamkpi\n    webhook_configs:\n"
            f"      - url: 'http://127.0.0.1:{webhook_port}/api/v1/alertmanager'\n"
            "        send_resolved: true\n"
            "        http_config:\n          authorization:\n"
            f"            credentials: '{token}'\n")


def amtool_check_config(path):
    """Runs `amtool check-config`; returns (exit code, output)."""
    require(AMTOOL, "run scripts/deps.sh (Debian package prometheus-alertmanager)")
    r = subprocess.run([AMTOOL, "check-config", path], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout + r.stderr


class Alertmanager:
    """Debian's Alertmanager on loopback, clustering off (no 0.0.0.0:9094)."""

    def __init__(self, workdir, config_yaml):
        require(ALERTMANAGER, "run scripts/deps.sh (Debian package prometheus-alertmanager)")
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.config = os.path.join(self.dir, "alertmanager.yml")
        with open(self.config, "w") as f:
            f.write(config_yaml)
        self.log = os.path.join(self.dir, "alertmanager.log")
        self.proc = None

    def start(self):
        self.proc = _spawn([ALERTMANAGER, f"--config.file={self.config}",
                            f"--storage.path={os.path.join(self.dir, 'data')}",
                            f"--web.listen-address=127.0.0.1:{self.port}",
                            "--cluster.listen-address=", "--log.level=debug"], self.log)

        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"alertmanager exited {self.proc.returncode}:\n{_tail(self.log)}",
                            pytrace=False)
            return http_request(self.port, "/-/ready", timeout=2).status == 200
        poll("alertmanager /-/ready", ready, timeout=60)
        return self

    def push(self, alerts):
        """POST /api/v2/alerts; alerts is a list of dicts (labels, startsAt,
        endsAt...)."""
        r = http_request(self.port, "/api/v2/alerts", method="POST",
                         headers={"Content-Type": "application/json"},
                         body=json.dumps(alerts).encode())
        assert r.status == 200, f"alertmanager push: {r.status} {r.body[:300]!r}"

    def output(self):
        return _tail(self.log, 20000)

    def stop(self):
        _kill(self.proc)


@pytest.fixture
def alertmanager_factory(tmp_path):
    started = []

    def make(config_yaml):
        a = Alertmanager(str(tmp_path / f"alertmanager{len(started)}"), config_yaml)
        started.append(a)
        return a.start()
    yield make
    for a in started:
        a.stop()
