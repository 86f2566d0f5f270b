"""Alertmanager incidents through a real Alertmanager.

Debian's Alertmanager (config checked by amtool) sends its webhook to the
exporter with a bearer token; an alert pushed firing and then resolved must
become exactly one resolved incident whose duration is the alert's endsAt -
startsAt, counted in the MTTR.  Malformed, oversized and unauthenticated
bodies are refused with 400/413/401 and change nothing.
"""

import json
import time

import pytest

from conftest import exporter_config, poll, promtool_check_metrics, value
from helpers_avail import (TOKEN, alertmanager_config, alertmanager_factory,  # noqa: F401
                           amtool_check_config, incidents, kpi_config, one, post_webhook,
                           rfc3339, webhook_payload)

CLUSTER = "it3am"


def test_alertmanager_alert_becomes_one_resolved_incident(kafka, exporter_factory,
                                                          alertmanager_factory, tmp_path):
    e = exporter_factory(kpi_config(kafka.bootstrap, CLUSTER, str(tmp_path / "state.json")))
    cfg = alertmanager_config(e.port)
    cfg_path = tmp_path / "am-check.yml"
    cfg_path.write_text(cfg)
    rc, out = amtool_check_config(str(cfg_path))
    assert rc == 0, f"amtool check-config failed:\n{out}"
    am = alertmanager_factory(cfg)

    # Whole seconds, in the past: the payload's times are exact.
    now = int(time.time())
    starts, ends = now - 300, now - 20
    labels = {"alertname": "KafkaUnderReplicated", "severity": "critical", "cluster": CLUSTER}
    am.push([{"labels": labels, "annotations": {"summary": "it3"}, "startsAt": rfc3339(starts)}])

    def open_incident():
        inc = [i for i in incidents(e) if i["source"] == "alertmanager"]
        return inc if inc and inc[0]["open"] else None
    inc = _poll("the firing alert to open an incident", open_incident, am)
    assert len(inc) == 1, inc
    assert inc[0]["cause"] == "KafkaUnderReplicated"
    assert inc[0]["cluster"] == CLUSTER
    assert inc[0]["start_unix"] == starts
    assert inc[0]["end"] is None and inc[0]["end_unix"] is None

    am.push([{"labels": labels, "annotations": {"summary": "it3"}, "startsAt": rfc3339(starts),
              "endsAt": rfc3339(ends)}])

    def resolved():
        inc = [i for i in incidents(e) if i["source"] == "alertmanager"]
        return inc if inc and not inc[0]["open"] else None
    inc = _poll("the resolved alert to close the incident", resolved, am)
    assert len(inc) == 1, inc
    assert inc[0]["start_unix"] == starts and inc[0]["end_unix"] == ends
    assert inc[0]["duration_seconds"] == ends - starts
    assert inc[0]["labels"] == labels

    lab = dict(cluster=CLUSTER, source="alertmanager")
    # /metrics is composed asynchronously from the engine's published sets.
    s = e.wait_metrics("the resolution in /metrics",
                       lambda s: one(s, "streamkpi_incidents_resolved_total", **lab) == 1)
    assert value(s, "streamkpi_incidents_opened_total", **lab) == 1
    assert value(s, "streamkpi_incidents_resolved_total", **lab) == 1
    assert value(s, "streamkpi_incidents_open", **lab) == 0
    assert value(s, "streamkpi_incident_recovery_seconds_count", **lab) == 1
    assert value(s, "streamkpi_incident_recovery_seconds_sum", **lab) == ends - starts
    # The 60 s bucket must not hold a 280 s recovery; +Inf must.
    assert _bucket(s, lab, "60") == 0
    assert _bucket(s, lab, "+Inf") == 1
    assert value(s, "streamkpi_mttr_seconds", cluster=CLUSTER, window="1h") == ends - starts

    # Alertmanager may repeat notifications; the incident stays one.
    assert len([i for i in incidents(e) if i["source"] == "alertmanager"]) == 1

    rc, out = promtool_check_metrics(e.metrics_text())
    assert (rc, out) == (0, ""), f"promtool check metrics:\n{out}"


def _bucket(s, lab, le):
    """The value of the bucket whose le parses to le (renderings differ:
    60, 60.0, +Inf)."""
    want = float(le)
    hits = [v for (n, ls), v in s.items()
            if n == "streamkpi_incident_recovery_seconds_bucket" and set(lab.items()) <= ls
            and float(dict(ls)["le"]) == want]
    assert len(hits) <= 1, hits
    return hits[0] if hits else None


def _poll(what, fn, am):
    """poll() that adds Alertmanager's log to the failure message."""
    try:
        return poll(what, fn, timeout=30)
    except pytest.fail.Exception as ex:
        pytest.fail(f"{ex}\nalertmanager log:\n{am.output()[-4000:]}", pytrace=False)


def test_webhook_refuses_bad_bodies_and_changes_nothing(kafka, exporter_factory, tmp_path):
    e = exporter_factory(kpi_config(kafka.bootstrap, CLUSTER, str(tmp_path / "state.json")))
    now = int(time.time())
    good = webhook_payload("firing", [("fp-good", {"alertname": "Good", "cluster": CLUSTER},
                                       now - 60, None, "firing")])
    r = post_webhook(e, good)
    assert r.status == 200, (r.status, r.body)
    before_list = incidents(e)
    assert [i["fingerprint"] for i in before_list] == ["fp-good"]
    # The app thread publishes an accepted body within a tick.
    e.wait_metrics("the good alert counted", lambda s: one(
        s, "streamkpi_incidents_opened_total", cluster=CLUSTER, source="alertmanager") == 1)

    def counters():
        s = e.metrics()
        return {k: v for k, v in s.items() if k[0].startswith("streamkpi_incident")
                or k[0].startswith("streamkpi_mttr")
                or k[0] == "streamkpi_alertmanager_unknown_resolved_total"}
    # /metrics is composed asynchronously: the reference is a snapshot that
    # already counts the good incident.
    e.wait_metrics("the good incident counted", lambda s: one(
        s, "streamkpi_incidents_opened_total", cluster=CLUSTER, source="alertmanager") == 1)
    before = counters()

    another = webhook_payload("firing", [("fp-new", {"alertname": "New", "cluster": CLUSTER},
                                          now - 30, None, "firing")])
    # A valid alert followed by a broken one: nothing of the body may apply.
    doc = json.loads(another)
    doc["alerts"].append({"status": "firing", "labels": {"alertname": "Bad"},
                          "annotations": {}, "startsAt": "yesterday", "endsAt": "",
                          "fingerprint": "fp-bad"})
    half_bad = json.dumps(doc).encode()
    cases = [
        ("not json", b"{\"version\": \"4\", \"alerts\": [", TOKEN, 400),
        ("json but not a payload", b"[1, 2, 3]", TOKEN, 400),
        ("wrong version", another.replace(b'"version": "4"', b'"version": "3"'), TOKEN, 400),
        ("one bad alert among good ones", half_bad, TOKEN, 400),
        ("binary garbage", bytes(range(256)) * 4, TOKEN, 400),
        ("empty body", b"", TOKEN, 400),
        ("oversized", b"{\"alerts\":[" + b" " * (1024 * 1024 + 1) + b"]}", TOKEN, 413),
        ("wrong token", another, "not-the-token", 401),
        ("no token", another, None, 401),
    ]
    sent_401 = 0
    for what, body, token, want in cases:
        r = post_webhook(e, body, token=token)
        assert r.status == want, f"{what}: got {r.status} {r.body[:200]!r}, want {want}"
        now_list = incidents(e)
        assert now_list == _with_durations(before_list, now_list), what
        # /metrics is published by the app thread (and a 413 never reaches
        # the engine): send a request with a wrong token after this one and
        # wait for the snapshot that counted every 401 sent so far, the
        # marker included; then nothing else may have moved.
        sent_401 += (want == 401) + 1
        assert post_webhook(e, b"{}", token="marker").status == 401
        e.wait_metrics(f"{what}: a later request counted", lambda s: one(
            s, "streamkpi_alertmanager_webhook_requests_total", code="401") == sent_401)
        assert counters() == before, f"{what} changed the incident metrics"

    # The exporter is still fine and the good path still works.
    r = post_webhook(e, another)
    assert r.status == 200, (r.status, r.body)
    assert sorted(i["fingerprint"] for i in incidents(e)) == ["fp-good", "fp-new"]
    e.wait_metrics("the second incident counted", lambda s: one(
        s, "streamkpi_incidents_opened_total", cluster=CLUSTER, source="alertmanager") == 2)


def _with_durations(old, new):
    """old with the running duration_seconds of open incidents taken from
    new (they grow with time; everything else must be equal)."""
    dur = {i["id"]: i["duration_seconds"] for i in new}
    out = []
    for i in old:
        j = dict(i)
        if i["open"] and i["id"] in dur:
            j["duration_seconds"] = dur[i["id"]]
        out.append(j)
    return out


def test_webhook_closed_without_token_and_foreign_clusters_share_a_bucket(
        kafka, exporter_factory, tmp_path):
    base = exporter_config(kafka.bootstrap, cluster=CLUSTER,
                           extra=f"state:\n  path: \"{tmp_path / 'state.json'}\"\n")
    now = int(time.time())
    body = webhook_payload("firing", [("fp-x", {"alertname": "X", "cluster": "forged"},
                                       now - 60, None, "firing")])
    closed = exporter_factory(base)
    r = post_webhook(closed, body, token=None)
    assert r.status == 403, (r.status, r.body)
    assert b"webhook_open" in r.body
    assert incidents(closed) == []
    closed.stop()

    opened = exporter_factory(base + "incidents:\n  webhook_open: true\n")
    r = post_webhook(opened, body, token=None)
    assert r.status == 200, (r.status, r.body)
    assert [(i["fingerprint"], i["cluster"]) for i in incidents(opened)] == [("fp-x", "other")]
    # Times before 2000 or far ahead are refused with the reason.
    future = webhook_payload("firing", [("fp-y", {"alertname": "Y", "cluster": CLUSTER},
                                         now + 10 * 86400, None, "firing")])
    r = post_webhook(opened, future, token=None)
    assert r.status == 400 and b"ahead" in r.body, (r.status, r.body)
