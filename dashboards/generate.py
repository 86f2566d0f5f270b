#!/usr/bin/env python3
"""Writes the Grafana dashboards of streamkpi (dashboards/*.json).

Every dashboard is generated here so that panel ids, grid positions, the
datasource reference, variables and links stay consistent; edit this file and
rerun it (python3 dashboards/generate.py [OUTDIR]) rather than the JSON.
tests/it/test_dashboards.py checks that the JSON files are what this script
writes, lints them and runs every panel query against a real Prometheus.
"""

import json
import os
import sys

# Panels reading the data-product family (streamkpi_data_product_*, exported
# when the catalog declares products) and the product variable of Streams &
# products.  False leaves them out, for exporters run without a catalog.
PRODUCT_PANELS = True

DS = {"type": "prometheus", "uid": "${datasource}"}
C = 'cluster=~"$cluster"'
G = 'consumergroup=~"$consumergroup"'
RI = "$__rate_interval"
W = 24  # Grafana's grid width
TAG = "streamkpi"

STAGES = {"0": "pre-streaming", "1": "awareness and pilot", "2": "early production",
          "3": "mission-critical", "4": "global", "5": "central nervous system"}
LEVELS = {"1": "1 ad hoc", "2": "2 repeatable", "3": "3 defined", "4": "4 managed",
          "5": "5 data products"}


def thresholds(*steps):
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


def value_text(mapping):
    return [{"type": "value", "options": {k: {"text": v} for k, v in mapping.items()}}]


class Dashboard:
    def __init__(self, uid, title, description, variables=("cluster",)):
        self.uid, self.title, self.description = uid, title, description
        self.variables = variables
        self.panels = []
        self.x = self.y = self.h = 0

    def _next_id(self):
        return len(self.panels) + 1

    def row(self, title):
        if self.x:
            self.y += self.h
            self.x = 0
        self.panels.append({"type": "row", "title": title, "id": self._next_id(),
                            "collapsed": False,
                            "gridPos": {"h": 1, "w": W, "x": 0, "y": self.y}, "panels": []})
        self.y += 1
        self.h = 0

    def panel(self, kind, title, targets, desc, unit, w=8, h=8, defaults=None, options=None,
              extra=None):
        """targets: [(expr, legend)].  Tables are instant queries, the rest range."""
        if self.x + w > W:
            self.y += self.h
            self.x = 0
            self.h = 0
        fd = {"unit": unit}
        fd.update(defaults or {})
        p = {"type": kind, "title": title, "description": desc, "id": self._next_id(),
             "datasource": DS,
             "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
             "targets": [{"datasource": DS, "refId": chr(ord("A") + i), "expr": e,
                          "legendFormat": lf, "range": kind != "table",
                          "instant": kind == "table",
                          "format": "table" if kind == "table" else "time_series"}
                         for i, (e, lf) in enumerate(targets)],
             "fieldConfig": {"defaults": fd, "overrides": []},
             "options": {}}
        if kind in ("stat", "bargauge"):
            p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                              "values": False},
                            "colorMode": "value", "graphMode": "area", "textMode": "auto"}
            if kind == "bargauge":
                p["options"].update({"orientation": "horizontal", "displayMode": "gradient"})
        elif kind == "timeseries":
            p["options"] = {"legend": {"displayMode": "list", "placement": "bottom"},
                            "tooltip": {"mode": "multi", "sort": "desc"}}
        elif kind == "table":
            p["transformations"] = [
                {"id": "merge", "options": {}},
                {"id": "organize", "options": {"excludeByName": {
                    "Time": True, "__name__": True, "instance": True, "job": True}}}]
        p["options"].update(options or {})
        p.update(extra or {})
        self.panels.append(p)
        self.x += w
        self.h = max(self.h, h)

    def model(self, links):
        tvars = [{"name": "datasource", "label": "Data source", "type": "datasource",
                  "query": "prometheus", "current": {}, "hide": 0, "refresh": 1}]
        for v in self.variables:
            tvars.append(VARIABLES[v])
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": [TAG, "kafka"], "schemaVersion": 39, "version": 1, "editable": True,
            "graphTooltip": 1, "time": {"from": "now-24h", "to": "now"}, "refresh": "1m",
            "timezone": "utc", "annotations": {"list": []},
            "links": links,
            "templating": {"list": tvars},
            "panels": self.panels,
        }


def query_var(name, label, metric, lbl):
    q = f"label_values({metric}, {lbl})"
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": q, "refId": name}, "definition": q,
            "includeAll": True, "multi": True, "allValue": ".*", "current": {},
            "refresh": 2, "sort": 1, "hide": 0}


VARIABLES = {
    "cluster": query_var("cluster", "Cluster", "kafka_brokers", "cluster"),
    "consumergroup": query_var("consumergroup", "Consumer group",
                               f"kafka_consumergroup_status{{{C}}}", "consumergroup"),
    "product": query_var("product", "Data product",
                         "streamkpi_data_product_info", "product"),
}

# --------------------------------------------------------------------------
# Maturity

maturity = Dashboard("streamkpi-maturity", "streamkpi / Maturity",
                     "The streaming maturity assessment: level per dimension, adoption stage, "
                     "criteria with their evidence, the gaps to the next level, and the history.")
d = maturity
d.row("Where we stand")
d.panel("stat", "Overall level", [("streamkpi_maturity_level", "")],
        "Overall maturity level (1 ad hoc to 5 data products): the lowest level all observed "
        "and declared dimensions reach. No value while it cannot be assessed.", "none", w=6, h=6,
        defaults={"decimals": 0, "mappings": value_text(LEVELS)})
d.panel("stat", "Adoption stage", [("streamkpi_maturity_stage", "")],
        "Adoption stage (0 pre-streaming to 5 central nervous system): the highest stage whose "
        "criteria, and those of every earlier stage, are met.", "none", w=6, h=6,
        defaults={"decimals": 0, "mappings": value_text(STAGES)})
d.panel("stat", "Criteria met / unmet / unknown",
        [('count(streamkpi_maturity_criterion_status{status="met"} == 1)', "met"),
         ('count(streamkpi_maturity_criterion_status{status="unmet"} == 1)', "unmet"),
         ('count(streamkpi_maturity_criterion_status{status="unknown"} == 1)', "unknown")],
        "How many enabled criteria are met, unmet, or cannot be judged (their source is not "
        "configured or not seen yet).", "none", w=12, h=6)
d.panel("bargauge", "Level per dimension", [("streamkpi_maturity_dimension_level",
                                             "{{dimension}}")],
        "Level of each of the five dimensions; skills and business value come from the "
        "declared survey.", "none", w=12, h=8, defaults={"min": 0, "max": 5, "decimals": 0})
d.panel("timeseries", "Level history",
        [("streamkpi_maturity_dimension_level", "{{dimension}}"),
         ("streamkpi_maturity_level", "overall")],
        "Level per dimension and overall over the dashboard's time range: a drop shows when a "
        "criterion stopped holding.", "none", w=12, h=8,
        defaults={"min": 0, "max": 5, "decimals": 0})
d.panel("timeseries", "Stage history", [("streamkpi_maturity_stage", "stage")],
        "Adoption stage over the dashboard's time range.", "none", w=24, h=6,
        defaults={"min": 0, "max": 5, "decimals": 0})
d.row("Criteria")
d.panel("table", "Criteria and status",
        [("streamkpi_maturity_criterion_status == 1", "")],
        "Every enabled criterion with its level, dimension and current status.", "none",
        w=12, h=12)
d.panel("table", "Gaps: unmet criteria with evidence and target",
        [('streamkpi_maturity_criterion_evidence * on (criterion, instance, job) '
          'group_left (level, dimension) '
          '(streamkpi_maturity_criterion_status{status="unmet"} == 1)', ""),
         ('streamkpi_maturity_criterion_threshold * on (criterion, instance, job) '
          'group_left (level, dimension) '
          '(streamkpi_maturity_criterion_status{status="unmet"} == 1)', "")],
        "The criteria that keep a dimension from its next level: the measured evidence "
        "(Value #A) against the target (Value #B). /report lists the step that closes each.",
        "none", w=12, h=12)
d.panel("table", "KPIs of each level with targets",
        [('streamkpi_maturity_criterion_evidence * on (criterion, instance, job) '
          'group_left (level, dimension, status) (streamkpi_maturity_criterion_status == 1)', ""),
         ('streamkpi_maturity_criterion_threshold * on (criterion, instance, job) '
          'group_left (level, dimension, status) (streamkpi_maturity_criterion_status == 1)', "")],
        "Every criterion with a measured value: evidence (Value #A) and target (Value #B), "
        "sortable by level. Criteria without evidence are unknown and listed above.", "none",
        w=24, h=12)

# --------------------------------------------------------------------------
# Platform

platform = Dashboard("streamkpi-platform", "streamkpi / Platform",
                     "Platform availability from the end-to-end canary, incidents, MTTR and SLOs.")
d = platform
d.row("Availability")
d.panel("stat", "Availability (30d)",
        [(f'streamkpi_availability_ratio{{{C},window="30d"}}', "{{cluster}}")],
        "Healthy share of the observed time over 30 days; maintenance windows excluded.",
        "percentunit", w=6, h=6,
        defaults={"decimals": 3, "thresholds": thresholds((None, "red"), (0.99, "orange"),
                                                          (0.999, "green"))})
d.panel("stat", "MTTR (30d)", [(f'streamkpi_mttr_seconds{{{C},window="30d"}}', "{{cluster}}")],
        "Mean time to recovery of the incidents resolved in the last 30 days, all sources.",
        "s", w=6, h=6)
d.panel("stat", "Observed share (30d)",
        [(f'streamkpi_observed_ratio{{{C},window="30d"}}', "{{cluster}}")],
        "Share of the window covered by probes; low coverage makes availability less certain.",
        "percentunit", w=6, h=6)
d.panel("stat", "Healthy now", [(f"streamkpi_healthy{{{C}}}", "{{cluster}}")],
        "The health rule on the newest probe interval.", "none", w=6, h=6,
        defaults={"mappings": [{"type": "value", "options": {
            "0": {"text": "UNHEALTHY", "color": "red"},
            "1": {"text": "healthy", "color": "green"}}}]})
d.panel("timeseries", "Availability by window",
        [(f"streamkpi_availability_ratio{{{C}}}", "{{cluster}} {{window}}")],
        "Availability over 1h, 1d, 7d and 30d windows.", "percentunit", w=12)
d.panel("timeseries", "Downtime share",
        [(f"sum by (cluster) (rate(streamkpi_downtime_seconds_total{{{C}}}[{RI}]))"
          f" / sum by (cluster) (rate(streamkpi_observed_seconds_total{{{C}}}[{RI}]))",
          "{{cluster}}")],
        "Unhealthy share of the observed time, per rate interval.", "percentunit", w=12)
d.row("Canary probe")
d.panel("timeseries", "Canary latency p99",
        [(f"histogram_quantile(0.99, sum by (cluster, le) "
          f"(rate(streamkpi_probe_roundtrip_latency_seconds_bucket{{{C}}}[{RI}])))",
          "round trip {{cluster}}"),
         (f"histogram_quantile(0.99, sum by (cluster, le) "
          f"(rate(streamkpi_probe_produce_latency_seconds_bucket{{{C}}}[{RI}])))",
          "produce {{cluster}}")],
        "99th percentile of the canary's produce-to-ack and produce-to-consume times.", "s",
        w=8)
d.panel("timeseries", "Probe failures by reason",
        [(f"sum by (cluster, reason) (rate(streamkpi_probe_failures_total{{{C}}}[{RI}]))",
          "{{cluster}} {{reason}}")],
        "Failed probe cycles per second by their first failing step.", "ops", w=8)
d.panel("timeseries", "Brokers up and offline partitions",
        [(f"streamkpi_probe_brokers_up{{{C}}}", "brokers up {{cluster}}"),
         (f"streamkpi_probe_offline_partitions{{{C}}}", "offline partitions {{cluster}}")],
        "What the probe's metadata request saw.", "none", w=8)
d.row("Incidents")
d.panel("stat", "Open incidents",
        [(f"sum by (cluster) (streamkpi_incidents_open{{{C}}})", "{{cluster}}")],
        "Incidents open now, from the health rule and from Alertmanager.", "none", w=6, h=6,
        defaults={"thresholds": thresholds((None, "green"), (1, "red"))})
d.panel("timeseries", "Incidents opened / resolved per day",
        [(f"sum by (cluster, source) (increase(streamkpi_incidents_opened_total{{{C}}}[1d]))",
          "opened {{cluster}} {{source}}"),
         (f"sum by (cluster, source) (increase(streamkpi_incidents_resolved_total{{{C}}}[1d]))",
          "resolved {{cluster}} {{source}}")],
        "Incidents opened and resolved over the trailing day.", "none", w=9, h=6)
d.panel("timeseries", "Recovery time p50 / p90 (7d)",
        [(f"histogram_quantile(0.5, sum by (cluster, le) "
          f"(increase(streamkpi_incident_recovery_seconds_bucket{{{C}}}[7d])))", "p50 {{cluster}}"),
         (f"histogram_quantile(0.9, sum by (cluster, le) "
          f"(increase(streamkpi_incident_recovery_seconds_bucket{{{C}}}[7d])))",
          "p90 {{cluster}}")],
        "Distribution of the time from an incident's start to its resolution over 7 days.",
        "s", w=9, h=6)
d.panel("timeseries", "MTTR by window", [(f"streamkpi_mttr_seconds{{{C}}}",
                                          "{{cluster}} {{window}}")],
        "Mean recovery time of the incidents that ended in each window.", "s", w=24, h=6)
d.row("SLOs")
d.panel("table", "SLO attainment",
        [("streamkpi_slo_attainment_ratio", ""), ("streamkpi_slo_objective_ratio", ""),
         ("streamkpi_slo_error_budget_remaining_ratio", "")],
        "Attainment (Value #A) over each SLO's window against its objective (Value #B), and "
        "the error budget left (Value #C).", "percentunit", w=12,
        defaults={"decimals": 3})
d.panel("bargauge", "Error budget remaining",
        [("streamkpi_slo_error_budget_remaining_ratio", "{{slo}}")],
        "Share of the error budget left; below zero the budget is overspent by that many "
        "budgets.", "percentunit", w=12,
        defaults={"min": -1, "max": 1, "thresholds": thresholds((None, "red"), (0, "orange"),
                                                                  (0.25, "green"))})
d.panel("timeseries", "Burn rate (page windows)",
        [("slo:streamkpi_burn_rate:rate1h", "1h {{slo}}"),
         ("slo:streamkpi_burn_rate:rate5m", "5m {{slo}}"),
         ("slo:streamkpi_burn_rate:rate6h", "6h {{slo}}"),
         ("slo:streamkpi_burn_rate:rate30m", "30m {{slo}}")],
        "Budget spend relative to a steady spend; pages at 14.4x (1h and 5m) or 6x (6h and "
        "30m). Needs the recording rules of alerts/streamkpi.rules.yml.", "none", w=12)
d.panel("timeseries", "Burn rate (ticket windows)",
        [("slo:streamkpi_burn_rate:rate1d", "1d {{slo}}"),
         ("slo:streamkpi_burn_rate:rate2h", "2h {{slo}}"),
         ("slo:streamkpi_burn_rate:rate3d", "3d {{slo}}")],
        "Tickets at 3x (1d and 2h) or 1x (3d and 6h). Needs the recording rules of "
        "alerts/streamkpi.rules.yml.", "none", w=12)

# --------------------------------------------------------------------------
# Streams & products

streams = Dashboard("streamkpi-streams", "streamkpi / Streams & products",
                    "Onboarding, active streams and teams, policy compliance, dead-letter "
                    "queues and data products.",
                    variables=("cluster", "product") if PRODUCT_PANELS else ("cluster",))
d = streams
d.row("Streams and teams")
d.panel("stat", "Active streams", [(f"sum(streamkpi_active_streams{{{C}}})", "")],
        "Topics written to and consumed within the last day.", "none", w=6, h=6)
d.panel("stat", "Active teams", [(f"sum(streamkpi_active_teams{{{C}}})", "")],
        "Distinct owning teams of the active streams (summed over clusters).", "none", w=6, h=6)
d.panel("stat", "Streams onboarding", [(f"sum(streamkpi_streams_onboarding_pending{{{C}}})",
                                        "")],
        "New topics that have not yet had both a first message and a first consumer.", "none",
        w=6, h=6)
d.panel("stat", "Apps deploying", [(f"sum(streamkpi_apps_deploy_pending{{{C}}})", "")],
        "New consumer groups that have not yet committed and caught up.", "none", w=6, h=6)
d.panel("timeseries", "Time to onboard a stream (median, 30d)",
        [(f"histogram_quantile(0.5, sum by (step, le) "
          f"(increase(streamkpi_stream_onboarding_duration_seconds_bucket{{{C}}}[30d])))",
          "{{step}}")],
        "Median time from a topic's creation to its first message and to its first consumer.",
        "s", w=12)
d.panel("timeseries", "Time to deploy an app (median, 30d)",
        [(f"histogram_quantile(0.5, sum by (step, le) "
          f"(increase(streamkpi_app_deploy_duration_seconds_bucket{{{C}}}[30d])))", "{{step}}")],
        "Median time from a group's appearance to its first commit and to catching up.", "s",
        w=12)
d.panel("timeseries", "Oldest pending onboarding",
        [(f"streamkpi_stream_onboarding_oldest_pending_age_seconds{{{C}}}", "stream {{cluster}}"),
         (f"streamkpi_app_deploy_oldest_pending_age_seconds{{{C}}}", "app {{cluster}}")],
        "Age of the oldest stream and app still onboarding; 0 when none is pending.", "s", w=12)
d.panel("table", "Active streams by team",
        [(f"count by (cluster, team) (streamkpi_stream_active{{{C}}})", "")],
        "Active streams per owning team (empty team: the name matches no team rule).", "none",
        w=12)
d.row("Policy compliance")
d.panel("stat", "Policy pass ratio", [(f"streamkpi_policy_pass_ratio{{{C}}}", "{{cluster}}")],
        "Share of the audited topic and broker checks that pass.", "percentunit", w=6, h=6,
        defaults={"thresholds": thresholds((None, "red"), (0.8, "orange"), (0.95, "green"))})
d.panel("stat", "Topic naming conformance",
        [(f"streamkpi_topic_naming_conformance_ratio{{{C}}}", "{{cluster}}")],
        "Share of topics whose name matches the team naming rule.", "percentunit", w=6, h=6)
d.panel("timeseries", "Failing topics by rule",
        [(f'sum by (cluster, rule) (streamkpi_policy_topics{{{C},result="fail"}})',
          "{{cluster}} {{rule}}")],
        "Topics failing each policy rule at the last audit; GET /api/v1/policy names them.",
        "none", w=12, h=6)
d.row("Dead-letter queues")
d.panel("timeseries", "DLQ ratio (1h)",
        [(f'streamkpi_dlq_ratio{{{C},window="1h"}}', "{{cluster}} {{source_topic}}")],
        "Share of a pipeline's messages that went to its dead-letter queue in the last hour.",
        "percentunit", w=8)
d.panel("timeseries", "DLQ messages / s",
        [(f"sum by (cluster, topic) (rate(streamkpi_dlq_messages_total{{{C}}}[{RI}]))",
          "{{cluster}} {{topic}}")],
        "Messages written to each dead-letter topic per second.", "mps", w=8)
d.panel("timeseries", "DLQ backlog",
        [(f"streamkpi_dlq_backlog_messages{{{C}}}", "{{cluster}} {{topic}}")],
        "Largest lag among the groups reprocessing each dead-letter topic.", "none", w=8)

P = 'product=~"$product"'
if PRODUCT_PANELS:
    d.row("Data products")
    d.panel("stat", "SLO achievement",
            [("streamkpi_data_product_slo_achievement_ratio", "")],
            "Share of data products that meet every one of their SLOs.", "percentunit",
            w=6, h=6)
    d.panel("stat", "Cross-domain reuse", [("streamkpi_data_product_reuse_ratio", "")],
            "Share of data products consumed by at least one other domain.", "percentunit",
            w=6, h=6)
    d.panel("table", "Product SLOs: met, attainment, objective",
            [(f"streamkpi_data_product_slo_met{{{P}}}", ""),
             (f"streamkpi_data_product_slo_attainment_ratio{{{P}}}", ""),
             (f"streamkpi_data_product_slo_objective_ratio{{{P}}}", "")],
            "Per data product and SLO: met now (Value #A, 1 or 0), the share of good events "
            "over the SLO window (Value #B) and the objective (Value #C). An SLO without "
            "events yet shows only its objective.", "none", w=12, h=6,
            defaults={"decimals": 3})
    d.panel("bargauge", "Product error budget remaining",
            [(f"streamkpi_data_product_slo_error_budget_remaining_ratio{{{P}}}",
              "{{product}} {{slo}}")],
            "Share of each product SLO's error budget left over its window; below zero the "
            "budget is overspent by that many budgets.", "percentunit", w=12, h=8,
            defaults={"min": -1, "max": 1, "thresholds": thresholds(
                (None, "red"), (0, "orange"), (0.25, "green"))})
    d.panel("timeseries", "Freshness age",
            [(f"streamkpi_data_product_freshness_age_seconds{{{P}}}", "{{product}}")],
            "Age of the newest message on each product's topics (the last time a high "
            "watermark moved). No line while it is not known yet.", "s", w=12, h=8)
    d.panel("timeseries", "Product SLO burn rate",
            [(f"product:streamkpi_burn_rate:rate1h{{{P}}}", "1h {{product}} {{slo}}"),
             (f"product:streamkpi_burn_rate:rate1d{{{P}}}", "1d {{product}} {{slo}}")],
            "How much faster than its own objective allows each product SLO is missed; pages "
            "at 14.4x over 1h, tickets at 3x over 1d. Needs the recording rules of "
            "alerts/streamkpi.rules.yml.", "none", w=24, h=8)
    d.panel("table", "Consuming domains",
            [(f"sum by (product, consumer_domain, cross_domain) "
              f"(streamkpi_data_product_consumers{{{P}}})", "")],
            "Consumer groups of each product by their domain; cross_domain=true counts "
            "towards reuse.", "none", w=24, h=8)
    d.row("Data product catalog")
    # (title, query, description, colour from 1 on or None): counts of what
    # the catalog misses or gets wrong, 0 when it is clean.
    for title, expr, desc, colour in (
            ("Data products", f"count(streamkpi_data_product_info{{{P}}})",
             "Data products declared in the configuration and in data contracts.", None),
            ("Missing product topics", f"sum(streamkpi_data_product_missing_topics{{{P}}})",
             "Topics named by a product that no watched cluster has: a typo in the catalog "
             "or a topic deleted. GET /api/v1/products names them.", "orange"),
            ("Consumers of unknown domain",
             f"sum(streamkpi_data_product_unmapped_consumers{{{P}}})",
             "Groups reading a product whose business domain no rule gives: they cannot "
             "count towards reuse until catalog.group_domains or the product's consumers "
             "map them.", "orange"),
            ("Topics in several products", "streamkpi_data_product_shared_topics",
             "Topics declared by more than one data product: their ownership is ambiguous.",
             "orange"),
            ("Active topics of no product", "streamkpi_data_product_unowned_active_topics",
             "Topics written to in the last hour that no data product declares (dead-letter "
             "topics included).", None),
            ("Catalog errors", "streamkpi_data_product_catalog_errors",
             "Products or contract files the exporter could not use; the log and GET "
             "/api/v1/products give the file and line.", "red")):
        d.panel("stat", title, [(expr, "")], desc, "none", w=4, h=6,
                defaults={"thresholds": thresholds((None, "green"), (1, colour))}
                if colour else None)
    d.panel("table", "Declared value",
            [(f"streamkpi_data_product_value{{{P}}}", "")],
            "Business value each product declares per period, in its currency; GET "
            "/api/v1/products gives the date it was declared.", "none", w=12, h=6)
    d.panel("timeseries", "Delivered value per day",
            [(f"increase(streamkpi_data_product_observed_value_total{{{P}}}[1d])",
              "{{product}}")],
            "Good events the product's value target counted over the trailing day (e.g. "
            "orders processed): the value it actually delivers.", "none", w=12, h=6)

# --------------------------------------------------------------------------
# Consumers

consumers = Dashboard("streamkpi-consumers", "streamkpi / Consumers",
                      "Consumer groups: lag in offsets and seconds, status, parallelism and "
                      "the retention margin before unread data is deleted.",
                      variables=("cluster", "consumergroup"))
d = consumers
d.row("Lag")
d.panel("timeseries", "Offset lag by group",
        [(f"sum by (cluster, consumergroup) (kafka_consumergroup_lag_sum{{{C},{G}}})",
          "{{cluster}} {{consumergroup}}")],
        "Messages not yet consumed, summed over the group's partitions.", "none", w=12)
d.panel("timeseries", "Time lag by group (worst partition)",
        [(f"kafka_consumergroup_lag_seconds_max{{{C},{G}}}", "{{cluster}} {{consumergroup}}")],
        "Age of the oldest unconsumed message of the group's worst partition.", "s", w=12)
d.panel("timeseries", "Consumption rate by group",
        [(f"sum by (cluster, consumergroup) "
          f"(rate(kafka_consumergroup_current_offset{{{C},{G}}}[{RI}]))",
          "{{cluster}} {{consumergroup}}")],
        "Committed offsets per second: how fast the group moves.", "mps", w=12)
d.panel("table", "Groups by status",
        [(f"kafka_consumergroup_status{{{C},{G}}} == 1", "")],
        "Each group's status over the status window: OK, WARNING, REWIND, STALLED, STOPPED or "
        "ERROR (records deleted unread). GET /api/v1/groups gives the reason.", "none", w=12)
d.row("Parallelism")
d.panel("timeseries", "Members",
        [(f"kafka_consumergroup_members{{{C},{G}}}", "{{cluster}} {{consumergroup}}")],
        "Members of each group.", "none", w=8)
d.panel("timeseries", "Parallelism ratio",
        [(f"streamkpi_consumer_parallelism_ratio{{{C},{G}}}", "{{cluster}} {{consumergroup}}")],
        "Active members per assigned partition: 1 when each partition has its own consumer.",
        "percentunit", w=8)
d.panel("timeseries", "Idle members",
        [(f"streamkpi_consumer_members_idle{{{C},{G}}}", "{{cluster}} {{consumergroup}}")],
        "Members holding no partition (more members than partitions, or a rebalance).", "none",
        w=8)
d.row("Retention risk")
d.panel("timeseries", "Retention margin",
        [(f"min by (cluster, consumergroup, topic) "
          f"(kafka_consumergroup_retention_margin_seconds{{{C},{G}}})",
          "{{cluster}} {{consumergroup}} {{topic}}")],
        "Topic retention minus the group's time lag: at 0 the broker deletes messages the "
        "group has not read.", "s", w=12)
d.panel("table", "Lowest retention margins",
        [(f"bottomk(10, kafka_consumergroup_retention_margin_seconds{{{C},{G}}})", "")],
        "The ten group/topic pairs closest to losing unread messages.", "s", w=12)

# --------------------------------------------------------------------------
# Kafka cluster

kafka = Dashboard("streamkpi-kafka", "streamkpi / Kafka cluster",
                  "Brokers, partitions, replication health, leaders, traffic and "
                  "MirrorMaker 2 replication between clusters.")
d = kafka
d.row("Brokers and partitions")
d.panel("stat", "Brokers", [(f"kafka_brokers{{{C}}}", "{{cluster}}")],
        "Brokers in the cluster metadata.", "none", w=6, h=6)
d.panel("stat", "Offline partitions", [(f"kafka_offline_partitions{{{C}}}", "{{cluster}}")],
        "Partitions without a leader: nobody can write or read them.", "none", w=6, h=6,
        defaults={"thresholds": thresholds((None, "green"), (1, "red"))})
d.panel("stat", "Under-replicated partitions",
        [(f"sum by (cluster) (kafka_topic_partition_under_replicated_partition{{{C}}})",
          "{{cluster}}")],
        "Partitions with fewer in-sync replicas than replicas.", "none", w=6, h=6,
        defaults={"thresholds": thresholds((None, "green"), (1, "orange"))})
d.panel("stat", "Partitions", [(f"sum by (cluster) (kafka_topic_partitions{{{C}}})",
                                "{{cluster}}")],
        "Partitions over all topics seen (after the topic filters).", "none", w=6, h=6)
d.panel("table", "Brokers", [(f"kafka_broker_info{{{C}}}", "")],
        "Every broker in the metadata with its id and address.", "none", w=8)
d.panel("timeseries", "Leaders per broker",
        [(f'count_values by (cluster) ("leader", kafka_topic_partition_leader{{{C}}})',
          "{{cluster}} broker {{leader}}")],
        "Partitions led by each broker id (the value of kafka_topic_partition_leader).",
        "none", w=8)
d.panel("timeseries", "Leaders not on their preferred replica",
        [(f"sum by (cluster) (1 - kafka_topic_partition_leader_is_preferred{{{C}}})",
          "{{cluster}}")],
        "Partitions led by another broker than the first replica: load is unbalanced until "
        "a preferred leader election.", "none", w=8)
d.panel("timeseries", "Smallest ISR by topic",
        [(f"min by (cluster, topic) (kafka_topic_partition_in_sync_replica{{{C}}})",
          "{{cluster}} {{topic}}")],
        "The fewest in-sync replicas of any partition of each topic.", "none", w=12)
d.panel("timeseries", "Produce rate by topic",
        [(f"sum by (cluster, topic) "
          f"(rate(kafka_topic_partition_current_offset{{{C}}}[{RI}]))", "{{cluster}} {{topic}}")],
        "Messages written per second, from the high watermarks.", "mps", w=12)
d.row("Replication between clusters")
d.panel("timeseries", "Replication lag by flow",
        [('streamkpi_replication_flow_lag_messages{target=~"$cluster"}',
          "{{source}} → {{target}}")],
        "Messages on the source not yet on the target, summed over the mirrored topics.",
        "none", w=8)
d.panel("timeseries", "Replication latency (heartbeat age)",
        [('streamkpi_replication_heartbeat_age_seconds{target=~"$cluster"}',
          "{{source}} → {{target}}"),
         ('streamkpi_replication_checkpoint_age_seconds{target=~"$cluster"}',
          "checkpoints {{source}} → {{target}}")],
        "Seconds since the target's copy of the source heartbeats (and checkpoints) last "
        "grew: an upper bound of the replication latency.", "s", w=8)
d.panel("timeseries", "Mirrored topics",
        [('streamkpi_replication_topics{target=~"$cluster"}', "{{source}} → {{target}}"),
         ('streamkpi_replication_lag_unknown_topics{target=~"$cluster"}',
          "unknown lag {{source}} → {{target}}")],
        "Topics mirrored per flow, and those whose lag cannot be computed.", "none", w=8)

# --------------------------------------------------------------------------
# Exporter self-health

exporter = Dashboard("streamkpi-exporter", "streamkpi / Exporter self-health",
                     "The exporter's own sources, targets, state file, configuration reloads, "
                     "exposition and web server.")
d = exporter
d.row("Sources")
d.panel("timeseries", "Source up",
        [(f'streamkpi_source_up{{{C}}} or streamkpi_source_up{{cluster=""}}',
          "{{cluster}} {{source}}")],
        "1 when the source's last cycle succeeded (kafka, probe, kpi, target:<name>).", "none",
        w=8)
d.panel("timeseries", "Source stale",
        [(f'streamkpi_source_stale{{{C}}} or streamkpi_source_stale{{cluster=""}}',
          "{{cluster}} {{source}}")],
        "1 while the exporter serves the last good data of a failing source.", "none", w=8)
d.panel("timeseries", "Source errors / s",
        [(f"sum by (cluster, source) (rate(streamkpi_source_errors_total{{{C}}}[{RI}]))",
          "{{cluster}} {{source}}")],
        "Failed source cycles per second.", "ops", w=8)
d.panel("timeseries", "Collect duration",
        [(f"streamkpi_source_collect_duration_seconds{{{C}}}", "{{cluster}} {{source}}")],
        "Wall time of each source's last cycle.", "s", w=8)
d.panel("timeseries", "Kafka requests per cycle",
        [(f"sum by (cluster, request) (streamkpi_kafka_requests{{{C}}})",
          "{{cluster}} {{request}}"),
         (f"sum by (cluster, request) (streamkpi_kafka_request_errors{{{C}}})",
          "errors {{cluster}} {{request}}")],
        "Kafka requests the sampler sent in its last cycle, and those that failed.", "none",
        w=8)
d.panel("timeseries", "Committed-message timestamp reads / s",
        [(f"sum by (cluster) (rate(streamkpi_kafka_message_time_reads_total{{{C}}}[{RI}]))",
          "{{cluster}}")],
        "Reads of committed messages' timestamps for the time lag of stalled consumers.",
        "ops", w=8)
d.row("Targets")
d.panel("timeseries", "Targets up", [("streamkpi_target_up", "{{target}}")],
        "1 when the last scrape of an application, Schema Registry or Connect target "
        "succeeded.", "none", w=8)
d.panel("timeseries", "Target scrape duration",
        [("streamkpi_target_scrape_duration_seconds", "{{target}}")],
        "Duration of each target's last scrape.", "s", w=8)
d.panel("timeseries", "Target errors / s",
        [(f"sum by (target, reason) (rate(streamkpi_target_errors_total[{RI}]))",
          "{{target}} {{reason}}")],
        "Failed target scrapes per second by reason.", "ops", w=8)
d.row("State, configuration, exposition")
d.panel("stat", "Configuration reload", [("streamkpi_config_last_reload_successful",
                                          "{{instance}}")],
        "0 when the last reload of the configuration failed; the previous configuration "
        "stays in force.", "none", w=6, h=6,
        defaults={"mappings": [{"type": "value", "options": {
            "0": {"text": "FAILED", "color": "red"}, "1": {"text": "ok", "color": "green"}}}]})
d.panel("stat", "Configuration age",
        [("time() - streamkpi_config_last_reload_success_timestamp_seconds", "{{instance}}")],
        "Time since the configuration was last loaded successfully.", "s", w=6, h=6)
d.panel("stat", "State file age",
        [("time() - streamkpi_state_last_write_timestamp_seconds", "{{instance}}")],
        "Time since the state file was last written.", "s", w=6, h=6)
d.panel("stat", "State write errors (1d)",
        [("increase(streamkpi_state_write_errors_total[1d])", "{{instance}}")],
        "Failed state-file writes over the last day.", "none", w=6, h=6,
        defaults={"thresholds": thresholds((None, "green"), (1, "red"))})
d.panel("timeseries", "Exposition size",
        [("streamkpi_exposition_bytes", "{{instance}} whole"),
         ("streamkpi_exposition_rendered_bytes", "{{instance}} rendered anew")],
        "Size of the /metrics text, and how much of it the last snapshot rendered anew (the "
        "rest was unchanged and reused).", "bytes", w=8)
d.panel("timeseries", "Render duration",
        [("streamkpi_exposition_render_duration_seconds", "{{instance}}")],
        "Time to render the newest snapshot.", "s", w=8)
d.panel("timeseries", "Webhook requests / s",
        [(f"sum by (code) (rate(streamkpi_alertmanager_webhook_requests_total[{RI}]))",
          "{{code}}")],
        "Alertmanager webhook requests by answer code.", "reqps", w=8)
d.panel("table", "Build", [("streamkpi_build_info", "")],
        "Version, revision and librdkafka of each exporter.", "none", w=24, h=5)

DASHBOARDS = [maturity, platform, streams, consumers, kafka, exporter]


def links():
    return [{"title": "streamkpi", "type": "dashboards", "tags": [TAG], "asDropdown": True,
             "includeVars": True, "keepTime": True, "icon": "external link",
             "targetBlank": False}]


def render():
    """{file name: dashboard dict} of every dashboard."""
    return {f"{db.uid}.json": db.model(links()) for db in DASHBOARDS}


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, doc in render().items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
