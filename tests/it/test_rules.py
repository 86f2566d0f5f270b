"""The alerting and recording rules, and the example Alertmanager configuration.

promtool checks and unit-tests the rules, and every alert must have a unit
test case that fires, one that stays silent, and a runbook section; the example
Alertmanager configuration must pass amtool and route as documented.  The
rules against a live exporter and a real Prometheus (every name they read is
exported, every group evaluates) are checked in test_dashboards.py, on the
scenario that produces every family.
"""

import glob
import os
import re
import subprocess

import pytest
import yaml

from conftest import PROMTOOL, ROOT, require
from helpers_avail import AMTOOL

RULES = sorted(glob.glob(os.path.join(ROOT, "alerts", "*.rules.yml")))
RULE_TESTS = sorted(glob.glob(os.path.join(ROOT, "alerts", "tests", "*.yml")))
RUNBOOKS = os.path.join(ROOT, "docs", "runbooks.md")
AM_EXAMPLE = os.path.join(ROOT, "alerts", "alertmanager.example.yml")

# Words in a PromQL expression that are neither metric names nor functions
# (functions are recognised by the "(" after them).
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan"}


def promtool(*args):
    require(PROMTOOL, "run scripts/deps.sh (Debian package prometheus)")
    r = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120,
                       cwd=os.path.join(ROOT, "alerts"))
    return r.returncode, r.stdout + r.stderr


def metric_names(expr):
    """The metric names an expression selects: strings, label matchers,
    grouping clauses, ranges and Grafana variables removed, then every
    identifier not followed by "(" and not a keyword or number."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)
    e = re.sub(r"\boffset\s+\S+", "", e)
    names = set()
    for m in re.finditer(r"(?<![0-9.\w:])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        # "sum by (...) (" and "sum without (...)": the aggregation itself.
        if word.lower() in KEYWORDS or rest.startswith("(") or \
                re.match(r"(by|without)\b", rest):
            continue
        names.add(word)
    return names


def test_metric_names_parser_finds_names_only():
    got = metric_names('sum by (cluster, le) (rate(a_b_bucket{x="y(z)",c=~"$cluster"}[5m])) '
                       '/ on (slo) slo:rec:rate5m and bool time() - c_total offset 1h > 0.5')
    assert got == {"a_b_bucket", "slo:rec:rate5m", "c_total"}


def test_promtool_check_rules():
    assert RULES, "no alerts/*.yml"
    rc, out = promtool("check", "rules", *RULES)
    assert rc == 0, out


def test_promtool_rule_unit_tests():
    assert RULE_TESTS, "no alerts/tests/*.yml"
    rc, out = promtool("test", "rules", *RULE_TESTS)
    assert rc == 0, out


def load_rules():
    groups = []
    for path in RULES:
        with open(path) as f:
            groups += yaml.safe_load(f)["groups"]
    return groups


def alerts():
    return [r for g in load_rules() for r in g["rules"] if "alert" in r]


def test_every_alert_is_annotated_and_has_a_runbook_section():
    with open(RUNBOOKS) as f:
        anchors = {re.sub(r"[^a-z0-9_-]", "", line[3:].strip().lower().replace(" ", "-"))
                   for line in f if line.startswith("## ")}
    missing = []
    assert len(alerts()) >= 23
    for r in alerts():
        assert r["labels"]["severity"] in ("critical", "warning"), r["alert"]
        ann = r["annotations"]
        assert ann["summary"] and ann["description"], r["alert"]
        path, _, anchor = ann["runbook"].partition("#")
        assert path == "docs/runbooks.md" and anchor == r["alert"].lower(), r["alert"]
        if anchor not in anchors:
            missing.append(r["alert"])
    assert not missing, f"no section '## <alert>' in docs/runbooks.md for {missing}"


def test_every_alert_has_a_firing_and_a_silent_unit_test_case():
    fires, silent = set(), set()
    for path in RULE_TESTS:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for case in doc["tests"]:
            for t in case.get("alert_rule_test", []):
                (fires if t.get("exp_alerts") else silent).add(t["alertname"])
    names = {r["alert"] for r in alerts()}
    assert not names - fires, f"alerts without a firing test case: {sorted(names - fires)}"
    assert not names - silent, f"alerts without a silent test case: {sorted(names - silent)}"


def amtool(*args):
    require(AMTOOL, "run scripts/deps.sh (Debian package prometheus-alertmanager)")
    r = subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def test_example_alertmanager_config_is_valid():
    rc, out, err = amtool("check-config", AM_EXAMPLE)
    assert rc == 0, out + err


@pytest.mark.parametrize("labels,want", [
    # Pages and tickets by severity; every alert but one back to the exporter.
    (["alertname=KafkaClusterUnhealthy", "severity=critical", "cluster=a"], "streamkpi,page"),
    (["alertname=ConsumerGroupStalled", "severity=warning", "cluster=a"], "streamkpi,ticket"),
    # Raised from the exporter's own incidents: never sent back to it.
    (["alertname=KafkaIncidentOpen", "severity=warning", "cluster=a"], "ticket"),
])
def test_example_alertmanager_config_routes_page_ticket_and_webhook(labels, want):
    rc, out, err = amtool("config", "routes", "test", f"--config.file={AM_EXAMPLE}", *labels)
    assert rc == 0, out + err
    assert out.strip() == want, out + err


def test_example_alertmanager_config_sends_to_the_exporter_webhook_with_a_token():
    with open(AM_EXAMPLE) as f:
        doc = yaml.safe_load(f)
    hooks = [w for r in doc["receivers"] for w in r.get("webhook_configs", [])]
    assert len(hooks) == 1
    hook = hooks[0]
    assert hook["url"].endswith("/api/v1/alertmanager") and hook["send_resolved"] is True
    auth = hook["http_config"]["authorization"]
    assert auth["type"] == "Bearer" and (auth.get("credentials_file") or auth.get("credentials"))


def recorded_names():
    return {r["record"] for g in load_rules() for r in g["rules"] if "record" in r}
