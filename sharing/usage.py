"""Use of booked space: stock movements (inbound shipments, outbound orders) drawing on bookings, and their
reconciliation with the bookings and with the warehouse's occupancy sensors.

An inbound movement draws on the owner's confirmed inbound booking at the warehouse covering its day (the
one with most room left that day); its offer is then the space the stock sits in. Stock held on a day is
the running balance of the owner's movements into and out of the offer's space. Sources: a 9810 batch
plan (its inbound m³ per warehouse and day), a tracked shipment arriving at a warehouse, or a movement
recorded by hand (the owner, or the operator for its client). Each is idempotent on (owner, source, ref).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from accounts.errors import NotFound
from iot_ingest.milestones import get_shipment
from iot_ingest.status import PALLET_POSITION_M3, warehouse_status
from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.model import NodeKind
from sharing import tables as t
from sharing.audit import Actor, now_ms, record
from sharing.model import MAX_QUANTITY, days
from sharing.store import new_id, to_booking
from storage.db import Database

SOURCES = ("manual", "plan", "shipment", "operator")


@dataclass(frozen=True, slots=True)
class Movement:
    movement_id: str
    org_id: str
    warehouse: str
    offer_id: str | None
    booking_id: str | None
    day: date
    direction: str
    m3: float
    source: str
    ref: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.movement_id, "org": self.org_id, "warehouse": self.warehouse, "offer": self.offer_id,
                "booking": self.booking_id, "day": self.day.isoformat(), "direction": self.direction,
                "m3": round(self.m3, 3), "source": self.source, "ref": self.ref,
                "unbooked": self.offer_id is None}


def _movement(r) -> Movement:
    d = r["day"] if isinstance(r["day"], date) else date.fromisoformat(str(r["day"])[:10])
    return Movement(r["movement_id"], r["org_id"], r["warehouse"], r["offer_id"], r["booking_id"], d, r["direction"],
                    r["m3"], r["source"], r["ref"])


def _check_warehouse(net: Network, warehouse: str) -> None:
    node = net.node(warehouse, "warehouse")
    if node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
        raise InvalidInput(f"'{warehouse}' is a {node.kind.value}, not an overseas warehouse", field="warehouse")


def _draw(conn, org_id: str, warehouse: str, day: date, m3: float) -> tuple[str | None, str | None]:
    """(offer, booking) an inbound movement of ``m3`` on ``day`` draws on: the confirmed inbound booking with
    most room left that day, else a confirmed storage booking there (offer only), else (None, None)."""
    b, mv = t.bookings, t.movements
    rows = [to_booking(r) for r in conn.execute(select(b).where(
        b.c.org_id == org_id, b.c.warehouse == warehouse, b.c.status == "confirmed", b.c.start_day <= day,
        b.c.end_day >= day)).mappings()]
    inbound = [x for x in rows if x.kind == "inbound"]
    if inbound:
        drawn = defaultdict(float)
        for r in conn.execute(select(mv.c.booking_id, mv.c.m3).where(
                mv.c.booking_id.in_([x.booking_id for x in inbound]), mv.c.day == day, mv.c.direction == "in")):
            drawn[r.booking_id] += r.m3
        best = max(inbound, key=lambda x: (x.quantity - drawn[x.booking_id], x.booking_id))
        return best.offer_id, best.booking_id
    storage = [x for x in rows if x.kind == "storage"]
    return (storage[0].offer_id, None) if storage else (None, None)


def record_movement(db: Database, net: Network, owner: str, warehouse: str, day: date, direction: str, m3: float,
                    source: str, ref: str, actor: Actor, *, recorded_by: str | None = None) -> Movement:
    """Record one movement of ``owner``'s stock (idempotent: the same owner, source and ref gives the first
    record). ``recorded_by``: the organisation recording it (the owner, or an operator holding a booking of
    the owner's at the warehouse; anyone else: 404 as for an unknown organisation)."""
    _check_warehouse(net, warehouse)
    if direction not in ("in", "out"):
        raise InvalidInput("direction must be in or out", field="direction")
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", field="source")
    if not (isinstance(m3, (int, float)) and 0 < m3 <= MAX_QUANTITY):
        raise InvalidInput(f"m3 must be above 0 and at most {MAX_QUANTITY:g}", field="m3")
    if not (isinstance(ref, str) and 0 < len(ref) <= 128 and ref.isprintable()):
        raise InvalidInput("ref must be 1..128 printable characters", field="ref")
    recorded_by = recorded_by or owner
    with db.engine.begin() as conn:
        if recorded_by != owner:
            b = t.bookings
            held = conn.execute(select(b.c.booking_id).where(b.c.org_id == owner, b.c.operator_org_id == recorded_by,
                                                             b.c.warehouse == warehouse).limit(1)).first()
            if held is None:
                raise NotFound(f"no client '{owner}' with bookings at {warehouse}", field="org")
        old = conn.execute(select(t.movements).where(t.movements.c.org_id == owner, t.movements.c.source == source,
                                                     t.movements.c.ref == ref)).mappings().first()
        if old is not None:
            return _movement(old)
        offer_id, booking_id = _draw(conn, owner, warehouse, day, m3) if direction == "in" else (None, None)
        if direction == "out":
            offer_id = _out_offer(conn, owner, warehouse, day)
        mv = Movement(new_id("mov"), owner, warehouse, offer_id, booking_id, day, direction, float(m3), source, ref)
        try:
            with conn.begin_nested():
                conn.execute(t.movements.insert().values(
                    movement_id=mv.movement_id, org_id=owner, warehouse=warehouse, offer_id=offer_id,
                    booking_id=booking_id, day=day, direction=direction, m3=float(m3), source=source, ref=ref,
                    recorded_by=recorded_by, created_ms=now_ms()))
        except IntegrityError:
            old = conn.execute(select(t.movements).where(t.movements.c.org_id == owner, t.movements.c.source == source,
                                                         t.movements.c.ref == ref)).mappings().one()
            return _movement(old)
        record(conn, actor, "movement", mv.movement_id, "record", mv.to_dict(), owner_org=owner,
               operator_org=_operator(conn, offer_id))
    return mv


def _operator(conn, offer_id: str | None) -> str | None:
    if offer_id is None:
        return None
    return conn.execute(select(t.offers.c.org_id).where(t.offers.c.offer_id == offer_id)).scalar_one_or_none()


def _out_offer(conn, owner: str, warehouse: str, day: date) -> str | None:
    """The offer an outbound movement leaves from: the one the owner's latest inbound there went into."""
    mv = t.movements
    return conn.execute(select(mv.c.offer_id).where(mv.c.org_id == owner, mv.c.warehouse == warehouse,
                                                    mv.c.direction == "in", mv.c.day <= day, mv.c.offer_id.is_not(None))
                        .order_by(mv.c.day.desc()).limit(1)).scalar_one_or_none()


def draw_from_plan(db: Database, net: Network, owner: str, plan: dict[str, Any], plan_ref: str,
                   actor: Actor) -> list[Movement]:
    """Inbound movements for a batch plan's arrivals at overseas warehouses: one per warehouse and day, its m³
    the plan's ``capacity_use`` of that warehouse's inbound day (``plan``: the plan's JSON, as
    ``cbec plan --json`` and the plan job's result give it)."""
    out = []
    for i, use in enumerate(plan.get("capacity_use") or []):
        if use.get("unit") != "inbound_m3" or not use.get("used"):
            continue
        warehouse, _, day = str(use.get("departure", "")).partition("@")
        try:
            d = date.fromisoformat(day)
        except ValueError:
            raise InvalidInput(f"capacity_use[{i}].departure: expected WAREHOUSE@YYYY-MM-DD", field=f"capacity_use.{i}") from None
        out.append(record_movement(db, net, owner, warehouse, d, "in", float(use["used"]), "plan",
                                   f"{plan_ref}:{warehouse}@{d}", actor))
    return out


def draw_from_shipment(db: Database, net: Network, owner: str, shipment_id: str, m3: float, actor: Actor) -> Movement:
    """The inbound movement of a tracked shipment arriving at an overseas warehouse: on the day it arrived
    (its last milestone's actual arrival), else its ETA's day."""
    s = get_shipment(db, shipment_id, org=owner)
    node = net.nodes.get(s.destination)
    if node is None or node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
        raise InvalidInput(f"shipment {shipment_id} ends at {s.destination}, not at an overseas warehouse",
                           field="shipment")
    last = s.milestones[-1] if s.milestones else {}
    arrived = last.get("actual_arrive")
    ms = arrived or s.eta_p50_ms or s.created_ms
    day = datetime.fromtimestamp(ms / 1000, UTC).date()
    return record_movement(db, net, owner, s.destination, day, "in", m3, "shipment", shipment_id, actor)


def movements(db: Database, *, org: str | None, warehouse: str | None = None, start: date | None = None,
              end: date | None = None, offer_id: str | None = None) -> list[Movement]:
    """Movements ``org`` owns or that sit in its offers' space (None: every one), by day."""
    mv = t.movements
    q = select(mv)
    if org is not None:
        q = q.where(or_(mv.c.org_id == org, mv.c.offer_id.in_(select(t.offers.c.offer_id).where(t.offers.c.org_id == org))))
    if warehouse is not None:
        q = q.where(mv.c.warehouse == warehouse)
    if offer_id is not None:
        q = q.where(mv.c.offer_id == offer_id)
    if end is not None:
        q = q.where(mv.c.day <= end)
    if start is not None:
        q = q.where(mv.c.day >= start)
    with db.engine.connect() as conn:
        return [_movement(r) for r in conn.execute(q.order_by(mv.c.day, mv.c.created_ms)).mappings()]


@dataclass(frozen=True, slots=True)
class DailyUse:
    """One owner's use of one offer on one day: stock held (m³, end of day) and inbound m³."""

    stock_m3: float
    inbound_m3: float


def daily_use(db: Database, start: date, end: date, *, offer_ids: list[str] | None = None,
              owner: str | None = None) -> dict[tuple[str, str, date], DailyUse]:
    """(owner, offer, day) -> use over ``start..end``; the stock balance counts every movement before too."""
    mv = t.movements
    q = select(mv).where(mv.c.offer_id.is_not(None), mv.c.day <= end)
    if offer_ids is not None:
        q = q.where(mv.c.offer_id.in_(offer_ids))
    if owner is not None:
        q = q.where(mv.c.org_id == owner)
    with db.engine.connect() as conn:
        rows = [_movement(r) for r in conn.execute(q.order_by(mv.c.day)).mappings()]
    by_pair: dict[tuple[str, str], list[Movement]] = defaultdict(list)
    for m in rows:
        by_pair[(m.org_id, m.offer_id)].append(m)  # type: ignore[index]
    out: dict[tuple[str, str, date], DailyUse] = {}
    for (o, off), ms in by_pair.items():
        balance = sum(m.m3 if m.direction == "in" else -m.m3 for m in ms if m.day < start)
        per_day_in: dict[date, float] = defaultdict(float)
        per_day_net: dict[date, float] = defaultdict(float)
        for m in ms:
            if m.day >= start:
                per_day_net[m.day] += m.m3 if m.direction == "in" else -m.m3
                if m.direction == "in":
                    per_day_in[m.day] += m.m3
        for d in days(start, end):
            balance += per_day_net.get(d, 0.0)
            if balance > 1e-9 or per_day_in.get(d):
                out[(o, off, d)] = DailyUse(max(balance, 0.0), per_day_in.get(d, 0.0))
    return out


def reconcile(db: Database, net: Network, warehouse: str, start: date, end: date, *, org: str | None) -> dict[str, Any]:
    """Bookings against use at one warehouse over ``start..end``: per owner and offer, each day where the
    stock or inbound m³ exceeds what is booked (overuse), inbound with no booking (unbooked), and the
    warehouse's occupancy from its sensors against the stock recorded for every tenant there.

    ``org``: an exporter sees its own lines, an operator the lines of its offers (None: all)."""
    _check_warehouse(net, warehouse)
    b = t.bookings
    with db.engine.connect() as conn:
        q = select(b).where(b.c.warehouse == warehouse, b.c.status == "confirmed", b.c.start_day <= end,
                            b.c.end_day >= start)
        if org is not None:
            q = q.where(or_(b.c.org_id == org, b.c.operator_org_id == org))
        books = [to_booking(r) for r in conn.execute(q).mappings()]
        offers = {r.offer_id: r for r in conn.execute(select(t.offers).where(t.offers.c.warehouse == warehouse))}
    visible_offers = [o for o, r in offers.items() if org is None or r.org_id == org]
    use = daily_use(db, start, end, offer_ids=list(offers))
    booked: dict[tuple[str, str, str, date], float] = defaultdict(float)
    for bk in books:
        for d in days(max(bk.start_day, start), min(bk.end_day, end)):
            per_unit = PALLET_POSITION_M3 if bk.kind == "storage" and offers[bk.offer_id].storage_unit == "pallet" else 1.0
            booked[(bk.org_id, bk.offer_id, bk.kind, d)] += bk.quantity * per_unit
    flags = []
    for (owner, off, d), u in sorted(use.items()):
        if org is not None and owner != org and off not in visible_offers:
            continue
        for kind, used in (("storage", u.stock_m3), ("inbound", u.inbound_m3)):
            have = booked.get((owner, off, kind, d), 0.0)
            if used > have + 1e-6:
                flags.append({"org": owner, "offer": off, "day": d.isoformat(), "kind": kind, "used_m3": round(used, 3),
                              "booked_m3": round(have, 3), "overuse_m3": round(used - have, 3)})
    unbooked = [m.to_dict() for m in movements(db, org=org, warehouse=warehouse, start=start, end=end)
                if m.offer_id is None and m.direction == "in"]
    status = warehouse_status(db, net, warehouse, zone_wide=True)[0]["capacity"]
    today_stock = sum(u.stock_m3 for (o, off, d), u in use.items() if d == end)
    sensor_m3 = None if status["occupied_positions"] is None else round(status["occupied_positions"] * PALLET_POSITION_M3, 1)
    return {"warehouse": warehouse, "start": start.isoformat(), "end": end.isoformat(), "overuse": flags,
            "unbooked_inbound": unbooked,
            "occupancy": {"sensors_m3": sensor_m3, "recorded_stock_m3": round(today_stock, 3),
                          "difference_m3": None if sensor_m3 is None else round(sensor_m3 - today_stock, 1),
                          "source": status["source"]}}

