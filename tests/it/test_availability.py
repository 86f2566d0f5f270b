"""Availability and health incidents against a real broker outage.

A dedicated broker is killed for a time T measured on the test's own clock
(from the kill until kafkatool sees the broker again, bracketed) and
restarted.  The
exporter's canary probe (interval 1 s, timeout 1 s, open after 2 bad
intervals, resolve after 1 good one) must open exactly one incident and
resolve it, with a recovery time, downtime and availability that match T.

Tolerances are derived, not guessed.  The outage D lies between the kill
and the broker's readiness, bracketed by the test's own checks (T is the
middle of that bracket, W its width).  The probe's incident starts at the
end of its last good cycle: up to interval + timeout before the kill (longer
recovery).  It ends at the end of its last bad cycle: up to interval +
timeout before the broker is back (a cycle started earlier may succeed
within its timeout; shorter recovery), or up to 3 timeouts after it (a
failing produce-consume cycle waits for metadata, produce and round trip,
each bounded by the timeout; longer recovery).  So
    T - (interval + timeout) - W/2 <= recovery <= T + interval + 4 timeouts + W/2.
"""

import time

from conftest import poll, promtool_check_metrics, value
from helpers_avail import (OPEN_AFTER, PROBE_INTERVAL, PROBE_TIMEOUT, incidents, kpi_config,
                           one, restart_bracketed)

CLUSTER = "it3avail"


def health_incidents(e):
    return [i for i in incidents(e) if i["source"] == "health" and i["cluster"] == CLUSTER]


def test_broker_outage_is_one_incident_with_matching_downtime(dedicated_kafka, exporter_factory,
                                                              tmp_path):
    e = exporter_factory(kpi_config(dedicated_kafka.bootstrap, CLUSTER,
                                    str(tmp_path / "state.json")))
    # A healthy baseline: a few observed healthy probes, no incident.
    s = e.wait_metrics("healthy probes", lambda s: one(s, "streamkpi_healthy", cluster=CLUSTER)
                       == 1 and (one(s, "streamkpi_observed_seconds_total", cluster=CLUSTER)
                                 or 0) >= 3 * PROBE_INTERVAL, timeout=60)
    assert health_incidents(e) == []
    down_before = value(s, "streamkpi_downtime_seconds_total", cluster=CLUSTER)

    t_kill0 = time.monotonic()
    dedicated_kafka.stop()
    t_kill1 = time.monotonic()
    # Keep it down until the exporter has opened the incident (open_after bad
    # intervals), so the outage is long enough to be one by definition.
    poll("the health incident to open",
         lambda: [i for i in health_incidents(e) if i["open"]], timeout=30)
    s = e.metrics()
    assert value(s, "streamkpi_healthy", cluster=CLUSTER) == 0
    assert value(s, "streamkpi_incidents_open", cluster=CLUSTER, source="health") == 1
    t_lo, t_hi = restart_bracketed(dedicated_kafka)
    # The outage lasted between t_lo - t_kill1 and t_hi - t_kill0; T is its
    # midpoint and W/2 its uncertainty.
    T = ((t_lo - t_kill1) + (t_hi - t_kill0)) / 2
    W = (t_hi - t_kill0) - (t_lo - t_kill1)
    # Bounds from the module docstring.
    lo = T - (PROBE_INTERVAL + PROBE_TIMEOUT) - W / 2
    hi = T + PROBE_INTERVAL + 4 * PROBE_TIMEOUT + W / 2
    tol = max(T - lo, hi - T)

    s = e.wait_metrics("the incident to resolve", lambda s: one(
        s, "streamkpi_incidents_resolved_total", cluster=CLUSTER, source="health") == 1,
        timeout=60)
    incs = health_incidents(e)
    assert len(incs) == 1, f"want exactly one health incident, got {incs}"
    inc = incs[0]
    assert not inc["open"], inc
    assert inc["cause"] == "all_brokers_unreachable", inc
    recovery = inc["duration_seconds"]
    print(f"outage T={T:.3f}s bracket W={W:.3f}s bounds [{lo:.3f}, {hi:.3f}] incident={inc}")
    assert abs(recovery - (inc["end_unix"] - inc["start_unix"])) < 1e-3, inc
    assert lo <= recovery <= hi, \
        f"recovery {recovery:.3f}s outside [{lo:.3f}, {hi:.3f}] for a measured outage of {T:.3f}s"
    # At least open_after intervals were bad before the incident existed.
    assert recovery >= OPEN_AFTER * PROBE_INTERVAL, inc

    lab = dict(cluster=CLUSTER, source="health")
    assert value(s, "streamkpi_incidents_opened_total", **lab) == 1
    assert value(s, "streamkpi_incidents_resolved_total", **lab) == 1
    assert value(s, "streamkpi_incidents_open", **lab) == 0
    assert value(s, "streamkpi_incident_recovery_seconds_count", **lab) == 1
    assert abs(value(s, "streamkpi_incident_recovery_seconds_sum", **lab) - recovery) < 1e-3
    mttr = value(s, "streamkpi_mttr_seconds", cluster=CLUSTER, window="1h")
    assert abs(mttr - recovery) < 1e-3, (mttr, recovery)

    # Downtime during the outage is the incident: its first bad interval to
    # its first good one.
    down = value(s, "streamkpi_downtime_seconds_total", cluster=CLUSTER) - down_before
    assert abs(down - recovery) < 1e-3, f"downtime grew by {down}, incident lasted {recovery}"

    # Availability over the 1h window (it covers the exporter's whole life):
    # 1 - down/observed, and within one tolerance of 1 - T/observed.
    observed = value(s, "streamkpi_observed_seconds_total", cluster=CLUSTER)
    down_total = value(s, "streamkpi_downtime_seconds_total", cluster=CLUSTER)
    ratio = value(s, "streamkpi_availability_ratio", cluster=CLUSTER, window="1h")
    assert abs(ratio - (1 - down_total / observed)) < 1e-6, (ratio, down_total, observed)
    # down_before: probes that failed while the exporter started, if any.
    want = 1 - (T + down_before) / observed
    assert abs(ratio - want) <= tol / observed, \
        f"availability {ratio:.4f} vs 1 - T/observed = {want:.4f} (T={T:.2f})"
    assert value(s, "streamkpi_healthy", cluster=CLUSTER) == 1

    rc, out = promtool_check_metrics(e.metrics_text())
    assert (rc, out) == (0, ""), f"promtool check metrics:\n{out}"
