"""Schemas of the statistics resource (``/v1/stats``): the cube, its cells, the catalogue, a refresh."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from trade.cube import DIMENSIONS, MEASURES, PERIODS
from trade.statistics import CHANGE_MEASURES

Dimension = Literal[tuple(DIMENSIONS)]  # type: ignore[valid-type]
Measure = Literal[tuple(MEASURES)]  # type: ignore[valid-type]
Period = Literal[tuple(PERIODS)]  # type: ignore[valid-type]
Status = Literal["shown", "primary", "secondary"]
ScopeName = Literal["own", "zone"]
MAX_API_CELLS = 100_000
"""Cells a JSON answer may hold; a larger cube is exported (``/v1/stats/export``)."""

DIMENSION_HELP: dict[str, str] = {
    "period": "the local (UTC+08:00) order day's day, month, quarter or year (parameter `period`)",
    "customs_mode": "9610 B2C parcels, 9710 B2B direct, 9810 B2B to an overseas warehouse, 1210 bonded",
    "flow": "stock_up_9810 (B2B stock sent to overseas warehouses) or direct (every other mode)",
    "country": "destination country (ISO 3166-1 alpha-2)", "region": "world region of the destination country",
    "hs_chapter": "HS chapter (2 digits) of the goods line; order-level figures under the order's largest line",
    "enterprise": "the selling enterprise's unified social credit code", "city": "the enterprise's home city (filing)",
    "channel": "the waybill's channel: postal, express, freight (none: no waybill)",
    "consignment": "parcel (postal or express) apart from freight (no_waybill: none received)",
    "corridor": "origin-destination of the tracked shipment's longest leg (untracked: no shipment linked)",
    "transport_mode": "mode of the tracked shipment's longest leg, else the waybill's",
}
MEASURE_HELP: dict[str, str] = {
    "orders": "orders (each once, under its largest line)", "parcels": "parcels on the orders' waybills",
    "goods_value_cny": "goods value in CNY at the fixing holding on the order day",
    "goods_value_usd": "goods value in USD at the fixing holding on the order day",
    "gross_weight_kg": "gross weight on the waybills, kg", "shipments": "tracked shipments carrying the orders",
    "lead_time_p50_days": "median days from the shipment's departure to its last arrival (delivered orders)",
    "lead_time_p90_days": "90th percentile of the same", "on_time_rate": "share of delivered orders that arrived by "
    "the quoted p90 arrival", "co2e_kg": "the shipments' CO2e (ISO 14083 style), allocated to orders by gross weight",
    "enterprises": "distinct selling enterprises (a cell needs 3 to be published zone-wide)",
}


class StatsCell(BaseModel):
    """One cell of the cube: its members (``_total`` where a dimension is rolled up), figures and status."""

    members: dict[Dimension, str] = Field(description="the cell's member of each dimension; `_total` for a margin")
    values: dict[Measure, int | float | None] = Field(description="the figures (counts as integers); null when "
                                                                  "withheld or not defined")
    change: dict[str, float | None] = Field(default_factory=dict,
                                            description="`{measure}_yoy_pct` / `{measure}_mom_pct`: change in per cent "
                                                        "against the same period a year / a month earlier")
    status: Status = Field(description="shown, or withheld: primary (fewer than 3 enterprises) or secondary (a "
                                       "complement that keeps a primary cell from being derived from the totals)")


class SuppressedCounts(BaseModel):
    """Withheld cells of a zone-wide cube (0 for a tenant's own)."""

    primary: int = Field(description="cells with fewer than 3 enterprises")
    secondary: int = Field(description="complements: no primary cell can be derived from totals minus shown cells")
    unaudited: int = Field(default=0, description="1 when a group of withheld cells was too large for the exact "
                                                   "linear audit and was checked by the line rule only")


class StatsCubeOut(BaseModel):
    """A statistics cube and the notes that go with it."""

    model_config = {"json_schema_extra": {"examples": [{
        "scope": "zone", "org_id": None, "dims": ["period", "customs_mode"], "period": "month",
        "measures": ["orders", "goods_value_cny"], "date_from": "2026-03-01", "date_to": "2026-03-31",
        "cells": [{"members": {"period": "2026-03", "customs_mode": "9610"},
                   "values": {"orders": 3120, "goods_value_cny": 512034.5, "enterprises": 41},
                   "change": {"orders_mom_pct": 4.2}, "status": "shown"}],
        "suppressed": {"primary": 0, "secondary": 0}, "notes": ["..."],
        "fx": "exchange_rates.csv: the fixing holding on the order day; CFETS central parity",
        "refreshed_at": "2026-11-30T18:00:00Z"}]}}

    scope: ScopeName
    org_id: str | None = Field(description="whose records (null: every organisation's, the zone)")
    dims: list[Dimension]
    period: Period
    measures: list[Measure]
    date_from: date | None
    date_to: date | None
    cells: list[StatsCell]
    suppressed: SuppressedCounts
    notes: list[str]
    fx: str = Field(description="the exchange-rate table and publication the values were converted at")
    refreshed_at: datetime | None = Field(description="when the statistics' copy of the records was last refreshed")


StockDimension = Literal["period", "kind", "warehouse_country", "warehouse_id", "hs_chapter", "enterprise"]


class StockCell(BaseModel):
    """One cell of the 9810 stock-movement cube."""

    members: dict[StockDimension, str] = Field(description="the cell's member of each dimension; `_total` for a margin")
    movements: int | None
    value_cny: float | None
    value_usd: float | None
    enterprises: int | None
    status: Status


class StockCubeOut(BaseModel):
    """9810 stock moved into overseas warehouses (``inbound``) and sold out of them (``sales_out``)."""

    scope: ScopeName
    org_id: str | None
    dims: list[StockDimension]
    period: Period
    cells: list[StockCell]
    suppressed: SuppressedCounts
    notes: list[str]


class NamedItem(BaseModel):
    name: str
    description: str


class StatsCatalogOut(BaseModel):
    """What can be asked: dimensions, period granularities, measures, change columns."""

    dimensions: list[NamedItem]
    periods: list[str]
    measures: list[NamedItem]
    change_measures: list[str]
    min_enterprises: int = Field(description="a zone-wide cell needs this many enterprises to be published")


class StatsRefreshOut(BaseModel):
    """What a refresh of the statistics' copy did."""

    orders: int | None = Field(description="orders copied again (new or changed since the last refresh); office only")
    lines: int | None = Field(description="their goods lines; office only")
    shipments: int | None = Field(description="tracked shipments copied again; office only")
    full: bool
    seconds: float
    refreshed_at: datetime


CHANGE_NAMES = tuple(f"{m}_{k}_pct" for k in ("yoy", "mom") for m in CHANGE_MEASURES)
