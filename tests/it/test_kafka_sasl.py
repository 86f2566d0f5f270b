"""A broker behind SASL_SSL with SCRAM-SHA-512, as production clusters are.

The broker is Kafka 3.9.1 (KRaft, the official jars in build/kafka39/libs):
brokers from 4.0 on check the SCRAM nonce strictly and refuse the proof that
librdkafka before 2.6.1 sends (Debian bookworm ships 2.0.2), so a SCRAM
login to them fails whatever the password; the README says so.
It gets a SASL_SSL listener whose
certificate comes from a test CA made here with openssl; the SCRAM user is
added when the storage is formatted.  A plaintext listener stays for the
test's own tools (creating topics, producing, committing).
- With the right credentials the exporter samples through SASL_SSL: offsets
  and lag equal what the test wrote, and the canary probe succeeds.
- With a wrong password, a second cluster of the same exporter is down with
  the refused login in the log and on the landing page ("login refused:"
  and librdkafka's reason), its failed cycles counted, while the first keeps working and the process keeps
  running.  No password appears in any log line, page or metric.
"""

import base64
import os
import subprocess
import uuid

import pytest

from conftest import ROOT, KafkaBroker, free_port, poll, select, value

KAFKA39_LIBS = os.path.join(ROOT, "build", "kafka39", "libs")

USER = "streamkpi"
PASSWORD = "s3cret-" + uuid.uuid4().hex[:12]
WRONG = "wrong-" + uuid.uuid4().hex[:12]


def _sh(*cmd, cwd):
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=120)


def make_pki(d):
    """A CA and a server certificate for 127.0.0.1 and localhost; the broker
    reads the key and certificate from one PEM file."""
    _sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.crt", "-days", "2", "-subj", "/CN=streamkpi kafka test CA", cwd=d)
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out",
        "broker.csr", "-subj", "/CN=localhost", cwd=d)
    _sh("openssl", "x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "broker.crt", "-days", "2", "-extfile", "san.ext", cwd=d)
    (d / "broker.pem").write_text((d / "broker.key").read_text() + (d / "broker.crt").read_text())
    return d


class SaslBroker(KafkaBroker):
    """KafkaBroker plus a SASL_SSL listener (SCRAM-SHA-512) on sasl_port."""

    def __init__(self, workdir, pki):
        if not os.path.isfile(os.path.join(KAFKA39_LIBS, ".complete")):
            pytest.fail(f"no Kafka 3.9 jars in {KAFKA39_LIBS}: run scripts/deps.sh", pytrace=False)
        self.pki = pki
        self.sasl_port = free_port()
        super().__init__(workdir)
        self.sasl_bootstrap = f"127.0.0.1:{self.sasl_port}"

    def _java(self, *args):
        cmd = super()._java(*args)
        cmd[cmd.index("-cp") + 1] = os.path.join(KAFKA39_LIBS, "*")
        return cmd

    def _write_config(self):
        super()._write_config()
        lines = open(self.config).read().splitlines()
        plain, ctl = f"PLAINTEXT://127.0.0.1:{self.port}", \
            f"CONTROLLER://127.0.0.1:{self.controller_port}"
        sasl = f"SASL_SSL://127.0.0.1:{self.sasl_port}"
        out = []
        for line in lines:
            key = line.split("=", 1)[0]
            if key in ("listeners", "advertised.listeners"):
                line = f"{key}={plain},{sasl},{ctl}"
            elif key == "listener.security.protocol.map":
                line = f"{key}=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
            out.append(line)
        out += [
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.pki}/broker.pem",
        ]
        with open(self.config, "w") as f:
            f.write("\n".join(out) + "\n")

    def _format(self, cluster_id=None):
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        r = subprocess.run(self._java(
            "kafka.tools.StorageTool", "format", "--standalone", f"--cluster-id={cluster_id}",
            "--add-scram", f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]", "-c", self.config),
            capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            pytest.fail(f"kafka storage format failed ({r.returncode}):\n{r.stdout}\n{r.stderr}",
                        pytrace=False)


@pytest.fixture
def sasl_kafka(tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    b = SaslBroker(str(tmp_path / "kafka"), make_pki(pki))
    try:
        b.start()
        yield b
    finally:
        b.stop()


def _cluster(name, bootstrap, password, ca):
    return (f"  - name: {name}\n    bootstrap_servers: \"{bootstrap}\"\n    sample_interval: 1s\n"
            f"    properties:\n      security.protocol: SASL_SSL\n"
            f"      sasl.mechanism: SCRAM-SHA-512\n      sasl.username: {USER}\n"
            f"      sasl.password: \"{password}\"\n      ssl.ca.location: {ca}\n")


def test_sasl_ssl_scram_right_and_wrong_password(sasl_kafka, exporter_factory):
    k = sasl_kafka
    topic, group = f"sasl-{uuid.uuid4().hex[:8]}", f"g-sasl-{uuid.uuid4().hex[:8]}"
    k.tool("create", topic, 3, 1)
    written = {0: 7, 1: 11, 2: 4}
    for part, n in written.items():
        k.tool("produce", topic, part, n)
    k.tool("commit", group, topic, 1, 5)

    ca = f"{k.pki}/ca.crt"
    config = ("global:\n  sample_interval: 1s\nprobe:\n  interval: 1s\n  timeout: 5s\n"
              "  replication_factor: 1\nclusters:\n"
              + _cluster("secure", k.sasl_bootstrap, PASSWORD, ca)
              + _cluster("wrongpass", k.sasl_bootstrap, WRONG, ca))
    e = exporter_factory(config)

    def truth(s):
        offs = {p: value(s, "kafka_topic_partition_current_offset", cluster="secure",
                         topic=topic, partition=str(p)) for p in written}
        return offs == written and value(s, "kafka_consumergroup_lag", cluster="secure",
                                         consumergroup=group, topic=topic, partition="1") == 6
    s = e.wait_metrics("the SASL_SSL cluster's offsets and lag", truth, timeout=90)
    assert value(s, "streamkpi_source_up", cluster="secure", source="kafka") == 1
    assert value(s, "kafka_consumergroup_current_offset", cluster="secure", consumergroup=group,
                 topic=topic, partition="1") == 5
    e.wait_metrics("a successful canary probe through SASL_SSL", lambda s: value(
        s, "streamkpi_probe_success", cluster="secure") == 1, timeout=90)

    # The wrong password: down, counted, said in the log and on the landing
    # page; the exporter keeps serving and the other cluster keeps working.
    def wrong_down(s):
        up = select(s, "streamkpi_source_up", cluster="wrongpass", source="kafka")
        errs = select(s, "streamkpi_source_errors_total", cluster="wrongpass", source="kafka")
        return (up and list(up.values())[0] == 0 and errs and list(errs.values())[0] >= 2)
    s = e.wait_metrics("the wrong-password cluster down with counted errors", wrong_down,
                       timeout=120)
    assert value(s, "streamkpi_source_up", cluster="secure", source="kafka") == 1
    poll("an authentication error in the log", lambda: "wrongpass" in e.stderr()
         and "Authentication failed" in e.stderr(), timeout=60)
    # The landing page's row of the Kafka source says why it is down.
    def wrong_row():
        page = e.get("/").text()
        rows = [r for r in page.split("<tr>") if "wrongpass</td><td>kafka</td>" in r]
        return rows[0] if rows and "login refused" in rows[0] else None
    row = poll("the landing page to show the refused login", wrong_row, timeout=60)
    assert "state down" in row and "SASL authentication error" in row, row
    landing = e.get("/").text()
    assert e.get("/ready").status == 503
    n0 = value(s, "streamkpi_source_errors_total", cluster="wrongpass", source="kafka")
    s = e.wait_metrics("the failed cycles still counted", lambda s: value(
        s, "streamkpi_source_errors_total", cluster="wrongpass", source="kafka") > n0, timeout=60)
    assert e.proc.poll() is None

    # No secret anywhere the exporter writes.
    pages = [e.stderr(), e.metrics_text(), landing]
    for path in ("/api/v1/groups", "/api/v1/timelag", "/api/v1/assessment", "/report"):
        r = e.get(path)
        pages.append(r.text())
    for text in pages:
        assert PASSWORD not in text and WRONG not in text
