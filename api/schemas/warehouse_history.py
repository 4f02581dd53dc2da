"""Response of GET /v1/warehouses/{id}/readings: a warehouse's sensor readings as bounded time series.

The point's measurement fields follow :data:`iot_ingest.history.SERIES_FIELDS` (the sensor
measurements of the one ``Reading`` definition): a numeric one gives ``name`` (mean over the
point's readings), ``name_min`` and ``name_max``; a boolean one gives ``name`` (true if any was).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from iot_ingest.history import SERIES_FIELDS


def _point_fields() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in SERIES_FIELDS:
        if m.type is bool:
            out[m.name] = (bool | None, Field(None, description=f"{m.name}: true if any reading in the point said so"))
        else:
            out[m.name] = (float | None, Field(None, description=f"{m.name}: mean of the point's readings"))
            out[f"{m.name}_min"] = (m.type | None, Field(None, description=f"{m.name}: lowest reading in the point"))
            out[f"{m.name}_max"] = (m.type | None, Field(None, description=f"{m.name}: highest reading in the point"))
    return out


class _PointBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: str = Field(description="event time of the point's first reading (ISO 8601, UTC)")
    n: int = Field(description="readings the point stands for (1 unless downsampled)")


ReadingPointOut = create_model("ReadingPointOut", __base__=_PointBase, __doc__="One point of a sensor series.",
                               **_point_fields())


class SensorSeriesOut(BaseModel):
    """One sensor's readings (or the zone-wide aggregate, sensor ``zone``)."""

    sensor: str
    readings: int = Field(description="raw readings in the range")
    downsampled: bool
    bucket_s: float | None = Field(description="bucket width in seconds when downsampled")
    points: list[ReadingPointOut]  # type: ignore[valid-type]


class WarehouseReadingsOut(BaseModel):
    """A warehouse's sensor readings between ``since`` and ``until``, at most ``limit`` points per series."""

    warehouse: str
    since: str
    until: str
    limit: int
    scope: Literal["organisation", "zone"] = Field(description="organisation: own sensors; zone: every tenant's, aggregated")
    series: list[SensorSeriesOut]
