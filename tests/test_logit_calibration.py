"""Calibration of the route-choice logit (issue 20 item 6): the scenario's defaults reproduce the published
Europe-bound mode shares (simulation.calibration), through the simulation's own route choice."""

from __future__ import annotations

import math

import pytest

from optimizer.network.model import Mode
from optimizer.quotes.choice import logit_shares
from simulation.calibration import (
    RAIL_COST_ELASTICITY, SICHUAN_EUROPE_BY_VALUE, ShareModel, fit, nelder_mead, objective, rail_cost_elasticity,
    simulated_shares, within,
)
from simulation.scenario import BUNDLED_DIR, Logit, load_scenario

TOL = 0.005  # the defaults are rounded to 3 decimals: shares within half a point of the point targets


@pytest.fixture(scope="module")
def baseline(net):
    return load_scenario(BUNDLED_DIR / "baseline.yaml", net)


@pytest.fixture(scope="module")
def model(net, baseline):
    return ShareModel(net, baseline)


def test_logit_shares_of_a_hand_made_three_option_case():
    # GC 100 (rail), 150 (air), 90 (sea); scale 0.5 over GC_min 90; constants rail 0, air 2, sea 1
    costs, k = [100.0, 150.0, 90.0], [0.0, 2.0, 1.0]
    u = [-(10 / 45), -(60 / 45) + 2.0, 1.0]
    w = [math.exp(x) for x in u]
    assert logit_shares(costs, 0.5, k) == pytest.approx([x / sum(w) for x in w])
    # without constants, the plain logit; equal constants change nothing (only differences matter)
    assert logit_shares(costs, 0.5) == pytest.approx(logit_shares(costs, 0.5, [3.0, 3.0, 3.0]))
    # huge constants do not overflow
    assert logit_shares(costs, 0.5, [0.0, 800.0, 0.0]) == pytest.approx([0.0, 1.0, 0.0])
    with pytest.raises(ValueError):
        logit_shares(costs, 0.5, [0.0])


def test_the_defaults_reproduce_the_published_shares(model, baseline):
    lg = baseline.routing.logit
    assert lg == Logit(), "baseline.yaml states the fitted defaults of simulation.scenario.Logit"
    sh = model.shares(lg)
    for t in SICHUAN_EUROPE_BY_VALUE:
        assert sh.by_value[t.mode] == pytest.approx(t.share, abs=TOL), t.mode
    e = rail_cost_elasticity(model, lg)
    assert e == pytest.approx(RAIL_COST_ELASTICITY.share, abs=0.05)
    assert within(sh, SICHUAN_EUROPE_BY_VALUE, e, RAIL_COST_ELASTICITY)


def test_perturbed_parameters_move_the_shares_away(model, baseline):
    lg = baseline.routing.logit
    best = objective(model.shares(lg), SICHUAN_EUROPE_BY_VALUE)
    for update in ({"mode_constants": {**lg.mode_constants, "air": lg.mode_constants["air"] - 1}},
                   {"mode_constants": {**lg.mode_constants, "sea": lg.mode_constants["sea"] + 1}},
                   {"mode_constants": {}}, {"scale": 0.1}):
        sh = model.shares(lg.model_copy(update=update))
        assert objective(sh, SICHUAN_EUROPE_BY_VALUE) > best + 0.001, update
    # the old, uncalibrated logit (scale 0.1, no constants) was nearly all rail
    old = model.shares(lg.model_copy(update={"scale": 0.1, "mode_constants": {}}))
    assert old.by_value["rail"] > 0.8 and not within(old, SICHUAN_EUROPE_BY_VALUE)


def test_the_fit_recovers_the_constants_from_a_perturbed_start(model, baseline):
    lg = baseline.routing.logit
    start = lg.model_copy(update={"mode_constants": {"air": lg.mode_constants["air"] - 1.5,
                                                     "sea": lg.mode_constants["sea"] + 1.0}})
    res = fit(model, elasticity=None, start=start, max_evaluations=300)  # the scale is kept: constants only
    assert res.logit.scale == lg.scale
    assert res.logit.mode_constants["air"] == pytest.approx(lg.mode_constants["air"], abs=0.05)
    assert res.logit.mode_constants["sea"] == pytest.approx(lg.mode_constants["sea"], abs=0.05)
    assert res.within and res.sse < 1e-4


def test_the_simulation_draws_the_calibrated_shares(net, baseline, model):
    """The route cache's 20 slots per bucket discretise the probabilities: its shares stay near the targets."""
    sim = simulated_shares(net, baseline)
    for t in SICHUAN_EUROPE_BY_VALUE:
        assert sim.by_value[t.mode] == pytest.approx(t.share, abs=0.03), t.mode


def test_every_main_mode_is_in_the_choice_set(net, baseline, model):
    """A mode-choice model needs every available mode: sea is added where it is off the Pareto set."""
    lodz = [f.name for f in baseline.demand].index("htz_electronics_lodz_9810")
    cells = [c for c in model.cells if c.fi == lodz]
    assert cells and all({o.main_mode for o in c.options} >= {Mode.RAIL, Mode.AIR, Mode.SEA} for c in cells)
    pareto_only = baseline.routing.logit.model_copy(update={"mode_alternatives": False})
    r = model.router
    ready = r.bucket_ready(0)
    assert Mode.SEA not in {o.main_mode for o, _ in r.choice_shares(lodz, ready, pareto_only)}
    assert Mode.SEA in {o.main_mode for o, _ in r.choice_shares(lodz, ready)}


def test_nelder_mead_minimises_a_quadratic():
    x, n = nelder_mead(lambda v: (v[0] - 3) ** 2 + 2 * (v[1] + 1) ** 2 + 1, [0.0, 0.0])
    assert x == pytest.approx([3.0, -1.0], abs=1e-3) and n < 2000
