"""Shipments and devices followed by the ingest: create a shipment from a quote, its status,
milestones, ETA and GeoJSON track; bind devices (with their own credentials); lists.

Every route takes an organisation's member (``MemberDep``) and is scoped by its organisation: another
organisation's shipment or device answers 404 exactly like an unknown id, and lists show the
organisation's own records only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from accounts import devices as device_credentials
from api.auth import AUTH_ERRORS, AuthenticatorDep, MemberDep
from api.deps import IngestDbDep, NetworkDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.tracking import (
    NODE_ID,
    SHIPMENT_ID,
    DeviceBoundOut,
    DeviceCredentialOut,
    DeviceIn,
    DeviceListOut,
    DeviceOut,
    ShipmentIn,
    ShipmentListOut,
    ShipmentOut,
    ShipmentStatusOut,
    TrackOut,
)
from iot_ingest.milestones import (
    PAGE_MAX,
    TrackedShipment,
    create_shipment,
    get_shipment,
    list_shipments,
)
from iot_ingest.registry import (
    Device,
    UnknownDevice,
    bind_device,
    get_device,
    page_devices,
    unbind_device,
)
from iot_ingest.status import track, track_geojson
from optimizer.timefmt import iso_ms

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["tracking"])  # 405: Allow names every method
ShipmentId = Annotated[str, Path(description="the shipment's id", **SHIPMENT_ID)]
DeviceId = Annotated[str, Path(description="the device's id", **SHIPMENT_ID)]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


# --- shipments ----------------------------------------------------------------------------------------------
@router.post("/shipments", status_code=201, response_model=ShipmentOut,
             summary="Quote a shipment and follow the chosen option",
             responses=problems(**AUTH_ERRORS, **{"400": "malformed JSON", "404": "unknown node",
                                                  "422": "invalid, no route, or the id exists already"}))
def post_shipment(body: ShipmentIn, principal: MemberDep, db: IngestDbDep, net: NetworkDep,
                  response: Response) -> dict[str, Any]:
    """Shipment ids are global (devices bind to them by id): choose ids unlikely to be taken, e.g.
    with your organisation's prefix."""
    s = create_shipment(db, net, body.id, body.origin, body.destination, body.weight_kg, body.volume_m3, body.ready,
                        option=body.option, tag=body.tag, cargo_class=body.cargo_class, customs_mode=body.customs_mode,
                        pieces=body.pieces, org=principal.org_id)
    response.headers["Location"] = f"/v1/shipments/{s.shipment_id}"
    return s.to_dict(net)


def shipment_summary(s: TrackedShipment, net) -> dict[str, Any]:
    d = s.to_dict(net)
    return {"id": d["id"], "origin": d["origin"], "destination": d["destination"], "status": d["status"],
            "eta_p50": d["eta"]["p50"], "eta_p90": d["eta"]["p90"], "last_seen": d["last_seen"],
            "created": iso_ms(s.created_ms)}


@router.get("/shipments", response_model=ShipmentListOut, summary="The organisation's shipments (newest first)",
            responses=problems(**AUTH_ERRORS, **{"422": "invalid filter"}))
def get_shipments(principal: MemberDep, db: IngestDbDep, net: NetworkDep,
                  status: Annotated[Literal["planned", "in_transit", "at", "delivered"] | None,
                                    Query(description="planned | in_transit | at (at any node) | delivered")] = None,
                  origin: Annotated[str | None, Query(description="origin node id", **NODE_ID)] = None,
                  destination: Annotated[str | None, Query(description="destination node id", **NODE_ID)] = None,
                  limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    items, total = list_shipments(db, org=principal.org_id, status=status, origin=origin, destination=destination,
                                  limit=limit, offset=offset)
    return {"items": [shipment_summary(s, net) for s in items], "total": total, "limit": limit, "offset": offset}


@router.get("/shipments/{shipment_id}", response_model=ShipmentStatusOut,
            summary="Status, milestones, ETA, events and alerts of a shipment",
            responses=problems(**AUTH_ERRORS, **{"404": "unknown shipment", "422": "not a shipment id"}))
def get_shipment_status(shipment_id: ShipmentId, principal: MemberDep, db: IngestDbDep,
                        net: NetworkDep) -> dict[str, Any]:
    get_shipment(db, shipment_id, org=principal.org_id)  # 404 for a device id here (and another tenant's id)
    return track(db, net, shipment_id, org=principal.org_id)


@router.get("/shipments/{shipment_id}/track", response_model=TrackOut, response_class=GeoJSONResponse,
            summary="The shipment's track and events as GeoJSON",
            responses=problems(**AUTH_ERRORS, **{"404": "unknown shipment", "422": "not a shipment id"}))
def get_shipment_track(shipment_id: ShipmentId, principal: MemberDep, db: IngestDbDep,
                       net: NetworkDep) -> dict[str, Any]:
    return track_geojson(db, net, shipment_id, org=principal.org_id)


# --- devices ------------------------------------------------------------------------------------------------
def device_out(d: Device) -> dict[str, Any]:
    return {"id": d.device_id, "kind": d.kind, "shipment": d.shipment_id, "warehouse": d.warehouse_id,
            "temp_min": d.temp_min, "temp_max": d.temp_max, "excursion_minutes": d.excursion_minutes,
            "hysteresis_c": d.hysteresis_c, "door_open_max_minutes": d.door_open_max_minutes,
            "expected_interval_s": d.expected_interval_s, "created": iso_ms(d.created_ms)}


def credential_out(device_id: str, key_id: str, key: str) -> dict[str, Any]:
    return {"device": device_id, "key_id": key_id, "key": key}


@router.post("/devices", status_code=201, response_model=DeviceBoundOut,
             summary="Bind a device (tracker to a shipment, sensor to a warehouse); a new one gets its credential",
             responses={200: {"description": "re-bound (the device keeps its credential; one is issued only if it "
                                             "had none)", "model": DeviceBoundOut},
                        **problems(**AUTH_ERRORS, **{"400": "the body is not parseable JSON",
                                                     "404": "unknown shipment or warehouse",
                                                     "409": "the device id is in use (by another organisation)",
                                                     "422": "invalid binding"})})
def post_device(body: DeviceIn, principal: MemberDep, db: IngestDbDep, net: NetworkDep,
                response: Response) -> dict[str, Any]:
    try:
        get_device(db, body.id, org=principal.org_id)
        existed = True
    except UnknownDevice:
        existed = False
    dev, released = bind_device(db, net, body.id, shipment=body.shipment, warehouse=body.warehouse,
                                temp_min=body.temp_min, temp_max=body.temp_max,
                                excursion_minutes=body.excursion_minutes, hysteresis_c=body.hysteresis_c,
                                door_open_max_minutes=body.door_open_max_minutes,
                                expected_interval_s=body.expected_interval_s, org=principal.org_id)
    credential = None
    if not device_credentials.has_credential(db, dev.device_id):  # new (or adopted without one): issue it
        key_id, key = device_credentials.issue(db, dev.device_id, org_id=principal.org_id)
        credential = credential_out(dev.device_id, key_id, key)
        response.headers["Cache-Control"] = "no-store"
    if existed:
        response.status_code = 200
    response.headers["Location"] = f"/v1/devices/{dev.device_id}"
    return {**device_out(dev), "released": released, "credential": credential}


@router.get("/devices", response_model=DeviceListOut, summary="The organisation's devices (by id)",
            responses=problems(**AUTH_ERRORS, **{"422": "invalid filter"}))
def get_devices(principal: MemberDep, db: IngestDbDep,
                kind: Annotated[Literal["tracker", "sensor"] | None, Query(description="tracker | sensor")] = None,
                shipment: Annotated[str | None, Query(description="bound to this shipment", **SHIPMENT_ID)] = None,
                warehouse: Annotated[str | None, Query(description="bound to this warehouse", **NODE_ID)] = None,
                limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    items, total = page_devices(db, org=principal.org_id, kind=kind, shipment=shipment, warehouse=warehouse,
                                limit=limit, offset=offset)
    return {"items": [device_out(d) for d in items], "total": total, "limit": limit, "offset": offset}


@router.get("/devices/{device_id}", response_model=DeviceOut, summary="A device's binding and thresholds",
            responses=problems(**AUTH_ERRORS, **{"404": "unknown device", "422": "not a device id"}))
def get_device_route(device_id: DeviceId, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return device_out(get_device(db, device_id, org=principal.org_id))


@router.delete("/devices/{device_id}", status_code=204,
               summary="Remove a device from the registry; its credential stops working (its history stays)",
               responses=problems(**AUTH_ERRORS, **{"404": "unknown device", "422": "not a device id"}))
def delete_device(device_id: DeviceId, principal: MemberDep, db: IngestDbDep, auth: AuthenticatorDep) -> Response:
    unbind_device(db, device_id, org=principal.org_id)
    with db.engine.begin() as conn:
        device_credentials.remove(conn, device_id)
    auth.forget(device_id=device_id)
    return Response(status_code=204)


@router.post("/devices/{device_id}/credentials", status_code=201, response_model=DeviceCredentialOut,
             summary="Issue the device a new credential (shown once); the old one stops working",
             responses=problems(**AUTH_ERRORS, **{"404": "unknown device", "422": "not a device id"}))
def post_device_credentials(device_id: DeviceId, principal: MemberDep, db: IngestDbDep, auth: AuthenticatorDep,
                            response: Response) -> dict[str, Any]:
    key_id, key = device_credentials.issue(db, device_id, org_id=principal.org_id)
    auth.forget(device_id=device_id)
    response.headers["Cache-Control"] = "no-store"
    return credential_out(device_id, key_id, key)
