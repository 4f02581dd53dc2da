"""Schemas of the tracking resources: followed shipments, telemetry over HTTP, warehouse status.

Times are ISO 8601 strings: the shipment's planned/actual times local at their node, the rest UTC.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.quotes import OptionOut


# --- shipments ---------------------------------------------------------------------------------
class ShipmentIn(BaseModel):
    id: str = Field(..., max_length=64)
    origin: str = Field(..., alias="from")
    destination: str = Field(..., alias="to")
    weight_kg: float
    volume_m3: float
    ready: str
    option: int | None = Field(None, description="1-based index into the quote's options")
    tag: str | None = Field(None, description="cheapest | fastest | greenest")
    cargo_class: str = "general"
    customs_mode: str | None = None


class EtaOut(BaseModel):
    p50: str | None = Field(description="expected arrival (median), local at the destination")
    p90: str | None
    planned_p50: str = Field(description="the chosen option's arrival when it was chosen")
    planned_p90: str
    delay_hours: float | None = Field(description="p50 minus planned p50")


class MilestoneOut(BaseModel):
    node: str
    name: str
    via: bool = Field(description="a stop inside a leg (border crossing, gauge change), not a transfer")
    planned_arrive: str | None
    planned_depart: str | None
    actual_arrive: str | None
    actual_depart: str | None


class _ShipmentBase(BaseModel):
    id: str
    origin: str
    destination: str
    status: str = Field(description="planned | in_transit | at:<node> | delivered")
    eta: EtaOut
    milestones: list[MilestoneOut]
    last_seen: str | None = Field(description="event time of the latest reading of its trackers")


class ShipmentOut(_ShipmentBase):
    """A followed shipment and the quote option it follows."""

    option: OptionOut


class PositionOut(BaseModel):
    device: str
    ts: str | None
    lat: float | None
    lon: float | None
    speed_kmh: float | None
    temperature_c: float | None
    inside: list[str] = Field(description="node ids of the geofences the device is inside")
    received: str | None


class EventOut(BaseModel):
    ts: str
    kind: str = Field(description="arrival | departure")
    node: str
    node_kind: str
    device: str


class AlertOut(BaseModel):
    kind: str = Field(description="temperature_high | temperature_low | door_open | silent | border_dwell")
    device: str
    started: str
    ended: str | None = Field(description="None while the alert is open")
    value: float | None
    detail: str


class ShipmentStatusOut(_ShipmentBase):
    """Status, milestones and ETA of a shipment with its trackers' last positions, events and alerts."""

    devices: list[str]
    last: list[PositionOut]
    events: list[EventOut]
    alerts: list[AlertOut]


class TrackFeature(BaseModel):
    """The track (a LineString in event-time order, ``properties.kind`` = ``track``) or one event
    (a Point, ``properties.kind`` = ``arrival`` | ``departure``)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: dict[str, Any]


class TrackOut(BaseModel):
    """A GeoJSON FeatureCollection (RFC 7946, ``application/geo+json``)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[TrackFeature]


# --- telemetry ---------------------------------------------------------------------------------
class TelemetryOut(BaseModel):
    """What became of the message (a malformed one is a 422 problem instead)."""

    received: int = Field(description="messages (1)")
    stored: int = Field(description="readings stored")
    duplicates: int = Field(description="readings already stored (a redelivery)")
    quarantined: int = Field(description="readings of an unregistered device, kept until it is bound")
    ignored: int = Field(description="well-formed messages without a reading (OwnTracks lwt, ...)")
    late: int = Field(description="readings older than the device's state: stored as history only")


# --- warehouses --------------------------------------------------------------------------------
class TemperatureOut(BaseModel):
    min: float
    max: float
    mean: float


class ConditionsOut(BaseModel):
    temperature_c: TemperatureOut | None = Field(description="over the warehouse's reporting sensors")
    humidity_pct: float | None = Field(description="mean relative humidity")
    doors_open: int
    sensors: int
    sensors_reporting: int
    updated: str | None = Field(description="event time of the latest reading")


class CapacityOut(BaseModel):
    capacity_m3: float
    capacity_positions: int = Field(description="pallet positions (1.44 m³ each)")
    occupied_positions: int | None = Field(description="from occupancy sensors, None without one")
    free_positions: int
    free_m3: float
    source: str = Field(description="occupancy sensors | nominal (no occupancy sensor)")


class OpenAlertOut(BaseModel):
    kind: str
    device: str
    since: str
    detail: str


class WarehouseStatusOut(BaseModel):
    """Latest conditions and free capacity of a shared overseas warehouse."""

    id: str
    name: str
    country: str
    conditions: ConditionsOut
    capacity: CapacityOut
    open_alerts: list[OpenAlertOut]
