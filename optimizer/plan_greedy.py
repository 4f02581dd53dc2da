"""Greedy first-come-first-served baseline: each shipment, in ready-date order, takes its cheapest
still-feasible choice.

"Cheapest" is the marginal objective: the choice's own cost plus, for consolidated choices, the
extra boxes its cargo forces the pool to buy (zero when it fits into boxes already opened). This is
what a desk quoting shipment by shipment against live space does; the MIP in plan_model sees all
shipments at once. The greedy plan is also the MIP's hint and its fallback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from optimizer.plan_model import EPS, Assignment, PlanProblem, box_mixes


def greedy(problem: PlanProblem, order: Sequence[int], start: Assignment | None = None) -> Assignment:
    """Assign items in ``order``; an item with no feasible choice stays unassigned (None).

    With ``start`` (a feasible assignment) its choices are kept and only its unassigned items are
    inserted: the repair step after a time-limited solve.
    """
    caps = [r.capacity for r in problem.resources]
    used = [0.0] * len(caps)
    pools = problem.pools
    pool_kg = [0.0] * len(pools)
    pool_m3 = [0.0] * len(pools)
    # current boxes of each pool: (cost, teu, held kg, held m3)
    pool_state = [(0.0, 0, 0.0, 0.0)] * len(pools)
    assignment: Assignment = [None] * len(problem.choices)
    if start is not None:
        from optimizer.plan_model import evaluate

        ev = evaluate(problem, start)
        used = list(ev.used)
        assignment = list(start)
        for i, a in enumerate(start):
            if a is None:
                continue
            for p, kg, m3 in problem.choices[i][a].pool_use:
                pool_kg[p] += kg
                pool_m3[p] += m3
        for p, counts in enumerate(ev.boxes):
            bs = pools[p].boxes
            pool_state[p] = (ev.box_cost[p], sum(n * b.teu for n, b in zip(counts, bs, strict=True)),
                             sum(n * b.max_kg for n, b in zip(counts, bs, strict=True)),
                             sum(n * b.max_m3 for n, b in zip(counts, bs, strict=True)))
        order = [i for i in order if start[i] is None]

    def pool_step(p: int, add_kg: float, add_m3: float, extra_teu_on_res: float) -> tuple[float, tuple] | None:
        """(marginal cost, new state) of adding cargo to pool p, or None when its boxes cannot fit."""
        cost0, teu0, hk, hm = pool_state[p]
        kg, m3 = pool_kg[p] + add_kg, pool_m3[p] + add_m3
        if kg <= hk + EPS and m3 <= hm + EPS:
            return 0.0, pool_state[p]
        pool = pools[p]
        r = pool.teu_resource
        budget = math.inf if r is None else caps[r] - (used[r] - teu0) - extra_teu_on_res
        best = None
        for cost, teu, counts in box_mixes(pool, kg, m3):
            if teu <= budget + EPS and (best is None or cost < best[0] - 1e-9):
                best = (cost, teu, counts)
        if best is None:
            return None
        cost, teu, counts = best
        hk = sum(n * b.max_kg for n, b in zip(counts, pool.boxes, strict=True))
        hm = sum(n * b.max_m3 for n, b in zip(counts, pool.boxes, strict=True))
        return cost - cost0, (cost, teu, hk, hm)

    for i in order:
        best: tuple[float, int, list] | None = None
        for c, ch in enumerate(problem.choices[i]):
            ok = True
            for r, amount in ch.use:
                if used[r] + amount > caps[r] + EPS:
                    ok = False
                    break
            if not ok:
                continue
            marginal = ch.cost
            updates = []
            if ch.pool_use:
                extra = dict(ch.use)
                for p, kg, m3 in ch.pool_use:
                    r = pools[p].teu_resource
                    step = pool_step(p, kg, m3, extra.get(r, 0.0) if r is not None else 0.0)
                    if step is None:
                        ok = False
                        break
                    marginal += step[0]
                    updates.append((p, kg, m3, step[1]))
                if not ok:
                    continue
            if best is None or marginal < best[0] - 1e-9:
                best = (marginal, c, updates)
        if best is None or best[0] >= problem.unassigned_cost[i]:
            continue
        _, c, updates = best
        assignment[i] = c
        for r, amount in problem.choices[i][c].use:
            used[r] += amount
        for p, kg, m3, state in updates:
            pool_kg[p] += kg
            pool_m3[p] += m3
            r = pools[p].teu_resource
            if r is not None:
                used[r] += state[1] - pool_state[p][1]
            pool_state[p] = state
    return assignment
