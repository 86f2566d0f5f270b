#!/usr/bin/env python3
"""Writes streamkpi-overview.json.  The dashboard is generated so that panel
ids, grid positions and the datasource reference stay consistent; edit this
file and rerun it (python3 dashboards/generate.py) rather than the JSON."""

import json
import os

DS = {"type": "prometheus", "uid": "${datasource}"}
C = 'cluster=~"$cluster"'
W = 24  # Grafana's grid width

panels = []
_pos = {"y": 0, "x": 0, "h": 0}
_id = [0]


def _next_id():
    _id[0] += 1
    return _id[0]


def row(title):
    if _pos["x"]:
        _pos["y"] += _pos["h"]
        _pos["x"] = 0
    panels.append({"type": "row", "title": title, "id": _next_id(), "collapsed": False,
                   "gridPos": {"h": 1, "w": W, "x": 0, "y": _pos["y"]}, "panels": []})
    _pos["y"] += 1
    _pos["h"] = 0


def panel(kind, title, targets, w=8, h=8, unit=None, desc="", extra=None):
    if _pos["x"] + w > W:
        _pos["y"] += _pos["h"]
        _pos["x"] = 0
        _pos["h"] = 0
    p = {"type": kind, "title": title, "description": desc, "id": _next_id(),
         "datasource": DS,
         "gridPos": {"h": h, "w": w, "x": _pos["x"], "y": _pos["y"]},
         "targets": [{"datasource": DS, "refId": chr(ord("A") + i), "expr": e,
                      "legendFormat": lf, "range": kind != "table",
                      "instant": kind == "table"}
                     for i, (e, lf) in enumerate(targets)],
         "fieldConfig": {"defaults": {}, "overrides": []},
         "options": {}}
    if unit:
        p["fieldConfig"]["defaults"]["unit"] = unit
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "area", "textMode": "auto"}
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "list", "placement": "bottom"},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    if extra:
        p.update(extra)
    panels.append(p)
    _pos["x"] += w
    _pos["h"] = max(_pos["h"], h)


def thresholds(*steps):
    return {"mode": "absolute",
            "steps": [{"color": c, "value": v} for v, c in steps]}


row("Platform availability & MTTR")
panel("stat", "Availability (30d)",
      [(f'streamkpi_availability_ratio{{{C},window="30d"}}', "{{cluster}}")],
      w=6, h=6, unit="percentunit",
      desc="Healthy share of observed time; maintenance excluded.",
      extra={"fieldConfig": {"defaults": {"unit": "percentunit", "decimals": 3,
                                          "thresholds": thresholds((None, "red"), (0.99, "orange"),
                                                                   (0.999, "green"))},
                             "overrides": []}})
panel("stat", "MTTR (30d)", [(f'streamkpi_mttr_seconds{{{C},window="30d"}}', "{{cluster}}")],
      w=6, h=6, unit="s", desc="Mean recovery time of incidents resolved in the last 30 days.")
panel("stat", "Observed share", [(f"streamkpi_observed_ratio{{{C}}}", "{{cluster}}")],
      w=6, h=6, unit="percentunit",
      desc="Share of wall time covered by probes: low values make availability less certain.")
panel("stat", "Healthy now", [(f"streamkpi_healthy{{{C}}}", "{{cluster}}")], w=6, h=6,
      extra={"fieldConfig": {"defaults": {"mappings": [
          {"type": "value", "options": {"0": {"text": "UNHEALTHY", "color": "red"},
                                        "1": {"text": "healthy", "color": "green"}}}]},
          "overrides": []}})
panel("timeseries", "Availability by window",
      [(f"streamkpi_availability_ratio{{{C}}}", "{{cluster}} {{window}}")], w=12,
      unit="percentunit")
panel("timeseries", "Downtime share (1h rate)",
      [(f"sum by (cluster) (rate(streamkpi_downtime_seconds_total{{{C}}}[1h]))"
        f" / sum by (cluster) (rate(streamkpi_observed_seconds_total{{{C}}}[1h]))",
        "{{cluster}}")], w=12, unit="percentunit")
panel("timeseries", "MTTR by window", [(f"streamkpi_mttr_seconds{{{C}}}", "{{cluster}} {{window}}")],
      w=12, unit="s")
panel("timeseries", "Canary round trip p99",
      [(f"histogram_quantile(0.99, sum by (cluster, le) "
        f"(rate(streamkpi_probe_roundtrip_latency_seconds_bucket{{{C}}}[$__rate_interval])))",
        "{{cluster}}"),
       (f"streamkpi_probe_brokers_up{{{C}}}", "{{cluster}} brokers up")], w=12, unit="s")

row("Incidents")
panel("stat", "Open incidents", [(f"sum by (cluster) (streamkpi_incidents_open{{{C}}})",
                                  "{{cluster}}")], w=6, h=6,
      extra={"fieldConfig": {"defaults": {"thresholds": thresholds((None, "green"), (1, "red"))},
                             "overrides": []}})
panel("timeseries", "Incidents opened / resolved per day",
      [(f"sum by (cluster, source) (increase(streamkpi_incidents_opened_total{{{C}}}[1d]))",
        "opened {{cluster}} {{source}}"),
       (f"sum by (cluster, source) (increase(streamkpi_incidents_resolved_total{{{C}}}[1d]))",
        "resolved {{cluster}} {{source}}")], w=9, h=6)
panel("timeseries", "Recovery time p50 / p90 (7d)",
      [(f"histogram_quantile(0.5, sum by (cluster, le) "
        f"(increase(streamkpi_incident_recovery_seconds_bucket{{{C}}}[7d])))", "p50 {{cluster}}"),
       (f"histogram_quantile(0.9, sum by (cluster, le) "
        f"(increase(streamkpi_incident_recovery_seconds_bucket{{{C}}}[7d])))", "p90 {{cluster}}")],
      w=9, h=6, unit="s")

row("SLOs")
panel("table", "SLO attainment",
      [("streamkpi_slo_attainment_ratio", ""), ("streamkpi_slo_objective_ratio", ""),
       ("streamkpi_slo_error_budget_remaining_ratio", "")], w=12,
      desc="Attainment over each SLO's window against its objective.",
      extra={"transformations": [{"id": "merge", "options": {}},
                                 {"id": "organize", "options": {
                                     "excludeByName": {"Time": True, "__name__": True,
                                                       "instance": True, "job": True}}}],
             "fieldConfig": {"defaults": {"unit": "percentunit", "decimals": 3},
                             "overrides": []}})
panel("bargauge", "Error budget remaining",
      [("streamkpi_slo_error_budget_remaining_ratio", "{{slo}}")], w=12, unit="percentunit",
      desc="Negative = overspent by that many budgets.",
      extra={"options": {"orientation": "horizontal", "displayMode": "gradient",
                         "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                           "values": False}},
             "fieldConfig": {"defaults": {"unit": "percentunit", "min": -1, "max": 1,
                                          "thresholds": thresholds((None, "red"), (0, "orange"),
                                                                   (0.25, "green"))},
                             "overrides": []}})
panel("timeseries", "Burn rate (page windows)",
      [("slo:streamkpi_burn_rate:rate1h", "1h {{slo}}"), ("slo:streamkpi_burn_rate:rate5m", "5m {{slo}}"),
       ("slo:streamkpi_burn_rate:rate6h", "6h {{slo}}"), ("slo:streamkpi_burn_rate:rate30m", "30m {{slo}}")],
      w=12, desc="Page at 14.4x (1h and 5m) or 6x (6h and 30m).")
panel("timeseries", "Burn rate (ticket windows)",
      [("slo:streamkpi_burn_rate:rate1d", "1d {{slo}}"), ("slo:streamkpi_burn_rate:rate2h", "2h {{slo}}"),
       ("slo:streamkpi_burn_rate:rate3d", "3d {{slo}}")],
      w=12, desc="Ticket at 3x (1d and 2h) or 1x (3d and 6h).")

row("Consumer lag")
panel("timeseries", "Offset lag by group",
      [(f"sum by (cluster, consumergroup) (kafka_consumergroup_lag_sum{{{C}}})",
        "{{cluster}} {{consumergroup}}")], w=12, unit="short")
panel("timeseries", "Time lag by group (max over partitions)",
      [(f"kafka_consumergroup_lag_seconds_max{{{C}}}", "{{cluster}} {{consumergroup}}")],
      w=12, unit="s")
panel("timeseries", "Group members",
      [(f"kafka_consumergroup_members{{{C}}}", "{{cluster}} {{consumergroup}}")], w=12)
panel("timeseries", "Produce rate by topic",
      [(f"sum by (cluster, topic) (rate(kafka_topic_partition_current_offset{{{C}}}[$__rate_interval]))",
        "{{cluster}} {{topic}}")], w=12, unit="short")

row("DLQ")
panel("timeseries", "DLQ ratio (1h)",
      [(f'streamkpi_dlq_ratio{{{C},window="1h"}}', "{{cluster}} {{source_topic}}")], w=8,
      unit="percentunit")
panel("timeseries", "DLQ messages / s",
      [(f"sum by (cluster, topic) (rate(streamkpi_dlq_messages_total{{{C}}}[$__rate_interval]))",
        "{{cluster}} {{topic}}")], w=8, unit="short")
panel("timeseries", "DLQ backlog",
      [(f"streamkpi_dlq_backlog_messages{{{C}}}", "{{cluster}} {{topic}}")], w=8, unit="short")

row("Onboarding")
panel("stat", "Active streams", [(f"sum(streamkpi_active_streams{{{C}}})", "")], w=6, h=6)
panel("stat", "Active teams", [(f"sum(streamkpi_active_teams{{{C}}})", "")], w=6, h=6)
panel("stat", "Streams onboarding", [(f"sum(streamkpi_streams_onboarding_pending{{{C}}})", "")],
      w=6, h=6)
panel("stat", "Apps deploying", [(f"sum(streamkpi_apps_deploy_pending{{{C}}})", "")], w=6, h=6)
panel("timeseries", "Time to onboard a stream (median, 30d)",
      [(f"histogram_quantile(0.5, sum by (step, le) "
        f"(increase(streamkpi_stream_onboarding_duration_seconds_bucket{{{C}}}[30d])))", "{{step}}")],
      w=12, unit="s")
panel("timeseries", "Time to deploy an app (median, 30d)",
      [(f"histogram_quantile(0.5, sum by (step, le) "
        f"(increase(streamkpi_app_deploy_duration_seconds_bucket{{{C}}}[30d])))", "{{step}}")],
      w=12, unit="s")

row("Sources health")
panel("timeseries", "Source up", [(f"streamkpi_source_up{{{C}}}", "{{cluster}} {{source}}")], w=8)
panel("timeseries", "Source stale", [(f"streamkpi_source_stale{{{C}}}", "{{cluster}} {{source}}")],
      w=8)
panel("timeseries", "Source errors / s",
      [(f"sum by (cluster, source) (rate(streamkpi_source_errors_total{{{C}}}[$__rate_interval]))",
        "{{cluster}} {{source}}")], w=8)
panel("timeseries", "Collect duration",
      [(f"streamkpi_source_collect_duration_seconds{{{C}}}", "{{cluster}} {{source}}")], w=8,
      unit="s")
panel("timeseries", "Targets up", [("streamkpi_target_up", "{{target}}")], w=8)
panel("timeseries", "State file age",
      [("time() - streamkpi_state_last_write_timestamp_seconds", "{{instance}}")], w=8, unit="s")

dashboard = {
    "uid": "streamkpi-overview",
    "title": "streamkpi overview",
    "description": "Kafka platform KPIs from streamkpi: availability, MTTR, incidents, SLOs, "
                   "lag, DLQ, onboarding and the exporter's own sources.",
    "tags": ["streamkpi", "kafka"],
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "graphTooltip": 1,
    "time": {"from": "now-24h", "to": "now"},
    "refresh": "1m",
    "timezone": "utc",
    "annotations": {"list": []},
    "links": [],
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "hide": 0, "refresh": 1},
        {"name": "cluster", "label": "Cluster", "type": "query", "datasource": DS,
         "query": {"query": "label_values(streamkpi_source_up, cluster)", "refId": "cluster"},
         "definition": "label_values(streamkpi_source_up, cluster)",
         "includeAll": True, "multi": True, "allValue": ".*", "current": {}, "refresh": 2,
         "sort": 1, "hide": 0},
    ]},
    "panels": panels,
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "streamkpi-overview.json")
with open(out, "w") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")
