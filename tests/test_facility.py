"""Warehouse network design: OR-Library optima, options, infeasibility explanations, CLI and API."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli.app import app
from optimizer.errors import DataError, InvalidInput, NoRoute, UnknownNode
from optimizer.warehouses.facility import DesignOptions, FacilityProblem, lagrangian_reduce, solve_design
from optimizer.warehouses.orlib import parse_orlib_cap, read_capopt, read_orlib_cap
from optimizer.warehouses.design import (
    DEFAULT_DEMAND,
    DesignSettings,
    delivery_days,
    design_network,
    load_demand,
    parse_demand,
    position_stock,
)

from benchdata import shared_bench  # noqa: E402

BENCH = shared_bench("orlib-cap")
SMALL = ["cap41", "cap42", "cap43", "cap44", "cap51", "cap61", "cap62", "cap63", "cap64",
         "cap71", "cap72", "cap73", "cap74", "cap101", "cap102", "cap103", "cap104"]
needs_bench = pytest.mark.skipif(not BENCH.exists(), reason="../shared/bench/orlib-cap not present")


@pytest.fixture(scope="module")
def capopt() -> dict[str, float]:
    return read_capopt(BENCH / "capopt.txt")


def verify(p: FacilityProblem, r) -> float:
    """Independent check of a design: every customer fully served by open sites within capacity; returns its cost."""
    idx = {s: i for i, s in enumerate(p.sites)}
    load = np.zeros(len(p.sites))
    cost = sum(p.fixed_cost[idx[s]] for s in r.open)
    for j, c in enumerate(p.customers):
        shares = r.assignment.get(c, {})
        assert abs(sum(shares.values()) - 1.0) < 1e-6, c
        for s, f in shares.items():
            assert s in r.open and np.isfinite(p.cost[idx[s], j])
            load[idx[s]] += f * p.demand[j]
            cost += f * p.cost[idx[s], j]
    assert np.all(load <= p.capacity * (1 + 1e-7) + 1e-6)
    return float(cost)


# --- OR-Library -----------------------------------------------------------------------------------
@needs_bench
@pytest.mark.parametrize("name", SMALL)
def test_orlib_small_proven_optimum(name, capopt):
    p = read_orlib_cap(BENCH / f"{name}.txt")
    r = solve_design(p, DesignOptions(time_limit=60))
    assert r.status == "optimal" and r.gap <= 1e-6
    assert abs(r.objective - capopt[name]) / capopt[name] <= 1e-6
    assert abs(verify(p, r) - r.objective) / r.objective <= 1e-9


@needs_bench
@pytest.mark.parametrize("name", ["cap41", "cap64", "cap74", "cap104"])
def test_lagrangian_elimination_keeps_the_optimum(name, capopt):
    p = read_orlib_cap(BENCH / f"{name}.txt")
    red = lagrangian_reduce(p, DesignOptions())
    assert red.lower_bound <= capopt[name] * (1 + 1e-9) <= red.upper_bound * (1 + 1e-9) + 1e-6
    r = solve_design(p, DesignOptions(method="reduce"))
    assert r.stats["sites_kept"] <= len(p.sites)
    assert r.status == "optimal" and abs(r.objective - capopt[name]) / capopt[name] <= 1e-6


@needs_bench
@pytest.mark.slow
@pytest.mark.parametrize("capacity", [8000, 10000, 12000, 14000])
def test_capa_all_capacities(capacity, capopt):
    p = read_orlib_cap(BENCH / "capa.txt", capacity)
    r = solve_design(p, DesignOptions(time_limit=900))
    assert r.status == "optimal"
    assert abs(r.objective - capopt[f"capa@{capacity}"]) / capopt[f"capa@{capacity}"] <= 1e-6
    assert abs(verify(p, r) - r.objective) / r.objective <= 1e-9


def _random_problem(seed: int, m: int, n: int, tight: float) -> FacilityProblem:
    rng = np.random.default_rng(seed)
    d = rng.integers(1, 30, n).astype(float)
    cap = rng.integers(20, 80, m).astype(float)
    cap *= max(1.0, d.sum() * tight / cap.sum())
    xy_s, xy_c = rng.random((m, 2)), rng.random((n, 2))
    cost = np.linalg.norm(xy_s[:, None] - xy_c[None], axis=2) * d[None] * 10
    return FacilityProblem(f"rand{seed}", tuple(f"S{i}" for i in range(m)), tuple(f"C{j}" for j in range(n)),
                           cap, rng.integers(50, 300, m).astype(float), d, cost)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), m=st.integers(3, 8), n=st.integers(5, 20), tight=st.floats(1.05, 2.0))
def test_reduce_matches_plain_on_random_instances(seed, m, n, tight):
    p = _random_problem(seed, m, n, tight)
    a = solve_design(p, DesignOptions(method="plain"))
    b = solve_design(p, DesignOptions(method="reduce"))
    assert a.status == b.status == "optimal"
    assert abs(a.objective - b.objective) <= 1e-6 * max(1.0, a.objective)
    assert abs(verify(p, b) - b.objective) <= 1e-6 * max(1.0, b.objective)


def test_reader_errors_name_the_record(tmp_path):
    with pytest.raises(DataError, match=r"bad\.txt, row customer 2, field 'cost to warehouse 2'"):
        parse_orlib_cap("2 2\n10 5\n10 5\n3 1 2\n4 1 x\n", "bad.txt")
    with pytest.raises(DataError, match="unexpected end of file"):
        parse_orlib_cap("2 2\n10 5\n10 5\n3 1 2\n4 1\n", "short.txt")
    with pytest.raises(DataError, match="header"):
        parse_orlib_cap("two 2\n", "hdr.txt")
    with pytest.raises(InvalidInput, match="--capacity"):
        parse_orlib_cap("1 1\ncapacity 5\n3 1\n", "capx.txt")
    p = parse_orlib_cap("1 1\ncapacity 5\n3 1\n", "capx.txt", capacity=7)
    assert p.capacity[0] == 7 and p.name == "capx@7"
    with pytest.raises(FileNotFoundError):
        read_orlib_cap(tmp_path / "missing.txt")


@needs_bench
def test_capopt_reader(capopt):
    assert capopt["cap41"] == 1040444.375
    assert capopt["capa@8000"] == 19240822.449 and capopt["capa@14000"] == 17160439.012


# --- options and infeasibility --------------------------------------------------------------------
@needs_bench
def test_options_single_sourcing_max_open_budget(capopt):
    p = read_orlib_cap(BENCH / "cap41.txt")
    with pytest.raises(NoRoute, match="single sourcing: no allowed site has capacity for customer C11's demand 5495"):
        solve_design(p, DesignOptions(single_sourcing=True))
    p61 = read_orlib_cap(BENCH / "cap61.txt")
    single = solve_design(p61, DesignOptions(single_sourcing=True, time_limit=60))
    assert single.status == "optimal" and single.objective >= capopt["cap61"] - 1e-6
    assert all(len(a) == 1 and abs(sum(a.values()) - 1) < 1e-6 for a in single.assignment.values())
    assert abs(verify(p61, single) - single.objective) <= 1e-6 * single.objective
    fourteen = solve_design(p, DesignOptions(n_open=14))
    assert len(fourteen.open) == 14 and fourteen.objective >= capopt["cap41"] - 1e-6
    cheap = solve_design(p, DesignOptions(budget=100000))
    assert sum(p.fixed_cost[p.sites.index(s)] for s in cheap.open) <= 100000 + 1e-6


@needs_bench
def test_infeasible_limits_are_explained():
    p = read_orlib_cap(BENCH / "cap41.txt")  # demand 58 268, capacities 5 000..
    with pytest.raises(NoRoute, match="max_open=3: at least 12 sites are needed"):
        solve_design(p, DesignOptions(max_open=3))
    with pytest.raises(NoRoute, match="budget 1000"):
        solve_design(p, DesignOptions(budget=1000))
    tiny = FacilityProblem("tiny", ("A", "B"), ("c1", "c2"), np.array([10.0, 10.0]), np.array([1.0, 1.0]),
                           np.array([8.0, 8.0]), np.array([[1.0, np.inf], [np.inf, np.inf]]))
    with pytest.raises(NoRoute, match="customer c2 cannot be served"):
        solve_design(tiny, DesignOptions())
    # each limit alone is satisfiable; together (one site, no budget for the big one) they are not
    combo = FacilityProblem("combo", ("A", "B"), ("c1",), np.array([5.0, 10.0]), np.array([1.0, 100.0]),
                            np.array([8.0]), np.array([[1.0], [1.0]]))
    with pytest.raises(NoRoute, match="the budget"):
        solve_design(combo, DesignOptions(max_open=1, budget=50))


# --- the bundled shared-warehouse network --------------------------------------------------------
def test_bundled_design(net):
    rows = load_demand(DEFAULT_DEMAND, net)
    r, lanes = design_network(net, rows)
    assert r.status == "optimal" and r.gap <= 1e-6 and r.open
    total = sum(x.mean_m3_day for x in rows)
    served = sum(u * min(net.node(w).inbound_m3_per_day, net.node(w).capacity_m3 / 45) for w, u in r.utilisation.items())
    assert abs(served - total) < 1e-6
    for w in r.open:
        assert any(k[0] == w for k in lanes)


def test_service_level_and_carbon_price(net):
    rows = load_demand(DEFAULT_DEMAND, net)
    s3 = DesignSettings(max_days=3)
    r, _ = design_network(net, rows, s3)
    for cust, shares in r.assignment.items():
        for w in shares:
            assert delivery_days(net, w, cust.split("/")[0], s3)[1] <= 3
    base, _ = design_network(net, rows)
    green, _ = design_network(net, rows, DesignSettings(carbon_price=500.0))
    assert green.co2e <= base.co2e + 1e-6
    with pytest.raises(NoRoute, match="TASHKENT.*service level of 2 days cannot be met; the fastest candidate warehouse delivers in 3 days"):
        design_network(net, rows, DesignSettings(max_days=2))


def test_demand_errors(net):
    with pytest.raises(DataError, match="demand, row 2, field 'market': unknown node 'PARIS'"):
        parse_demand([{"market": "LODZ", "family": "a", "mean_m3_day": 1, "sd_m3_day": 1, "kg_per_m3": 100},
                      {"market": "PARIS", "family": "a", "mean_m3_day": 1, "sd_m3_day": 1, "kg_per_m3": 100}], net)
    with pytest.raises(DataError, match="not a market"):
        parse_demand([{"market": "WH_LODZ", "family": "a", "mean_m3_day": 1, "sd_m3_day": 1, "kg_per_m3": 100}], net)
    with pytest.raises(DataError, match="field 'mean_m3_day'"):
        parse_demand([{"market": "LODZ", "family": "a", "mean_m3_day": "lots", "sd_m3_day": 1, "kg_per_m3": 100}], net)


def test_stock_for_unknown_or_closed_warehouse(net):
    rows = load_demand(DEFAULT_DEMAND, net)
    r, lanes = design_network(net, rows)
    with pytest.raises(UnknownNode, match="WH_LODS"):
        position_stock(net, rows, r, lanes, warehouses=["WH_LODS"])
    closed = next(w.id for w in net.warehouses() if w.id not in r.open)
    with pytest.raises(InvalidInput, match=f"{closed} is not open"):
        position_stock(net, rows, r, lanes, warehouses=[closed])


# --- CLI and API ------------------------------------------------------------------------------------
runner = CliRunner()


@needs_bench
def test_cli_design_orlib_json(capopt):
    res = runner.invoke(app, ["warehouses", "design", "--orlib", str(BENCH / "cap64.txt"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["status"] == "optimal" and doc["gap"] <= 1e-6 and doc["open"]
    assert abs(doc["objective"] - capopt["cap64"]) / capopt["cap64"] <= 1e-6
    assert doc["known_optimum"] == capopt["cap64"]


def test_cli_design_bundled_and_stock():
    res = runner.invoke(app, ["warehouses", "design", "--max-days", "3"])
    assert res.exit_code == 0, res.output
    assert "optimal" in res.output and "WH_" in res.output
    res = runner.invoke(app, ["warehouses", "stock", "--json", "--fill-rate", "0.97"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["policies"] and all(p["expected_fill_rate"] >= 0.97 - 1e-9 for p in doc["policies"])


@pytest.mark.parametrize("args, needle", [
    (["warehouses", "design", "--orlib", "nope.txt"], "file not found: nope.txt"),
    (["warehouses", "design", "--max-days", "2"], "TASHKENT"),
    (["warehouses", "stock", "--warehouse", "WH_PARIS"], "unknown node 'WH_PARIS'"),
    (["warehouses", "design", "--solver", "GUROBI"], "unknown solver"),
])
def test_cli_errors_one_line(args, needle):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert needle in res.output and len(res.output.strip().splitlines()) <= 2


def test_api_design_job_and_stock(net, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from optimizer.settings import Settings

    from tests.support.accounts import app_tenant

    app = create_app(network=net, settings=Settings(var_dir=tmp_path))  # jobs: its own database
    owner, other = app_tenant(app), app_tenant(app)
    with TestClient(app) as c:
        assert c.post("/v1/warehouse-designs", json={"max_days": 3}).status_code == 401  # anonymous
        assert c.post("/v1/stock-policies", json={"fill_rate": 0.98}).status_code == 401
        c.auth = owner.auth()  # the owner's member key on every request below
        r = c.post("/v1/warehouse-designs", json={"max_days": 3, "carbon_price": 80})
        assert r.status_code == 202
        loc = r.headers["location"]
        for _ in range(100):
            job = c.get(loc).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        assert job["status"] == "succeeded", job
        theirs = c.get(loc, headers=other.headers)  # another organisation's design: as an unknown id
        assert theirs.status_code == 404 and theirs.json()["detail"] == f"no warehouse design '{job['id']}'"
        assert job["result"]["status"] == "optimal" and job["result"]["open"]
        orlib = "2 2\n10 5\n10 7\n3 1 2\n4 2 1\n"
        r = c.post("/v1/warehouse-designs", json={"orlib": orlib, "orlib_name": "mini.txt"})
        assert r.status_code == 202
        bad = c.post("/v1/warehouse-designs", json={"orlib": "2 2\n10 5\n"})
        assert bad.status_code == 422 and "unexpected end of file" in bad.json()["detail"]
        s = c.post("/v1/stock-policies", json={"fill_rate": 0.98, "policy": "sS"})
        assert s.status_code == 200 and s.json()["policies"][0]["reorder_point"] is not None
        u = c.post("/v1/stock-policies", json={"warehouses": ["WH_NOWHERE"]})
        assert u.status_code == 404 and u.headers["content-type"].startswith("application/problem+json")
        assert c.get("/v1/warehouse-designs/nope").status_code == 404
