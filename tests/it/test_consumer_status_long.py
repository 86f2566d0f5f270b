"""An idle consumer over a whole status window of the default length.

The scripted-status scenario judges over a short window; this one keeps the
default 10-minute window and runs past it, reading the status of every
sample the exporter takes:
- idle: read everything, committed, still a member, no traffic at all;
- idle-gone: caught up and then left (offsets committed, no member);
both must be OK in every sample.  A control group with a member that
committed part of its topic and stopped reading must turn STALLED once the
window is covered, so the window really was judged.  Marked `long`: it
mostly sleeps and may run in parallel with the rest.
"""

import json
import time
import uuid

import pytest

from conftest import ToolProc, exporter_config, poll, select

WINDOW_S = 600
INTERVAL = "5s"


def _statuses(series, cluster, group):
    return [dict(lab)["status"] for lab, v in select(series, "kafka_consumergroup_status",
                                                     cluster=cluster, consumergroup=group).items()
            if v == 1]


def _cycles(series, cluster):
    vals = [v for lab, v in select(series, "streamkpi_source_cycles_total", cluster=cluster).items()
            if dict(lab).get("source") == "kafka"]
    return int(vals[0]) if vals else 0


@pytest.mark.long
def test_idle_consumer_is_ok_in_every_sample_over_ten_minutes(kafka, exporter_factory):
    tag = uuid.uuid4().hex[:8]
    cluster = "cslong"
    t = {k: f"csl-{tag}-{k}" for k in ("idle", "gone", "stall")}
    g = {k: f"gl-{tag}-{k}" for k in t}
    for topic in t.values():
        kafka.tool("create", topic, 1, 1)
        kafka.tool("produce", topic, 0, 10)
    hold = str(WINDOW_S + 300)
    procs = []
    try:
        idle = ToolProc(kafka, ["consume", g["idle"], t["idle"], "--max", "10", "--hold", hold])
        procs.append(idle)
        procs.append(ToolProc(kafka, ["consume", g["stall"], t["stall"], "--max", "4",
                                      "--hold", hold]))
        kafka.tool("commit", g["gone"], t["gone"], 0, 10)

        e = exporter_factory(exporter_config(
            kafka.bootstrap, cluster=cluster, interval=INTERVAL,
            extra="consumer_status:\n  window: 10m\n"))
        poll("the idle group caught up at lag 0", lambda: any(
            grp["group"] == g["idle"] and grp.get("lag") == 0
            for c in json.loads(e.get("/api/v1/groups").text())["clusters"]
            if c["cluster"] == cluster for grp in c["groups"]), timeout=120)

        per_sample = {}  # cycle -> {group key: status}
        stall_at = None
        start = time.monotonic()
        # Past the window, with a margin for the control to turn STALLED.
        deadline = start + WINDOW_S + 120
        while time.monotonic() < deadline:
            s = e.metrics()
            n = _cycles(s, cluster)
            if n and n not in per_sample:
                per_sample[n] = {k: _statuses(s, cluster, g[k]) for k in g}
                if per_sample[n]["stall"] == ["STALLED"] and stall_at is None:
                    stall_at = time.monotonic() - start
            if stall_at is not None and time.monotonic() - start > WINDOW_S + 10:
                break
            time.sleep(1.0)
        elapsed = time.monotonic() - start

        bad = {n: st for n, st in per_sample.items()
               if st["idle"] != ["OK"] or st["gone"] != ["OK"]}
        assert not bad, f"idle groups not OK in samples: {bad}"
        assert elapsed >= WINDOW_S, elapsed
        # Every sample was read: at 5 s, a 10-minute run is at least 120.
        assert len(per_sample) >= WINDOW_S // 5 - 2, sorted(per_sample)
        assert stall_at is not None, "the stalled control never turned STALLED"

        doc = json.loads(e.get("/api/v1/groups").text())
        groups = {grp["group"]: grp for c in doc["clusters"] if c["cluster"] == cluster
                  for grp in c["groups"]}
        assert groups[g["idle"]]["status"] == "OK" and groups[g["idle"]]["lag"] == 0
        assert groups[g["gone"]]["status"] == "OK" and groups[g["gone"]]["lag"] == 0
        assert groups[g["stall"]]["status"] == "STALLED" and groups[g["stall"]]["lag"] == 6
        # The idle member stayed in its group the whole time.
        assert idle.proc.poll() is None, idle.output()
    finally:
        for p in procs:
            p.stop()
