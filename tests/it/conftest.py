"""Real-component fixtures for the streamkpi scenarios.

Everything here starts real programs on loopback: a KRaft Kafka broker from
the official jars (build/kafka/libs), the ASan build of the exporter, Debian's
Prometheus, headless Chromium.  Nothing is skipped: a missing binary fails
the test with the command that builds or installs it.  Every fixture kills
what it started, also when the test fails.
"""

import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid
import base64

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KAFKA_LIBS = os.path.join(ROOT, "build", "kafka", "libs")
KAFKATOOL = os.path.join(ROOT, "build", "tools", "kafkatool")
EXPORTER = os.environ.get("SKPI_EXPORTER", os.path.join(ROOT, "build", "san", "streamkpi_exporter"))
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
CHROMIUM = "/usr/bin/chromium"

# Every process any fixture started, so a crashed session still cleans up.
_STARTED = []


def require(path, how):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"{path} is missing: {how}", pytrace=False)


def free_port():
    """A port nobody listens on right now (bind 0 on 127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(what, fn, timeout=30.0, interval=0.25):
    """Calls fn until it returns a truthy value and returns that; fails the
    test naming `what` and the last value or exception at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # the component may not be up yet
            last = e
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})",
                        pytrace=False)
        time.sleep(interval)


def _spawn(cmd, log_path, env=None, cwd=None):
    log = open(log_path, "ab")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=env, cwd=cwd, start_new_session=True)
    log.close()
    _STARTED.append(p)
    return p


def _kill(p, sig=signal.SIGKILL, wait=15):
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=wait)


def _tail(path, n=3000):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def pytest_sessionfinish(session, exitstatus):
    for p in _STARTED:
        _kill(p)


# --------------------------------------------------------------------------
# Kafka

class KafkaBroker:
    """A single-node KRaft broker (combined broker+controller) on loopback.
    stop() kills it; start() again reuses the same data dir and ports."""

    def __init__(self, workdir):
        require(KAFKATOOL, "run `make build/tools/kafkatool`")
        if not os.path.isfile(os.path.join(KAFKA_LIBS, ".complete")):
            pytest.fail(f"no Kafka jars in {KAFKA_LIBS}: run scripts/deps.sh", pytrace=False)
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.proc = None
        self.log = os.path.join(self.dir, "broker.log")
        self._write_config()
        self._format()

    def _write_config(self):
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                         f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": os.path.join(self.dir, "data"),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
        }
        self.config = os.path.join(self.dir, "server.properties")
        with open(self.config, "w") as f:
            f.writelines(f"{k}={v}\n" for k, v in props.items())
        self.log4j = os.path.join(self.dir, "log4j2.properties")
        with open(self.log4j, "w") as f:
            f.write("appender.c.type = Console\nappender.c.name = STDOUT\n"
                    "appender.c.layout.type = PatternLayout\n"
                    "appender.c.layout.pattern = [%d] %p %m (%c)%n\n"
                    "rootLogger.level = warn\nrootLogger.appenderRef.c.ref = STDOUT\n")

    def _java(self, *args):
        # Small heap, C1 only: quick start, little CPU on a shared machine.
        return ["java", "-Xmx512m", "-Xms128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.log4j}",
                "-cp", os.path.join(KAFKA_LIBS, "*"), *args]

    def _format(self, cluster_id=None):
        # base64url ids may start with "-": hence --cluster-id=ID, never "-t ID".
        if cluster_id is None:
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        r = subprocess.run(self._java("kafka.tools.StorageTool", "format", "--standalone",
                                      f"--cluster-id={cluster_id}", "-c", self.config),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            pytest.fail(f"kafka storage format failed ({r.returncode}):\n{r.stdout}\n{r.stderr}",
                        pytrace=False)

    def start(self, timeout=90):
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        self.proc = _spawn(self._java("kafka.Kafka", self.config), self.log)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=90):
        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"kafka broker exited with {self.proc.returncode}:\n"
                            f"{_tail(self.log)}", pytrace=False)
            r = subprocess.run([KAFKATOOL, "-b", self.bootstrap, "-t", "3", "brokers"],
                               capture_output=True, text=True, timeout=30)
            return r.returncode == 0 and r.stdout.strip() == "1"
        poll(f"kafka broker on {self.bootstrap}", ready, timeout=timeout, interval=0.5)

    def stop(self):
        """Kills the broker (SIGKILL: an abrupt outage, as in production)."""
        _kill(self.proc)

    def tool(self, *args, timeout=60):
        """Runs kafkatool against this broker; fails the test on a non-zero
        exit.  Returns stdout."""
        cmd = [KAFKATOOL, "-b", self.bootstrap, "-t", "20", *map(str, args)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}",
                        pytrace=False)
        return r.stdout


class ToolProc:
    """A long-running kafkatool (consume --hold, follow)."""

    def __init__(self, broker, args):
        self.out = tempfile.NamedTemporaryFile(prefix="kafkatool-", suffix=".log",
                                               dir=broker.dir, delete=False).name
        self.args = args
        self.proc = _spawn([KAFKATOOL, "-b", broker.bootstrap, "-t", "30", *args], self.out)

    def output(self):
        return _tail(self.out, 100000)

    def wait_line(self, pattern, timeout=60):
        def seen():
            if self.proc.poll() is not None:
                pytest.fail(f"kafkatool {' '.join(self.args)} exited {self.proc.returncode}:\n"
                            f"{self.output()}", pytrace=False)
            return any(pattern.match(line) for line in self.output().splitlines())
        poll(f"kafkatool {' '.join(self.args)} to print {pattern.pattern}", seen, timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                _kill(self.proc)
                pytest.fail(f"kafkatool {' '.join(self.args)} ignored SIGTERM", pytrace=False)
        return self.proc.returncode


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    """One broker shared by every test that does not stop it."""
    b = KafkaBroker(str(tmp_path_factory.mktemp("kafka-shared")))
    try:
        b.start()
        yield b
    finally:
        b.stop()


@pytest.fixture
def dedicated_kafka(tmp_path):
    """A broker of the test's own, for tests that stop and restart it."""
    b = KafkaBroker(str(tmp_path / "kafka"))
    try:
        b.start()
        yield b
    finally:
        b.stop()


# --------------------------------------------------------------------------
# Prometheus text exposition

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)(?: (-?\d+(?:\.\d+)?))?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def _unescape(v):
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\":
            n = v[i + 1]
            if n not in 'n"\\':
                raise ValueError(f"bad escape \\{n} in label value {v!r}")
            out.append("\n" if n == "n" else n)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _value(s):
    special = {"+Inf": float("inf"), "-Inf": float("-inf"), "NaN": float("nan")}
    if s in special:
        return special[s]
    if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ValueError(f"bad sample value {s!r}")
    return float(s)


_TEXT_TYPES = {"counter": ("",), "gauge": ("",), "untyped": ("",),
               "histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}
_OM_TYPES = {"counter": ("_total", "_created"), "gauge": ("",), "unknown": ("",),
             "stateset": ("",), "info": ("_info",),
             "histogram": ("_bucket", "_sum", "_count", "_created"),
             "gaugehistogram": ("_gbucket", "_gsum", "_gcount"),
             "summary": ("", "_sum", "_count", "_created")}


def parse_metrics(text, openmetrics=False):
    """Parses 0.0.4 text (or OpenMetrics 1.0 when asked) strictly into
    {(name, frozenset(labels.items())): value}.  Raises ValueError on any
    malformed line, a sample outside its family's # TYPE block (or with a
    name its type does not allow), a family declared twice, a duplicate
    series, or (OpenMetrics) a missing or misplaced # EOF."""
    types = _OM_TYPES if openmetrics else _TEXT_TYPES
    series = {}
    declared = set()
    family, suffixes = None, ()
    if not text.endswith("\n"):
        raise ValueError("exposition does not end with a newline")
    lines = text[:-1].split("\n")
    if openmetrics:
        if lines[-1] != "# EOF":
            raise ValueError(f"OpenMetrics body does not end in '# EOF' but {lines[-1]!r}")
        lines = lines[:-1]
    for no, line in enumerate(lines, 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[1] not in ("HELP", "TYPE", "UNIT") or \
                    not re.fullmatch(_NAME, parts[2]):
                raise ValueError(f"line {no}: bad comment {line!r}")
            if parts[1] == "TYPE":
                if len(parts) != 4 or parts[3] not in types:
                    raise ValueError(f"line {no}: bad TYPE {line!r}")
                if parts[2] in declared:
                    raise ValueError(f"line {no}: family {parts[2]} declared twice")
                declared.add(parts[2])
                family, suffixes = parts[2], types[parts[3]]
            elif parts[2] != family and parts[2] in declared:
                raise ValueError(f"line {no}: {parts[1]} for finished family {parts[2]}")
            continue
        if line == "" and not openmetrics:
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"line {no}: bad sample {line!r}")
        name, raw, val = m.group(1), m.group(2), m.group(3)
        if family is None or name not in {family + sfx for sfx in suffixes}:
            raise ValueError(f"line {no}: sample {name} outside its family (current {family})")
        labels = {}
        if raw:
            pos = 0
            while pos < len(raw):
                lm = _LABEL.match(raw, pos)
                if not lm:
                    raise ValueError(f"line {no}: bad labels {raw!r}")
                if lm.group(1) in labels:
                    raise ValueError(f"line {no}: label {lm.group(1)} twice")
                labels[lm.group(1)] = _unescape(lm.group(2))
                pos = lm.end()
        key = (name, frozenset(labels.items()))
        if key in series:
            raise ValueError(f"line {no}: duplicate series {line!r}")
        series[key] = _value(val)
    return series


def families(text):
    """The family names declared by # TYPE lines, in order."""
    return [line.split(" ")[2] for line in text.splitlines() if line.startswith("# TYPE ")]


def select(series, name, **labels):
    """{frozenset(labels): value} of the series of `name` whose labels
    include all of `labels`."""
    want = set(labels.items())
    return {lab: v for (n, lab), v in series.items() if n == name and want <= lab}


def value(series, name, **labels):
    """The value of exactly one series; fails when none or several match."""
    hits = select(series, name, **labels)
    assert len(hits) == 1, f"expected one {name}{labels}, got {sorted(map(sorted, hits))}"
    return next(iter(hits.values()))


# --------------------------------------------------------------------------
# The exporter

class HttpResponse:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def text(self):
        return self.body.decode("utf-8")


def http_request(port, path, method="GET", headers=None, body=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return HttpResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        c.close()


class Exporter:
    """The ASan build of streamkpi_exporter with a config file of the test's
    own.  stop() asserts a clean exit: status 0 and no sanitizer report."""

    def __init__(self, workdir, config_yaml, extra_args=()):
        require(EXPORTER, "run `make build/san/streamkpi_exporter`")
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.config = os.path.join(self.dir, "streamkpi.yml")
        with open(self.config, "w") as f:
            f.write(config_yaml)
        self.log = os.path.join(self.dir, "exporter.log")
        self.args = [EXPORTER, f"--config.file={self.config}",
                     f"--web.listen-address=127.0.0.1:{self.port}", *extra_args]
        self.proc = None

    def start(self, timeout=30):
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
                   UBSAN_OPTIONS="print_stacktrace=1")
        # Its own working directory: the default state file lands there, so
        # tests never share (or leave behind) state.
        self.proc = _spawn(self.args, self.log, env=env, cwd=self.dir)

        def healthy():
            if self.proc.poll() is not None:
                pytest.fail(f"exporter exited with {self.proc.returncode}:\n{self.stderr()}",
                            pytrace=False)
            return self.get("/healthz", timeout=2).status == 200
        poll("exporter /healthz", healthy, timeout=timeout)
        return self

    def stderr(self):
        return _tail(self.log, 20000)

    def get(self, path, **kw):
        return http_request(self.port, path, **kw)

    def metrics_text(self, headers=None):
        r = self.get("/metrics", headers=headers)
        assert r.status == 200, f"/metrics answered {r.status}: {r.body[:500]!r}"
        return r.text()

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def wait_metrics(self, what, pred, timeout=30):
        """Polls /metrics until pred(series) is true; returns the series."""
        found = {}

        def check():
            s = self.metrics()
            found["last"] = s
            return s if pred(s) else None
        return poll(what, check, timeout=timeout, interval=0.5)

    def sanitizer_report(self):
        err = self.stderr()
        for marker in ("ERROR: AddressSanitizer", "runtime error", "ERROR: LeakSanitizer"):
            if marker in err:
                return err
        return None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            rc = self.proc.returncode if self.proc else None
        else:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _kill(self.proc)
                pytest.fail(f"exporter did not exit within 30s of SIGTERM:\n{self.stderr()}",
                            pytrace=False)
        report = self.sanitizer_report()
        assert report is None, f"sanitizer report in exporter stderr:\n{report}"
        assert rc == 0, f"exporter exited with {rc}:\n{self.stderr()}"

    def kill(self):
        _kill(self.proc)


def exporter_config(bootstrap, cluster="itest", interval="1s", stale_ttl="5m", extra=""):
    return (f"global:\n  sample_interval: {interval}\n  stale_ttl: {stale_ttl}\n"
            f"clusters:\n  - name: {cluster}\n    bootstrap_servers: \"{bootstrap}\"\n"
            f"    sample_interval: {interval}\n{extra}")


@pytest.fixture
def exporter_factory(tmp_path):
    """exporter_factory(config_yaml) starts an exporter; all are stopped (with
    the clean-exit assertions) at teardown, or killed when a test failed."""
    started = []

    def make(config_yaml, extra_args=(), start=True):
        e = Exporter(str(tmp_path / f"exporter{len(started)}"), config_yaml, extra_args)
        started.append(e)
        return e.start() if start else e
    yield make
    errors = []
    for e in started:
        if e.proc is None:
            continue
        try:
            e.stop()
        except BaseException as ex:  # report every exporter, then fail
            errors.append(str(ex))
        finally:
            e.kill()
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


# --------------------------------------------------------------------------
# Prometheus

class Prometheus:
    def __init__(self, workdir, target_port, rule_files=()):
        require(PROMETHEUS, "run scripts/deps.sh (Debian package prometheus)")
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: streamkpi\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n")
            if rule_files:
                f.write("rule_files:\n" + "".join(f"  - '{os.path.abspath(r)}'\n"
                                                     for r in rule_files))
        self.log = os.path.join(self.dir, "prometheus.log")
        self.proc = _spawn([PROMETHEUS, f"--config.file={self.config}",
                            f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                            f"--web.listen-address=127.0.0.1:{self.port}"], self.log)

        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"prometheus exited {self.proc.returncode}:\n{_tail(self.log)}",
                            pytrace=False)
            return http_request(self.port, "/-/ready", timeout=2).status == 200
        poll("prometheus /-/ready", ready, timeout=60)

    def query(self, expr):
        """Instant query; returns [(labels dict, float value)]."""
        r = http_request(self.port, "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert r.status == 200, f"prometheus query {expr!r}: {r.status} {r.body[:300]!r}"
        doc = json.loads(r.body)
        assert doc["status"] == "success", doc
        return [(res["metric"], float(res["value"][1])) for res in doc["data"]["result"]]

    def rule_groups(self):
        """The rule groups of /api/v1/rules (name, rules with health)."""
        r = http_request(self.port, "/api/v1/rules")
        assert r.status == 200, f"prometheus /api/v1/rules: {r.status} {r.body[:300]!r}"
        return json.loads(r.body)["data"]["groups"]

    def targets_health(self):
        r = http_request(self.port, "/api/v1/targets")
        return [t["health"] for t in json.loads(r.body)["data"]["activeTargets"]]

    def stop(self):
        _kill(self.proc, signal.SIGTERM)


@pytest.fixture
def prometheus_factory(tmp_path):
    started = []

    def make(target_port, rule_files=()):
        p = Prometheus(str(tmp_path / f"prometheus{len(started)}"), target_port, rule_files)
        started.append(p)
        return p
    yield make
    for p in started:
        p.stop()


# --------------------------------------------------------------------------
# Other tools

def promtool_check_metrics(text):
    """Runs `promtool check metrics` on text; returns (exit code, output)."""
    require(PROMTOOL, "run scripts/deps.sh (Debian package prometheus)")
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def chromium_dump_dom(url, workdir, home=None):
    """The DOM of url after headless Chromium rendered it.  home, when set,
    is Chromium's $HOME: its .pki/nssdb holds the certificates it trusts."""
    require(CHROMIUM, "run scripts/deps.sh (Debian package chromium)")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
           "--dump-dom", url]
    env = dict(os.environ, HOME=str(home)) if home else None
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True, env=env)
    _STARTED.append(p)
    try:
        out, err = p.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        _kill(p)
        pytest.fail(f"chromium did not finish rendering {url} within 90s", pytrace=False)
    assert p.returncode == 0, f"chromium exited {p.returncode}: {err[-2000:]!r}"
    return out.decode("utf-8", "replace")


def gunzip(data):
    return gzip.decompress(data)


# --------------------------------------------------------------------------
# Kafka clusters of several nodes

class KafkaCluster:
    """nodes KRaft nodes on loopback, each a combined broker and controller
    with a static controller quorum, for scenarios that need replication or
    one broker down.  Replication settings follow the node count; retention
    is checked every second so that short retention.ms values take effect
    within a test.  stop_node(i) kills node i (1-based); stop() kills all."""

    def __init__(self, workdir, nodes=3):
        require(KAFKATOOL, "run `make build/tools/kafkatool`")
        if not os.path.isfile(os.path.join(KAFKA_LIBS, ".complete")):
            pytest.fail(f"no Kafka jars in {KAFKA_LIBS}: run scripts/deps.sh", pytrace=False)
        self.dir = workdir
        self.n = nodes
        self.ports = [free_port() for _ in range(nodes)]
        self.cports = [free_port() for _ in range(nodes)]
        self.bootstrap = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        self.procs = [None] * nodes
        voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(self.cports))
        rf = str(min(3, nodes))
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.configs, self.logs = [], []
        for i in range(nodes):
            d = os.path.join(self.dir, f"node{i + 1}")
            os.makedirs(d, exist_ok=True)
            props = {
                "process.roles": "broker,controller",
                "node.id": str(i + 1),
                "controller.quorum.voters": voters,
                "listeners": f"PLAINTEXT://127.0.0.1:{self.ports[i]},"
                             f"CONTROLLER://127.0.0.1:{self.cports[i]}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.ports[i]}",
                "controller.listener.names": "CONTROLLER",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs": os.path.join(d, "data"),
                "offsets.topic.replication.factor": rf,
                "offsets.topic.num.partitions": "3",
                "transaction.state.log.replication.factor": rf,
                "transaction.state.log.min.isr": "1",
                "share.coordinator.state.topic.replication.factor": rf,
                "share.coordinator.state.topic.min.isr": "1",
                "group.initial.rebalance.delay.ms": "0",
                "auto.create.topics.enable": "false",
                "log.retention.check.interval.ms": "1000",
            }
            cfg = os.path.join(d, "server.properties")
            with open(cfg, "w") as f:
                f.writelines(f"{k}={v}\n" for k, v in props.items())
            self.configs.append(cfg)
            self.logs.append(os.path.join(d, "broker.log"))
        self.log4j = os.path.join(self.dir, "log4j2.properties")
        with open(self.log4j, "w") as f:
            f.write("appender.c.type = Console\nappender.c.name = STDOUT\n"
                    "appender.c.layout.type = PatternLayout\n"
                    "appender.c.layout.pattern = [%d] %p %m (%c)%n\n"
                    "rootLogger.level = warn\nrootLogger.appenderRef.c.ref = STDOUT\n")
        for cfg in self.configs:
            r = subprocess.run(self.java("kafka.tools.StorageTool", "format",
                                         f"--cluster-id={cluster_id}", "-c", cfg),
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                pytest.fail(f"kafka storage format failed ({r.returncode}):\n"
                            f"{r.stdout}\n{r.stderr}", pytrace=False)

    java = KafkaBroker._java

    def start(self, timeout=180):
        for i in range(self.n):
            self.procs[i] = _spawn(self.java("kafka.Kafka", self.configs[i]), self.logs[i])
        self.wait_brokers(self.n, timeout)
        return self

    def live_brokers(self):
        r = subprocess.run([KAFKATOOL, "-b", self.bootstrap, "-t", "10", "brokers"],
                           capture_output=True, text=True, timeout=30)
        return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip().isdigit() else -1

    def wait_brokers(self, count, timeout=180):
        def ready():
            for i, p in enumerate(self.procs):
                if p is not None and p.poll() is not None:
                    pytest.fail(f"kafka node {i + 1} exited with {p.returncode}:\n"
                                f"{_tail(self.logs[i])}", pytrace=False)
            return self.live_brokers() == count
        poll(f"{count} kafka brokers on {self.bootstrap}", ready, timeout=timeout, interval=1)

    def stop_node(self, i):
        _kill(self.procs[i - 1])
        self.procs[i - 1] = None

    def stop(self):
        for i in range(self.n):
            _kill(self.procs[i])
            self.procs[i] = None

    def tool(self, *args, timeout=60):
        cmd = [KAFKATOOL, "-b", self.bootstrap, "-t", "20", *map(str, args)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}",
                        pytrace=False)
        return r.stdout

    def alter_configs(self, entity_type, name, configs, timeout=120):
        """kafka-configs --alter from the Kafka jars: configs is a dict set
        with --add-config (a value of None is removed with
        --delete-config)."""
        add = ",".join(f"{k}={v}" for k, v in configs.items() if v is not None)
        delete = ",".join(k for k, v in configs.items() if v is None)
        args = ["kafka.admin.ConfigCommand", "--bootstrap-server", self.bootstrap,
                "--entity-type", entity_type, "--entity-name", name, "--alter"]
        if add:
            args += ["--add-config", add]
        if delete:
            args += ["--delete-config", delete]
        r = subprocess.run(self.java(*args), capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            pytest.fail(f"kafka-configs --alter {entity_type} {name} failed ({r.returncode}):\n"
                        f"{r.stdout}\n{r.stderr}", pytrace=False)


@pytest.fixture
def kafka_cluster_factory(tmp_path):
    """Starts KafkaCluster(nodes) on demand; kills every node at the end."""
    made = []

    def make(nodes=3):
        c = KafkaCluster(str(tmp_path / f"kafka-{nodes}n-{len(made)}"), nodes)
        made.append(c)
        return c.start()
    try:
        yield make
    finally:
        for c in made:
            c.stop()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "long: runs for minutes, mostly sleeping; fine to run in parallel with the rest")
