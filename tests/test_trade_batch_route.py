"""The batch route's fast path (issue 18, ingest >= 20,000 records/s): the body is parsed and validated once
from the raw bytes, with the same answers as before for bad JSON and bad records; ``?results=changes``;
the garbage collector paused during a batch comes back; the three-document check of orders just written
(taken from memory, not read back) equals the check of the same orders read from the table."""

from __future__ import annotations

import gc
import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.db import open_db
from tests.support.accounts import make_tenant
from trade import bulk
from trade.checks import list_checks
from trade.records import Order
from trade.store import store_batch

ORDER = Order.model_config["json_schema_extra"]["examples"][0]


def doc(**changes) -> dict:
    return json.loads(json.dumps(ORDER)) | changes


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = open_db(f"sqlite:///{tmp_path_factory.mktemp('batch')}/t.sqlite3", migrate=True)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def client(db, net):
    tenant = make_tenant(db, "batch-route")
    with TestClient(create_app(network=net, ingest_db=db), raise_server_exceptions=False) as c:
        c.headers.update(tenant.headers)
        yield c


def test_invalid_json_is_answered_with_its_position(client):
    r = client.post("/v1/records/orders:batch", content=b'{"records": [', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "body", "message": "invalid JSON at character 13: Expecting value"}]


def test_not_a_batch_and_not_json_are_refused_whole(client):
    body = json.dumps({"records": [doc(order_no="RAW-0")]}).encode()
    assert client.post("/v1/records/orders:batch", content=body, headers={"content-type": "text/plain"}
                       ).status_code == 422  # only a JSON body is read as JSON
    r = client.post("/v1/records/orders:batch", json={"records": 3})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "records"
    r = client.post("/v1/records/orders:batch", json={"records": [doc(order_no="RAW-1")], "extra": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "extra"


def test_numbers_mean_the_same_as_strings(client):
    """``2e0`` and ``"2"`` are one quantity: the second send is unchanged, not a new version."""
    assert ORDER["lines"][0]["quantity"] == "2"
    lines = [{**ORDER["lines"][0], "quantity": 2e0}]
    first = client.post("/v1/records/orders:batch", json={"records": [doc(order_no="NUM-1", lines=lines)]}).json()
    assert first["counts"]["created"] == 1
    again = client.post("/v1/records/orders:batch", json={"records": [doc(order_no="NUM-1")]}).json()
    assert again["counts"] == {"created": 0, "unchanged": 1, "updated": 0, "rejected": 0}


def test_results_changes_lists_only_rejected_and_updated_records(client):
    bad = doc(order_no="CH-2", lines=[{**ORDER["lines"][0], "hs_code": "61"}])
    client.post("/v1/records/orders:batch", json={"records": [doc(order_no="CH-0")]})
    body = {"records": [doc(order_no="CH-0", buyer_name="Someone Else"), doc(order_no="CH-1"), bad]}
    r = client.post("/v1/records/orders:batch?results=changes", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["counts"] == {"created": 1, "unchanged": 0, "updated": 1, "rejected": 1}
    assert [(e["index"], e["outcome"]) for e in out["results"]] == [(0, "updated"), (2, "rejected")]
    assert out["results"][1]["errors"][0]["field"] == "lines[0].hs_code"
    full = client.post("/v1/records/orders:batch", json=body).json()
    assert [e["outcome"] for e in full["results"]] == ["unchanged", "unchanged", "rejected"]
    assert client.post("/v1/records/orders:batch?results=some", json=body).status_code == 422


def test_the_collector_is_paused_during_a_batch_and_back_after(db):
    assert gc.isenabled()
    with bulk.gc_paused():
        assert not gc.isenabled()
        with bulk.gc_paused():  # nested (or another batch at the same time)
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), bulk.gc_paused():
        raise ValueError("a failing batch")
    assert gc.isenabled()
    gc.disable()  # disabled by someone else: left so
    try:
        with bulk.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    store_batch(db, "org-gc", "orders", [doc(order_no="GC-1")])
    assert gc.isenabled()


def test_checks_of_orders_written_now_equal_checks_of_orders_read_back(db):
    """Orders sent after their payment and waybill (the check reads the orders from the table) and before them
    (the check takes the orders just written) end with the same statuses."""
    from trade.generator import generate

    sample = generate(orders=300, seed=11)
    late, early = "org-orders-last", "org-orders-first"
    store_batch(db, late, "payments", sample.payments)
    store_batch(db, late, "waybills", sample.waybills)
    store_batch(db, late, "orders", sample.orders)
    store_batch(db, early, "orders", sample.orders)
    store_batch(db, early, "payments", sample.payments)
    store_batch(db, early, "waybills", sample.waybills)
    a = {(c.order_no, c.status, json.dumps(c.mismatches), json.dumps(c.missing), c.ordered_ms)
         for c in list_checks(db, late, limit=10_000).items}
    b = {(c.order_no, c.status, json.dumps(c.mismatches), json.dumps(c.missing), c.ordered_ms)
         for c in list_checks(db, early, limit=10_000).items}
    assert a == b and {s for _, s, *_ in a} >= {"matched", "mismatch"}


def test_the_answer_is_a_batch_out_as_documented(client):
    """The route encodes its answer itself (no second validation of thousands of entries): it must still be
    exactly what ``BatchOut`` (the OpenAPI response schema) describes, with every field, in both answer modes."""
    from api.schemas.trade import BatchOut

    bad = doc(order_no="BO-2", lines=[{**ORDER["lines"][0], "value": "1.234"}])
    body = {"records": [doc(order_no="BO-0"), doc(order_no="BO-1", consignee_name="Zoë Müller"), bad]}
    for results in ("all", "changes"):
        r = client.post(f"/v1/records/orders:batch?results={results}", json=body)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        out = r.json()
        assert out == BatchOut.model_validate(out).model_dump(mode="json")
    assert [e["outcome"] for e in out["results"]] == ["rejected"]
    assert out["results"][0]["errors"][0]["field"] == "lines[0].value"
    r = client.post("/v1/records/orders:batch", json=body)
    assert [(e["index"], e["key"], e["outcome"], e["version"]) for e in r.json()["results"]] == [
        (0, "BO-0", "unchanged", 1), (1, "BO-1", "unchanged", 1), (2, "BO-2", "rejected", None)]
    schema = client.get("/openapi.json").json()["paths"]["/v1/records/orders:batch"]["post"]
    assert schema["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BatchOut"}


def test_the_collector_stays_paused_from_the_body_to_the_store(client, monkeypatch):
    """Re-enabled between validation and store, the collector would traverse the batch just built; the route
    pauses it for the whole request."""
    import api.routers.trade as route

    seen = []

    def store(*args, **kwargs):
        seen.append(gc.isenabled())
        return store_batch(*args, **kwargs)

    monkeypatch.setattr(route, "store_batch", store)
    r = client.post("/v1/records/orders:batch", json={"records": [doc(order_no="GC-ROUTE-1")]})
    assert r.status_code == 200 and r.json()["counts"]["created"] == 1
    assert seen == [False] and gc.isenabled()


def test_overlapping_batches_without_end_still_collect(monkeypatch):
    """While batches overlap (the pause count never drops to 0), one that ends collects every MAX_PAUSE_S."""
    starts = []

    def callback(phase, info):
        if phase == "start":
            starts.append(info["generation"])

    monkeypatch.setattr(bulk, "MAX_PAUSE_S", 0.0)
    gc.callbacks.append(callback)
    try:
        with bulk.gc_paused():
            with bulk.gc_paused():
                pass
            assert starts == [2] and not gc.isenabled()  # collected, still paused for the outer batch
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(callback)


def test_a_batch_answered_while_another_is_in_flight_closes_its_connection(db, net):
    """So that the client's next batch may land on an idle API process (``cbec serve --workers N``); a batch
    alone in its process keeps the connection."""
    import asyncio

    import httpx

    tenant = make_tenant(db, "batch-close")
    app = create_app(network=net, ingest_db=db)

    def body(prefix: str) -> bytes:
        return json.dumps({"records": [doc(order_no=f"{prefix}-{i}") for i in range(200)]}).encode()

    async def post(client: httpx.AsyncClient, prefix: str) -> httpx.Response:
        return await client.post("/v1/records/orders:batch?results=changes", content=body(prefix),
                                 headers={**tenant.headers, "content-type": "application/json"})

    async def main() -> tuple[httpx.Response, list[httpx.Response]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            alone = await post(client, "CLOSE-A")
            together = await asyncio.gather(*(post(client, f"CLOSE-B{n}") for n in range(3)))
            return alone, list(together)

    alone, together = asyncio.run(main())
    assert alone.status_code == 200 and alone.headers.get("connection") != "close"
    assert all(r.status_code == 200 and r.json()["counts"]["created"] == 200 for r in together)
    assert any(r.headers.get("connection") == "close" for r in together)
