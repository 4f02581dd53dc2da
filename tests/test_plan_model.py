"""The planning MIP against exhaustive search, and capacity checks on the real network."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys

import pytest

from optimizer.planning.greedy import greedy
from optimizer.planning.planner import PlanSettings, capacity_use, plan, plan_to_dict
from optimizer.planning.problem import BoxType, Choice, PlanProblem, Pool, Resource, box_mixes, evaluate, link_weights
from optimizer.planning.solve import SolveParams, solve_mip
from tests.support.plan_demand import generate_demand, with_rail_capacity

B40 = BoxType("40HQ", 5150.0, 26000.0, 66.0, 2)
B20 = BoxType("20GP", 3550.0, 21000.0, 28.0, 1)


def brute_force(problem: PlanProblem) -> float:
    best = float("inf")
    for combo in itertools.product(*[[None, *range(len(c))] for c in problem.choices]):
        ev = evaluate(problem, list(combo))
        if ev.feasible:
            best = min(best, ev.objective)
    return best


def random_problem(rng: random.Random, items: int = 5) -> PlanProblem:
    """Two departures with TEU/kg rows, one pool on each, a warehouse-day row; tight capacities."""
    resources = [Resource("D1|teu", rng.choice([1, 2, 3, 4])), Resource("D2|teu", rng.choice([2, 3, 4])),
                 Resource("D1|kg", 30000.0), Resource("WH|inbound_m3", rng.choice([40.0, 80.0]))]
    pools = [Pool("D1#general", 0, (B40, B20)), Pool("D2#general", 1, (B40,))]
    choices = []
    for _ in range(items):
        kg, m3 = rng.uniform(500, 12000), rng.uniform(2, 40)
        share = 2 * max(kg / 26000, m3 / 66)
        row = [
            Choice(rng.uniform(2000, 6000), ((0, share), (2, kg), (3, m3))),  # own LCL on D1
            Choice(rng.uniform(200, 600), ((2, kg), (3, m3)), ((0, kg, m3),)),  # consolidated on D1
            Choice(rng.uniform(300, 900) + 200, ((3, m3),), ((1, kg, m3),)),  # consolidated on D2 (later)
        ]
        if rng.random() < 0.5:
            row.append(Choice(rng.uniform(8000, 15000)))  # air, no capacity modelled here
        choices.append(row)
    return PlanProblem(resources, pools, choices, [50_000.0] * items)


@pytest.mark.parametrize("seed", range(8))
def test_mip_equals_exhaustive_search(seed: int) -> None:
    problem = random_problem(random.Random(seed))
    expected = brute_force(problem)
    g = greedy(problem, list(range(len(problem.choices))))
    res = solve_mip(problem, SolveParams(time_limit_s=20, relative_gap=1e-9), hint=g)
    assert res.objective == pytest.approx(expected, abs=1e-3)
    assert evaluate(problem, res.assignment).feasible
    assert evaluate(problem, g).objective >= res.objective - 1e-6  # the plan is never worse than greedy


def test_box_mixes_hold_cargo_and_are_pareto() -> None:
    pool = Pool("p", None, (B40, B20))
    for kg, m3 in [(100, 1), (26000, 66), (30000, 70), (5000, 120)]:
        mixes = box_mixes(pool, kg, m3)
        for cost, teu, (n40, n20) in mixes:
            assert n40 * 26000 + n20 * 21000 >= kg - 1e-6 and n40 * 66 + n20 * 28 >= m3 - 1e-6
            assert cost == pytest.approx(n40 * B40.cost + n20 * B20.cost) and teu == 2 * n40 + n20
        assert [m[1] for m in mixes] == sorted({m[1] for m in mixes}, reverse=True)


def test_real_network_small_instance_equals_exhaustive_search(net) -> None:
    tight = with_rail_capacity(net, 2)
    shipments = [s for s in generate_demand(net, 40, weeks=1, seed=3) if s.destination in ("WH_LODZ", "LODZ", "DUISBURG", "WH_DUISBURG")][:5]
    settings = PlanSettings(max_candidates=3, time_limit_s=20, relative_gap=1e-9)
    p = plan(tight, shipments, settings)
    expected = brute_force(p.problem)
    assert p.mip.objective == pytest.approx(expected, abs=1e-3)
    assert p.evaluation.feasible


@pytest.fixture(scope="module")
def tight_plan(net):
    tight = with_rail_capacity(net, 4)
    shipments = generate_demand(net, 150, weeks=2, seed=11)
    p = plan(tight, shipments, PlanSettings(time_limit_s=15))
    return tight, shipments, p


def test_no_capacity_is_exceeded(tight_plan) -> None:
    net, _, p = tight_plan
    assert p.evaluation.feasible
    # recount independently from the chosen candidates and the boxes bought
    used: dict[str, float] = {}
    for c in p.assignments().values():
        for key, amount in c.use:
            used[key] = used.get(key, 0.0) + amount
    for j, pk in enumerate(p.pool_keys):
        info = p.generator.pools[pk]
        if info.teu_resource:
            teu = sum(n * b.teu for n, b in zip(p.evaluation.boxes[j], info.boxes, strict=True))
            used[info.teu_resource] = used.get(info.teu_resource, 0.0) + teu
    assert used, "the plan uses capacity"
    for key, amount in used.items():
        assert amount <= p.generator.resources[key].capacity + 1e-6, key
    for row in capacity_use(p):
        assert row["used"] <= row["capacity"] + 1e-6
    # consolidated cargo fits in the boxes bought
    for j, pk in enumerate(p.pool_keys):
        kg = sum(k for c in p.assignments().values() for q, k, _ in c.pools if q == pk)
        m3 = sum(v for c in p.assignments().values() for q, _, v in c.pools if q == pk)
        boxes = p.evaluation.boxes[j]
        assert kg <= sum(n * b.max_kg for n, b in zip(boxes, p.problem.pools[j].boxes, strict=True)) + 1e-6
        assert m3 <= sum(n * b.max_m3 for n, b in zip(boxes, p.problem.pools[j].boxes, strict=True)) + 1e-6


def test_every_shipment_assigned_or_listed_with_reason(tight_plan) -> None:
    net, shipments, p = tight_plan
    doc = plan_to_dict(net, p, options=False)
    listed = {u["id"] for u in doc["unassigned"]}
    assert set(doc["assignments"]) | listed == {s.id for s in shipments}
    assert not set(doc["assignments"]) & listed
    assert all(u["reason"] and u["code"] for u in doc["unassigned"])
    assert doc["cost"]["total"] <= doc["baseline"]["greedy_total"] + 1e-6
    assert doc["gap"] is not None and doc["gap"] >= 0


def test_full_departures_are_named_as_binding(net) -> None:
    import dataclasses

    from optimizer.network.model import Capacity, Cargo, CargoClass

    # every scheduled departure takes one 40HQ (2 TEU) and no air cargo: 20 t lots compete for slots
    services = {k: (dataclasses.replace(s, capacity=Capacity(teu=2, kg=1000.0, m3=5.0)) if not s.schedule.continuous else s)
                for k, s in net.services.items()}
    small = net.derive(services=services)
    base = [s for s in generate_demand(net, 400, weeks=1, seed=5) if s.destination == "LODZ"][:12]
    big = [dataclasses.replace(s, cargo=Cargo(20000, 60, 10, CargoClass.GENERAL, s.cargo.customs_mode), due=s.ready + (s.due - s.ready) * 3)
           for s in base]
    p = plan(small, big, PlanSettings(time_limit_s=10, horizon_days=7, max_late_days=60))
    doc = plan_to_dict(small, p, options=False)
    cap_rows = [u for u in doc["unassigned"] if u["code"] == "capacity"]
    assert cap_rows, "some lots cannot be placed"
    for u in cap_rows:
        assert u["binding"] and all("@" in b for b in u["binding"])
        assert "full" in u["reason"] and any(b.split("|")[0] in u["reason"] for b in u["binding"])
    assert len(doc["assignments"]) + len(doc["unassigned"]) == len(big)
    assert p.evaluation.feasible


@pytest.mark.parametrize("seed", range(8))
def test_lp_bound_never_exceeds_exhaustive_optimum(seed: int) -> None:
    """The strengthened LP (item-pool box rows with link_weights) stays a valid lower bound."""
    rng = random.Random(100 + seed)
    problem = random_problem(rng, items=5)
    # some container-sized items, so the box-count weights are not all 1
    for row in problem.choices:
        for k, ch in enumerate(row):
            if ch.pool_use and rng.random() < 0.4:
                row[k] = Choice(ch.cost, ch.use, tuple((p, kg, rng.uniform(30, 66)) for p, kg, _ in ch.pool_use))
    expected = brute_force(problem)
    res = solve_mip(problem, SolveParams(time_limit_s=20, relative_gap=1e-9), hint=greedy(problem, list(range(5))))
    assert res.objectives["lp_bound"] <= expected + 1e-6
    assert res.bound <= expected + 1e-6
    assert res.objective == pytest.approx(expected, abs=1e-3)


def test_link_weights_hold_for_every_mix_that_holds_the_item() -> None:
    rng = random.Random(5)
    for pool in (Pool("p", None, (B40, B20)), Pool("q", None, (B20, B40)), Pool("r", None, (B40,))):
        for _ in range(300):
            kg, m3 = rng.uniform(10, 60000), rng.uniform(0.1, 150)
            w = link_weights(pool, kg, m3)
            for counts in itertools.product(range(8), repeat=len(pool.boxes)):
                holds = (sum(n * b.max_kg for n, b in zip(counts, pool.boxes)) >= kg
                         and sum(n * b.max_m3 for n, b in zip(counts, pool.boxes)) >= m3)
                if holds:
                    assert sum(n * x for n, x in zip(counts, w)) >= 1.0 - 1e-9, (kg, m3, counts, w)


def test_model_with_constant_items_and_fixed_pool_cargo_matches_exhaustive_search() -> None:
    """Items without choices (a constant in the objective) and a pool's fixed base load (LNS
    sub-problems) reach the batch-built model as an objective offset and a base box row."""
    problem = random_problem(random.Random(42), items=4)
    problem.pools[1] = Pool("D2#general", 1, (B40,), base_kg=3000.0, base_m3=50.0)
    problem.choices.append([])  # no option at all: pays its unassigned cost whatever the plan
    problem.unassigned_cost.append(777.0)
    expected = brute_force(problem)
    res = solve_mip(problem, SolveParams(time_limit_s=20, relative_gap=1e-9), hint=greedy(problem, list(range(5))))
    assert res.objective == pytest.approx(expected, abs=1e-3)
    assert res.objectives["lp_bound"] <= expected + 1e-6
    only_constant = PlanProblem([], [], [[]], [123.0])
    assert solve_mip(only_constant, SolveParams(time_limit_s=5)).objective == pytest.approx(123.0)


def test_the_problem_data_imports_no_solver() -> None:
    """Planning data stays apart from its solver: importing it loads no model, solve phase or OR-Tools."""
    code = "import sys, optimizer.planning.problem; print(' '.join(sorted(m for m in sys.modules if m.startswith(('optimizer', 'ortools')))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["optimizer", "optimizer.planning", "optimizer.planning.problem"]
