"""The space already held on each departure (service, local departure date), for capacity-aware quotes.

Three holders, summed per (service, departure date) into :class:`~optimizer.network.model.HeldSpace`
records, the engine's held-capacity input (``QuoteRequest.held``):

- **plans**: each organisation's latest succeeded plan job (``jobs`` kind ``plan``): its
  ``capacity_use`` (kg, m³ and TEU used per departure). Earlier plans of the same organisation are
  superseded by the latest one and hold nothing;
- **followed shipments**: ``iot_shipments`` not yet delivered, each leg of its chosen option holding
  its chargeable kg and TEU on that departure (the option document carries no volume);
- **space bookings**: :func:`booking_holds`, the departures of saved quotes' options booked through
  :mod:`quotations.space` (``qt_space_bookings`` with status ``booked``): each part's weight, volume and
  TEU on each of its departures. (``sharing``'s bookings are of warehouse space and docks, not departures.)

The sum is computed at most every ``TTL_S`` seconds per database (then filtered to the request's window),
so a quote costs one dictionary look-up, not a scan of jobs and shipments.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from contextlib import nullcontext
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from iot_ingest.tables import shipments
from quotations.tables import space_bookings
from jobs.tables import jobs
from optimizer.network import Network
from optimizer.network.model import HeldSpace
from storage.db import Database

TTL_S = 30.0
UNITS = ("kg", "m3", "teu")
_cache: dict[tuple[str, int], tuple[float, dict[tuple[str, date], dict[str, float]]]] = {}
_lock = threading.Lock()


def local_day(net: Network, service_id: str, utc_text: str) -> date | None:
    """The departure's date at the service's origin from ``2026-12-01T10:00Z`` (or a local ISO time)."""
    svc = net.services.get(service_id)
    if svc is None:
        return None
    try:
        t = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        return t.date()
    return t.astimezone(ZoneInfo(net.nodes[svc.origin].tz)).date()


def _reading(db: Database, conn: Connection | None):
    """``conn`` itself (a caller's open transaction) or a new connection of ``db``."""
    return nullcontext(conn) if conn is not None else db.engine.connect()


def plan_holds(db: Database, net: Network, conn: Connection | None = None) -> list[HeldSpace]:
    """Space used by each organisation's latest succeeded plan (anonymous plans: the latest one too)."""
    latest: dict[str | None, tuple[int, str]] = {}
    with _reading(db, conn) as conn:
        for owner, finished, result in conn.execute(
                select(jobs.c.owner, jobs.c.finished_ms, jobs.c.result)
                .where(jobs.c.kind == "plan", jobs.c.status == "succeeded")):
            if result and (owner not in latest or (finished or 0) > latest[owner][0]):
                latest[owner] = (finished or 0, result)
    out: list[HeldSpace] = []
    for _, result in latest.values():
        try:
            uses = json.loads(result).get("capacity_use") or []
        except (ValueError, AttributeError):
            continue
        for u in uses:
            unit, dep = u.get("unit"), str(u.get("departure", ""))
            if unit not in UNITS or "@" not in dep:
                continue
            service, _, at = dep.partition("@")
            day = local_day(net, service, at)
            if day is not None:
                out.append(HeldSpace(service, day, **{unit: float(u.get("used") or 0.0)}))
    return out


def shipment_holds(db: Database, net: Network, conn: Connection | None = None) -> list[HeldSpace]:
    """Space held by followed shipments not yet delivered: chargeable kg and TEU per leg's departure."""
    out: list[HeldSpace] = []
    with _reading(db, conn) as conn:
        rows = conn.execute(select(shipments.c.option_json).where(shipments.c.status != "delivered")).all()
    for (text,) in rows:
        try:
            legs = json.loads(text).get("legs") or []
        except (ValueError, AttributeError):
            continue
        for leg in legs:
            service = leg.get("service")
            depart = str(leg.get("depart") or "")
            svc = net.services.get(service) if isinstance(service, str) else None
            if svc is None or svc.schedule.continuous or len(depart) < 10:
                continue
            try:
                day = date.fromisoformat(depart[:10])  # serialised in the origin's local time
            except ValueError:
                continue
            out.append(HeldSpace(service, day, kg=float(leg.get("chargeable_kg") or 0.0),
                                 teu=float(leg.get("teu") or 0.0)))
    return out


def booking_holds(db: Database, net: Network, conn: Connection | None = None) -> list[HeldSpace]:
    """Space held by booked options of saved quotes (:mod:`quotations.space`): per departure, as booked."""
    with _reading(db, conn) as conn:
        rows = conn.execute(select(space_bookings.c.holds).where(space_bookings.c.status == "booked")).all()
    out: list[HeldSpace] = []
    for (text,) in rows:
        for h in json.loads(text):
            if h["service"] in net.services:
                out.append(HeldSpace(h["service"], date.fromisoformat(h["depart_date"]), kg=float(h["kg"]),
                                     m3=float(h["m3"]), teu=float(h["teu"])))
    return out


def sum_holds(db: Database, net: Network, conn: Connection | None = None) -> dict[tuple[str, date], dict[str, float]]:
    """Every holder's space per (service, departure date), read now (no cache; in ``conn``'s transaction when
    given): what a booking checks against."""
    sums: dict[tuple[str, date], dict[str, float]] = defaultdict(lambda: dict.fromkeys(UNITS, 0.0))
    for h in plan_holds(db, net, conn) + shipment_holds(db, net, conn) + booking_holds(db, net, conn):
        s = sums[(h.service_id, h.depart_date)]
        s["kg"] += h.kg
        s["m3"] += h.m3
        s["teu"] += h.teu
    return dict(sums)


def _totals(db: Database, net: Network) -> dict[tuple[str, date], dict[str, float]]:
    key = (db.url, id(net))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < TTL_S:
            return hit[1]
    totals = sum_holds(db, net)
    with _lock:
        _cache[key] = (now, totals)
    return totals


def held_space(db: Database, net: Network, start: date, end: date) -> tuple[HeldSpace, ...]:
    """The space held per (service, departure date) on departures from ``start`` to ``end`` (inclusive)."""
    return tuple(HeldSpace(sid, day, round(v["kg"], 3), round(v["m3"], 3), round(v["teu"], 3))
                 for (sid, day), v in sorted(_totals(db, net).items()) if start <= day <= end)


def clear_cache() -> None:
    """Forget the cached sums (tests, or after a bulk change)."""
    with _lock:
        _cache.clear()
