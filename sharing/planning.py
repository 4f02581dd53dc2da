"""Batch plans on shared-warehouse bookings: the inbound m³ a plan may send to each warehouse on each day is
what the exporter booked there, else what the open offers it may book still have free (it can book that),
else the warehouse dock's own figure (a warehouse nobody offers through the platform)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from optimizer.network import Network
from optimizer.planning.candidates import CandidateGenerator, PlanSettings
from optimizer.planning.planner import Plan, plan
from optimizer.planning.shipments import Shipment
from sharing import tables as t
from sharing.model import days
from sharing.offers import day_use, list_offers
from sharing.store import to_booking
from storage.db import Database


def inbound_capacity(db: Database, org: str, start: date, end: date) -> dict[str, dict[str, float]]:
    """warehouse -> ISO day -> inbound m³ ``org`` may send there over ``start..end`` (see the module doc)."""
    b = t.bookings
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    offers, _ = list_offers(db, org=org, limit=10_000)
    with db.engine.connect() as conn:  # one connection at a time (SQLite: a connection holds the write lock)
        for r in conn.execute(select(b).where(b.c.org_id == org, b.c.kind == "inbound", b.c.status == "confirmed",
                                              b.c.start_day <= end, b.c.end_day >= start)).mappings():
            bk = to_booking(r)
            for d in days(max(bk.start_day, start), min(bk.end_day, end)):
                out[bk.warehouse][d.isoformat()] += bk.quantity
        booked = set(out)
        for o in offers:
            if o.warehouse in booked or o.org_id == org or o.inbound_m3_per_day <= 0:
                continue
            lo, hi = max(o.start_day, start), min(o.end_day, end)
            if hi < lo:
                out.setdefault(o.warehouse, defaultdict(float))
                continue
            for u in day_use(conn, o, "inbound", lo, hi):
                out[o.warehouse][u.day.isoformat()] += u.free
    return {w: dict(d) for w, d in out.items()}


LATE_DAYS = 90  # arrivals a plan may still make after the last due day (late, with the lateness penalty)


def plan_inbound(db: Database, org: str, shipments: Sequence[Shipment], horizon_days: int) -> dict[str, dict[str, float]]:
    """:func:`inbound_capacity` over the days a plan of ``shipments`` can reach a warehouse: from the first
    ready day to the last due day + ``horizon_days`` + ``LATE_DAYS`` (what ``POST /v1/plans`` passes its job)."""
    if not shipments:
        return {}
    start = min(s.ready for s in shipments).date()
    end = date.fromordinal(max(s.due for s in shipments).date().toordinal() + horizon_days + LATE_DAYS)
    return inbound_capacity(db, org, start, end)


def plan_on_bookings(db: Database, net: Network, org: str, shipments: Sequence[Shipment],
                     settings: PlanSettings | None = None) -> Plan:
    """Plan ``shipments`` with the warehouses' inbound capacity from ``org``'s bookings and the open offers."""
    settings = settings or PlanSettings()
    if not shipments:
        return plan(net, shipments, settings)
    gen = CandidateGenerator(net, settings, inbound=plan_inbound(db, org, shipments, settings.horizon_days))
    return plan(net, shipments, settings, generator=gen)
