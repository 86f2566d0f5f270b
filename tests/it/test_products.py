"""Data products on a real broker: three domains, their products' SLOs and
cross-domain reuse, and the same catalog given as ODCS contract files.

sales owns checkout (written all along, freshness 5 s), finance owns payments
(written once before the exporter starts, then never: freshness missed),
logistics owns shipments (its source idle, its DLQ written all along: every
interval with traffic is over the 10% DLQ objective).  checkout is read by a
sales and a finance group, payments by a logistics group, shipments only by
a logistics group: two of three products are reused by another domain.
"""

import json
import os
import signal
import uuid

from conftest import ToolProc, poll
from helpers_kpi import kpi_config, one, wait_a_bit, wait_kafka_cycle

CLUSTER = "itest"
FRESH_S = 5


def names(tok):
    return {"checkout": f"sales.checkout-{tok}", "payments": f"finance.payments-{tok}",
            "shipments": f"logistics.shipments-{tok}",
            "dlq": f"logistics.shipments-{tok}.dlq"}


def catalog_config(t):
    return ("catalog:\n"
            "  slo_objective: 0.9\n  slo_window: 1h\n"
            "  group_domains: {'^finance-': finance, '^logistics-': logistics}\n"
            "  products:\n"
            f"    - name: checkout\n      owner: sales\n      domain: sales\n"
            f"      topics: ['{t['checkout']}']\n      freshness: {FRESH_S}s\n"
            f"    - name: payments\n      owner: finance\n      domain: finance\n"
            f"      topics: ['{t['payments']}']\n      freshness: {FRESH_S}s\n"
            f"    - name: shipments\n      owner: logistics\n      domain: logistics\n"
            f"      topics: ['{t['shipments']}']\n      dlq_ratio: 0.1\n")


def contract(cid, product, domain, team, topic, sla="", custom=""):
    return (f"apiVersion: v3.0.2\nkind: DataContract\nid: {cid}\nstatus: active\n"
            f"name: {product}_contract\ndataProduct: {product}\ndomain: {domain}\n"
            f"team:\n  name: {team}\n"
            f"schema:\n  - name: Records\n    physicalName: {topic}\n    physicalType: topic\n"
            f"{sla}{custom}")


def write_contracts(d, t):
    os.makedirs(d, exist_ok=True)
    fresh = f"slaProperties:\n  - property: latency\n    value: {FRESH_S}\n    unit: s\n"
    files = {
        "checkout.odcs.yaml": contract("c-1", "checkout", "sales", "sales", t["checkout"], fresh),
        "payments.odcs.yaml": contract("p-1", "payments", "finance", "finance", t["payments"],
                                       fresh),
        "shipments.odcs.yaml": contract("s-1", "shipments", "logistics", "logistics",
                                        t["shipments"],
                                        custom="customProperties:\n  - property: dlqRatio\n"
                                               "    value: 0.1\n"),
    }
    for n, text in files.items():
        with open(os.path.join(d, n), "w") as f:
            f.write(text)


def stable_lines(text):
    """The product series whose values the scenario fixes (not counters or
    ages, which depend on when each exporter sampled)."""
    keep = ("streamkpi_data_product_info", "streamkpi_data_product_slo_met",
            "streamkpi_data_product_slo_attainment_ratio",
            "streamkpi_data_product_slo_objective_ratio",
            "streamkpi_data_product_slo_achievement_ratio", "streamkpi_data_product_consumers",
            "streamkpi_data_product_unmapped_consumers", "streamkpi_data_product_reuse_ratio",
            "streamkpi_data_product_missing_topics", "streamkpi_data_product_shared_topics",
            "streamkpi_data_product_catalog_errors")
    return sorted(line for line in text.splitlines()
                  if line.startswith(keep) and not line.startswith("#"))


def settled(s):
    met = [one(s, "streamkpi_data_product_slo_met", product=p, slo=o)
           for p, o in (("checkout", "freshness"), ("payments", "freshness"),
                        ("shipments", "dlq_ratio"))]
    return all(m is not None for m in met) and \
        one(s, "streamkpi_data_product_reuse_ratio") is not None


def test_three_domains_config_and_contracts(kafka, exporter_factory, tmp_path):
    tok = uuid.uuid4().hex[:8]
    t = names(tok)
    for topic in t.values():
        kafka.tool("create", topic, 1, 1)
    kafka.tool("produce", t["payments"], 0, 10)   # then its producer is gone
    kafka.tool("produce", t["shipments"], 0, 10)  # the source stays idle
    for group, topic in (("sales-dashboard", "checkout"), ("finance-billing", "checkout"),
                         ("logistics-recon", "payments"), ("logistics-tracker", "shipments")):
        kafka.tool("commit", group, t[topic], 0, 1)
    writers = [ToolProc(kafka, ["produce", t["checkout"], "0", "1000", "--rate", "5/s"]),
               ToolProc(kafka, ["produce", t["dlq"], "0", "1000", "--rate", "5/s"])]
    try:
        include = f".*-{tok}.*"
        for d in ("a", "b"):
            os.makedirs(tmp_path / d)
        by_config = exporter_factory(kpi_config(kafka.bootstrap, str(tmp_path / "a"),
                                                include=include, extra=catalog_config(t)))
        cdir = str(tmp_path / "contracts")
        write_contracts(cdir, t)
        by_contract = exporter_factory(kpi_config(
            kafka.bootstrap, str(tmp_path / "b"), include=include,
            extra=("catalog:\n  slo_objective: 0.9\n  slo_window: 1h\n"
                   "  group_domains: {'^finance-': finance, '^logistics-': logistics}\n"
                   f"  contracts_dir: {cdir}\n")))
        for e in (by_config, by_contract):
            wait_kafka_cycle(e, CLUSTER)
        # payments is stale only once watched longer than its objective.
        wait_a_bit(FRESH_S + 3)
        s = by_config.wait_metrics("every product SLO judged", settled, timeout=60)
        by_contract.wait_metrics("every product SLO judged", settled, timeout=60)

        assert one(s, "streamkpi_data_product_slo_met", product="checkout", slo="freshness") == 1
        assert one(s, "streamkpi_data_product_slo_attainment_ratio", product="checkout",
                   slo="freshness") == 1
        assert one(s, "streamkpi_data_product_slo_met", product="payments", slo="freshness") == 0
        assert one(s, "streamkpi_data_product_slo_attainment_ratio", product="payments",
                   slo="freshness") == 0
        assert one(s, "streamkpi_data_product_slo_met", product="shipments", slo="dlq_ratio") == 0
        assert one(s, "streamkpi_data_product_slo_attainment_ratio", product="shipments",
                   slo="dlq_ratio") == 0
        assert abs(one(s, "streamkpi_data_product_slo_achievement_ratio") - 1 / 3) < 1e-9
        assert abs(one(s, "streamkpi_data_product_reuse_ratio") - 2 / 3) < 1e-9
        cons = "streamkpi_data_product_consumers"
        assert one(s, cons, product="checkout", consumer_domain="sales",
                   cross_domain="false") == 1
        assert one(s, cons, product="checkout", consumer_domain="finance",
                   cross_domain="true") == 1
        assert one(s, cons, product="payments", consumer_domain="logistics",
                   cross_domain="true") == 1
        assert one(s, cons, product="shipments", consumer_domain="logistics",
                   cross_domain="false") == 1
        assert one(s, "streamkpi_data_product_catalog_errors") == 0

        r = by_config.get("/api/v1/products")
        assert r.status == 200
        doc = json.loads(r.text())
        prods = {p["name"]: p for p in doc["products"]}
        assert sorted(prods) == ["checkout", "payments", "shipments"]
        assert prods["checkout"]["owner"] == "sales" and prods["checkout"]["slo_met"] is True
        assert prods["checkout"]["consumers_by_domain"] == {"sales": 1, "finance": 1}
        assert prods["payments"]["slo_met"] is False
        assert prods["payments"]["slos"]["freshness"]["attainment"] == 0
        assert prods["payments"]["consumers_by_domain"] == {"logistics": 1}
        assert prods["shipments"]["slo_met"] is False
        assert prods["shipments"]["slos"]["dlq_ratio"]["threshold"] == 0.1
        assert prods["shipments"]["consumers_by_domain"] == {"logistics": 1}
        assert abs(doc["reuse_ratio"] - 2 / 3) < 1e-9
        assert abs(doc["slo_achievement_ratio"] - 1 / 3) < 1e-9
        assert doc["catalog_errors"] == []

        def report():
            r = by_config.get("/report")
            return r.text() if r.status == 200 else None
        html = poll("the maturity report", report, timeout=30)
        assert '<tr data-product="payments"><td>payments</td><td>finance / finance</td>' \
               '<td>missed: freshness missed</td><td>logistics 1</td>' in html

        c = by_contract.get("/api/v1/products")
        cdoc = json.loads(c.text())
        assert {p["name"]: p["contract_id"] for p in cdoc["products"]} == \
            {"checkout": "c-1", "payments": "p-1", "shipments": "s-1"}
        # The same catalog either way: the same product series.
        assert stable_lines(by_config.metrics_text()) == stable_lines(by_contract.metrics_text())

        # Contracts are read again on reload: a new product loads, one that
        # repeats checkout is one error naming both files.
        with open(os.path.join(cdir, "returns.odcs.yaml"), "w") as f:
            f.write(contract("r-1", "returns", "sales", "sales", t["checkout"]))
        with open(os.path.join(cdir, "zz-again.odcs.yaml"), "w") as f:
            f.write(contract("c-2", "checkout", "sales", "sales", t["checkout"]))
        os.kill(by_contract.proc.pid, signal.SIGHUP)

        def reloaded():
            d = json.loads(by_contract.get("/api/v1/products").text())
            return d if "returns" in [p["name"] for p in d["products"]] else None
        rdoc = poll("the contracts read again", reloaded, timeout=30)
        assert sorted(p["name"] for p in rdoc["products"]) == \
            ["checkout", "payments", "returns", "shipments"]
        assert rdoc["catalog_errors"] == [
            f"{cdir}/zz-again.odcs.yaml:1: product \"checkout\" is declared twice, first at "
            f"{cdir}/checkout.odcs.yaml:1; this one is ignored"]
        assert rdoc["shared_topics"] == [t["checkout"]]
    finally:
        for w in writers:
            w.stop()
