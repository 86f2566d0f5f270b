"""The web side under a careful operator and a hostile client.

- TLS and Basic auth from --web.config.file (exporter-toolkit format), with a
  test CA made by openssl here: curl without credentials or with a wrong
  password gets 401 on every endpoint, the right password 200, plain HTTP to
  the TLS port gets no answer, a client certificate is required when
  configured and must chain to the client CA.
- Headless Chromium, trusting the test CA through an NSS database made with
  certutil (no certificate errors ignored), renders the landing page over
  TLS with Basic auth.
- A garbage web config file fails --config.check with FILE:LINE: KEY.
- 1,000 slow connections from 16 loopback addresses, each sending its
  request head one byte a second: a scraper still gets every answer.
- Raw requests: an encoded NUL in the path, HEAD, broken framing
  (Transfer-Encoding, chunk sizes, Content-Length) each get one answer.
- A FIFO at the state path and an over-long telemetry path are refused at
  start; a state section its loader refuses is kept aside with the reason.

These scenarios need no Kafka: the web server answers whatever the sources
say, so the cluster points at a closed port.
"""

import base64
import glob
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import warnings
import http.client

import pytest

from conftest import CHROMIUM, EXPORTER, Exporter, HttpResponse, chromium_dump_dom, require

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import slowloris  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libxcrypt through Python: makes the bcrypt hashes

USER, PASSWORD = "alice", "correct horse"
CLOSED_BROKER = "127.0.0.1:1"
CONFIG = (f"clusters:\n  - name: websec\n    bootstrap_servers: \"{CLOSED_BROKER}\"\n"
          "    sample_interval: 5s\nprobe:\n  enabled: false\n")


def sh(*cmd, cwd=None):
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=120)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA, a server certificate for localhost and 127.0.0.1, a client
    certificate from the CA and one from nobody's CA."""
    d = tmp_path_factory.mktemp("pki")
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
       "ca.crt", "-days", "2", "-subj", "/CN=streamkpi test CA", cwd=d)
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                               "extendedKeyUsage=serverAuth\n")
    for name, subj, ext in (("server", "/CN=localhost", "san.ext"), ("client", "/CN=scraper",
                                                                       None)):
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
           f"{name}.csr", "-subj", subj, cwd=d)
        cmd = ["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey",
               "ca.key", "-CAcreateserial", "-out", f"{name}.crt", "-days", "2"]
        if ext:
            cmd += ["-extfile", ext]
        sh(*cmd, cwd=d)
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "stranger.key",
       "-out", "stranger.crt", "-days", "2", "-subj", "/CN=stranger", cwd=d)
    return d


def bcrypt_hash(password):
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 8))
    assert h and h.startswith("$2"), h
    return h


def web_config(pki, client_auth=None, users=True):
    text = (f"tls_server_config:\n  cert_file: {pki}/server.crt\n  key_file: {pki}/server.key\n")
    if client_auth:
        text += f"  client_auth_type: {client_auth}\n  client_ca_file: {pki}/ca.crt\n"
    text += "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=300\n"
    if users:
        text += f"basic_auth_users:\n  {USER}: '{bcrypt_hash(PASSWORD)}'\n"
    return text


class TlsExporter(Exporter):
    """The exporter behind TLS; healthy once /healthz answers over TLS with
    the test CA, the credentials and, when needed, the client certificate."""

    def __init__(self, workdir, pki, webcfg, client_cert=False):
        os.makedirs(workdir, exist_ok=True)
        path = os.path.join(workdir, "web.yml")
        with open(path, "w") as f:
            f.write(webcfg)
        super().__init__(workdir, CONFIG, extra_args=(f"--web.config.file={path}",))
        self.pki, self.client_cert = pki, client_cert

    def get(self, path, **kw):
        return https_get(self.port, path, self.pki, auth=(USER, PASSWORD),
                         cert="client" if self.client_cert else None)


def https_get(port, path, pki, auth=None, cert=None, timeout=10):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert:
        ctx.load_cert_chain(str(pki / f"{cert}.crt"), str(pki / f"{cert}.key"))
    c = http.client.HTTPSConnection("localhost", port, timeout=timeout, context=ctx)
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(
            f"{auth[0]}:{auth[1]}".encode()).decode()
    try:
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        return HttpResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        c.close()


@pytest.fixture
def tls_exporters(tmp_path):
    started = []

    def make(pki, webcfg, client_cert=False):
        e = TlsExporter(str(tmp_path / f"tls{len(started)}"), pki, webcfg, client_cert)
        started.append(e)
        return e.start()
    yield make
    for e in started:
        try:
            e.stop()
        finally:
            e.kill()


def curl(*args):
    """curl's HTTP status ("000" when there was no HTTP answer) and exit code."""
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                        "10", *args], capture_output=True, text=True, timeout=30)
    return p.stdout.strip(), p.returncode


def test_tls_and_basic_auth_curl_matrix(pki, tls_exporters):
    e = tls_exporters(pki, web_config(pki))
    base = f"https://localhost:{e.port}"
    ca = ["--cacert", str(pki / "ca.crt")]
    for path in ("/metrics", "/", "/healthz", "/ready", "/api/v1/incidents", "/nope"):
        assert curl(*ca, base + path) == ("401", 0), path
        assert curl(*ca, "-u", f"{USER}:wrong", base + path) == ("401", 0), path
        assert curl(*ca, "-u", f"bob:{PASSWORD}", base + path) == ("401", 0), path
    for path in ("/metrics", "/", "/healthz", "/api/v1/incidents"):
        assert curl(*ca, "-u", f"{USER}:{PASSWORD}", base + path) == ("200", 0), path
    r = e.get("/metrics")
    assert r.status == 200 and b"streamkpi_" in r.body
    assert r.headers.get("strict-transport-security") == "max-age=300"
    # Plain HTTP to the TLS port: no HTTP answer at all.
    status, rc = curl(f"http://127.0.0.1:{e.port}/metrics")
    assert status == "000" and rc != 0, (status, rc)
    # A certificate the client does not trust is refused by the client.
    status, rc = curl(f"https://localhost:{e.port}/healthz")
    assert status == "000" and rc == 60, (status, rc)


def test_client_certificate_required(pki, tls_exporters):
    e = tls_exporters(pki, web_config(pki, client_auth="RequireAndVerifyClientCert"),
                      client_cert=True)
    base = f"https://localhost:{e.port}/metrics"
    common = ["--cacert", str(pki / "ca.crt"), "-u", f"{USER}:{PASSWORD}"]
    assert curl(*common, base)[0] == "403"
    assert curl(*common, "--cert", str(pki / "stranger.crt"), "--key",
                str(pki / "stranger.key"), base)[0] in ("403", "000")
    assert curl(*common, "--cert", str(pki / "client.crt"), "--key", str(pki / "client.key"),
                base) == ("200", 0)


def test_landing_page_in_chromium_over_tls(pki, tls_exporters, tmp_path):
    require(CHROMIUM, "run scripts/deps.sh (Debian package chromium)")
    e = tls_exporters(pki, web_config(pki))
    # Chromium on Linux reads trust from $HOME/.pki/nssdb: a home of the
    # test's own with the test CA trusted for TLS servers.
    home = tmp_path / "home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    sh("certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password")
    sh("certutil", "-A", "-d", f"sql:{nssdb}", "-n", "streamkpi-test-ca", "-t", "C,,", "-i",
       str(pki / "ca.crt"))

    def dump(url, home=home):
        return chromium_dump_dom(url, str(tmp_path), home=home)

    url = f"https://{USER}:{PASSWORD.replace(' ', '%20')}@localhost:{e.port}/"
    dom = dump(url)
    assert "<h1>streamkpi exporter</h1>" in dom, dom[:2000]
    assert 'class="cluster">websec<' in dom
    # Without credentials, and without the CA trusted, no landing page.
    assert "<h1>streamkpi exporter</h1>" not in dump(f"https://localhost:{e.port}/")
    untrusting = tmp_path / "home-without-ca"
    untrusting.mkdir()
    assert "<h1>streamkpi exporter</h1>" not in dump(url, home=untrusting)


def test_config_check_refuses_garbage_web_config(tmp_path):
    require(EXPORTER, "run `make build/san/streamkpi_exporter`")
    cfg = tmp_path / "streamkpi.yml"
    cfg.write_text(CONFIG)
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
                   "  min_version: TLS9\n")
    p = subprocess.run([EXPORTER, f"--config.file={cfg}", f"--web.config.file={web}",
                        "--config.check"], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert p.returncode == 2, p
    assert f"{web}:2: tls_server_config.cert_file: cannot read" in p.stderr, p.stderr
    (tmp_path / "a.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "a.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    p = subprocess.run([EXPORTER, f"--config.file={cfg}", f"--web.config.file={web}",
                        "--config.check"], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert p.returncode == 2, p
    assert f"{web}:4: tls_server_config.min_version: expected TLS10" in p.stderr, p.stderr


@pytest.fixture
def plain_exporter(tmp_path):
    e = Exporter(str(tmp_path / "plain"), CONFIG)
    e.start()
    yield e
    try:
        e.stop()
    finally:
        e.kill()


def test_slowloris_leaves_room_for_the_scraper(plain_exporter):
    """1,000 slow connections from 16 source addresses for about 15 s (long
    enough for the head deadline to cut them), the scraper asking all the
    while.  The latencies are printed; bench/slowloris.py measures them."""
    res = slowloris.run(plain_exporter.port, conns=1000, ips=16, scrapes=12, warmup=12.0)
    print("slowloris:", json.dumps(res))
    assert res["answers_200"] == 12, res
    assert res["slow_opens"] >= 1000, res
    assert res["slow_reopened"] > 0, res  # the head deadline cut slow heads


def raw(port, data, timeout=15):
    """Sends data on a fresh connection; returns all bytes until the server
    closes, or fails when it does not within timeout seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                pytest.fail(f"no end of answer within {timeout}s for {data[:80]!r}: {out!r}",
                            pytrace=False)
            if not b:
                return out
            out += b


def content_length(head):
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return None


def test_raw_request_matrix(plain_exporter):
    port = plain_exporter.port
    close = b"Host: x\r\nConnection: close\r\n"
    out = raw(port, b"GET /metrics%00x HTTP/1.1\r\n" + close + b"\r\n")
    assert out.startswith(b"HTTP/1.1 404 "), out[:200]
    get = raw(port, b"GET /metrics HTTP/1.1\r\n" + close + b"\r\n")
    head = raw(port, b"HEAD /metrics HTTP/1.1\r\n" + close + b"\r\n")
    assert get.startswith(b"HTTP/1.1 200 ") and head.startswith(b"HTTP/1.1 200 ")
    gh, gbody = get.split(b"\r\n\r\n", 1)
    assert content_length(gh) == len(gbody) > 0
    hh, hbody = head.split(b"\r\n\r\n", 1)
    assert hbody == b"" and content_length(hh) > 0
    api = raw(port, b"HEAD /api/v1/incidents HTTP/1.1\r\n" + close + b"\r\n")
    assert api.startswith(b"HTTP/1.1 200 "), api[:200]
    assert api.split(b"\r\n\r\n", 1)[1] == b""
    gz = raw(port, b"GET /metrics HTTP/1.1\r\nAccept-Encoding: gzip;\r\n" + close + b"\r\n")
    assert gz.startswith(b"HTTP/1.1 200 ") and b"Content-Encoding: gzip" in gz
    post = b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: x\r\n"
    # A transfer coding the server does not know: refused at once (by
    # libmicrohttpd, before any route), not left waiting for the timeout.
    out = raw(port, post + b"Transfer-Encoding: gzip\r\n\r\nxxxx")
    assert out.startswith(b"HTTP/1.1 400 ") and out.count(b"HTTP/1.1 ") == 1, out
    out = raw(port, post + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc")
    assert out.startswith(b"HTTP/1.1 411 ") and out.count(b"HTTP/1.1 ") == 1, out
    # Still serving after all of that.
    assert plain_exporter.get("/healthz").status == 200


def run_to_exit(args, cwd, timeout=60):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    return p.returncode, p.stderr


def test_fifo_state_path_and_long_telemetry_path_refused(tmp_path):
    require(EXPORTER, "run `make build/san/streamkpi_exporter`")
    fifo = tmp_path / "state.fifo"
    os.mkfifo(fifo)
    cfg = tmp_path / "streamkpi.yml"
    cfg.write_text(CONFIG + f"state:\n  path: {fifo}\n")
    rc, err = run_to_exit([EXPORTER, f"--config.file={cfg}", "--web.listen-address=127.0.0.1:0"],
                          tmp_path)
    assert rc == 2, err
    assert "not a regular file" in err and str(fifo) in err, err
    cfg.write_text(CONFIG + f"state:\n  path: {tmp_path}/state.json\n")
    rc, err = run_to_exit([EXPORTER, f"--config.file={cfg}", "--web.listen-address=127.0.0.1:0",
                           "--web.telemetry-path=/" + "m" * 127], tmp_path)
    assert rc == 2 and "longer than 127 characters" in err, err


def test_refused_state_section_kept_aside(tmp_path):
    state = tmp_path / "state.json"
    bad = {"next_id": "plenty"}
    state.write_text(json.dumps({"format": "streamkpi-state", "version": 1, "written": 1,
                                 "sections": {"incidents": bad}}))
    e = Exporter(str(tmp_path / "ex"), CONFIG + f"state:\n  path: {state}\n")
    e.start()
    try:
        kept = glob.glob(f"{state}.rejected-incidents-*.json")
        assert len(kept) == 1, (kept, e.stderr())
        doc = json.load(open(kept[0]))
        assert doc["section"] == "incidents" and doc["document"] == bad
        assert "next_id" in doc["reason"], doc
        assert os.stat(kept[0]).st_mode & 0o777 == 0o600
    finally:
        e.stop()
        e.kill()


def test_sigterm_ends_a_startup_stuck_on_a_fifo(tmp_path):
    """A FIFO given as the configuration must not make the process deaf:
    either it is refused, or SIGTERM ends the start that waits on it."""
    require(EXPORTER, "run `make build/san/streamkpi_exporter`")
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen([EXPORTER, f"--config.file={fifo}", "--web.listen-address=127.0.0.1:0"],
                         cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        try:
            p.wait(timeout=2)  # refused already, or still waiting on the FIFO
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode in (0, 2, -signal.SIGTERM), p.returncode


def test_config_check_tries_what_the_start_needs(pki, tmp_path):
    """--config.check binds the listen address and lets it go, and loads the
    TLS certificate with its key as the server would: an address that is not
    local, a key of another certificate and a client CA file without a
    certificate all fail the check as they would fail the start.  An address
    in use (by a running exporter, say) is a warning only."""
    require(EXPORTER, "run `make build/san/streamkpi_exporter`")
    cfg = tmp_path / "streamkpi.yml"
    cfg.write_text(CONFIG)

    def check(listen, webcfg=None):
        args = [EXPORTER, f"--config.file={cfg}", f"--web.listen-address={listen}",
                "--config.check"]
        if webcfg is not None:
            web = tmp_path / "web.yml"
            web.write_text(webcfg)
            args.append(f"--web.config.file={web}")
        rc, err = run_to_exit(args, cwd=tmp_path)
        return rc, err

    # 192.0.2.1 is a documentation address: never one of this machine's.
    rc, err = check("192.0.2.1:10308")
    assert rc == 2 and "--web.listen-address: cannot bind 192.0.2.1:10308" in err, err
    rc, err = check("127.0.0.1:0", web_config(pki))
    assert rc == 0, err
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        rc, err = check(f"127.0.0.1:{held.getsockname()[1]}")
        assert rc == 0 and "listen address is in use now" in err, err
    mismatched = (f"tls_server_config:\n  cert_file: {pki}/server.crt\n"
                  f"  key_file: {pki}/stranger.key\n")
    rc, err = check("127.0.0.1:0", mismatched)
    assert rc == 2 and "cert_file and key_file refused" in err, err
    (tmp_path / "empty-ca.pem").write_text("no certificate here\n")
    bad_ca = (f"tls_server_config:\n  cert_file: {pki}/server.crt\n  key_file: {pki}/server.key\n"
              f"  client_auth_type: RequireAndVerifyClientCert\n"
              f"  client_ca_file: {tmp_path}/empty-ca.pem\n")
    rc, err = check("127.0.0.1:0", bad_ca)
    assert rc == 2 and "client_ca_file" in err, err
    # What the check refused, the start refuses too.
    e = Exporter(str(tmp_path / "start"), CONFIG,
                 extra_args=[f"--web.config.file={tmp_path}/web.yml"])
    rc, err = run_to_exit(e.args, cwd=tmp_path)
    assert rc != 0, err


def test_bad_content_length_is_answered_once(plain_exporter):
    """A Content-Length that is not a number, or past 64 bits, is refused
    before any route runs, with exactly one answer (one status line, one
    head, the body its Content-Length announces) and the connection closed.
    Debian bookworm's libmicrohttpd 0.9.75 wrote that head twice, so the
    exporter links the 1.0.1 that scripts/build-mhd.sh builds."""
    ver = subprocess.run([EXPORTER, "--version"], capture_output=True, text=True,
                         timeout=30).stdout
    assert "libmicrohttpd 1.0.1," in ver, ver
    post = b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: x\r\n"
    for value, status in ((b"12abc", b"400 Bad Request"), (b"-1", b"400 Bad Request"),
                          (b"1 2", b"400 Bad Request"), (b"0x10", b"400 Bad Request"),
                          (b"99999999999999999999999", b"413 Content Too Large"),
                          (b"18446744073709551615", b"413 Content Too Large")):
        out = raw(plain_exporter.port, post + b"Content-Length: " + value + b"\r\n\r\n")
        assert out.count(b"HTTP/1.1 ") == 1, (value, out)
        head, body = out.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 " + status), (value, out)
        assert b"Connection: close" in head, (value, out)
        assert content_length(head) == len(body) > 0, (value, out)
    # A length the library can hold is the exporter's to judge (here: the
    # webhook is closed, 403, one head).
    out = raw(plain_exporter.port, post + b"Content-Length: 1000000000000\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 403 ") and out.count(b"HTTP/1.1 ") == 1, out
    assert plain_exporter.get("/healthz").status == 200
