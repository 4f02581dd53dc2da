"""Schemas of the quote resource: the request and the Pareto-optimal options (kept apart from the domain types)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quotations.service import MAX_DUTY_RATES
from optimizer.quotes.limits import (
    GOODS_VALUE,
    HS_CODE_PATTERN,
    ID_MAX,
    ID_PATTERN,
    PIECES,
    READY_MAX_LENGTH,
    READY_PATTERN,
    READY_RULE,
    VALUE_OF_TIME,
    VOLUME_M3,
    WEIGHT_KG,
)

CARGO_CLASSES = Literal["general", "lithium_batteries", "dangerous_goods", "temperature_controlled"]
CUSTOMS_MODES = Literal["9610", "1210", "9710", "9810"]
CURRENCIES = Literal["USD", "CNY", "EUR"]


class DutyRateIn(BaseModel):
    """One row of the caller's duty table (the CSV ``hs_code,country,rate_pct[,note]`` of ``cbec quote --duty-table``):
    goods whose HS code starts with ``hs_code`` pay ``rate_pct`` % of their value into ``country``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    hs_code: str = Field(description="HS code prefix, 2-10 digits (the longest matching prefix wins)",
                         examples=["8471"], min_length=2, max_length=10, pattern=HS_CODE_PATTERN)
    country: str = Field(description="destination country (ISO 3166 alpha-2), EU (the common external tariff) or * (any)",
                         examples=["EU"], min_length=1, max_length=2, pattern=r"^(?:[A-Za-z]{2}|\*)$")
    rate_pct: float = Field(allow_inf_nan=False, ge=0, le=1000, description="duty, % of the goods value", examples=[4.5])
    note: str = Field(default="", max_length=200, description="free text (e.g. the tariff's source)")


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
                {"from": "MY_CITY", "to": "FRA", "weight_kg": 40, "volume_m3": 0.3, "pieces": 20, "customs_mode": "9610",
                 "ready": "2026-12-01", "currency": "EUR", "goods_value": 2400, "hs_code": "8517.62",
                 "duty_rates": [{"hs_code": "8517", "country": "EU", "rate_pct": 0}]},
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
    currency: CURRENCIES = Field(default="USD", description="currency of every price in the quote, converted at the "
                                 "dated exchange-rate table (data/exchange_rates.csv) on the day of the quote")
    allow_extrapolation: bool = Field(default=False, description="quote even where a tariff or timetable is not valid "
                                      "on the day a leg uses it (each such figure is named in `warnings`); "
                                      "without it such a request is a 422 naming the figures")
    goods_value: float | None = Field(default=None, allow_inf_nan=False, ge=0, le=GOODS_VALUE.hi,
                                      description="declared value of the whole shipment, in the request's `currency` "
                                      "(converted at the quote's exchange rate): drives the VAT/IOSS and duty estimates "
                                      "and, without value_of_time_per_day, the value of time; without it taxes are "
                                      "not estimated", examples=[2400])
    hs_code: str | None = Field(default=None, min_length=4, max_length=10, pattern=r"^[0-9]{4,10}$",
                                description="HS code of the goods, 4-10 digits (no dots): looks up duty_rates",
                                examples=["851762"])
    value_of_time_per_day: float | None = Field(default=None, allow_inf_nan=False, ge=0, le=VALUE_OF_TIME.hi,
                                                description="what a day in transit costs the owner, in the request's "
                                                "`currency`: the `recommended` option has the least cost + this x p50 "
                                                "transit days; default a share of goods_value per day")
    duty_rates: list[DutyRateIn] | None = Field(default=None, max_length=MAX_DUTY_RATES,
                                                description=f"the caller's duty table (at most {MAX_DUTY_RATES:,} rows); "
                                                "with hs_code the duty is estimated (marked estimate), without it "
                                                "a note says duty was not estimated")


class Money(BaseModel):
    total: float
    currency: str
    breakdown: list[dict[str, Any]]


class SpaceLeft(BaseModel):
    """Space left on a capacity-limited departure after this cargo (None: that unit is not limited)."""

    kg: float | None = None
    m3: float | None = None


class SplitDeparture(BaseModel):
    departure_id: str
    depart: str
    arrive: str


class ParcelProductOut(BaseModel):
    """A parcel or express product (9610): delivers to the door, its tracking level and parcel limit."""

    id: str
    name: str
    kind: Literal["postal", "express", "linehaul"]
    tracking: str
    max_parcel_kg: float
    door_delivery: bool


class LegOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    from_: str = Field(alias="from")
    to: str
    mode: str
    service: str
    depart: str
    arrive: str
    parts: int = Field(default=1, description="departures carrying the cargo (more than 1: a split shipment)")
    split_departures: list[SplitDeparture] = Field(default_factory=list, description="the further departures of a split")
    space_left: SpaceLeft | None = Field(default=None, description="least space left on its departures after this cargo")
    product: ParcelProductOut | None = Field(default=None, description="the parcel product (9610), if any")
    tariff_source: str = Field(default="public", description="what priced the leg: \"rate sheet <name> v<version>\" "
                               "(the organisation's own rates, docs/rate_sheets.md) or \"public\" (data/tariffs.yaml)")


class NoteOut(BaseModel):
    """A note or warning in words a client can translate: ``text`` (English, as in the plain list), a stable
    ``code`` (null for one without, e.g. in an older saved quote) and the ``params`` of its template."""

    code: str | None
    params: dict[str, Any] = Field(default_factory=dict)
    text: str


class OptionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    tags: list[str] = Field(description="cheapest / fastest / greenest / recommended (least generalised cost)")
    legs: list[LegOut]
    cost: Money = Field(description="total and breakdown; lines with estimate=true are estimates (destination "
                        "clearance and delivery, destuffing, VAT/IOSS, duty)")
    transit_days: dict[str, float]
    co2e_kg: float
    as_of: str
    generalised_cost: float | None = Field(default=None, description="cost + value of time per day x p50 transit days")
    space_left: SpaceLeft | None = Field(default=None, description="least space left on any limited departure of the option")
    notes: list[str] = Field(default_factory=list, description="splits, taxes not estimated and why, operator declarations")
    notes_detail: list[NoteOut] = Field(default_factory=list, description="the notes again, each with a code and params")


class ExchangeRateOut(BaseModel):
    """The rate every price was converted at: ``rate`` units of ``to`` per ``from``, the fixing's ``date``
    and ``source`` (``via`` the pivot currency of a cross rate; ``tag`` its confidence, A = carried forward)."""

    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    rate: float
    date: str
    source: str
    via: str | None = None
    tag: str


class QuoteOut(BaseModel):
    """A quote; an organisation's is saved: GET /v1/quotes/{quote_id} returns the same prices until ``valid_until``
    (the earliest valid_to of the tariffs and timetables it uses, at most CBEC_QUOTE_VALIDITY_DAYS)."""

    quote_id: str = Field(description="unguessable id (q_ + 128 random bits)")
    created_at: str
    valid_until: str
    currency: str = Field(description="currency of every price (USD, CNY or EUR)")
    exchange_rate: ExchangeRateOut
    warnings: list[str] = Field(description="extrapolated figures, a stale exchange rate")
    warnings_detail: list[NoteOut] = Field(default_factory=list, description="the warnings again, each with a code and params")
    saved: bool = Field(description="stored under quote_id for the caller's organisation (GET /v1/quotes/{quote_id}); "
                                    "false for anonymous callers, whose quotes are not stored")
    request: dict[str, Any]
    options: list[OptionOut]
    data_as_of: str


class SavedQuoteOut(BaseModel):
    """A saved quote in a list: what was asked, its cheapest total and whether it still holds."""

    model_config = ConfigDict(populate_by_name=True)
    quote_id: str
    from_: str | None = Field(alias="from")
    to: str | None
    weight_kg: float | None
    volume_m3: float | None
    ready: str | None
    currency: str | None
    cheapest_total: float | None
    options: int
    created_at: str | None
    valid_until: str | None
    expired: bool


class SavedQuoteListOut(BaseModel):
    """The organisation's saved quotes, newest first."""

    quotes: list[SavedQuoteOut]
    total: int
    limit: int
    offset: int
