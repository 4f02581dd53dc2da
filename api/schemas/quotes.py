"""Schemas of the quote resource: the request and the Pareto-optimal options (kept apart from the domain types)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from optimizer.quotes.limits import (
    ID_MAX,
    ID_PATTERN,
    PIECES,
    READY_MAX_LENGTH,
    READY_PATTERN,
    READY_RULE,
    VOLUME_M3,
    WEIGHT_KG,
)

CARGO_CLASSES = Literal["general", "lithium_batteries", "dangerous_goods", "temperature_controlled"]
CUSTOMS_MODES = Literal["9610", "1210", "9710", "9810"]


class QuoteIn(BaseModel):
    """A quote request. Every bound the engine enforces is stated here (``optimizer.quotes.limits``):
    an unknown but well-formed node id is a 404 with suggestions; a rule between fields (customs mode
    vs destination, 9610 piece weight, same origin and destination) or no route is a 422."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6, "ready": "2026-12-01"},
                {"from": "MY_HTZ", "to": "WH_JAKARTA", "weight_kg": 8000, "volume_m3": 30, "pieces": 40,
                 "cargo_class": "lithium_batteries", "customs_mode": "9810", "ready": "2026-12-03T14:00+08:00"},
            ]
        },
    )

    origin: str = Field(alias="from", description="origin node id (GET /v1/nodes; case-insensitive)",
                        examples=["MY_CITY"], min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)
    destination: str = Field(alias="to", description="destination node id (GET /v1/nodes; case-insensitive)",
                             examples=["LODZ"], min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)
    # 1,100 t: one full block train (41 x 40HQ x 26 t); 5,000 m³: the train's 2,706 m³ or a feeder allocation
    weight_kg: float = Field(allow_inf_nan=False, description="gross weight in kg (at most one block train)",
                             **WEIGHT_KG.schema())
    volume_m3: float = Field(allow_inf_nan=False, description="volume in m³", **VOLUME_M3.schema())
    pieces: int = Field(default=1, description="number of pieces (parcels for 9610)", **PIECES.schema())
    cargo_class: CARGO_CLASSES = Field(default="general", description="cargo class")
    customs_mode: CUSTOMS_MODES | None = Field(default=None, description="customs mode; default 9810 to a warehouse, else 9710")
    # checked by the engine (optimizer.quotes.quote.check_ready) for a message in words, stated here
    ready: str = Field(description=READY_RULE, examples=["2026-12-01", "2026-12-03T14:00+08:00"],
                       json_schema_extra={"minLength": 10, "maxLength": READY_MAX_LENGTH, "pattern": READY_PATTERN})
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
