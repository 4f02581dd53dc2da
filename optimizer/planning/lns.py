"""Large-neighbourhood search for the batch plan: re-solve small parts of it exactly with HiGHS.

At 10,000 shipments branch-and-bound over the whole model finds nothing within the time limit,
and LP rounding leaves boxes partly filled and a few shipments unplaced when the space they need
is taken by others. LNS fixes most of the incumbent and lets HiGHS re-optimise a *neighbourhood*:
a few hundred shipments that compete for the same departures, pools and warehouse days. The fixed
shipments stay as constants (reduced capacities, cargo already in a pool), so each sub-MIP is
small enough to solve, or nearly, in a second or two (optimizer.planning.branch_and_bound), and any
improvement is exact for the whole plan (checked with :func:`optimizer.planning.problem.evaluate`
before it is accepted).

Neighbourhoods grow breadth-first over the rows (resources and pools) the shipments' choices share,
from a seed chosen by one of these rules, in turn (weighting them by recent savings per second,
as adaptive LNS does, measured no better here):

- an unplaced shipment that has choices (it needs others to move),
- a pool whose last box is partly filled (its cargo may fit elsewhere, or others may fill it),
- an open pool together with another pool that some of its shipments could use instead,
- a shipment whose incumbent choice differs from the LP relaxation's (RINS: where the LP sees a
  better arrangement), drawn with weight = what it pays over its LP choice.

The size adapts: it grows while sub-MIPs are solved to optimality and shrinks when they hit their
time limit.

Every ``ls_every_s`` seconds the pool local search (:func:`optimizer.planning.greedy.improve`) runs on
the incumbent in a thread of its own while the sub-MIPs go on, and once more at the end: each batch
of LNS changes opens cheap box-emptying and spare-space moves that it finds far faster than a
sub-MIP (10,000 shipments, 60 s from the same start, 3 seeds: 19.974 M with it every 20 s, against
19.989 M without).
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from optimizer.planning.branch_and_bound import branch_and_bound
from optimizer.planning.greedy import improve
from optimizer.planning.problem import Assignment, Choice, Evaluation, PlanProblem, Pool, Resource, evaluate

__all__ = ["LnsStats", "improve_lns", "subproblem"]


@dataclass
class LnsStats:
    """What the search did: sub-MIPs solved, improvements accepted (per seeding rule), objectives before and after."""

    rounds: int = 0
    accepted: int = 0
    optimal_subproblems: int = 0
    start_objective: float = 0.0
    objective: float = 0.0
    by_rule: dict[str, int] = field(default_factory=dict)
    time_s: float = 0.0


@dataclass
class Subproblem:
    """A neighbourhood as a problem of its own: its items, and the incumbent's choices as the hint."""

    problem: PlanProblem
    items: list[int]  # sub item -> original item
    hint: Assignment


def subproblem(problem: PlanProblem, assignment: Assignment, free: Sequence[int], used_boxes: Sequence[tuple[int, ...]],
               evaluation: Evaluation | None = None) -> Subproblem:
    """The problem restricted to the ``free`` items, every other item fixed at ``assignment``.

    Fixed items become constants: their resource use and the boxes of pools no free item can use
    are taken off the capacities; their cargo in pools a free item can use becomes the pool's base
    load. The sub-problem's objective differs from the whole plan's by a constant. (Restricting the
    free items to the neighbourhood's own pools made smaller models but worse plans: measured.)

    ``evaluation`` (of ``assignment``) saves the pass over every fixed item: the fixed loads are then
    the plan's totals less the free items' part (28 ms -> 3 ms per sub-problem at 10,000 shipments).
    """
    free_set = set(free)
    res_rows: dict[int, int] = {}
    pool_rows: dict[int, int] = {}
    for i in free:
        for ch in problem.choices[i]:
            for r, _ in ch.use:
                res_rows.setdefault(r, len(res_rows))
            for p, _, _ in ch.pool_use:
                pool_rows.setdefault(p, len(pool_rows))
    for p in list(pool_rows):
        r = problem.pools[p].teu_resource
        if r is not None:
            res_rows.setdefault(r, len(res_rows))
    fixed_use = [0.0] * len(problem.resources)
    base_kg: dict[int, float] = {}
    base_m3: dict[int, float] = {}
    if evaluation is not None and evaluation.item_use:
        for r in res_rows:
            fixed_use[r] = evaluation.item_use[r]
        for p in pool_rows:
            base_kg[p] = evaluation.pool_kg[p] - problem.pools[p].base_kg
            base_m3[p] = evaluation.pool_m3[p] - problem.pools[p].base_m3
        for i in free:
            a = assignment[i]
            if a is None:
                continue
            ch = problem.choices[i][a]
            for r, amount in ch.use:
                fixed_use[r] -= amount  # every row of a free item's choice is in res_rows
            for p, kg, m3 in ch.pool_use:
                base_kg[p] -= kg
                base_m3[p] -= m3
    else:
        for i, a in enumerate(assignment):
            if a is None or i in free_set:
                continue
            ch = problem.choices[i][a]
            for r, amount in ch.use:
                if r in res_rows:
                    fixed_use[r] += amount
            for p, kg, m3 in ch.pool_use:
                if p in pool_rows:
                    base_kg[p] = base_kg.get(p, 0.0) + kg
                    base_m3[p] = base_m3.get(p, 0.0) + m3
    for p, pool in enumerate(problem.pools):  # boxes of pools the free items cannot touch stay bought
        r = pool.teu_resource
        if r is not None and r in res_rows and p not in pool_rows:
            fixed_use[r] += sum(n * b.teu for n, b in zip(used_boxes[p], pool.boxes, strict=True))
    resources = [Resource(problem.resources[r].key, max(0.0, problem.resources[r].capacity - fixed_use[r])) for r in res_rows]
    pools = []
    for p in pool_rows:
        pool = problem.pools[p]
        r = pool.teu_resource
        pools.append(Pool(pool.key, res_rows[r] if r is not None else None, pool.boxes,
                          pool.base_kg + max(0.0, base_kg.get(p, 0.0)), pool.base_m3 + max(0.0, base_m3.get(p, 0.0))))
    choices = [[Choice(ch.cost, tuple((res_rows[r], a) for r, a in ch.use), tuple((pool_rows[p], kg, m3) for p, kg, m3 in ch.pool_use))
                for ch in problem.choices[i]] for i in free]
    sub = PlanProblem(resources, pools, choices, [problem.unassigned_cost[i] for i in free])
    return Subproblem(sub, list(free), [assignment[i] for i in free])


class _Neighbourhoods:
    """Seeds and breadth-first growth over the rows shared by items' choices."""

    def __init__(self, problem: PlanProblem, rng: random.Random, lp: list[list[float]] | None) -> None:
        self.problem = problem
        self.rng = rng
        n_res = len(problem.resources)
        self.item_rows: list[list[int]] = []  # row id: resource r -> r, pool p -> n_res + p
        self.row_items: dict[int, list[int]] = {}
        for i, chs in enumerate(problem.choices):
            rows = sorted({r for ch in chs for r, _ in ch.use} | {n_res + p for ch in chs for p, _, _ in ch.pool_use})
            self.item_rows.append(rows)
            for row in rows:
                self.row_items.setdefault(row, []).append(i)
        self.n_res = n_res
        self.lp_choice: list[int | None] | None = None
        if lp is not None:
            self.lp_choice = [max(range(len(row)), key=row.__getitem__) if row and max(row) > 0.5 else None for row in lp]

    def grow(self, seed_rows: Sequence[int], seed_items: Sequence[int], size: int) -> list[int]:
        """Items breadth-first from the seeds; the seed rows are visited in turn so that a
        neighbourhood seeded by two pools holds shipments of both."""
        chosen: dict[int, None] = dict.fromkeys(seed_items)
        queues = [deque([row]) for row in seed_rows] or [deque()]
        for i in seed_items:
            queues[0].extend(self.item_rows[i])
        seen_rows: set[int] = set()
        k = 0
        while any(queues) and len(chosen) < size:
            q = queues[k % len(queues)]
            k += 1
            if not q:
                continue
            row = q.popleft()
            if row in seen_rows:
                continue
            seen_rows.add(row)
            items = self.row_items.get(row, [])
            share = max(1, size // len(queues))
            if len(items) > share:  # a busy row: take a random part, so the neighbourhood spreads
                items = self.rng.sample(items, share)
            for i in items:
                if i not in chosen:
                    chosen[i] = None
                    q.extend(self.item_rows[i])
                    if len(chosen) >= size:
                        break
        return list(chosen)

    def seed(self, rule: str, assignment: Assignment, boxes: Sequence[tuple[int, ...]], m3: Sequence[float]) -> tuple[list[int], list[int]] | None:
        problem, rng = self.problem, self.rng
        if rule == "unplaced":
            items = [i for i, a in enumerate(assignment) if a is None and problem.choices[i]]
            return ([], [rng.choice(items)]) if items else None
        if rule == "pool":
            waste = []
            for p, pool in enumerate(problem.pools):
                if not any(boxes[p]):
                    continue
                cap = sum(n * b.max_m3 for n, b in zip(boxes[p], pool.boxes, strict=True))
                waste.append((max(0.0, cap - m3[p]) + 1.0, p))
            if not waste:
                return None
            p = rng.choices([p for _, p in waste], weights=[w for w, _ in waste])[0]
            return [self.n_res + p], []
        if rule == "pair":  # an open pool and another pool that one of its candidate shipments could use
            open_pools = [p for p in range(len(problem.pools)) if any(boxes[p])]
            if not open_pools:
                return None
            p = rng.choice(open_pools)  # uniform: weighting by spare box space measured worse
            i = rng.choice(self.row_items[self.n_res + p])
            others = [row for row in self.item_rows[i] if row >= self.n_res and row != self.n_res + p]
            return ([self.n_res + p, rng.choice(others)] if others else [self.n_res + p]), []
        if rule == "lp" and self.lp_choice is not None:
            items = [i for i, a in enumerate(assignment) if self.lp_choice[i] != a and problem.choices[i]]
            if not items:
                return None
            # weighted by what the shipment pays over its LP choice: the costly deviations first
            # (10,000 shipments, 60 s from the same start, 3 seeds: 19.983 M against 20.010 M
            # drawn uniformly; squared weights, drawing this rule 3x as often or adding a rule
            # weighted by cost over the cheapest choice measured no better)
            w = []
            for i in items:
                a, c = assignment[i], self.lp_choice[i]
                cur = problem.unassigned_cost[i] if a is None else problem.choices[i][a].cost
                w.append(max(1.0, cur - (problem.choices[i][c].cost if c is not None else 0.0)))
            return [], [rng.choices(items, weights=w)[0]]
        return None


def improve_lns(
    problem: PlanProblem,
    assignment: Assignment,
    *,
    time_budget_s: float,
    lp: list[list[float]] | None = None,
    seed: int = 0,
    size: int = 60,
    sub_time_s: float = 1.0,
    sub_gap: float = 25.0,
    workers: int = 2,
    ls_every_s: float = 20.0,
    final_ls_s: float = 3.0,
    on_improve: Callable[[float], None] | None = None,
    stop: Callable[[float], bool] | None = None,
) -> tuple[Assignment, LnsStats]:
    """Improve a feasible ``assignment`` by re-solving neighbourhoods with HiGHS; never returns worse.

    ``on_improve(objective)`` is called after each accepted change
    (progress for long-running jobs). The search ends early once ``stop(objective)`` is true (the
    plan is proven close enough to a bound found meanwhile).

    ``workers`` sub-MIPs run at once in threads (HiGHS releases the GIL): each is built from the
    incumbent of its start, and its result is merged into the incumbent of its end and accepted
    only when the whole plan, re-evaluated exactly, is feasible and cheaper. The pool local search
    runs every ``ls_every_s`` seconds and in the last ``final_ls_s`` seconds (at most a tenth of
    the budget; 0 turns either off).
    """
    t0 = time.perf_counter()
    rng = random.Random(seed)
    hood = _Neighbourhoods(problem, rng, lp)
    ev = evaluate(problem, assignment)
    stats = LnsStats(start_objective=ev.objective, objective=ev.objective)
    if not ev.feasible:
        return list(assignment), stats
    best = list(assignment)
    final_ls_s = min(final_ls_s, 0.1 * time_budget_s)  # short searches keep most of their time for sub-MIPs
    rules = ["unplaced", "pool", "pair", "lp"]
    counter = 0
    sizes = {"size": size}

    def left() -> float:
        return time_budget_s - (time.perf_counter() - t0)

    def stopped() -> bool:
        return stop is not None and stop(ev.objective)

    def accept(cand: Assignment, cev: Evaluation, rule: str) -> bool:
        nonlocal best, ev
        if not (cev.feasible and cev.objective < ev.objective - 1e-6):
            return False
        best, ev = cand, cev
        stats.accepted += 1
        stats.by_rule[rule] = stats.by_rule.get(rule, 0) + 1
        stats.objective = ev.objective
        if on_improve is not None:
            on_improve(ev.objective)
        return True

    def next_job() -> tuple[str, Subproblem] | None:
        nonlocal counter
        for _ in range(2 * len(rules)):
            rule = rules[counter % len(rules)]
            counter += 1
            seeded = hood.seed(rule, best, ev.boxes, ev.pool_m3)
            if seeded is not None:
                free = hood.grow(seeded[0], seeded[1], sizes["size"])
                return rule, subproblem(problem, best, free, ev.boxes, ev)
        return None

    def run(sub: Subproblem, limit: float):
        # proving the last fraction of a per cent costs most of a sub-MIP's time and is not needed:
        # stop within ``sub_gap`` (money) of the sub-problem's optimum
        return branch_and_bound(sub.problem, time_limit_s=limit, hint=sub.hint, absolute_gap=sub_gap, min_time_s=0.1)

    def merge(start: Assignment, items: Sequence[int], result: Sequence[int | None], rule: str) -> None:
        # a job's changes, made against the incumbent of its start, applied to the incumbent of now;
        # if other jobs changed its items meanwhile and that mix is no better, its own result whole
        cand = list(best)
        changed = overlap = False
        for i, a in zip(items, result, strict=True):
            if a != start[i]:
                cand[i] = a
                changed = True
            overlap = overlap or best[i] != start[i]
        if not changed or accept(cand, evaluate(problem, cand), rule) or not overlap:
            return
        cand = list(best)
        for i, a in zip(items, result, strict=True):
            cand[i] = a
        accept(cand, evaluate(problem, cand), rule)

    # the local search is pure Python: it runs in a thread of its own, so that the sub-MIPs (which
    # release the GIL) go on meanwhile and its changes merge like theirs
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, ThreadPoolExecutor(max_workers=1) as ls_pool:
        running: dict[object, tuple[str, Subproblem | None, Assignment]] = {}
        last_ls = ls_started = time.perf_counter()
        while True:
            while sum(1 for _, sub, _ in running.values() if sub is not None) < max(1, workers) and left() > final_ls_s + 0.3 \
                    and not stopped():
                job = next_job()
                if job is None:
                    break
                running[pool.submit(run, job[1], min(sub_time_s, max(0.2, left())))] = (job[0], job[1], best)
            if ls_every_s > 0 and time.perf_counter() - last_ls > ls_every_s and left() > final_ls_s + 5.0 and not stopped():
                running[ls_pool.submit(improve, problem, best, time_budget_s=min(5.0, left() - final_ls_s - 1.0))] = ("local_search", None, best)
                ls_started, last_ls = time.perf_counter(), math.inf  # the next one starts after this one ends
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                rule, sub, start = running.pop(fut)
                res = fut.result()
                if sub is None:
                    merge(start, range(len(start)), res, rule)
                    last_ls = time.perf_counter()
                    # keep back for the last search about what this one took (it shared the GIL, the
                    # last runs alone): at 1,000 shipments it converges in a fraction of a second
                    final_ls_s = min(final_ls_s, max(0.3, last_ls - ls_started))
                    continue
                stats.rounds += 1
                if res.status == "optimal":
                    stats.optimal_subproblems += 1
                    sizes["size"] = min(int(sizes["size"] * 1.1) + 1, 1500)
                else:
                    sizes["size"] = max(30, int(sizes["size"] * 0.9))
                if res.source == "mip":
                    merge(start, sub.items, res.assignment, rule)
    if final_ls_s > 0 and left() > 0.2 and not stopped():
        cand = improve(problem, best, time_budget_s=left())
        accept(cand, evaluate(problem, cand), "local_search")
    stats.time_s = round(time.perf_counter() - t0, 3)
    return best, stats
