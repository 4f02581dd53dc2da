"""Read side: the stored sensor readings of a warehouse as bounded time series (for charts).

One series per sensor of the organisation (``org``) at the warehouse; for the pilot-zone office
(``zone_wide``) one series ``"zone"`` aggregating every tenant's sensors there, never a device's own
readings (the rule of :func:`iot_ingest.status.warehouse_status`). Each series holds at most ``limit``
points: a range with more readings is cut into ``limit`` equal time buckets, and each point carries
the bucket's mean and its min/max (so the envelope of the raw readings survives downsampling). The
fields are the sensor measurements of :class:`~iot_ingest.reading.Reading` (:data:`SERIES_FIELDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, cast, func, select

from iot_ingest import tables as t
from iot_ingest.limits import check_ingest_id
from iot_ingest.reading import MEASUREMENTS, Measurement
from iot_ingest.registry import UnknownDevice
from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.model import NodeKind
from optimizer.quotes.limits import check_id
from storage.db import Database

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
ZONE = "zone"  # the series name of the zone-wide aggregate
SERIES_FIELDS: tuple[Measurement, ...] = tuple(m for m in MEASUREMENTS if m.sensor)
"""The measurements a warehouse sensor reports (temperature, humidity, door, occupancy)."""


@dataclass(frozen=True, slots=True)
class SensorSeries:
    """The readings of one sensor (or of the zone aggregate) in a time range, at most ``limit`` points.

    ``points``: dicts with ``time`` (ISO 8601 UTC), ``n`` (readings in the point) and per numeric
    measurement ``name`` (mean), ``name_min`` and ``name_max``; per boolean one ``name`` (any true)."""

    sensor: str
    readings: int  # raw readings in the range
    downsampled: bool
    bucket_s: float | None  # the bucket width when downsampled
    points: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class WarehouseReadings:
    """The answer of :func:`warehouse_readings`."""

    warehouse: str
    since: str
    until: str
    limit: int
    scope: str  # "organisation" | "zone"
    series: list[SensorSeries]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _raw_point(r: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"time": _iso(r["ts_ms"]), "n": 1}
    for m in SERIES_FIELDS:
        v = r[m.name]
        if m.type is bool:
            p[m.name] = None if v is None else bool(v)
        else:
            p[m.name] = p[f"{m.name}_min"] = p[f"{m.name}_max"] = v
    return p


def _aggregates() -> list[Any]:
    cols = t.readings.c
    out = []
    for m in SERIES_FIELDS:
        c = cols[m.name]
        if m.type is bool:
            out.append(func.max(cast(c, Integer)).label(m.name))
        else:
            out += [func.avg(c).label(m.name), func.min(c).label(f"{m.name}_min"), func.max(c).label(f"{m.name}_max")]
    return out


def _bucket_point(r: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"time": _iso(r["ts_ms"]), "n": int(r["n"])}
    for m in SERIES_FIELDS:
        if m.type is bool:
            p[m.name] = None if r[m.name] is None else bool(r[m.name])
        else:
            mean = r[m.name]
            p[m.name] = None if mean is None else round(float(mean), 3)
            p[f"{m.name}_min"], p[f"{m.name}_max"] = r[f"{m.name}_min"], r[f"{m.name}_max"]
    return p


def warehouse_readings(db: Database, net: Network, warehouse_id: str, *, since_ms: int, until_ms: int,
                       sensor: str | None = None, limit: int = DEFAULT_LIMIT, org: str | None = None,
                       zone_wide: bool = False) -> WarehouseReadings:
    """The sensor readings stored for a warehouse with event time in ``[since_ms, until_ms]``, in time
    order, at most ``limit`` points per series (see the module docstring for scope and downsampling).

    Raises :class:`UnknownDevice` (404) for a ``sensor`` that is not the organisation's at this
    warehouse, :class:`InvalidInput` (422) for an empty range, a bad limit, or a non-warehouse node."""
    node = net.node(check_id(warehouse_id, "warehouse"), "warehouse")
    if node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
        raise InvalidInput(f"'{warehouse_id}' is a {node.kind.value}, not an overseas warehouse", field="warehouse")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}", field="limit")
    if since_ms >= until_ms:
        raise InvalidInput(f"since ({_iso(since_ms)}) must be before until ({_iso(until_ms)})", field="since")
    if zone_wide and sensor is not None:
        raise InvalidInput("the zone-wide view aggregates every sensor; sensor= selects an organisation's own sensor",
                           field="sensor")
    d, r = t.devices, t.readings
    at = [d.c.warehouse_id == node.id] + ([] if zone_wide else [d.c.org_id == org] if org is not None else [])
    if sensor is not None:
        check_ingest_id(sensor, "sensor", "sensor id")
        at.append(d.c.device_id == sensor)
    in_range = [r.c.ts_ms >= since_ms, r.c.ts_ms <= until_ms, r.c.warehouse_id == node.id]
    width = (until_ms - since_ms) // limit + 1  # bucket index (ts - since) // width stays below limit
    bucket = ((r.c.ts_ms - since_ms) // width).label("bucket")
    series: list[SensorSeries] = []
    with db.engine.connect() as conn:
        devices = [row[0] for row in conn.execute(select(d.c.device_id).where(*at).order_by(d.c.device_id))]
        if sensor is not None and not devices:
            raise UnknownDevice(f"no sensor '{sensor}' at warehouse {node.id}", field="sensor")
        if zone_wide:
            where = [*in_range, r.c.device_id.in_(select(d.c.device_id).where(*at))]
            rows = conn.execute(select(bucket, func.min(r.c.ts_ms).label("ts_ms"), func.count().label("n"), *_aggregates())
                                .where(*where).group_by(bucket).order_by(bucket)).mappings().all()
            series.append(SensorSeries(ZONE, sum(int(x["n"]) for x in rows), True, width / 1000,
                                       [_bucket_point(x) for x in rows]))
        else:
            counts = dict(conn.execute(select(r.c.device_id, func.count()).where(*in_range, r.c.device_id.in_(devices))
                                       .group_by(r.c.device_id)).all()) if devices else {}
            for dev in devices:
                n = int(counts.get(dev, 0))
                if n <= limit:
                    cols = [r.c.ts_ms, *(r.c[m.name] for m in SERIES_FIELDS)]
                    rows = conn.execute(select(*cols).where(*in_range, r.c.device_id == dev)
                                        .order_by(r.c.ts_ms, r.c.seq)).mappings().all()
                    series.append(SensorSeries(dev, n, False, None, [_raw_point(x) for x in rows]))
                else:
                    rows = conn.execute(select(bucket, func.min(r.c.ts_ms).label("ts_ms"), func.count().label("n"),
                                               *_aggregates()).where(*in_range, r.c.device_id == dev)
                                        .group_by(bucket).order_by(bucket)).mappings().all()
                    series.append(SensorSeries(dev, n, True, width / 1000, [_bucket_point(x) for x in rows]))
    return WarehouseReadings(node.id, _iso(since_ms), _iso(until_ms), limit, ZONE if zone_wide else "organisation",
                             series)


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "SERIES_FIELDS", "SensorSeries", "WarehouseReadings", "ZONE",
           "warehouse_readings"]
