"""Schemas of the plan resource: a batch of shipments to plan (or re-plan after a change).

The answer is the job record (:class:`api.schemas.common.JobOut`); its ``result`` is the plan as
``cbec plan --json`` prints it.

Two kinds of rule, both stated here:

- *Size and shape* (refused as a whole with 422, before any row is read): at most
  ``MAX_SHIPMENTS`` (20,000) rows or ``MAX_CSV_CHARS`` characters of CSV, rows with known columns
  only, text cells of bounded length, departure keys of the form ``SERVICE@YYYY-MM-DDTHH:MMZ``,
  and the numeric parameters' ranges.
- *Row values* (``pattern``, ``exclusiveMinimum``/``maximum`` on a row's columns): a row that
  breaks one is reported in ``result.errors`` (row, field, message) and the other rows are planned,
  exactly as for a CSV file; the request is a 422 only when no valid row remains.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from optimizer.planning.replan import (
    MAX_CAPACITY_TEU,
    MAX_CHANGED_DEPARTURES,
    MAX_DELAY_HOURS,
)
from optimizer.planning.shipments import (
    MAX_CHARS,
    MAX_CSV_CHARS,
    MAX_PIECES,
    MAX_SHIPMENTS,
    MAX_VALUE,
    MAX_VOLUME_M3,
    MAX_WEIGHT_KG,
)

MAX_TIME_LIMIT_S = 600.0
MAX_CARBON_PRICE = 10_000.0  # per tonne CO2e (the EU ETS trades near 100)
MAX_LATE_PER_DAY = 100_000.0
MAX_PLAN_KEY_CHARS = 1_024  # a candidate key of the previous plan (mode|departure+departure...)

# printable text without '<' or '>' (control characters, bidirectional overrides, zero-width and
# other formatting characters are refused): what the reader enforces per row (optimizer.planning.shipments)
TEXT_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f<>\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]*$"
DEPARTURE_KEY_PATTERN = r"^[A-Za-z0-9_]{1,64}@[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}Z$"

DepartureKey = Annotated[str, StringConstraints(max_length=80, pattern=DEPARTURE_KEY_PATTERN)]


Text64 = Annotated[str, StringConstraints(max_length=64)]  # id, origin, destination
Text40 = Annotated[str, StringConstraints(max_length=40)]  # ready_date, due_date
Text32 = Annotated[str, StringConstraints(max_length=32)]  # cargo_class, customs_mode, numbers as text
assert {MAX_CHARS[k] for k in ("id", "origin", "destination")} == {64}
assert {MAX_CHARS[k] for k in ("ready_date", "due_date")} == {40}
assert {MAX_CHARS[k] for k in ("cargo_class", "customs_mode", "weight_kg", "volume_m3", "pieces", "value")} == {32}


def _column(name: str, description: str, **rule: object) -> object:
    extra = {"pattern": TEXT_PATTERN} if name in ("id", "origin", "destination") else {}
    return Field(default=None, description=description, json_schema_extra={**extra, **rule} or None)


class ShipmentRowIn(BaseModel):
    """One shipment row: the CSV columns as keys (numbers may also be given as text, as in a CSV).

    A row whose values break a rule below is reported in ``result.errors`` and not planned."""

    model_config = ConfigDict(extra="forbid")

    id: Text64 | int | None = _column("id", "shipment id, unique in the batch: printable, at most 64 characters, no '<' '>'")
    origin: Text64 | None = _column("origin", "origin node id (GET /v1/nodes)")
    destination: Text64 | None = _column("destination", "destination node id (GET /v1/nodes)")
    weight_kg: float | Text32 | None = _column(
        "weight_kg", f"gross weight, kg: > 0 and at most {MAX_WEIGHT_KG:,.0f}", exclusiveMinimum=0, maximum=MAX_WEIGHT_KG)
    volume_m3: float | Text32 | None = _column(
        "volume_m3", f"volume, m³: > 0 and at most {MAX_VOLUME_M3:,.0f}", exclusiveMinimum=0, maximum=MAX_VOLUME_M3)
    ready_date: Text40 | None = _column(
        "ready_date", "YYYY-MM-DD (09:00 local at the origin) or an ISO 8601 date-time; within a year before and "
                      "two years after the network data's as_of date")
    due_date: Text40 | None = _column(
        "due_date", "YYYY-MM-DD (23:59 local at the destination) or an ISO 8601 date-time; not before the ready "
                    "date and at most 366 days after it")
    pieces: int | float | Text32 | None = _column(
        "pieces", f"number of pieces, 1 to {MAX_PIECES:,} (default 1)", minimum=1, maximum=MAX_PIECES)
    cargo_class: Text32 | None = _column(
        "cargo_class", "general (default) | lithium_batteries | dangerous_goods | temperature_controlled")
    customs_mode: Text32 | int | None = _column(
        "customs_mode", "9610 | 1210 | 9710 | 9810 (default 9810 to a warehouse, else 9710)")
    value: float | Text32 | None = _column(
        "value", f"declared value in the network currency, 0 to {MAX_VALUE:,.0f}", minimum=0, maximum=MAX_VALUE)


class ChangeIn(BaseModel):
    """What happened since the previous plan (re-planning). Every key must be a scheduled departure of
    the network (a departure that does not exist is a 422 naming it)."""

    model_config = ConfigDict(extra="forbid")
    cancel: list[DepartureKey] = Field(default_factory=list, max_length=MAX_CHANGED_DEPARTURES,
                                       description="cancelled departure keys SERVICE@YYYY-MM-DDTHH:MMZ")
    delay_hours: dict[DepartureKey, Annotated[float, Field(ge=0, le=MAX_DELAY_HOURS, allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=MAX_CHANGED_DEPARTURES, description="departure key -> hours late")
    capacity_teu: dict[DepartureKey, Annotated[int, Field(ge=0, le=MAX_CAPACITY_TEU)]] = Field(
        default_factory=dict, max_length=MAX_CHANGED_DEPARTURES, description="departure key -> new TEU capacity")


class PlanIn(BaseModel):
    """A batch to plan: exactly one of ``shipments`` (rows) or ``csv`` (text)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "shipments": [{"id": "A1", "origin": "MY_HTZ", "destination": "WH_LODZ", "weight_kg": 1800, "volume_m3": 9,
                           "ready_date": "2026-10-05", "due_date": "2026-11-05"}],
            "time_limit_s": 20}]},
    )

    shipments: list[ShipmentRowIn] | None = Field(
        default=None, min_length=1, max_length=MAX_SHIPMENTS,
        description=f"rows with the CSV columns as keys, at most {MAX_SHIPMENTS:,} per plan")
    csv: str | None = Field(default=None, min_length=1, max_length=MAX_CSV_CHARS,
                            description=f"alternatively, the CSV text (header + at most {MAX_SHIPMENTS:,} rows, "
                                        f"at most {MAX_CSV_CHARS:,} characters)")
    horizon_days: int = Field(default=21, ge=1, le=120)
    time_limit_s: float = Field(default=60.0, gt=0, le=MAX_TIME_LIMIT_S, allow_inf_nan=False,
                                description="the whole plan: candidate generation (at most half of it), model and solve; "
                                            "shipments not reached in time are reported unassigned")
    carbon_price_per_t: float = Field(default=0.0, ge=0, le=MAX_CARBON_PRICE, allow_inf_nan=False)
    late_per_day: float = Field(default=50.0, ge=0, le=MAX_LATE_PER_DAY, allow_inf_nan=False)
    previous: dict[Annotated[str, StringConstraints(max_length=MAX_CHARS["id"])],
                   Annotated[str, StringConstraints(max_length=MAX_PLAN_KEY_CHARS)]] | None = Field(
        default=None, max_length=MAX_SHIPMENTS, description="re-plan: shipment id -> plan.key of the previous plan")
    change: ChangeIn | None = None
