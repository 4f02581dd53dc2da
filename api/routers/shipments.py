"""Shipments followed by the ingest: create from a quote, status/milestones/ETA, GeoJSON track."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.deps import IngestDbDep, NetworkDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.tracking import (
    SHIPMENT_ID,
    ShipmentIn,
    ShipmentOut,
    ShipmentStatusOut,
    TrackOut,
)
from iot_ingest.milestones import create_shipment, get_shipment
from iot_ingest.status import track, track_geojson

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["tracking"])
ShipmentId = Annotated[str, Path(description="the shipment's id", **SHIPMENT_ID)]


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


@router.post("/shipments", status_code=201, response_model=ShipmentOut,
             summary="Quote a shipment and follow the chosen option",
             responses=problems(**{"400": "malformed JSON", "404": "unknown node",
                                   "422": "invalid, no route, or the id exists already"}))
def post_shipment(body: ShipmentIn, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    s = create_shipment(db, net, body.id, body.origin, body.destination, body.weight_kg, body.volume_m3, body.ready,
                        option=body.option, tag=body.tag, cargo_class=body.cargo_class, customs_mode=body.customs_mode,
                        pieces=body.pieces)
    return s.to_dict(net)


@router.get("/shipments/{shipment_id}", response_model=ShipmentStatusOut,
            summary="Status, milestones, ETA, events and alerts of a shipment",
            responses=problems(**{"404": "unknown shipment", "422": "not a shipment id"}))
def get_shipment_status(shipment_id: ShipmentId, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    get_shipment(db, shipment_id)  # 404 for a device id here
    return track(db, net, shipment_id)


@router.get("/shipments/{shipment_id}/track", response_model=TrackOut, response_class=GeoJSONResponse,
            summary="The shipment's track and events as GeoJSON",
            responses=problems(**{"404": "unknown shipment", "422": "not a shipment id"}))
def get_shipment_track(shipment_id: ShipmentId, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    return track_geojson(db, net, shipment_id)
