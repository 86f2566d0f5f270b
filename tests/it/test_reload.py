"""Configuration reload on SIGHUP and on POST /-/reload.

A real broker and the exporter with a state file and a webhook token.  An
Alertmanager incident is opened, an SLO is added to the file and SIGHUP
sent: the new SLO must appear, the incident must still be there (the old
app writes the state as it stops, the new one reads it), and no scrape made
during the reload may fail.  A garbage file sent through POST /-/reload
(served only with --web.enable-lifecycle) must leave the running
configuration in place and set streamkpi_config_last_reload_successful to 0.
"""

import os
import signal
import threading
import time

from conftest import select, value
from helpers_avail import TOKEN, incidents, kpi_config, post_webhook, webhook_payload  # noqa: F401

CLUSTER = "itreload"
SLO = "reload-up"


def _scrape_until(e, stop, results):
    """Scrapes /metrics until stop is set, counting answers and failures."""
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            r = e.get("/metrics", timeout=10)
            results["ok" if r.status == 200 else "bad"] += 1
            if r.status != 200:
                results.setdefault("why", []).append(f"HTTP {r.status}")
        except OSError as err:
            results["bad"] += 1
            results.setdefault("why", []).append(
                f"{type(err).__name__}: {err} after {time.monotonic() - t0:.1f} s")


def _kept(e):
    return [(i["id"], i["fingerprint"], i["open"], i["start_unix"]) for i in incidents(e)]


def test_sighup_applies_the_new_config_and_keeps_incidents(kafka, exporter_factory, tmp_path):
    cfg = kpi_config(kafka.bootstrap, CLUSTER, str(tmp_path / "state.json"))
    e = exporter_factory(cfg, extra_args=("--web.enable-lifecycle",))
    now = int(time.time())
    body = webhook_payload("firing", [("fp-reload", {"alertname": "Down", "cluster": CLUSTER},
                                       now - 120, None, "firing")])
    r = post_webhook(e, body)
    assert r.status == 200, (r.status, r.body)
    before = _kept(e)
    assert [k[1] for k in before] == ["fp-reload"]
    s = e.metrics()
    assert not select(s, "streamkpi_slo_events_total", slo=SLO)
    assert value(s, "streamkpi_config_last_reload_successful") == 1

    with open(e.config, "a") as f:
        f.write(f"slos:\n  - name: {SLO}\n    sli: probe_availability\n"
                f"    objective: 0.99\n    cluster: {CLUSTER}\n")
    stop, results = threading.Event(), {"ok": 0, "bad": 0}
    scrapers = [threading.Thread(target=_scrape_until, args=(e, stop, results))
                for _ in range(2)]
    for t in scrapers:
        t.start()
    try:
        os.kill(e.proc.pid, signal.SIGHUP)
        s = e.wait_metrics("the new SLO after SIGHUP",
                           lambda s: select(s, "streamkpi_slo_events_total", slo=SLO))
    finally:
        stop.set()
        for t in scrapers:
            t.join(timeout=30)
    assert results["bad"] == 0, f"scrapes failed during the reload: {results}"
    assert results["ok"] > 0
    assert value(s, "streamkpi_config_last_reload_successful") == 1
    assert "configuration reloaded" in e.stderr()
    assert _kept(e) == before, "an incident was lost or changed by the reload"
    # The webhook of the new app takes the resolve of the incident opened before.
    done = webhook_payload("resolved", [("fp-reload", {"alertname": "Down", "cluster": CLUSTER},
                                         now - 120, now - 10, "resolved")])
    assert post_webhook(e, done).status == 200
    assert [(i["fingerprint"], i["open"]) for i in incidents(e)] == [("fp-reload", False)]

    with open(e.config, "a") as f:
        f.write("clusters: [unclosed\n")
    r = e.get("/-/reload", method="POST")
    assert r.status == 200, (r.status, r.body)
    s = e.wait_metrics("the refused reload counted",
                       lambda s: value(s, "streamkpi_config_last_reload_successful") == 0)
    assert select(s, "streamkpi_slo_events_total", slo=SLO), "the running config was dropped"
    assert "reload refused" in e.stderr()
    assert [(i["fingerprint"], i["open"]) for i in incidents(e)] == [("fp-reload", False)]


def test_reload_endpoint_needs_the_lifecycle_flag(kafka, exporter_factory, tmp_path):
    e = exporter_factory(kpi_config(kafka.bootstrap, CLUSTER, str(tmp_path / "state.json")))
    r = e.get("/-/reload", method="POST")
    assert r.status == 404, (r.status, r.body)
    assert "configuration reloaded" not in e.stderr()
