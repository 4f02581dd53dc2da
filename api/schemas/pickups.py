"""Schemas of the pickup-plan resource (first-mile pickups, last-mile deliveries).

Every bound comes from ``optimizer.pickups.limits`` (the engine checks the same). A stop whose window
ends before it starts, or that no vehicle can carry or reach in time, is a 422 naming the stop.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from optimizer.pickups.limits import (
    COST_PER_KM,
    FIXED_COST,
    HHMM_PATTERN,
    HTTP_TIME_LIMIT_S,
    LAT,
    LON,
    MAX_STOPS,
    MAX_VEHICLE_TYPES,
    NAME_MAX,
    SEED,
    SERVICE_MIN,
    SPEED_KMH,
    STOP_ID_PATTERN,
    STOP_KG,
    STOP_M3,
    VEHICLE_COUNT,
    VEHICLE_KG,
    VEHICLE_M3,
)
from optimizer.quotes.limits import ID_MAX, ID_PATTERN, TEXT_PATTERN


class StopIn(BaseModel):
    """One pickup (or delivery) point with its load and local time window."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=64, pattern=STOP_ID_PATTERN, description="unique stop id")
    name: str | None = Field(default=None, max_length=NAME_MAX, pattern=TEXT_PATTERN, description="default: the id")
    lat: float = Field(allow_inf_nan=False, **LAT.schema())
    lon: float = Field(allow_inf_nan=False, **LON.schema())
    kg: float = Field(allow_inf_nan=False, description="load, kg", **STOP_KG.schema())
    m3: float = Field(allow_inf_nan=False, description="load, m³", **STOP_M3.schema())
    window_start: str = Field(max_length=8, pattern=HHMM_PATTERN, description="local time HH:MM (00:00-24:00)")
    window_end: str = Field(max_length=8, pattern=HHMM_PATTERN, description="local time HH:MM, not before window_start")
    service_min: float = Field(allow_inf_nan=False, description="minutes at the stop", **SERVICE_MIN.schema())


class VehicleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)
    count: int = Field(description="vehicles of this type available", **VEHICLE_COUNT.schema())
    kg: float = Field(allow_inf_nan=False, **VEHICLE_KG.schema())
    m3: float = Field(allow_inf_nan=False, **VEHICLE_M3.schema())
    fixed_cost: float = Field(default=0.0, allow_inf_nan=False, description="per vehicle used", **FIXED_COST.schema())
    cost_per_km: float = Field(default=1.0, allow_inf_nan=False, **COST_PER_KM.schema())


class PickupIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{
        "depot": "MY_CBZ", "time_limit_s": 2,
        "stops": [{"id": "JIANGYOU_STEEL", "lat": 31.778, "lon": 104.745, "kg": 3500, "m3": 6.5,
                   "window_start": "08:30", "window_end": "12:00", "service_min": 45}]}]})

    stops: list[StopIn] = Field(min_length=1, max_length=MAX_STOPS, description=f"1-{MAX_STOPS} stops, ids unique")
    depot: str = Field(default="MY_CBZ", min_length=1, max_length=ID_MAX, pattern=ID_PATTERN,
                       description="MY_CBZ / CD_RAILPORT (pickups) or WH_* (deliveries)")
    kind: Literal["pickup", "delivery"] | None = None
    vehicles: list[VehicleIn] | None = Field(default=None, min_length=1, max_length=MAX_VEHICLE_TYPES,
                                             description="fleet; default: 4.2 m, 7.6 m and 9.6 m trucks")
    speed_kmh: float = Field(default=40.0, allow_inf_nan=False, **SPEED_KMH.schema())
    time_limit_s: float = Field(default=2.0, allow_inf_nan=False, **HTTP_TIME_LIMIT_S.schema())
    seed: int = Field(default=1, **SEED.schema())
