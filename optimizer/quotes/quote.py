"""Instant route quotes: the exact Pareto set over (total cost, arrival time, CO2e).

Algorithm: multi-criteria label setting (Martins 1984) on the schedule-aware network. A label is a
partial route at a node: (available time, cost, CO2e, export-cleared?). Labels are settled in
lexicographic order, so a settled label is never dominated later; a new label is discarded when a
label in the same state (or a cleared label at the same node, or a label at the destination)
weakly dominates it. Because a service's price and emissions do not depend on which departure is
taken, the earliest departure after the cut-off dominates every later one of the same service, so
only that departure is expanded; `tests.support.bruteforce` checks this against full enumeration.

Per node: arriving cargo spends ``handling_hours`` (and pays ``handling_cost``) before it can leave
or, at the destination, before it is available. Export clearance under the requested customs mode
is a step at a node that offers it; international services require it.
"""

from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime

from optimizer.errors import InvalidInput, NoRoute
from optimizer.network import Network
from optimizer.network.model import (
    Cargo,
    CargoClass,
    CostLine,
    CustomsMode,
    Leg,
    NodeKind,
    Option,
    QuoteRequest,
    Service,
    Waypoint,
)
from optimizer.network.schedule import make_departure
from optimizer.network.timeutil import from_minutes, parse_ready, to_minutes
from optimizer.quotes.customs import check_request
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
    check_id,
    shown,
)
from optimizer.quotes.pricing import LegPrice, price_leg

EPS = 1e-6


class Costing:
    """Per-request step costs, shared by the label search and the brute-force reference."""

    def __init__(self, net: Network, req: QuoteRequest, *, ignore_class: bool = False,
                 legs: dict[str, LegPrice] | None = None) -> None:
        self.net = net
        self.req = req
        self.cargo: Cargo = req.cargo
        self.tonnes = req.cargo.weight_kg / 1000.0
        self.ignore_class = ignore_class
        self._legs: dict[str, LegPrice] = {} if legs is None else legs  # service id -> price of this cargo
        self._arrive: dict[str, tuple[int, float]] = {}
        self._clear: dict[str, tuple[int, float] | None] = {}
        self.ready = to_minutes(req.ready)
        self.horizon = self.ready + req.horizon_days * 1440
        self.dest_needs_clearance = net.node(req.destination).country != "CN"

    def allowed(self, s: Service) -> bool:
        if s.planned and not self.req.include_planned:
            return False
        if s.id in self.req.exclude_services:
            return False
        return self.ignore_class or self.cargo.cargo_class.value in s.allowed_classes

    def leg(self, s: Service) -> LegPrice:
        p = self._legs.get(s.id)
        if p is None:
            p = self._legs[s.id] = price_leg(s, self.cargo, self.net.containers, self.net.emission_factor(s))
        return p

    def arrive(self, node_id: str) -> tuple[int, float]:
        """(minutes, cost) of handling on arrival at a node."""
        r = self._arrive.get(node_id)
        if r is None:
            n = self.net.nodes[node_id]
            r = self._arrive[node_id] = (round(n.handling_hours * 60), n.handling_cost + n.handling_cost_per_t * self.tonnes)
        return r

    def clearance(self, node_id: str) -> tuple[int, float] | None:
        """(minutes, cost) of export clearance at a node, or None when the mode cannot be cleared there."""
        if node_id not in self._clear:
            n = self.net.nodes[node_id]
            ok = self.cargo.customs_mode.value in n.customs_modes and (self.req.include_planned or not n.planned)
            self._clear[node_id] = (round(n.clearance_hours * 60), n.clearance_cost) if ok else None
        return self._clear[node_id]

    def departure(self, s: Service, ready_minute: int) -> int:
        """Earliest departure the cargo can make, skipping departures excluded by the request."""
        dep = self.net.next_departure_minute(s, ready_minute)
        if self.req.exclude_departures and not s.schedule.continuous:
            while make_departure(s, dep).key in self.req.exclude_departures:
                dep = self.net.next_departure_minute(s, dep - self.net.departure_table(s).cutoff_minutes + 1)
        return dep


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
    alive: bool = True

    @property
    def vec(self) -> tuple[int, float, float]:
        return (self.time, self.cost, self.co2)


def search(net: Network, req: QuoteRequest, *, ignore_class: bool = False,
           legs: dict[str, LegPrice] | None = None) -> tuple[Costing, list[_Label]]:
    """The non-dominated destination labels (no customs/input checks; see :func:`quote`).

    ``legs`` (service id -> price) is a leg-price cache shared by searches for the same cargo.
    """
    cost = Costing(net, req, ignore_class=ignore_class, legs=legs)
    dest = req.destination
    need_clear = cost.dest_needs_clearance
    bags: dict[tuple[str, bool], list[_Label]] = {}
    heap: list[tuple[int, float, float, int, _Label]] = []
    counter = itertools.count()
    results: list[_Label] = []
    dest_bag = bags.setdefault((dest, True), [])
    dest_bag_any = bags.setdefault((dest, False), []) if not need_clear else dest_bag

    def push(label: _Label) -> None:
        vec = label.vec
        for b in dest_bag:
            if dominates(b.vec, vec):
                return
        if dest_bag_any is not dest_bag:
            for b in dest_bag_any:
                if dominates(b.vec, vec):
                    return
        key = (label.node, label.cleared)
        bag = bags.get(key)
        if bag is None:
            bag = bags[key] = []
        for b in bag:
            if dominates(b.vec, vec):
                return
        if not label.cleared:
            for b in bags.get((label.node, True), ()):
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
        if key == (dest, True):
            dest_bag[:] = keep
        elif dest_bag_any is not dest_bag and key == (dest, False):
            dest_bag_any[:] = keep
        heapq.heappush(heap, (label.time, label.cost, label.co2, next(counter), label))

    push(_Label(cost.ready, 0.0, 0.0, req.origin, False, None, None, cost.ready))
    while heap:
        *_, lab = heapq.heappop(heap)
        if not lab.alive:
            continue
        if lab.node == dest and (lab.cleared or not need_clear):
            results.append(lab)
            continue
        if not lab.cleared:
            clr = cost.clearance(lab.node)
            if clr is not None:
                push(_Label(lab.time + clr[0], lab.cost + clr[1], lab.co2, lab.node, True, lab, None, lab.time))
        for s in net.services_from(lab.node, include_planned=True):
            if s.international and not lab.cleared:
                continue
            if not cost.allowed(s):
                continue
            dep = cost.departure(s, lab.time)
            if dep > cost.horizon:
                continue
            price = cost.leg(s)
            h_min, h_cost = cost.arrive(s.destination)
            arr = dep + round(s.transit.p50_hours * 60) + h_min
            push(_Label(arr, lab.cost + price.total + h_cost, lab.co2 + price.co2e_kg, s.destination, lab.cleared, lab, s, dep))
    results = [r for r in results if r.alive]
    if not need_clear and len(results) > 1:
        # a domestic destination keeps cleared and uncleared labels in two bags; a cleared label settled
        # later does not retire an uncleared one it dominates, so filter the finished set once
        results = [results[i] for i in pareto_filter([r.vec for r in results])]
    return cost, results


def quote(net: Network, req: QuoteRequest) -> list[Option]:
    """Pareto-optimal options for ``req``, sorted by cost, tagged cheapest/fastest/greenest.

    Raises InvalidInput / UnknownNode / NoRoute with a readable message naming the problem.
    """
    check_request(net, req)
    costing, labels = search(net, req)
    if not labels:
        raise explain_no_route(net, req)
    options = [_build_option(net, costing, lab) for lab in labels]
    options.sort(key=lambda o: (o.cost_total, o.arrive_p50, o.co2e_kg))
    options = tag_options(options)
    if req.max_options:
        options = options[: req.max_options]
    return options


def tag_options(options: list[Option]) -> list[Option]:
    """Tag the cheapest, fastest (p50) and greenest options (ties share the tag)."""
    if not options:
        return options
    import dataclasses

    cmin = min(o.cost_total for o in options)
    tmin = min(o.arrive_p50 for o in options)
    emin = min(o.co2e_kg for o in options)
    out = []
    for o in options:
        tags = []
        if o.cost_total <= cmin + 0.005:
            tags.append("cheapest")
        if o.arrive_p50 == tmin:
            tags.append("fastest")
        if o.co2e_kg <= emin + 1e-6:
            tags.append("greenest")
        out.append(dataclasses.replace(o, tags=tuple(tags)))
    return out


def explain_no_route(net: Network, req: QuoteRequest) -> NoRoute:
    """The NoRoute error for a request with no option, naming what blocks it (class, planned-only, customs)."""
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
        import dataclasses

        _, planned = search(net, dataclasses.replace(req, include_planned=True))
        if planned:
            return NoRoute(
                f"no route from {req.origin} to {req.destination} with the active network; "
                "one exists through planned services (include_planned=true)",
                field="destination",
            )
    return NoRoute(
        f"no route from {req.origin} to {req.destination} under customs mode {req.cargo.customs_mode.value} "
        f"within {req.horizon_days} days",
        field="destination",
    )


def _build_option(net: Network, costing: Costing, final: _Label) -> Option:
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
    # p90: each leg at its p90 transit, re-connecting to the next departure it can still make
    t90 = costing.ready
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
        price = costing.leg(s)
        idx = len(legs)
        dep90 = costing.departure(s, max(t90, prev.time))
        h_min, h_cost = costing.arrive(s.destination)
        arr90 = dep90 + round(s.transit.p90_hours * 60)
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
            )
        )
        for pl in price.lines:
            lines.append(CostLine(pl.code, pl.description, pl.amount, s.tariff.currency, pl.basis, idx))
        node = net.nodes[s.destination]
        if h_cost:
            lines.append(CostLine("HANDLING", f"handling at {node.name}", h_cost, cur, "per_shipment + per_t", idx))
    arrive_p50 = from_minutes(final.time)
    return Option(
        origin=costing.req.origin,
        destination=costing.req.destination,
        ready=costing.req.ready,
        legs=tuple(legs),
        cost_lines=tuple(lines),
        currency=cur,
        arrive_p50=arrive_p50,
        arrive_p90=max(from_minutes(t90), arrive_p50),
        co2e_kg=final.co2,
        clearance_node=clearance_node,
        customs_mode=costing.cargo.customs_mode.value,
        as_of=net.as_of,
    )


def option_vector(o: Option) -> tuple[int, float, float]:
    """(arrival minute, cost, co2) — the criteria the Pareto set is defined on."""
    return (to_minutes(o.arrive_p50), round(sum(c.amount for c in o.cost_lines), 6), round(o.co2e_kg, 6))


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
) -> QuoteRequest:
    """Validate primitive inputs (CLI flags, HTTP fields, CSV cells) into a QuoteRequest.

    ``customs_mode`` None picks 9810 for an overseas-warehouse destination, 9710 otherwise.
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
    return QuoteRequest(
        origin=o.id,
        destination=d.id,
        cargo=Cargo(float(weight_kg), float(volume_m3), pieces, cls, mode),
        ready=ready_utc,
        include_planned=include_planned,
        horizon_days=horizon_days,
    )
