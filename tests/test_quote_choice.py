"""Choice (issue 20 part 6): the Pareto set stays, a `recommended` option by generalised cost is added, and
the simulation routes flows by a multinomial logit over generalised cost with parameters in the scenario."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pytest

from optimizer.network.model import Mode
from optimizer.quotes.choice import generalised_cost, logit_shares, value_of_time_per_day
from optimizer.quotes.destination import destination_data
from optimizer.quotes.quote import build_request, quote
from simulation.route_choice import Router, start_utc
from simulation.scenario import BUNDLED_DIR, load_scenario


def _q(net, **kw):
    return quote(net, build_request(net, "MY_CITY", "DUISBURG", 18000, 80, "2026-12-01", **kw))


def test_recommended_is_the_least_generalised_cost(net):
    for vot in (0.0, 150.0, 5000.0):
        options = _q(net, value_of_time_per_day=vot)
        (rec,) = [o for o in options if "recommended" in o.tags]
        assert rec.generalised_cost == pytest.approx(min(generalised_cost(o, vot) for o in options), abs=0.01)
        for o in options:
            assert o.generalised_cost == pytest.approx(o.cost_total + vot * o.door_days_p50, abs=0.01)
    assert "cheapest" in next(o for o in _q(net, value_of_time_per_day=0.0) if "recommended" in o.tags).tags
    # time is worth a lot: air wins; a little: rail beats the slightly cheaper 50-day sea detour
    assert next(o for o in _q(net, value_of_time_per_day=20000.0) if "recommended" in o.tags).main_mode is Mode.AIR
    rec = next(o for o in _q(net, goods_value=360_000) if "recommended" in o.tags)
    assert rec.main_mode is Mode.RAIL and rec.door_days_p50 < 30


def test_default_value_of_time_is_a_share_of_the_declared_value(net):
    dd = destination_data(net)
    req = build_request(net, "MY_CITY", "DUISBURG", 18000, 80, "2026-12-01", goods_value=100_000)
    assert value_of_time_per_day(dd, req) == pytest.approx(100_000 * dd.value_of_time.share_of_value_per_day)
    undeclared = build_request(net, "MY_CITY", "DUISBURG", 18000, 80, "2026-12-01")
    assert value_of_time_per_day(dd, undeclared) == pytest.approx(
        dd.value_of_time.share_of_value_per_day * dd.value_of_time.default_value_per_kg["9710"] * 18000)


def test_the_pareto_set_stays(net):
    tags = Counter(t for o in _q(net) for t in o.tags)
    assert tags["recommended"] == 1 and tags["cheapest"] >= 1 and tags["fastest"] >= 1
    assert len(_q(net)) > 3


def test_logit_shares():
    assert logit_shares([100.0, 110.0, 200.0], 0.1) == pytest.approx(
        [1 / (1 + math.exp(-1) + math.exp(-10)), math.exp(-1) / (1 + math.exp(-1) + math.exp(-10)),
         math.exp(-10) / (1 + math.exp(-1) + math.exp(-10))])
    assert logit_shares([100.0, 110.0], 0) == [1.0, 0.0]
    assert sum(logit_shares([5.0, 6.0, 7.0, 50.0], 0.3)) == pytest.approx(1.0)
    assert logit_shares([], 0.1) == []


def test_simulation_routes_a_flow_over_several_options_by_logit(net):
    sc = load_scenario(BUNDLED_DIR / "baseline.yaml", net)
    assert sc.routing.policy == "logit" and sc.routing.logit.scale > 0
    r = Router(net, sc)
    fi = [f.name for f in sc.demand].index("etdz_home_duisburg_1210")
    shares = r.choice_shares(fi, start_utc(sc) + timedelta(hours=9))
    assert sum(p for _, p in shares) == pytest.approx(1.0)
    assert sum(1 for _, p in shares if p > 0.05) >= 2  # not cheapest-only
    # consignments draw their slot from a hash of flow and ready time: reproducible, spread over the options
    routes = Counter(r.route(fi, 9.0 + h * 0.37).services for h in range(400))
    assert len(routes) >= 2
    assert routes == Counter(Router(net, sc).route(fi, 9.0 + h * 0.37).services for h in range(400))
    mode_share = Counter()
    for o, p in shares:
        mode_share[o.main_mode.value] += p
    # calibrated to Sichuan's Europe-bound shares (tests/test_logit_calibration.py): every main mode is chosen,
    # the cheapest (sea, 46 days) most often, rail's three departures and air's three flights share the rest
    assert all(mode_share[m] > 0.05 for m in ("rail", "air", "sea")), mode_share
    assert mode_share["sea"] == max(mode_share.values())
