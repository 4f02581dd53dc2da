"""Bookings of shared-warehouse capacity: request (confirmed, held, waitlisted or refused with the reason),
confirm a hold, change, cancel, expire, promote the waitlist; the operator refuses or cancels a booking on its
offer with a reason; both parties' views.

Never overbooked: a request takes the offer's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` holds the database's write lock) before it counts what the offer's held and confirmed
bookings take on each day, so concurrent requests on one offer are decided one after the other and the
sum of active bookings never exceeds the capacity on any day. A deadlock or serialization failure is
retried; every request gets an answer (refused requests are stored too, with their reason).

Every booking returned to a party names both organisations (``org_name``, ``operator_name``), read from the
accounts' organisations in the same query that loads the booking (one query for a page of bookings).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError

from accounts import tables as acc
from accounts.errors import Conflict, Forbidden
from optimizer.errors import InvalidInput
from sharing import tables as t
from sharing.audit import SYSTEM, Actor, now_ms, record
from sharing.model import ACTIVE, Booking, BookingRequest, Offer, check_request
from sharing.offers import day_use
from sharing.profiles import partners_of
from sharing.rules import accepts, cancel_fee, change_fee, may_book, visible
from sharing.store import booking_in, new_id, offer_in, to_booking, unknown_booking, unknown_offer
from storage.db import Database

RETRIES = 8
PAGE_MAX = 200
_RETRY_CODES = ("40001", "40P01")  # serialization failure, deadlock detected
_BOOKER_ORG, _OPERATOR_ORG = acc.orgs.alias("booker_org"), acc.orgs.alias("operator_org")


def today_utc() -> date:
    return datetime.now(UTC).date()


def _day_start_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def _retrying(fn):
    """Run ``fn()`` (one transaction) again on a deadlock or serialization failure (PostgreSQL)."""
    for attempt in range(RETRIES):
        try:
            return fn()
        except OperationalError as exc:
            code = getattr(getattr(exc, "orig", None), "sqlstate", None)
            if code not in _RETRY_CODES or attempt == RETRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def _named(*where) -> Select:
    """Bookings matching ``where`` with both parties' display names (``org_name``, ``operator_name``): the
    organisations are outer-joined, so a booking whose organisation row is gone still comes back (name None)."""
    b = t.bookings
    return (select(b, _BOOKER_ORG.c.name.label("org_name"), _OPERATOR_ORG.c.name.label("operator_name"))
            .select_from(b.outerjoin(_BOOKER_ORG, _BOOKER_ORG.c.org_id == b.c.org_id)
                         .outerjoin(_OPERATOR_ORG, _OPERATOR_ORG.c.org_id == b.c.operator_org_id))
            .where(*where))


def _to_named(r) -> Booking:
    """A row of :func:`_named` as a booking with its parties' names."""
    return replace(to_booking(r), org_name=r["org_name"], operator_name=r["operator_name"])


def _named_in(conn, booking_id: str) -> Booking | None:
    """The booking (any party) with both parties' names, or None."""
    r = conn.execute(_named(t.bookings.c.booking_id == booking_id)).mappings().first()
    return None if r is None else _to_named(r)


def _asked(b: Booking) -> dict:
    """The booking as its request's audit detail: what was asked and answered, not the parties' names (read
    from the organisations whenever the booking is shown, so a renamed organisation shows its new name)."""
    d = b.to_dict()
    del d["org_name"], d["operator_name"]
    return d


def _shortfall(conn, offer: Offer, kind: str, quantity: float, start: date, end: date,
               exclude: str | None = None, now: int | None = None, stale: list[Booking] | None = None) -> str | None:
    """None when ``quantity`` fits on every day, else which day is short and by how much (``now``/``stale``:
    as :func:`sharing.offers.day_use`)."""
    for u in day_use(conn, offer, kind, start, end, exclude=exclude, now=now, stale=stale):
        if quantity > u.free + 1e-9:
            unit = offer.storage_unit if kind == "storage" else "m3/day"
            return (f"{kind} capacity is full on {u.day}: {u.free:g} {unit} free of {u.capacity:g}, "
                    f"{quantity:g} asked")
    return None


def _expire(conn, stale: list[Booking], now: int) -> None:
    """Expire holds found past their deadline while counting (in the offer's lock)."""
    for b in stale:
        conn.execute(t.bookings.update().where(t.bookings.c.booking_id == b.booking_id, t.bookings.c.status == "held")
                     .values(status="expired", reason="not confirmed within the hold", updated_ms=now))
        record(conn, SYSTEM, "booking", b.booking_id, "expire", {"from": "held", "reason": "not confirmed within the hold"},
               owner_org=b.org_id, operator_org=b.operator_org_id, at_ms=now)


def _expire_offer(conn, offer: Offer, now: int) -> int:
    """Expire the offer's holds and waits past their deadline (in the offer's lock); how many."""
    b = t.bookings
    due = conn.execute(select(b).where(b.c.offer_id == offer.offer_id, b.c.status.in_(("held", "waitlisted")),
                                       b.c.expires_ms.is_not(None), b.c.expires_ms <= now)).mappings().all()
    for r in due:
        reason = ("not confirmed within the hold" if r["status"] == "held"
                  else "the space did not free up before the booking's first day")
        conn.execute(b.update().where(b.c.booking_id == r["booking_id"])
                     .values(status="expired", reason=reason, updated_ms=now))
        record(conn, SYSTEM, "booking", r["booking_id"], "expire", {"from": r["status"], "reason": reason},
               owner_org=r["org_id"], operator_org=r["operator_org_id"], at_ms=now)
    return len(due)


def promote_waitlist(conn, offer: Offer, kind: str, actor: Actor = SYSTEM) -> list[str]:
    """Confirm waitlisted bookings that now fit, oldest first (a later, smaller one may pass an earlier one
    that still does not fit); their ids."""
    b = t.bookings
    waiting = [to_booking(r) for r in conn.execute(
        select(b).where(b.c.offer_id == offer.offer_id, b.c.kind == kind, b.c.status == "waitlisted")
        .order_by(b.c.created_ms, b.c.booking_id)).mappings()]
    promoted = []
    now = now_ms()
    for w in waiting:
        if w.expires_ms is not None and w.expires_ms <= now:
            continue
        if _shortfall(conn, offer, kind, w.quantity, w.start_day, w.end_day) is None:
            conn.execute(b.update().where(b.c.booking_id == w.booking_id)
                         .values(status="confirmed", reason="promoted from the waitlist", expires_ms=None, updated_ms=now))
            record(conn, actor, "booking", w.booking_id, "promote", {"from": "waitlisted", "to": "confirmed"},
                   owner_org=w.org_id, operator_org=w.operator_org_id, at_ms=now)
            promoted.append(w.booking_id)
    return promoted


def _by_key(db: Database, org_id: str, key: str) -> Booking | None:
    with db.engine.connect() as conn:
        r = conn.execute(_named(t.bookings.c.org_id == org_id, t.bookings.c.request_key == key)).mappings().first()
    return None if r is None else _to_named(r)


def request_booking(db: Database, org_id: str, req: BookingRequest, actor: Actor, *, today: date | None = None) -> Booking:
    """Decide a booking request: confirmed (or held) when it fits on every day, else waitlisted (when asked
    and the start is still ahead) or refused, with the reason. Unknown offers and offers ``org_id`` may not
    see are 404; every other answer is a stored booking."""
    check_request(req)
    today = today or today_utc()
    if req.request_key is not None:
        earlier = _by_key(db, org_id, req.request_key)
        if earlier is not None:
            return earlier

    def attempt() -> Booking:
        with db.engine.begin() as conn:
            offer = offer_in(conn, req.offer_id, lock=True)
            # the partner list matters only to a partners' offer: one round trip fewer on the others
            partners = partners_of(conn, offer.org_id) if offer is not None and offer.who_may_book == "partners" else set()
            if offer is None or not visible(offer, org_id, partners):
                raise unknown_offer(req.offer_id)
            now = now_ms()
            reason = may_book(offer, org_id, partners) or accepts(offer, req, today)
            status, expires = "refused", None
            stale: list[Booking] = []
            if reason is None:
                short = _shortfall(conn, offer, req.kind, req.quantity, req.start_day, req.end_day, now=now, stale=stale)
                if short is None:
                    status = "held" if req.hold else "confirmed"
                    if req.hold:
                        expires = now + offer.terms.hold_hours * 3_600_000
                elif req.waitlist and req.start_day > today:
                    status, reason, expires = "waitlisted", short, _day_start_ms(req.start_day)
                else:
                    reason = short
            booking = Booking(new_id("bkg"), org_id, offer.offer_id, offer.org_id, offer.warehouse, req.kind,
                              float(req.quantity), req.start_day, req.end_day, req.cargo_class, req.customs_mode, status,
                              reason, expires, 0.0, req.request_key, now, now)
            conn.execute(t.bookings.insert().values(
                booking_id=booking.booking_id, org_id=org_id, offer_id=offer.offer_id, operator_org_id=offer.org_id,
                warehouse=offer.warehouse, kind=req.kind, quantity=booking.quantity, start_day=req.start_day,
                end_day=req.end_day, cargo_class=req.cargo_class, customs_mode=req.customs_mode, status=status,
                reason=reason, expires_ms=expires, fee=0.0, request_key=req.request_key, created_by=actor.name[:64],
                created_ms=now, updated_ms=now))
            record(conn, actor, "booking", booking.booking_id, "request", _asked(booking), owner_org=org_id,
                   operator_org=offer.org_id, at_ms=now)
            if stale:  # holds past their deadline, found while counting: expired, their space to the waitlist
                _expire(conn, stale, now)
                promote_waitlist(conn, offer, req.kind)
            stored = _named_in(conn, booking.booking_id)  # as stored, with both parties' names
            assert stored is not None
            return stored

    try:
        return _retrying(attempt)
    except IntegrityError:
        if req.request_key is not None:  # the same key raced in: its first answer
            earlier = _by_key(db, org_id, req.request_key)
            if earlier is not None:
                return earlier
        raise


def get_booking(db: Database, booking_id: str, *, org: str | None) -> Booking:
    """The booking when ``org`` booked it or operates its offer (None: any); else 404 as for an unknown id."""
    with db.engine.connect() as conn:
        b = _named_in(conn, booking_id)
    if b is None or (org is not None and org not in (b.org_id, b.operator_org_id)):
        raise unknown_booking(booking_id)
    return b


def list_bookings(db: Database, *, org: str | None, role: str = "any", offer_id: str | None = None,
                  status: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Booking], int]:
    """``org``'s bookings (``role`` booker), those on its offers (operator), or both (any); newest first."""
    b = t.bookings
    where = []
    if org is not None:
        where.append({"booker": b.c.org_id == org, "operator": b.c.operator_org_id == org}.get(
            role, or_(b.c.org_id == org, b.c.operator_org_id == org)))
    if offer_id is not None:
        where.append(b.c.offer_id == offer_id)
    if status is not None:
        where.append(b.c.status == status)
    with db.engine.connect() as conn:  # two queries whatever the page's size: the count, the page with names
        total = int(conn.execute(select(func.count()).select_from(select(b).where(*where).subquery())).scalar_one())
        rows = [_to_named(r) for r in conn.execute(_named(*where).order_by(b.c.created_ms.desc(), b.c.booking_id)
                                                   .limit(limit).offset(offset)).mappings()]
    return rows, total


def _locked(conn, booking_id: str, org: str | None) -> tuple[Booking, Offer]:
    """The booker's booking and its offer, the offer locked (every change to a booking takes the lock its
    bookings are decided under)."""
    b = booking_in(conn, booking_id)
    if b is None or (org is not None and org != b.org_id):
        raise unknown_booking(booking_id)
    offer = offer_in(conn, b.offer_id, lock=True)
    assert offer is not None
    b = _named_in(conn, booking_id)  # re-read under the lock, with the parties' names for the answer
    assert b is not None
    return b, offer


def cancel_booking(db: Database, booking_id: str, org: str | None, actor: Actor, *, today: date | None = None) -> Booking:
    """Cancel a held, confirmed or waitlisted booking by the offer's terms before its first day (a confirmed
    booking cancelled with less than the notice is charged ``cancel_fee_share`` of its value; a booking under
    way is shortened instead); the freed space goes to the waitlist."""
    today = today or today_utc()

    def attempt() -> Booking:
        with db.engine.begin() as conn:
            b, offer = _locked(conn, booking_id, org)
            if b.status not in ("held", "confirmed", "waitlisted"):
                raise Conflict(f"booking {booking_id} is {b.status}: only held, confirmed or waitlisted bookings can be "
                               "cancelled", field="booking")
            if b.status == "confirmed" and today >= b.start_day:
                raise Conflict(f"booking {booking_id} began on {b.start_day}: shorten it instead (change its end_day)",
                               field="booking")
            fee = cancel_fee(offer, b, today)
            now = now_ms()
            reason = (f"cancelled with less than {offer.terms.notice_days} days' notice: fee {fee:.2f} {offer.currency}"
                      if fee else "cancelled")
            conn.execute(t.bookings.update().where(t.bookings.c.booking_id == booking_id)
                         .values(status="cancelled", reason=reason, fee=b.fee + fee, expires_ms=None, updated_ms=now))
            record(conn, actor, "booking", booking_id, "cancel", {"from": b.status, "fee": round(fee, 2)},
                   owner_org=b.org_id, operator_org=b.operator_org_id, at_ms=now)
            if b.status in ACTIVE:
                promote_waitlist(conn, offer, b.kind)
            return replace(b, status="cancelled", reason=reason, fee=b.fee + fee, expires_ms=None, updated_ms=now)

    return _retrying(attempt)


MAX_REASON = 300


def refuse_booking(db: Database, booking_id: str, operator: str | None, actor: Actor, reason: str, *,
                   today: date | None = None) -> Booking:
    """The offer's operator refuses a held or waitlisted booking (``refused``) or cancels a confirmed one before
    its first day (``cancelled``, no fee to the booker), giving ``reason``: the booker reads it on the booking
    and in its audit trail; the freed space goes to the waitlist. ``operator`` None: any operator (the CLI's
    operator view). The booker itself may not (403); anyone else gets 404 as for an unknown id; a booking
    already ended or under way is a 409."""
    today = today or today_utc()
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > MAX_REASON or not text.isprintable():
        raise InvalidInput(f"reason must be 1..{MAX_REASON} printable characters: the booker reads it", field="reason")

    def attempt() -> Booking:
        with db.engine.begin() as conn:
            b = booking_in(conn, booking_id)
            if b is None or (operator is not None and operator not in (b.org_id, b.operator_org_id)):
                raise unknown_booking(booking_id)
            if operator is not None and operator != b.operator_org_id:
                raise Forbidden(f"only the operator of offer {b.offer_id} may refuse booking {booking_id}; "
                                "the booker cancels it instead (DELETE /v1/bookings/{id}, cbec bookings cancel)")
            b, offer = _locked(conn, booking_id, None)
            if b.status not in ("held", "confirmed", "waitlisted"):
                raise Conflict(f"booking {booking_id} is {b.status}: only held, confirmed or waitlisted bookings can be "
                               "refused", field="booking")
            if b.status == "confirmed" and today >= b.start_day:
                raise Conflict(f"booking {booking_id} began on {b.start_day}: it can no longer be refused", field="booking")
            status = "cancelled" if b.status == "confirmed" else "refused"
            why = f"{'cancelled' if status == 'cancelled' else 'refused'} by the operator: {text}"
            now = now_ms()
            conn.execute(t.bookings.update().where(t.bookings.c.booking_id == booking_id)
                         .values(status=status, reason=why, expires_ms=None, updated_ms=now))
            record(conn, actor, "booking", booking_id, "operator_" + ("cancel" if status == "cancelled" else "refuse"),
                   {"from": b.status, "to": status, "reason": text}, owner_org=b.org_id, operator_org=b.operator_org_id,
                   at_ms=now)
            if b.status in ACTIVE:
                promote_waitlist(conn, offer, b.kind)
            return replace(b, status=status, reason=why, expires_ms=None, updated_ms=now)

    return _retrying(attempt)


def confirm_booking(db: Database, booking_id: str, org: str | None, actor: Actor) -> Booking:
    """Confirm a held booking before its hold ends (an expired hold is refused with 409)."""

    def attempt() -> Booking:
        with db.engine.begin() as conn:
            b, offer = _locked(conn, booking_id, org)
            now = now_ms()
            _expire_offer(conn, offer, now)
            b = _named_in(conn, booking_id)
            assert b is not None
            if b.status == "confirmed":
                return b
            if b.status != "held":
                raise Conflict(f"booking {booking_id} is {b.status}: only a held booking can be confirmed", field="booking")
            conn.execute(t.bookings.update().where(t.bookings.c.booking_id == booking_id)
                         .values(status="confirmed", expires_ms=None, updated_ms=now))
            record(conn, actor, "booking", booking_id, "confirm", {"from": "held"}, owner_org=b.org_id,
                   operator_org=b.operator_org_id, at_ms=now)
            return replace(b, status="confirmed", expires_ms=None, updated_ms=now)

    return _retrying(attempt)


def change_booking(db: Database, booking_id: str, org: str | None, actor: Actor, *, quantity: float | None = None,
                   start_day: date | None = None, end_day: date | None = None, today: date | None = None) -> Booking:
    """Change the quantity or days of a held or confirmed booking: it must fit (beside every other booking)
    and the offer must accept it, else 409 with the reason and nothing changes; giving up booked
    quantity-days within the notice period costs the cancellation share of their value."""
    today = today or today_utc()

    def attempt() -> Booking:
        with db.engine.begin() as conn:
            b, offer = _locked(conn, booking_id, org)
            if b.status not in ACTIVE:
                raise Conflict(f"booking {booking_id} is {b.status}: only held or confirmed bookings can be changed",
                               field="booking")
            new = BookingRequest(b.offer_id, b.kind, b.quantity if quantity is None else quantity,
                                 start_day or b.start_day, end_day or b.end_day, b.cargo_class, b.customs_mode)
            check_request(new)
            reason = accepts(offer, new, today) or _shortfall(conn, offer, b.kind, new.quantity, new.start_day,
                                                               new.end_day, exclude=b.booking_id)
            if reason is not None:
                raise Conflict(f"the change cannot be made: {reason}", field="quantity" if quantity else "start_day")
            fee = change_fee(offer, b, new.quantity, new.start_day, new.end_day, today)
            now = now_ms()
            conn.execute(t.bookings.update().where(t.bookings.c.booking_id == booking_id)
                         .values(quantity=float(new.quantity), start_day=new.start_day, end_day=new.end_day,
                                 fee=b.fee + fee, updated_ms=now))
            record(conn, actor, "booking", booking_id, "change",
                   {"quantity": [b.quantity, new.quantity], "start_day": [b.start_day, new.start_day],
                    "end_day": [b.end_day, new.end_day], "fee": round(fee, 2)},
                   owner_org=b.org_id, operator_org=b.operator_org_id, at_ms=now)
            promote_waitlist(conn, offer, b.kind)
            return replace(b, quantity=float(new.quantity), start_day=new.start_day, end_day=new.end_day,
                           fee=b.fee + fee, updated_ms=now)

    if quantity is None and start_day is None and end_day is None:
        raise InvalidInput("a change needs quantity, start_day or end_day", field="quantity")
    return _retrying(attempt)


def expire_due(db: Database, *, now: int | None = None, operator: str | None = None) -> dict[str, int]:
    """Expire every hold and wait past its deadline and promote the waitlists of the offers concerned
    (``cbec bookings expire``, ``POST /v1/bookings/expire``; requests do it for their own offer): on every offer,
    or on ``operator``'s offers only."""
    now = now or now_ms()
    b = t.bookings
    due = [b.c.status.in_(("held", "waitlisted")), b.c.expires_ms.is_not(None), b.c.expires_ms <= now]
    if operator is not None:
        due.append(b.c.operator_org_id == operator)
    with db.engine.connect() as conn:
        offer_ids = sorted(set(conn.execute(select(b.c.offer_id).where(*due)).scalars()))
    expired = promoted = 0
    for oid in offer_ids:
        with db.engine.begin() as conn:
            offer = offer_in(conn, oid, lock=True)
            assert offer is not None
            expired += _expire_offer(conn, offer, now)
            for kind in ("storage", "inbound"):
                promoted += len(promote_waitlist(conn, offer, kind))
    return {"expired": expired, "promoted": promoted}
