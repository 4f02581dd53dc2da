"""Solving a plan problem: the phases, in the time limit, that :func:`solve_mip` runs with :class:`SolveParams`.

    result = solve_mip(problem, SolveParams(time_limit_s=20), hint=greedy_plan)

Phases: the hint (greedy plan) -> LP relaxation (the bound) -> LP rounding + pool local search
(optimizer.planning.greedy) -> branch-and-bound hinted with the best plan so far
(optimizer.planning.branch_and_bound) and/or large-neighbourhood search (optimizer.planning.lns), with
HiGHS's root cut loop in a child process on larger problems (optimizer.planning.bound). The model is
built once (optimizer.planning.model); the problem itself (optimizer.planning.problem) knows none of
this. Why a MIP, and the measured choices behind the defaults, are in optimizer.planning.planner.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from optimizer.network.progress import ProgressFn
from optimizer.planning.bound import RootBound
from optimizer.planning.branch_and_bound import MipResult, SolveLog, run_branch_and_bound
from optimizer.planning.greedy import improve, round_lp
from optimizer.planning.lns import improve_lns
from optimizer.planning.model import build_model, solve_relaxation
from optimizer.planning.problem import Assignment, PlanProblem, evaluate

__all__ = ["MipResult", "SolveParams", "solve_mip"]


@dataclass(frozen=True)
class SolveParams:
    """How :func:`solve_mip` spends its time and when it stops.

    The planner sets the time limit and both gaps and keeps the other defaults (measured on the
    bench, bench/plan_bench.py). LNS sub-problems do not go through here: they call
    optimizer.planning.branch_and_bound directly.
    """

    time_limit_s: float = 60.0
    """Wall-clock limit of the whole solve, seconds (the model build and every phase included)."""
    min_model_s: float = 0.5
    """With a time limit under this, no model is built: the hint is returned (status ``time_limit``)."""
    relative_gap: float = 0.005
    """Stop once the plan is proven within this fraction of its objective (HiGHS's tolerance too)."""
    absolute_gap: float | None = None
    """When given, stop within this much money of the bound instead of ``relative_gap`` (the planner
    passes the relative gap of the plan's real cost, without the unassigned penalties)."""
    strengthen: bool = True
    """Add the item-pool box rows (``link_weights``) and base-load rows to the model: a tighter LP."""
    lp_phase: bool = True
    """Solve the LP relaxation first: its bound, and LP rounding + local search as a starting plan."""
    improve_s: float = 20.0
    """At most this many seconds (and a quarter of the time left) of pool local search on the rounded LP; 0: none."""
    min_mip_s: float = 1.0
    """Branch-and-bound runs only with more than this many seconds left, and for at least this long."""
    mip_max_binaries: float = 60_000
    """Above this many binaries branch-and-bound is skipped (HiGHS found nothing better than the
    rounded LP at 1.5e5 in two minutes); LNS gets the time instead."""
    mip_share: float = 0.3
    """With LNS after it, branch-and-bound gets this share of the time left after the LP phase."""
    lns: bool = True
    """Run large-neighbourhood search (optimizer.planning.lns) from the best plan for the rest of the time."""
    lns_workers: int = 2
    """Sub-MIPs LNS solves at once, in threads."""
    root_bound_min_s: float = 40.0
    """The root-bound child process (optimizer.planning.bound) runs only with at least this time limit, seconds ..."""
    root_child_min_binaries: float = 7_500
    """... and above this many binaries; it then replaces branch-and-bound beside LNS."""


def solve_mip(
    problem: PlanProblem,
    params: SolveParams | None = None,
    *,
    hint: Assignment | None = None,
    progress: ProgressFn | None = None,
) -> MipResult:
    """Solve the MIP with HiGHS (MathOpt), hinted with ``hint``; never worse than a feasible hint.

    With ``params.lns`` the time left after the LP phase is split: branch-and-bound gets
    ``mip_share`` of it (it proves the bound: HiGHS's root cuts close much of the LP's box-rounding
    gap on small instances) and large-neighbourhood search (optimizer.planning.lns) the rest, from
    the best plan so far. Above ``mip_max_binaries`` branch-and-bound is skipped and LNS gets all of
    it. ``progress(fraction of the time limit, message)`` reports the phases and LNS improvements.

    Above ``root_child_min_binaries``, when at least ``root_bound_min_s`` are given, HiGHS's root
    cut loop runs instead in a child process (optimizer.planning.bound) beside the whole LNS: at that
    size branch-and-bound's bound is its root's (1,000 shipments: 2.1001 M after 34 s, 2.1008 M
    after 120 s), and LNS does better with the time (bench, tight rail: gap 0.87-1.08 % against
    1.11-1.16 % in 115 s; with the default capacities equal). Below it (~500 shipments) the two were equal
    within noise, and branch-and-bound proves small plans outright (100 shipments: 1.5 s).
    LNS stops as soon as a bound (branch-and-bound's or the child's) proves its plan within the
    tolerance; the status is then ``optimal``.
    """
    from ortools.math_opt.python import mathopt

    p = params or SolveParams()
    log = SolveLog(problem, p.time_limit_s, p.relative_gap, p.absolute_gap)
    n_binaries = sum(len(c) for c in problem.choices)
    if p.time_limit_s < p.min_model_s:  # the plan's time went to its candidates: no time to build a model
        if hint is not None:
            hint_eval = log.offer(list(hint), "hint")
            if hint_eval.feasible:
                log.objectives["hint"] = round(hint_eval.objective, 2)
        log.status = "time_limit"
        return log.result()
    root = None
    if p.lns and p.time_limit_s >= p.root_bound_min_s and n_binaries > p.root_child_min_binaries:
        # its model build and root LP overlap with ours; the pool cuts help HiGHS only on the largest
        root = RootBound.start(problem, p.time_limit_s, pool_cuts=n_binaries > p.mip_max_binaries)
    built = build_model(problem, strengthen=p.strengthen)

    def report(message: str) -> None:
        if progress is not None:
            progress(min(1.0, (time.perf_counter() - log.t0) / max(p.time_limit_s, 1e-9)), message)

    log.phases["build"] = round(time.perf_counter() - log.t0, 3)

    # candidates for the returned plan: the hint (greedy), the LP rounding, the MIP incumbent, LNS's
    if hint is not None:
        hint_eval = log.offer(list(hint), "hint")
        if hint_eval.feasible:
            log.objectives["hint"] = round(hint_eval.objective, 2)
    lp_x: list[list[float]] | None = None

    # Phase 1: LP relaxation. Its value is a valid lower bound; rounding it (each shipment to its
    # largest LP choice, boxes rounded up, overflow repaired) gives a consolidation-aware plan
    # that the myopic greedy cannot find, and a much better start for branch-and-bound.
    lp_share = 0.5 if root is None and n_binaries <= p.mip_max_binaries else 0.85  # no branch-and-bound after it: LP may use more
    if p.lp_phase and log.left() > 2.0:
        report("LP relaxation (HiGHS)")
        t_lp = time.perf_counter()
        lp = solve_relaxation(built, max(1.0, lp_share * log.left()))
        log.phases["lp"] = round(time.perf_counter() - t_lp, 3)
        if lp.termination.reason == mathopt.TerminationReason.OPTIMAL:
            t_r = time.perf_counter()
            log.bound = lp.objective_value()
            log.objectives["lp_bound"] = round(log.bound, 2)
            vals = lp.variable_values()
            lp_x = [[vals[v] for v in row] for row in built.x]
            rounded = round_lp(problem, lp_x)
            log.objectives["lp_rounding"] = round(evaluate(problem, rounded).objective, 2)
            log.phases["rounding"] = round(time.perf_counter() - t_r, 3)
            if p.improve_s > 0:
                rounded = improve(problem, rounded, time_budget_s=min(p.improve_s, 0.25 * max(0.0, log.left())))
            ev = log.offer(rounded, "lp_rounding")
            log.objectives["local_search"] = round(ev.objective, 2)
            log.phases["local_search"] = round(time.perf_counter() - t_r - log.phases["rounding"], 3)

    # Phase 2: branch-and-bound from the best plan so far, for the remaining time.
    # Above ``mip_max_binaries`` branch-and-bound is skipped: on the 10,000-shipment bench (1.5e5
    # binaries) HiGHS found nothing better than the rounded LP in two minutes and overran its time
    # limit in presolve; the LP bound still gives the reported gap.
    run_lns = p.lns and log.best is not None and bool(problem.choices)
    # beside the root child, branch-and-bound only if there is no plan for LNS to start from
    with_branch_and_bound = n_binaries <= p.mip_max_binaries and (root is None or log.best is None)
    if log.left() > p.min_mip_s and with_branch_and_bound:
        # 10 % of the remaining time is kept back: HiGHS overruns its limit by its last node/presolve
        report("branch-and-bound (HiGHS)")
        share = p.mip_share if run_lns else 0.9
        run_branch_and_bound(built, log, max(p.min_mip_s, share * log.left()))

    proven = log.best is not None and log.within_tolerance(log.best.objective, log.bound)
    if run_lns and log.best is not None and not proven and log.left() > 1.0:
        # Phase 3: large-neighbourhood search from the best plan (the whole remaining time)
        report("improving the plan (LNS)")
        t_lns = time.perf_counter()

        def close_enough(obj: float) -> bool:  # a bound proves the plan: branch-and-bound's, or the root child's meanwhile
            return log.within_tolerance(obj, max(log.bound, root.best) if root is not None else log.bound)

        improved, stats = improve_lns(problem, log.best.assignment, time_budget_s=log.left() - 0.5, lp=lp_x,
                                      workers=p.lns_workers,
                                      on_improve=lambda obj: report(f"improving the plan (LNS): objective {obj:,.0f}"),
                                      stop=close_enough)
        ev = log.offer(improved, "lns")
        log.objectives["lns"] = round(ev.objective, 2)
        log.phases["lns"] = round(time.perf_counter() - t_lns, 3)
        log.phases["lns_rounds"] = stats.rounds
    if root is not None:
        root_bound = root.stop()
        if math.isfinite(root_bound):
            log.objectives["root_bound"] = round(root_bound, 2)
            log.bound = max(log.bound, root_bound)
    return log.result()
