"""Schemas of the tracking resources: followed shipments, telemetry over HTTP, warehouse status.

Times are ISO 8601 strings: the shipment's planned/actual times local at their node, the rest UTC.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.schemas.quotes import CARGO_CLASSES, CUSTOMS_MODES, OptionOut
from iot_ingest.limits import ID_MAX as INGEST_ID_MAX
from iot_ingest.limits import ID_PATTERN as INGEST_ID_PATTERN
from iot_ingest.limits import ID_RULE as INGEST_ID_RULE
from optimizer.quotes.limits import (ID_MAX, ID_PATTERN, PIECES, READY_MAX_LENGTH, READY_PATTERN, READY_RULE,
                                     VOLUME_M3, WEIGHT_KG)

SHIPMENT_ID = {"min_length": 1, "max_length": INGEST_ID_MAX, "pattern": INGEST_ID_PATTERN}
"""A shipment or device id as ``Field``/``Path`` keywords (``iot_ingest.limits``): the OpenAPI states it."""
NODE_ID = {"min_length": 1, "max_length": ID_MAX, "pattern": ID_PATTERN}
"""A node (warehouse) id as ``Field``/``Path`` keywords (``optimizer.quotes.limits``)."""


def _integral(value: Any) -> Any:
    """JSON Schema's ``integer`` includes 205.0: take it as 205 (a string or 205.5 stays an error)."""
    return int(value) if type(value) is float and value.is_integer() else value


JsonInt = Annotated[int, BeforeValidator(_integral)]


# --- shipments ---------------------------------------------------------------------------------
class ShipmentIn(BaseModel):
    """A shipment to follow: quoted like ``POST /v1/quotes`` (the same bounds on the cargo and the
    ready date), then one option is chosen (``tag``, else ``option``, else the first)."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, json_schema_extra={"examples": [
        {"id": "S-2026-001", "from": "MY_CITY", "to": "LODZ", "weight_kg": 500, "volume_m3": 2,
         "ready": "2026-12-01", "tag": "greenest"}]})

    id: str = Field(description=f"the shipment's id: {INGEST_ID_RULE}", examples=["S-2026-001"], **SHIPMENT_ID)
    origin: str = Field(alias="from", description="origin node id (GET /v1/nodes; case-insensitive)", **NODE_ID)
    destination: str = Field(alias="to", description="destination node id (GET /v1/nodes; case-insensitive)", **NODE_ID)
    weight_kg: float = Field(allow_inf_nan=False, description="gross weight in kg (as in quotes)", **WEIGHT_KG.schema())
    volume_m3: float = Field(allow_inf_nan=False, description="volume in m³ (as in quotes)", **VOLUME_M3.schema())
    pieces: JsonInt = Field(default=1, description="number of pieces (parcels for 9610)", **PIECES.schema())
    # checked by the engine (optimizer.quotes.quote.check_ready) for a message in words, stated here
    ready: str = Field(description=READY_RULE, examples=["2026-12-01"],
                       json_schema_extra={"minLength": 10, "maxLength": READY_MAX_LENGTH, "pattern": READY_PATTERN})
    option: Annotated[int, Field(ge=1, le=1000), BeforeValidator(_integral)] | None = Field(None, description="1-based index into the quote's options")
    tag: Literal["cheapest", "fastest", "greenest"] | None = Field(None, description="the option with this tag")
    cargo_class: CARGO_CLASSES = "general"
    customs_mode: CUSTOMS_MODES | None = None


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


class ShipmentSummaryOut(BaseModel):
    """A shipment in a list: where it stands and when it should arrive (GET /v1/shipments/{id} for the rest)."""

    id: str
    origin: str
    destination: str
    status: str = Field(description="planned | in_transit | at:<node> | delivered")
    eta_p50: str | None = Field(description="expected arrival (median), local at the destination")
    eta_p90: str | None
    last_seen: str | None
    created: str


class _Page(BaseModel):
    total: int = Field(description="items matching the filters, over every page")
    limit: int
    offset: int


class ShipmentListOut(_Page):
    """The organisation's shipments, newest first."""

    items: list[ShipmentSummaryOut]


# --- devices -----------------------------------------------------------------------------------
class DeviceIn(BaseModel):
    """Bind a device: a tracker to one of the organisation's shipments, or a sensor to a warehouse.
    Binding an id the organisation already has re-binds it (its thresholds are replaced, its
    credential kept); a new device gets its credential in the response, once."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"id": "TRK-1", "shipment": "S-2026-001"}, {"id": "T1", "warehouse": "WH_LODZ", "temp_min": 2, "temp_max": 8}]})

    id: str = Field(description=f"the device id, the segment of its MQTT topics: {INGEST_ID_RULE}", **SHIPMENT_ID)
    shipment: str | None = Field(None, description="shipment id (a tracker)", **SHIPMENT_ID)
    warehouse: str | None = Field(None, description="overseas warehouse node id (a sensor)", **NODE_ID)
    temp_min: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False, description="°C, alert below")
    temp_max: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False, description="°C, alert above")
    excursion_minutes: float = Field(15.0, gt=0, le=7 * 24 * 60, allow_inf_nan=False,
                                     description="out of range this long before an alert")
    hysteresis_c: float = Field(1.0, ge=0, le=50, allow_inf_nan=False,
                                description="°C back inside the range to end an excursion")
    door_open_max_minutes: float = Field(10.0, gt=0, le=7 * 24 * 60, allow_inf_nan=False,
                                         description="a door open this long raises an alert")
    expected_interval_s: float = Field(300.0, gt=0, le=30 * 86_400, allow_inf_nan=False,
                                       description="expected seconds between readings (silent alert after 3x)")


class DeviceOut(BaseModel):
    id: str
    kind: Literal["tracker", "sensor"]
    shipment: str | None
    warehouse: str | None
    temp_min: float | None
    temp_max: float | None
    excursion_minutes: float
    hysteresis_c: float
    door_open_max_minutes: float
    expected_interval_s: float
    created: str


class DeviceCredentialOut(BaseModel):
    """A device's own credential, shown this once (stored only as a hash). The device sends it on
    ``POST /v1/telemetry`` as HTTP Basic (user name = device id, password = key) or ``X-Device-Key``."""

    device: str
    key_id: str = Field(description="the public part of the key")
    key: str


class DeviceBoundOut(DeviceOut):
    released: int = Field(description="quarantined readings of the device released into its history")
    credential: DeviceCredentialOut | None = Field(description="a new device's credential (None on a re-binding: "
                                                               "the device keeps its own)")


class DeviceListOut(_Page):
    """The organisation's devices, by id."""

    items: list[DeviceOut]


# --- telemetry ---------------------------------------------------------------------------------
class TelemetryOut(BaseModel):
    """What became of the message (a malformed or implausible one is a 422 problem instead, and a
    dead letter)."""

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
