"""Capacitated facility location: which shared overseas warehouses to open and who they serve.

Model (strong formulation, Cornuéjols, Sridharan & Thizy 1991)::

    min  sum_i f_i y_i + sum_ij c_ij x_ij
    s.t. sum_i x_ij = 1                       every customer (market x product family) is served
         sum_j d_j x_ij <= u_i y_i            capacity of an open site
         x_ij <= y_i                          linking (makes the LP bound strong)
         sum_i y_i <= p,  sum_i f_i y_i <= B  optional: number of sites, fixed-cost budget
         y binary, x in [0, 1] (split sourcing) or binary (single sourcing)

``c_ij`` is the cost of serving ALL of customer j's demand from site i (OR-Library convention);
pairs that break a service-level limit are simply absent (cost ``inf``).

Two valid inequalities are always added because they are cheap and tighten the LP: the
aggregate capacity cut ``sum_i u_i y_i >= sum_j d_j`` and the cardinality cut ``sum_i y_i >= k``
(k: fewest sites whose largest capacities cover the demand).

Methods (``DesignOptions.method``; ``auto``, the default, takes ``reduce`` from 20 000 site x
customer pairs up and ``plain`` below, where the MIP alone takes a few hundredths of a second):

* ``reduce``: Lagrangian relaxation of the demand rows (a continuous knapsack per site,
  subgradient steps) gives a lower bound; a heuristic re-solves the allocation LP for the sites the
  relaxation opens and improves it by drop/add/swap moves. Every site whose forced opening lifts the
  Lagrangian bound above the best design found cannot be open in an optimal design and is removed;
  the strong MIP on the remaining sites, started from the heuristic design, proves the optimum. On
  OR-Library capa (100 sites x 1000 customers) 80-95 of the 100 sites go, and the MIP has
  5 000-18 000 allocation columns instead of 100 000 (bench/warehouse_bench.py).
* ``strong``: the same MIP on every site, with the cuts and the heuristic start.
* ``plain``: the textbook strong MIP alone (the baseline the benchmark compares with).

Solved with SCIP (or HiGHS/CBC) through OR-Tools' pywraplp; the allocation LPs with GLOP.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from optimizer.errors import InvalidInput, NoRoute
from optimizer.network.progress import ProgressFn
from optimizer.quotes.limits import shown
from optimizer.warehouses.limits import BUDGET, OPEN_SITES, TIME_LIMIT_S

SOLVERS = ("SCIP", "HIGHS", "CBC")
METHODS = ("auto", "reduce", "strong", "plain")
AUTO_REDUCE_CELLS = 20_000  # below this many site x customer pairs the plain MIP beats the Lagrangian overhead


@dataclass(frozen=True)
class FacilityProblem:
    """Candidate sites, customers and costs. Arrays: ``capacity``/``fixed_cost`` (m,), ``demand`` (n,), ``cost`` (m, n).

    ``cost[i, j]`` is the cost of serving all of customer j's demand from site i; ``inf`` forbids the pair.
    ``co2e`` (m, n), optional, is the matching CO2e in kg (reported, priced into ``cost`` by the builder).
    """

    name: str
    sites: tuple[str, ...]
    customers: tuple[str, ...]
    capacity: np.ndarray
    fixed_cost: np.ndarray
    demand: np.ndarray
    cost: np.ndarray
    co2e: np.ndarray | None = None
    units: str = ""

    def __post_init__(self) -> None:
        m, n = len(self.sites), len(self.customers)
        shapes = {"capacity": (m,), "fixed_cost": (m,), "demand": (n,), "cost": (m, n)}
        for attr, shape in shapes.items():
            if np.shape(getattr(self, attr)) != shape:
                raise InvalidInput(f"{self.name}: {attr} has shape {np.shape(getattr(self, attr))}, expected {shape}", field=attr)


@dataclass(frozen=True)
class DesignOptions:
    """``single_sourcing``: each customer from exactly one site. ``max_open``/``n_open``: at most / exactly
    that many sites. ``budget``: cap on the sum of fixed costs of open sites. ``time_limit`` in seconds."""

    single_sourcing: bool = False
    max_open: int | None = None
    n_open: int | None = None
    budget: float | None = None
    solver: str = "SCIP"
    method: str = "auto"
    time_limit: float = 600.0
    rel_gap: float = 1e-9
    hint: bool = True
    threads: int = 1


@dataclass
class FacilityResult:
    """The design: objective, proven bound and gap, status, open sites, assignment and utilisation."""

    name: str
    status: str  # optimal | feasible | infeasible | not_solved
    objective: float
    bound: float
    gap: float
    open: list[str]
    assignment: dict[str, dict[str, float]]  # customer -> {site: fraction of its demand}
    utilisation: dict[str, float]  # open site -> load / capacity
    fixed_cost: float
    allocation_cost: float
    co2e: float | None
    solve_seconds: float
    solver: str
    method: str
    stats: dict[str, float | int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "status": self.status, "objective": round(self.objective, 6),
            "bound": round(self.bound, 6), "gap": self.gap, "open": self.open,
            "assignment": {c: {s: round(f, 6) for s, f in a.items()} for c, a in self.assignment.items()},
            "utilisation": {s: round(u, 4) for s, u in self.utilisation.items()},
            "cost": {"fixed": round(self.fixed_cost, 2), "allocation": round(self.allocation_cost, 2)},
            "co2e_kg": None if self.co2e is None else round(self.co2e, 1),
            "solve_seconds": round(self.solve_seconds, 3), "solver": self.solver, "method": self.method,
            "stats": self.stats,
        }


# --- checks -------------------------------------------------------------------------------------
def _min_sites_for(capacity: np.ndarray, total: float) -> int:
    """Fewest sites whose capacities can cover ``total`` (largest first)."""
    acc = 0.0
    for k, u in enumerate(sorted(capacity, reverse=True), 1):
        acc += u
        if acc >= total - 1e-9:
            return k
    return len(capacity) + 1


def check_feasible(p: FacilityProblem, o: DesignOptions) -> None:
    """Explain, before solving, the constraint that cannot be met; raises NoRoute/InvalidInput."""
    if o.solver not in SOLVERS:
        raise InvalidInput(f"unknown solver '{shown(o.solver)}' (known: {', '.join(SOLVERS)})", field="solver")
    if o.method not in METHODS:
        raise InvalidInput(f"unknown method '{shown(o.method)}' (known: {', '.join(METHODS)})", field="method")
    TIME_LIMIT_S.check(o.time_limit, "time_limit", "time limit")
    for label, limit in (("max_open", o.max_open), ("n_open", o.n_open)):
        if limit is not None:
            OPEN_SITES.check(limit, label)
    if o.budget is not None:
        BUDGET.check(o.budget, "budget")
    if not (np.all(np.isfinite(p.demand)) and np.all(np.isfinite(p.capacity)) and np.all(np.isfinite(p.fixed_cost))
            and not np.any(np.isnan(p.cost) | (p.cost == -np.inf))):
        raise InvalidInput(f"{p.name}: demand, capacity, fixed cost and cost must be finite numbers")
    if np.any(p.demand < 0) or np.any(p.capacity < 0) or np.any(p.fixed_cost < 0):
        raise InvalidInput(f"{p.name}: demand, capacity and fixed cost must be non-negative")
    allowed = np.isfinite(p.cost)
    for j, c in enumerate(p.customers):
        if p.demand[j] > 0 and not allowed[:, j].any():
            raise NoRoute(f"customer {c} cannot be served by any candidate site within the service-level limit",
                          field="service_level")
        if o.single_sourcing and p.demand[j] > 0 and not (allowed[:, j] & (p.capacity >= p.demand[j])).any():
            raise NoRoute(f"single sourcing: no allowed site has capacity for customer {c}'s demand {p.demand[j]:g}",
                          field="single_sourcing")
    total = float(p.demand.sum())
    if total > p.capacity.sum() + 1e-9:
        raise NoRoute(f"total demand {total:g} exceeds the capacity of all sites together ({p.capacity.sum():g})",
                      field="capacity")
    need = _min_sites_for(p.capacity, total)
    for label, limit in (("max_open", o.max_open), ("n_open", o.n_open)):
        if limit is None:
            continue
        if limit < 1 or limit > len(p.sites):
            raise InvalidInput(f"{label} must be between 1 and {len(p.sites)} (got {limit})", field=label)
        if limit < need:
            raise NoRoute(f"{label}={limit}: at least {need} sites are needed to hold the demand of {total:g}",
                          field=label)
    if o.budget is not None:
        order = np.argsort(-p.capacity / np.maximum(p.fixed_cost, 1e-12))
        # cheapest fixed cost that covers total capacity: a knapsack lower bound via the LP (sorted ratio)
        acc_cap, acc_cost = 0.0, 0.0
        for i in order:
            take = min(1.0, (total - acc_cap) / p.capacity[i]) if p.capacity[i] > 0 else 0.0
            acc_cap += take * p.capacity[i]
            acc_cost += take * p.fixed_cost[i]
            if acc_cap >= total - 1e-9:
                break
        if acc_cost > o.budget + 1e-9:
            raise NoRoute(f"budget {o.budget:g}: holding the demand of {total:g} needs at least {acc_cost:,.0f} of fixed cost",
                          field="budget")


# --- Lagrangian bound, heuristic and site elimination --------------------------------------------
def _knapsacks(p: FacilityProblem, lam: np.ndarray, sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site: f_i + min sum_j (c_ij - lam_j) x_ij s.t. sum_j d_j x_ij <= u_i, 0 <= x <= 1 (a continuous
    knapsack, solved greedily by ratio). Returns (values (m,), x (m, n)) for the rows in ``sites``."""
    red = p.cost[sites] - lam[None, :]  # inf stays inf: forbidden pairs never enter
    d = np.broadcast_to(p.demand, red.shape)
    neg = red < 0
    ratio = np.where(neg, red / np.maximum(d, 1e-12), np.inf)
    order = np.argsort(ratio, axis=1, kind="stable")
    rs = np.take_along_axis(red, order, axis=1)
    ds = np.take_along_axis(d, order, axis=1)
    ns = rs < 0
    cum = np.cumsum(np.where(ns, ds, 0.0), axis=1)
    room = p.capacity[sites][:, None] - (cum - np.where(ns, ds, 0.0))
    xs = np.where(ns, np.clip(room / np.maximum(ds, 1e-12), 0.0, 1.0), 0.0)
    xs = np.where(ns & (ds <= 0), 1.0, xs)
    values = p.fixed_cost[sites] + (np.where(xs > 0, rs, 0.0) * xs).sum(axis=1)  # inf x 0 would be nan
    x = np.zeros_like(xs)
    np.put_along_axis(x, order, xs, axis=1)
    return values, x


def _site_bound(v: np.ndarray, cap: np.ndarray, k: int, total: float) -> float:
    """Lower bound of min sum v_i y_i s.t. sum y >= k, sum u_i y_i >= total, y binary: the better of the
    cardinality relaxation (k smallest, plus every negative) and the covering-knapsack LP."""
    neg = np.minimum(v, 0.0).sum()
    pos_sorted = np.sort(v)
    card = pos_sorted[:k].sum() + np.minimum(pos_sorted[k:], 0.0).sum() if k <= len(v) else np.inf
    have = cap[v < 0].sum()
    cover = neg
    if have < total:
        idx = np.flatnonzero(v >= 0)
        idx = idx[np.argsort(v[idx] / np.maximum(cap[idx], 1e-12))]
        need = total - have
        for i in idx:
            take = min(1.0, need / cap[i]) if cap[i] > 0 else 0.0
            cover += take * v[i]
            need -= take * cap[i]
            if need <= 1e-9:
                break
        else:
            cover = np.inf
    return float(max(card, cover))


@dataclass
class Reduction:
    lower_bound: float
    upper_bound: float
    best_open: np.ndarray | None  # mask of the best design found by the Lagrangian heuristic
    keep: np.ndarray  # sites that may still be open in an optimal design
    iterations: int
    seconds: float


def lagrangian_reduce(p: FacilityProblem, o: DesignOptions, time_budget: float = 20.0, max_iter: int = 600) -> Reduction:
    """Subgradient optimisation of the Lagrangian dual (demand rows relaxed), a heuristic that re-solves the
    allocation for the sites the relaxation opens, and elimination of every site whose forced opening
    lifts the bound above the best design: such a site cannot be in any optimal design."""
    t0 = time.perf_counter()
    m, n = p.cost.shape
    total = float(p.demand.sum())
    k = _min_sites_for(p.capacity, total)
    finite = np.where(np.isfinite(p.cost), p.cost, np.nan)
    lam = np.nanmin(finite, axis=0)
    lam = np.where(np.isfinite(lam), lam, 0.0)
    all_sites = np.arange(m)
    ub, best_mask = math.inf, None
    lb = -math.inf
    best_lam = lam.copy()
    theta, stall = 2.0, 0
    tried: set[bytes] = set()
    it = 0
    for it in range(1, max_iter + 1):
        v, x = _knapsacks(p, lam, all_sites)
        bound = lam.sum() + _site_bound(v, p.capacity, k, total)
        if lb == -math.inf or bound > lb + 1e-9 * max(1.0, abs(lb)):
            lb, best_lam, stall = bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2.0, 0
        # the relaxation's choice of sites: k cheapest plus every negative one
        order = np.argsort(v)
        chosen = np.zeros(m, bool)
        chosen[order[:k]] = True
        chosen |= v < 0
        # heuristic: complete to enough capacity and re-solve the allocation exactly
        mask = chosen.copy()
        for i in order:
            if p.capacity[mask].sum() >= total * 1.02:
                break
            mask[i] = True
        limit = o.n_open or o.max_open
        key = mask.tobytes()
        # the allocation LP costs ~100x a subgradient step: try a new site set only every 10th step
        if it % 10 == 1 and key not in tried and len(tried) < 40 and (limit is None or mask.sum() <= limit) and (o.n_open is None or mask.sum() == o.n_open) \
                and (o.budget is None or p.fixed_cost[mask].sum() <= o.budget) and not o.single_sourcing:
            tried.add(key)
            res = _transport(p, mask)
            if res is not None and res[0] < ub:
                ub, best_mask = res[0], mask
        if ub < math.inf and (ub - lb) <= 1e-9 * abs(ub):
            break
        g = 1.0 - (x * chosen[:, None]).sum(axis=0)
        norm = float(g @ g)
        if norm < 1e-12 or theta < 1e-4 or time.perf_counter() - t0 > time_budget:
            break
        target = ub if ub < math.inf else abs(bound) * 1.05 + 1.0
        lam = lam + theta * (target - bound) / norm * g
    v, _ = _knapsacks(p, best_lam, all_sites)
    if best_mask is not None and not o.single_sourcing and o.n_open is None and o.budget is None:
        ub, best_mask = _local_search(p, o, best_mask, ub, v, t0 + time_budget * 1.5)
    keep = np.ones(m, bool)
    if ub < math.inf:
        base = best_lam.sum()
        cap, tol = p.capacity, 1e-7 * abs(ub)
        for i in range(m):
            if best_mask is not None and best_mask[i]:
                continue
            rest = np.delete(v, i)
            forced = v[i] + _site_bound_rest(rest, np.delete(cap, i), k - 1, total - cap[i])
            if base + forced > ub + tol:
                keep[i] = False
    return Reduction(lb, ub, best_mask, keep, it, time.perf_counter() - t0)


def _local_search(p: FacilityProblem, o: DesignOptions, mask: np.ndarray, ub: float, v: np.ndarray,
                  deadline: float) -> tuple[float, np.ndarray]:
    """Improve a design by single drops, adds and swaps, trying sites in order of their Lagrangian value."""
    total = float(p.demand.sum())
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        opened = sorted(np.flatnonzero(mask), key=lambda i: -v[i])
        closed = sorted(np.flatnonzero(~mask), key=lambda i: v[i])[:8]
        moves = [(i, None) for i in opened] + [(None, k) for k in closed] + [(i, k) for i in opened[:4] for k in closed[:4]]
        for drop, add in moves:
            if time.perf_counter() > deadline:
                break
            trial = mask.copy()
            if drop is not None:
                trial[drop] = False
            if add is not None:
                trial[add] = True
            if p.capacity[trial].sum() < total or (o.max_open is not None and trial.sum() > o.max_open):
                continue
            res = _transport(p, trial)
            if res is not None and res[0] < ub - 1e-9 * abs(ub):
                ub, mask, improved = res[0], trial, True
                break
    return ub, mask


def _site_bound_rest(v: np.ndarray, cap: np.ndarray, k: int, total: float) -> float:
    """:func:`_site_bound` for the remaining sites once one is forced open (needs may already be met)."""
    return _site_bound(v, cap, max(k, 0), max(total, 0.0))


def _transport(p: FacilityProblem, open_mask: np.ndarray) -> tuple[float, np.ndarray] | None:
    """Cheapest split allocation to the open sites (an LP solved with GLOP); None when infeasible."""
    idx = np.flatnonzero(open_mask)
    s = pywraplp.Solver.CreateSolver("GLOP")
    x = {}
    obj = s.Objective()
    rows = [s.Constraint(1.0, 1.0) for _ in p.customers]
    caps = {i: s.Constraint(-s.infinity(), float(p.capacity[i])) for i in idx}
    for i in idx:
        for j in np.flatnonzero(np.isfinite(p.cost[i])):
            v = x[i, j] = s.NumVar(0.0, 1.0, "")
            obj.SetCoefficient(v, float(p.cost[i, j]))
            rows[j].SetCoefficient(v, 1.0)
            caps[i].SetCoefficient(v, float(p.demand[j]))
    if s.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    frac = np.zeros(p.cost.shape)
    for (i, j), v in x.items():
        frac[i, j] = v.solution_value()
    return float(p.fixed_cost[idx].sum() + obj.Value()), frac


# --- MIP ----------------------------------------------------------------------------------------
def solve_design(p: FacilityProblem, options: DesignOptions | None = None, progress: ProgressFn | None = None) -> FacilityResult:
    """Solve the capacitated facility location problem; raises NoRoute naming the constraint that cannot be met."""
    o = options or DesignOptions()
    progress = progress or (lambda f, msg="": None)
    check_feasible(p, o)
    if o.method == "auto":
        o = dataclasses.replace(o, method="reduce" if p.cost.size >= AUTO_REDUCE_CELLS else "plain")
    t0 = time.perf_counter()
    m, n = p.cost.shape
    keep = np.ones(m, bool)
    hint_mask = None
    stats: dict[str, float | int] = {"sites": m, "customers": n}
    if o.method in ("reduce", "strong"):
        progress(0.05, "Lagrangian bound and heuristic")
        red = lagrangian_reduce(p, o, time_budget=min(20.0, o.time_limit / 4))
        hint_mask = red.best_open
        if o.method == "reduce":
            keep = red.keep
        stats.update(lagrangian_bound=round(red.lower_bound, 6), heuristic=round(red.upper_bound, 6),
                     lagrangian_iterations=red.iterations, lagrangian_seconds=round(red.seconds, 3))
        progress(0.3, f"{int(keep.sum())} of {m} sites left after Lagrangian elimination")
    stats["sites_kept"] = int(keep.sum())
    allowed = np.isfinite(p.cost) & (p.demand[None, :] > 0) & keep[:, None]
    s = pywraplp.Solver.CreateSolver(o.solver)
    if s is None:  # pragma: no cover - depends on the OR-Tools build
        raise InvalidInput(f"solver {o.solver} is not available in this OR-Tools build", field="solver")
    inf = s.infinity()
    sites = np.flatnonzero(keep)
    y = {i: s.BoolVar(f"y{i}") for i in sites}
    x: dict[tuple[int, int], pywraplp.Variable] = {}
    obj = s.Objective()
    obj.SetMinimization()
    for i in sites:
        obj.SetCoefficient(y[i], float(p.fixed_cost[i]))
    demand_rows = [s.Constraint(1.0, 1.0, f"serve_{j}") for j in range(n)]
    cap_rows = {}
    for i in sites:
        row = cap_rows[i] = s.Constraint(-inf, 0.0, f"cap_{i}")
        row.SetCoefficient(y[i], -float(p.capacity[i]))
    for i, j in zip(*np.nonzero(allowed)):
        v = s.BoolVar("") if o.single_sourcing else s.NumVar(0.0, 1.0, "")
        x[i, j] = v
        obj.SetCoefficient(v, float(p.cost[i, j]))
        demand_rows[j].SetCoefficient(v, 1.0)
        cap_rows[i].SetCoefficient(v, float(p.demand[j]))
        # x_ij <= min(1, u_i/d_j) y_i: a customer bigger than the site can only be partly served there
        row = s.Constraint(-inf, 0.0)
        row.SetCoefficient(v, 1.0)
        row.SetCoefficient(y[i], -min(1.0, float(p.capacity[i] / p.demand[j])) if o.method != "plain" else -1.0)
    for j in np.flatnonzero(p.demand <= 0):
        demand_rows[j].SetBounds(-inf, inf)  # nothing to serve
    if o.method != "plain":
        total = float(p.demand.sum())
        agg = s.Constraint(total, inf, "aggregate_capacity")
        card = s.Constraint(float(_min_sites_for(p.capacity, total)), inf, "cardinality")
        for i in sites:
            agg.SetCoefficient(y[i], float(p.capacity[i]))
            card.SetCoefficient(y[i], 1.0)
    if o.max_open is not None or o.n_open is not None:
        lo = float(o.n_open) if o.n_open is not None else -inf
        hi = float(o.n_open if o.n_open is not None else o.max_open)
        row = s.Constraint(lo, hi, "n_open")
        for i in sites:
            row.SetCoefficient(y[i], 1.0)
    if o.budget is not None:
        row = s.Constraint(-inf, float(o.budget), "budget")
        for i in sites:
            row.SetCoefficient(y[i], float(p.fixed_cost[i]))
    # HiGHS through pywraplp 9.15 aborts the process on SetHint, so it gets no start
    if hint_mask is not None and o.hint and o.solver != "HIGHS":
        s.SetHint([y[i] for i in sites], [1.0 if hint_mask[i] else 0.0 for i in sites])
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, o.rel_gap)
    s.SetTimeLimit(int(max(1.0, o.time_limit - (time.perf_counter() - t0)) * 1000))
    s.SetNumThreads(o.threads)
    progress(0.35, f"solving the MIP ({o.solver}, {len(x)} allocation variables)")
    status = s.Solve(params)
    elapsed = time.perf_counter() - t0
    progress(1.0, "done")
    stats.update(x_vars=len(x), nodes=int(s.nodes()) if o.solver != "HIGHS" else -1)
    if status == pywraplp.Solver.INFEASIBLE:
        raise NoRoute(_explain_infeasible(p, o), field="design")
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return FacilityResult(p.name, "not_solved", math.nan, math.nan, math.inf, [], {}, {}, 0.0, 0.0, None,
                              elapsed, o.solver, o.method, stats)
    objective = s.Objective().Value()
    bound = s.Objective().BestBound()
    gap = abs(objective - bound) / max(abs(objective), 1e-9)
    open_idx = [int(i) for i in sites if y[i].solution_value() > 0.5]
    assignment: dict[str, dict[str, float]] = {}
    load = np.zeros(m)
    alloc = 0.0
    co2 = 0.0 if p.co2e is not None else None
    for (i, j), v in x.items():
        f = v.solution_value()
        if f > 1e-7:
            assignment.setdefault(p.customers[j], {})[p.sites[i]] = f
            load[i] += f * p.demand[j]
            alloc += f * p.cost[i, j]
            if co2 is not None:
                co2 += f * float(p.co2e[i, j])
    proven = status == pywraplp.Solver.OPTIMAL and gap <= max(o.rel_gap, 1e-6)
    return FacilityResult(
        name=p.name, status="optimal" if proven else "feasible", objective=objective, bound=bound, gap=gap,
        open=[p.sites[i] for i in open_idx], assignment=assignment,
        utilisation={p.sites[i]: float(load[i] / p.capacity[i]) if p.capacity[i] else 0.0 for i in open_idx},
        fixed_cost=float(p.fixed_cost[open_idx].sum()), allocation_cost=alloc, co2e=co2,
        solve_seconds=elapsed, solver=o.solver, method=o.method, stats=stats,
    )


def _explain_infeasible(p: FacilityProblem, o: DesignOptions) -> str:
    """Which optional constraint makes the model infeasible: relax each in turn and re-check quickly."""
    o = dataclasses.replace(o, method="plain")
    for attr, label in (("budget", "the budget"), ("max_open", "the site limit"), ("n_open", "the fixed site count"),
                        ("single_sourcing", "single sourcing")):
        if getattr(o, attr) in (None, False):
            continue
        relaxed = dataclasses.replace(o, **{attr: False if attr == "single_sourcing" else None}, time_limit=10.0, hint=False)
        try:
            solve_design(p, relaxed)
        except NoRoute:
            continue
        return f"{p.name}: no design meets {label} ({attr}={getattr(o, attr)}) together with the capacities and service levels"
    return f"{p.name}: the capacities and service-level limits cannot all be met"
