"""Pickup and delivery routing: VRP with time windows, weight and volume capacities, service times,
several vehicle types and a fleet limit, solved with PyVRP (hybrid genetic search).

Why PyVRP and not OR-Tools routing: measured on Solomon instances, OR-Tools routing (parallel
cheapest insertion + guided local search) ends about 2 % above best-known after 30 s and
PATH_CHEAPEST_ARC finds no feasible start on tight windows, while PyVRP is within 0.01 %
(bench/routing_bench.py re-measures this on ../shared/bench/solomon).

A :class:`RoutingProblem` is integer data (PyVRP works in integers): location 0 is the depot (the
consolidation point for first-mile pickups, the overseas warehouse for last-mile deliveries).
``distance_unit`` says what one distance unit is in km (or 0.1 for DIMACS-rounded benchmarks).
Road distances between coordinates are geodesic (WGS84) x the network's road circuity factor
(``net.circuity["road"]``): see :func:`road_matrices`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from optimizer.errors import InvalidInput, NoRoute
from optimizer.network.geo import geodesic_km
from optimizer.pickups.limits import SEED, TIME_LIMIT_S

BIG = 10**9  # "no limit" for windows and shifts (kept far from int64 overflow in PyVRP's sums)


@dataclass(frozen=True)
class VehicleKind:
    """A vehicle type: how many are available, capacity per load dimension, costs and shift window."""

    name: str
    count: int
    capacity: tuple[int, ...]
    fixed_cost: int = 0
    unit_distance_cost: int = 1
    shift: tuple[int, int] = (0, BIG)


@dataclass(frozen=True)
class RoutingProblem:
    """Integer VRPTW data; index 0 is the depot. ``demand`` is (N, D) over ``dims``.

    ``kind``: ``pickup`` (loads collected and brought to the depot) or ``delivery`` (loaded at the depot).
    """

    name: str
    ids: tuple[str, ...]
    distance: np.ndarray
    duration: np.ndarray
    demand: np.ndarray
    tw_early: np.ndarray
    tw_late: np.ndarray
    service: np.ndarray
    vehicles: tuple[VehicleKind, ...]
    dims: tuple[str, ...] = ("demand",)
    dim_scale: tuple[float, ...] = (1.0,)  # user units per integer load unit (e.g. 0.001 m³ per litre)
    kind: str = "delivery"
    distance_unit: float = 1.0  # km (or benchmark units) per integer distance unit
    time_unit: str = "min"
    cost_unit: float = 1.0  # currency per integer cost unit (PyVRP objective)
    coords: np.ndarray | None = None  # (N, 2) lat/lon or x/y, for plotting and reports

    @property
    def n_stops(self) -> int:
        return len(self.ids) - 1


@dataclass
class RouteOut:
    vehicle: str
    stops: list[str]
    distance: float
    load: dict[str, float]
    start: int
    end: int
    arrivals: list[int]


@dataclass
class RoutingResult:
    name: str
    status: str  # feasible | infeasible
    distance: float
    cost: float
    vehicles: int
    routes: list[RouteOut]
    solve_seconds: float
    iterations: int
    engine: str = "pyvrp"
    stats: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "status": self.status, "distance": round(self.distance, 3), "cost": round(self.cost, 2),
            "vehicles": self.vehicles, "routes": [r.stops for r in self.routes],
            "route_details": [
                {"vehicle": r.vehicle, "stops": r.stops, "distance": round(r.distance, 3), "load": r.load,
                 "start": r.start, "end": r.end, "arrivals": r.arrivals} for r in self.routes],
            "solve_seconds": round(self.solve_seconds, 3), "iterations": self.iterations, "engine": self.engine,
        }


# --- distances ------------------------------------------------------------------------------------
def road_matrices(lat: np.ndarray, lon: np.ndarray, circuity: float, speed_kmh: float) -> tuple[np.ndarray, np.ndarray]:
    """(distance in metres, duration in minutes) integer matrices between coordinates.

    Road distance = WGS84 geodesic x ``circuity`` (the network's road factor, 1.3-1.4 typical for
    China's county roads); duration = distance / ``speed_kmh``, rounded up to whole minutes.
    """
    n = len(lat)
    km = np.zeros((n, n))
    if n > 1:
        a, b = np.triu_indices(n, k=1)  # one vectorised geodesic call for every pair (pyproj takes arrays)
        upper = np.asarray(geodesic_km(np.asarray(lat, float)[a], np.asarray(lon, float)[a],
                                       np.asarray(lat, float)[b], np.asarray(lon, float)[b])) * circuity
        km[a, b] = upper
        km[b, a] = upper
    dist = np.round(km * 1000).astype(np.int64)
    dur = np.ceil(km / speed_kmh * 60 - 1e-9).astype(np.int64)
    return dist, dur


# --- validation -----------------------------------------------------------------------------------
def check_problem(p: RoutingProblem) -> None:
    """Explain, before solving, a stop that no vehicle can carry or reach in its window, or a fleet too small."""
    n = len(p.ids)
    if n < 2:
        raise InvalidInput(f"{p.name}: no stops to route", field="stops")
    if not p.vehicles or sum(v.count for v in p.vehicles) < 1:
        raise InvalidInput(f"{p.name}: the fleet is empty", field="vehicles")
    if len(set(p.ids)) != n:
        dup = next(i for i in p.ids if p.ids.count(i) > 1)
        raise InvalidInput(f"{p.name}: stop id '{dup}' appears more than once", field="id")
    caps = np.array([v.capacity for v in p.vehicles], dtype=np.int64)  # (K, D)
    if caps.shape[1] != p.demand.shape[1]:
        raise InvalidInput(f"{p.name}: vehicles have {caps.shape[1]} capacity dimensions, stops {p.demand.shape[1]}")
    depot_open, depot_close = int(p.tw_early[0]), int(p.tw_late[0])
    for k in range(1, n):
        sid = p.ids[k]
        if p.tw_early[k] > p.tw_late[k]:
            raise InvalidInput(f"stop {sid}: time window starts ({p.tw_early[k]}) after it ends ({p.tw_late[k]})", field="window")
        if not any(np.all(p.demand[k] <= c) for c in caps):
            load = ", ".join(f"{p.demand[k][d] * p.dim_scale[d]:g} {p.dims[d]}" for d in range(len(p.dims)))
            largest = "; ".join(f"{v.name} " + "/".join(f"{c * p.dim_scale[d]:g} {p.dims[d]}" for d, c in enumerate(v.capacity))
                                for v in p.vehicles)
            raise NoRoute(f"stop {sid}: load {load} does not fit any vehicle ({largest})", field="capacity")
        earliest = max(depot_open + int(p.duration[0, k]), int(p.tw_early[k]))
        if earliest > p.tw_late[k]:
            raise NoRoute(f"stop {sid}: window ends at {p.tw_late[k]} {p.time_unit} but the earliest arrival from "
                          f"{p.ids[0]} is {earliest} {p.time_unit}", field="window")
        back = earliest + int(p.service[k]) + int(p.duration[k, 0])
        if back > depot_close:
            raise NoRoute(f"stop {sid}: a vehicle arriving at {earliest} {p.time_unit} cannot be back at {p.ids[0]} "
                          f"before it closes at {depot_close} {p.time_unit}", field="window")
    total = p.demand[1:].sum(axis=0)
    fleet = (caps * np.array([v.count for v in p.vehicles])[:, None]).sum(axis=0)
    for d, dim in enumerate(p.dims):
        if total[d] > fleet[d]:
            raise NoRoute(f"{p.name}: the stops hold {total[d] * p.dim_scale[d]:g} {dim} but the whole fleet carries "
                          f"{fleet[d] * p.dim_scale[d]:g} {dim}",
                          field="vehicles")


# --- solving --------------------------------------------------------------------------------------
def to_pyvrp(p: RoutingProblem):
    """The PyVRP ProblemData for ``p`` (one depot, one distance/duration profile).

    Written for PyVRP 0.11 (hybrid genetic search). 0.14 replaced HGS by iterated local search and
    stalls on the tight RC instances (RC101 0.71 %, RC102 1.1 % above best-known after 30 s, where
    0.11 reaches both optima in 10 s), so pyproject pins 0.11.
    """
    from pyvrp import Client, Depot, ProblemData, VehicleType

    dims = len(p.dims)
    # coordinates only steer the granular neighbourhood; integer micro-degrees keep their order
    xy = [(0, 0)] * len(p.ids) if p.coords is None else [(int(round(c[1] * 1e6)), int(round(c[0] * 1e6))) for c in p.coords]
    depot = Depot(*xy[0], tw_early=int(p.tw_early[0]), tw_late=int(p.tw_late[0]), name=p.ids[0])
    clients = []
    for k in range(1, len(p.ids)):
        load = [int(x) for x in p.demand[k]]
        clients.append(Client(
            *xy[k],
            delivery=load if p.kind == "delivery" else [0] * dims,
            pickup=load if p.kind == "pickup" else [0] * dims,
            service_duration=int(p.service[k]), tw_early=int(p.tw_early[k]), tw_late=int(p.tw_late[k]), name=p.ids[k]))
    vtypes = [VehicleType(v.count, capacity=list(v.capacity), fixed_cost=v.fixed_cost,
                          unit_distance_cost=v.unit_distance_cost,
                          tw_early=max(v.shift[0], int(p.tw_early[0])), tw_late=min(v.shift[1], int(p.tw_late[0])),
                          name=v.name) for v in p.vehicles]
    return ProblemData(clients, [depot], vtypes, [np.asarray(p.distance, dtype=np.int64)],
                       [np.asarray(p.duration, dtype=np.int64)])


def solve_routing(p: RoutingProblem, time_limit: float = 5.0, seed: int = 1, progress=None,
                  max_iterations: int | None = None) -> RoutingResult:
    """Solve ``p`` within ``time_limit`` seconds; raises NoRoute when no feasible plan is found, saying which
    constraint the best plan still breaks (windows, capacities, fleet limit).

    ``max_iterations`` also stops the search after that many iterations: with a time limit it
    does not reach, the plan is the same on every machine for one ``seed`` (tests).
    """
    from pyvrp import SolveParams, solve
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    TIME_LIMIT_S.check(time_limit, "time_limit", "time limit")
    SEED.check(seed, "seed")
    check_problem(p)
    data = to_pyvrp(p)
    t0 = time.perf_counter()
    # PyVRP 0.11's penalty manager has no upper cap, so fine cost units (1e-5 USD) need no tuning
    stop = MaxRuntime(time_limit)
    if max_iterations is not None:
        stop = MultipleCriteria([MaxIterations(max_iterations), stop])
    res = solve(data, stop=stop, seed=seed, display=False, params=SolveParams())
    elapsed = time.perf_counter() - t0
    if progress:
        progress(1.0, "done")
    best = res.best
    if not best.is_feasible():
        broken = []
        if best.has_time_warp():
            broken.append("time windows")
        if best.has_excess_load():
            broken.append("vehicle capacities")
        if best.num_missing_clients() if hasattr(best, "num_missing_clients") else False:
            broken.append("fleet limit (stops left unserved)")
        used = best.num_routes()
        limit = sum(v.count for v in p.vehicles)
        why = ", ".join(broken) or "constraints"
        raise NoRoute(f"{p.name}: no feasible plan found in {time_limit:g} s; the best plan uses {used} of {limit} "
                      f"vehicles and still breaks the {why}; add vehicles, widen windows or allow more time",
                      field="vehicles")
    routes = []
    total = 0
    for r in best.routes():
        stops = [p.ids[loc] for loc in r.visits()]  # location 0 is the depot, clients follow
        arrivals = [int(v.start_service) for v in r.schedule() if v.location >= 1]
        vt = p.vehicles[r.vehicle_type()]
        load = r.pickup() if p.kind == "pickup" else r.delivery()
        total += r.distance()
        routes.append(RouteOut(vt.name, stops, r.distance() * p.distance_unit,
                               {d: round(x * sc, 6) for d, x, sc in zip(p.dims, load, p.dim_scale)}, int(r.start_time()), int(r.end_time()), arrivals))
    return RoutingResult(p.name, "feasible", total * p.distance_unit, res.cost() * p.cost_unit, len(routes), routes,
                         elapsed, res.num_iterations)
