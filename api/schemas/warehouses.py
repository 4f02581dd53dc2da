"""Schemas of the warehouse resources: network design jobs and stock policies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class DesignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"max_days": 3, "carbon_price": 80}]})

    demand: list[dict[str, Any]] | None = Field(default=None, description="rows: market, family, mean_m3_day, sd_m3_day, kg_per_m3[, max_days]; default the bundled sample")
    orlib: str | None = Field(default=None, description="text of an OR-Library cap*.txt instance (instead of the bundled network)")
    orlib_name: str = Field(default="orlib.txt", description="its file name (reported in the result)")
    capacity: float | None = Field(default=None, gt=0, description="capacity for capa/capb/capc")
    single_sourcing: bool = False
    max_open: int | None = Field(default=None, ge=1)
    n_open: int | None = Field(default=None, ge=1)
    budget: float | None = Field(default=None, ge=0)
    max_days: float | None = Field(default=None, gt=0, description="service level: max delivery days warehouse -> market")
    carbon_price: float | None = Field(default=None, ge=0, description="USD per t CO2e")
    solver: Literal["SCIP", "HIGHS", "CBC"] = "SCIP"
    method: Literal["auto", "reduce", "strong", "plain"] = "auto"
    time_limit_s: float = Field(default=120.0, gt=0, le=1800)


class StockIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"warehouses": ["WH_DUISBURG"], "fill_rate": 0.97}]})

    warehouses: list[str] | None = Field(default=None, description="only these (open) warehouses")
    fill_rate: float = Field(default=0.95, gt=0, lt=1)
    policy: Literal["base-stock", "sS"] = "base-stock"
    review_days: float = Field(default=7.0, gt=0, le=90)
    demand: list[dict[str, Any]] | None = None
    max_days: float | None = Field(default=None, gt=0)
    carbon_price: float | None = Field(default=None, ge=0)


class DesignSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    open: list[str] = Field(description="warehouses open in the design the policies were derived from")
    objective: float = Field(description="monthly cost of that design")
    status: str


class StockPolicyOut(BaseModel):
    """One warehouse x product family; stock in m³, days, holding cost per year."""

    model_config = ConfigDict(extra="allow")

    warehouse: str
    family: str
    policy: Literal["base-stock", "sS"]
    review_days: float = Field(description="review period (base-stock; 0 for sS)")
    reorder_point: float | None = Field(description="s (sS only)")
    order_up_to: float = Field(description="S")
    order_size: float = Field(description="expected order per cycle, m³")
    safety_factor: float
    safety_stock: float
    expected_fill_rate: float
    target_fill_rate: float
    avg_on_hand: float
    holding_cost_year: float
    lead_mean_days: float
    lead_sd_days: float
    demand_mean: float = Field(description="m³/day")
    demand_sd: float = Field(description="m³/day")
    route: str = Field(description="the inbound route the lead time comes from")


class StockOut(BaseModel):
    design: DesignSummary
    policies: list[StockPolicyOut]
    units: dict[str, str]
