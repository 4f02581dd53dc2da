"""Monthly settlement (issue 19, item 4), recomputed here independently from the raw bookings and movements
(a day-by-day loop over the month written from the offer's terms, not the module's code), for each way of
settling: booked, used and split; fees of late cancellations; the signed statement."""

from __future__ import annotations

import calendar
from datetime import date

import pytest

from sharing.bookings import cancel_booking, request_booking
from sharing.model import BookingRequest, Terms
from sharing.settlement import Month, settlement
from sharing.signing import verify
from sharing.export import statement
from sharing.usage import record_movement
from storage.db import open_db
from tests.sharing_world import actor, day, publish
from tests.support.accounts import make_tenant

PALLET = 1.44


@pytest.fixture
def world(net, tmp_path):
    db = open_db(f"sqlite:///{tmp_path}/s.sqlite3", migrate=True)
    yield db, net, make_tenant(db, kind="warehouse_operator"), make_tenant(db)
    db.dispose()


def month_days(m: Month) -> list[date]:
    return [date(m.year, m.month, d) for d in range(1, calendar.monthrange(m.year, m.month)[1] + 1)]


@pytest.mark.parametrize("settle_on, share", [("booked", 1.0), ("used", 0.0), ("split", 0.3)])
@pytest.mark.parametrize("unit", ["m3", "pallet"])
def test_totals_recomputed_independently(world, settle_on, share, unit):
    db, net, op, ex = world
    terms = Terms(notice_days=30, cancel_fee_share=0.4, settle_on=settle_on, booked_share=0.3)
    offer = publish(db, net, op, terms=terms, storage_unit=unit, price_storage=0.7, price_inbound=3.5,
                    start_day=day(10), end_day=day(200))
    a = request_booking(db, ex.org_id, BookingRequest(offer.offer_id, "storage", 20, day(15), day(70)), actor(ex))
    i = request_booking(db, ex.org_id, BookingRequest(offer.offer_id, "inbound", 5, day(15), day(40)), actor(ex))
    late = request_booking(db, ex.org_id, BookingRequest(offer.offer_id, "storage", 3, day(30), day(33)), actor(ex))
    cancel_booking(db, late.booking_id, ex.org_id, actor(ex), today=day(10))  # 20 days' notice < 30: a fee
    moves = [(day(16), "in", 12.0), (day(18), "in", 9.0), (day(25), "out", 4.0), (day(40), "in", 30.0),
             (day(45), "out", 10.0)]
    for k, (d, direction, m3) in enumerate(moves):
        record_movement(db, net, ex.org_id, "WH_LODZ", d, direction, m3, "manual", f"m{k}", actor(ex))
    per_unit = PALLET if unit == "pallet" else 1.0
    for m in sorted({Month(d.year, d.month) for d in (day(15), day(45), day(70))}, key=str):
        booked_s = used_s = over_s = booked_i = used_i = over_i = 0.0
        for d in month_days(m):
            stock = sum(x if w == "in" else -x for (dd, w, x) in moves if dd <= d) / per_unit
            inbound = sum(x for (dd, w, x) in moves if dd == d and w == "in")
            bs = 20.0 if day(15) <= d <= day(70) else 0.0
            bi = 5.0 if day(15) <= d <= day(40) else 0.0
            booked_s, used_s, over_s = booked_s + bs, used_s + stock, over_s + max(0.0, stock - bs)
            booked_i, used_i, over_i = booked_i + bi, used_i + inbound, over_i + max(0.0, inbound - bi)
        fee = 0.4 * 3 * 4 * 0.7 if Month(day(30).year, day(30).month) == m else 0.0
        expect = (round((share * booked_s + (1 - share) * used_s + share * over_s) * 0.7, 2)
                  + round((share * booked_i + (1 - share) * used_i + share * over_i) * 3.5, 2) + round(fee, 2))
        for who in (ex.org_id, op.org_id):  # both parties, the same figure
            doc = settlement(db, m, org=who)
            assert [p["total"] for p in doc["pairs"]] == [pytest.approx(expect, abs=0.011)], (m, who)
        line = settlement(db, m, org=ex.org_id)["lines"][0]
        assert line["booked_unit_days"] == pytest.approx(booked_s) and line["used_m3_days"] == pytest.approx(
            used_s * per_unit, abs=1e-3)
    assert a.status == i.status == "confirmed"


def test_statements_are_signed_and_tampering_shows(world):
    db, net, op, ex = world
    offer = publish(db, net, op)
    request_booking(db, ex.org_id, BookingRequest(offer.offer_id, "storage", 20, day(25), day(40)), actor(ex))
    m = Month(day(25).year, day(25).month)
    st = statement(db, m, ex.org_id)
    assert st["signature"]["alg"] == "HMAC-SHA256" and verify(st) == (True, "valid")
    forged = {**st, "pairs": [{**st["pairs"][0], "total": 1.0}]}
    assert verify(forged) == (False, "the statement was changed after it was signed")
    assert verify({**st, "signature": {**st["signature"], "key_id": "0" * 16}})[0] is False
