"""Shipments followed by the ingest: create from a quote, status/milestones/ETA, GeoJSON track."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import IngestDbDep, NetworkDep
from api.problems import problems
from api.schemas.tracking import ShipmentIn, ShipmentOut, ShipmentStatusOut, TrackOut
from iot_ingest.milestones import create_shipment, get_shipment
from iot_ingest.status import track, track_geojson

router = APIRouter(prefix="/v1", tags=["tracking"])


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


@router.post("/shipments", status_code=201, response_model=ShipmentOut,
             summary="Quote a shipment and follow the chosen option",
             responses=problems(**{"404": "unknown node", "422": "invalid"}))
def post_shipment(body: ShipmentIn, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    s = create_shipment(db, net, body.id, body.origin, body.destination, body.weight_kg, body.volume_m3, body.ready,
                        option=body.option, tag=body.tag, cargo_class=body.cargo_class, customs_mode=body.customs_mode)
    return s.to_dict(net)


@router.get("/shipments/{shipment_id}", response_model=ShipmentStatusOut,
            summary="Status, milestones, ETA, events and alerts of a shipment",
            responses=problems(**{"404": "unknown shipment"}))
def get_shipment_status(shipment_id: str, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    get_shipment(db, shipment_id)  # 404 for a device id here
    return track(db, net, shipment_id)


@router.get("/shipments/{shipment_id}/track", response_model=TrackOut, response_class=GeoJSONResponse,
            summary="The shipment's track and events as GeoJSON",
            responses=problems(**{"404": "unknown shipment"}))
def get_shipment_track(shipment_id: str, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    return track_geojson(db, net, shipment_id)
