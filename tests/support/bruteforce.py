"""Reference quote by full enumeration: every route of at most ``max_legs`` legs with every departure.

Used by the tests (the label search must return exactly this Pareto set) and by
``bench/quote_bench.py`` as the baseline. It shares the step costs (:class:`optimizer.quotes.quote.Costing`)
with the label search but none of its reasoning: it does not assume that the earliest departure
dominates; it tries each scheduled departure within ``window_days`` of the earliest one.
"""

from __future__ import annotations

from optimizer.network.model import QuoteRequest
from optimizer.network import Network
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

    def departures(s, ready: int) -> list[int]:
        first = cost.departure(s, ready)
        if s.schedule.continuous:
            return [first]
        table = net.departure_table(s)
        deps = [d for d in table.between(first, min(first + window, cost.horizon) + 1)]
        if req.exclude_departures:
            from optimizer.network.schedule import make_departure

            deps = [d for d in deps if make_departure(s, d).key not in req.exclude_departures]
        return deps

    def walk(node: str, cleared: bool, t: int, c: float, e: float, legs: int) -> None:
        if node == dest and (cleared or not need_clear):
            found.append((t, c, e))
            return
        visited.add((node, cleared))
        if not cleared:
            clr = cost.clearance(node)
            if clr is not None and (node, True) not in visited:
                walk(node, True, t + clr[0], c + clr[1], e, legs)
        if legs < max_legs:
            for s in net.services_from(node, include_planned=True):
                if (s.destination, cleared) in visited:
                    continue
                if s.international and not cleared:
                    continue
                if not cost.allowed(s):
                    continue
                price = cost.leg(s)
                h_min, h_cost = cost.arrive(s.destination)
                transit = round(s.transit.p50_hours * 60)
                for dep in departures(s, t):
                    if dep > cost.horizon:
                        continue
                    walk(s.destination, cleared, dep + transit + h_min, c + price.total + h_cost, e + price.co2e_kg, legs + 1)
        visited.discard((node, cleared))

    walk(req.origin, False, cost.ready, 0.0, 0.0, 0)
    return sorted(found[i] for i in pareto_filter(found))
