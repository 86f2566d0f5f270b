"""The state file keeps what Kafka cannot give back.

- An exporter stopped for a while and restarted keeps its incidents, MTTR
  and counters; the time it was away counts as unobserved (neither up nor
  down).
- kill -9 in a bounded loop while it persists every 200 ms: the state file
  is always a complete state file and never loses more than a persist
  interval.
- A corrupt or foreign state file is moved aside byte for byte, counted, and
  the exporter starts fresh.
"""

import glob
import json
import os
import random
import time

from conftest import Exporter, _spawn, poll, promtool_check_metrics, value
from helpers_avail import (PROBE_INTERVAL, PROBE_TIMEOUT, incidents, kpi_config, one,
                           post_webhook, read_state, webhook_payload)

CLUSTER = "it3state"
PERSIST = 0.2      # seconds, the kill loop's persist interval
KILLS = 50


def observed(s):
    return one(s, "streamkpi_observed_seconds_total", cluster=CLUSTER)


def saved_observed(doc):
    sec = doc["sections"].get(f"availability/{CLUSTER}")
    return sec["observed"] if sec else 0.0


def resolved_am_incident(e, fp, duration):
    """Posts a firing then a resolved alert; returns the incident."""
    now = int(time.time())
    starts, ends = now - duration - 10, now - 10
    labels = {"alertname": "Earlier", "cluster": CLUSTER}
    for st, end in (("firing", None), ("resolved", ends)):
        r = post_webhook(e, webhook_payload(st, [(fp, labels, starts, end, st)]))
        assert r.status == 200, (st, r.status, r.body)
    inc = [i for i in incidents(e) if i["fingerprint"] == fp]
    assert len(inc) == 1 and not inc[0]["open"] and inc[0]["duration_seconds"] == duration, inc
    return inc[0]


def incident_metrics(s):
    return {k: v for k, v in s.items() if k[0].startswith("streamkpi_incident")
            or k[0].startswith("streamkpi_mttr")}


def test_restart_gap_is_unobserved_and_history_survives(kafka, exporter_factory, tmp_path):
    state = str(tmp_path / "state.json")
    cfg = kpi_config(kafka.bootstrap, CLUSTER, state, persist_interval="1s")
    e = exporter_factory(cfg)
    e.wait_metrics("observed healthy probes", lambda s: one(
        s, "streamkpi_healthy", cluster=CLUSTER) == 1 and (observed(s) or 0) >= 3, timeout=60)
    resolved_am_incident(e, "fp-earlier", 100)
    listing = incidents(e)
    # /metrics is composed asynchronously: wait until it shows the incident.
    s1 = e.wait_metrics("the incident in /metrics", lambda s: one(
        s, "streamkpi_mttr_seconds", cluster=CLUSTER, window="1h") == 100)
    t1 = time.monotonic()
    o1 = observed(s1)
    d1 = value(s1, "streamkpi_downtime_seconds_total", cluster=CLUSTER)
    inc1 = incident_metrics(s1)
    assert value(s1, "streamkpi_mttr_seconds", cluster=CLUSTER, window="1h") == 100

    e.stop()
    t_stop = time.monotonic()
    o_saved = saved_observed(read_state(state))
    assert o_saved >= o1
    # Away for longer than the tolerance below, so counting the gap as
    # observed could not pass.
    tol = PROBE_INTERVAL + PROBE_TIMEOUT
    time.sleep(3 * tol)

    t_start = time.monotonic()
    e2 = exporter_factory(cfg)
    s2 = e2.wait_metrics("observations after the restart",
                         lambda s: (observed(s) or 0) > o_saved, timeout=60)
    t2 = time.monotonic()
    o2 = observed(s2)
    up = (t_stop - t1) + (t2 - t_start)
    assert o1 <= o2 <= o1 + up + tol, \
        f"observed {o1} -> {o2} over {up:.2f}s of uptime (away {t_start - t_stop:.2f}s)"
    # Downtime may only grow by what was observed (a probe failing on a
    # loaded machine is observed downtime); the gap itself is neither.
    d2 = value(s2, "streamkpi_downtime_seconds_total", cluster=CLUSTER)
    assert d1 <= d2 <= d1 + (o2 - o1), f"downtime {d1} -> {d2}, observed {o1} -> {o2}"
    assert one(s2, "streamkpi_healthy", cluster=CLUSTER) == 1

    # The incident history, its counters and the MTTR continue unchanged.
    assert incidents(e2) == listing
    assert incident_metrics(s2) == inc1
    assert value(s2, "streamkpi_incidents_opened_total", cluster=CLUSTER,
                 source="alertmanager") == 1
    assert value(s2, "streamkpi_mttr_seconds", cluster=CLUSTER, window="1h") == 100
    assert value(s2, "streamkpi_state_corrupt_files_total") == 0

    # A second incident after the restart counts on top, not from zero.
    resolved_am_incident(e2, "fp-later", 300)
    s3 = e2.wait_metrics("the second incident in /metrics", lambda s: one(
        s, "streamkpi_incidents_resolved_total", cluster=CLUSTER, source="alertmanager") == 2)
    assert value(s3, "streamkpi_incidents_opened_total", cluster=CLUSTER,
                 source="alertmanager") == 2
    assert value(s3, "streamkpi_incident_recovery_seconds_count", cluster=CLUSTER,
                 source="alertmanager") == 2
    assert value(s3, "streamkpi_mttr_seconds", cluster=CLUSTER, window="1h") == 200
    rc, out = promtool_check_metrics(e2.metrics_text())
    assert (rc, out) == (0, ""), f"promtool check metrics:\n{out}"


def test_kill9_while_persisting_never_breaks_the_state(kafka, exporter_factory, tmp_path):
    state = str(tmp_path / "state.json")
    cfg = kpi_config(kafka.bootstrap, CLUSTER, state, persist_interval=f"{int(PERSIST * 1000)}ms")
    workdir = str(tmp_path / "killed")
    rng = random.Random(3)
    prev = 0.0
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0")
    ex = None
    try:
        for i in range(KILLS):
            ex = Exporter(workdir, cfg)
            if i % 5 == 4:
                # Some kills land in the start itself: loading, moving, first flush.
                ex.proc = _spawn(ex.args, ex.log, env=env)
                time.sleep(rng.uniform(0, 0.5))
                seen = None
            else:
                ex.start()
                time.sleep(rng.uniform(0, 0.5))
                seen = observed(ex.metrics()) or 0.0
                # What /metrics showed must be on disk one persist interval
                # later (twice that, for the flush's own fsyncs).
                time.sleep(2 * PERSIST)
            ex.kill()
            assert ex.proc.returncode == -9, f"kill {i}: exporter exited {ex.proc.returncode}"
            if seen is not None or os.path.exists(state):
                doc = read_state(state)
                saved = saved_observed(doc)
                assert saved >= prev, f"kill {i}: saved observed went back {prev} -> {saved}"
                if seen is not None:
                    assert saved >= seen, \
                        f"kill {i}: /metrics showed observed {seen}, the state file has {saved}"
                prev = saved
        print(f"{KILLS} kills, saved observed seconds at the end: {prev}")
        assert prev >= 1, f"{KILLS} runs and the state never saved an observation ({prev})"
        assert glob.glob(state + ".corrupt-*") == [], "a state file written by us was refused"
        report = ex.sanitizer_report()
        assert report is None, f"sanitizer report:\n{report}"

        # A last run loads the survivor and stops cleanly.
        last = exporter_factory(cfg)
        s = last.wait_metrics("the saved observations to load",
                              lambda s: (observed(s) or 0) >= prev, timeout=30)
        assert value(s, "streamkpi_state_corrupt_files_total") == 0
    finally:
        if ex is not None:
            ex.kill()


def test_corrupt_state_is_moved_aside_and_exporter_starts_fresh(kafka, exporter_factory,
                                                               tmp_path):
    state = str(tmp_path / "state.json")
    cfg = kpi_config(kafka.bootstrap, CLUSTER, state, persist_interval="500ms")
    e = exporter_factory(cfg)
    resolved_am_incident(e, "fp-doomed", 50)
    e.wait_metrics("an observation", lambda s: (observed(s) or 0) > 0, timeout=60)
    e.stop()
    good = open(state, "rb").read()
    doc = json.loads(good)
    assert doc["sections"]["incidents"], doc

    torn = good[:len(good) // 2]
    foreign = json.dumps(dict(doc, version=99)).encode()
    for n, (what, raw) in enumerate((("torn write", torn), ("another version", foreign)), 1):
        with open(state, "wb") as f:
            f.write(raw)
        e = exporter_factory(cfg)
        aside = sorted(glob.glob(state + ".corrupt-*"))
        assert len(aside) == n, f"{what}: files moved aside: {aside}"
        held = [p for p in aside if open(p, "rb").read() == raw]
        assert len(held) == 1, f"{what}: no file in {aside} holds the original bytes"
        s = e.metrics()
        assert value(s, "streamkpi_state_corrupt_files_total") == 1, what
        assert incidents(e) == [], f"{what}: incidents survived a corrupt state file"
        assert one(s, "streamkpi_incidents_opened_total", cluster=CLUSTER,
                   source="alertmanager") in (None, 0), what
        assert held[0] in e.stderr(), f"{what}: no log line names {held[0]}"
        # Fresh, and writing a good file again.
        poll(f"{what}: a new state file", lambda: read_state(state)["written"] > 0, timeout=30)
        rc, out = promtool_check_metrics(e.metrics_text())
        assert (rc, out) == (0, ""), f"promtool check metrics:\n{out}"
        e.stop()
