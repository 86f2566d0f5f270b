#!/usr/bin/env python3
"""Turns the raw measurements of bench/run.sh (build/bench/run/) into
bench/RESULTS.md on stdout.  Standard library only.  Every figure comes from
a file of that run; nothing is typed in by hand."""

import json
import os
import re
import statistics
import sys

RUN = sys.argv[1] if len(sys.argv) > 1 else "build/bench/run"

API = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
       9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
       15: "DescribeGroups", 16: "ListGroups", 18: "ApiVersions", 32: "DescribeConfigs",
       35: "DescribeLogDirs", 60: "DescribeCluster", 71: "ConsumerGroupDescribe",
       75: "DescribeTopicPartitions"}
CLIENT = {"streamkpi": "streamkpi", "kafka_exporter": "kafka_exporter", "kminion": "kminion"}


def path(name):
    return os.path.join(RUN, name)


def read(name, default=None):
    try:
        with open(path(name), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def kv(name):
    out = {}
    for tok in (read(name) or "").split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def env():
    out = {}
    for line in (read("env.txt") or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def floats(name, col=0):
    vals = []
    for line in (read(name) or "").splitlines():
        parts = line.split()
        try:
            vals.append(float(parts[col]))
        except (IndexError, ValueError):
            pass
    return vals


def med(vals):
    return statistics.median(vals) if vals else None


def fmt_b(v):
    if not v:
        return "n/a"
    return "%.1f MB" % (v / 1e6) if v >= 1e6 else "%.1f kB" % (v / 1e3)


def fmt_s(v):
    if v is None:
        return "n/a"
    if v < 0.001:
        return "%.0f µs" % (v * 1e6)
    if v < 1:
        return "%.1f ms" % (v * 1e3)
    return "%.2f s" % v


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return "%.1f×" % (a / b)


def wrk(name):
    """p50, p99 (seconds), requests/s, errors text from a wrk --latency log."""
    text = read(name)
    if not text:
        return None
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
    lat = {}
    for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        lat[m.group(1)] = float(m.group(2)) * unit[m.group(3)]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    nreq = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    errs = []
    se = re.search(r"Socket errors: (.*)", text)
    if se:
        errs.append("socket errors: " + se.group(1).strip())
    nx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if nx:
        errs.append("non-2xx: " + nx.group(1))
    return {"p50": lat.get("50"), "p99": lat.get("99"), "n": int(nreq.group(1)) if nreq else 0,
            "rps": float(rps.group(1)) if rps else None, "errors": "; ".join(errs)}


LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def prom(name):
    """{metric: {frozenset(labels): value}} from a text exposition."""
    out = {}
    for line in (read(name) or "").splitlines():
        if not line or line[0] == "#":
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)", line)
        if not m:
            continue
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        try:
            out.setdefault(m.group(1), {})[labels] = float(m.group(3))
        except ValueError:
            pass
    return out


def lookup(metrics, name, **want):
    for labels, v in metrics.get(name, {}).items():
        d = dict(labels)
        if all(d.get(k) == w for k, w in want.items()):
            return v
    return None


def requests(win):
    """Broker requests by client and kind between two request-log offsets."""
    counts = {}
    log = path("broker/requests.log")
    if not win or "reqlog_from" not in win or not os.path.exists(log):
        return counts
    a, b = int(win["reqlog_from"]), int(win["reqlog_to"])
    with open(log, "rb") as f:
        f.seek(a)
        data = f.read(max(0, b - a)).decode("utf-8", "replace")
    for line in data.splitlines():
        k = re.search(r'"requestApiKey":(\d+)', line)
        c = re.search(r'"clientId":"([^"]*)"', line)
        if not k or not c:
            continue
        key = API.get(int(k.group(1)), "api%s" % k.group(1))
        counts.setdefault(c.group(1), {}).setdefault(key, 0)
        counts[c.group(1)][key] += 1
    return counts


def per_cycle_text(counts, n):
    if not counts or not n:
        return "n/a"
    total = sum(counts.values())
    parts = ", ".join("%s %g" % (k, round(v / n, 1)) for k, v in
                      sorted(counts.items(), key=lambda kv_: -kv_[1]))
    return "**%g** (%s)" % (round(total / n, 1), parts)


def skpi_figures(name):
    win = kv("skpi-%s.window" % name)
    cycles = [v for v in floats("skpi-%s.cycles" % name)]
    ncyc = None
    cpu = None
    if win:
        ncyc = float(win["cycles_to"]) - float(win["cycles_from"])
        if ncyc > 0:
            cpu = (float(win["cpu_to"]) - float(win["cpu_from"])) / ncyc
    hwm = floats("skpi-%s.hwm" % name)
    hwm_c = floats("skpi-%s.hwm-cycles" % name)
    scr = floats("skpi-%s.scrapes" % name)
    size = floats("skpi-%s.scrapes" % name, 1)
    gz = floats("skpi-%s.gzsize" % name)
    own = {}
    for line in (read("skpi-%s.requests" % name) or "").splitlines():
        m = re.search(r'request="(\w+)"\}\s+(\S+)', line)
        if m:
            own[m.group(1)] = float(m.group(2))
    fresh = floats("skpi-%s.rendered" % name)
    whole = floats("skpi-%s.rendered" % name, 1)
    return {"cycle": med(cycles), "ncycles": len(cycles), "cpu": cpu,
            "fresh": med(fresh), "whole": med(whole),
            "hwm_mb": hwm[0] / 1024 if hwm else None, "scrape": med(scr),
            "hwm_c_mb": hwm_c[0] / 1024 if hwm_c else None,
            "bytes": med(size), "gzbytes": gz[0] if gz else None, "own": own,
            "broker": requests(win).get("streamkpi", {}), "nwin": ncyc, "name": name}


def peer_figures(name):
    if read("%s.failed" % name) is not None:
        return {"failed": read("%s.failed" % name).strip()}
    if read("%s.window" % name) is None:
        return {"failed": "not run"}
    win = kv("%s.window" % name)
    n = float(win["scrapes"])
    scr = floats("%s.scrapes" % name)
    hwm = floats("%s.hwm" % name)
    return {"scrape": med(scr), "scrapes": scr, "bytes": med(floats("%s.scrapes" % name, 1)),
            "cpu": (float(win["cpu_to"]) - float(win["cpu_from"])) / n,
            "hwm_mb": hwm[0] / 1024 if hwm else None,
            "broker": requests(win).get(CLIENT[name], {}), "n": n,
            "source": (read("%s.source" % name) or "").strip()}


def agreement():
    """Per reader: (agree, disagree, missing) over the sample for the high
    watermark and the group lag, against kcat -Q and the raw protocol."""
    kcat = {}
    for m in re.finditer(r"^(\S+) \[(\d+)\] offset (-?\d+)", read("kcat-offsets.txt") or "", re.M):
        kcat[(m.group(1), m.group(2))] = float(m.group(3))
    raw = []
    for line in (read("raw-offsets.txt") or "").splitlines():
        p = line.split()
        if len(p) == 6:
            raw.append((p[0], p[1], p[2], float(p[3]), float(p[5])))
    readers = {
        "streamkpi": (prom("skpi-large.scrape"), "kafka_topic_partition_current_offset",
                      "kafka_consumergroup_lag", "topic", "partition", "consumergroup"),
        "kafka_exporter": (prom("kafka_exporter.scrape"), "kafka_topic_partition_current_offset",
                           "kafka_consumergroup_lag", "topic", "partition", "consumergroup"),
        "kminion": (prom("kminion.scrape"), "kminion_kafka_topic_partition_high_water_mark",
                    "kminion_kafka_consumer_group_topic_partition_lag", "topic_name",
                    "partition_id", "group_id"),
    }
    out = {}
    for who, (m, hw, lag, lt, lp, lg) in readers.items():
        if not m:
            continue
        a = d = miss = 0
        for topic, part, group, hi, rlag in raw:
            v_hw = lookup(m, hw, **{lt: topic, lp: part})
            v_lag = lookup(m, lag, **{lt: topic, lp: part, lg: group})
            ref_hw = kcat.get((topic, part), hi)
            for v, ref in ((v_hw, ref_hw), (v_lag, rlag)):
                if v is None:
                    miss += 1
                elif v == ref:
                    a += 1
                else:
                    d += 1
        out[who] = (a, d, miss)
    # The two references must agree with each other too.
    ref_agree = sum(1 for t, p, g, hi, _ in raw if kcat.get((t, p)) == hi)
    return out, len(raw), ref_agree


def series(name):
    """Sample lines in the last scrape kept for a scenario."""
    text = read("skpi-%s.scrape" % name)
    if text is None:
        return None
    return sum(1 for line in text.splitlines() if line and line[0] != "#")


def perf_top(name, n):
    """The n heaviest rows of a perf report --stdio table: (percent, what)."""
    rows = []
    for line in (read(name) or "").splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(.*\S)", line)
        if m:
            rows.append((float(m.group(1)), re.sub(r"\s+", " ", m.group(2))))
    return rows[:n]


def rendered_cell(f):
    """Text rendered anew for a snapshot, against the whole text."""
    if f.get("fresh") is None or not f.get("whole"):
        return "n/a"
    return "%s of %s (%.1f%%; the rest reused)" % (
        fmt_b(f["fresh"]), fmt_b(f["whole"]), 100.0 * f["fresh"] / f["whole"])


def mock_section(p, title, nparts, f, fl, kcat_s, e):
    p("## Scenario *%s*: librdkafka mock cluster, 3 brokers, %s partitions" % (title, nparts))
    p("")
    p("`bench/mockcluster.c` (librdkafka %s `rd_kafka_mock_cluster_new`) in its own process; "
      "streamkpi runs against it as against a real cluster, with its state persisting. The mock "
      "has **no ListGroups / DescribeGroups**: group collection is not measured here (streamkpi "
      "counts one failed ListGroups per cycle). The mock has no request log, so requests come "
      "from streamkpi's own count; the mock's messages are empty, so offsets are 0."
      % e.get("librdkafka", "?"))
    p("")
    p("| figure | streamkpi | floor (raw requests) |")
    p("|---|---|---|")
    p("| one full scrape, curl (median) | %s (body %s) | — |" % (
        fmt_s(f["scrape"]), "%s, gzip %s" % (fmt_b(f["bytes"]), fmt_b(f["gzbytes"]))))
    total = fl["metadata_s"] + fl["list_offsets_s"] if fl else None
    p("| collection cycle (median) | %s (%d cycles) | %s |" % (
        fmt_s(f["cycle"]), f["ncycles"], fmt_s(total)))
    if fl:
        p("| floor detail | | metadata %s (kcat -L %s), ListOffsets both ends %s in %d calls of ≤ %d |" % (
            fmt_s(fl["metadata_s"]), fmt_s(kcat_s), fmt_s(fl["list_offsets_s"]),
            fl["list_offsets_calls"], fl["chunk"]))
    p("| cycle ÷ floor | %s | 1× |" % fmt_ratio(f["cycle"], total))
    p("| Kafka requests per cycle (`streamkpi_kafka_requests`) | %s | — |" % (
        ", ".join("%s %g" % (k, v) for k, v in f["own"].items()) or "n/a"))
    p("| peak RSS (VmHWM) | %s | — |" % ("%.1f MB" % f["hwm_mb"] if f["hwm_mb"] else "n/a"))
    p("| CPU seconds per cycle | %s | — |" % ("%.3f s" % f["cpu"] if f["cpu"] is not None else "n/a"))
    p("| text rendered anew per snapshot (median) | %s | — |" % rendered_cell(f))
    p("")
    f["floor"] = total


def floor(name):
    try:
        return json.loads(read(name) or "")
    except ValueError:
        return None


def table_rows(name):
    """The rows of a whitespace table with a header line, as dicts."""
    lines = [l.split() for l in (read(name) or "").splitlines() if l.strip()]
    if len(lines) < 2:
        return []
    return [dict(zip(lines[0], r)) for r in lines[1:] if len(r) == len(lines[0])]


def msgtime_audit_section(p, ntopics, nparts, ngroups):
    """Message-time reads and config audit (bench/msgtime.sh on the large
    scenario's broker): first cycles and steady state; audits."""
    cyc = table_rows("msgtime/cycles.txt")
    aud = table_rows("msgtime/audits.txt")
    p("## Message-time reads and the config audit (large scenario)")
    p("")
    if not cyc and not aud:
        p("Not measured in this run: %s" % ((read("msgtime.err") or "no output").strip()
                                               .splitlines() or ["no output"])[-1])
        p("")
        return
    reads = [r for r in cyc if float(r["partitions_read"]) > 0]
    steady = [r for r in cyc if float(r["partitions_read"]) == 0]
    p("A second streamkpi from a cold start against the same broker (%s topics × %s partitions, "
      "%s groups whose commits never move), `message_time_reads: %s` per cycle, the config audit "
      "every %s s. The timestamp of each stalled commit's message is read once, spread over the "
      "first cycles; after that none is read again (cached by partition and offset)."
      % (ntopics, nparts, ngroups, kv("msgtime/env").get("reads", "1000"),
         kv("msgtime/env").get("audit_interval", "20")))
    p("")
    if cyc:
        def fsum(rows, k):
            return sum(float(r[k]) for r in rows)
        p("| timestamp reads | cycles | partitions read | Fetch requests (broker log) | read time per cycle |")
        p("|---|---|---|---|---|")
        if reads:
            p("| first cycles (until every stalled commit was read) | %d | %d (%.0f per cycle) | %d (%.1f per cycle) | median %s, max %s |" % (
                len(reads), fsum(reads, "partitions_read"), fsum(reads, "partitions_read") / len(reads),
                fsum(reads, "fetch_requests"), fsum(reads, "fetch_requests") / len(reads),
                fmt_s(med([float(r["read_seconds"]) for r in reads])),
                fmt_s(max(float(r["read_seconds"]) for r in reads))))
        if steady:
            p("| steady state | %d | %d | %d | median %s |" % (
                len(steady), fsum(steady, "partitions_read"), fsum(steady, "fetch_requests"),
                fmt_s(med([float(r["read_seconds"]) for r in steady]))))
        last = cyc[-1]
        p("")
        p("Reads in all: %s; fallbacks to the next available message: %s." % (
            last.get("reads_total", "?"), last.get("fallbacks_total", "?")))
        p("")
    if aud:
        p("| config audit | seconds | calls (`streamkpi_config_audit_requests_total`) | DescribeConfigs requests | Metadata requests | topics not read |")
        p("|---|---|---|---|---|---|")
        for i, r in enumerate(aud):
            p("| %s | %s | %s | %s | %s | %s |" % (
                "first (cold start)" if i == 0 else "audit %d" % (i + 1), fmt_s(float(r["seconds"])),
                r["calls"], r["describe_configs_requests"], r["metadata_requests"],
                r["failed_topics"]))
        p("")
    p("Reproduce: `bench/msgtime.sh` (its own broker and setup; BENCH_MT_CYCLES, BENCH_MT_READS, "
      "BENCH_AUDIT_INTERVAL, BENCH_AUDITS), or within `make bench` on the large scenario's broker. "
      "Requests are the broker request log's lines of client ids `streamkpi-msgtime` (Fetch) and "
      "`streamkpi-configs` (DescribeConfigs, Metadata).")
    p("")


def offsets_topic_section(p, ngroups, large_s, km):
    """Requests per cycle when committed offsets come from __consumer_offsets
    (group_offsets: offsets_topic, describe_interval 60s), against the default
    admin path and kminion on the same broker."""
    ot = skpi_figures("large_ot")
    if not ot["nwin"]:
        return
    catchup = read("skpi-large_ot.catchup")
    p("## Requests per cycle: committed offsets from `__consumer_offsets`")
    p("")
    p("The same large scenario, streamkpi run again with `group_offsets: offsets_topic` and "
      "`describe_interval: 60s`: committed offsets are read from the `__consumer_offsets` topic "
      "(up to its end offsets every cycle) instead of an OffsetFetch and a coordinator lookup per "
      "group; groups are described again only after 60 s or when their listed state changes. "
      "The measured window starts once the reader caught up (it took %s s from the exporter's "
      "start, %s groups) and the message-time reads were done, and spans %s cycles: at least "
      "one whole describe interval, so every group's re-description is in it." % (
          (catchup or "?").strip(), ngroups, "%g" % ot["nwin"]))
    p("")
    p("| | streamkpi, admin (default) | streamkpi, offsets_topic | kminion (per scrape) |")
    p("|---|---|---|---|")
    p("| broker requests per cycle | %s | %s | %s |" % (
        per_cycle_text(large_s["broker"], large_s["nwin"]),
        per_cycle_text(ot["broker"], ot["nwin"]),
        "not run" if km.get("failed") else per_cycle_text(km["broker"], km["n"])))
    own = ", ".join("%s %g" % (k, v) for k, v in sorted(ot["own"].items()) if v)
    p("| streamkpi_kafka_requests, last cycle | | %s | |" % (own or "n/a"))
    p("| cycle (median) | %s | %s | |" % (fmt_s(large_s["cycle"]), fmt_s(ot["cycle"])))
    p("| peak RSS | %s | %s | |" % (
        "%.1f MB" % large_s["hwm_mb"] if large_s["hwm_mb"] else "n/a",
        "%.1f MB" % ot["hwm_mb"] if ot["hwm_mb"] else "n/a"))
    total = sum(ot["broker"].values()) / ot["nwin"] if ot["broker"] else None
    ktotal = (sum(km["broker"].values()) / km["n"]) if not km.get("failed") and km["broker"] else None
    if total is not None:
        p("")
        # Without kminion in this run, the 512 requests per scrape it sent
        # on this scenario in an earlier run on this machine stand in.
        ref = ktotal if ktotal else 512
        p("Target: no more requests per cycle than kminion's per scrape: %g against %s, %s." % (
            round(total, 1),
            "%g" % round(ktotal, 1) if ktotal else "512 (kminion's figure from an earlier run; "
            "not run here)", "met" if total <= ref else "**missed**"))
    p("")


def audit_many_topics_section(p):
    """The config audit at BENCH_AUDIT_TOPICS one-partition topics
    (bench/msgtime.sh with its own broker)."""
    aud = table_rows("audit/audits.txt")
    n = os.environ.get("BENCH_AUDIT_TOPICS", "10000")
    p("## The config audit at %s topics" % n)
    p("")
    if not aud:
        p("Not measured in this run: %s" % ((read("audit.err") or "no output").strip()
                                               .splitlines() or ["no output"])[-1])
        p("")
        return
    p("A broker of its own with %s topics of one partition each (10 groups, one message per "
      "partition); streamkpi from a cold start audits every topic's and broker's configuration "
      "every %s s." % (n, kv("audit/env").get("audit_interval", "20")))
    p("")
    p("| config audit | seconds | calls (`streamkpi_config_audit_requests_total`) | DescribeConfigs requests | Metadata requests | topics not read |")
    p("|---|---|---|---|---|---|")
    for i, r in enumerate(aud):
        p("| %s | %s | %s | %s | %s | %s |" % (
            "first (cold start)" if i == 0 else "audit %d" % (i + 1), fmt_s(float(r["seconds"])),
            r["calls"], r["describe_configs_requests"], r["metadata_requests"], r["failed_topics"]))
    p("")
    p("Reproduce: `BENCH_TOPICS=%s BENCH_PARTS=1 BENCH_GROUPS=10 BENCH_MSGS=1 BENCH_MT_CYCLES=2 "
      "bench/msgtime.sh`; `make bench` runs it last (BENCH_AUDIT_TOPICS=0 skips it)." % n)
    p("")


def main():
    e = env()
    large_s = skpi_figures("large")
    mock_s = skpi_figures("mock")
    ke = peer_figures("kafka_exporter")
    km = peer_figures("kminion")
    fl = floor("floor-large.json")
    fm = floor("floor-mock.json")
    kl = med(floats("kcat-large.times"))
    kmk = med(floats("kcat-mock.times"))
    wp, wg = wrk("wrk-skpi-plain.txt"), wrk("wrk-skpi-gzip.txt")
    wke, wkm = wrk("wrk-kafka_exporter-plain.txt"), wrk("wrk-kminion-plain.txt")
    agree, nsample, ref_agree = agreement()
    cfg = {}
    for line in (read("env.txt") or "").splitlines():
        if line.startswith(("topics=", "mock_topics=", "huge_topics=")):
            cfg.update(t.split("=", 1) for t in line.split() if "=" in t)
    mcfg = cfg
    ntopics, nparts, ngroups = cfg.get("topics", "?"), cfg.get("parts", "?"), cfg.get("groups", "?")
    try:
        total_parts = int(ntopics) * int(nparts)
    except ValueError:
        total_parts = "?"
    mparts = "?"
    try:
        mparts = int(mcfg.get("mock_topics")) * int(mcfg.get("mock_parts"))
    except (TypeError, ValueError):
        pass

    w = []
    p = w.append
    p("# streamkpi benchmark results")
    p("")
    p("Generated by `make bench` (bench/run.sh → bench/report.py) on %s; raw data in "
      "`build/bench/run/`. Do not edit by hand: rerun `make bench`." % e.get("date", "?"))
    p("")
    p("## Machine and versions")
    p("")
    p("| | |")
    p("|---|---|")
    p("| CPU | %s, %s cores (shared with other work during the run) |" % (e.get("cpu", "?"), e.get("cores", "?")))
    try:
        p("| Memory | %.1f GiB |" % (int(e.get("mem_kb", "0")) / 1048576))
    except ValueError:
        pass
    for k in ("kernel", "streamkpi", "librdkafka", "kafka", "java", "kcat", "wrk", "go"):
        p("| %s | %s |" % (k, e.get(k, "?")))
    # KAFKA_EXPORTER_REV / KMINION_REV: which upstream commit the binaries
    # given by environment variable were built from, when the caller knows.
    for name, f, var in (("kafka_exporter", ke, "KAFKA_EXPORTER_REV"), ("kminion", km, "KMINION_REV")):
        src = f.get("failed") or f.get("source") or "?"
        if os.environ.get(var) and not f.get("failed"):
            src += "; built from the upstream source at commit %s" % os.environ[var]
        p("| %s | %s |" % (name, src))
    p("| run time | %s s (setup of the large scenario: %s s) |" % (e.get("bench_s", "?"), e.get("setup_s", "?")))
    p("")
    p("## Scenario *large*: one KRaft broker, %s topics × %s partitions = %s partitions, %s groups"
      % (ntopics, nparts, total_parts, ngroups))
    p("")
    p("Kafka %s, single combined broker/controller on 127.0.0.1, heap 2 GiB. Every partition holds "
      "%s messages; group g has committed offsets on 4 topics (all their partitions), so there are "
      "%s committed group-partitions. Light traffic: 50 msg/s on the first %s topics during the whole "
      "run. streamkpi samples every %s s; the peers collect on scrape, so for them one scrape is one "
      "collection cycle. The exporters ran one after the other against the same broker."
      % (e.get("kafka", "?"), cfg.get("msgs", "?"), (int(ngroups) * 4 * int(nparts)) if str(ngroups).isdigit() and str(nparts).isdigit() else "?",
         cfg.get("traffic_topics", "?"), cfg.get("interval", "?")))
    p("")
    p("| figure | streamkpi | kafka_exporter | kminion | floor (raw requests) |")
    p("|---|---|---|---|---|")

    def peer(f, key, fn=fmt_s):
        if f.get("failed"):
            return "not run"
        return fn(f.get(key))

    p("| one full scrape, curl `time_total` (median of %s / %s) | %s | %s | %s | — |"
      % (cfg.get("scrapes", "?"), cfg.get("peer_scrapes", "?"),
         fmt_s(large_s["scrape"]), peer(ke, "scrape"), peer(km, "scrape")))
    p("| scrape body | %s | %s | %s | — |" % (
        "%s (gzip %s)" % (fmt_b(large_s["bytes"]), fmt_b(large_s["gzbytes"])),
        peer(ke, "bytes", fmt_b), peer(km, "bytes", fmt_b)))

    def wrkcell(x):
        if not x:
            return "not run"
        if not x["n"]:
            return "no request completed within the run" + (" (%s)" % x["errors"] if x["errors"] else "")
        s = "p50 %s, p99 %s, %.1f req/s" % (fmt_s(x["p50"]), fmt_s(x["p99"]), x["rps"] or 0)
        return s + (" (%s)" % x["errors"] if x["errors"] else "")

    p("| under load, `wrk -t2 -c16 -d%ss` plain | %s | %s | %s | — |" % (
        cfg.get("wrk_seconds", "?"), wrkcell(wp), wrkcell(wke) if not ke.get("failed") else "not run",
        wrkcell(wkm) if not km.get("failed") else "not run"))
    p("| under load, gzip (`Accept-Encoding: gzip`) | %s | — | — | — |" % wrkcell(wg))
    floor_total = fl["total_s"] if fl else None
    p("| collection cycle (median) | %s (%d cycles) | %s (= scrape) | %s (= scrape) | %s |" % (
        fmt_s(large_s["cycle"]), large_s["ncycles"], peer(ke, "scrape"), peer(km, "scrape"),
        fmt_s(floor_total)))
    if fl:
        p("| floor detail | | | | metadata %s (kcat -L %s), ListOffsets both ends %s in %d calls, "
          "ListGroups %s, DescribeGroups %s, %d OffsetFetch %s |" % (
              fmt_s(fl["metadata_s"]), fmt_s(kl), fmt_s(fl["list_offsets_s"]), fl["list_offsets_calls"],
              fmt_s(fl["list_groups_s"]), fmt_s(fl["describe_groups_s"]), fl["groups"],
              fmt_s(fl["offset_fetch_s"])))
    p("| cycle ÷ floor | %s | %s | %s | 1× |" % (
        fmt_ratio(large_s["cycle"], floor_total),
        "not run" if ke.get("failed") else fmt_ratio(ke.get("scrape"), floor_total),
        "not run" if km.get("failed") else fmt_ratio(km.get("scrape"), floor_total)))
    p("| Kafka requests per cycle (broker request log) | %s | %s | %s | — |" % (
        per_cycle_text(large_s["broker"], large_s["nwin"]),
        "not run" if ke.get("failed") else per_cycle_text(ke["broker"], ke["n"]),
        "not run" if km.get("failed") else per_cycle_text(km["broker"], km["n"])))
    own = large_s["own"]
    p("| requests per cycle, streamkpi's own count (`streamkpi_kafka_requests`) | %s | — | — | — |"
      % (", ".join("%s %g" % (k, v) for k, v in own.items()) or "n/a"))
    p("| peak RSS (VmHWM) | %s | %s | %s | — |" % (
        ("%.1f MB (%s after the cycles, before scrape load)" % (large_s["hwm_mb"], "%.1f MB" % large_s["hwm_c_mb"] if large_s["hwm_c_mb"] else "n/a")) if large_s["hwm_mb"] else "n/a",
        peer(ke, "hwm_mb", lambda v: "%.1f MB" % v if v else "n/a"),
        peer(km, "hwm_mb", lambda v: "%.1f MB" % v if v else "n/a")))
    p("| CPU seconds per cycle (utime+stime) | %s | %s | %s | — |" % (
        "%.3f s" % large_s["cpu"] if large_s["cpu"] is not None else "n/a",
        peer(ke, "cpu", lambda v: "%.3f s" % v), peer(km, "cpu", lambda v: "%.3f s" % v)))
    p("| text rendered anew per snapshot (median; traffic moves 100 topics) | %s | — | — | — |"
      % rendered_cell(large_s))
    cells = []
    for who in ("streamkpi", "kafka_exporter", "kminion"):
        if who in agree:
            a, d, miss = agree[who]
            cells.append("%d agree, %d disagree, %d missing" % (a, d, miss))
        else:
            cells.append("not run")
    p("| values agree with kcat -Q / raw OffsetFetch (%d partitions × {high watermark, lag}) | %s | %s | %s | references agree with each other: %d/%d |"
      % (nsample, cells[0], cells[1], cells[2], ref_agree, nsample))
    sr = ke.get("scrape")
    p("| kafka_exporter scrape ÷ streamkpi scrape (same run) | %s | | | |" % (
        "not run" if ke.get("failed") else fmt_ratio(sr, large_s["scrape"])))
    p("")
    mock_section(p, "many partitions", mparts, mock_s, fm, kmk, e)
    huge_s = skpi_figures("huge")
    fh = floor("floor-huge.json")
    hparts = "?"
    try:
        hparts = int(cfg.get("huge_topics")) * int(cfg.get("huge_parts"))
    except (TypeError, ValueError):
        pass
    skipped = read("skpi-huge.skipped")
    if skipped:
        p("## Scenario *a million partitions*: librdkafka mock cluster, 3 brokers, %s partitions" % hparts)
        p("")
        p(skipped.strip() + ".")
        p("")
    else:
        mock_section(p, "a million partitions", hparts, huge_s, fh,
                     med(floats("kcat-huge.times")), e)
    p("## Body size per scenario")
    p("")
    p("| scenario | partitions | series (lines) | text | gzip |")
    p("|---|---|---|---|---|")
    for label, parts_, f in (("large", total_parts, large_s), ("many partitions", mparts, mock_s),
                             ("a million partitions", hparts, huge_s)):
        if f["bytes"]:
            p("| %s | %s | %s | %s | %s |" % (label, parts_, series(f["name"]) or "n/a",
                                             fmt_b(f["bytes"]), fmt_b(f["gzbytes"])))
        else:
            p("| %s | %s | not run | not run | not run |" % (label, parts_))
    p("")
    p("## Targets")
    p("")

    def verdict(ok):
        return "n/a" if ok is None else ("met" if ok else "**missed**")

    p("| target | measured | verdict |")
    p("|---|---|---|")
    def mb(v):
        return "%.1f MB" % v if v else "n/a"

    def lt(v, bound):
        return verdict(v < bound if v else None)

    p("| scrape p99 < 10 ms at 16 clients (large, wrk plain) | %s (p50 %s; gzip p50 %s, p99 %s) | %s |" % (
        fmt_s(wp["p99"]) if wp else "n/a", fmt_s(wp["p50"]) if wp else "n/a",
        fmt_s(wg["p50"]) if wg else "n/a", fmt_s(wg["p99"]) if wg else "n/a",
        verdict(wp["p99"] < 0.010 if wp and wp["p99"] else None)))
    ratio = sr / large_s["scrape"] if sr and large_s["scrape"] else None
    p("| ≥ 50× faster scrape than kafka_exporter | %s | %s |" % (
        "%.0f×" % ratio if ratio else "n/a", verdict(ratio >= 50 if ratio else None)))
    p("| one scrape no slower than 14.3 ms (large) | %s | %s |" % (
        fmt_s(large_s["scrape"]), lt(large_s["scrape"], 0.0143 + 1e-9)))
    p("| cycle no slower than 630 ms (large) | %s (floor %s) | %s |" % (
        fmt_s(large_s["cycle"]), fmt_s(floor_total), lt(large_s["cycle"], 0.630 + 1e-9)))
    p("| cycle < 2 s at %s partitions, %s groups | %s | %s |" % (
        total_parts, ngroups, fmt_s(large_s["cycle"]), lt(large_s["cycle"], 2)))
    p("| cycle < 3 s on the %s-partition mock | %s | %s |" % (
        mparts, fmt_s(mock_s["cycle"]), lt(mock_s["cycle"], 3)))
    hr = huge_s["cycle"] / huge_s["floor"] if huge_s["cycle"] and huge_s.get("floor") else None
    p("| cycle ≤ 1.5× the floor at %s partitions (mock) | %s | %s |" % (
        hparts, "%s, %.2f× the floor %s" % (fmt_s(huge_s["cycle"]), hr, fmt_s(huge_s["floor"]))
        if hr else "not run", verdict(hr <= 1.5 if hr else None)))
    p("| peak RSS < 64 MB (large, under scrape load) | %s | %s |" % (
        mb(large_s["hwm_mb"]), lt(large_s["hwm_mb"], 64)))
    p("| peak RSS < 256 MB (%s-partition mock) | %s | %s |" % (
        mparts, mb(mock_s["hwm_mb"]), lt(mock_s["hwm_mb"], 256)))
    p("| peak RSS < 1.5 GB (%s-partition mock) | %s | %s |" % (
        hparts, mb(huge_s["hwm_mb"]) if huge_s["hwm_mb"] else "not run",
        lt(huge_s["hwm_mb"], 1536)))
    b = large_s["broker"]
    n = large_s["nwin"] or 0
    if b and n:
        md = b.get("Metadata", 0) / n
        lo = b.get("ListOffsets", 0) / n
        of = b.get("OffsetFetch", 0) / n
        bound = fl["list_offsets_calls"] if fl else None
        p("| requests: 1 Metadata, ListOffsets ≤ brokers × chunks × 2 ends (= %s), 1 OffsetFetch per group (%s) | Metadata %g, ListOffsets %g, OffsetFetch %g | %s |" % (
            bound, ngroups, round(md, 1), round(lo, 1), round(of, 1),
            verdict(md <= 1 and bound is not None and lo <= bound and str(ngroups).isdigit() and of <= int(ngroups))))
    p("")
    offsets_topic_section(p, ngroups, large_s, km)
    msgtime_audit_section(p, ntopics, nparts, ngroups)
    audit_many_topics_section(p)
    p("## Notes on the figures")
    p("")
    if wp and wp["rps"] and large_s["bytes"]:
        p("- Scrape under load: %d clients on the same 2 cores as the exporter pull a %s body "
          "%.0f times a second, i.e. %.2f GB/s of /metrics. Only the blocks of text that changed are "
          "rendered, once, in the background, so this load is byte copying to sockets (an inference from the "
          "throughput and the profile below). One "
          "scrape at a time, as Prometheus does it, takes %s; with gzip the body is %s and the "
          "p50 under load %s. The p99 under load is the queueing of 16 concurrent %s transfers "
          "on 2 shared cores." % (16, fmt_b(large_s["bytes"]), wp["rps"],
                                  wp["rps"] * large_s["bytes"] / 1e9, fmt_s(large_s["scrape"]),
                                  fmt_b(large_s["gzbytes"]), fmt_s(wg["p50"]) if wg else "n/a",
                                  fmt_b(large_s["bytes"])))
    top_dso = perf_top("perf-plain-dso.txt", 4)
    top_sym = perf_top("perf-plain-sym.txt", 5)
    if top_dso:
        p("- CPU profile of the exporter during the plain run (`perf record -F 499 -g`, "
          "`perf report --sort comm,dso`): %s. Heaviest symbols: %s." % (
              "; ".join("%.1f%% %s" % r for r in top_dso),
              "; ".join("%.1f%% %s" % r for r in top_sym)))
    p("- Peak RSS of the large scenario: where it goes (heap profile with heaptrack, and an RSS "
      "trace showing it level off over a longer run) is in docs/bench.md, \"Peak memory\"; "
      "`bench/memory.sh large heaptrack -o FILE` reproduces the profile.")
    if fl and large_s["cycle"]:
        p("- The floor adds its phases up one after the other; streamkpi overlaps them (groups "
          "in flight while offsets are fetched), so its cycle can be below 1× the floor.")
    p("- streamkpi sends one FindCoordinator pair and one DescribeGroups per group: "
      "librdkafka 2.0.2's DescribeConsumerGroups and ListConsumerGroupOffsets look up the "
      "coordinator for each group before the request.")
    done = (read("skpi-large.timesdone") or "").split()
    if len(done) == 2:
        p("- The large scenario's window (cycles, requests, CPU) is the steady state: it starts "
          "after the message-time reads that follow a start (%s s, %s reads; measured on their "
          "own in the message-time section below). Those reads run on a consumer of their own, "
          "which asks for the metadata of the topics it reads (200 topics a request) and looks "
          "up a coordinator; in a window that overlaps them they show as a second Metadata "
          "request and more FindCoordinator per cycle." % (done[0], done[1]))
    if large_s["cycle"] and fl:
        ot = skpi_figures("large_ot")
        p("- The 630 ms cycle target is the cycle of an earlier run (revision dcf64a8) whose floor, "
          "the same raw requests, took 692 ms. This run's floor took %s, so the cycle is compared "
          "with it: %.2f× the floor (0.91× then). With `group_offsets: offsets_topic` the cycle "
          "is %s." % (fmt_s(floor_total), large_s["cycle"] / floor_total,
                      fmt_s(ot["cycle"]) if ot["cycle"] else "not run"))
    if fl and not ke.get("failed") and ke["broker"].get("ListOffsets"):
        p("- kafka_exporter sends ListOffsets per partition (sarama `GetOffset`): %.1f per "
          "partition and scrape here; kminion batches them like streamkpi but collects on "
          "scrape." % (ke["broker"]["ListOffsets"] / ke["n"] / fl["partitions"]))
    p("")
    p("## How to reproduce each row")
    p("")
    p("- Everything: `make bench` (BENCH_TOPICS, BENCH_PARTS, BENCH_GROUPS, BENCH_MOCK_TOPICS, "
      "BENCH_MOCK_PARTS, BENCH_INTERVAL, BENCH_CYCLES, BENCH_SCRAPES, BENCH_WRK_SECONDS lower the "
      "sizes); `BENCH_HUGE=1 make bench` adds the million-partition mock (BENCH_HUGE_TOPICS, "
      "BENCH_HUGE_PARTS, BENCH_HUGE_INTERVAL).")
    p("- Setup: `build/bench/kbench setup -b BROKER -t %s -p %s -g %s -m %s`; traffic: "
      "`build/bench/kbench traffic -b BROKER -t 100 -r 50 -d 3600`." % (ntopics, nparts, ngroups, cfg.get("msgs", "?")))
    p("- streamkpi: `build/streamkpi_exporter --config.file=build/bench/run/skpi-large.yml` "
      "(client.id streamkpi, sample_interval %ss, probe off)." % cfg.get("interval", "?"))
    p("- kafka_exporter: `kafka_exporter --kafka.server=BROKER --kafka.version=4.0.0 "
      "--web.listen-address=127.0.0.1:PORT`; kminion: `CONFIG_FILEPATH=build/bench/run/kminion.yml kminion`.")
    p("- Scrape time: `curl -s -o /dev/null -w '%{time_total}' http://127.0.0.1:PORT/metrics`, median.")
    p("- Load: `wrk -t2 -c16 -d10s --latency URL` and the same with `-H 'Accept-Encoding: gzip'`.")
    p("- Cycle: `streamkpi_source_collect_duration_seconds{source=\"kafka\"}` read once per new "
      "cycle (`streamkpi_source_cycles_total`), median.")
    p("- Requests: the broker's `kafka.request.logger` at DEBUG (build/bench/run/broker/requests.log), "
      "lines counted by clientId and API key between the start and the end of the measured window, "
      "÷ cycles (streamkpi) or ÷ scrapes (peers). The logger costs the broker some time, equally for all.")
    p("- Peak RSS: `VmHWM` in /proc/PID/status at the end; CPU: utime+stime from /proc/PID/stat "
      "over the window ÷ cycles.")
    p("- Floor: `build/bench/kbench floor -b BROKER -n 5 -c 2000 -i 10` (metadata; "
      "`rd_kafka_offsets_for_times` per leader in chunks of 2,000 for -1 and -2; ListConsumerGroups; "
      "one DescribeConsumerGroups call; ListConsumerGroupOffsets per group, 10 in flight; medians) and "
      "`kcat -L -b BROKER`.")
    p("- Agreement: `build/bench/kbench offsets -b BROKER -s build/bench/run/sample.txt` (high "
      "watermark, committed offset, lag per sampled group-partition) and `kcat -Q -b BROKER -t "
      "TOPIC:PART:-1`; sampled partitions have no traffic, so all readers must see the same values.")
    p("- Mock: `build/bench/mockcluster -b 3 -t %s -p %s` prints its bootstrap servers; then as above."
      % (mcfg.get("mock_topics", "?"), mcfg.get("mock_parts", "?")))
    p("")
    print("\n".join(w))


if __name__ == "__main__":
    main()
