"""Stock positioning at shared overseas warehouses: a replenishment policy per warehouse and product family.

Policies (demand backordered, normal approximation of demand over the protection interval):

* ``base-stock`` — periodic review, order-up-to S every ``review_days`` (one train departure a week
  gives R = 7). Protection interval R + L: mean mu (R + E[L]), variance (R + E[L]) sigma^2 + mu^2 Var[L].
* ``sS`` — continuous review, reorder point s and order-up-to S = s + Q with Q the EOQ-style order size
  (at least ``min_order_m3``). Protection interval L.

Lead time L comes from the chosen route's quote: its p50/p90 (and physical minimum) fit the same
shifted lognormal the network uses for transit times (:class:`optimizer.network.model.TransitTime`).
Safety factor k is the smallest one meeting the target fill rate (fraction of demand served from
stock): 1 - sigma_P G(k) / (demand per cycle) >= target, with G the standard normal loss function.
``tests/test_stock.py`` checks the resulting fill rate with a SimPy simulation. The formula takes the
lead times of successive orders as independent (orders may overtake each other). When replenishments
arrive strictly in sequence, as trains on one lane do, the effective lead time is longer and the same
simulation gives about 1 point less fill rate (0.94 for a 0.95 target at 22-27 days): aim a little higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from optimizer.errors import InvalidInput
from optimizer.network.model import TransitTime
from optimizer.quotes.limits import shown
from optimizer.warehouses.limits import FILL_RATE, REVIEW_DAYS

_N = NormalDist()
POLICIES = ("base-stock", "sS")


def normal_loss(k: float) -> float:
    """G(k) = E[(Z - k)^+] for a standard normal Z."""
    return _N.pdf(k) - k * (1.0 - _N.cdf(k))


def lead_time_moments(p50_days: float, p90_days: float, min_days: float = 0.0) -> tuple[float, float]:
    """(mean, variance) in days of the shifted lognormal with these p50/p90 and floor."""
    if not (0 <= min_days <= p50_days <= p90_days):
        raise InvalidInput(f"lead time needs 0 <= min <= p50 <= p90 (got {min_days}, {p50_days}, {p90_days})",
                           field="lead_time")
    tt = TransitTime(p50_days, p90_days, min_days)
    scale = p50_days - min_days
    s2 = tt.sigma**2
    mean = min_days + scale * math.exp(s2 / 2)
    var = scale**2 * (math.exp(s2) - 1.0) * math.exp(s2)
    return mean, var


@dataclass(frozen=True)
class StockInput:
    """One warehouse x product family: daily demand mean/variance (m³/day) and the replenishment route's lead time."""

    warehouse: str
    family: str
    demand_mean: float
    demand_var: float
    lead_p50_days: float
    lead_p90_days: float
    lead_min_days: float = 0.0
    storage_cost_m3_day: float = 0.0
    route: str = ""


@dataclass(frozen=True)
class StockPolicy:
    warehouse: str
    family: str
    policy: str
    review_days: float
    reorder_point: float | None  # sS only
    order_up_to: float
    order_size: float  # expected order per cycle (m³)
    safety_factor: float
    safety_stock: float
    expected_fill_rate: float
    target_fill_rate: float
    avg_on_hand: float
    holding_cost_year: float
    lead_mean_days: float
    lead_sd_days: float
    demand_mean: float
    demand_sd: float
    route: str

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def _safety_factor(sigma_p: float, per_cycle: float, target: float) -> tuple[float, float]:
    """Smallest k (>= 0) with 1 - sigma_p G(k) / per_cycle >= target, and the fill rate it gives."""
    if sigma_p <= 0:
        return 0.0, 1.0
    need = (1.0 - target) * per_cycle / sigma_p  # G(k) must not exceed this
    if normal_loss(0.0) <= need:
        return 0.0, 1.0 - sigma_p * normal_loss(0.0) / per_cycle
    lo, hi = 0.0, 8.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if normal_loss(mid) > need:
            lo = mid
        else:
            hi = mid
    return hi, 1.0 - sigma_p * normal_loss(hi) / per_cycle


def stock_policy(
    item: StockInput,
    target_fill_rate: float = 0.95,
    policy: str = "base-stock",
    review_days: float = 7.0,
    order_cost: float = 500.0,
    min_order_m3: float = 0.0,
) -> StockPolicy:
    """Replenishment policy for one warehouse x family meeting ``target_fill_rate`` (0 < target < 1)."""
    if policy not in POLICIES:
        raise InvalidInput(f"unknown policy '{shown(policy)}' (known: {', '.join(POLICIES)})", field="policy")
    FILL_RATE.check(target_fill_rate, "fill_rate", "target fill rate")
    if not (math.isfinite(item.demand_mean) and math.isfinite(item.demand_var)) or item.demand_mean <= 0 or item.demand_var < 0:
        raise InvalidInput(f"{item.warehouse}/{item.family}: demand mean must be > 0 and variance >= 0", field="demand")
    REVIEW_DAYS.check(review_days, "review_days", "review period")
    mu, var = item.demand_mean, item.demand_var
    l_mean, l_var = lead_time_moments(item.lead_p50_days, item.lead_p90_days, item.lead_min_days)
    if policy == "base-stock":
        horizon = review_days + l_mean
        per_cycle = mu * review_days
        reorder = None
    else:
        horizon = l_mean
        h = max(item.storage_cost_m3_day * 365.0, 1e-9)
        eoq = math.sqrt(2.0 * order_cost * mu * 365.0 / h)
        per_cycle = max(eoq, min_order_m3, mu)  # at least one day of demand per order
    sigma_p = math.sqrt(horizon * var + mu * mu * l_var)
    k, fill = _safety_factor(sigma_p, per_cycle, target_fill_rate)
    ss = k * sigma_p
    if policy == "base-stock":
        up_to = mu * horizon + ss
    else:
        reorder = mu * horizon + ss
        up_to = reorder + per_cycle
    # average on hand: safety stock plus half a cycle, plus the expected backorders (small at high fill)
    avg_on_hand = ss + per_cycle / 2.0 + sigma_p * normal_loss(k)
    return StockPolicy(
        warehouse=item.warehouse, family=item.family, policy=policy,
        review_days=review_days if policy == "base-stock" else 0.0,
        reorder_point=reorder, order_up_to=up_to, order_size=per_cycle, safety_factor=k, safety_stock=ss,
        expected_fill_rate=fill, target_fill_rate=target_fill_rate, avg_on_hand=avg_on_hand,
        holding_cost_year=avg_on_hand * item.storage_cost_m3_day * 365.0,
        lead_mean_days=l_mean, lead_sd_days=math.sqrt(l_var), demand_mean=mu, demand_sd=math.sqrt(var),
        route=item.route,
    )
