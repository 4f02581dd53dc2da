"""Stock positioning: safety stock and fill rate formulas, checked by a small SimPy simulation."""

from __future__ import annotations

import random

import pytest
import simpy

from optimizer.errors import InvalidInput
from optimizer.network.model import TransitTime
from optimizer.warehouses.stock import StockInput, lead_time_moments, normal_loss, stock_policy


def test_normal_loss_values():
    assert normal_loss(0.0) == pytest.approx(0.398942, abs=1e-6)
    assert normal_loss(1.0) == pytest.approx(0.083315, abs=1e-6)
    assert normal_loss(2.0) == pytest.approx(0.008491, abs=1e-6)


def test_lead_time_moments():
    mean, var = lead_time_moments(10.0, 10.0)
    assert mean == pytest.approx(10.0) and var == pytest.approx(0.0, abs=1e-9)
    rng = random.Random(3)
    tt = TransitTime(18.0, 24.0, 12.0)
    xs = [tt.sample(rng) for _ in range(100_000)]
    m = sum(xs) / len(xs)
    v = sum((x - m) ** 2 for x in xs) / len(xs)
    mean, var = lead_time_moments(18.0, 24.0, 12.0)
    assert mean == pytest.approx(m, rel=0.01) and var == pytest.approx(v, rel=0.05)
    with pytest.raises(InvalidInput):
        lead_time_moments(20.0, 18.0)


def test_policy_monotone_and_valid():
    item = StockInput("WH_X", "electronics", 5.0, 4.0, 18.0, 24.0, 12.0, 0.5)
    a = stock_policy(item, 0.90)
    b = stock_policy(item, 0.98)
    assert a.expected_fill_rate >= 0.90 - 1e-9 and b.expected_fill_rate >= 0.98 - 1e-9
    assert b.safety_stock > a.safety_stock and b.holding_cost_year > a.holding_cost_year
    longer = stock_policy(StockInput("WH_X", "electronics", 5.0, 4.0, 30.0, 45.0, 12.0, 0.5), 0.98)
    assert longer.safety_stock > b.safety_stock
    ss = stock_policy(item, 0.95, policy="sS")
    assert ss.reorder_point is not None and ss.order_up_to > ss.reorder_point
    for bad in (dict(target_fill_rate=1.2), dict(policy="kanban"), dict(review_days=0)):
        with pytest.raises(InvalidInput):
            stock_policy(item, **{"target_fill_rate": 0.95, **bad})


def simulate_base_stock(item: StockInput, up_to: float, review: float, days: int, seed: int) -> float:
    """Periodic-review order-up-to system in SimPy: gamma demand in quarter-day lots (backordered; fine enough
    that the protection interval is R + L as in the formula, not R + L + a day), lognormal lead times
    drawn independently per order, as the formula assumes (orders may overtake each other); returns the fill
    rate (share of demand served from stock)."""
    env = simpy.Environment()
    rng = random.Random(seed)
    lead = TransitTime(item.lead_p50_days, item.lead_p90_days, item.lead_min_days)
    step = 0.25
    shape = item.demand_mean**2 / item.demand_var * step  # a sum of 1/step lots has the daily mean and variance
    scale = item.demand_var / item.demand_mean
    state = {"net": up_to, "on_order": 0.0, "demand": 0.0, "served": 0.0}
    warmup = 400

    def receive(qty: float, at: float):
        yield env.timeout(at - env.now)
        state["net"] += qty
        state["on_order"] -= qty

    def reviews():
        yield env.timeout(step / 2)  # between demand lots, so no tie decides which comes first
        while True:
            qty = up_to - (state["net"] + state["on_order"])
            if qty > 0:
                arrive = env.now + lead.sample(rng)
                state["on_order"] += qty
                env.process(receive(qty, arrive))
            yield env.timeout(review)

    def customers():
        while True:
            yield env.timeout(step)
            d = rng.gammavariate(shape, scale)
            if env.now > warmup:
                state["demand"] += d
                state["served"] += min(max(state["net"], 0.0), d)
            state["net"] -= d

    env.process(reviews())
    env.process(customers())
    env.run(until=warmup + days)
    return state["served"] / state["demand"]


@pytest.mark.parametrize("target", [0.90, 0.95, 0.98])
def test_fill_rate_confirmed_by_simulation(target):
    item = StockInput("WH_DUISBURG", "electronics", 6.0, 2.5**2, 22.5, 26.6, 0.0, 0.55)
    pol = stock_policy(item, target, policy="base-stock", review_days=7.0)
    sims = [simulate_base_stock(item, pol.order_up_to, 7.0, days=15000, seed=s) for s in (1, 2)]
    fill = sum(sims) / len(sims)
    assert fill == pytest.approx(pol.expected_fill_rate, abs=0.01), (fill, pol.expected_fill_rate)
    # without the safety stock the same system falls well short: the check can tell the difference
    bare = simulate_base_stock(item, pol.order_up_to - pol.safety_stock, 7.0, days=4000, seed=1)
    assert bare < target - 0.03
