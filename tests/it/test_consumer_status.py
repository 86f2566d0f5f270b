"""Consumer group status and connection utilisation against a real broker.

Scripted consumers, each on a topic of its own, with a 20 s status window and
a 1 s sample interval:
- idle: read everything, committed, still a member, no new traffic -> OK at
  every poll of the scenario, never an alarm;
- slow: follows a topic produced faster than it reads -> WARNING;
- stalled: a member that committed part of the topic and stopped reading ->
  STALLED;
- stopped: offsets committed, no member -> STOPPED;
- skipped: its committed offset deleted by DeleteRecords -> ERROR;
- rewound: committed offset moved back -> REWIND;
- pair: two members on a one-partition topic -> one active, one idle member.
The reason of every status is in GET /api/v1/groups.  Waits are polls with a
deadline; no assertion depends on timing beyond "within the deadline".
"""

import json
import uuid

from conftest import ToolProc, exporter_config, poll, promtool_check_metrics, select, value

WINDOW = "20s"


def _status(series, cluster, group):
    """The status whose series is 1 for group, or None."""
    on = [dict(lab)["status"] for lab, v in select(series, "kafka_consumergroup_status",
                                                   cluster=cluster, consumergroup=group).items()
          if v == 1]
    return on[0] if len(on) == 1 else None


def _groups_api(e, cluster):
    r = e.get("/api/v1/groups")
    assert r.status == 200, r.body
    doc = json.loads(r.text())
    for c in doc["clusters"]:
        if c["cluster"] == cluster:
            return {g["group"]: g for g in c["groups"]}
    return {}


def test_every_scripted_status_and_no_alarm_on_idle(kafka, exporter_factory):
    tag = uuid.uuid4().hex[:8]
    cluster = "cstatus"
    t = {k: f"cs-{tag}-{k}" for k in ("idle", "slow", "stall", "stop", "skip", "rewind", "pair")}
    g = {k: f"g-{tag}-{k}" for k in t}
    for topic in t.values():
        kafka.tool("create", topic, 1, 1)
    for k in ("idle", "stall", "stop", "skip", "rewind"):
        kafka.tool("produce", t[k], 0, 10)

    procs = []
    try:
        idle = ToolProc(kafka, ["consume", g["idle"], t["idle"], "--max", "10", "--hold", "600"])
        procs.append(idle)
        stall = ToolProc(kafka, ["consume", g["stall"], t["stall"], "--max", "5", "--hold", "600"])
        procs.append(stall)
        for _ in range(2):
            procs.append(ToolProc(kafka, ["consume", g["pair"], t["pair"], "--max", "0",
                                          "--hold", "600"]))
        procs.append(ToolProc(kafka, ["produce", t["slow"], "0", "6000", "--rate", "40/s"]))
        procs.append(ToolProc(kafka, ["-X", "auto.commit.interval.ms=1000", "follow", g["slow"],
                                      t["slow"], "--delay", "100"]))
        kafka.tool("commit", g["stop"], t["stop"], 0, 4)
        kafka.tool("commit", g["skip"], t["skip"], 0, 2)
        kafka.tool("commit", g["rewind"], t["rewind"], 0, 8)

        e = exporter_factory(exporter_config(
            kafka.bootstrap, cluster=cluster,
            extra=f"consumer_status:\n  window: {WINDOW}\n"))

        # The rewind needs the exporter to have seen offset 8 first.
        poll("the exporter to see the rewound group's first commit",
             lambda: _groups_api(e, cluster).get(g["rewind"], {}).get("lag") == 2, timeout=60)
        kafka.tool("commit", g["rewind"], t["rewind"], 0, 3)
        kafka.tool("truncate", t["skip"], 0, 6)

        want = {"idle": "OK", "slow": "WARNING", "stall": "STALLED", "stop": "STOPPED",
                "skip": "ERROR", "rewind": "REWIND"}
        # What each group may show on the way: OK until its window is covered;
        # the rewound group, without members and with lag, ends STOPPED once
        # its REWIND window has passed.
        allowed = {"idle": {"OK"}, "slow": {"OK", "WARNING"}, "stall": {"OK", "STALLED"},
                   "stop": {"OK", "STOPPED"}, "skip": {"OK", "ERROR"},
                   "rewind": {"OK", "REWIND", "STOPPED"}}
        seen = {k: set() for k in want}
        api = {}

        def all_seen():
            st = {k: _status(e.metrics(), cluster, g[k]) for k in want}
            for k, v in st.items():
                if v is None:
                    continue
                seen[k].add(v)
                if v == want[k] and k not in api:
                    api[k] = _groups_api(e, cluster).get(g[k])
            return all(want[k] in seen[k] for k in want) or None
        try:
            poll("every status as scripted", all_seen, timeout=120, interval=1.0)
        finally:
            print("statuses seen:", seen)
        for k in want:
            assert seen[k] <= allowed[k], (k, seen[k])

        # The API said the same, with the reason (read when the status was
        # first seen, so it may already be a sample newer).
        assert "below the oldest offset 6" in api["skip"]["reason"]
        assert "went back from 8 to 3" in api["rewind"]["reason"]
        assert "no members" in api["stop"]["reason"]
        assert "has members" in api["stall"]["reason"]
        assert api["stall"]["lag"] == 5
        assert api["idle"]["lag"] == 0

        # Connection utilisation: the pair shares one partition.
        s = e.wait_metrics("the pair's assignment", lambda s: select(
            s, "streamkpi_consumer_members_idle", cluster=cluster, consumergroup=g["pair"]))
        def one(name, grp):
            return value(s, name, cluster=cluster, consumergroup=grp)
        assert one("streamkpi_consumer_members_active", g["pair"]) == 1
        assert one("streamkpi_consumer_members_idle", g["pair"]) == 1
        assert one("streamkpi_consumer_assigned_partitions", g["pair"]) == 1
        assert one("streamkpi_consumer_parallelism_ratio", g["stall"]) == 1
        assert not select(s, "streamkpi_consumer_members_active", cluster=cluster,
                          consumergroup=g["stop"])
        rc, out = promtool_check_metrics(e.metrics_text())
        assert rc == 0 and out.strip() == "", out
    finally:
        for p in procs:
            p.stop()
