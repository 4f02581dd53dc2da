"""Schemas of the warehouse resources: network design jobs and stock policies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.sharing import Day
from optimizer.quotes.limits import ID_MAX, ID_PATTERN, TEXT_PATTERN
from optimizer.warehouses.limits import (
    BUDGET,
    CAPACITY,
    CARBON_PRICE,
    FILE_NAME_PATTERN,
    FILL_RATE,
    KG_PER_M3,
    LABEL_PATTERN,
    MAX_DAYS,
    MAX_DEMAND_ROWS,
    MAX_ORLIB_CELLS,
    MAX_ORLIB_CHARS,
    MAX_ORLIB_CUSTOMERS,
    MAX_ORLIB_SITES,
    MAX_WAREHOUSES,
    MEAN_M3_DAY,
    OPEN_SITES,
    REVIEW_DAYS,
    SD_M3_DAY,
    TIME_LIMIT_S,
)


class DemandRowIn(BaseModel):
    """One market x product family: daily demand in m³ (mean, standard deviation) and density."""

    model_config = ConfigDict(extra="forbid", strict=True)

    market: str = Field(description="market node id (kind market)", min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)
    family: str = Field(description="product family label", min_length=1, max_length=64, pattern=LABEL_PATTERN)
    mean_m3_day: float = Field(allow_inf_nan=False, **MEAN_M3_DAY.schema())
    sd_m3_day: float = Field(allow_inf_nan=False, **SD_M3_DAY.schema())
    kg_per_m3: float = Field(allow_inf_nan=False, description="density (steel, the densest cargo, is 7,850)",
                             **KG_PER_M3.schema())
    max_days: float | None = Field(default=None, allow_inf_nan=False, description="service level for this row",
                                   **MAX_DAYS.schema())
    note: str | None = Field(default=None, max_length=200, pattern=TEXT_PATTERN, description="free text, ignored")


DEMAND = Field(default=None, min_length=1, max_length=MAX_DEMAND_ROWS,
               description=f"1-{MAX_DEMAND_ROWS} rows, each (market, family) once; default the bundled sample")


class DesignIn(BaseModel):
    """A design study: the bundled network (optionally with its own demand) or an OR-Library instance.
    Rules between fields or against the network (an unknown market, a service level no warehouse meets,
    an infeasible limit) answer 422 at once, before a job is started."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [{"max_days": 3, "carbon_price": 80}]})

    demand: list[DemandRowIn] | None = DEMAND
    orlib: str | None = Field(default=None, min_length=3, max_length=MAX_ORLIB_CHARS, pattern=r"[0-9]",
                              description="text of an OR-Library cap*.txt instance (instead of the bundled network); at "
                                          f"most {MAX_ORLIB_SITES} sites, {MAX_ORLIB_CUSTOMERS} customers, "
                                          f"{MAX_ORLIB_CELLS:,} site x customer pairs")
    orlib_name: str = Field(default="orlib.txt", max_length=128, pattern=FILE_NAME_PATTERN,
                            description="its file name (reported in the result)")
    capacity: float | None = Field(default=None, allow_inf_nan=False, description="capacity for capa/capb/capc",
                                   **CAPACITY.schema())
    single_sourcing: bool = False
    max_open: int | None = Field(default=None, **OPEN_SITES.schema())
    n_open: int | None = Field(default=None, **OPEN_SITES.schema())
    budget: float | None = Field(default=None, allow_inf_nan=False, **BUDGET.schema())
    max_days: float | None = Field(default=None, allow_inf_nan=False,
                                   description="service level: max delivery days warehouse -> market", **MAX_DAYS.schema())
    carbon_price: float | None = Field(default=None, allow_inf_nan=False, description="USD per t CO2e",
                                       **CARBON_PRICE.schema())
    solver: Literal["SCIP", "HIGHS", "CBC"] = "SCIP"
    method: Literal["auto", "reduce", "strong", "plain"] = "auto"
    time_limit_s: float = Field(default=120.0, allow_inf_nan=False, **TIME_LIMIT_S.schema())
    offers: bool | None = Field(
        default=None, description="design on the shared-warehouse offers this organisation may book: their free space "
                                  "and prices over offers_start..offers_end replace the warehouses' own figures, and a "
                                  "warehouse with no such offer is not a candidate (default: yes when any offer covers "
                                  "the period; false: the bundled figures; true with no offer: 422)")
    offers_start: Day | None = Field(default=None, description="first day the offers must cover (default today, UTC)")
    offers_end: Day | None = Field(default=None, description="last day the offers must cover (default 29 days after "
                                                             "offers_start)")


class StockIn(BaseModel):
    """Stock policies for the design of ``demand``; an unknown warehouse is a 404, a closed one a 422."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [{"warehouses": ["WH_DUISBURG"], "fill_rate": 0.97}]})

    warehouses: list[Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]] | None = Field(
        default=None, min_length=1, max_length=MAX_WAREHOUSES, description="only these (open) warehouses")
    fill_rate: float = Field(default=0.95, allow_inf_nan=False, description="target fill rate", **FILL_RATE.schema())
    policy: Literal["base-stock", "sS"] = "base-stock"
    review_days: float = Field(default=7.0, allow_inf_nan=False, **REVIEW_DAYS.schema())
    demand: list[DemandRowIn] | None = DEMAND
    max_days: float | None = Field(default=None, allow_inf_nan=False, **MAX_DAYS.schema())
    carbon_price: float | None = Field(default=None, allow_inf_nan=False, description="USD per t CO2e",
                                       **CARBON_PRICE.schema())


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
