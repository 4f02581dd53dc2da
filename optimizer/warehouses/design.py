"""The shared overseas warehouse network as a facility-location problem, and stock positioning on it.

Customers are (market, product family) pairs with a daily demand in m³ (mean and standard deviation,
``data/samples/warehouse_demand.csv``); candidates are the network's overseas warehouses. Costs are
per month (``days_per_month`` x daily demand):

* inbound linehaul Mianyang -> warehouse: the quote engine's option for a reference consolidation
  (``reference_m3`` of the family's density) with the lowest cost + carbon price x CO2e, per m³;
* storage: ``cover_days`` of stock per m³ of throughput at the warehouse's ``storage_cost_m3_day``;
* handling at the warehouse: its per-tonne handling cost;
* last mile warehouse -> market: road km (geodesic x ``net.circuity["road"]``) x ``last_mile_usd_m3_km``;
* carbon: ``carbon_price`` (USD per t CO2e) x (inbound CO2e + last-mile road CO2e, DESNZ HGV factor).

A warehouse may serve a market only if the market is in its ``serves_markets`` and the delivery time
(1 day handling + road km / ``km_per_day``, rounded up) is within the service level (``max_days``).
Capacity, in m³/day of throughput, is min(dock ``inbound_m3_per_day``, ``capacity_m3`` / ``cover_days``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from optimizer.errors import DataError, InvalidInput, NoRoute
from optimizer.network import Network
from optimizer.network.csvfile import read_csv_records
from optimizer.network.geo import route_km
from optimizer.network.model import NodeKind
from optimizer.network.progress import ProgressFn
from optimizer.quotes.limits import check_id, shown
from optimizer.quotes.quote import build_request, quote
from optimizer.settings import BUNDLED_DATA_DIR
from optimizer.warehouses.facility import (
    DesignOptions,
    FacilityProblem,
    FacilityResult,
    solve_design,
)
from optimizer.warehouses.limits import (
    CARBON_PRICE,
    KG_PER_M3,
    LABEL_PATTERN,
    MAX_DAYS,
    MAX_DEMAND_ROWS,
    MEAN_M3_DAY,
    SD_M3_DAY,
)
from optimizer.warehouses.stock import StockInput, StockPolicy, stock_policy

DEFAULT_DEMAND = BUNDLED_DATA_DIR / "samples" / "warehouse_demand.csv"


@dataclass(frozen=True)
class DemandRow:
    market: str
    family: str
    mean_m3_day: float
    sd_m3_day: float
    kg_per_m3: float
    max_days: float | None = None

    @property
    def key(self) -> str:
        return f"{self.market}/{self.family}"


@dataclass(frozen=True)
class DesignSettings:
    """Cost and service parameters of the bundled network study (figures marked [A] in the module doc)."""

    origin: str = "MY_CITY"
    ready: str = "2026-10-05"
    cover_days: float = 45.0
    days_per_month: float = 30.4
    reference_m3: float = 60.0
    last_mile_usd_m3_km: float = 0.08  # [A] palletised LTL in Europe/Asia, to confirm with carriers
    km_per_day: float = 540.0  # [A] 9 h driving at the EU HGV average of 60 km/h (parameters.yaml)
    carbon_price: float = 0.0  # USD per tonne CO2e
    max_days: float | None = None  # service level: max delivery days warehouse -> market
    include_planned: bool = False


@dataclass(frozen=True)
class SiteTerms:
    """Space and prices on offer at a warehouse (shared-warehouse offers), in place of the node's own figures."""

    storage_m3: float
    inbound_m3_per_day: float
    storage_price_m3_day: float
    inbound_price_m3: float = 0.0


@dataclass(frozen=True)
class Lane:
    """The inbound route chosen for a warehouse and family: cost and CO2e per m³, lead time."""

    warehouse: str
    family: str
    cost_per_m3: float
    co2e_kg_per_m3: float
    p50_days: float
    p90_days: float
    route: str


def load_demand(path: str | Path, net: Network) -> list[DemandRow]:
    """Read a demand CSV (market, family, mean_m3_day, sd_m3_day, kg_per_m3[, max_days]); DataError names the row.

    At most ``MAX_DEMAND_ROWS`` rows are read: a longer file is refused without reading the rest.
    """
    path = Path(path)
    records = read_csv_records(path, ["family", "kg_per_m3", "market", "mean_m3_day", "sd_m3_day"], MAX_DEMAND_ROWS,
                               "demand rows")
    return parse_demand(records, net, path.name, first_row=2)


_LABEL = re.compile(LABEL_PATTERN)
_ROW_RANGES = {"mean_m3_day": MEAN_M3_DAY, "sd_m3_day": SD_M3_DAY, "kg_per_m3": KG_PER_M3}


def parse_demand(records: list[dict], net: Network, name: str = "demand", first_row: int = 1) -> list[DemandRow]:
    """Validate demand records (dicts with the CSV columns); DataError names ``name``, the row and the field.

    Bounds (``optimizer.warehouses.limits``): at most MAX_DEMAND_ROWS rows, market a node id, family a
    short label, and each number within its range.
    """
    if len(records) > MAX_DEMAND_ROWS:
        raise DataError(name, None, None, f"more than {MAX_DEMAND_ROWS} demand rows")
    rows: list[DemandRow] = []
    seen = set()
    for n, rec in enumerate(records, start=first_row):
        if not isinstance(rec, dict):
            raise DataError(name, n, None, "expected a record with the demand columns")
        rec = {k: ("" if v is None else str(v)) for k, v in rec.items()}
        try:
            market = check_id(rec.get("market", ""), "market")
        except InvalidInput as exc:
            raise DataError(name, n, "market", exc.detail.removeprefix("market ")) from None
        if market not in net.nodes:
            raise DataError(name, n, "market", f"unknown node '{market}'")
        if net.nodes[market].kind is not NodeKind.MARKET:
            raise DataError(name, n, "market", f"'{market}' is a {net.nodes[market].kind.value}, not a market")
        family = rec.get("family", "").strip()
        if not family:
            raise DataError(name, n, "family", "empty")
        if not _LABEL.fullmatch(family):
            raise DataError(name, n, "family", f"must be 1-64 letters, digits, '_', '.', '-' or spaces (got '{shown(family)}')")
        vals = {}
        for f, bound in _ROW_RANGES.items():
            try:
                vals[f] = float(rec.get(f, ""))
            except ValueError:
                raise DataError(name, n, f, f"expected a number, got '{shown(rec.get(f, ''))}'") from None
            what = bound.problem(vals[f])
            if what is not None:
                raise DataError(name, n, f, f"{what} (got {shown(rec[f])})")
        max_days = None
        if rec.get("max_days", "").strip():
            try:
                max_days = float(rec["max_days"])
            except ValueError:
                raise DataError(name, n, "max_days", f"expected a number, got '{shown(rec['max_days'])}'") from None
            what = MAX_DAYS.problem(max_days)
            if what is not None:
                raise DataError(name, n, "max_days", f"{what} (got {shown(rec['max_days'])})")
        if (market, family) in seen:
            raise DataError(name, n, "family", f"{market}/{family} appears twice")
        seen.add((market, family))
        rows.append(DemandRow(market, family, vals["mean_m3_day"], vals["sd_m3_day"], vals["kg_per_m3"], max_days))
    if not rows:
        raise DataError(name, None, None, "no demand rows")
    return rows


def inbound_lane(net: Network, warehouse: str, family: str, kg_per_m3: float, s: DesignSettings) -> Lane | None:
    """The quote engine's best option (cost + carbon price x CO2e) for a reference consolidation, per m³."""
    req = build_request(net, s.origin, warehouse, kg_per_m3 * s.reference_m3, s.reference_m3, s.ready,
                        include_planned=s.include_planned)
    try:
        options = quote(net, req)
    except NoRoute:
        return None
    best = min(options, key=lambda o: o.cost_total + s.carbon_price * o.co2e_kg / 1000.0)
    legs = " > ".join([best.legs[0].origin] + [f"{leg.destination} ({leg.mode.value})" for leg in best.legs])
    return Lane(warehouse, family, best.cost_total / s.reference_m3, best.co2e_kg / s.reference_m3,
                best.transit_days_p50, best.transit_days_p90, legs)


def delivery_days(net: Network, warehouse: str, market: str, s: DesignSettings) -> tuple[float, float]:
    """(road km, delivery days) from a warehouse to a market."""
    w, m = net.node(warehouse), net.node(market)
    km = route_km(w.lat, w.lon, m.lat, m.lon, net.circuity["road"])
    return km, 1.0 + math.ceil(km / s.km_per_day - 1e-9)


def check_settings(s: DesignSettings) -> None:
    """InvalidInput naming the first setting outside its bounds (``optimizer.warehouses.limits``)."""
    if not (math.isfinite(s.cover_days) and s.cover_days > 0 and math.isfinite(s.reference_m3) and s.reference_m3 > 0):
        raise InvalidInput("cover_days and reference_m3 must be positive numbers", field="settings")
    CARBON_PRICE.check(s.carbon_price, "carbon_price")
    if s.max_days is not None:
        MAX_DAYS.check(s.max_days, "max_days")


def build_problem(net: Network, demand: list[DemandRow], s: DesignSettings,
                  candidates: list[str] | None = None,
                  sites: Mapping[str, SiteTerms] | None = None) -> tuple[FacilityProblem, dict[tuple[str, str], Lane]]:
    """The FacilityProblem (monthly costs, m³/day) and the inbound lanes it was priced with.

    ``sites``: warehouse -> the space and prices on offer there (shared-warehouse offers): its storage price
    replaces the node's ``storage_cost_m3_day`` and its space the node's capacities; a warehouse left out of
    ``sites`` (when given) is not a candidate."""
    check_settings(s)
    whs = [net.node(c, "warehouse") for c in candidates] if candidates else net.warehouses()
    for w in whs:
        if w.kind is not NodeKind.OVERSEAS_WAREHOUSE:
            raise InvalidInput(f"'{w.id}' is a {w.kind.value}, not an overseas warehouse", field="warehouse")
    if s.include_planned is False:
        whs = [w for w in whs if not w.planned]
    if sites is not None:
        whs = [w for w in whs if w.id in sites]
        if not whs:
            raise InvalidInput("no candidate warehouse has space on offer", field="warehouse")
    road_g_tkm = net.emission_factors["road_hgv"].g_per_tkm
    lanes: dict[tuple[str, str], Lane] = {}
    by_density: dict[tuple[str, float], Lane | None] = {}
    m, n = len(whs), len(demand)
    cost = np.full((m, n), np.inf)
    co2 = np.zeros((m, n))
    month = s.days_per_month
    for i, w in enumerate(whs):
        for j, row in enumerate(demand):
            if row.market not in w.serves_markets:
                continue
            km, days = delivery_days(net, w.id, row.market, s)
            limit = row.max_days if row.max_days is not None else s.max_days
            if limit is not None and days > limit:
                continue
            key = (w.id, row.family)
            if key not in lanes:
                dkey = (w.id, row.kg_per_m3)  # the lane depends on the density only: one quote per density
                if dkey not in by_density:
                    by_density[dkey] = inbound_lane(net, w.id, row.family, row.kg_per_m3, s)
                lane = by_density[dkey]
                if lane is None:
                    continue
                lanes[key] = replace(lane, family=row.family)
            lane = lanes[key]
            t_per_m3 = row.kg_per_m3 / 1000.0
            last_co2 = t_per_m3 * km * road_g_tkm / 1000.0  # kg per m³
            storage_price = sites[w.id].storage_price_m3_day if sites is not None else w.storage_cost_m3_day
            inbound_price = sites[w.id].inbound_price_m3 if sites is not None else 0.0
            per_m3 = (lane.cost_per_m3 + s.cover_days * storage_price + w.handling_cost_per_t * t_per_m3
                      + km * s.last_mile_usd_m3_km + inbound_price)
            co2_m3 = lane.co2e_kg_per_m3 + last_co2
            vol = row.mean_m3_day * month
            cost[i, j] = vol * (per_m3 + s.carbon_price * co2_m3 / 1000.0)
            co2[i, j] = vol * co2_m3
    for j, row in enumerate(demand):
        if not np.isfinite(cost[:, j]).any():
            served_by = [w.id for w in whs if row.market in w.serves_markets]
            if not served_by:
                raise NoRoute(f"market {row.market}: no candidate warehouse serves it", field="market")
            fastest = min(delivery_days(net, w, row.market, s)[1] for w in served_by)
            limit = row.max_days if row.max_days is not None else s.max_days
            if limit is None or fastest <= limit:  # no inbound route (or no finite cost) rather than the service level
                raise NoRoute(f"market {row.market} ({row.family}): no inbound route from {s.origin} reaches a warehouse "
                              f"serving it ({', '.join(served_by)})", field="market")
            raise NoRoute(f"market {row.market} ({row.family}): the service level of {limit:g} days cannot be met; "
                          f"the fastest candidate warehouse delivers in {fastest:g} days", field="max_days")
    caps = np.array([min(w.inbound_m3_per_day, w.capacity_m3 / s.cover_days) if sites is None else
                     min(sites[w.id].inbound_m3_per_day, sites[w.id].storage_m3 / s.cover_days) for w in whs])
    problem = FacilityProblem(
        name="shared-warehouses", sites=tuple(w.id for w in whs), customers=tuple(r.key for r in demand),
        capacity=caps, fixed_cost=np.array([w.fixed_cost_month for w in whs]),
        demand=np.array([r.mean_m3_day for r in demand]), cost=cost, co2e=co2, units="USD/month, m³/day")
    return problem, lanes


def demand_rows(net: Network, records: list[dict] | None = None, path: str | Path | None = None) -> list[DemandRow]:
    """The demand of a study: ``records`` (rows given inline, e.g. in a request body), else the CSV at
    ``path``, else the bundled sample; DataError names the source, the row and the field."""
    if records is not None:
        return parse_demand(records, net, "demand")
    return load_demand(DEFAULT_DEMAND if path is None else path, net)


def design_network(net: Network, demand: list[DemandRow], s: DesignSettings | None = None,
                   options: DesignOptions | None = None, candidates: list[str] | None = None,
                   progress: ProgressFn | None = None,
                   sites: Mapping[str, SiteTerms] | None = None) -> tuple[FacilityResult, dict[tuple[str, str], Lane]]:
    """Solve the shared-warehouse design (``sites``: the space and prices on offer, see :func:`build_problem`);
    returns the result and the inbound lanes used."""
    s = s or DesignSettings()
    problem, lanes = build_problem(net, demand, s, candidates, sites)
    result = solve_design(problem, options or DesignOptions(time_limit=60.0), progress=progress)
    return result, lanes


@dataclass(frozen=True)
class NetworkDesign:
    """A solved shared-warehouse design: the facility result, the inbound lanes it was priced with and
    the settings it was solved under (the network is kept to report delivery days)."""

    result: FacilityResult
    lanes: dict[tuple[str, str], Lane]
    settings: DesignSettings
    network: Network = field(repr=False, compare=False)

    @property
    def objective_units(self) -> str:
        return f"{self.network.currency}/month"

    def to_dict(self) -> dict:
        return design_to_dict(self.result, self.lanes, self.network, self.settings)


def design_shared_network(net: Network, demand: list[DemandRow], s: DesignSettings | None = None,
                          options: DesignOptions | None = None, progress: ProgressFn | None = None,
                          sites: Mapping[str, SiteTerms] | None = None) -> NetworkDesign:
    """Which shared warehouses to open for ``demand`` and which markets each serves: the use case behind
    ``cbec warehouses design`` and POST /v1/warehouse-designs (bundled network; ``sites``: the space and
    prices on offer, see :func:`build_problem`)."""
    s = s or DesignSettings()
    result, lanes = design_network(net, demand, s, options, progress=progress, sites=sites)
    return NetworkDesign(result, lanes, s, net)


def design_to_dict(result: FacilityResult, lanes: dict[tuple[str, str], Lane], net: Network,
                   s: DesignSettings) -> dict:
    """JSON form with the inbound routes and delivery days of the chosen assignment."""
    doc = result.to_dict()
    doc["units"] = {"objective": f"{net.currency}/month", "demand": "m³/day"}
    doc["inbound"] = [
        {"warehouse": w, "family": f, "route": ln.route, "cost_per_m3": round(ln.cost_per_m3, 2),
         "co2e_kg_per_m3": round(ln.co2e_kg_per_m3, 2), "lead_days": {"p50": round(ln.p50_days, 2), "p90": round(ln.p90_days, 2)}}
        for (w, f), ln in sorted(lanes.items()) if w in result.open]
    doc["delivery_days"] = {c: {w: delivery_days(net, w, c.split("/")[0], s)[1] for w in a}
                            for c, a in result.assignment.items()}
    doc["settings"] = {k: getattr(s, k) for k in s.__dataclass_fields__}
    return doc


def position_stock(net: Network, demand: list[DemandRow], result: FacilityResult, lanes: dict[tuple[str, str], Lane],
                   target_fill_rate: float = 0.95, policy: str = "base-stock", review_days: float = 7.0,
                   warehouses: list[str] | None = None) -> list[StockPolicy]:
    """A replenishment policy per open warehouse and family from the design's assignment.

    Demand at a warehouse is the sum of the assigned shares of each market (variances add, markets
    independent); the lead time is the chosen inbound route's p50/p90.
    """
    if warehouses:
        for w in warehouses:
            node = net.node(w, "warehouse")
            if node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
                raise InvalidInput(f"'{w}' is a {node.kind.value}, not an overseas warehouse", field="warehouse")
            if w not in result.open:
                raise InvalidInput(f"warehouse {w} is not open in the design (open: {', '.join(result.open)})",
                                   field="warehouse")
    rows = {r.key: r for r in demand}
    agg: dict[tuple[str, str], list[float]] = {}
    for cust, shares in result.assignment.items():
        r = rows[cust]
        for w, f in shares.items():
            a = agg.setdefault((w, r.family), [0.0, 0.0])
            a[0] += f * r.mean_m3_day
            a[1] += (f * r.sd_m3_day) ** 2
    out = []
    for (w, fam), (mean, var) in sorted(agg.items()):
        if warehouses and w not in warehouses:
            continue
        lane = lanes[(w, fam)]
        item = StockInput(w, fam, mean, var, lane.p50_days, lane.p90_days, 0.0,
                          net.node(w).storage_cost_m3_day, lane.route)
        out.append(stock_policy(item, target_fill_rate, policy, review_days))
    return out


def with_settings(s: DesignSettings, **changes) -> DesignSettings:
    """A copy of ``s`` with the non-None ``changes`` applied (CLI/API flags)."""
    return replace(s, **{k: v for k, v in changes.items() if v is not None})
