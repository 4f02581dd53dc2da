"""Schemas of the pickup-plan resource (first-mile pickups, last-mile deliveries)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class VehicleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int = Field(ge=0)
    kg: float = Field(gt=0)
    m3: float = Field(gt=0)
    fixed_cost: float = Field(default=0.0, ge=0)
    cost_per_km: float = Field(default=1.0, ge=0)


class PickupIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "depot": "MY_CBZ", "time_limit_s": 2,
        "stops": [{"id": "JIANGYOU_STEEL", "lat": 31.778, "lon": 104.745, "kg": 3500, "m3": 6.5,
                   "window_start": "08:30", "window_end": "12:00", "service_min": 45}]}]})

    stops: list[dict[str, Any]] = Field(description="rows: id, name, lat, lon, kg, m3, window_start, window_end (HH:MM), service_min")
    depot: str = Field(default="MY_CBZ", description="MY_CBZ / CD_RAILPORT (pickups) or WH_* (deliveries)")
    kind: Literal["pickup", "delivery"] | None = None
    vehicles: list[VehicleIn] | None = Field(default=None, description="fleet; default: 4.2 m, 7.6 m and 9.6 m trucks")
    speed_kmh: float = Field(default=40.0, gt=0, le=120)
    time_limit_s: float = Field(default=2.0, gt=0, le=300)
    seed: int = 1
