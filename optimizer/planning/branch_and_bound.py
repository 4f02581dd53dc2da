"""Branch-and-bound with HiGHS on a plan problem, hinted with a plan: exact on small problems and neighbourhoods.

:func:`branch_and_bound` solves a whole problem: it builds the MIP (optimizer.planning.model), hints
it with a plan, lets HiGHS branch within a time limit and a gap tolerance, and returns the better of
the hint and HiGHS's incumbent as a :class:`MipResult`. Large-neighbourhood search
(optimizer.planning.lns) calls it on every neighbourhood. The orchestration (optimizer.planning.solve)
runs the same search, :func:`run_branch_and_bound`, as one of its phases on the model it has
already built, and keeps its best plan and bound in the same :class:`SolveLog`. This module lies
below both, so LNS never imports the orchestration that calls it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from optimizer.planning.model import MipModel, build_model
from optimizer.planning.problem import Assignment, Evaluation, PlanProblem, evaluate

__all__ = ["Incumbent", "MipResult", "SolveLog", "branch_and_bound", "run_branch_and_bound"]


@dataclass
class MipResult:
    """The plan a solve returns, its proven bound and what each phase took and reached."""

    assignment: Assignment
    boxes: list[tuple[int, ...]]
    objective: float
    bound: float
    gap: float
    status: str
    time_s: float
    used_hint: bool  # True when the hint (greedy plan) was returned because the solver found nothing better
    source: str = "mip"  # which phase produced the plan: hint | lp_rounding | mip | lns
    phases_s: dict[str, float] = field(default_factory=dict)
    objectives: dict[str, float] = field(default_factory=dict)  # objective reached by each phase


class Incumbent(NamedTuple):
    """The best feasible plan so far: its exact objective, boxes per pool, and the phase that found it."""

    objective: float
    assignment: Assignment
    boxes: list[tuple[int, ...]]
    source: str


@dataclass
class SolveLog:
    """What a solve has so far: the best plan (:class:`Incumbent`), the best proven bound, the last
    solver status, and the seconds and objective of each phase (``phases``, ``objectives``).

    ``relative_gap`` and ``absolute_gap`` (when given, instead of the relative one) are the stopping
    tolerance, HiGHS's and the solve's own: :meth:`within_tolerance`.
    """

    problem: PlanProblem
    time_limit_s: float
    relative_gap: float = 0.005
    absolute_gap: float | None = None
    t0: float = field(default_factory=time.perf_counter)
    best: Incumbent | None = None
    bound: float = -math.inf
    status: str = "feasible"  # no branch-and-bound: a feasible plan, its gap against the LP bound
    phases: dict[str, float] = field(default_factory=dict)
    objectives: dict[str, float] = field(default_factory=dict)

    def left(self) -> float:
        """Seconds left of the time limit."""
        return self.time_limit_s - (time.perf_counter() - self.t0)

    def offer(self, assignment: Assignment, source: str) -> Evaluation:
        """Evaluate ``assignment``; it becomes the incumbent when feasible and cheaper. Its evaluation."""
        ev = evaluate(self.problem, assignment)
        if ev.feasible and (self.best is None or ev.objective < self.best.objective - 1e-6):
            self.best = Incumbent(ev.objective, assignment, ev.boxes, source)
        return ev

    def within_tolerance(self, objective: float, proof: float) -> bool:
        """HiGHS's own stopping rule: ``objective`` within the gap tolerance of the bound ``proof``."""
        return math.isfinite(proof) and objective - proof <= (
            self.absolute_gap if self.absolute_gap is not None else self.relative_gap * abs(objective))

    def result(self) -> MipResult:
        """The incumbent (or the empty plan) with its bound, gap and status; ``optimal`` when proven within the tolerance."""
        elapsed = time.perf_counter() - self.t0
        best = self.best
        if best is None:
            empty: Assignment = [None] * len(self.problem.choices)
            ev = evaluate(self.problem, empty)
            best = Incumbent(ev.objective, empty, ev.boxes, "empty")
        bound = self.bound if math.isfinite(self.bound) else -math.inf
        bound = min(bound, best.objective)
        gap = (best.objective - bound) / max(abs(best.objective), 1.0) if math.isfinite(bound) else math.inf
        status = self.status
        if self.within_tolerance(best.objective, bound):
            status = "optimal"  # proven within the stopping tolerance, whichever phase found the plan and the bound
        return MipResult(best.assignment, best.boxes, best.objective, bound, max(0.0, gap), status, elapsed,
                         best.source == "hint", best.source, self.phases, self.objectives)


def _hint_values(built: MipModel, assignment: Assignment, boxes: Sequence[tuple[int, ...]]) -> dict[object, float]:
    values: dict[object, float] = {}
    for i, row in enumerate(built.x):
        for c, v in enumerate(row):
            values[v] = 1.0 if assignment[i] == c else 0.0
        if built.u[i] is not None:
            values[built.u[i]] = 1.0 if assignment[i] is None else 0.0
    for p, row in enumerate(built.n):
        for k, v in enumerate(row):
            values[v] = float(boxes[p][k])
    return values


def run_branch_and_bound(built: MipModel, log: SolveLog, time_limit_s: float) -> None:
    """HiGHS's branch-and-bound on ``built`` (the MIP of ``log.problem``), hinted with ``log``'s best
    plan, for ``time_limit_s`` and within ``log``'s gap tolerance.

    Its status and dual bound go into ``log``, its incumbent is offered to it (source ``mip``).
    """
    from ortools.math_opt.python import mathopt

    model_params = None
    if log.best is not None:
        values = _hint_values(built, log.best.assignment, log.best.boxes)
        model_params = mathopt.ModelSolveParameters(solution_hints=[mathopt.SolutionHint(variable_values=values)])
    t_mip = time.perf_counter()
    params = mathopt.SolveParameters(time_limit=timedelta(seconds=time_limit_s), relative_gap_tolerance=log.relative_gap)
    if log.absolute_gap is not None:  # gap against the real cost, not against penalties in the objective
        params.relative_gap_tolerance = 0.0
        params.absolute_gap_tolerance = log.absolute_gap
    result = mathopt.solve(built.model, mathopt.SolverType.HIGHS, params=params, model_params=model_params)
    log.status = result.termination.reason.name.lower()
    dual = result.termination.objective_bounds.dual_bound
    if math.isfinite(dual):
        log.bound = max(log.bound, dual)
    if result.has_primal_feasible_solution():
        vals = result.variable_values()
        assignment: Assignment = [next((c for c, v in enumerate(row) if vals[v] > 0.5), None) for row in built.x]
        ev = log.offer(assignment, "mip")
        log.objectives["mip"] = round(ev.objective, 2)
    log.phases["mip"] = round(time.perf_counter() - t_mip, 3)


def branch_and_bound(
    problem: PlanProblem,
    *,
    time_limit_s: float,
    hint: Assignment | None = None,
    relative_gap: float = 0.005,
    absolute_gap: float | None = None,
    min_time_s: float = 1.0,
    strengthen: bool = True,
) -> MipResult:
    """Solve ``problem`` with HiGHS's branch-and-bound from ``hint``; never worse than a feasible hint.

    90 % of the time left after building the model goes to HiGHS (it overruns its limit by its last
    node or presolve); below ``min_time_s`` left it is not started. The status is ``optimal`` when
    the plan is proven within ``absolute_gap`` (when given) or ``relative_gap``.
    """
    log = SolveLog(problem, time_limit_s, relative_gap, absolute_gap)
    built = build_model(problem, strengthen=strengthen)
    log.phases["build"] = round(time.perf_counter() - log.t0, 3)
    if hint is not None:
        ev = log.offer(list(hint), "hint")
        if ev.feasible:
            log.objectives["hint"] = round(ev.objective, 2)
    if log.left() > min_time_s:
        run_branch_and_bound(built, log, max(min_time_s, 0.9 * log.left()))
    return log.result()
