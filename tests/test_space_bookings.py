"""Transport space bookings (issue 20, item 1: "capacity less what plans, bookings and followed shipments hold"):
booking a saved quote's option holds its departures' space, later quotes see less left, a departure is never
booked beyond its capacity (also under concurrent bookings), cancelling releases the space; tenancy, expiry,
idempotency; the CLI. SQLite and, where it answers, PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli.app import app as cli
from quotations import holds
from quotations.space import book_space, option_holds
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url

BELLY = "AIR_TFU_FRA_P"  # a passenger belly: 15,000 kg a flight (data/services.yaml)
AIR = {"from": "MY_CITY", "to": "FRA", "weight_kg": 4000, "volume_m3": 20, "ready": "2026-12-05"}


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, net, tmp_path):
    url = param_db_url(request, tmp_path)
    db = open_db(url, migrate=True)
    holds.clear_cache()
    a, b = make_tenant(db, "alpha"), make_tenant(db, "bravo")
    with TestClient(create_app(network=net, ingest_db=db), raise_server_exceptions=False) as client:
        yield db, url, client, a, b
    holds.clear_cache()
    db.dispose()


def _belly_option(doc: dict) -> dict:
    return next(o for o in doc["options"] if any(leg["service"] == BELLY for leg in o["legs"]))


def _belly_leg(option: dict) -> dict:
    return next(leg for leg in option["legs"] if leg["service"] == BELLY)


def test_a_booking_holds_the_space_later_quotes_see(world):
    _, _, client, a, _ = world
    q = client.post("/v1/quotes", json=AIR, headers=a.headers).json()
    opt = _belly_option(q)
    before = _belly_leg(opt)["space_left"]["kg"]
    r = client.post(f"/v1/quotes/{q['quote_id']}/bookings", json={"option": opt["id"]}, headers=a.headers)
    assert r.status_code == 201, r.text
    booking = r.json()
    assert r.headers["location"] == f"/v1/space-bookings/{booking['booking_id']}"
    assert booking["status"] == "booked" and booking["option"] == opt["id"]
    held = [h for h in booking["holds"] if h["service"] == BELLY]
    assert len(held) == 1 and held[0]["kg"] == 4000 and held[0]["departure_id"] == _belly_leg(opt)["departure_id"]
    again = client.post("/v1/quotes", json=AIR, headers=a.headers).json()
    leg = _belly_leg(_belly_option(again))
    if leg["departure_id"] == held[0]["departure_id"]:
        assert leg["space_left"]["kg"] == pytest.approx(before - 4000)
    # road legs hold nothing: only scheduled departures with a capacity are booked
    assert all(not h["service"].startswith("ROAD_") for h in booking["holds"])


def test_a_departure_is_never_booked_beyond_its_capacity_and_cancelling_releases_it(world):
    _, _, client, a, b = world
    # four quotes of 4,000 kg made before any booking: each sees the whole 15,000 kg flight free
    quotes = [client.post("/v1/quotes", json=AIR, headers=(a if i % 2 else b).headers).json() for i in range(4)]
    deps = {_belly_leg(_belly_option(q))["departure_id"] for q in quotes}
    assert len(deps) == 1  # the same flight
    answers = [client.post(f"/v1/quotes/{q['quote_id']}/bookings", json={"option": _belly_option(q)["id"]},
                           headers=(a if i % 2 else b).headers) for i, q in enumerate(quotes)]
    assert [r.status_code for r in answers] == [201, 201, 201, 409]
    problem = answers[3].json()
    assert problem["field"] == "option" and BELLY in problem["detail"] and "3,000.0 kg left" in problem["detail"]
    # cancelling one releases its 4,000 kg: the fourth now fits
    first = answers[0].json()
    r = client.post(f"/v1/space-bookings/{first['booking_id']}/cancel", json={"reason": "customer postponed"},
                    headers=b.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["reason"] == "customer postponed"
    r = client.post(f"/v1/quotes/{quotes[3]['quote_id']}/bookings", json={"option": _belly_option(quotes[3])["id"]},
                    headers=a.headers)
    assert r.status_code == 201, r.text


def test_concurrent_bookings_never_overbook(world, net):
    db, _, client, a, _ = world
    quotes = [client.post("/v1/quotes", json=AIR, headers=a.headers).json() for _ in range(8)]
    results: list[int] = []
    barrier = threading.Barrier(len(quotes))

    def book(q: dict) -> None:
        barrier.wait()
        r = client.post(f"/v1/quotes/{q['quote_id']}/bookings", json={"option": _belly_option(q)["id"]},
                        headers=a.headers)
        results.append(r.status_code)

    threads = [threading.Thread(target=book, args=(q,)) for q in quotes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [201] * 3 + [409] * 5  # 3 x 4,000 kg fit on 15,000 kg, the 4th does not
    total = sum(h.kg for h in holds.booking_holds(db, net) if h.service_id == BELLY)
    assert total == 12_000 <= net.services[BELLY].capacity.kg


def test_positions_ids_idempotency_tenancy_and_expiry(world, net):
    db, _, client, a, b = world
    q = client.post("/v1/quotes", json=AIR, headers=a.headers).json()
    pos = 1 + q["options"].index(_belly_option(q))
    body = {"option": str(pos), "request_key": "order-4711"}
    first = client.post(f"/v1/quotes/{q['quote_id']}/bookings", json=body, headers=a.headers)
    second = client.post(f"/v1/quotes/{q['quote_id']}/bookings", json=body, headers=a.headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert first.json()["option"] == _belly_option(q)["id"]  # the position names the option as listed
    assert client.get("/v1/space-bookings", headers=a.headers).json()["total"] == 1
    bid = first.json()["booking_id"]
    assert client.get(f"/v1/space-bookings/{bid}", headers=b.headers).status_code == 404
    assert client.post(f"/v1/space-bookings/{bid}/cancel", json={"reason": "x"}, headers=b.headers).status_code == 404
    assert client.post(f"/v1/quotes/{q['quote_id']}/bookings", json={"option": "1"}, headers=b.headers).status_code == 404
    bad = client.post(f"/v1/quotes/{q['quote_id']}/bookings", json={"option": "99"}, headers=a.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "option"
    assert client.post(f"/v1/quotes/{q['quote_id']}/bookings", json={"option": "1"}).status_code == 401
    # a quote past its valid_until cannot be booked
    from quotations.errors import QuoteExpired

    later = datetime.fromisoformat(q["valid_until"]) + timedelta(minutes=1)
    with pytest.raises(QuoteExpired):
        book_space(db, net, a.org_id, q["quote_id"], "1", now=later.astimezone(UTC))


def test_a_split_option_holds_each_of_its_departures(net):
    doc = {"quote_id": "q_x", "request": {"weight_kg": 30_000, "volume_m3": 150},
           "options": [{"id": "o1", "legs": [
               {"service": BELLY, "departure_id": f"{BELLY}@2026-12-06T05:10Z", "teu": 0,
                "split_departures": [{"departure_id": f"{BELLY}@2026-12-07T05:10Z"}]},
               {"service": "ROAD_MY_CITY_TFU", "departure_id": "ROAD_MY_CITY_TFU@2026-12-05T01:00Z"}]}]}
    hs = option_holds(net, doc, "o1")
    assert [(h.departure_id, h.depart_date, h.kg, h.m3) for h in hs] == [
        (f"{BELLY}@2026-12-06T05:10Z", "2026-12-06", 15_000, 75), (f"{BELLY}@2026-12-07T05:10Z", "2026-12-07", 15_000, 75)]


def test_cli_books_lists_and_cancels(world, net):
    db, url, client, a, _ = world
    if "postgresql" in url:
        pytest.skip("the CLI run is checked on SQLite")
    q = client.post("/v1/quotes", json=AIR, headers=a.headers).json()
    pos = str(1 + q["options"].index(_belly_option(q)))
    run = CliRunner()
    r = run.invoke(cli, ["quote", "book", q["quote_id"], pos, "--org", a.org_id, "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    booking = json.loads(r.output)
    r = run.invoke(cli, ["quote", "bookings", "--org", a.org_id, "--db", url])
    assert r.exit_code == 0 and booking["booking_id"] in r.output and BELLY in r.output
    r = run.invoke(cli, ["quote", "cancel-booking", booking["booking_id"], "--reason", "wrong flight", "--org",
                         a.org_id, "--db", url])
    assert r.exit_code == 0 and "cancelled" in r.output
    r = run.invoke(cli, ["quote", "book", q["quote_id"], "42", "--org", a.org_id, "--db", url])
    assert r.exit_code == 2 and "no option '42'" in r.output
