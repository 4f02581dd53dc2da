"""Storing exchange records (issue 18, part 1): idempotent batches with versions and history, per-record
rejections with field paths, tenant isolation of raw records through the API, and CSV/XLSX import through
the CLI with row/field errors; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url
from trade.generator import generate
from trade.records import Enterprise, Order
from trade.store import get_record, list_records, record_history, store_batch
from trade.tables import order_lines, record_versions

ORDER = Order.model_config["json_schema_extra"]["examples"][0]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request, tmp_path_factory):
    url = param_db_url(request, tmp_path_factory.mktemp('trade'))
    database = open_db(url, migrate=True)
    yield database
    database.dispose()


def doc(**changes) -> dict:
    return json.loads(json.dumps(ORDER)) | changes


def count(db, table, **where) -> int:
    with db.engine.connect() as c:
        q = select(func.count()).select_from(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        return c.execute(q).scalar_one()


def test_same_record_twice_is_stored_once_and_a_change_is_a_new_version(db):
    org = "org-idem"
    first = store_batch(db, org, "orders", [doc()])
    assert [(r.outcome, r.version) for r in first.results] == [("created", 1)]
    again = store_batch(db, org, "orders", [doc()])
    assert [(r.outcome, r.version) for r in again.results] == [("unchanged", 1)]
    assert count(db, record_versions, org_id=org) == 1
    two_lines = doc(lines=ORDER["lines"] * 2, freight="5.00")
    changed = store_batch(db, org, "orders", [two_lines])
    assert [(r.outcome, r.version) for r in changed.results] == [("updated", 2)]
    assert count(db, order_lines, org_id=org) == 2  # the lines follow the current version
    history = record_history(db, org, "orders", ORDER["order_no"])
    assert [v.version for v in history.versions] == [1, 2]
    assert history.versions[0].record["freight"] == "4.50" and history.versions[1].record["freight"] == "5.00"
    current = get_record(db, org, "orders", ORDER["order_no"])
    assert current.version == 2 and len(current.record["lines"]) == 2


def test_within_one_batch_repeats_and_changes_are_answered_in_order(db):
    org = "org-repeat"
    res = store_batch(db, org, "orders", [doc(), doc(), doc(freight="1.00"), doc()])
    assert [(r.outcome, r.version) for r in res.results] == [("created", 1), ("unchanged", 1), ("updated", 2),
                                                             ("updated", 3)]
    assert get_record(db, org, "orders", ORDER["order_no"]).version == 3


def test_a_bad_record_is_rejected_with_its_field_paths_and_the_others_kept(db):
    org = "org-reject"
    bad_line = dict(ORDER["lines"][0], quantity="-1")
    res = store_batch(db, org, "orders", [doc(order_no="A1"), doc(order_no="A2", lines=[ORDER["lines"][0], bad_line]),
                                          doc(order_no="A3", destination_country="Germany")])
    assert [r.outcome for r in res.results] == ["created", "rejected", "rejected"]
    assert [e.field for e in res.results[1].errors] == ["lines[1].quantity"]
    assert res.results[1].key == "A2" and res.results[2].errors[0].field == "destination_country"
    assert [r.key for r in list_records(db, org, "orders").items] == ["A1"]


def test_listing_filters_by_field_and_time(db):
    org = "org-list"
    sample = generate(120, seed=9)
    store_batch(db, org, "orders", sample.orders)
    page = list_records(db, org, "orders", filters={"customs_mode": "9810"}, limit=1000)
    assert page.total == sum(o.customs_mode == "9810" for o in sample.orders) == len(page.items) > 0
    assert all(r.record["customs_mode"] == "9810" for r in page.items)
    march = [o for o in sample.orders if o.ordered_at.month == 3]
    since = int(march[0].ordered_at.replace(day=1, hour=0, minute=0, second=0).timestamp() * 1000)
    until = int(march[0].ordered_at.replace(month=4, day=1, hour=0, minute=0, second=0).timestamp() * 1000)
    assert list_records(db, org, "orders", since_ms=since, until_ms=until).total == len(march)


# --- the API: batches and tenant isolation ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(db, net):
    a, b = make_tenant(db, "trade-a"), make_tenant(db, "trade-b")
    office = make_tenant(db, "zone-office", kind="office")
    from accounts.store import create_key

    _, analyst_key = create_key(db, office.org_id, "analyst", "analyst")
    app = create_app(network=net, ingest_db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, a, b, {"X-API-Key": analyst_key}


def test_batch_endpoint_answers_per_record(api):
    client, a, _, _ = api
    body = {"records": [doc(order_no="API-1"), doc(order_no="API-2", lines=[{**ORDER["lines"][0], "hs_code": "61"}])]}
    r = client.post("/v1/records/orders:batch", json=body, headers=a.headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["counts"] == {"created": 1, "unchanged": 0, "updated": 0, "rejected": 1}
    assert out["results"][1]["errors"][0]["field"] == "lines[0].hs_code"
    again = client.post("/v1/records/orders:batch", json=body, headers=a.headers).json()
    assert again["counts"] == {"created": 0, "unchanged": 1, "updated": 0, "rejected": 1}
    assert client.post("/v1/records/orders:batch", json={"records": []}, headers=a.headers).status_code == 422
    assert client.post("/v1/records/orders:batch", json=body).status_code == 401


def test_another_tenants_records_answer_as_unknown_ones(api):
    client, a, b, analyst = api
    ent = Enterprise.model_config["json_schema_extra"]["examples"][0]
    client.post("/v1/records/enterprises:batch", json={"records": [ent]}, headers=a.headers)
    client.post("/v1/records/orders:batch", json={"records": [doc(order_no="ISO-1")]}, headers=a.headers)
    assert client.get("/v1/records/orders/ISO-1", headers=a.headers).status_code == 200
    theirs = client.get("/v1/records/orders/ISO-1", headers=b.headers)
    nobodys = client.get("/v1/records/orders/ISO-9", headers=b.headers)
    assert theirs.status_code == nobodys.status_code == 404
    assert theirs.json()["detail"].replace("ISO-1", "X") == nobodys.json()["detail"].replace("ISO-9", "X")
    for headers in (b.headers, analyst):  # another forwarder; the zone office's analyst: no raw records of others
        for kind in ("orders", "enterprises"):
            assert client.get(f"/v1/records/{kind}", headers=headers).json()["total"] == 0
        assert client.get("/v1/records/orders/ISO-1/versions", headers=headers).status_code == 404
        assert client.get("/v1/checks", headers=headers).json()["total"] == 0
        assert client.get("/v1/checks/ISO-1", headers=headers).status_code == 404
    assert client.get("/v1/checks/ISO-1", headers=a.headers).json()["status"] == "incomplete"
    # an analyst may read its own organisation's records, not write them
    assert client.post("/v1/records/orders:batch", json={"records": [doc()]}, headers=analyst).status_code == 403


def test_listing_and_checks_through_the_api(api):
    client, a, _, _ = api
    client.post("/v1/records/orders:batch", json={"records": [doc(order_no="L-1"), doc(order_no="L-2",
                                                                                      customs_mode="9710")]},
                headers=a.headers)
    r = client.get("/v1/records/orders", params={"customs_mode": "9710"}, headers=a.headers)
    assert r.status_code == 200 and [i["key"] for i in r.json()["items"]] == ["L-2"]
    assert client.get("/v1/records/orders", params={"since": "2026-13-45"}, headers=a.headers).status_code == 422
    assert client.get("/v1/records/orders", params={"since": "0.5"}, headers=a.headers).status_code == 422
    assert client.get("/v1/records/orders", params={"until": "2000-01-01"}, headers=a.headers).json()["total"] == 0
    assert client.get("/v1/records/orders:batch", headers=a.headers).status_code == 405
    checks = client.get("/v1/checks", params={"status": "incomplete"}, headers=a.headers).json()
    assert "L-1" in {c["order_no"] for c in checks["items"]} and "L-2" not in {c["order_no"] for c in checks["items"]}
    assert client.get("/v1/schemas/orders", headers=a.headers).json()["title"] == "Order"


# --- CSV and XLSX through the CLI ---------------------------------------------------------------------------------
ORDER_COLUMNS = ["order_no", "enterprise_code", "customs_mode", "destination_country", "currency", "ordered_at",
                 "consignee_name", "hs_code", "description", "quantity", "unit", "value", "net_weight_kg"]
ROWS = [
    ["CSV-1", ORDER["enterprise_code"], "9610", "DE", "EUR", "2026-03-14 10:20:00", "Anna", "6109100021", "T-shirt",
     "2", "pcs", "25.80", "0.4"],
    ["CSV-1", "", "", "", "", "", "", "6404110000", "sports shoes", "1", "pair", "19.90", "0.8"],
    ["CSV-2", ORDER["enterprise_code"], "9610", "FR", "EUR", "2026-03-15 09:00:00", "Jean", "61091000XX", "T-shirt",
     "1", "pcs", "12.90", "0.2"],
    ["CSV-3", "914403001922038217", "9610", "FR", "EUR", "2026-03-15 09:00:00", "Jean", "6109100021", "T-shirt",
     "1", "pcs", "12.90", "0.2"],
    ["CSV-4", ORDER["enterprise_code"], "9710", "PL", "EUR", "2026-03-16 09:00:00", "", "8516601000", "rice cooker",
     "300", "pcs", "9000", "960"],
]


def test_cli_imports_csv_keeping_valid_rows_and_naming_bad_cells(db, tmp_path):
    org = make_tenant(db, "csv-org")
    path = tmp_path / "orders.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows([ORDER_COLUMNS, *ROWS])
    runner = CliRunner()
    res = runner.invoke(cli, ["records", "import", "orders", str(path), "--org", org.org_id, "--db", db.url, "--json"])
    assert res.exit_code == 1, res.output  # some rows were rejected
    out = json.loads(res.output)
    assert out["counts"] == {"created": 2, "unchanged": 0, "updated": 0, "rejected": 2}
    assert {(e["row"], e["column"]) for e in out["errors"]} == {(4, "hs_code"), (5, "enterprise_code")}
    stored = get_record(db, org.org_id, "orders", "CSV-1").record
    assert [line["hs_code"] for line in stored["lines"]] == ["6109100021", "6404110000"]
    assert stored["ordered_at"] == "2026-03-14T10:20:00+08:00"
    again = runner.invoke(cli, ["records", "import", "orders", str(path), "--org", org.org_id, "--db", db.url, "--json"])
    assert json.loads(again.output)["counts"]["unchanged"] == 2


def test_cli_imports_xlsx_and_refuses_unknown_columns(db, tmp_path):
    from openpyxl import Workbook

    org = make_tenant(db, "xlsx-org")
    book = Workbook()
    sheet = book.active
    sheet.title = "orders"
    sheet.append(ORDER_COLUMNS)
    for row in ROWS[:2] + ROWS[4:]:
        sheet.append([float(c) if c.replace(".", "").isdigit() and i >= 9 else c for i, c in enumerate(row)])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    runner = CliRunner()
    res = runner.invoke(cli, ["records", "import", "orders", str(path), "--org", org.org_id, "--db", db.url])
    assert res.exit_code == 0, res.output
    assert "2 created" in res.output
    assert get_record(db, org.org_id, "orders", "CSV-4").record["lines"][0]["quantity"] == "300"
    bad = tmp_path / "bad.csv"
    bad.write_text("order_no,colour\nX,red\n", encoding="utf-8")
    res = runner.invoke(cli, ["records", "import", "orders", str(bad), "--org", org.org_id, "--db", db.url])
    assert res.exit_code == 2 and "colour" in res.output and "row 1" in res.output


def test_cli_sample_checks_and_webhooks(db):
    org = make_tenant(db, "cli-demo")
    runner = CliRunner()
    base = ["--org", org.org_id, "--db", db.url]
    res = runner.invoke(cli, ["records", "sample", "--orders", "150", "--seed", "4", *base, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert "synthetic" in out["note"] and out["stored"]["orders"]["created"] == 150
    sample = generate(150, seed=4)
    res = runner.invoke(cli, ["checks", "list", "--status", "mismatch", *base, "--json"])
    checks = json.loads(res.output)
    assert checks["total"] == sum(v.startswith("mismatch") for v in sample.planted.values())
    assert checks["counts"]["incomplete"] == sum(v.startswith("incomplete") for v in sample.planted.values())
    res = runner.invoke(cli, ["checks", "list", "--status", "wrong", *base])
    assert res.exit_code == 2 and "--status" in res.output
    res = runner.invoke(cli, ["records", "list", "orders", "--where", "customs_mode=9810", *base, "--json"])
    assert json.loads(res.output)["total"] == sum(o.customs_mode == "9810" for o in sample.orders)
    res = runner.invoke(cli, ["records", "list", "orders", "--where", "colour=red", *base])
    assert res.exit_code == 2 and "colour" in res.output
    res = runner.invoke(cli, ["webhooks", "add", "https://partner.example/hook", "--event", "check.result", *base,
                              "--json"])
    assert res.exit_code == 0, res.output
    sub = json.loads(res.output)
    assert sub["secret"].startswith("whsec_")
    listed = json.loads(runner.invoke(cli, ["webhooks", "list", *base, "--json"]).output)
    assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]
    res = runner.invoke(cli, ["webhooks", "add", "http://127.0.0.1/x", "--event", "check.result", *base])
    assert res.exit_code == 2 and "private" in res.output


def test_two_batches_racing_for_the_same_new_keys_store_each_once(db):
    from concurrent.futures import ThreadPoolExecutor

    orders = generate(300, seed=21).orders
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: store_batch(db, "org-race", "orders", orders), range(4)))
    assert sum(r.counts["created"] for r in results) == 300
    assert sum(r.counts["unchanged"] for r in results) == 900
    assert count(db, record_versions, org_id="org-race") == 300
