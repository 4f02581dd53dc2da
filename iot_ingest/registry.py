"""Device registry: a tracker is bound to a shipment, a sensor to a warehouse, each with thresholds.

Readings from devices that are not in the registry are quarantined (kept, not processed); binding
the device later releases its quarantined readings into the history.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, insert, select

from iot_ingest import tables as t
from storage.db import Database, bump_epoch
from iot_ingest.limits import check_ingest_id
from optimizer.errors import InvalidInput
from optimizer.quotes.limits import Range, check_id
from optimizer.network.model import NodeKind
from optimizer.network import Network

_DEFAULT_SENSOR_RANGE = (2.0, 25.0)  # °C, ambient storage of general goods [A]; set per device for cold chain


class UnknownShipment(InvalidInput):
    status = 404
    title = "Unknown shipment"


class UnknownDevice(InvalidInput):
    status = 404
    title = "Unknown device"


class DeviceIdTaken(InvalidInput):
    """A device id is global (it is a segment of the device's MQTT topics): another organisation's
    device may hold it. Only that the id is taken is told, nothing of its owner."""

    status = 409
    title = "Device id in use"


# bounds of a binding's thresholds (finite, so that no alert rule compares with NaN or infinity)
MINUTES = Range(0, 7 * 24 * 60, lo_open=True, unit="min")  # excursion / door-open time before an alert: up to a week
INTERVAL_S = Range(0, 30 * 86_400, lo_open=True, unit="s")  # expected reporting interval: up to 30 days
HYSTERESIS_C = Range(0, 50, unit="°C")
TEMPERATURE_C = Range(-90, 90, unit="°C")  # the validate step's range of temperature_c


@dataclass(frozen=True, slots=True)
class Device:
    """A registered device and the thresholds its alerts use."""

    device_id: str
    kind: str  # tracker | sensor
    shipment_id: str | None = None
    warehouse_id: str | None = None
    temp_min: float | None = None
    temp_max: float | None = None
    excursion_minutes: float = 15.0  # out of range this long before an alert (COLDWATCH: 15 min)
    hysteresis_c: float = 1.0  # must come back this far inside the range to close the alert
    door_open_max_minutes: float = 10.0
    expected_interval_s: float = 300.0  # silent alert after SILENT_FACTOR x this without a reading
    created_ms: int = 0
    org_id: str | None = None  # the tenant; None: stored before accounts existed (operators only)


def bind_device(db: Database, net: Network, device_id: str, *, shipment: str | None = None,
                warehouse: str | None = None, temp_min: float | None = None, temp_max: float | None = None,
                excursion_minutes: float = 15.0, hysteresis_c: float = 1.0, door_open_max_minutes: float = 10.0,
                expected_interval_s: float = 300.0, org: str | None = None,
                new_owner: str | None = None) -> tuple[Device, int]:
    """Register (or re-bind) a device; returns it and the number of quarantined readings released.

    ``org``: the organisation binding it (the API, ``--org``): its shipment must be the organisation's,
    and a device id another organisation (or nobody) holds is :class:`DeviceIdTaken`. None (an
    operator): a re-bound device keeps its organisation, a new tracker takes its shipment's, a new
    sensor ``new_owner``."""
    check_ingest_id(device_id, "device")
    if (shipment is None) == (warehouse is None):
        raise InvalidInput("bind a device to exactly one of --shipment or --warehouse", field="shipment")
    if shipment is not None:
        check_ingest_id(shipment, "shipment")
    else:
        warehouse = check_id(warehouse, "warehouse")
    for name, v in (("excursion_minutes", excursion_minutes), ("door_open_max_minutes", door_open_max_minutes)):
        MINUTES.check(v, name)
    INTERVAL_S.check(expected_interval_s, "expected_interval_s")
    HYSTERESIS_C.check(hysteresis_c, "hysteresis_c")
    for name, v in (("temp_min", temp_min), ("temp_max", temp_max)):
        if v is not None:
            TEMPERATURE_C.check(v, name)
    if temp_min is not None and temp_max is not None and temp_min >= temp_max:
        raise InvalidInput(f"temp_min ({temp_min}) must be below temp_max ({temp_max})", field="temp_min")
    with db.engine.begin() as conn:
        existing = conn.execute(select(t.devices.c.org_id).where(t.devices.c.device_id == device_id)).first()
        if existing is not None and org is not None and existing.org_id != org:
            raise DeviceIdTaken(f"device id '{device_id}' is in use; choose another", field="device")
        owner = org if org is not None else (existing.org_id if existing is not None else new_owner)
        if shipment is not None:
            s = t.shipments
            row = conn.execute(select(s.c.org_id).where(s.c.shipment_id == shipment,
                                                        *([s.c.org_id == org] if org is not None else []))).first()
            if row is None:
                raise UnknownShipment(f"unknown shipment '{shipment}' (create it first: cbec shipments create)",
                                      field="shipment")
            if org is None:
                if existing is None:
                    owner = row.org_id
                elif row.org_id != owner:
                    raise InvalidInput(f"shipment '{shipment}' and device '{device_id}' belong to different "
                                       "organisations", field="shipment")
            kind = "tracker"
        else:
            node = net.node(warehouse, "warehouse")
            warehouse = node.id
            if node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
                raise InvalidInput(f"'{warehouse}' is a {node.kind.value}, not an overseas warehouse", field="warehouse")
            kind = "sensor"
            if temp_min is None and temp_max is None:
                temp_min, temp_max = _DEFAULT_SENSOR_RANGE
        dev = Device(device_id, kind, shipment, warehouse, temp_min, temp_max, excursion_minutes, hysteresis_c,
                     door_open_max_minutes, expected_interval_s, int(time.time() * 1000), owner)
        conn.execute(delete(t.devices).where(t.devices.c.device_id == device_id))
        conn.execute(insert(t.devices).values(**asdict(dev)))
        released = _release_quarantine(conn, dev)
        bump_epoch(conn)  # running pipelines drop their cached registry (the binding applies at once)
    return dev, released


def _release_quarantine(conn, dev: Device) -> int:
    """Move the device's quarantined readings into the history (as late readings: no events/alerts)."""
    q = t.quarantine
    rows = conn.execute(select(q).where(q.c.device_id == dev.device_id)).mappings().all()
    if not rows:
        return 0
    cols = [c.name for c in t.readings.columns]
    values = []
    for r in rows:
        v = {c: r.get(c) for c in cols if c in r}
        v.update(late=True, shipment_id=dev.shipment_id, warehouse_id=dev.warehouse_id)
        values.append(v)
    existing = {(r.ts_ms, r.seq) for r in conn.execute(
        select(t.readings.c.ts_ms, t.readings.c.seq).where(t.readings.c.device_id == dev.device_id))}
    values = [v for v in values if (v["ts_ms"], v["seq"]) not in existing]
    if values:
        conn.execute(insert(t.readings), values)
    conn.execute(delete(q).where(q.c.device_id == dev.device_id))
    return len(values)


def load_devices(conn) -> dict[str, Device]:
    """The whole registry (small: thousands of rows), cached by the pipeline for a few seconds."""
    return {r.device_id: Device(**r._mapping) for r in conn.execute(select(t.devices))}


def _scope(org: str | None) -> list:
    return [t.devices.c.org_id == org] if org is not None else []


def get_device(db: Database, device_id: str, *, org: str | None = None) -> Device:
    """A device; ``org`` scopes the lookup (another organisation's device is unknown, as an unknown id)."""
    check_ingest_id(device_id, "device")
    with db.engine.connect() as conn:
        r = conn.execute(select(t.devices).where(t.devices.c.device_id == device_id, *_scope(org))).first()
    if r is None:
        raise UnknownDevice(f"unknown device '{device_id}' (bind it: cbec devices bind)", field="device")
    return Device(**r._mapping)


def list_devices(db: Database, *, org: str | None = None) -> list[Device]:
    """Every device (of ``org`` when given), by id."""
    with db.engine.connect() as conn:
        return [Device(**r._mapping) for r in
                conn.execute(select(t.devices).where(*_scope(org)).order_by(t.devices.c.device_id))]


PAGE_MAX = 500


def page_devices(db: Database, *, org: str | None = None, kind: str | None = None, shipment: str | None = None,
                 warehouse: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Device], int]:
    """One page of devices (by id) matching the filters, and how many match in all."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(f"limit must be 1-{PAGE_MAX}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput("offset must be 0 or more", field="offset")
    d = t.devices
    where = _scope(org)
    if kind is not None:
        if kind not in ("tracker", "sensor"):
            raise InvalidInput("kind must be tracker or sensor", field="kind")
        where.append(d.c.kind == kind)
    if shipment is not None:
        where.append(d.c.shipment_id == check_ingest_id(shipment, "shipment"))
    if warehouse is not None:
        where.append(d.c.warehouse_id == check_id(warehouse, "warehouse"))
    with db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(d).where(*where)).scalar_one()
        rows = conn.execute(select(d).where(*where).order_by(d.c.device_id).limit(limit).offset(offset)).all()
    return [Device(**r._mapping) for r in rows], int(total)


def unbind_device(db: Database, device_id: str, *, org: str | None = None) -> None:
    check_ingest_id(device_id, "device")
    with db.engine.begin() as conn:
        if conn.execute(delete(t.devices).where(t.devices.c.device_id == device_id, *_scope(org))).rowcount == 0:
            raise UnknownDevice(f"unknown device '{device_id}'", field="device")
        bump_epoch(conn)


def topic_device(topic: str) -> str | None:
    """The device id a topic belongs to (as ``decoders.decode`` reads it), None for a topic of no
    known form: a device's credential may publish on that device's topics only."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[:3] == ["cbec", "v1", "devices"] and parts[4] == "position":
        return parts[3]
    if len(parts) == 3 and parts[0] == "owntracks":
        return f"{parts[1]}-{parts[2]}"
    if len(parts) == 6 and parts[:3] == ["cbec", "v1", "warehouses"] and parts[4] == "sensors":
        return parts[5]
    return None


__all__ = ["Device", "DeviceIdTaken", "bind_device", "get_device", "list_devices", "load_devices", "page_devices",
           "topic_device", "unbind_device", "UnknownDevice", "UnknownShipment"]
