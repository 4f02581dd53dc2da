"""The three-document check (issue 18, part 2): hand-made cases of each outcome, recomputed as documents
arrive, and the planted defects of the synthetic year found exactly; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from storage.db import open_db
from tests.support.ingest_testing import param_db_url
from trade.checks import OrderFacts, PaymentFacts, WaybillFacts, evaluate, get_check, list_checks
from trade.generator import generate
from trade.records import Order, Payment, Waybill
from trade.store import store_batch

ORDER = Order.model_config["json_schema_extra"]["examples"][0]  # 30.30 EUR due, 0.40 kg net, to DE
PAYMENT = Payment.model_config["json_schema_extra"]["examples"][0]
WAYBILL = Waybill.model_config["json_schema_extra"]["examples"][0]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    url = param_db_url(request, tmp_path)
    database = open_db(url, migrate=True)
    yield database
    database.dispose()


def doc(base: dict, **changes) -> dict:
    return json.loads(json.dumps(base)) | changes


def check(db, org="org-a", no="MY2026031400001"):
    return get_check(db, org, no)


def test_matched_when_the_three_documents_agree(db):
    store_batch(db, "org-a", "orders", [ORDER])
    store_batch(db, "org-a", "payments", [PAYMENT])
    assert check(db).status == "incomplete" and check(db).missing == ["waybill"]
    store_batch(db, "org-a", "waybills", [WAYBILL])  # recomputed when the last document arrives
    c = check(db)
    assert (c.status, c.missing, c.mismatches) == ("matched", [], [])


@pytest.mark.parametrize("kind, base, change, field, expected, found", [
    ("payments", PAYMENT, {"amount": "24.24"}, "amount", "30.30 EUR", "24.24 EUR"),
    ("payments", PAYMENT, {"currency": "USD"}, "currency", "EUR", "USD"),
    ("payments", PAYMENT, {"payer_name": "Someone Else"}, "payer", "Anna Schmidt", "Someone Else"),
    ("waybills", WAYBILL, {"consignee_name": "Otto Normal"}, "consignee", "Anna Schmidt", "Otto Normal"),
    ("waybills", WAYBILL, {"destination_country": "AT"}, "destination_country", "DE", "AT"),
    ("waybills", WAYBILL, {"gross_weight_kg": "0.20"}, "gross_weight", "0.380-3.200 kg for 0.400 kg net of goods",
     "0.200 kg"),
    ("waybills", WAYBILL, {"gross_weight_kg": "9.0"}, "gross_weight", "0.380-3.200 kg for 0.400 kg net of goods",
     "9.000 kg"),
])
def test_mismatch_names_the_field_and_the_documents(db, kind, base, change, field, expected, found):
    store_batch(db, "org-a", "orders", [ORDER])
    store_batch(db, "org-a", "payments", [PAYMENT if kind != "payments" else doc(base, **change)])
    store_batch(db, "org-a", "waybills", [WAYBILL if kind != "waybills" else doc(base, **change)])
    c = check(db)
    assert c.status == "mismatch" and c.missing == []
    assert c.mismatches == [{"field": field, "expected": expected, "found": found,
                             "documents": ["order", f"{'payment PAY' if kind == 'payments' else 'waybill YT'}2026031400001"]}]


def test_small_differences_are_within_tolerance_and_names_ignore_case_and_spaces(db):
    store_batch(db, "org-a", "orders", [ORDER])
    store_batch(db, "org-a", "payments", [doc(PAYMENT, amount="30.41", payer_name="  anna   SCHMIDT ")])
    store_batch(db, "org-a", "waybills", [WAYBILL])
    assert check(db).status == "matched"
    store_batch(db, "org-a", "payments", [doc(PAYMENT, amount="30.50")])  # a new version: 0.20 off is beyond 0.5 %
    assert check(db).status == "mismatch"


def test_incomplete_says_what_is_missing_also_for_documents_without_their_order(db):
    store_batch(db, "org-a", "payments", [doc(PAYMENT, order_no="MY-NO-ORDER", payment_no="P-ORPHAN")])
    orphan = check(db, no="MY-NO-ORDER")
    assert orphan.status == "incomplete" and orphan.missing == ["order", "waybill"]
    store_batch(db, "org-a", "orders", [ORDER])
    assert check(db).missing == ["payment", "waybill"]


def test_only_9610_orders_are_checked_and_a_mode_change_drops_the_check(db):
    store_batch(db, "org-a", "orders", [ORDER])
    assert check(db).status == "incomplete"
    store_batch(db, "org-a", "orders", [doc(ORDER, customs_mode="9710")])
    assert list_checks(db, "org-a").total == 0


def test_checks_are_per_organisation(db):
    store_batch(db, "org-a", "orders", [ORDER])
    store_batch(db, "org-b", "payments", [PAYMENT])
    store_batch(db, "org-b", "waybills", [WAYBILL])
    assert check(db, "org-a").missing == ["payment", "waybill"]
    assert check(db, "org-b").missing == ["order"]


def test_the_planted_defects_of_the_synthetic_year_are_found_exactly(db):
    sample = generate(600, seed=5)
    for kind, records in sample.records().items():
        store_batch(db, "org-s", kind, records)
    page = list_checks(db, "org-s", limit=1000)
    nine_six_ten = {o.order_no for o in sample.orders if o.customs_mode == "9610"}
    assert {c.order_no for c in page.items} == nine_six_ten
    for c in page.items:
        planted = sample.planted.get(c.order_no)
        if planted is None:
            assert c.status == "matched", c
        elif planted.startswith("incomplete:"):
            assert c.status == "incomplete" and c.missing == [planted.split(":")[1]], c
        else:
            field = {"country": "destination_country", "weight": "gross_weight"}.get(planted[9:], planted[9:])
            assert c.status == "mismatch" and field in {m["field"] for m in c.mismatches}, (c, planted)
    mismatches = list_checks(db, "org-s", status="mismatch")
    assert mismatches.total == sum(v.startswith("mismatch") for v in sample.planted.values()) > 0
    assert mismatches.counts["matched"] + mismatches.counts["incomplete"] + mismatches.total == len(nine_six_ten)


def test_evaluate_by_itself():
    order = OrderFacts("O1", "9610", "USD", "US", 100.0, None, None, None, 0)
    assert evaluate(order, [PaymentFacts("P1", 60.0, "USD", None, 0), PaymentFacts("P2", 40.0, "USD", None, 0)],
                    [WaybillFacts("W1", 5.0, "US", None, None)]).status == "matched"  # split payment, no weights
    r = evaluate(None, [], [WaybillFacts("W1", 5.0, "US", None, 1_000)], order_no="O2")
    assert (r.status, r.missing, r.ordered_ms) == ("incomplete", ("order", "payment"), 1_000)
