"""Use of booked space (issue 19, item 3): movements draw on bookings, a tracked shipment arriving at a
warehouse draws on its booking, overuse and unbooked inbound are flagged, and the warehouse's occupancy
sensors are set beside the stock recorded for every tenant."""

from __future__ import annotations

import json
import time

import pytest

from accounts.errors import NotFound
from iot_ingest.milestones import create_shipment
from iot_ingest.pipeline import Pipeline
from iot_ingest.registry import UnknownShipment
from sharing.bookings import request_booking
from sharing.model import BookingRequest
from sharing.usage import draw_from_shipment, reconcile, record_movement
from storage.db import open_db
from tests.sharing_world import actor, day, publish
from tests.support.accounts import make_tenant


@pytest.fixture
def world(net, tmp_path):
    db = open_db(f"sqlite:///{tmp_path}/u.sqlite3", migrate=True)
    op, ex, other = make_tenant(db, kind="warehouse_operator"), make_tenant(db), make_tenant(db)
    offer = publish(db, net, op)
    s = request_booking(db, ex.org_id, BookingRequest(offer.offer_id, "storage", 20, day(25), day(40)), actor(ex))
    i = request_booking(db, ex.org_id, BookingRequest(offer.offer_id, "inbound", 8, day(25), day(30)), actor(ex))
    yield db, net, op, ex, other, offer, s, i
    db.dispose()


def test_movements_draw_on_bookings_and_overuse_is_flagged(world):
    db, net, op, ex, other, offer, s, i = world
    m1 = record_movement(db, net, ex.org_id, "WH_LODZ", day(26), "in", 6, "manual", "a", actor(ex))
    m2 = record_movement(db, net, ex.org_id, "WH_LODZ", day(27), "in", 18, "manual", "b", actor(ex))
    again = record_movement(db, net, ex.org_id, "WH_LODZ", day(27), "in", 18, "manual", "b", actor(ex))
    assert m1.booking_id == m2.booking_id == i.booking_id and again.movement_id == m2.movement_id
    record_movement(db, net, ex.org_id, "WH_LODZ", day(29), "out", 10, "manual", "c", actor(ex))
    stray = record_movement(db, net, other.org_id, "WH_LODZ", day(27), "in", 3, "manual", "x", actor(other))
    assert stray.offer_id is None and stray.booking_id is None
    rec = reconcile(db, net, "WH_LODZ", day(25), day(30), org=None)
    flags = {(f["day"], f["kind"]): f["overuse_m3"] for f in rec["overuse"]}
    # day 27: 18 m³ inbound against 8 booked; stock 24 m³ against 20 booked on days 27-28; 14 after the outbound
    assert flags == {(str(day(27)), "inbound"): 10.0, (str(day(27)), "storage"): 4.0, (str(day(28)), "storage"): 4.0}
    assert [m["org"] for m in rec["unbooked_inbound"]] == [other.org_id]
    assert reconcile(db, net, "WH_LODZ", day(25), day(30), org=other.org_id)["overuse"] == []  # not ex's figures
    assert len(reconcile(db, net, "WH_LODZ", day(25), day(30), org=op.org_id)["overuse"]) == 3  # its offer's
    # an operator records for a client with bookings on its offers, not for anyone else
    by_op = record_movement(db, net, ex.org_id, "WH_LODZ", day(30), "in", 1, "operator", "op-1", actor(op),
                            recorded_by=op.org_id)
    assert by_op.booking_id == i.booking_id
    with pytest.raises(NotFound):
        record_movement(db, net, other.org_id, "WH_LODZ", day(30), "in", 1, "operator", "op-2", actor(op),
                        recorded_by=op.org_id)


def test_occupancy_sensors_beside_the_recorded_stock(world):
    db, net, op, ex, other, offer, s, i = world
    record_movement(db, net, ex.org_id, "WH_LODZ", day(26), "in", 7, "manual", "a", actor(ex))
    op.bind(db, net, "OCC1", warehouse="WH_LODZ")
    Pipeline(db, net).process_raw([("cbec/v1/warehouses/WH_LODZ/sensors/OCC1",
                                    json.dumps({"ts": int(time.time()) - 60, "occupied_positions": 10}).encode())])
    occ = reconcile(db, net, "WH_LODZ", day(25), day(26), org=ex.org_id)["occupancy"]
    assert occ == {"sensors_m3": 14.4, "recorded_stock_m3": 7.0, "difference_m3": 7.4, "source": "occupancy sensors"}


def test_a_tracked_shipment_arriving_draws_on_the_booking(world):
    db, net, op, ex, other, offer, s, i = world
    ship = create_shipment(db, net, "S-WH-1", "MY_CITY", "WH_LODZ", 900, 5, str(day(8)), customs_mode="9810",
                           org=ex.org_id)
    mv = draw_from_shipment(db, net, ex.org_id, ship.shipment_id, 5.0, actor(ex))
    assert mv.warehouse == "WH_LODZ" and mv.source == "shipment" and mv.ref == "S-WH-1"
    with pytest.raises(UnknownShipment):
        draw_from_shipment(db, net, other.org_id, ship.shipment_id, 5.0, actor(other))  # not theirs: unknown
