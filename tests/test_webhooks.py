"""Webhooks to partners (issue 18, part 3) against real local HTTP receivers (http.server in a thread):
the signature, retries with back-off and the delivery log, a failing or slow partner that never holds up
another one nor the producer, tenant scoping of subscriptions, and the producers (document checks, the
ingest's alerts) writing the outbox in their own transaction; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from optimizer.errors import InvalidInput
from optimizer.settings import Settings
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import PgSchema, pg_available
from trade.records import Order, Payment, Waybill
from trade.store import store_batch
from webhooks import signing
from webhooks.delivery import DeliveryWorker, RetryPolicy
from webhooks.events import Event, enqueue
from webhooks.subscriptions import check_url, create_subscription, list_deliveries
from webhooks.tables import events

ORDER = Order.model_config["json_schema_extra"]["examples"][0]
PAYMENT = Payment.model_config["json_schema_extra"]["examples"][0]
WAYBILL = Waybill.model_config["json_schema_extra"]["examples"][0]


class Receiver:
    """A partner's endpoint: records each request; ``script`` gives the status of each call (then 200), ``delay_s``
    makes it slow."""

    def __init__(self, script: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.requests: list[tuple[dict[str, str], bytes, float]] = []
        self.script = list(script or [])
        self.delay_s = delay_s
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "postgresql":
        if not pg_available():
            pytest.skip("no PostgreSQL at 127.0.0.1:5432 (database test)")
        schema = PgSchema()
        url = schema.__enter__()
        request.addfinalizer(lambda: schema.__exit__(None, None, None))
    else:
        url = f"sqlite:///{tmp_path}/w.sqlite3"
    database = open_db(url, migrate=True)
    yield database
    database.dispose()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(*args, **kwargs) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def subscribe(db, org, url, types=("check.result",)):
    return create_subscription(db, org, url, list(types), now_ms=now_ms(), allow_private=True)


def emit(db, org, n=1, event_type="check.result"):
    with db.engine.begin() as conn:
        return enqueue(conn, [Event(org, event_type, {"n": i}) for i in range(n)], now_ms())


def run_until(worker: DeliveryWorker, done, timeout=10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        worker.run_once()
        worker.wait_idle(timeout=0.2)
        if done():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_deliveries_are_signed_and_verifiable(db, receivers):
    rx = receivers()
    sub, secret = subscribe(db, "org-a", rx.url)
    assert emit(db, "org-a") == 1
    worker = DeliveryWorker(db, policy=RetryPolicy(timeout_s=2))
    try:
        run_until(worker, lambda: len(rx.requests) == 1)
        headers, body, _ = rx.requests[0]
        assert signing.verify(secret, headers["x-cbec-signature"], body)
        assert not signing.verify("whsec_wrong", headers["x-cbec-signature"], body)
        assert not signing.verify(secret, headers["x-cbec-signature"], body + b" ")
        ts = int(headers["x-cbec-signature"].split(",")[0][2:])
        assert not signing.verify(secret, headers["x-cbec-signature"], body, now=ts + 3600)  # a replay, too late
        event = json.loads(body)
        assert event["type"] == headers["x-cbec-event"] == "check.result"
        assert event["id"] == headers["x-cbec-event-id"] and event["data"] == {"n": 0}
        run_until(worker, lambda: list_deliveries(db, "org-a", sub.sub_id)[0].status == "delivered")
    finally:
        worker.stop()


def test_failures_are_retried_with_back_off_and_logged(db, receivers):
    rx = receivers(script=[500, 503])
    sub, _ = subscribe(db, "org-a", rx.url)
    emit(db, "org-a")
    worker = DeliveryWorker(db, policy=RetryPolicy(timeout_s=2, backoff_s=0.2, max_attempts=5))
    try:
        run_until(worker, lambda: len(rx.requests) == 3)
        gaps = [b[2] - a[2] for a, b in zip(rx.requests, rx.requests[1:])]
        assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # 0.2 s, then 0.4 s
        assert len({h["x-cbec-event-id"] for h, _, _ in rx.requests}) == 1  # the same event each time
        run_until(worker, lambda: list_deliveries(db, "org-a", sub.sub_id)[0].status == "delivered")
        d = list_deliveries(db, "org-a", sub.sub_id)[0]
        assert d.attempts == 3 and [a.status_code for a in d.log] == [500, 503, 200]
        assert [a.error for a in d.log] == ["HTTP 500", "HTTP 503", None]
    finally:
        worker.stop()


def test_a_delivery_fails_after_its_last_attempt(db, receivers):
    rx = receivers(script=[500] * 10)
    sub, _ = subscribe(db, "org-a", rx.url)
    emit(db, "org-a")
    worker = DeliveryWorker(db, policy=RetryPolicy(timeout_s=2, backoff_s=0.05, max_attempts=3))
    try:
        run_until(worker, lambda: list_deliveries(db, "org-a", sub.sub_id)[0].status == "failed")
        assert len(rx.requests) == 3 and list_deliveries(db, "org-a", sub.sub_id, status="failed")[0].attempts == 3
    finally:
        worker.stop()


def test_a_failing_or_slow_partner_never_holds_up_another(db, receivers):
    slow = receivers(delay_s=3.0)
    down = Receiver()
    down.close()  # connection refused
    good = receivers()
    subscribe(db, "org-slow", slow.url)
    subscribe(db, "org-down", down.url)
    subscribe(db, "org-good", good.url)
    t0 = time.monotonic()
    for org in ("org-slow", "org-down", "org-good"):
        emit(db, org, n=3)
    assert time.monotonic() - t0 < 2.0  # producing never waits for a partner
    worker = DeliveryWorker(db, policy=RetryPolicy(timeout_s=1.0, backoff_s=30))
    try:
        run_until(worker, lambda: len(good.requests) == 3, timeout=6.0)
        assert time.monotonic() - t0 < 4.0  # the three went while the slow partner was still on its first
        assert len(slow.requests) == 1  # one POST in flight per endpoint
    finally:
        worker.stop()


def test_only_subscribed_organisations_and_types_get_outbox_rows(db):
    subscribe(db, "org-a", "https://partner.example/hook", types=("shipment.alert",))
    assert emit(db, "org-a", event_type="check.result") == 0
    assert emit(db, "org-b", event_type="shipment.alert") == 0
    assert emit(db, "org-a", event_type="shipment.alert") == 1


def test_check_results_are_enqueued_in_the_stores_transaction(db, receivers):
    rx = receivers()
    subscribe(db, "org-a", rx.url)
    store_batch(db, "org-a", "orders", [ORDER])
    store_batch(db, "org-a", "payments", [PAYMENT])
    store_batch(db, "org-a", "waybills", [WAYBILL])
    store_batch(db, "org-a", "waybills", [WAYBILL])  # unchanged: no new event
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 3
    worker = DeliveryWorker(db)
    try:
        run_until(worker, lambda: len(rx.requests) == 3)
    finally:
        worker.stop()
    statuses = sorted((json.loads(b)["data"]["status"], tuple(json.loads(b)["data"]["missing"]))
                      for _, b, _ in rx.requests)
    assert statuses == [("incomplete", ("payment", "waybill")), ("incomplete", ("waybill",)), ("matched", ())]


def test_urls_must_be_public_http(db):
    for url in ("ftp://partner.example/x", "http://user:pw@partner.example/", "https://127.0.0.1/x",
                "http://10.1.2.3/x", "http://localhost:8000/"):
        with pytest.raises(InvalidInput):
            check_url(url)
    assert check_url("https://partner.example/hook") == "https://partner.example/hook"


def test_subscriptions_through_the_api_are_per_organisation(db, net, tmp_path):
    a, b = make_tenant(db, "hook-a"), make_tenant(db, "hook-b")
    app = create_app(network=net, ingest_db=db, settings=Settings(webhooks_allow_private=True, var_dir=tmp_path,
                                                                  database_url=db.url))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": ["check.result"]},
                        headers=a.headers)
        assert r.status_code == 201, r.text
        sub = r.json()
        assert sub["secret"].startswith("whsec_") and r.headers["Location"] == f"/v1/webhooks/{sub['id']}"
        assert "secret" not in client.get(f"/v1/webhooks/{sub['id']}", headers=a.headers).json()
        assert client.get("/v1/webhooks", headers=b.headers).json()["items"] == []
        theirs = client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=b.headers)
        nobodys = client.get("/v1/webhooks/whk_nobody/deliveries", headers=b.headers)
        assert theirs.status_code == nobodys.status_code == 404
        assert client.delete(f"/v1/webhooks/{sub['id']}", headers=b.headers).status_code == 404
        bad = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/", "event_types": ["order.paid"]},
                          headers=a.headers)
        assert bad.status_code == 422 and "event_types" in bad.text
        assert client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=a.headers).json()["items"] == []
        assert client.delete(f"/v1/webhooks/{sub['id']}", headers=a.headers).status_code == 204
        assert client.get(f"/v1/webhooks/{sub['id']}", headers=a.headers).status_code == 404


def test_the_ingest_enqueues_milestones_eta_changes_and_alerts_for_the_shipments_organisation(db, net):
    from iot_ingest.milestones import create_shipment
    from iot_ingest.pipeline import Pipeline
    from tests.ingest_journey import position, ready_date

    a, b = make_tenant(db, "ingest-a"), make_tenant(db, "ingest-b")
    subscribe(db, a.org_id, "https://partner.example/a",
              types=("shipment.milestone", "shipment.eta_changed", "shipment.alert"))
    subscribe(db, b.org_id, "https://partner.example/b", types=("shipment.milestone",))
    create_shipment(db, net, "WH-SA", "MY_CITY", "LODZ", 500, 2, ready_date(30), tag="greenest", org=a.org_id)
    a.bind(db, net, "WH-TA", shipment="WH-SA")
    a.bind(db, net, "WH-WA", warehouse="WH_LODZ", temp_min=2, temp_max=8, excursion_minutes=5)
    now_s = int(time.time())
    pipe = Pipeline(db, net)
    pipe.process_raw([position("WH-TA", 30.8684, 104.2425, (now_s - 7200) * 1000, 1)])
    pipe.process_raw([position("WH-TA", 31.5, 105.0, (now_s - 3600) * 1000, 2)])
    for i, temp in enumerate([5, 12, 12, 12, 12, 12, 12, 12]):  # an excursion at the warehouse
        pipe.process_raw([("cbec/v1/warehouses/WH_LODZ/sensors/WH-WA",
                           json.dumps({"ts": now_s - 1800 + 60 * i, "temperature_c": temp}).encode())])
    with db.engine.connect() as conn:
        rows = conn.execute(select(events.c.org_id, events.c.event_type, events.c.payload_json)).all()
    assert {r.org_id for r in rows} == {a.org_id}  # b's subscription hears nothing of a's shipment
    types = [r.event_type for r in rows]
    assert {"shipment.milestone", "shipment.eta_changed", "shipment.alert"} == set(types)
    milestone = json.loads(next(r.payload_json for r in rows if r.event_type == "shipment.milestone"))["data"]
    assert milestone["shipment_id"] == "WH-SA" and milestone["kind"] in ("arrival", "departure")
    alert = json.loads(next(r.payload_json for r in rows if r.event_type == "shipment.alert"))["data"]
    assert alert["device_id"] == "WH-WA" and alert["kind"].startswith("temperature")


def test_the_delivery_log_is_pruned_after_its_keeping_time_but_pending_work_is_kept(db, receivers):
    from webhooks.delivery import prune
    from webhooks.tables import attempts, deliveries

    rx = receivers(script=[500])
    sub, _ = subscribe(db, "org-a", rx.url)
    emit(db, "org-a", n=2)
    worker = DeliveryWorker(db, policy=RetryPolicy(timeout_s=2, backoff_s=3600))
    try:
        run_until(worker, lambda: len(rx.requests) == 2)
        run_until(worker, lambda: {d.status for d in list_deliveries(db, "org-a", sub.sub_id)} == {"delivered",
                                                                                                  "pending"})
    finally:
        worker.stop()
    assert prune(db, keep_days=30) == 0  # nothing old yet
    assert prune(db, keep_days=30, now=now_ms() + 31 * 86_400_000) == 1  # the delivered one
    left = list_deliveries(db, "org-a", sub.sub_id)
    assert [d.status for d in left] == ["pending"] and len(left[0].log) == 1
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 1  # the pending one's event
        assert conn.execute(select(func.count()).select_from(attempts)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(deliveries)).scalar_one() == 1
