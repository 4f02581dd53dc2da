"""The root-bound child process: HiGHS log parsing, a valid bound, and its use by solve_mip."""

from __future__ import annotations

import math
import random

import pytest

from optimizer.planning.bound import RootBound, parse_bound, stall_limit
from optimizer.planning.greedy import greedy
from optimizer.planning.solve import SolveParams, solve_mip
from tests.plan_problems import weekly_problem


def test_parse_bound_reads_the_best_bound_column() -> None:
    assert parse_bound("         0       0         0   0.00%   19742049.0581   20656353.64036     4.43%     2071    428      5     24966    16.2s") == 19742049.0581
    assert parse_bound(" L       0       0         0   0.00%   2100015.171347  2176694.812051     3.52%     7441   1157    323     27269    19.5s") == 2100015.171347
    assert parse_bound("        60       0         1   0.00%   2.1e6   2155192.749682     2.53%     4636    506    169    179899   135.2s") == 2.1e6
    assert parse_bound("         0       0         0   0.00%   -inf            inf                  inf        0      0      0         0     0.0s") is None
    assert parse_bound("Presolving model") is None
    assert parse_bound("   11693 rows") is None


def test_the_child_is_never_stopped_before_its_first_cut_round() -> None:
    # presolve's bound and the root LP's: however long the root LP takes (a loaded machine), wait
    assert stall_limit(0, 0.0, 20.0) is None
    assert stall_limit(2, 30.0, 20.0) is None
    # then three times the last round, within [4 s, stall_s]
    assert stall_limit(3, 3.0, 20.0) == 9.0
    assert stall_limit(5, 0.5, 20.0) == 4.0
    assert stall_limit(4, 12.0, 20.0) == 20.0


def test_root_bound_is_valid_and_the_child_ends() -> None:
    problem = weekly_problem(random.Random(2), 16, departures=3, teu=4)
    exact = solve_mip(problem, SolveParams(time_limit_s=30, relative_gap=1e-9, lns=False))
    assert exact.status == "optimal"
    rb = RootBound.start(problem, 30.0)
    rb.process.wait(timeout=60)  # a small root finishes on its own
    bound = rb.stop()
    assert math.isfinite(bound)
    assert bound <= exact.objective + 1e-6
    assert rb.process.returncode is not None


def test_solve_mip_lifts_the_lp_bound_with_the_root_child_when_branch_and_bound_is_skipped() -> None:
    problem = weekly_problem(random.Random(7), 150, departures=6, teu=4)
    g = greedy(problem, list(range(150)))
    res = solve_mip(problem, SolveParams(time_limit_s=10, mip_max_binaries=0, root_bound_min_s=0.0, root_child_min_binaries=0), hint=g)
    assert "root_bound" in res.objectives
    assert res.bound >= res.objectives["lp_bound"] - 1e-6
    assert res.bound <= res.objective + 1e-6
    assert res.bound == pytest.approx(max(res.objectives["lp_bound"], res.objectives["root_bound"]))


def test_mid_sized_problems_get_the_root_child_instead_of_branch_and_bound_and_stop_when_proven() -> None:
    # between root_child_min_binaries and mip_max_binaries: the root runs beside LNS (without the
    # pool cuts), no branch-and-bound in-process, and LNS ends as soon as the bound proves the plan
    problem = weekly_problem(random.Random(3), 40, departures=3, teu=4)
    g = greedy(problem, list(range(40)))
    res = solve_mip(problem, SolveParams(time_limit_s=30, relative_gap=0.01, root_bound_min_s=0.0, root_child_min_binaries=0), hint=g)
    assert "mip" not in res.phases_s
    assert "root_bound" in res.objectives
    assert res.bound <= res.objective + 1e-6
    assert res.gap <= 0.01 + 1e-9 and res.status == "optimal"  # proven within the tolerance
    assert res.time_s < 25  # stopped on the proof, not on the time limit


def test_the_child_without_pool_cuts_reports_a_valid_bound() -> None:
    problem = weekly_problem(random.Random(2), 16, departures=3, teu=4)
    exact = solve_mip(problem, SolveParams(time_limit_s=30, relative_gap=1e-9, lns=False))
    rb = RootBound.start(problem, 30.0, pool_cuts=False)
    rb.process.wait(timeout=60)
    assert "--no-pool-cuts" in rb.process.args
    bound = rb.stop()
    assert math.isfinite(bound)
    assert bound <= exact.objective + 1e-6


def test_without_a_plan_for_lns_branch_and_bound_still_runs_beside_the_root_child() -> None:
    # no hint and no LP phase: LNS has nothing to start from, so branch-and-bound finds the plan
    problem = weekly_problem(random.Random(2), 16, departures=3, teu=4)
    res = solve_mip(problem, SolveParams(time_limit_s=10, lp_phase=False, root_bound_min_s=0.0, root_child_min_binaries=0))
    assert res.source == "mip"
    assert all(a is not None for a in res.assignment)


def test_optimal_means_within_the_absolute_gap_when_one_is_given() -> None:
    # LNS sub-MIPs pass a small absolute gap and grow their neighbourhoods on "optimal": a plan within
    # the (default) relative gap but not the absolute one must stay "feasible"
    problem = weekly_problem(random.Random(7), 150, departures=6, teu=4)
    res = solve_mip(problem, SolveParams(time_limit_s=10, lns=False, mip_max_binaries=0, relative_gap=0.5, absolute_gap=1e-9))
    assert 0 < res.gap < 0.5
    assert res.status == "feasible"
    loose = solve_mip(problem, SolveParams(time_limit_s=10, lns=False, mip_max_binaries=0, relative_gap=0.5))
    assert loose.status == "optimal"  # within the relative gap, no absolute one given
