"""Bookings of shared-warehouse capacity (issue 19, item 2): rules, waitlist, holds and expiry, terms of
cancellation and change, the audit trail, and no overbooking under 200 concurrent requests on PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections import defaultdict

import pytest
from sqlalchemy import event, select

from accounts import tables as acc
from accounts.errors import Conflict, Forbidden, NotFound
from optimizer.errors import InvalidInput
from sharing import tables as t
from sharing.audit import trail
from sharing.bookings import (
    cancel_booking,
    change_booking,
    confirm_booking,
    expire_due,
    get_booking,
    list_bookings,
    refuse_booking,
    request_booking,
)
from sharing.model import BookingRequest, days
from sharing.offers import availability
from sharing.profiles import add_partner
from storage.db import open_db
from tests.sharing_world import actor, day, publish
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    url = param_db_url(request, tmp_path)
    d = open_db(url, migrate=True)
    yield d
    d.dispose()


@pytest.fixture
def world(db, net):
    op = make_tenant(db, kind="warehouse_operator")
    ex, other = make_tenant(db), make_tenant(db)
    return db, net, op, ex, other


def req(offer, kind="storage", q=10.0, a=25, b=35, **kw):
    return BookingRequest(offer.offer_id, kind, q, day(a), day(b), **kw)


def test_rules_classes_modes_period_and_who_may_book(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    refused = {
        "class": request_booking(db, ex.org_id, req(offer, cargo_class="dangerous_goods"), actor(ex)),
        "mode": request_booking(db, ex.org_id, req(offer, customs_mode="9610"), actor(ex)),
        "period": request_booking(db, ex.org_id, req(offer, a=10, b=30), actor(ex)),
        "too big": request_booking(db, ex.org_id, req(offer, q=301), actor(ex)),
    }
    assert {k: b.status for k, b in refused.items()} == dict.fromkeys(refused, "refused")
    assert "dangerous_goods is not accepted" in refused["class"].reason
    assert "customs mode 9610 is not served" in refused["mode"].reason
    assert "outside the offer's period" in refused["period"].reason
    assert "more than the offer's whole storage capacity" in refused["too big"].reason
    ok = request_booking(db, ex.org_id, req(offer, cargo_class="lithium_batteries"), actor(ex))
    assert ok.status == "confirmed" and ok.reason is None
    # a list of organisations; the operator's partners
    listed = publish(db, net, op, who_may_book="list", allowed_orgs=(ex.org_id,))
    assert request_booking(db, ex.org_id, req(listed), actor(ex)).status == "confirmed"
    with pytest.raises(NotFound):  # not on the list: the offer is not even visible
        request_booking(db, other.org_id, req(listed), actor(other))
    partners = publish(db, net, op, who_may_book="partners")
    with pytest.raises(NotFound):
        request_booking(db, other.org_id, req(partners), actor(other))
    add_partner(db, op.org_id, other.org_id, actor(op))
    assert request_booking(db, other.org_id, req(partners), actor(other)).status == "confirmed"
    # only operators publish
    with pytest.raises(Forbidden):
        publish(db, net, ex)


def test_full_days_waitlist_and_promotion_when_space_frees(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    first = request_booking(db, ex.org_id, req(offer, q=250), actor(ex))
    wait = request_booking(db, other.org_id, req(offer, q=100, a=30, b=40), actor(other))
    refused = request_booking(db, other.org_id, req(offer, q=100, a=30, b=40, waitlist=False), actor(other))
    assert (first.status, wait.status, refused.status) == ("confirmed", "waitlisted", "refused")
    assert f"storage capacity is full on {day(30)}: 50 m3 free of 300, 100 asked" == wait.reason == refused.reason
    fits = request_booking(db, other.org_id, req(offer, q=100, a=36, b=40), actor(other))  # after the first ends
    assert fits.status == "confirmed"
    cancel_booking(db, first.booking_id, ex.org_id, actor(ex))
    assert get_booking(db, wait.booking_id, org=other.org_id).status == "confirmed"
    actions = [e.action for e in trail(db, "booking", wait.booking_id)]
    assert actions == ["request", "promote"]
    use = availability(db, net, offer.offer_id, org=ex.org_id, start=day(30), end=day(40))["days"]["storage"]
    assert [u["confirmed"] for u in use] == [100.0] * 6 + [200.0] * 5


def test_holds_expire_and_free_their_space(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    held = request_booking(db, ex.org_id, req(offer, q=300, hold=True), actor(ex))
    assert held.status == "held" and held.expires_ms is not None
    waiting = request_booking(db, other.org_id, req(offer, q=10), actor(other))
    assert waiting.status == "waitlisted"
    assert expire_due(db, now=held.expires_ms + 1, operator=other.org_id) == {"expired": 0, "promoted": 0}
    assert get_booking(db, held.booking_id, org=None).status == "held"  # not that operator's offer
    out = expire_due(db, now=held.expires_ms + 1, operator=op.org_id)
    assert out == {"expired": 1, "promoted": 1}
    assert get_booking(db, held.booking_id, org=None).status == "expired"
    assert get_booking(db, waiting.booking_id, org=None).status == "confirmed"
    with pytest.raises(Conflict):
        confirm_booking(db, held.booking_id, ex.org_id, actor(ex))
    again = request_booking(db, ex.org_id, req(offer, q=20, hold=True), actor(ex))
    assert confirm_booking(db, again.booking_id, ex.org_id, actor(ex)).status == "confirmed"


def test_cancellation_and_change_follow_the_terms(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)  # 14 days' notice, half the value
    early = request_booking(db, ex.org_id, req(offer, q=10, a=25, b=34), actor(ex))  # starts in 25 days
    assert cancel_booking(db, early.booking_id, ex.org_id, actor(ex)).fee == 0.0
    late = request_booking(db, ex.org_id, req(offer, q=10, a=25, b=34), actor(ex))
    fee = cancel_booking(db, late.booking_id, ex.org_id, actor(ex), today=day(20)).fee  # 5 days before
    assert fee == pytest.approx(0.5 * 10 * 10 * 0.5)  # share x m3 x days x price
    b = request_booking(db, ex.org_id, req(offer, q=10, a=25, b=34), actor(ex))
    changed = change_booking(db, b.booking_id, ex.org_id, actor(ex), quantity=6, today=day(20))
    assert changed.quantity == 6 and changed.fee == pytest.approx(0.5 * 4 * 10 * 0.5)
    with pytest.raises(Conflict, match="full"):
        request_booking(db, other.org_id, req(offer, q=294, a=25, b=34), actor(other))  # fits exactly: confirmed
        change_booking(db, b.booking_id, ex.org_id, actor(ex), quantity=7)
    with pytest.raises(Conflict, match="began"):
        cancel_booking(db, b.booking_id, ex.org_id, actor(ex), today=day(26))
    with pytest.raises(NotFound):  # somebody else's booking: unknown
        cancel_booking(db, b.booking_id, other.org_id, actor(other))
    entries = trail(db, "booking", b.booking_id, org=op.org_id)  # the operator reads the trail too
    assert [e.action for e in entries] == ["request", "change"] and entries[1].detail["quantity"] == [10.0, 6.0]
    assert entries[1].actor_org == ex.org_id and entries[1].at_ms > 0


def test_the_operator_refuses_or_cancels_with_a_reason_the_booker_reads(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    confirmed = request_booking(db, ex.org_id, req(offer, q=290), actor(ex))
    waiting = request_booking(db, other.org_id, req(offer, q=100), actor(other))
    held = request_booking(db, other.org_id, req(offer, q=5, a=40, b=45, hold=True), actor(other))
    assert (confirmed.status, waiting.status, held.status) == ("confirmed", "waitlisted", "held")
    with pytest.raises(Forbidden):  # the booker cancels its own booking, it does not refuse it
        refuse_booking(db, confirmed.booking_id, ex.org_id, actor(ex), "no")
    with pytest.raises(NotFound):  # a third party: unknown
        refuse_booking(db, confirmed.booking_id, other.org_id, actor(other), "no")
    with pytest.raises(InvalidInput, match="reason"):
        refuse_booking(db, confirmed.booking_id, op.org_id, actor(op), "  ")
    out = refuse_booking(db, confirmed.booking_id, op.org_id, actor(op), "dock closed for repairs")
    assert out.status == "cancelled" and out.fee == 0.0
    seen = get_booking(db, confirmed.booking_id, org=ex.org_id)  # the booker sees it, with the reason
    assert seen.status == "cancelled" and seen.reason == "cancelled by the operator: dock closed for repairs"
    entries = trail(db, "booking", confirmed.booking_id, org=ex.org_id)
    assert [e.action for e in entries] == ["request", "operator_cancel"]
    assert entries[1].actor_org == op.org_id and entries[1].detail["reason"] == "dock closed for repairs"
    assert get_booking(db, waiting.booking_id, org=None).status == "confirmed"  # the freed space went to the waitlist
    assert refuse_booking(db, held.booking_id, op.org_id, actor(op), "cargo not as described").status == "refused"
    mine = list_bookings(db, org=other.org_id, role="booker", status="refused")[0]
    assert [b.reason for b in mine] == ["refused by the operator: cargo not as described"]
    with pytest.raises(Conflict):  # already ended
        refuse_booking(db, held.booking_id, op.org_id, actor(op), "again")
    with pytest.raises(Conflict, match="began"):
        refuse_booking(db, waiting.booking_id, op.org_id, actor(op), "late", today=day(26))


def test_an_idempotency_key_gets_the_first_answer(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    a = request_booking(db, ex.org_id, req(offer, q=10, request_key="k1"), actor(ex))
    b = request_booking(db, ex.org_id, req(offer, q=10, request_key="k1"), actor(ex))
    assert a.booking_id == b.booking_id
    with db.engine.connect() as c:
        assert len(c.execute(select(t.bookings)).all()) == 1


def test_both_parties_see_both_names_on_every_answer(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    names = {"org_name": ex.name, "operator_name": op.name}

    def named(b) -> dict:
        d = b.to_dict()
        return {k: d[k] for k in names}

    booked = request_booking(db, ex.org_id, req(offer, q=10), actor(ex))
    held = request_booking(db, ex.org_id, req(offer, q=5, a=40, b=45, hold=True, request_key="h1"), actor(ex))
    assert named(booked) == named(held) == names
    assert named(request_booking(db, ex.org_id, req(offer, q=5, a=40, b=45, hold=True, request_key="h1"),
                                 actor(ex))) == names  # the idempotent answer too
    for who in (ex.org_id, op.org_id, None):  # the booker's view, the operator's, the CLI's (any)
        assert named(get_booking(db, booked.booking_id, org=who)) == names
    for who, role in ((ex.org_id, "booker"), (op.org_id, "operator"), (op.org_id, "any")):
        items, total = list_bookings(db, org=who, role=role)
        assert total == 2 and [named(b) for b in items] == [names, names]
    with pytest.raises(NotFound):  # nobody else sees it, names or not
        get_booking(db, booked.booking_id, org=other.org_id)
    assert list_bookings(db, org=other.org_id)[1] == 0
    # every change answers with the names as well
    assert named(change_booking(db, booked.booking_id, ex.org_id, actor(ex), quantity=8)) == names
    assert named(confirm_booking(db, held.booking_id, ex.org_id, actor(ex))) == names
    assert named(refuse_booking(db, held.booking_id, op.org_id, actor(op), "dock closed")) == names
    assert named(cancel_booking(db, booked.booking_id, ex.org_id, actor(ex))) == names
    # the request's audit detail stays what was asked (names are read when shown, not stored)
    assert "org_name" not in trail(db, "booking", booked.booking_id)[0].detail


def test_a_gone_organisation_leaves_its_name_null(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    with db.engine.begin() as c:  # a bare organisation row (no users, no keys) that can be removed again
        c.execute(acc.orgs.insert().values(org_id="org_gone", name="Gone Ltd", kind="forwarder", created_ms=1))
    b = request_booking(db, "org_gone", req(offer, q=10), actor(ex))
    assert (b.org_name, b.operator_name) == ("Gone Ltd", op.name)
    with db.engine.begin() as c:
        c.execute(acc.orgs.delete().where(acc.orgs.c.org_id == "org_gone"))
    seen = get_booking(db, b.booking_id, org=op.org_id)
    assert seen.to_dict()["org_name"] is None and seen.operator_name == op.name and seen.org_id == "org_gone"
    assert [x.org_name for x in list_bookings(db, org=op.org_id, role="operator")[0]] == [None]


def test_a_page_of_bookings_is_two_queries_whatever_its_size(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    for i in range(60):
        request_booking(db, (ex, other)[i % 2].org_id, req(offer, q=1), actor((ex, other)[i % 2]))
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN IMMEDIATE
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        items, total = list_bookings(db, org=op.org_id, role="operator", limit=200)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert total == len(items) == 60
    assert {b.org_name for b in items} == {ex.name, other.name} and {b.operator_name for b in items} == {op.name}
    assert len(statements) <= 2, statements


def _recount(db, offer_id: str) -> dict:
    """Confirmed and held quantity per (kind, day), summed straight from the table."""
    per = defaultdict(float)
    with db.engine.connect() as c:
        for r in c.execute(select(t.bookings).where(t.bookings.c.offer_id == offer_id,
                                                    t.bookings.c.status.in_(("confirmed", "held")))):
            for d in days(r.start_day, r.end_day):
                per[(r.kind, d)] += r.quantity
    return per


@pytest.mark.integration
def test_no_overbooking_under_concurrent_requests(world):
    """200 requests at once on PostgreSQL (50 on SQLite), overlapping days and sizes: every one is answered and
    on no day do the confirmed bookings exceed the capacity."""
    db, net, op, ex, other = world
    n = 200 if db.engine.dialect.name == "postgresql" else 50
    offer = publish(db, net, op)
    rng = random.Random(19)
    asks = [(rng.choice(("storage", "inbound")), float(rng.randint(1, 12)), rng.randint(22, 30)) for _ in range(n)]
    answers: list = [None] * n
    errors: list = []
    barrier = threading.Barrier(n)

    def go(i: int) -> None:
        kind, q, a = asks[i]
        who = ex if i % 2 else other
        try:
            barrier.wait(timeout=60)
            answers[i] = request_booking(db, who.org_id, req(offer, kind=kind, q=q, a=a, b=a + 5, waitlist=i % 3 == 0),
                                         actor(who))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert errors == [] and all(a is not None for a in answers)
    assert {a.status for a in answers} <= {"confirmed", "waitlisted", "refused"}
    assert sum(a.status == "confirmed" for a in answers) > 10 and sum(a.status != "confirmed" for a in answers) > 10
    per = _recount(db, offer.offer_id)
    assert max(v for (k, _), v in per.items() if k == "storage") <= 300 + 1e-9
    assert max(v for (k, _), v in per.items() if k == "inbound") <= 40 + 1e-9
    assert max(v for (k, _), v in per.items() if k == "inbound") >= 40 - 12  # filled, not refused wholesale
    with db.engine.connect() as c:
        assert len(c.execute(select(t.bookings.c.booking_id)).all()) == n


def test_a_request_after_a_holds_deadline_takes_its_space(world):
    db, net, op, ex, other = world
    offer = publish(db, net, op)
    held = request_booking(db, ex.org_id, req(offer, q=300, hold=True), actor(ex))
    with db.engine.begin() as c:  # the hold's 48 hours have passed
        c.execute(t.bookings.update().where(t.bookings.c.booking_id == held.booking_id).values(expires_ms=1))
    assert availability(db, net, offer.offer_id, org=ex.org_id, start=day(25), end=day(25))["days"]["storage"][0]["free"] == 300
    late = request_booking(db, other.org_id, req(offer, q=300, waitlist=False), actor(other))
    assert late.status == "confirmed"
    assert get_booking(db, held.booking_id, org=None).status == "expired"
    assert [e.action for e in trail(db, "booking", held.booking_id)] == ["request", "expire"]
