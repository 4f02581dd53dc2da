"""Monthly settlement of shared-warehouse capacity per pair of organisations (booker, operator).

Per offer, for the days of the month: booked storage (unit-days of confirmed bookings), used storage
(the booker's stock there, m³-days, from its movements), overuse (days where use exceeded the booking),
booked and used inbound m³, and fees (cancellations and reductions within the notice, counted in the
month the booking starts). What is charged follows the offer's terms: a share ``s`` on the booked
quantities (1 for ``booked``, 0 for ``used``, ``booked_share`` for ``split``), the rest on what was used,
and use beyond the booking on top of the booked part:

    billable = s x booked + (1 - s) x used + s x overuse        (storage unit-days; inbound m³ the same)
    charge   = billable storage x price per unit-day + billable inbound x price per m³ + fees

Both parties get the same lines (one function computes them for the pair); the pilot-zone office sees the
totals between the parties' home cities only.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select

from accounts.store import list_orgs
from optimizer.errors import InvalidInput
from sharing import tables as t
from sharing.disclosure import MIN_ORGS, RULE, Cell, protect
from sharing.model import days
from sharing.profiles import cities, UNKNOWN_CITY
from sharing.store import to_booking, to_offer
from sharing.usage import daily_use
from storage.db import Database


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            y, m = (int(x) for x in str(text).split("-"))
            date(y, m, 1)
        except (ValueError, TypeError):
            raise InvalidInput(f"month must be YYYY-MM (got '{str(text)[:20]}')", field="month") from None
        return cls(y, m)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One offer's figures for one booker in the month (storage in the offer's unit and in m³)."""

    booker: str
    operator: str
    offer: str
    warehouse: str
    currency: str
    settle_on: str
    booked_share: float
    storage_unit: str
    booked_unit_days: float
    used_unit_days: float
    overuse_unit_days: float
    booked_m3_days: float
    used_m3_days: float
    booked_inbound_m3: float
    used_inbound_m3: float
    overuse_inbound_m3: float
    price_storage: float
    price_inbound: float
    storage_charge: float
    inbound_charge: float
    fees: float
    total: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _r(x: float, n: int = 3) -> float:
    return round(x + 0.0, n)


def settlement_lines(db: Database, month: Month, *, org: str | None = None) -> list[SettlementLine]:
    """Every line of the month where ``org`` is the booker or the operator (None: every line), by pair and offer."""
    first, last = month.first, month.last
    b = t.bookings
    q = select(b).where(b.c.start_day <= last, b.c.end_day >= first,
                        or_(b.c.status == "confirmed", (b.c.status == "cancelled") & (b.c.fee > 0)))
    if org is not None:
        q = q.where(or_(b.c.org_id == org, b.c.operator_org_id == org))
    with db.engine.connect() as conn:
        books = [to_booking(r) for r in conn.execute(q).mappings()]
        offers = {r["offer_id"]: to_offer(r) for r in conn.execute(select(t.offers)).mappings()}
    use = daily_use(db, first, last)
    booked = defaultdict(float)  # (booker, offer, kind, day) -> quantity (storage units / inbound m3)
    fees = defaultdict(float)
    pairs = set()
    for bk in books:
        if bk.offer_id not in offers:
            continue
        pairs.add((bk.org_id, bk.offer_id))
        if bk.start_day >= first:
            fees[(bk.org_id, bk.offer_id)] += bk.fee
        if bk.status != "confirmed":
            continue
        for d in days(max(bk.start_day, first), min(bk.end_day, last)):
            booked[(bk.org_id, bk.offer_id, bk.kind, d)] += bk.quantity
    for (owner, off, _d) in use:
        if off in offers and (org is None or org in (owner, offers[off].org_id)):
            pairs.add((owner, off))
    lines = []
    for owner, off in sorted(pairs, key=lambda p: (offers[p[1]].org_id, p[0], p[1])):
        o = offers[off]
        per_unit = o.m3_per_unit
        bs = bu = bo = ib = iu = io = 0.0
        for d in days(first, last):
            u = use.get((owner, off, d))
            s_used = (u.stock_m3 / per_unit) if u else 0.0
            i_used = u.inbound_m3 if u else 0.0
            s_booked = booked.get((owner, off, "storage", d), 0.0)
            i_booked = booked.get((owner, off, "inbound", d), 0.0)
            bs, bu, bo = bs + s_booked, bu + s_used, bo + max(0.0, s_used - s_booked)
            ib, iu, io = ib + i_booked, iu + i_used, io + max(0.0, i_used - i_booked)
        share = o.terms.share_on_booked
        storage_bill = share * bs + (1 - share) * bu + share * bo
        inbound_bill = share * ib + (1 - share) * iu + share * io
        sc, ic, fee = round(storage_bill * o.price_storage, 2), round(inbound_bill * o.price_inbound, 2), round(fees[(owner, off)], 2)
        lines.append(SettlementLine(owner, o.org_id, off, o.warehouse, o.currency, o.terms.settle_on, share,
                                    o.storage_unit, _r(bs), _r(bu), _r(bo), _r(bs * per_unit), _r(bu * per_unit),
                                    _r(ib), _r(iu), _r(io), o.price_storage, o.price_inbound, sc, ic, fee,
                                    round(sc + ic + fee, 2)))
    return lines


def _totals(lines: list[SettlementLine]) -> list[dict[str, Any]]:
    acc: dict[tuple[str, str, str], dict[str, float]] = {}
    for ln in lines:
        a = acc.setdefault((ln.booker, ln.operator, ln.currency), defaultdict(float))
        for f in ("booked_m3_days", "used_m3_days", "booked_inbound_m3", "used_inbound_m3", "storage_charge",
                  "inbound_charge", "fees", "total"):
            a[f] += getattr(ln, f)
    return [{"booker": b, "operator": o, "currency": c, **{k: round(v, 2) for k, v in a.items()}}
            for (b, o, c), a in sorted(acc.items())]


def settlement(db: Database, month: Month, *, org: str | None = None) -> dict[str, Any]:
    """The month's settlement as ``org`` sees it: every pair it is a party to, with lines and totals per
    pair and currency (None: every pair)."""
    lines = settlement_lines(db, month, org=org)
    names = {o.org_id: o.name for o in list_orgs(db)}
    home = cities(db)
    pairs = _totals(lines)
    for p in pairs:
        p["booker_name"], p["operator_name"] = names.get(p["booker"]), names.get(p["operator"])
        p["booker_city"], p["operator_city"] = home.get(p["booker"], UNKNOWN_CITY), home.get(p["operator"], UNKNOWN_CITY)
    return {"month": str(month), "org": org, "pairs": pairs, "lines": [ln.to_dict() for ln in lines],
            "method": "billable = s x booked + (1 - s) x used + s x overuse; s = 1 (booked), 0 (used), booked_share (split)"}


FLOW_FIGURES = ("booked_m3_days", "used_m3_days", "booked_inbound_m3", "used_inbound_m3", "total")


def between_cities(db: Database, month: Month) -> dict[str, Any]:
    """The office's view: totals between the booker's and the operator's home cities, per currency, with the
    totals per city and overall; no organisation is named, and a figure that could identify one (fewer than
    three organisations on its smaller side, or one that would let such a figure be worked out) is hidden
    (:mod:`sharing.disclosure`): its figures are null and ``suppressed`` says why."""
    home = cities(db)
    flows: dict[tuple[str, str, str], Cell] = {}
    for p in _totals(settlement_lines(db, month)):
        key = (home.get(p["booker"], UNKNOWN_CITY), home.get(p["operator"], UNKNOWN_CITY), p["currency"])
        c = flows.setdefault(key, Cell())
        c.bookers.add(p["booker"])
        c.operators.add(p["operator"])
        c.figures["pairs"] += 1
        for k in FLOW_FIGURES:
            c.figures[k] += p[k]
    prot = protect(flows)

    def row(key) -> dict[str, Any]:
        level, b, o, cur = key
        c, why = prot.cells[key], prot.hidden.get(key)
        figs = {k: (None if why else round(c.figures[k], 2)) for k in FLOW_FIGURES}
        return {"booker_city": b, "operator_city": o, "currency": cur, "suppressed": why,
                "pairs": None if why else int(c.figures["pairs"]), **figs}

    order = {"flow": 0, "booker": 1, "operator": 2, "all": 3}
    keys = sorted(prot.cells, key=lambda k: (order[k[0]], *(x or "" for x in k[1:])))
    return {"month": str(month), "rule": RULE, "min_organisations": MIN_ORGS,
            "flows": [row(k) for k in keys if k[0] == "flow"],
            "totals": [{"by": k[0], **row(k)} for k in keys if k[0] != "flow"],
            "suppressed": sum(1 for k in prot.hidden if k[0] == "flow")}
