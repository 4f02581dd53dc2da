"""Stock policies for the shared warehouses: the use case behind ``cbec warehouses stock`` and POST /v1/stock-policies.

Design the network for the demand (a short solve, :func:`~optimizer.warehouses.design.design_shared_network`),
then give each open warehouse and product family a replenishment policy from the design's assignment
and inbound lead times (:func:`~optimizer.warehouses.design.position_stock`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.quotes.limits import check_id, shown
from optimizer.warehouses.design import (
    DemandRow,
    DesignSettings,
    NetworkDesign,
    design_shared_network,
    position_stock,
)
from optimizer.warehouses.facility import DesignOptions
from optimizer.warehouses.limits import (
    FILL_RATE,
    MAX_WAREHOUSES,
    REVIEW_DAYS,
    STOCK_TIME_LIMIT_S,
)
from optimizer.warehouses.stock import POLICIES, StockPolicy


@dataclass(frozen=True)
class StockPlan:
    """The design the policies were derived from and one policy per open warehouse x product family."""

    design: NetworkDesign
    policies: list[StockPolicy]

    @property
    def cost_units(self) -> str:
        return f"{self.design.network.currency}/year"

    def to_dict(self) -> dict:
        result = self.design.result
        return {"design": {"open": result.open, "objective": result.objective, "status": result.status},
                "policies": [p.to_dict() for p in self.policies], "units": {"stock": "m³", "cost": self.cost_units}}


def stock_policies(net: Network, demand: list[DemandRow], *, fill_rate: float = 0.95, policy: str = "base-stock",
                   review_days: float = 7.0, warehouses: Sequence[str] | None = None,
                   settings: DesignSettings | None = None, time_limit: float = 60.0) -> StockPlan:
    """Replenishment policy per open warehouse and product family (all, or only ``warehouses``).

    Warehouse ids are normalised (stripped, upper case) and checked before the design is solved, so an
    unknown one fails at once (UnknownNode); one that the design leaves closed is an InvalidInput.
    ``time_limit`` bounds the design's MIP solve, in seconds.
    """
    if warehouses is not None and len(warehouses) > MAX_WAREHOUSES:
        raise InvalidInput(f"warehouses: at most {MAX_WAREHOUSES} ids (got {len(warehouses)})", field="warehouses")
    whs = [check_id(w, "warehouses", "warehouse") for w in warehouses] if warehouses else None
    for w in whs or []:
        net.node(w, "warehouse")
    # every bound before the design is solved, so a bad value fails at once
    FILL_RATE.check(fill_rate, "fill_rate", "target fill rate")
    REVIEW_DAYS.check(review_days, "review_days", "review period")
    if policy not in POLICIES:
        raise InvalidInput(f"unknown policy '{shown(policy)}' (known: {', '.join(POLICIES)})", field="policy")
    STOCK_TIME_LIMIT_S.check(time_limit, "time_limit", "time limit")
    design = design_shared_network(net, demand, settings, DesignOptions(time_limit=time_limit))
    policies = position_stock(net, demand, design.result, design.lanes, fill_rate, policy, review_days, whs)
    return StockPlan(design, policies)
