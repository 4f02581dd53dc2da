"""Expected demand per market from an organisation's own e-commerce orders: what the shared-warehouse
recommendation reads when no demand is given (before, it fell back on the bundled sample at once).

Over the ``days`` days before the period to plan, the organisation's 9610 orders (parcels a stocked overseas
warehouse would replace) and 9810 orders (stock already sold through overseas warehouses) give, per
destination market and goods family, the daily volume shipped: its mean and standard deviation (days without
orders count as zero), the inputs of the stock-positioning model. 9710 (B2B freight to businesses) and 1210
(bonded) orders are left out: they do not go through an overseas warehouse's stock.

* Weight of an order: its waybills' gross weight, else the declared net weight of its goods; an order with
  neither is counted as ``without_weight`` and left out.
* Family: ``electronics`` when the order's largest line by value is of HS chapter 84, 85 or 90 (machines,
  electrical and optical goods), else ``home_goods``; volume at the bundled study's densities (180 and
  120 kg/m³, marked [A] in ``data/samples/warehouse_demand.csv``).
* Market: the network's market nodes in the destination country; a country with several (Germany: Duisburg,
  Hamburg, Nuremberg) has its demand split evenly between them, and the answer says so. Orders to a country
  with no market node are counted in ``countries_without_market``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.model import NodeKind
from optimizer.warehouses.design import DemandRow, demand_rows, parse_demand
from storage.db import Database
from trade import tables as t

WAREHOUSE_MODES = ("9610", "9810")
ELECTRONICS_CHAPTERS = frozenset({"84", "85", "90"})
DENSITY_KG_PER_M3 = {"electronics": 180.0, "home_goods": 120.0}
DEFAULT_LOOKBACK_DAYS = 90
MIN_LOOKBACK_DAYS, MAX_LOOKBACK_DAYS = 7, 366  # a week of orders says little; a year covers every season
DAY_MS = 86_400_000


@dataclass(frozen=True)
class ExpectedDemand:
    """Demand rows for the recommendation and where they came from (``rows`` None: the bundled sample)."""

    rows: list[DemandRow] | None
    source: dict[str, Any]


def family_of(hs_chapter: str) -> str:
    """The goods family of an HS chapter (two digits)."""
    return "electronics" if hs_chapter in ELECTRONICS_CHAPTERS else "home_goods"


def markets_by_country(net: Network) -> dict[str, list[str]]:
    """The network's market nodes per ISO country code, in id order."""
    out: dict[str, list[str]] = defaultdict(list)
    for node in net.nodes.values():
        if node.kind is NodeKind.MARKET:
            out[node.country].append(node.id)
    return {c: sorted(ids) for c, ids in out.items()}


def _window(until: date, days: int) -> tuple[date, int, int]:
    start = until - timedelta(days=days)
    start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
    return start, start_ms, start_ms + days * DAY_MS


def orders_demand(db: Database, net: Network, org_id: str, until: date,
                  days: int = DEFAULT_LOOKBACK_DAYS) -> ExpectedDemand:
    """Demand per market and family from ``org_id``'s 9610/9810 orders in the ``days`` days before ``until``
    (UTC days); ``rows`` None when there is none to go on (``source`` says why)."""
    if not MIN_LOOKBACK_DAYS <= days <= MAX_LOOKBACK_DAYS:
        raise InvalidInput(f"must be {MIN_LOOKBACK_DAYS} to {MAX_LOOKBACK_DAYS} days (got {days})",
                           field="lookback_days")
    start, lo, hi = _window(until, days)
    o = t.orders
    scope = and_(o.c.org_id == org_id, o.c.customs_mode.in_(WAREHOUSE_MODES), o.c.ordered_ms >= lo, o.c.ordered_ms < hi)
    w, ln = t.waybills, t.order_lines
    with db.engine.connect() as conn:
        orders = conn.execute(select(o.c.order_no, o.c.destination_country, o.c.ordered_ms, o.c.net_weight_kg)
                              .where(scope)).all()
        gross = dict(conn.execute(select(w.c.order_no, func.sum(w.c.gross_weight_kg))
                                  .join(o, and_(o.c.org_id == w.c.org_id, o.c.order_no == w.c.order_no))
                                  .where(scope).group_by(w.c.order_no)).all())
        top: dict[str, tuple[float, str]] = {}  # order -> (value, chapter) of its largest line
        for no, chapter, value in conn.execute(select(ln.c.order_no, ln.c.hs_chapter, ln.c.value)
                                               .join(o, and_(o.c.org_id == ln.c.org_id, o.c.order_no == ln.c.order_no))
                                               .where(scope)):
            if no not in top or value > top[no][0]:
                top[no] = (value, chapter)
    markets = markets_by_country(net)
    daily: dict[tuple[str, str], list[float]] = {}
    used, without_weight = 0, 0
    unserved: dict[str, int] = defaultdict(int)
    for no, country, ordered_ms, net_kg in orders:
        kg = gross.get(no) or net_kg
        if not kg:
            without_weight += 1
            continue
        if country not in markets:
            unserved[country] += 1
            continue
        family = family_of(top[no][1]) if no in top else "home_goods"
        series = daily.setdefault((country, family), [0.0] * days)
        series[(ordered_ms - lo) // DAY_MS] += kg / DENSITY_KG_PER_M3[family]
        used += 1
    source: dict[str, Any] = {
        "kind": "orders", "from": start.isoformat(), "to": (until - timedelta(days=1)).isoformat(), "days": days,
        "customs_modes": list(WAREHOUSE_MODES), "orders": used, "without_weight": without_weight,
        "countries_without_market": dict(sorted(unserved.items())), "split": {},
        "kg_per_m3": DENSITY_KG_PER_M3}
    if not daily:
        return ExpectedDemand(None, {**source, "kind": "sample", "reason": (
            f"no 9610/9810 order with a weight to a market of the network from {start} to {until - timedelta(days=1)}: "
            "the bundled sample demand is used")})
    records = []
    for (country, family), series in sorted(daily.items()):
        mean, sd = statistics.fmean(series), statistics.pstdev(series)  # days without orders are zeros
        share = markets[country]
        if len(share) > 1:
            source["split"][country] = share
        for market in share:  # an even split scales every day's volume, so the deviation too
            records.append({"market": market, "family": family, "mean_m3_day": round(mean / len(share), 6),
                            "sd_m3_day": round(sd / len(share), 6), "kg_per_m3": DENSITY_KG_PER_M3[family]})
    rows = parse_demand([r for r in records if r["mean_m3_day"] > 0], net, "orders")
    return ExpectedDemand(rows, source)


def expected_demand(db: Database, net: Network, org_id: str, until: date, given: list[dict] | None = None,
                    days: int = DEFAULT_LOOKBACK_DAYS) -> ExpectedDemand:
    """The demand to plan for: ``given`` rows when there are any, else the organisation's own orders
    (:func:`orders_demand`), else the bundled sample."""
    if given is not None:
        return ExpectedDemand(demand_rows(net, given), {"kind": "given", "rows": len(given)})
    return orders_demand(db, net, org_id, until, days)
