"""GET /v1/warehouses/{id}: live conditions and free capacity of a shared overseas warehouse.

A warehouse is a node of the network, shared by many tenants: each member sees what its own
organisation's sensors report there (and nominal capacity otherwise); the pilot-zone office (analysts,
admins) sees conditions and capacity over every tenant's sensors, and its own open alerts only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.auth import AUTH_ERRORS, MemberDep
from api.deps import IngestDbDep, NetworkDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.tracking import NODE_ID, WarehouseStatusOut
from iot_ingest.status import warehouse_status

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["tracking"])


@router.get("/warehouses/{warehouse_id}", response_model=WarehouseStatusOut,
            summary="Latest conditions and free capacity of a warehouse",
            responses=problems(**AUTH_ERRORS, **{"404": "unknown warehouse", "422": "not a warehouse, or not a node id"}))
def get_warehouse(warehouse_id: Annotated[str, Path(description="warehouse node id (case-insensitive)", **NODE_ID)],
                  principal: MemberDep, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    return warehouse_status(db, net, warehouse_id, org=principal.org_id, zone_wide=principal.zone_wide)[0]
