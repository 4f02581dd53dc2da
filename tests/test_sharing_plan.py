"""A batch plan on shared-warehouse bookings (issue 19, item 3): the planner takes the exporter's booked inbound
m³ per warehouse and day as the capacity, so a plan never sends more m³ to a warehouse on a day than is booked
(recounted here from the plan's own JSON, independently of the planner's resources); the same batch planned
on the dock's nominal capacity does exceed the booking (so the recount can fail). Arrivals then draw on the
booking."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from optimizer.planning.candidates import PlanSettings
from optimizer.planning.planner import plan, plan_to_dict
from optimizer.planning.shipments import read_shipments_text
from sharing.bookings import request_booking
from sharing.model import BookingRequest
from sharing.planning import inbound_capacity, plan_on_bookings
from sharing.usage import draw_from_plan
from storage.db import open_db
from tests.sharing_world import actor, day, publish
from tests.support.accounts import make_tenant

BOOKED = 7.0


def arrivals(net, doc) -> dict:
    """m³ per (warehouse, day the cargo is handed to the warehouse), from the assignments' options."""
    per = defaultdict(float)
    for sid, opt in doc["assignments"].items():
        node = net.nodes[opt["destination"]]
        arrive = datetime.fromisoformat(opt["arrive_p50"]) - timedelta(hours=node.handling_hours)
        per[(node.id, arrive.date().isoformat())] += VOLUMES[sid]
    return per


VOLUMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def setup(net, tmp_path_factory):
    db = open_db(f"sqlite:///{tmp_path_factory.mktemp('plan')}/p.sqlite3", migrate=True)
    op, ex = make_tenant(db, kind="warehouse_operator"), make_tenant(db)
    offer = publish(db, net, op, start_day=day(20), end_day=day(110))
    b = request_booking(db, ex.org_id, BookingRequest(offer.offer_id, "inbound", BOOKED, day(25), day(110)), actor(ex))
    assert b.status == "confirmed"
    rows = ["id,origin,destination,weight_kg,volume_m3,ready_date,due_date,customs_mode"]
    for i in range(10):
        VOLUMES[f"S{i}"] = 6.0
        rows.append(f"S{i},MY_CITY,WH_LODZ,900,6,{day(21 + i % 3)},{day(75)},9810")
    load = read_shipments_text(net, "\n".join(rows))
    assert not load.errors
    yield db, net, ex, load.shipments
    db.dispose()


def test_the_plan_never_sends_more_than_is_booked(setup):
    db, net, ex, shipments = setup
    settings = PlanSettings(time_limit_s=20, workers=1)
    caps = inbound_capacity(db, ex.org_id, day(20), day(110))
    assert caps["WH_LODZ"][str(day(30))] == BOOKED and str(day(24)) not in caps["WH_LODZ"]
    doc = plan_to_dict(net, plan_on_bookings(db, net, ex.org_id, shipments, settings))
    assert doc["assignments"], doc["unassigned"]
    per = arrivals(net, doc)
    assert per and all(v <= BOOKED + 1e-9 for v in per.values()), per
    assert all(d >= str(day(25)) for (_, d) in per)  # nothing before the booking starts
    free = arrivals(net, plan_to_dict(net, plan(net, shipments, settings)))  # the dock's own capacity
    assert max(free.values()) > BOOKED  # the same batch, unbooked, would overfill a day
    moves = draw_from_plan(db, net, ex.org_id, doc, "plan-1", actor(ex))
    assert sum(m.m3 for m in moves) == pytest.approx(6.0 * len(doc["assignments"]))
    assert all(m.booking_id is not None for m in moves)


# --- through the API: POST /v1/plans reads the caller's bookings and the open offers -------------------------
OFFERED = 40.0  # the offer's inbound m³ per day (tests.sharing_world.offer_spec)


def local_arrivals(net, doc, volumes) -> dict:
    """m³ per (warehouse, local day the cargo is handed over), recounted from the plan's assignments."""
    from zoneinfo import ZoneInfo

    per = defaultdict(float)
    for sid, opt in doc["assignments"].items():
        node = net.nodes[opt["destination"]]
        if node.kind.value != "overseas_warehouse":
            continue
        at = datetime.fromisoformat(opt["arrive_p50"]) - timedelta(hours=node.handling_hours)
        per[(node.id, at.astimezone(ZoneInfo(node.tz)).date().isoformat())] += volumes[sid]
    return per


def batch(prefix: str, n: int, m3: float) -> tuple[list[dict], dict[str, float]]:
    rows = [{"id": f"{prefix}{i}", "origin": "MY_CITY", "destination": "WH_LODZ", "weight_kg": 900, "volume_m3": m3,
             "ready_date": str(day(21 + i % 2)), "due_date": str(day(75)), "customs_mode": "9810"} for i in range(n)]
    return rows, {r["id"]: m3 for r in rows}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_world(request, net, tmp_path_factory):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.support.ingest_testing import param_db_url

    url = param_db_url(request, tmp_path_factory.mktemp('plan_api'))
    db = open_db(url, migrate=True)
    op, booker, other = make_tenant(db, kind="warehouse_operator"), make_tenant(db), make_tenant(db)
    offer = publish(db, net, op, start_day=day(20), end_day=day(110))
    b = request_booking(db, booker.org_id, BookingRequest(offer.offer_id, "inbound", BOOKED, day(25), day(110)),
                        actor(booker))
    assert b.status == "confirmed"
    with TestClient(create_app(network=net, ingest_db=db)) as client:
        yield net, client, booker, other
    db.dispose()


def _plan(client, tenant, rows) -> dict:
    r = client.post("/v1/plans", json={"shipments": rows, "time_limit_s": 20}, headers=tenant.headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "succeeded", r.json()
    return r.json()["result"]


def test_api_plan_never_sends_more_than_booked(api_world):
    """The booker's plan: at most its booked 7 m³ a day at WH_LODZ, nothing before the booking's first day."""
    net, client, booker, _ = api_world
    rows, volumes = batch("B", 10, 6.0)
    doc = _plan(client, booker, rows)
    assert doc["assignments"] and doc["warehouse_inbound"]["warehouses"] == ["WH_LODZ"]
    per = local_arrivals(net, doc, volumes)
    assert per and all(v <= BOOKED + 1e-9 for v in per.values()), per
    assert all(d >= str(day(25)) for (_, d) in per), per
    unbooked = local_arrivals(net, plan_to_dict(net, plan(net, read_shipments_text(net, _csv(rows)).shipments,
                                                          PlanSettings(time_limit_s=20, workers=1))), volumes)
    assert max(unbooked.values()) > BOOKED  # the same batch on the dock's own 600 m³/day overfills the booking


def test_api_plan_of_an_organisation_without_bookings_keeps_to_what_is_offered(api_world):
    """Without a booking the plan may use what the open offer has free: 40 - 7 booked = 33 m³ a day."""
    net, client, _, other = api_world
    rows, volumes = batch("O", 12, 12.0)
    doc = _plan(client, other, rows)
    per = local_arrivals(net, doc, volumes)
    assert per and all(v <= OFFERED - BOOKED + 1e-9 for v in per.values()), per
    assert all(str(day(20)) <= d <= str(day(110)) for (_, d) in per), per
    unbooked = local_arrivals(net, plan_to_dict(net, plan(net, read_shipments_text(net, _csv(rows)).shipments,
                                                          PlanSettings(time_limit_s=20, workers=1))), volumes)
    assert max(unbooked.values()) > OFFERED - BOOKED


def _csv(rows: list[dict]) -> str:
    cols = list(rows[0])
    return "\n".join([",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows])
