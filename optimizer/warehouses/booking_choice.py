"""Which shared-warehouse offers to book: the cheapest set of offers that holds exporters' expected demand
per market at a target fill rate, and the saving against booking the nearest warehouse.

Built from the existing optimisers:

* **stock** (:func:`optimizer.warehouses.stock.stock_policy`): for each demand line (exporter x market x
  family) and each candidate offer, the base-stock policy meeting ``fill_rate`` with the lead time of the
  inbound route to the offer's warehouse; the space to book is its peak on-hand stock (safety stock + one
  review period of demand), and the inbound slot its mean m³/day;
* **design** (:func:`optimizer.warehouses.design.inbound_lane`, ``delivery_days``): the inbound route's cost,
  CO2e and lead time, the last-mile road cost and the service level, as in the network design;
* **facility location** (:func:`optimizer.warehouses.facility.solve_design`, SCIP): single-sourcing
  assignment of demand lines to offers under each offer's free capacity (throughput m³/day: the lesser of
  its free inbound m³/day and its free storage over the longest cover any line needs there).

Monthly cost of a line at an offer = demand x 30.4 days x (inbound route per m³ + handling + last mile +
the offer's inbound price) + the space booked x the offer's storage price x 30.4. The baseline is what
an exporter does without the optimiser: line after line (in the order given), book the offer at the
warehouse nearest the market (road km) that serves it and still has room, else the next nearest;
``saving`` is baseline minus the recommendation (none when the baseline finds no room for some line). Several exporters are solved jointly (they compete for
the same offers); each sees its own lines.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from optimizer.errors import InvalidInput, NoRoute
from optimizer.network import Network
from optimizer.warehouses.design import DemandRow, DesignSettings, Lane, delivery_days, inbound_lane
from optimizer.warehouses.facility import DesignOptions, FacilityProblem, solve_design
from optimizer.warehouses.stock import StockInput, stock_policy


@dataclass(frozen=True, slots=True)
class OfferCapacity:
    """An offer as the optimiser sees it: free space over the horizon and its prices, in m³."""

    offer_id: str
    warehouse: str
    storage_m3: float  # free storage every day of the horizon
    inbound_m3_per_day: float  # free inbound handling
    price_storage_m3_day: float
    price_inbound_m3: float
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class DemandLine:
    """One exporter's expected demand in one market for one product family (the stock-positioning input)."""

    exporter: str
    row: DemandRow

    @property
    def key(self) -> str:
        return f"{self.exporter}:{self.row.key}"


@dataclass(frozen=True, slots=True)
class LineChoice:
    exporter: str
    market: str
    family: str
    offer: str
    warehouse: str
    storage_m3: float
    inbound_m3_per_day: float
    fill_rate: float
    monthly_cost: float
    nearest_offer: str | None
    nearest_cost: float | None


@dataclass(frozen=True, slots=True)
class OfferBooking:
    """What to book on one offer: space, inbound slot, and what it costs a month."""

    offer: str
    warehouse: str
    storage_m3: float
    inbound_m3_per_day: float
    monthly_cost: float
    exporters: tuple[str, ...]


@dataclass
class BookingChoice:
    status: str
    lines: list[LineChoice]
    bookings: list[OfferBooking]
    total_monthly: float
    nearest_monthly: float
    nearest_unplaced: list[str]  # lines the nearest-first baseline found no room for
    fill_rate: float
    solve_seconds: float
    solver: str
    currency: str
    notes: list[str] = field(default_factory=list)
    unserved: list[str] = field(default_factory=list)  # lines no open offer can serve (left out)

    @property
    def saving(self) -> float | None:
        """Baseline minus the recommendation; None when the baseline found no room for some line (it is then
        no plan at all, and ``nearest_unplaced`` says which lines)."""
        return None if self.nearest_unplaced else self.nearest_monthly - self.total_monthly

    def to_dict(self, exporter: str | None = None) -> dict:
        lines = [ln for ln in self.lines if exporter is None or ln.exporter == exporter]
        offers = {ln.offer for ln in lines}
        own_total = sum(ln.monthly_cost for ln in lines)
        own_nearest = sum(ln.nearest_cost or 0.0 for ln in lines)
        comparable = all(ln.nearest_cost is not None for ln in lines)  # the baseline placed every line
        return {
            "status": self.status, "fill_rate": self.fill_rate, "currency": self.currency,
            "book": [{"offer": b.offer, "warehouse": b.warehouse, "storage_m3": b.storage_m3,
                      "inbound_m3_per_day": b.inbound_m3_per_day, "monthly_cost": b.monthly_cost}
                     for b in _per_offer(lines) if b.offer in offers],
            "lines": [{k: getattr(ln, k) for k in ln.__slots__} for ln in lines],
            "monthly_cost": round(own_total, 2),
            "nearest": {"monthly_cost": round(own_nearest, 2),
                        "unplaced": [f"{ln.exporter}:{ln.market}/{ln.family}" for ln in lines if ln.nearest_cost is None],
                        "method": "line after line, the offer nearest the market (road km) that still has room"},
            "saving": round(own_nearest - own_total, 2) if comparable else None,
            "saving_pct": (round(100.0 * (own_nearest - own_total) / own_nearest, 2) if own_nearest > 0 else 0.0)
            if comparable else None,
            "unserved": [u for u in self.unserved if exporter is None or u.startswith(exporter + ":")],
            "solve_seconds": round(self.solve_seconds, 3), "solver": self.solver, "notes": self.notes,
        }


def _per_offer(lines: list[LineChoice]) -> list[OfferBooking]:
    acc: dict[str, list[LineChoice]] = {}
    for ln in lines:
        acc.setdefault(ln.offer, []).append(ln)
    return [OfferBooking(o, ls[0].warehouse, round(sum(x.storage_m3 for x in ls), 2),
                         round(sum(x.inbound_m3_per_day for x in ls), 3), round(sum(x.monthly_cost for x in ls), 2),
                         tuple(sorted({x.exporter for x in ls}))) for o, ls in sorted(acc.items())]


def recommend_offers(net: Network, demand: list[DemandLine], offers: list[OfferCapacity], *, fill_rate: float = 0.95,
                     review_days: float = 7.0, settings: DesignSettings | None = None,
                     time_limit: float = 30.0, lanes: dict[tuple[str, float], Lane | None] | None = None) -> BookingChoice:
    """The cheapest feasible set of offers to book for ``demand`` (see the module doc). ``lanes``: a cache of
    inbound routes by (warehouse, kg/m³), shared between calls. Lines no offer can serve are left out and
    listed (``unserved``); NoRoute when that is every line; InvalidInput when the offers cannot hold the demand."""
    if not demand:
        raise InvalidInput("no demand lines", field="demand")
    if not offers:
        raise NoRoute("no open offer to book", field="offers")
    s = settings or DesignSettings()
    lanes = {} if lanes is None else lanes
    month = s.days_per_month
    m, n = len(offers), len(demand)
    cost = np.full((m, n), np.inf)
    peak = np.zeros((m, n))
    fills = np.zeros((m, n))
    km = np.full((m, n), np.inf)
    for i, o in enumerate(offers):
        w = net.node(o.warehouse, "warehouse")
        for j, line in enumerate(demand):
            row = line.row
            if row.market not in w.serves_markets:
                continue
            dist, ddays = delivery_days(net, w.id, row.market, s)
            limit = row.max_days if row.max_days is not None else s.max_days
            if limit is not None and ddays > limit:
                continue
            lk = (w.id, row.kg_per_m3)
            if lk not in lanes:
                lanes[lk] = inbound_lane(net, w.id, row.family, row.kg_per_m3, s)
            lane = lanes[lk]
            if lane is None:
                continue
            pol = stock_policy(StockInput(w.id, row.family, row.mean_m3_day, row.sd_m3_day ** 2, lane.p50_days,
                                          lane.p90_days, 0.0, o.price_storage_m3_day, lane.route),
                               fill_rate, "base-stock", review_days)
            space = pol.safety_stock + row.mean_m3_day * review_days
            t_per_m3 = row.kg_per_m3 / 1000.0
            per_m3 = lane.cost_per_m3 + w.handling_cost_per_t * t_per_m3 + dist * s.last_mile_usd_m3_km + o.price_inbound_m3
            cost[i, j] = row.mean_m3_day * month * per_m3 + space * o.price_storage_m3_day * month
            peak[i, j], fills[i, j], km[i, j] = space, pol.expected_fill_rate, dist
    served = [j for j in range(n) if np.isfinite(cost[:, j]).any()]
    unserved = [demand[j].key for j in range(n) if j not in set(served)]
    if not served:
        raise NoRoute(f"no open offer is at a warehouse serving any of the markets ({', '.join(sorted({ln.row.market for ln in demand}))}) "
                      "within the service level", field="demand")
    demand = [demand[j] for j in served]
    cost, peak, fills, km = cost[:, served], peak[:, served], fills[:, served], km[:, served]
    n = len(demand)
    mean = np.array([ln.row.mean_m3_day for ln in demand])
    caps = np.zeros(m)
    for i, o in enumerate(offers):
        ok = np.isfinite(cost[i])
        cover = float((peak[i, ok] / mean[ok]).max()) if ok.any() else 1.0
        caps[i] = max(0.0, min(o.inbound_m3_per_day, o.storage_m3 / cover))
    problem = FacilityProblem(name="offers", sites=tuple(o.offer_id for o in offers),
                              customers=tuple(ln.key for ln in demand), capacity=caps, fixed_cost=np.zeros(m),
                              demand=mean, cost=cost, units="USD/month, m³/day")
    t0 = time.perf_counter()
    try:
        result = solve_design(problem, DesignOptions(single_sourcing=True, time_limit=time_limit))
    except (InvalidInput, NoRoute) as exc:
        raise InvalidInput(f"the open offers' free space cannot hold this demand at a {fill_rate:.1%} fill rate: "
                           f"{exc.detail}", field="demand") from None
    took = time.perf_counter() - t0
    if result.status not in ("optimal", "feasible"):
        raise InvalidInput(f"the open offers cannot hold this demand at a {fill_rate:.1%} fill rate "
                           f"(solver status {result.status})", field="demand")
    index = {o.offer_id: i for i, o in enumerate(offers)}
    lines: list[LineChoice] = []
    near = nearest_first(cost, km, mean, caps)
    for j, line in enumerate(demand):
        site = max(result.assignment[line.key].items(), key=lambda kv: kv[1])[0]
        i = index[site]
        k = near[j]
        lines.append(LineChoice(line.exporter, line.row.market, line.row.family, site, offers[i].warehouse,
                                round(float(peak[i, j]), 2), round(float(mean[j]), 3), round(float(fills[i, j]), 4),
                                round(float(cost[i, j]), 2), None if k is None else offers[k].offer_id,
                                None if k is None else round(float(cost[k, j]), 2)))
    unplaced = [demand[j].key for j in range(n) if near[j] is None]
    notes = []
    if unserved:
        notes.append(f"{len(unserved)} line(s) have no open offer at a warehouse serving their market: " + ", ".join(unserved))
    if unplaced:
        notes.append(f"booking the nearest offers first leaves {len(unplaced)} line(s) without room; the recommendation "
                     "places every line")
    return BookingChoice(result.status, lines, _per_offer(lines), round(sum(ln.monthly_cost for ln in lines), 2),
                         round(sum(ln.nearest_cost or 0.0 for ln in lines), 2), unplaced, fill_rate, took,
                         result.solver, offers[0].currency, notes, unserved)


def nearest_first(cost: np.ndarray, km: np.ndarray, mean: np.ndarray, caps: np.ndarray) -> list[int | None]:
    """The baseline: for each line in order, the nearest allowed offer (road km to the market) with room left
    for its demand (throughput m³/day), else None."""
    left = caps.astype(float).copy()
    out: list[int | None] = []
    for j in range(cost.shape[1]):
        order = [i for i in np.argsort(km[:, j], kind="stable") if np.isfinite(cost[i, j])]
        pick = next((int(i) for i in order if left[i] >= mean[j] - 1e-9), None)
        if pick is not None:
            left[pick] -= mean[j]
        out.append(pick)
    return out


def price_per_m3_day(price_per_unit_day: float, m3_per_unit: float) -> float:
    return price_per_unit_day / m3_per_unit if m3_per_unit > 0 else math.inf
