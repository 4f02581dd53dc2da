"""Reference quote by full enumeration: every route of at most ``max_legs`` legs with every departure.

Used by the tests (the label search must return exactly this Pareto set) and by
``bench/quote_bench.py`` as the baseline. It shares the step costs (:class:`optimizer.quotes.quote.Costing`:
arcs, departures' space, handling, clearance, destuffing, destination charges) with the label search but
none of its reasoning: it does not assume that the earliest departure dominates; it tries each scheduled
departure within ``window_days`` of the earliest one (for a split shipment: each departure as the last
part's, when enough departures with space precede it), every price unit of every service, and it keeps
the container state of every partial route instead of comparing states. The only pruning is
reachability: a service into a node with no path on to the destination is not walked.
"""

from __future__ import annotations

from optimizer.network.model import QuoteRequest
from optimizer.network import Network
from optimizer.network.schedule import make_departure
from optimizer.quotes.quote import Costing, pareto_filter


def brute_force_vectors(
    net: Network, req: QuoteRequest, *, max_legs: int = 6, window_days: float = 14.0
) -> list[tuple[int, float, float]]:
    """Pareto set of (arrival minute, cost, CO2e) over all enumerated routes and departures."""
    cost = Costing(net, req)
    dest = req.destination
    need_clear = cost.dest_needs_clearance
    window = int(window_days * 1440)
    found: list[tuple[int, float, float]] = []
    visited: set[tuple[str, bool]] = set()
    into: dict[str, list[str]] = {}
    for s in net.services.values():
        into.setdefault(s.destination, []).append(s.origin)
    reach, todo = {dest}, [dest]
    while todo:
        for o in into.get(todo.pop(), ()):
            if o not in reach:
                reach.add(o)
                todo.append(o)

    def last_departures(s, ready: int, arc) -> list[int]:
        """Every departure that can carry the last part: enough departures with space from the first one on."""
        first = cost.departure(s, ready)
        if s.schedule.continuous:
            return [first]
        table = net.departure_table(s)
        deps = [d for d in table.between(first, min(first + window, cost.horizon) + 1)]
        if req.exclude_departures:
            deps = [d for d in deps if make_departure(s, d).key not in req.exclude_departures]
        out, fitting = [], 0
        for d in deps:
            if cost.fits(s, d, arc):
                fitting += 1
                if fitting >= arc.parts:
                    out.append(d)
        return out

    def walk(node: str, cleared: bool, boxed: bool, t: int, c: float, e: float, legs: int) -> None:
        if node == dest and (cleared or not need_clear):
            found.append((t, c, e))
            return
        visited.add((node, cleared))
        if not cleared:
            clr = cost.clearance(node)
            if clr is not None and (node, True) not in visited:
                walk(node, True, boxed, t + clr[0], c + clr[1], e, legs)
        if legs < max_legs:
            for s in net.services_from(node, include_planned=True):
                if s.destination not in reach:
                    continue
                after = cleared or s.door
                if (s.destination, after) in visited:
                    continue
                if s.international and not cleared and not s.door:
                    continue
                if not cost.allowed(s):
                    continue
                h_min, h_cost = cost.arrive_by(s)
                transit = round(s.transit.p50_hours * 60)
                for arc in cost.arcs(s):
                    boxed2, t_min, t_cost = cost.transfer(boxed, arc.unit)
                    f_min, f_cost = cost.finish(s, boxed2) if s.destination == dest else (0, 0.0)
                    for dep in last_departures(s, t + t_min, arc):
                        if dep > cost.horizon:
                            continue
                        walk(s.destination, after, boxed2, dep + transit + h_min + f_min,
                             c + t_cost + arc.price.total + h_cost + f_cost, e + arc.price.co2e_kg, legs + 1)
        visited.discard((node, cleared))

    walk(req.origin, False, False, cost.ready, 0.0, 0.0, 0)
    return sorted(found[i] for i in pareto_filter(found))
