"""Instant route quotes: the exact Pareto set over (total cost, door-to-door arrival time, CO2e).

Algorithm: multi-criteria label setting (Martins 1984) on the schedule-aware network. A label is a
partial route at a node in a state (export-cleared?, in its own containers?) with (available time,
cost, CO2e). Labels are settled in lexicographic order, so a settled label is never dominated later; a
new label is discarded when a label in the same or a better state (cleared beats uncleared, loose
beats boxed), or a label at the destination, weakly dominates it. A partial route is also dropped when
a destination label dominates its best possible completion (lower bounds on the remaining transit time
and CO2e per tonne to the destination, :func:`bounds_to`).

Because a service's price and emissions do not depend on which departure is taken, the earliest
departures after the cut-off with space left for the cargo dominate every later ones of the same
service, so only those are expanded; `tests.support.bruteforce` checks this against full enumeration.

Capacity: a departure carries at most its capacity less the space already held on it
(``QuoteRequest.held``); a cargo larger than one departure is split into equal parts over the next
departures of the same service (at most ``MAX_PARTS``) and priced as that many shipments.

Per node: arriving cargo spends ``handling_hours`` (and pays ``handling_cost``) before it can leave
or, at the destination, before it is available. Export clearance under the requested customs mode
is a step at a node that offers it; international services require it (a door-delivery parcel
product declares its parcels itself). Each service is priced per unit the cargo travels in after it
(loose / own containers / full truck); a container that continues loose pays CFS destuffing. At a
destination abroad a freight arrival pays import clearance and final delivery
(:mod:`optimizer.quotes.destination`); taxes (VAT/IOSS, duty) are added as estimates to every option.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from optimizer.errors import InvalidInput, NoRoute
from optimizer.network import Network
from optimizer.network.model import (
    Cargo,
    CargoClass,
    CostLine,
    CustomsMode,
    DutyRate,
    HeldSpace,
    Leg,
    NodeKind,
    Option,
    QuoteRequest,
    Service,
    Waypoint,
)
from optimizer.network.schedule import make_departure
from optimizer.network.timeutil import from_minutes, parse_ready, to_minutes, zone
from optimizer.quotes.customs import check_request
from optimizer.quotes.notes import Note
from optimizer.quotes.limits import (
    HORIZON_DAYS,
    PIECES,
    READY_MAX,
    READY_MAX_LENGTH,
    READY_MIN,
    READY_RE,
    READY_RULE,
    VOLUME_M3,
    WEIGHT_KG,
    GOODS_VALUE,
    VALUE_OF_TIME,
    check_hs_code,
    check_id,
    shown,
)
from optimizer.quotes.choice import generalised_cost, value_of_time_per_day
from optimizer.quotes.destination import Charge, destination_data, destuffing, finish_charges, tax_charges
from optimizer.quotes.parcels import parcel_problem
from optimizer.quotes.pricing import LegPrice, PriceLine, price_leg, price_leg_units

EPS = 1e-6
MAX_PARTS = 8  # a consignment is split over at most this many departures of one service


@dataclass(frozen=True, slots=True)
class Arc:
    """One way to take a service: the price of the whole cargo over ``parts`` departures, and the unit after it."""

    price: LegPrice  # whole cargo (all parts)
    part_price: LegPrice  # one part
    part: Cargo
    parts: int
    unit: str  # loose / box / keep (optimizer.quotes.pricing.unit_of)


def _scaled(p: LegPrice, k: int) -> LegPrice:
    if k == 1:
        return p
    lines = tuple(PriceLine(pl.code, f"{pl.description} x {k} departures", pl.amount * k, pl.basis) for pl in p.lines)
    return LegPrice(p.total * k, lines, f"{k} x {p.equipment}", p.teu * k, p.chargeable_kg * k, p.co2e_kg * k, p.unit)


class Costing:
    """Per-request step costs, shared by the label search and the brute-force reference.

    Steps: :meth:`arcs` (a service's price per unit and split), :meth:`departures` (the earliest
    departures with space for each part), :meth:`arrive` (hub handling), :meth:`clearance` (export
    clearance), :meth:`transfer` (CFS destuffing when a container continues loose) and :meth:`finish`
    (import clearance, final delivery at the destination).
    """

    def __init__(self, net: Network, req: QuoteRequest, *, ignore_class: bool = False,
                 legs: dict | None = None, ignore_capacity: bool = False) -> None:
        self.net = net
        self.req = req
        self.cargo: Cargo = req.cargo
        self.tonnes = req.cargo.weight_kg / 1000.0
        self.ignore_class = ignore_class
        self.ignore_capacity = ignore_capacity
        self._arcs: dict[str, tuple[Arc, ...]] = {} if legs is None else legs  # service id -> arcs of this cargo
        self._arrive: dict[str, tuple[int, float]] = {}
        self._clear: dict[str, tuple[int, float] | None] = {}
        self._finish: dict[tuple[bool, bool], tuple[int, float]] = {}
        self._fits: dict[str, bool] = {}
        self._fit_cache: dict[tuple[str, int, int, int], bool] = {}
        self.ready = to_minutes(req.ready)
        self.horizon = self.ready + req.horizon_days * 1440
        self.dest_needs_clearance = net.node(req.destination).country != "CN"
        self.dest = destination_data(net)
        self._transfer = destuffing(self.dest, net.nodes[req.origin], req)
        self.held: dict[str, dict[date, tuple[float, float, float]]] = {}
        for h in req.held:
            per = self.held.setdefault(h.service_id, {})
            kg, m3, teu = per.get(h.depart_date, (0.0, 0.0, 0.0))
            per[h.depart_date] = (kg + h.kg, m3 + h.m3, teu + h.teu)

    def allowed(self, s: Service) -> bool:
        if s.planned and not self.req.include_planned:
            return False
        if s.id in self.req.exclude_services:
            return False
        if s.customs_modes and self.cargo.customs_mode.value not in s.customs_modes:
            return False
        if s.door and s.destination != self.req.destination:
            return False
        if s.tariff.parcel is not None:
            ok = self._fits.get(s.tariff.id)
            if ok is None:
                ok = self._fits[s.tariff.id] = parcel_problem(s.tariff.parcel, self.cargo) is None
            if not ok:
                return False
        return self.ignore_class or self.cargo.cargo_class.value in s.allowed_classes

    def parts(self, s: Service) -> int | None:
        """Departures needed to carry the cargo (1 unless it exceeds one departure's capacity); None beyond MAX_PARTS."""
        cap = s.capacity
        if self.ignore_capacity or s.schedule.continuous or (cap.kg is None and cap.m3 is None):
            return 1
        need = max(self.cargo.weight_kg / cap.kg if cap.kg else 0.0, self.cargo.volume_m3 / cap.m3 if cap.m3 else 0.0)
        k = max(1, math.ceil(need - 1e-9))
        return k if k <= MAX_PARTS else None

    def arcs(self, s: Service) -> tuple[Arc, ...]:
        """The service's price per unit (cheapest first), for the whole cargo split over its parts; () when it cannot carry it."""
        a = self._arcs.get(s.id)
        if a is None:
            k = self.parts(s)
            if k is None:
                a = ()
            else:
                c = self.cargo
                part = c if k == 1 else Cargo(c.weight_kg / k, c.volume_m3 / k, max(1, math.ceil(c.pieces / k)),
                                              c.cargo_class, c.customs_mode)
                prices = price_leg_units(s, part, self.net.containers, self.net.emission_factor(s), self.req.rate_book)
                a = tuple(Arc(_scaled(p, k), p, part, k, p.unit) for p in prices)
                if k > 1 and s.capacity.teu is not None:
                    a = tuple(x for x in a if x.part_price.teu <= s.capacity.teu)
            self._arcs[s.id] = a
        return a

    def leg(self, s: Service) -> LegPrice:
        """The cheapest price of the cargo on ``s`` (planning reads this)."""
        a = self.arcs(s)
        if not a:
            return price_leg(s, self.cargo, self.net.containers, self.net.emission_factor(s), self.req.rate_book)
        return a[0].price

    def arrive(self, node_id: str) -> tuple[int, float]:
        """(minutes, cost) of handling on arrival at a node."""
        r = self._arrive.get(node_id)
        if r is None:
            n = self.net.nodes[node_id]
            r = self._arrive[node_id] = (round(n.handling_hours * 60), n.handling_cost + n.handling_cost_per_t * self.tonnes)
        return r

    def arrive_by(self, s: Service) -> tuple[int, float]:
        """(minutes, cost) on arrival by ``s``: hub handling, none for a door-delivery parcel product."""
        return (0, 0.0) if s.door else self.arrive(s.destination)

    def clearance(self, node_id: str) -> tuple[int, float] | None:
        """(minutes, cost) of export clearance at a node, or None when the mode cannot be cleared there."""
        if node_id not in self._clear:
            n = self.net.nodes[node_id]
            ok = self.cargo.customs_mode.value in n.customs_modes and (self.req.include_planned or not n.planned)
            self._clear[node_id] = (round(n.clearance_hours * 60), n.clearance_cost) if ok else None
        return self._clear[node_id]

    def transfer(self, boxed: bool, unit: str) -> tuple[bool, int, float]:
        """(boxed after, minutes, cost) of taking an arc of ``unit`` with the cargo ``boxed`` or loose."""
        if unit == "box":
            return True, 0, 0.0
        if unit == "keep":
            return boxed, 0, 0.0
        if boxed:
            return False, self._transfer.minutes, self._transfer.amount
        return False, 0, 0.0

    def finish(self, s: Service, boxed: bool) -> tuple[int, float]:
        """(minutes, cost) at the destination after arriving by ``s``: destuffing, import clearance, final delivery."""
        key = (s.door, boxed)
        r = self._finish.get(key)
        if r is None:
            ch = finish_charges(self.dest, self.net.nodes[self.req.destination], self.req, s.door, boxed)
            r = self._finish[key] = (sum(c.minutes for c in ch), sum(c.amount for c in ch))
        return r

    def space_left(self, s: Service, dep: int, part: Cargo, teu: int) -> tuple[float | None, float | None, float | None]:
        """(kg, m3, teu) left on departure ``dep`` of ``s`` after ``part`` (None: not limited); negative: it does not fit."""
        cap = s.capacity
        hk, hm, ht = (0.0, 0.0, 0.0)
        per = self.held.get(s.id)
        if per:
            tz = self.net.nodes[s.origin].tz
            hk, hm, ht = per.get(from_minutes(dep).astimezone(zone(tz)).date(), (0.0, 0.0, 0.0))
        return (None if cap.kg is None else cap.kg - hk - part.weight_kg,
                None if cap.m3 is None else cap.m3 - hm - part.volume_m3,
                None if cap.teu is None or not teu else cap.teu - ht - teu)

    def fits(self, s: Service, dep: int, arc: Arc) -> bool:
        """Whether a part of the cargo fits the space left on departure ``dep`` of ``s``."""
        if self.ignore_capacity or s.schedule.continuous:
            return True
        if arc.parts == 1 and s.id not in self.held:
            return True  # the cargo fits an empty departure (parts() checked it)
        key = (s.id, dep, arc.parts, arc.part_price.teu)
        ok = self._fit_cache.get(key)
        if ok is None:
            ok = self._fit_cache[key] = all(x is None or x >= -1e-6 for x in self.space_left(s, dep, arc.part, arc.part_price.teu))
        return ok

    def _next(self, s: Service, ready_minute: int) -> int:
        dep = self.net.next_departure_minute(s, ready_minute)
        if self.req.exclude_departures and not s.schedule.continuous:
            while make_departure(s, dep).key in self.req.exclude_departures:
                dep = self.net.next_departure_minute(s, dep - self.net.departure_table(s).cutoff_minutes + 1)
        return dep

    def departure(self, s: Service, ready_minute: int) -> int:
        """Earliest departure the cargo can make, skipping departures excluded by the request."""
        return self._next(s, ready_minute)

    def departures(self, s: Service, ready_minute: int, arc: Arc) -> tuple[int, ...] | None:
        """The earliest departures, one per part, each with space left for its part; None beyond the horizon."""
        dep = self._next(s, ready_minute)
        if arc.parts == 1 and (s.schedule.continuous or self.fits(s, dep, arc)):
            return (dep,) if dep <= self.horizon else None
        out: list[int] = []
        cut = self.net.departure_table(s).cutoff_minutes
        while dep <= self.horizon:
            if self.fits(s, dep, arc):
                out.append(dep)
                if len(out) == arc.parts:
                    return tuple(out)
            dep = self._next(s, dep - cut + 1)
        return None


def dominates(a: tuple[int, float, float], b: tuple[int, float, float]) -> bool:
    """a weakly dominates b on (time, cost, co2), with a tolerance on the float criteria."""
    return a[0] <= b[0] and a[1] <= b[1] + EPS and a[2] <= b[2] + EPS


def pareto_filter(vectors: list[tuple[int, float, float]]) -> list[int]:
    """Indices of the non-dominated vectors (first of equal vectors kept)."""
    order = sorted(range(len(vectors)), key=lambda i: vectors[i])
    kept: list[int] = []
    for i in order:
        if not any(dominates(vectors[k], vectors[i]) for k in kept):
            kept.append(i)
    return sorted(kept)


@dataclass(slots=True)
class _Label:
    time: int
    cost: float
    co2: float
    node: str
    cleared: bool
    parent: _Label | None
    service: Service | None  # service taken to reach this node (None: start or clearance step)
    depart: int
    boxed: bool = False  # the cargo is in its own containers (a later loose leg pays CFS destuffing)
    arc: Arc | None = None
    deps: tuple[int, ...] = ()  # departure minutes of every part
    alive: bool = True

    @property
    def vec(self) -> tuple[int, float, float]:
        return (self.time, self.cost, self.co2)


def search(net: Network, req: QuoteRequest, *, ignore_class: bool = False,
           legs: dict | None = None, ignore_capacity: bool = False) -> tuple[Costing, list[_Label]]:
    """The non-dominated destination labels (no customs/input checks; see :func:`quote`).

    A label's state is (node, export-cleared?, in own containers?): a cleared label dominates an uncleared
    one, a loose one a boxed one (only a boxed one can pay destuffing later). ``legs`` is a price cache
    shared by searches for the same cargo.
    """
    cost = Costing(net, req, ignore_class=ignore_class, legs=legs, ignore_capacity=ignore_capacity)
    dest = req.destination
    need_clear = cost.dest_needs_clearance
    bags: dict[tuple[str, bool, bool], list[_Label]] = {}
    heap: list[tuple[int, float, float, int, _Label]] = []
    counter = itertools.count()
    results: list[_Label] = []
    dest_bag = bags.setdefault((dest, True, False), [])
    dest_bag_any = bags.setdefault((dest, False, False), []) if not need_clear else dest_bag

    def push(label: _Label) -> None:
        vec = label.vec
        for b in dest_bag:
            if dominates(b.vec, vec):
                return
        if dest_bag_any is not dest_bag:
            for b in dest_bag_any:
                if dominates(b.vec, vec):
                    return
        key = (label.node, label.cleared, label.boxed)
        bag = bags.get(key)
        if bag is None:
            bag = bags[key] = []
        for b in bag:
            if dominates(b.vec, vec):
                return
        for other in ((label.node, True, False), (label.node, True, True), (label.node, False, False)):
            if other == key or (other[1] < label.cleared) or (other[2] > label.boxed):
                continue
            for b in bags.get(other, ()):
                if dominates(b.vec, vec):
                    return
        keep = []
        for b in bag:
            if dominates(vec, b.vec):
                b.alive = False
            else:
                keep.append(b)
        keep.append(label)
        bags[key] = keep
        if key == (dest, True, False):
            dest_bag[:] = keep
        elif dest_bag_any is not dest_bag and key == (dest, False, False):
            dest_bag_any[:] = keep
        heapq.heappush(heap, (label.time, label.cost, label.co2, next(counter), label))

    lb_time, lb_co2 = bounds_to(net, dest)
    tonnes = cost.tonnes

    def hopeless(t: int, c: float, e: float) -> bool:
        """A destination label already dominates the best completion of a partial route at (t, c, e)."""
        for b in dest_bag:
            bt, bc, be = b.time, b.cost, b.co2
            if bt <= t and bc <= c + EPS and be <= e + EPS:
                return True
        return False

    outgoing = _outgoing(net, dest)
    push(_Label(cost.ready, 0.0, 0.0, req.origin, False, None, None, cost.ready))
    while heap:
        *_, lab = heapq.heappop(heap)
        if not lab.alive:
            continue
        if lab.node == dest and (lab.cleared or not need_clear):
            results.append(lab)
            continue
        node_lb = lb_time.get(lab.node)
        if node_lb is None:  # no way on to the destination from here
            continue
        if dest_bag and hopeless(lab.time + node_lb, lab.cost, lab.co2 + tonnes * lb_co2[lab.node]):
            continue
        if not lab.cleared:
            clr = cost.clearance(lab.node)
            if clr is not None:
                push(_Label(lab.time + clr[0], lab.cost + clr[1], lab.co2, lab.node, True, lab, None, lab.time, lab.boxed))
        for s in outgoing.get(lab.node, ()):
            if s.international and not lab.cleared and not s.door:
                continue
            if dest_bag and hopeless(lab.time + round(s.transit.p50_hours * 60) + lb_time[s.destination], lab.cost,
                                     lab.co2 + tonnes * (_co2_per_t(net, s) + lb_co2[s.destination])):
                continue
            if not cost.allowed(s):
                continue
            arcs = cost.arcs(s)
            if not arcs:
                continue
            h_min, h_cost = cost.arrive_by(s)
            transit = round(s.transit.p50_hours * 60)
            at_dest = s.destination == dest
            for arc in arcs:
                boxed, t_min, t_cost = cost.transfer(lab.boxed, arc.unit)
                deps = cost.departures(s, lab.time + t_min, arc)
                if deps is None:
                    continue
                arr = deps[-1] + transit + h_min
                c = lab.cost + t_cost + arc.price.total + h_cost
                if at_dest:
                    f_min, f_cost = cost.finish(s, boxed)
                    arr += f_min
                    c += f_cost
                    boxed = False  # nothing follows: one bag at the destination
                # a door-delivery parcel product declares the parcels for export itself
                push(_Label(arr, c, lab.co2 + arc.price.co2e_kg, s.destination, lab.cleared or s.door, lab, s, deps[0], boxed,
                            arc, deps))
    results = [r for r in results if r.alive]
    if not need_clear and len(results) > 1:
        # a domestic destination keeps cleared and uncleared labels in two bags; a cleared label settled
        # later does not retire an uncleared one it dominates, so filter the finished set once
        results = [results[i] for i in pareto_filter([r.vec for r in results])]
    return cost, results


# per (network, destination), holding the network itself so that its id cannot be reused while cached
_BOUNDS: dict[tuple[int, str], tuple[dict[str, int], dict[str, float], Network]] = {}
_OUT: dict[tuple[int, str], tuple[dict[str, tuple[Service, ...]], Network]] = {}


def _co2_per_t(net: Network, s: Service) -> float:
    """kg CO2e per tonne carried on ``s`` (CO2e is mass x distance x intensity, whatever the price unit)."""
    return s.distance_km * net.emission_factor(s).g_per_tkm / 1000.0


def _outgoing(net: Network, dest: str) -> dict[str, tuple[Service, ...]]:
    """Services leaving each node that can be part of a route to ``dest`` (door deliveries only into ``dest``)."""
    key = (id(net), dest)
    got = _OUT.get(key)
    if got is not None and got[1] is net:
        return got[0]
    if len(_OUT) > 4096:
        _OUT.clear()
    lb, _ = bounds_to(net, dest)
    out = {n: tuple(s for s in net.services_from(n, include_planned=True)
                    if s.destination in lb and (not s.door or s.destination == dest)) for n in net.nodes}
    _OUT[key] = (out, net)
    return out


def bounds_to(net: Network, dest: str) -> tuple[dict[str, int], dict[str, float]]:
    """Lower bounds from every node to ``dest``: p50 minutes of transit (no waits, handling or clearance) and kg CO2e
    per tonne, over every service of the network (planned, any class or customs mode: more arcs, lower bounds).
    Nodes that cannot reach ``dest`` are absent. Used to discard partial routes a destination label already beats."""
    key = (id(net), dest)
    got = _BOUNDS.get(key)
    if got is not None and got[2] is net:
        return got[0], got[1]
    into: dict[str, list[Service]] = {}
    for s in net.services.values():
        if s.door and s.destination != dest:
            continue
        into.setdefault(s.destination, []).append(s)

    def dijkstra(weight) -> dict[str, float]:
        dist = {dest: 0.0}
        heap = [(0.0, dest)]
        while heap:
            d, v = heapq.heappop(heap)
            if d > dist.get(v, math.inf):
                continue
            for s in into.get(v, ()):
                nd = d + weight(s)
                if nd < dist.get(s.origin, math.inf) - 1e-12:
                    dist[s.origin] = nd
                    heapq.heappush(heap, (nd, s.origin))
        return dist

    lb_time = {k: int(v) for k, v in dijkstra(lambda s: round(s.transit.p50_hours * 60)).items()}
    lb_co2 = {k: max(0.0, v * (1 - 1e-9) - 1e-9) for k, v in dijkstra(lambda s: _co2_per_t(net, s)).items()}
    if len(_BOUNDS) > 4096:
        _BOUNDS.clear()
    _BOUNDS[key] = (lb_time, lb_co2, net)
    return lb_time, lb_co2


def quote(net: Network, req: QuoteRequest, *, held: Mapping[tuple[str, date], HeldSpace | tuple[float, float]] | None = None) -> list[Option]:
    """Pareto-optimal options for ``req``, sorted by cost, tagged cheapest/fastest/greenest/recommended.

    ``held`` (service id, local departure date) -> space already held (a HeldSpace, or (kg, m3)) adds to
    ``req.held``. Raises InvalidInput / UnknownNode / NoRoute with a readable message naming the problem.
    """
    if held:
        req = dataclasses.replace(req, held=req.held + held_records(held))
    check_request(net, req)
    costing, labels = search(net, req)
    if not labels:
        raise explain_no_route(net, req)
    taxes, notes = _taxes(net, costing, req)
    options = [_build_option(net, costing, lab, taxes, notes) for lab in labels]
    options.sort(key=lambda o: (o.cost_total, o.delivered_p50 or o.arrive_p50, o.co2e_kg))
    options = tag_options(options, value_of_time_per_day(costing.dest, req))
    if req.max_options:
        options = options[: req.max_options]
    return options


def held_records(held: Mapping[tuple[str, date], HeldSpace | tuple[float, float]]) -> tuple[HeldSpace, ...]:
    """``held`` mapping as HeldSpace records (the engine input form of plans', bookings' and shipments' space)."""
    out = []
    for (sid, day), v in held.items():
        if isinstance(v, HeldSpace):
            out.append(HeldSpace(sid, day, v.kg, v.m3, v.teu))
        else:
            out.append(HeldSpace(sid, day, float(v[0]), float(v[1])))
    return tuple(out)


def _taxes(net: Network, costing: Costing, req: QuoteRequest) -> tuple[tuple[Charge, ...], tuple[str, ...]]:
    dest = net.nodes[req.destination]
    eur = None
    if req.goods_value is not None and dest.country in costing.dest.eu.countries:
        try:
            from optimizer.network.currency import load_rates

            eur = load_rates().convert(1.0, net.currency, "EUR", req.ready.date())
        except Exception:  # no table or no rate for the date: the threshold is not checked (a note says so)
            eur = None
    return tax_charges(costing.dest, dest, req, eur)


def tag_options(options: list[Option], value_of_time: float = 0.0) -> list[Option]:
    """Tag the cheapest, fastest (p50) and greenest options (ties share the tag) and the recommended one
    (least generalised cost = cost + ``value_of_time`` per p50 day; :mod:`optimizer.quotes.choice`)."""
    if not options:
        return options

    cmin = min(o.cost_total for o in options)
    tmin = min(o.delivered_p50 or o.arrive_p50 for o in options)
    emin = min(o.co2e_kg for o in options)
    gcs = [generalised_cost(o, value_of_time) for o in options]
    best = min(range(len(options)), key=lambda i: (gcs[i], options[i].cost_total))
    out = []
    for i, o in enumerate(options):
        tags = []
        if o.cost_total <= cmin + 0.005:
            tags.append("cheapest")
        if (o.delivered_p50 or o.arrive_p50) == tmin:
            tags.append("fastest")
        if o.co2e_kg <= emin + 1e-6:
            tags.append("greenest")
        if i == best:
            tags.append("recommended")
        out.append(dataclasses.replace(o, tags=tuple(tags), generalised_cost=round(gcs[i], 2)))
    return out


def explain_no_route(net: Network, req: QuoteRequest) -> NoRoute:
    """The NoRoute error for a request with no option, naming what blocks it (class, planned-only, capacity, customs)."""
    cls = req.cargo.cargo_class.value
    if cls != "general":
        _, relaxed = search(net, req, ignore_class=True)
        if relaxed:
            return NoRoute(
                f"no route from {req.origin} to {req.destination} accepts {cls} cargo "
                f"(routes exist for general cargo, but their services do not carry {cls})",
                field="cargo_class",
            )
    if not req.include_planned:
        _, planned = search(net, dataclasses.replace(req, include_planned=True))
        if planned:
            return NoRoute(
                f"no route from {req.origin} to {req.destination} with the active network; "
                "one exists through planned services (include_planned=true)",
                field="destination",
            )
    _, uncapped = search(net, req, ignore_capacity=True)
    if uncapped:
        return NoRoute(
            f"no route from {req.origin} to {req.destination} has space for {req.cargo.weight_kg:,.0f} kg / "
            f"{req.cargo.volume_m3:,.1f} m³ within {req.horizon_days} days (at most {MAX_PARTS} departures of a "
            "service per shipment, less space already held): split it into several shipments (a batch plan)",
            field="weight_kg",
        )
    return NoRoute(
        f"no route from {req.origin} to {req.destination} under customs mode {req.cargo.customs_mode.value} "
        f"within {req.horizon_days} days",
        field="destination",
    )


def _build_option(net: Network, costing: Costing, final: _Label, taxes: tuple[Charge, ...] = (),
                  notes: tuple[str, ...] = ()) -> Option:
    chain: list[_Label] = []
    lab: _Label | None = final
    while lab is not None:
        chain.append(lab)
        lab = lab.parent
    chain.reverse()
    cur = net.currency
    legs: list[Leg] = []
    lines: list[CostLine] = []
    clearance_node = ""
    extra_notes: list[str] = []
    dest = costing.req.destination
    # p90: each leg at its p90 transit, re-connecting to the next departure it can still make
    t90 = costing.ready
    finish_min = 0
    for lab in chain[1:]:
        prev = lab.parent
        assert prev is not None
        if lab.service is None:  # clearance step
            clearance_node = lab.node
            mins, fee = costing.clearance(lab.node) or (0, 0.0)
            t90 += mins
            node = net.nodes[lab.node]
            lines.append(CostLine("CUSTOMS_EXPORT", f"export clearance ({costing.cargo.customs_mode.value}) at {node.name}", fee, cur, "per_shipment"))
            continue
        s = lab.service
        arc = lab.arc
        assert arc is not None
        if s.door and not prev.cleared:
            clearance_node = s.origin
            extra_notes.append(Note("export.parcel_operator", f"export declared by the parcel operator at hand-over ({s.origin}, 9610 list declaration)",
                                    node=s.origin))
        price = arc.price
        idx = len(legs)
        boxed, t_min, t_cost = costing.transfer(prev.boxed, arc.unit)
        if t_cost:
            ch = destuffing(costing.dest, net.nodes[s.origin], costing.req)
            lines.append(CostLine(ch.code, ch.description, ch.amount, cur, ch.basis, idx, estimate=True))
        deps90 = costing.departures(s, max(t90, prev.time) + t_min, arc) or lab.deps
        h_min, h_cost = costing.arrive_by(s)
        arr90 = deps90[-1] + round(s.transit.p90_hours * 60)
        t90 = arr90 + h_min
        dep = make_departure(s, lab.depart)
        via = tuple(
            Waypoint(
                st.node,
                from_minutes(lab.depart + round(st.offset_hours * 60)),
                from_minutes(lab.depart + round((st.offset_hours + st.dwell_hours) * 60)),
            )
            for st in s.stops
        )
        left_kg = left_m3 = None
        if s.capacity.kg is not None or s.capacity.m3 is not None:
            spaces = [costing.space_left(s, d, arc.part, arc.part_price.teu) for d in lab.deps] if not s.schedule.continuous else []
            kgs = [x[0] for x in spaces if x[0] is not None]
            m3s = [x[1] for x in spaces if x[1] is not None]
            left_kg = round(min(kgs), 1) if kgs else None
            left_m3 = round(min(m3s), 2) if m3s else None
        if arc.parts > 1:
            extra_notes.append(Note("split.departures", f"split over {arc.parts} departures of {s.id} (one departure holds less than the cargo)",
                                    parts=arc.parts, service=s.id))
        legs.append(
            Leg(
                service_id=s.id,
                mode=s.mode,
                origin=s.origin,
                destination=s.destination,
                carrier=s.carrier,
                departure=dep,
                arrive_p90=from_minutes(arr90),
                distance_km=s.distance_km,
                chargeable_kg=price.chargeable_kg,
                equipment=price.equipment,
                teu=price.teu,
                cost=price.total,
                co2e_kg=price.co2e_kg,
                via=via,
                split=tuple(make_departure(s, d) for d in lab.deps[1:]),
                space_left_kg=left_kg,
                space_left_m3=left_m3,
            )
        )
        for pl in price.lines:
            lines.append(CostLine(pl.code, pl.description, pl.amount, s.tariff.currency, pl.basis, idx))
        node = net.nodes[s.destination]
        if h_cost:
            lines.append(CostLine("HANDLING", f"handling at {node.name}", h_cost, cur, "per_shipment + per_t", idx))
        if s.destination == dest:
            for ch in finish_charges(costing.dest, net.nodes[dest], costing.req, s.door, boxed):
                finish_min += ch.minutes
                lines.append(CostLine(ch.code, ch.description, ch.amount, cur, ch.basis, None, estimate=ch.estimate))
    for ch in taxes:
        lines.append(CostLine(ch.code, ch.description, ch.amount, cur, ch.basis, None, estimate=True))
    # at the destination node (available after handling) and, after import clearance and final delivery, at the door
    arrive_p50 = from_minutes(final.time - finish_min)
    arrive_p90 = max(from_minutes(t90), arrive_p50)
    return Option(
        origin=costing.req.origin,
        destination=costing.req.destination,
        ready=costing.req.ready,
        legs=tuple(legs),
        cost_lines=tuple(lines),
        currency=cur,
        arrive_p50=arrive_p50,
        arrive_p90=arrive_p90,
        co2e_kg=final.co2,
        clearance_node=clearance_node,
        customs_mode=costing.cargo.customs_mode.value,
        as_of=net.as_of,
        notes=tuple(extra_notes) + notes,
        delivered_p50=from_minutes(final.time),
        delivered_p90=arrive_p90 + timedelta(minutes=finish_min),
    )


def option_vector(o: Option) -> tuple[int, float, float]:
    """(door-to-door arrival minute, cost, co2) — the criteria the Pareto set is defined on."""
    return (to_minutes(o.delivered_p50 or o.arrive_p50), round(sum(c.amount for c in o.cost_lines), 6), round(o.co2e_kg, 6))


_LEAP_SECOND = re.compile(r"^([T ]\d{2}:\d{2}):60")


def check_ready(ready: str | date | datetime, tz: str) -> datetime:
    """The ready time as UTC; InvalidInput (field ``ready``) unless it is ``READY_RULE``.

    Text must match ``READY_PATTERN`` (calendar-exact, the OpenAPI states the same pattern); a leap
    second ``:60`` counts as ``:59``. A bare date is 09:00 local time at the origin (``tz``).
    """
    if isinstance(ready, (date, datetime)):
        local = ready.date() if isinstance(ready, datetime) else ready
        text = None
    else:
        text = str(ready).strip()
        if not text:
            raise InvalidInput(f"ready is empty; give {READY_RULE}", field="ready")
        if len(text) > READY_MAX_LENGTH:
            raise InvalidInput(f"ready must be {READY_RULE} (got {len(text)} characters)", field="ready")
        text = text[:10] + _LEAP_SECOND.sub(r"\1:59", text[10:].upper())
        try:
            local = date.fromisoformat(text[:10])
        except ValueError:
            raise InvalidInput(f"ready: '{shown(text)}' is not an ISO 8601 date (YYYY-MM-DD) or date-time", field="ready") from None
    if not READY_MIN <= local <= READY_MAX:
        raise InvalidInput(f"ready must be from {READY_MIN} to {READY_MAX} (got {local})", field="ready")
    if text is not None and not READY_RE.fullmatch(text):
        raise InvalidInput(f"ready: '{shown(text)}' is not an ISO 8601 date (YYYY-MM-DD) or date-time "
                           "(YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])", field="ready")
    try:
        return parse_ready(ready if text is None else text, tz)
    except ValueError as exc:
        raise InvalidInput(f"ready: {exc}", field="ready") from None


def build_request(
    net: Network,
    origin: str,
    destination: str,
    weight_kg: float,
    volume_m3: float,
    ready: str | datetime,
    *,
    pieces: int = 1,
    cargo_class: str = "general",
    customs_mode: str | None = None,
    include_planned: bool = False,
    horizon_days: int = 90,
    goods_value: float | None = None,
    hs_code: str | None = None,
    duty_rates: tuple[DutyRate, ...] = (),
    value_of_time_per_day: float | None = None,
) -> QuoteRequest:
    """Validate primitive inputs (CLI flags, HTTP fields, CSV cells) into a QuoteRequest.

    ``customs_mode`` None picks 9810 for an overseas-warehouse destination, 9710 otherwise.
    ``goods_value`` (declared, network currency) drives the VAT/IOSS and duty estimates and the default
    value of time; ``hs_code`` with ``duty_rates`` (:func:`optimizer.quotes.destination.read_duty_table`)
    the duty; ``value_of_time_per_day`` overrides the default for the recommended option.
    Raises InvalidInput/UnknownNode naming the offending field; every number must lie within the
    bounds of :mod:`optimizer.quotes.limits` (the same bounds the HTTP schema states).
    """
    o = net.node(check_id(origin, "origin"), "origin")
    d = net.node(check_id(destination, "destination"), "destination")
    WEIGHT_KG.check(weight_kg, "weight_kg")
    VOLUME_M3.check(volume_m3, "volume_m3")
    PIECES.check(pieces, "pieces")
    pieces = int(pieces)
    try:
        cls = CargoClass(cargo_class)
    except ValueError:
        raise InvalidInput(
            f"unknown cargo class '{shown(cargo_class)}' (known: {', '.join(c.value for c in CargoClass)})", field="cargo_class"
        ) from None
    if customs_mode is None:
        customs_mode = "9810" if d.kind is NodeKind.OVERSEAS_WAREHOUSE else "9710"
    try:
        mode = CustomsMode(str(customs_mode))
    except ValueError:
        raise InvalidInput(
            f"unknown customs mode '{shown(customs_mode)}' (known: {', '.join(m.value for m in CustomsMode)})", field="customs_mode"
        ) from None
    ready_utc = check_ready(ready, o.tz)
    if not HORIZON_DAYS.contains(horizon_days):
        raise InvalidInput(f"horizon_days must be within 1..365 (got {horizon_days})", field="horizon_days")
    if goods_value is not None:
        goods_value = float(GOODS_VALUE.check(goods_value, "goods_value"))
    if value_of_time_per_day is not None:
        value_of_time_per_day = float(VALUE_OF_TIME.check(value_of_time_per_day, "value_of_time_per_day"))
    if hs_code is not None:
        hs_code = check_hs_code(hs_code)
    return QuoteRequest(
        origin=o.id,
        destination=d.id,
        cargo=Cargo(float(weight_kg), float(volume_m3), pieces, cls, mode),
        ready=ready_utc,
        include_planned=include_planned,
        horizon_days=horizon_days,
        goods_value=goods_value,
        hs_code=hs_code,
        duty_rates=tuple(duty_rates),
        value_of_time_per_day=value_of_time_per_day,
    )
