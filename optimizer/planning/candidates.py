"""Candidate options for batch planning: the quote engine's routes, re-timed on later departures.

For each shipment the planner needs a handful of concrete (route, departures) choices, each with
its price and the capacity it takes on every scheduled departure. Generating them must be fast for
10,000 shipments, so:

1. Route *structures* (the sequence of services and the clearance step) come from the quote
   engine's Pareto search (`optimizer.quotes.quote.search`), run once per group of shipments sharing
   origin, destination, cargo class, customs mode and size bucket (LCL-sized or FCL-sized), plus
   searches excluding the main service of the two cheapest routes (so the planner has second-best
   routes when the cheap trains are full).
2. Each structure is re-timed on the next ``departures_per_route`` departures of its main
   (longest scheduled) leg; upstream legs keep their earliest departure (cargo waits at the
   terminal), downstream legs take the first departure they can make. Timings depend only on
   (structure, ready time), so shipments share them.
3. Prices come from `optimizer.quotes.pricing` through `optimizer.quotes.quote.Costing`, per shipment and service
   (prices do not depend on the departure). The own-price of a structure equals the quote's
   ``Option.cost_total`` for the same route and departures.

Every rail/sea leg whose tariff sells containers can also be *consolidated*: the shipment's cargo
goes into a pool of boxes bought for that departure and cargo class (the planner decides the
number of boxes), and the shipment pays only the per-shipment charges plus a CFS stuffing fee.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from optimizer.errors import CbecError
from optimizer.network import Network
from optimizer.network.model import Capacity, Mode, NodeKind, QuoteRequest, Service
from optimizer.network.timeutil import from_minutes, zone
from optimizer.planning.problem import BoxType
from optimizer.planning.shipments import Shipment
from optimizer.quotes.customs import check_request
from optimizer.quotes.quote import Costing, explain_no_route, search

CONSOLIDABLE = (Mode.RAIL, Mode.SEA)


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """Planner knobs. Money in the network currency (USD in the bundled data)."""

    horizon_days: int = 21  # options whose first scheduled departure is within this many days of the ready date
    departures_per_route: int = 4  # re-timings of each route on its main leg's next departures
    max_candidates: int = 16  # per shipment, best by estimated cost (plus the cheapest of each main mode)
    max_structures: int = 8  # routes per lane group
    late_per_day: float = 50.0  # lateness penalty per shipment and day past due [A]
    late_value_pct_per_day: float = 0.001  # plus this share of the declared value per day late [A]
    max_late_days: float = 14.0  # options arriving later than this past due are not offered
    carbon_price_per_t: float = 0.0  # objective weight on CO2e, per tonne
    cfs_per_m3: float = 12.0  # CFS stuffing fee for consolidated LCL, per m³ [A]
    cfs_min: float = 20.0  # minimum CFS fee per shipment [A]
    unassigned_penalty: float | None = None  # default: 10x the shipment's dearest option + 10,000
    time_limit_s: float = 60.0  # the whole plan: candidate generation, model building and solving
    candidate_share: float = 0.5  # candidates are generated for at most this share of time_limit_s (the rest: in time)
    memory_budget_mb: float | None = 2048.0  # refuse plans whose options would need more (estimate; None: no check)
    relative_gap: float = 0.005  # stop when the proven gap is below this (the target is 1 %)
    lcl_bucket_m3: float = 15.0  # size buckets for route search: LCL-sized below this and 8 t
    lcl_bucket_kg: float = 8000.0
    workers: int = 2  # processes generating candidates of large batches (1: this process only)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a route: a service (``service`` set) or export clearance at ``node``."""

    service: str | None
    node: str


Structure = tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One concrete way to ship one shipment: a route on given departures, own-priced or consolidated."""

    structure: Structure
    departs: tuple[int, ...]  # per service step, UTC minutes
    arrive: int  # p50 minute at the destination, after handling
    consolidated: bool
    cost: float  # what the shipment pays (consolidated: without the pooled boxes)
    co2e_kg: float
    late_days: float
    objective: float  # cost + lateness + carbon, weighted
    estimate: float  # objective with a pro-rata box share for consolidated candidates (ranking only)
    use: tuple[tuple[str, float], ...]  # resource key -> amount
    pools: tuple[tuple[str, float, float], ...]  # pool key -> kg, m3
    key: str  # stable identity: scheduled departures (road: service id), "/consol" when pooled

    @property
    def main_mode(self) -> str:
        return self.key.split("|", 1)[0]


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    key: str
    service: str  # service id, or warehouse node id for inbound docks
    departure: str  # departure key, or warehouse@date
    unit: str  # teu | kg | m3 | inbound_m3
    capacity: float


@dataclass(frozen=True, slots=True)
class PoolInfo:
    key: str
    departure: str
    service: str
    cargo_class: str
    teu_resource: str | None
    boxes: tuple[BoxType, ...]


TIME_LIMIT_REASON = "time limit reached before candidates were generated"


@dataclass
class ShipmentCandidates:
    shipment: Shipment
    candidates: list[Candidate] = field(default_factory=list)
    reason: str | None = None  # why there is no candidate
    code: str | None = None  # no_route | customs | due_date | horizon | time_limit (TIME_LIMIT_REASON)

    @classmethod
    def timed_out(cls, shipment: Shipment) -> ShipmentCandidates:
        """A shipment the time limit left without candidates (reported unassigned with that reason)."""
        return cls(shipment, [], TIME_LIMIT_REASON, "time_limit")


@functools.lru_cache(maxsize=65536)  # a few thousand departures, asked for ~40 times each
def dep_key(service_id: str, minute: int) -> str:
    """The key of ``service_id``'s departure at ``minute`` (as in quotes and capacity reports)."""
    return f"{service_id}@{from_minutes(minute).strftime('%Y-%m-%dT%H:%MZ')}"


class CandidateGenerator:
    """Builds candidates for shipments on one network, with optional changes (re-planning).

    ``cancelled``: departure keys that do not run; ``delays_min``: departure key -> minutes late;
    ``capacity``: departure key -> replacement Capacity (a cut); ``inbound``: warehouse -> ISO day -> the
    inbound m³ the plan may send there that day (bookings or offers of shared warehouses: a warehouse listed
    takes 0 on a day it does not list; a warehouse not listed keeps its dock's ``inbound_m3_per_day``).
    """

    def __init__(
        self,
        net: Network,
        settings: PlanSettings,
        *,
        cancelled: frozenset[str] = frozenset(),
        delays_min: Mapping[str, int] | None = None,
        capacity: Mapping[str, Capacity] | None = None,
        keep: Mapping[str, str] | None = None,
        inbound: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.net = net
        self.inbound = {w: dict(d) for w, d in (inbound or {}).items()}
        self.settings = settings
        self.cancelled = cancelled
        self.delays = dict(delays_min or {})
        self.capacity_override = dict(capacity or {})
        self.keep = dict(keep or {})  # shipment id -> candidate key never pruned (the previous plan's choice)
        self.resources: dict[str, ResourceInfo] = {}
        self.pools: dict[str, PoolInfo] = {}
        self._structures: dict[tuple, list[Structure]] = {}
        self._timings: dict[tuple[Structure, int], list[tuple[tuple[int, ...], int]]] = {}
        self._main: dict[Structure, int] = {}
        c = net.containers
        self.c40 = c["40HQ"]
        self.c20 = c["20GP"]

    # --- structures -------------------------------------------------------------------------
    def _request(self, s: Shipment) -> QuoteRequest:
        # no departure exclusions here: route structures must not depend on a change, so that a
        # re-plan regenerates every unaffected option with the same key (re-timing skips cancellations)
        return QuoteRequest(s.origin, s.destination, s.cargo, s.ready, horizon_days=self.settings.horizon_days + 30)

    def _search_structures(self, req: QuoteRequest, legs: dict | None = None) -> list[Structure]:
        _, labels = search(self.net, req, legs=legs, ignore_capacity=True)  # the plan assigns departures' capacity itself
        out = []
        for lab in sorted(labels, key=lambda lb: (lb.cost, lb.time)):
            steps: list[Step] = []
            cur = lab
            while cur.parent is not None:
                steps.append(Step(cur.service.id if cur.service is not None else None, cur.node))
                cur = cur.parent
            out.append(tuple(reversed(steps)))
        return out

    def lane(self, s: Shipment) -> tuple:
        """Shipments of one lane share their route search: origin, destination, class, customs mode, size bucket."""
        cargo = s.cargo
        bucket = cargo.volume_m3 < self.settings.lcl_bucket_m3 and cargo.weight_kg < self.settings.lcl_bucket_kg
        return (s.origin, s.destination, cargo.cargo_class, cargo.customs_mode, bucket)

    def structures(self, s: Shipment) -> list[Structure]:
        lane = self.lane(s)
        found = self._structures.get(lane)
        if found is None:
            # Route structures hardly depend on the ready time (every route is re-timed on several
            # departures anyway), so one search per lane and size bucket serves all its shipments.
            req = self._request(s)
            legs: dict = {}  # the same cargo in every search of the lane: price each service once
            found = self._search_structures(req, legs)
            merged = list(found)
            for st in found[:2]:  # second-best routes: the lane without the cheapest routes' main services
                main = st[self.main_step(st)].service
                alt = replace(req, exclude_services=frozenset({main}))
                merged.extend(x for x in self._search_structures(alt, legs) if x not in merged)
            found = self._structures[lane] = merged[: self.settings.max_structures]
        return found

    def main_step(self, st: Structure) -> int:
        """Index of the longest scheduled leg (the one re-timed), else the longest leg."""
        m = self._main.get(st)
        if m is None:
            best, best_km = -1, -1.0
            for i, step in enumerate(st):
                if step.service is None:
                    continue
                svc = self.net.services[step.service]
                km = svc.distance_km + (1e9 if not svc.schedule.continuous else 0.0)
                if km > best_km:
                    best, best_km = i, km
            m = self._main[st] = best
        return m

    # --- timing -----------------------------------------------------------------------------
    def _next(self, s: Service, t: int) -> int:
        dep = self.net.next_departure_minute(s, t)
        if not s.schedule.continuous:
            cut = self.net.departure_table(s).cutoff_minutes
            while dep_key(s.id, dep) in self.cancelled:
                dep = self.net.next_departure_minute(s, dep - cut + 1)
        return dep

    def timings(self, st: Structure, ready: int) -> list[tuple[tuple[int, ...], int]]:
        """(departures per service step, p50 arrival) for the main leg's next departures in the horizon."""
        key = (st, ready)
        got = self._timings.get(key)
        if got is not None:
            return got
        net = self.net
        main = self.main_step(st)
        limit = ready + self.settings.horizon_days * 1440
        out: list[tuple[tuple[int, ...], int]] = []
        main_dep: int | None = None
        for _ in range(self.settings.departures_per_route):
            t = ready
            departs: list[int] = []
            first_scheduled: int | None = None
            for i, step in enumerate(st):
                if step.service is None:
                    t += round(net.nodes[step.node].clearance_hours * 60)
                    continue
                s = net.services[step.service]
                if i == main and main_dep is not None:
                    cut = net.departure_table(s).cutoff_minutes if not s.schedule.continuous else 0
                    dep = self._next(s, main_dep - cut + 1) if not s.schedule.continuous else main_dep + 1440
                    main_dep = dep
                else:
                    dep = self._next(s, t)
                    if i == main:
                        main_dep = dep
                departs.append(dep)
                if first_scheduled is None and not s.schedule.continuous:
                    first_scheduled = dep
                t = dep + round(s.transit.p50_hours * 60) + round(net.nodes[s.destination].handling_hours * 60)
                if not s.schedule.continuous:
                    t += self.delays.get(dep_key(s.id, dep), 0)
            if main_dep is None or (first_scheduled if first_scheduled is not None else main_dep) > limit:
                break  # the horizon bounds when the cargo leaves on its first scheduled service
            out.append((tuple(departs), t))
            if net.services[st[main].service].schedule.continuous:
                break  # road-only routes: one timing is enough
        self._timings[key] = out
        return out

    # --- capacity registry ------------------------------------------------------------------
    def _cap(self, s: Service, key: str) -> Capacity:
        return self.capacity_override.get(key, s.capacity)

    def inbound_capacity(self, warehouse: str, day: str) -> float:
        """The inbound m³ a plan may send to ``warehouse`` on ``day`` (ISO date, the warehouse's calendar)."""
        booked = self.inbound.get(warehouse)
        if booked is not None:
            return float(booked.get(day, 0.0))
        return float(self.net.nodes[warehouse].inbound_m3_per_day)

    def _resource(self, key: str, service: str, departure: str, unit: str, capacity: float) -> str:
        info = self.resources.get(key)
        if info is None:
            info = self.resources[key] = ResourceInfo(key, service, departure, unit, capacity)
        return info.key  # one string object per key: candidates share it (memory, and pickling to workers)

    def box_types(self, s: Service, cargo_class: str) -> tuple[BoxType, ...]:
        t = s.tariff
        cls = t.class_surcharges.get(cargo_class)
        per_box = sum(x.amount for x in t.surcharges if x.basis == "per_container")
        pct = sum(x.amount for x in t.surcharges if x.basis == "pct_freight")
        if cls is not None:
            per_box += cls.amount if cls.basis == "per_container" else 0.0
            pct += cls.amount if cls.basis == "pct_freight" else 0.0
        out = []
        for c, price in ((self.c40, t.per_40hq), (self.c20, t.per_20gp)):
            if price:
                out.append(BoxType(c.code, round(price * (1 + pct) + per_box, 2), c.max_kg, c.max_m3, c.teu))
        return tuple(out)

    def _pool(self, s: Service, dkey: str, cargo_class: str) -> str:
        key = f"{dkey}#{cargo_class}"
        if key not in self.pools:
            cap = self._cap(s, dkey)
            teu = None
            if cap.teu is not None:
                teu = self._resource(f"{dkey}|teu", s.id, dkey, "teu", float(cap.teu))
            self.pools[key] = PoolInfo(key, dkey, s.id, cargo_class, teu, self.box_types(s, cargo_class))
        return self.pools[key].key

    def consolidable(self, s: Service) -> bool:
        t = s.tariff
        return s.mode in CONSOLIDABLE and t.allow_fcl and bool(t.per_40hq or t.per_20gp)

    def pooled_charge(self, s: Service, sh: Shipment) -> float:
        """What a consolidated shipment pays on a pooled leg: per-shipment/per-kg/per-m³ charges + CFS fee."""
        t, cargo = s.tariff, sh.cargo
        total = max(self.settings.cfs_per_m3 * cargo.volume_m3, self.settings.cfs_min)
        cls = t.class_surcharges.get(cargo.cargo_class.value)
        for x in list(t.surcharges) + ([cls] if cls is not None else []):
            if x.basis == "per_shipment":
                total += x.amount
            elif x.basis == "per_kg":
                total += x.amount * cargo.weight_kg
            elif x.basis == "per_m3":
                total += x.amount * cargo.volume_m3
        return total

    # --- candidates -------------------------------------------------------------------------
    def candidates(self, sh: Shipment) -> ShipmentCandidates:
        out = ShipmentCandidates(sh)
        req = self._request(sh)
        try:
            check_request(self.net, req)
        except CbecError as exc:
            out.reason, out.code = exc.detail, "customs"
            return out
        structures = self.structures(sh)
        if not structures:
            out.reason, out.code = explain_no_route(self.net, req).detail, "no_route"
            return out
        st_ = self.settings
        costing = Costing(self.net, req, ignore_capacity=True)
        cargo = sh.cargo
        share40 = max(cargo.weight_kg / self.c40.max_kg, cargo.volume_m3 / self.c40.max_m3)
        late_rate = st_.late_per_day + st_.late_value_pct_per_day * (sh.value or 0.0)
        dest = self.net.nodes[sh.destination]
        inbound = dest.kind is NodeKind.OVERSEAS_WAREHOUSE and (dest.inbound_m3_per_day > 0 or dest.id in self.inbound)
        cands: list[Candidate] = []
        latest_seen: float | None = None
        any_timing = False
        for st in structures:
            timings = self.timings(st, sh.ready_minute)
            if not timings:
                continue
            any_timing = True
            own = 0.0
            co2 = 0.0
            pooled_saving = 0.0  # own price of poolable legs minus their pooled per-shipment charge
            box_estimate = 0.0
            poolable = False
            svcs: list[Service] = []
            for step in st:
                if step.service is None:
                    clr = costing.clearance(step.node)
                    own += clr[1] if clr else 0.0
                    continue
                s = self.net.services[step.service]
                svcs.append(s)
                price = costing.leg(s)
                own += price.total + costing.arrive(s.destination)[1]
                co2 += price.co2e_kg
                if self.consolidable(s):
                    poolable = True
                    pooled_saving += price.total - self.pooled_charge(s, sh)
                    box_estimate += self.box_types(s, cargo.cargo_class.value)[0].cost * share40
            mode_tag = max(svcs, key=lambda x: x.distance_km).mode.value
            for departs, arrive in timings:
                late = max(0.0, (arrive - sh.due_minute) / 1440.0)
                latest_seen = late if latest_seen is None else min(latest_seen, late)
                if late > st_.max_late_days:
                    continue
                penalty = late * late_rate + st_.carbon_price_per_t * co2 / 1000.0
                keys = []
                own_use: dict[str, float] = {}
                pool_use_res: dict[str, float] = {}
                pools: list[tuple[str, float, float]] = []
                for s, dep in zip(svcs, departs, strict=True):
                    if s.schedule.continuous:
                        keys.append(s.id)
                        continue
                    dk = dep_key(s.id, dep)
                    keys.append(dk)
                    cap = self._cap(s, dk)
                    price = costing.leg(s)
                    for unit, amount, limit in (("kg", cargo.weight_kg, cap.kg), ("m3", cargo.volume_m3, cap.m3)):
                        if limit is not None:
                            rk = self._resource(f"{dk}|{unit}", s.id, dk, unit, float(limit))
                            own_use[rk] = own_use.get(rk, 0.0) + amount
                            pool_use_res[rk] = pool_use_res.get(rk, 0.0) + amount
                    if cap.teu is not None:
                        rk = self._resource(f"{dk}|teu", s.id, dk, "teu", float(cap.teu))
                        # carrier LCL rides in the carrier's boxes: pro rata of a 40HQ's slots
                        teu = float(price.teu) if price.teu else 2.0 * share40
                        own_use[rk] = own_use.get(rk, 0.0) + teu
                        if not self.consolidable(s):
                            pool_use_res[rk] = pool_use_res.get(rk, 0.0) + teu
                    if self.consolidable(s):
                        pools.append((self._pool(s, dk, cargo.cargo_class.value), cargo.weight_kg, cargo.volume_m3))
                if inbound:
                    day = from_minutes(arrive - round(dest.handling_hours * 60)).astimezone(zone(dest.tz)).date()
                    rk = self._resource(f"{dest.id}@{day.isoformat()}|inbound_m3", dest.id, f"{dest.id}@{day.isoformat()}",
                                        "inbound_m3", self.inbound_capacity(dest.id, day.isoformat()))
                    own_use[rk] = own_use.get(rk, 0.0) + cargo.volume_m3
                    pool_use_res[rk] = pool_use_res.get(rk, 0.0) + cargo.volume_m3
                base_key = mode_tag + "|" + "+".join(keys)
                obj = own + penalty
                cands.append(Candidate(st, departs, arrive, False, round(own, 2), co2, late, obj, obj,
                                       tuple(own_use.items()), (), base_key))
                if poolable:
                    cost = own - pooled_saving
                    obj_c = cost + penalty
                    cands.append(Candidate(st, departs, arrive, True, round(cost, 2), co2, late, obj_c, obj_c + box_estimate,
                                           tuple(pool_use_res.items()), tuple(pools), base_key + "/consol"))
        if not cands:
            if not any_timing:
                out.reason = (f"no departure of any route within the {st_.horizon_days}-day horizon after the ready date")
                out.code = "horizon"
            else:
                out.reason = (f"due date impossible: the earliest option arrives {latest_seen:.1f} days after the due date "
                              f"(limit {st_.max_late_days:g} days late)")
                out.code = "due_date"
            return out
        cands.sort(key=lambda c: (c.estimate, c.arrive, c.key))
        kept = cands[: st_.max_candidates]
        modes = {c.main_mode for c in kept}
        for c in cands[st_.max_candidates:]:  # keep a fallback of every main mode (air when rail is full)
            if c.main_mode not in modes:
                kept.append(c)
                modes.add(c.main_mode)
        prev = self.keep.get(sh.id)
        if prev is not None and all(c.key != prev for c in kept):
            kept.extend(c for c in cands if c.key == prev)
        out.candidates = kept
        return out


def unassigned_penalty(settings: PlanSettings, cands: Sequence[Candidate]) -> float:
    """Cost of leaving a shipment unplaced: dominates any placement, so the planner places all it can."""
    if settings.unassigned_penalty is not None:
        return settings.unassigned_penalty
    top = max((c.estimate for c in cands), default=0.0)
    return 10.0 * top + 10_000.0
