"""Rows of the sharing tables as records, and the scoped reads every use case shares."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select

from accounts.errors import NotFound
from sharing import tables as t
from sharing.model import ACTIVE, Booking, Offer, Terms

ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


def _csv(value: str) -> tuple[str, ...]:
    return tuple(x for x in value.split(",") if x)


def offer_row(o: Offer) -> dict:
    tm = o.terms
    return {"offer_id": o.offer_id, "org_id": o.org_id, "warehouse": o.warehouse, "status": o.status,
            "storage_unit": o.storage_unit, "storage_capacity": o.storage_capacity,
            "inbound_m3_per_day": o.inbound_m3_per_day, "start_day": o.start_day, "end_day": o.end_day,
            "price_storage": o.price_storage, "price_inbound": o.price_inbound, "currency": o.currency,
            "cargo_classes": ",".join(o.cargo_classes), "customs_modes": ",".join(o.customs_modes),
            "who_may_book": o.who_may_book, "allowed_orgs": ",".join(o.allowed_orgs),
            "notice_days": tm.notice_days, "cancel_fee_share": tm.cancel_fee_share, "settle_on": tm.settle_on,
            "booked_share": tm.booked_share, "hold_hours": tm.hold_hours, "created_ms": o.created_ms,
            "updated_ms": o.updated_ms}


def to_offer(r) -> Offer:
    return Offer(warehouse=r["warehouse"], start_day=_day(r["start_day"]), end_day=_day(r["end_day"]),
                 storage_capacity=r["storage_capacity"], inbound_m3_per_day=r["inbound_m3_per_day"],
                 price_storage=r["price_storage"], price_inbound=r["price_inbound"], storage_unit=r["storage_unit"],
                 currency=r["currency"], cargo_classes=_csv(r["cargo_classes"]), customs_modes=_csv(r["customs_modes"]),
                 who_may_book=r["who_may_book"], allowed_orgs=_csv(r["allowed_orgs"]),
                 terms=Terms(r["notice_days"], r["cancel_fee_share"], r["settle_on"], r["booked_share"], r["hold_hours"]),
                 offer_id=r["offer_id"], org_id=r["org_id"], status=r["status"], created_ms=r["created_ms"],
                 updated_ms=r["updated_ms"])


def _day(v) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def to_booking(r) -> Booking:
    return Booking(r["booking_id"], r["org_id"], r["offer_id"], r["operator_org_id"], r["warehouse"], r["kind"],
                   r["quantity"], _day(r["start_day"]), _day(r["end_day"]), r["cargo_class"], r["customs_mode"],
                   r["status"], r["reason"], r["expires_ms"], r["fee"], r["request_key"], r["created_ms"],
                   r["updated_ms"])


def offer_in(conn, offer_id: str, *, lock: bool = False) -> Offer | None:
    """The offer (any owner), or None; ``lock``: ``SELECT ... FOR UPDATE`` (PostgreSQL; SQLite's BEGIN
    IMMEDIATE already holds the database's write lock)."""
    q = select(t.offers).where(t.offers.c.offer_id == offer_id)
    if lock and conn.dialect.name != "sqlite":
        q = q.with_for_update()
    r = conn.execute(q).mappings().first()
    return None if r is None else to_offer(r)


def unknown_offer(offer_id: str) -> NotFound:
    return NotFound(f"no offer '{offer_id}'", field="offer")


def unknown_booking(booking_id: str) -> NotFound:
    return NotFound(f"no booking '{booking_id}'", field="booking")


def active_bookings(conn, offer_id: str, kind: str, start: date, end: date, *, exclude: str | None = None) -> list[Booking]:
    """The held and confirmed bookings of ``kind`` on the offer overlapping ``start..end``."""
    b = t.bookings
    q = select(b).where(b.c.offer_id == offer_id, b.c.kind == kind, b.c.status.in_(ACTIVE),
                        b.c.start_day <= end, b.c.end_day >= start)
    if exclude is not None:
        q = q.where(b.c.booking_id != exclude)
    return [to_booking(r) for r in conn.execute(q).mappings()]


def booking_in(conn, booking_id: str) -> Booking | None:
    r = conn.execute(select(t.bookings).where(t.bookings.c.booking_id == booking_id)).mappings().first()
    return None if r is None else to_booking(r)
