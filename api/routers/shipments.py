"""Shipments followed by the ingest: create from a quote, status/milestones/ETA, GeoJSON track."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import get_ingest_db, get_network
from iot_ingest.db import Database
from iot_ingest.milestones import create_shipment
from iot_ingest.status import track, track_geojson
from optimizer.network import Network

router = APIRouter(prefix="/v1", tags=["tracking"])
_PROBLEM = {"content": {"application/problem+json": {}}}


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


@router.post("/shipments", status_code=201, summary="Quote a shipment and follow the chosen option",
             responses={404: {"description": "unknown node", **_PROBLEM}, 422: {"description": "invalid", **_PROBLEM}})
def post_shipment(body: ShipmentIn, db: Database = Depends(get_ingest_db), net: Network = Depends(get_network)) -> dict[str, Any]:
    s = create_shipment(db, net, body.id, body.origin, body.destination, body.weight_kg, body.volume_m3, body.ready,
                        option=body.option, tag=body.tag, cargo_class=body.cargo_class, customs_mode=body.customs_mode)
    return s.to_dict(net)


@router.get("/shipments/{shipment_id}", summary="Status, milestones, ETA, events and alerts of a shipment",
            responses={404: {"description": "unknown shipment", **_PROBLEM}})
def get_shipment_status(shipment_id: str, db: Database = Depends(get_ingest_db), net: Network = Depends(get_network)) -> dict[str, Any]:
    from iot_ingest.milestones import get_shipment

    get_shipment(db, shipment_id)  # 404 for a device id here
    return track(db, net, shipment_id)


@router.get("/shipments/{shipment_id}/track", summary="The shipment's track and events as GeoJSON",
            responses={404: {"description": "unknown shipment", **_PROBLEM}})
def get_shipment_track(shipment_id: str, db: Database = Depends(get_ingest_db), net: Network = Depends(get_network)):
    from fastapi.responses import JSONResponse

    return JSONResponse(track_geojson(db, net, shipment_id), media_type="application/geo+json")
