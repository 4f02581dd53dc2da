"""Capacity offers: a warehouse operator publishes, lists, withdraws them; bookers find what they may book;
availability shows booked against offered capacity per day, beside the free space the sensors report."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select

from accounts.errors import Forbidden
from accounts.store import get_org
from iot_ingest.status import warehouse_status
from optimizer.errors import InvalidInput
from optimizer.network import Network
from sharing import tables as t
from sharing.audit import Actor, now_ms, record
from sharing.model import KINDS, Booking, Offer, OfferSpec, check_offer, check_period, days
from sharing.profiles import partners_of
from sharing.rules import visible
from sharing.store import active_bookings, new_id, offer_in, offer_row, to_offer, unknown_offer
from storage.db import Database

PAGE_MAX = 200


def create_offer(db: Database, net: Network, org_id: str, spec: OfferSpec, actor: Actor) -> Offer:
    """Publish ``spec`` as ``org_id``'s offer (a warehouse operator's)."""
    org = get_org(db, org_id)
    if org.kind != "warehouse_operator":
        raise Forbidden(f"only a warehouse operator publishes capacity offers (this organisation is a {org.kind})",
                        field="org")
    check_offer(net, spec)
    for i, other in enumerate(spec.allowed_orgs):
        if other == org_id:
            raise InvalidInput(f"allowed_orgs[{i}]: the operator itself", field=f"allowed_orgs.{i}")
    now = now_ms()
    offer = Offer(**{f: getattr(spec, f) for f in OfferSpec.__dataclass_fields__}, offer_id=new_id("off"),
                  org_id=org_id, status="open", created_ms=now, updated_ms=now)
    with db.engine.begin() as conn:
        conn.execute(t.offers.insert().values(**offer_row(offer)))
        record(conn, actor, "offer", offer.offer_id, "create", offer.to_dict(), operator_org=org_id)
    return offer


def get_offer(db: Database, offer_id: str, *, org: str | None) -> Offer:
    """The offer as ``org`` sees it (None: an operator at the CLI sees every offer); 404 when ``org`` may
    neither book it nor operates it, exactly as for an unknown id."""
    with db.engine.connect() as conn:
        offer = offer_in(conn, offer_id)
        if offer is None or not visible(offer, org, partners_of(conn, offer.org_id)):
            raise unknown_offer(offer_id)
    return offer


def own_offer(db: Database, offer_id: str, org: str | None) -> Offer:
    """The offer when ``org`` operates it (None: any); else 404 as for an unknown id (a booker cannot
    change an offer it may see: its operator's changes only)."""
    offer = get_offer(db, offer_id, org=org)
    if org is not None and offer.org_id != org:
        raise unknown_offer(offer_id)
    return offer


def list_offers(db: Database, *, org: str | None, warehouse: str | None = None, mine: bool = False,
                include_withdrawn: bool = False, limit: int = 50, offset: int = 0) -> tuple[list[Offer], int]:
    """Offers ``org`` may book or operates (``mine``: only those it operates), newest first."""
    o = t.offers
    q = select(o)
    if warehouse is not None:
        q = q.where(o.c.warehouse == warehouse)
    if mine and org is not None:
        q = q.where(o.c.org_id == org)
    if not include_withdrawn:
        q = q.where(o.c.status == "open")
    with db.engine.connect() as conn:
        rows = [to_offer(r) for r in conn.execute(q.order_by(o.c.created_ms.desc(), o.c.offer_id)).mappings()]
        partner_lists: dict[str, set[str]] = {}
        seen = []
        for offer in rows:
            if offer.org_id not in partner_lists:
                partner_lists[offer.org_id] = partners_of(conn, offer.org_id)
            if visible(offer, org, partner_lists[offer.org_id]):
                seen.append(offer)
    return seen[offset: offset + limit], len(seen)


def withdraw_offer(db: Database, offer_id: str, org: str | None, actor: Actor) -> Offer:
    """Close the offer to new bookings (those made stand, and keep their terms)."""
    with db.engine.begin() as conn:
        offer = offer_in(conn, offer_id, lock=True)
        if offer is None or (org is not None and offer.org_id != org):
            raise unknown_offer(offer_id)
        if offer.status != "withdrawn":
            conn.execute(t.offers.update().where(t.offers.c.offer_id == offer_id)
                         .values(status="withdrawn", updated_ms=now_ms()))
            record(conn, actor, "offer", offer_id, "withdraw", {}, operator_org=offer.org_id)
    return replace(offer, status="withdrawn")


@dataclass(frozen=True, slots=True)
class DayUse:
    """Booked (confirmed + held) against offered capacity of one kind on one day."""

    day: date
    confirmed: float
    held: float
    capacity: float

    @property
    def free(self) -> float:
        return max(0.0, self.capacity - self.confirmed - self.held)


def day_use(conn, offer: Offer, kind: str, start: date, end: date, *, exclude: str | None = None,
            now: int | None = None, stale: list[Booking] | None = None) -> list[DayUse]:
    """Per day of ``start..end``: what the offer's held and confirmed bookings of ``kind`` take. With ``now``,
    holds past their deadline take nothing (they are appended to ``stale``, for the caller to expire)."""
    span = days(start, end)
    confirmed = dict.fromkeys(span, 0.0)
    held = dict.fromkeys(span, 0.0)
    for b in active_bookings(conn, offer.offer_id, kind, start, end, exclude=exclude):
        if now is not None and b.status == "held" and b.expires_ms is not None and b.expires_ms <= now:
            if stale is not None:
                stale.append(b)
            continue
        target = confirmed if b.status == "confirmed" else held
        for d in days(max(b.start_day, start), min(b.end_day, end)):
            target[d] += b.quantity
    cap = offer.capacity(kind)
    return [DayUse(d, confirmed[d], held[d], cap) for d in span]


def availability(db: Database, net: Network, offer_id: str, *, org: str | None, start: date | None = None,
                 end: date | None = None) -> dict[str, Any]:
    """Booked vs offered capacity per day and kind over ``start..end`` (default: the offer's period, at most
    the first 92 days), and the warehouse's free space from its occupancy sensors (all tenants' sensors:
    the space is shared)."""
    offer = get_offer(db, offer_id, org=org)
    start = start or offer.start_day
    end = end or min(offer.end_day, date.fromordinal(start.toordinal() + 91))
    check_period(start, end)
    start, end = max(start, offer.start_day), min(end, offer.end_day)
    out: dict[str, Any] = {"offer": offer.offer_id, "warehouse": offer.warehouse, "storage_unit": offer.storage_unit,
                           "days": {}}
    with db.engine.connect() as conn:
        for kind in KINDS:
            if offer.capacity(kind) <= 0 or end < start:
                out["days"][kind] = []
                continue
            out["days"][kind] = [{"day": u.day.isoformat(), "capacity": u.capacity, "confirmed": round(u.confirmed, 3),
                                  "held": round(u.held, 3), "free": round(u.free, 3)}
                                 for u in day_use(conn, offer, kind, start, end, now=now_ms())]
    status = warehouse_status(db, net, offer.warehouse, zone_wide=True)[0]["capacity"]
    out["sensors"] = {"free_m3": status["free_m3"], "occupied_positions": status["occupied_positions"],
                      "free_positions": status["free_positions"], "source": status["source"]}
    return out
