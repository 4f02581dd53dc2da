"""Residual-capacity cuts: valid for every integer plan, and they cut off the LP's fractional boxes."""

from __future__ import annotations

import itertools
import random

import pytest

from optimizer.planning.cuts import add_pool_cuts, pool_cuts
from optimizer.planning.model import build_model, solve_relaxation
from optimizer.planning.problem import PlanProblem, evaluate
from optimizer.planning.solve import SolveParams, solve_mip
from tests.plan_problems import weekly_problem


def _lp_point(problem: PlanProblem) -> tuple[list[list[float]], list[list[float]], float]:
    built = build_model(problem)
    res = solve_relaxation(built)
    vals = res.variable_values()
    return [[vals[v] for v in row] for row in built.x], [[vals[v] for v in row] for row in built.n], res.objective_value()


def _holds(cut, x: list[list[float]], n: list[list[float]]) -> bool:
    lhs = sum(coef * x[i][c] for i, c, coef in cut.terms) - cut.r * sum(n[cut.pool])
    return lhs <= cut.rhs + 1e-6


@pytest.mark.parametrize("seed", [0, 3, 4, 11])  # plans whose LP buys a fractional box (most small ones do not)
def test_cuts_hold_for_every_integer_plan_and_cut_off_the_lp_point(seed: int) -> None:
    rng = random.Random(seed)
    problem = weekly_problem(rng, 7, departures=2, teu=6)
    x, n, _ = _lp_point(problem)
    cuts = pool_cuts(problem, x, n)
    assert cuts, "the LP of a consolidation plan buys fractional boxes"
    for cut in cuts:
        assert not _holds(cut, x, n)  # separated because violated at the LP point
    # every assignment (exhaustively) with its cheapest feasible boxes satisfies every cut
    checked = 0
    for picks in itertools.product(*[[None, *range(len(chs))] for chs in problem.choices]):
        ev = evaluate(problem, list(picks))
        if not ev.feasible:
            continue
        xi = [[1.0 if a == c else 0.0 for c in range(len(chs))] for a, chs in zip(picks, problem.choices, strict=True)]
        ni = [[float(k) for k in counts] for counts in ev.boxes]
        assert all(_holds(cut, xi, ni) for cut in cuts)
        checked += 1
    assert checked > 100


def test_cuts_lift_the_lp_bound_and_keep_the_optimum() -> None:
    problem = weekly_problem(random.Random(7), 40, departures=4, teu=6)
    x, n, lp = _lp_point(problem)
    built = build_model(problem)
    add_pool_cuts(built, pool_cuts(problem, x, n))
    lifted = solve_relaxation(built).objective_value()
    exact = solve_mip(problem, SolveParams(time_limit_s=30, relative_gap=1e-9, lns=False))
    assert exact.status == "optimal"
    assert lp < lifted <= exact.objective + 1e-6
