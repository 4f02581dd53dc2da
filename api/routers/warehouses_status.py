"""GET /v1/warehouses/{id}: live conditions and free capacity of a shared overseas warehouse.

A warehouse is a node of the network, shared by many tenants: each member sees what its own
organisation's sensors report there (and nominal capacity otherwise); the pilot-zone office (analysts,
admins) sees conditions and capacity over every tenant's sensors, and its own open alerts only.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.auth import AUTH_ERRORS, MemberDep
from api.deps import IngestDbDep, NetworkDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.tracking import NODE_ID, WarehouseStatusOut
from api.schemas.warehouse_history import WarehouseReadingsOut
from iot_ingest.history import DEFAULT_LIMIT, MAX_LIMIT, warehouse_readings
from iot_ingest.status import warehouse_status

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["tracking"])


@router.get("/warehouses/{warehouse_id}", response_model=WarehouseStatusOut,
            summary="Latest conditions and free capacity of a warehouse",
            responses=problems(**AUTH_ERRORS, **{"404": "unknown warehouse", "422": "not a warehouse, or not a node id"}))
def get_warehouse(warehouse_id: Annotated[str, Path(description="warehouse node id (case-insensitive)", **NODE_ID)],
                  principal: MemberDep, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    return warehouse_status(db, net, warehouse_id, org=principal.org_id, zone_wide=principal.zone_wide)[0]


def _ms(when: datetime) -> int:
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


@router.get("/warehouses/{warehouse_id}/readings", response_model=WarehouseReadingsOut,
            summary="Sensor readings of a warehouse as time series, downsampled to at most `limit` points per sensor",
            responses=problems(**AUTH_ERRORS, **{"404": "unknown warehouse, or no such sensor of yours there",
                                                 "422": "not a warehouse, an empty range, or a limit out of bounds"}))
def get_warehouse_readings(
        warehouse_id: Annotated[str, Path(description="warehouse node id (case-insensitive)", **NODE_ID)],
        principal: MemberDep, db: IngestDbDep, net: NetworkDep,
        since: Annotated[datetime | None, Query(description="from this event time, inclusive (ISO 8601; without an "
                                                            "offset UTC); default 24 h before until")] = None,
        until: Annotated[datetime | None, Query(description="up to this event time, inclusive (default now)")] = None,
        sensor: Annotated[str | None, Query(description="one of your sensors at this warehouse (default all of them)",
                                            min_length=1, max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many points per sensor")] = DEFAULT_LIMIT,
) -> Any:
    """Members see their own sensors, one series each; the pilot-zone office sees one zone-wide series
    aggregating every tenant's sensors (as in GET /v1/warehouses/{id})."""
    end = until or datetime.now(UTC)
    start = since or end - timedelta(hours=24)
    return asdict(warehouse_readings(db, net, warehouse_id, since_ms=_ms(start), until_ms=_ms(end), sensor=sensor,
                                     limit=limit, org=principal.org_id, zone_wide=principal.zone_wide))
