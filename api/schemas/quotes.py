"""Schemas of the quote resource: the request and the Pareto-optimal options (kept apart from the domain types)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class QuoteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6, "ready": "2026-12-01"},
                {"from": "MY_HTZ", "to": "WH_JAKARTA", "weight_kg": 8000, "volume_m3": 30, "pieces": 40,
                 "cargo_class": "lithium_batteries", "customs_mode": "9810", "ready": "2026-12-03T14:00+08:00"},
            ]
        },
    )

    origin: str = Field(alias="from", description="origin node id", examples=["MY_CITY"])
    destination: str = Field(alias="to", description="destination node id", examples=["LODZ"])
    weight_kg: float = Field(gt=0, description="gross weight in kg")
    volume_m3: float = Field(gt=0, description="volume in m³")
    pieces: int = Field(default=1, ge=1, description="number of pieces (parcels for 9610)")
    cargo_class: str = Field(default="general", description="general | lithium_batteries | dangerous_goods | temperature_controlled")
    customs_mode: str | None = Field(default=None, description="9610 | 1210 | 9710 | 9810; default 9810 to a warehouse, else 9710")
    ready: str = Field(description="ready date (YYYY-MM-DD, 09:00 local at the origin) or ISO 8601 date-time")
    include_planned: bool = Field(default=False, description="also use planned nodes/services (Mianyang rail port)")


class Money(BaseModel):
    total: float
    currency: str
    breakdown: list[dict[str, Any]]


class LegOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    from_: str = Field(alias="from")
    to: str
    mode: str
    service: str
    depart: str
    arrive: str


class OptionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    tags: list[str]
    legs: list[LegOut]
    cost: Money
    transit_days: dict[str, float]
    co2e_kg: float
    as_of: str


class QuoteOut(BaseModel):
    quote_id: str
    created_at: str
    valid_until: str
    request: dict[str, Any]
    options: list[OptionOut]
    data_as_of: str
