"""GET /v1/warehouses/{id}: live conditions and free capacity of a shared overseas warehouse."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api.deps import get_ingest_db, get_network
from iot_ingest.db import Database
from iot_ingest.status import warehouse_status
from optimizer.network import Network

router = APIRouter(prefix="/v1", tags=["tracking"])
_PROBLEM = {"content": {"application/problem+json": {}}}


@router.get("/warehouses/{warehouse_id}", summary="Latest conditions and free capacity of a warehouse",
            responses={404: {"description": "unknown warehouse", **_PROBLEM}, 422: {"description": "not a warehouse", **_PROBLEM}})
def get_warehouse(warehouse_id: str, db: Database = Depends(get_ingest_db), net: Network = Depends(get_network)) -> dict[str, Any]:
    return warehouse_status(db, net, warehouse_id)[0]
