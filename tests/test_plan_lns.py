"""Large-neighbourhood search: sub-problems are exact restrictions of the plan, and LNS only improves."""

from __future__ import annotations

import random

import pytest

from optimizer.planning.greedy import greedy, improve
from optimizer.planning.lns import improve_lns, subproblem
from optimizer.planning.problem import BoxType, Choice, PlanProblem, Pool, evaluate
from optimizer.planning.solve import SolveParams, solve_mip
from tests.plan_problems import weekly_problem

@pytest.mark.parametrize("seed", range(5))
def test_subproblem_objective_differs_by_a_constant(seed: int) -> None:
    """Every assignment of the free items costs the same in the sub-problem as in the whole plan, up to
    one constant, and is feasible in one exactly when it is feasible in the other."""
    rng = random.Random(seed)
    problem = weekly_problem(rng, 40)
    base = greedy(problem, list(range(40)))
    ev = evaluate(problem, base)
    free = rng.sample(range(40), 12)
    sub = subproblem(problem, base, free, ev.boxes)
    const = ev.objective - evaluate(sub.problem, sub.hint).objective
    for _ in range(30):
        picks = [rng.choice([None, *range(len(problem.choices[i]))]) for i in free]
        whole = list(base)
        for i, a in zip(free, picks, strict=True):
            whole[i] = a
        w, s = evaluate(problem, whole), evaluate(sub.problem, picks)
        assert w.feasible == s.feasible
        if w.feasible:
            assert w.objective == pytest.approx(s.objective + const, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_subproblem_from_the_plans_evaluation_equals_the_full_pass(seed: int) -> None:
    """The fast path (fixed loads = plan totals less the free items) builds the same sub-problem."""
    rng = random.Random(seed)
    problem = weekly_problem(rng, 50)
    base = greedy(problem, list(range(50)))
    ev = evaluate(problem, base)
    free = rng.sample(range(50), 15)
    slow, fast = subproblem(problem, base, free, ev.boxes), subproblem(problem, base, free, ev.boxes, ev)
    assert [r.key for r in fast.problem.resources] == [r.key for r in slow.problem.resources]
    assert [r.capacity for r in fast.problem.resources] == pytest.approx([r.capacity for r in slow.problem.resources], abs=1e-9)
    assert [(p.key, p.teu_resource) for p in fast.problem.pools] == [(p.key, p.teu_resource) for p in slow.problem.pools]
    assert [v for p in fast.problem.pools for v in (p.base_kg, p.base_m3)] == pytest.approx(
        [v for p in slow.problem.pools for v in (p.base_kg, p.base_m3)], abs=1e-9)
    assert fast.problem.choices == slow.problem.choices and fast.hint == slow.hint


def test_subproblem_keeps_fixed_cargo_in_its_pools() -> None:
    problem = weekly_problem(random.Random(3), 30)
    base = greedy(problem, list(range(30)))
    ev = evaluate(problem, base)
    free = [0, 1, 2]
    sub = subproblem(problem, base, free, ev.boxes)
    fixed_m3 = {}
    for i, a in enumerate(base):
        if a is not None and i not in free:
            for p, _, m3 in problem.choices[i][a].pool_use:
                fixed_m3[problem.pools[p].key] = fixed_m3.get(problem.pools[p].key, 0.0) + m3
    for pool in sub.problem.pools:
        assert pool.base_m3 == pytest.approx(fixed_m3.get(pool.key, 0.0))


@pytest.mark.parametrize("seed", range(3))
def test_lns_never_worse_and_feasible(seed: int) -> None:
    problem = weekly_problem(random.Random(seed), 60)
    start = greedy(problem, list(range(60)))
    before = evaluate(problem, start).objective
    improved, stats = improve_lns(problem, start, time_budget_s=3.0, seed=seed, size=15, sub_time_s=0.5)
    ev = evaluate(problem, improved)
    assert ev.feasible
    assert ev.objective <= before + 1e-6
    assert stats.objective == pytest.approx(ev.objective)
    assert stats.rounds > 0


def test_lns_reaches_the_optimum_of_a_small_plan() -> None:
    """Neighbourhoods that cover the whole plan make LNS exact: same value as branch-and-bound."""
    problem = weekly_problem(random.Random(11), 14, departures=3, teu=4)
    exact = solve_mip(problem, SolveParams(time_limit_s=30, relative_gap=1e-9, lns=False))
    assert exact.status == "optimal"
    start = greedy(problem, list(range(14)))
    improved, _ = improve_lns(problem, start, time_budget_s=5.0, size=14, sub_time_s=5.0, workers=1)
    assert evaluate(problem, improved).objective == pytest.approx(exact.objective, abs=1e-3)


def test_solve_mip_reports_the_lns_phase_on_large_models() -> None:
    """Above the branch-and-bound size limit the plan comes from LP rounding then LNS, never worse."""
    problem = weekly_problem(random.Random(5), 120, departures=6, teu=4)
    g = greedy(problem, list(range(120)))
    res = solve_mip(problem, SolveParams(time_limit_s=8, mip_max_binaries=0), hint=g)
    assert "lns" in res.phases_s
    assert res.objective <= evaluate(problem, g).objective + 1e-6
    assert res.objective >= res.bound - 1e-6
    assert evaluate(problem, res.assignment).feasible


def test_progress_reports_phases_and_improvements() -> None:
    """A long plan (API job) reports its phases and each LNS improvement, in time order."""
    problem = weekly_problem(random.Random(5), 120, departures=6, teu=4)
    g = greedy(problem, list(range(120)))
    seen: list[tuple[float, str]] = []
    solve_mip(problem, SolveParams(time_limit_s=6, mip_max_binaries=0), hint=g, progress=lambda f, m: seen.append((f, m)))
    messages = [m for _, m in seen]
    assert messages[0].startswith("LP relaxation")
    assert "improving the plan (LNS)" in messages
    assert all(0.0 <= f <= 1.0 for f, _ in seen)
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)


def test_local_search_runs_beside_the_sub_mips_and_its_moves_are_kept() -> None:
    """The pool local search runs in its own thread during LNS (and once at the end); with sub-MIPs
    that cannot finish, what the plan gains is the local search's, and never worse than it alone."""
    problem = weekly_problem(random.Random(1), 60, departures=4, teu=8)
    start = greedy(problem, list(range(60)))
    alone = evaluate(problem, improve(problem, start, time_budget_s=5.0)).objective
    assert alone < evaluate(problem, start).objective - 1e-6  # the search has something to find here
    improved, stats = improve_lns(problem, start, time_budget_s=3.0, size=15, sub_time_s=0.0, ls_every_s=0.5)
    ev = evaluate(problem, improved)
    assert ev.feasible
    assert stats.by_rule.get("local_search", 0) >= 1
    assert set(stats.by_rule) == {"local_search"}
    assert ev.objective <= alone + 1e-6


def test_local_search_moves_the_one_shipment_whose_leaving_saves_a_box() -> None:
    """75 m³ in one pool buys two 40HQ; sending the 30 m³ shipment by its own LCL saves a box. The
    box-emptying move drops the 5 m³ shipment first (then both, which costs more): only the single
    relocation finds it."""
    box = BoxType("40HQ", 5000.0, 26000.0, 66.0, 2)
    pools = [Pool("D0#general", None, (box,))]
    own = {"A": 9000.0, "B": 2000.0, "C": 6000.0}
    m3 = {"A": 40.0, "B": 30.0, "C": 5.0}
    choices = [[Choice(100.0, (), ((0, 1000.0, m3[k]),)), Choice(own[k])] for k in "ABC"]
    problem = PlanProblem([], pools, choices, [50_000.0] * 3)
    start = [0, 0, 0]
    assert evaluate(problem, start).objective == 10_300.0
    best = improve(problem, start, time_budget_s=5.0)
    assert best == [0, 1, 0]
    assert evaluate(problem, best).objective == 7_200.0
