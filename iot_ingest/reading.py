"""The one normalised reading every decoder produces and every handler consumes.

Like Traccar's ``Position``: a flat record with optional fields, whatever the wire format was.
Times are integer milliseconds since the Unix epoch (UTC) so that the idempotency key
(device, event time, seq) compares exactly across decoders and databases.

The measurement fields of :class:`Reading` are the one definition of what a device can report:
:data:`MEASUREMENTS` is read from them once at import, and the device state
(``handlers/base.py``), the order step, the validate step, the store, our sensor JSON decoder and
the tables (``tables.py``) all follow it.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import attrgetter
from typing import Any


class Kind(StrEnum):
    POSITION = "position"  # a GPS fix (tracker on a truck, container or wagon)
    SENSOR = "sensor"  # warehouse / reefer conditions


_NO_FENCES: frozenset[str] = frozenset()
NO_SEQ = -1  # stored instead of NULL so the unique key (device, ts, seq) works on every database


def measurement(*, valid: tuple[float, float] | None = None, sensor: bool = False) -> Any:
    """Declare a measurement field of :class:`Reading` (optional, ``None`` when not reported).

    ``valid``: the range the validate handler enforces (readings outside it are dead-lettered).
    ``sensor``: a warehouse-sensor measurement - our sensor JSON (cbec-sensor-json) carries it
    under its own name, and a sensor message must carry at least one of them.
    """
    return field(default=None, metadata={"measurement": True, "valid": valid, "sensor": sensor})


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
    # --- the measurements: THE list of them (type: float, int or bool, always optional) ----------
    # Adding one here is the whole code change: device state, order step, validation, store, our
    # sensor JSON and the table definitions follow. The database needs a migration adding its column
    # to iot_readings, iot_quarantine and iot_device_state (`alembic revision --autogenerate` in
    # storage/migrations) - inevitable: the schema is migrated, never created from tables.py.
    # A foreign format (SenML names/units, OwnTracks keys) maps its own names in decoders.py.
    lat: float | None = measurement()  # WGS84 degrees; lat/lon are validated as a pair
    lon: float | None = measurement()
    speed_kmh: float | None = measurement(valid=(0.0, 1200.0))
    heading: float | None = measurement(valid=(0.0, 360.0))
    accuracy_m: float | None = measurement(valid=(0.0, 1e6))
    battery_pct: float | None = measurement(valid=(0.0, 100.0))
    temperature_c: float | None = measurement(valid=(-90.0, 90.0), sensor=True)
    humidity_pct: float | None = measurement(valid=(0.0, 100.0), sensor=True)
    door_open: bool | None = measurement(sensor=True)
    occupied_positions: int | None = measurement(valid=(0, 10_000_000), sensor=True)
    # --- message context -------------------------------------------------------------------------
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


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement field of :class:`Reading`, as the rest of the ingest sees it."""

    name: str
    type: type  # float, int or bool (the column type follows: Float, Integer, Boolean)
    valid: tuple[float, float] | None
    sensor: bool


def _measurements() -> tuple[Measurement, ...]:
    hints = typing.get_type_hints(Reading)
    out = []
    for f in fields(Reading):
        if not f.metadata.get("measurement"):
            continue
        hint = hints[f.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else ()
        base = [a for a in args if a is not type(None)]
        if len(args) != 2 or len(base) != 1 or base[0] not in (float, int, bool):
            raise TypeError(f"measurement {f.name}: declare it as `float | None`, `int | None` or `bool | None`")
        out.append(Measurement(f.name, base[0], f.metadata["valid"], f.metadata["sensor"]))
    return tuple(out)


MEASUREMENTS: tuple[Measurement, ...] = _measurements()
MEASUREMENT_NAMES: tuple[str, ...] = tuple(m.name for m in MEASUREMENTS)
measurement_values = attrgetter(*MEASUREMENT_NAMES)
"""``measurement_values(obj)``: the measurements of a Reading (or a DeviceState) as a tuple, in
MEASUREMENTS order (one C call, for the per-reading paths)."""


def with_measurements(cls: type) -> type:
    """Class decorator (put it below ``@dataclass``): one ``name: type | None = None`` field per
    measurement, after the fields the class declares (the device state holds the latest of each)."""
    ann = dict(cls.__dict__.get("__annotations__", {}))  # the class's own, in declaration order
    for m in MEASUREMENTS:
        if m.name in ann:
            raise TypeError(f"{cls.__name__} already declares {m.name}")
        ann[m.name] = f"{m.type.__name__} | None"
        setattr(cls, m.name, None)
    cls.__annotations__ = ann
    return cls
