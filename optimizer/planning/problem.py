"""The batch-planning problem, free of the network and of any solver: items x choices, capacities and box pools.

Each item (a shipment) takes at most one of its choices or stays unassigned at ``unassigned_cost``.
A choice costs ``cost`` (freight + lateness + carbon, already weighted) and uses fixed amounts of
capacity resources (TEU / kg / m³ of a departure, m³ of a warehouse's inbound day) and puts kg and
m³ into consolidation *pools* (LCL cargo of one class on one rail/sea departure). A pool buys whole
boxes (20GP/40HQ): the boxes must hold the pool's kg and m³, cost money and take TEU on their
departure.

:func:`evaluate` computes the exact objective of a given assignment (cheapest feasible box mix per
pool); the greedy baseline, the solver's phases, the tests' exhaustive search and the plan report
all use it. This module is the data every other planning module reads and imports none of them:
the MIP is built in optimizer.planning.model and solved in optimizer.planning.solve (as PyVRP keeps
``ProblemData`` apart from ``solve``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

EPS = 1e-6


@dataclass(frozen=True, slots=True)
class BoxType:
    code: str  # 20GP / 40HQ
    cost: float  # freight + per-box surcharges
    max_kg: float
    max_m3: float
    teu: int


@dataclass(frozen=True, slots=True)
class Resource:
    key: str
    capacity: float


@dataclass(frozen=True, slots=True)
class Pool:
    key: str
    teu_resource: int | None  # index of the departure's TEU resource (None: not capacity-limited)
    boxes: tuple[BoxType, ...]
    base_kg: float = 0.0  # cargo already in the pool that no item of the problem moves (LNS sub-problems)
    base_m3: float = 0.0


@dataclass(frozen=True, slots=True)
class Choice:
    cost: float
    use: tuple[tuple[int, float], ...] = ()  # (resource index, amount), each resource at most once
    pool_use: tuple[tuple[int, float, float], ...] = ()  # (pool index, kg, m3), each pool at most once


@dataclass
class PlanProblem:
    resources: list[Resource]
    pools: list[Pool]
    choices: list[list[Choice]]  # per item
    unassigned_cost: list[float]


Assignment = list[int | None]  # per item: index into its choices, or None (unassigned)


@dataclass
class Evaluation:
    objective: float  # including unassigned costs
    feasible: bool
    boxes: list[tuple[int, ...]]  # per pool: count of each box type
    box_cost: list[float]  # per pool
    used: list[float]  # per resource, including pool boxes
    violations: list[str] = field(default_factory=list)
    pool_m3: list[float] = field(default_factory=list)  # per pool: cargo m³ (base load included)
    pool_kg: list[float] = field(default_factory=list)  # per pool: cargo kg (base load included)
    item_use: list[float] = field(default_factory=list)  # per resource: what the items use (``used`` without boxes)


# --- box mixes ----------------------------------------------------------------------------------
def box_mixes(pool: Pool, kg: float, m3: float) -> list[tuple[float, int, tuple[int, ...]]]:
    """Pareto-optimal (cost, teu, counts) box mixes holding ``kg`` and ``m3`` (cargo split freely across boxes).

    One or two box types: for each count of the first type the fewest boxes of the second are
    needed, so enumerating the first type's count is exact.
    """
    if kg <= EPS and m3 <= EPS:
        return [(0.0, 0, tuple(0 for _ in pool.boxes))]
    types = pool.boxes
    if len(types) == 1:
        b = types[0]
        n = math.ceil(max(kg / b.max_kg, m3 / b.max_m3) - 1e-9)
        return [(n * b.cost, n * b.teu, (n,))]
    if len(types) != 2:
        raise ValueError("pools support one or two box types")
    a, b = types
    out: list[tuple[float, int, tuple[int, ...]]] = []
    n_max = math.ceil(max(kg / a.max_kg, m3 / a.max_m3) - 1e-9)
    for na in range(n_max + 1):
        rk, rm = max(0.0, kg - na * a.max_kg), max(0.0, m3 - na * a.max_m3)
        nb = math.ceil(max(rk / b.max_kg, rm / b.max_m3) - 1e-9) if (rk > EPS or rm > EPS) else 0
        out.append((na * a.cost + nb * b.cost, na * a.teu + nb * b.teu, (na, nb)))
    out.sort()
    pareto: list[tuple[float, int, tuple[int, ...]]] = []
    for mix in out:
        if not pareto or mix[1] < pareto[-1][1]:
            pareto.append(mix)
    return pareto


def link_weights(pool: Pool, kg: float, m3: float) -> tuple[float, ...]:
    """Weights w of the valid inequality ``sum_b w_b * n_b >= x`` for an item of ``kg``/``m3`` in ``pool``.

    ``x`` (the item is in the pool) forces boxes that can hold the item. ``w_b = 1 / need_b``
    (need_b: boxes of type b the item needs on its own) is used when every minimal mix holding
    the item satisfies the inequality (checked by enumerating them; the inequality is monotone
    in the counts, so minimal mixes suffice), else ``w_b = 1`` (a pool holding cargo
    buys at least one box). A 40 m³ item thus forces a 40HQ or two 20GP in the LP, not one box.
    """
    need = [max(1, math.ceil(max(kg / b.max_kg, m3 / b.max_m3) - 1e-9)) for b in pool.boxes]
    w = tuple(1.0 / k for k in need)
    if all(k == 1 for k in need) or len(pool.boxes) == 1:
        return w
    if len(pool.boxes) != 2:
        return tuple(1.0 for _ in pool.boxes)
    a, b = pool.boxes
    for na in range(need[0] + 1):  # every minimal mix: na of the first type, the fewest of the second
        rk, rm = max(0.0, kg - na * a.max_kg), max(0.0, m3 - na * a.max_m3)
        nb = math.ceil(max(rk / b.max_kg, rm / b.max_m3) - 1e-9) if (rk > EPS or rm > EPS) else 0
        if na * w[0] + nb * w[1] < 1.0 - 1e-9:
            return (1.0, 1.0)
    return w


def _pick_mixes(mix_lists: list[list[tuple[float, int, tuple[int, ...]]]], budget: float) -> list[int] | None:
    """Cheapest choice of one mix per pool with total TEU <= budget (small DP); None if impossible."""
    cap = math.floor(budget + 1e-6)
    if cap < 0:
        return None
    states: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}
    for mixes in mix_lists:
        nxt: dict[int, tuple[float, list[int]]] = {}
        for teu, (cost, picks) in states.items():
            for j, (c, t, _) in enumerate(mixes):
                tt = teu + t
                if tt > cap:
                    continue
                cand = (cost + c, picks + [j])
                if tt not in nxt or cand[0] < nxt[tt][0] - 1e-9:
                    nxt[tt] = cand
        states = nxt
        if not states:
            return None
    return min(states.values(), key=lambda v: v[0])[1]


def evaluate(problem: PlanProblem, assignment: Assignment) -> Evaluation:
    """Exact objective of ``assignment`` with the cheapest feasible box mix in every pool."""
    used = [0.0] * len(problem.resources)
    pool_kg = [p.base_kg for p in problem.pools]
    pool_m3 = [p.base_m3 for p in problem.pools]
    objective = 0.0
    for i, a in enumerate(assignment):
        if a is None:
            objective += problem.unassigned_cost[i]
            continue
        ch = problem.choices[i][a]
        objective += ch.cost
        for r, amount in ch.use:
            used[r] += amount
        for p, kg, m3 in ch.pool_use:
            pool_kg[p] += kg
            pool_m3[p] += m3
    violations: list[str] = []
    item_use = list(used)
    boxes: list[tuple[int, ...]] = [tuple(0 for _ in p.boxes) for p in problem.pools]
    box_cost = [0.0] * len(problem.pools)
    by_resource: dict[int | None, list[int]] = {}
    for p, pool in enumerate(problem.pools):
        if pool_kg[p] > EPS or pool_m3[p] > EPS:
            by_resource.setdefault(pool.teu_resource, []).append(p)
    for r, pools in by_resource.items():
        mix_lists = [box_mixes(problem.pools[p], pool_kg[p], pool_m3[p]) for p in pools]
        budget = math.inf if r is None else problem.resources[r].capacity - used[r]
        picks = _pick_mixes(mix_lists, budget) if r is not None else [0] * len(pools)
        if picks is None:
            violations.append(f"{problem.resources[r].key}: consolidated boxes do not fit")
            picks = [len(m) - 1 for m in mix_lists]  # fewest TEU, for the report
        for p, mixes, j in zip(pools, mix_lists, picks, strict=True):
            cost, teu, counts = mixes[j]
            boxes[p], box_cost[p] = counts, cost
            objective += cost
            if r is not None:
                used[r] += teu
    for r, res in enumerate(problem.resources):
        if used[r] > res.capacity + 1e-6 and not any(v.startswith(res.key) for v in violations):
            violations.append(f"{res.key}: {used[r]:.6g} > {res.capacity:.6g}")
    return Evaluation(objective, not violations, boxes, box_cost, used, violations, pool_m3, pool_kg, item_use)
