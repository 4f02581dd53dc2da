"""The one normalised reading every decoder produces and every handler consumes.

Like Traccar's ``Position``: a flat record with optional fields, whatever the wire format was.
Times are integer milliseconds since the Unix epoch (UTC) so that the idempotency key
(device, event time, seq) compares exactly across decoders and databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    POSITION = "position"  # a GPS fix (tracker on a truck, container or wagon)
    SENSOR = "sensor"  # warehouse / reefer conditions


_NO_FENCES: frozenset[str] = frozenset()
NO_SEQ = -1  # stored instead of NULL so the unique key (device, ts, seq) works on every database


@dataclass(slots=True)
class Reading:
    """One observation of one device at one event time."""

    device_id: str
    kind: Kind
    ts_ms: int  # event time (device clock), ms since epoch UTC
    received_ms: int  # when the ingest received it
    fmt: str  # decoder that produced it: cbec-json, owntracks, senml, cbec-sensor-json
    topic: str
    seq: int = NO_SEQ
    lat: float | None = None
    lon: float | None = None
    speed_kmh: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None
    battery_pct: float | None = None
    temperature_c: float | None = None
    humidity_pct: float | None = None
    door_open: bool | None = None
    occupied_positions: int | None = None
    warehouse_hint: str | None = None  # warehouse id from the topic (the registry binding wins)
    update_interval_s: float | None = None  # SenML ``ut``: the device's own promise of the next reading
    # set by the handlers
    late: bool = False  # older than the device's current state: history only
    shipment_id: str | None = None
    warehouse_id: str | None = None
    fences: frozenset[str] = _NO_FENCES
    msg_index: int = 0  # which message of the batch it came from (for dead-lettering)

    @property
    def key(self) -> tuple[str, int, int]:
        """The idempotency key: a redelivered or replayed message maps to the same key."""
        return (self.device_id, self.ts_ms, self.seq)
