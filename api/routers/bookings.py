"""Routes: bookings of shared-warehouse capacity (``/v1/bookings``): request (confirmed, held, waitlisted or
refused with the reason), list, show, change, confirm a hold, cancel, the audit trail; stock movements drawing
on bookings (by hand, from a tracked shipment, from a batch plan) and the reconciliation of use with bookings
and the warehouse's sensors.

A booking is seen by its booker and by the operator of its offer; for anyone else its id answers 404 exactly
like an unknown id. Changes and cancellations are the booker's; the operator may refuse a held or waitlisted
booking on its offer, or cancel a confirmed one before its first day, with a reason the booker reads
(``POST /v1/bookings/{id}/refuse``; audited).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from accounts.principal import Principal
from api.auth import AUTH_ERRORS, AdminDep, MemberDep, require
from api.deps import IngestDbDep, NetworkDep
from api.jobs import JobsDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.sharing import (
    BOOKING_ID_RE,
    AuditOut,
    BookingChangeIn,
    BookingIn,
    BookingListOut,
    BookingOut,
    Day,
    ExpiryOut,
    MovementIn,
    MovementListOut,
    MovementOut,
    PlanUseIn,
    ReconciliationOut,
    RefusalIn,
    ShipmentUseIn,
)
from sharing.audit import Actor, trail
from sharing.bookings import (
    PAGE_MAX,
    cancel_booking,
    change_booking,
    confirm_booking,
    expire_due,
    get_booking,
    list_bookings,
    refuse_booking,
    request_booking,
)
from sharing.model import BookingRequest, check_period, parse_day
from sharing.usage import draw_from_plan, draw_from_shipment, movements, reconcile, record_movement

BODY = {"400": "malformed JSON body"}
router = APIRouter(route_class=JsonRoute, prefix="/v1/bookings", tags=["shared warehouses"])
BookingId = Annotated[str, Path(pattern=f"^{BOOKING_ID_RE}$", description="the booking's id")]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]
WriterDep = Annotated[Principal, Depends(require("member", "admin"))]
UNKNOWN = {"404": "unknown booking (or one of another organisation)"}


@router.post("", status_code=201, response_model=BookingOut, summary="Request a booking",
             responses=problems(**AUTH_ERRORS, **BODY, **{"404": "unknown offer (or one this organisation may not book)",
                                                  "422": "invalid request"}))
def post_booking(body: BookingIn, principal: WriterDep, db: IngestDbDep, response: Response) -> dict[str, Any]:
    """Every request gets a stored answer: ``confirmed`` (or ``held`` with ``hold``) when the quantity fits on
    every day, else ``waitlisted`` (with ``waitlist`` and a start still ahead) or ``refused``; ``reason`` says
    why (the full day, the class or customs mode not accepted, who may book). Concurrent requests on one offer
    never overbook it. A retry with the same ``request_key`` gets the first answer."""
    req = BookingRequest(body.offer, body.kind, body.quantity, parse_day(body.start_day, "start_day"),
                         parse_day(body.end_day, "end_day"), body.cargo_class,
                         body.customs_mode, body.hold, body.waitlist, body.request_key)
    b = request_booking(db, principal.org_id, req, Actor.of(principal))
    response.headers["Location"] = f"/v1/bookings/{b.booking_id}"
    return b.to_dict()


@router.get("", response_model=BookingListOut, summary="Bookings this organisation made, or those on its offers",
            responses=problems(**AUTH_ERRORS, **{"422": "invalid filter"}))
def get_bookings(principal: MemberDep, db: IngestDbDep,
                 role: Annotated[Literal["booker", "operator", "any"], Query(description="booker: made by this "
                                 "organisation; operator: on its offers; any: both")] = "any",
                 offer: Annotated[str | None, Query(max_length=64)] = None,
                 status: Annotated[Literal["held", "confirmed", "waitlisted", "refused", "cancelled", "expired"] | None,
                                   Query()] = None,
                 limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    items, total = list_bookings(db, org=principal.org_id, role=role, offer_id=offer, status=status, limit=limit,
                                 offset=offset)
    return {"items": [b.to_dict() for b in items], "total": total, "limit": limit, "offset": offset}


@router.post("/expire", response_model=ExpiryOut,
             summary="Expire the holds and waits past their deadline on this organisation's offers (every offer for "
                     "the pilot-zone office) and promote the waitlists",
             responses=problems(**AUTH_ERRORS))
def post_expire(principal: AdminDep, db: IngestDbDep) -> dict[str, int]:
    """An operator's chore, for a scheduler: every request about an offer already does it for that offer, so this
    only matters for offers nobody asks about. An admin of the offers' operator; the office's admins, every offer."""
    return expire_due(db, operator=None if principal.is_office_admin else principal.org_id)


@router.post("/movements", status_code=201, response_model=MovementOut, summary="Record a stock movement",
             responses=problems(**AUTH_ERRORS, **BODY, **{"404": "unknown warehouse, or no such client", "422": "invalid"}))
def post_movement(body: MovementIn, principal: WriterDep, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    """An inbound movement draws on the owner's confirmed inbound booking at the warehouse that day; one with
    no booking is recorded and flagged as unbooked. ``owner``: an operator recording for a client that holds
    bookings on its offers at the warehouse. Idempotent on ``ref``."""
    owner = body.owner or principal.org_id
    source = "manual" if owner == principal.org_id else "operator"
    return record_movement(db, net, owner, body.warehouse.upper(), parse_day(body.day, "day"), body.direction, body.m3, source, body.ref,
                           Actor.of(principal), recorded_by=principal.org_id).to_dict()


@router.post("/movements/from-shipment", status_code=201, response_model=MovementOut,
             summary="A tracked shipment arriving at a warehouse draws on the booking",
             responses=problems(**AUTH_ERRORS, **BODY, **{"404": "unknown shipment", "422": "not to an overseas warehouse"}))
def post_shipment_use(body: ShipmentUseIn, principal: WriterDep, db: IngestDbDep, net: NetworkDep) -> dict[str, Any]:
    return draw_from_shipment(db, net, principal.org_id, body.shipment, body.m3, Actor.of(principal)).to_dict()


@router.post("/movements/from-plan", status_code=201, response_model=MovementListOut,
             summary="A batch plan's arrivals at warehouses draw on the bookings",
             responses=problems(**AUTH_ERRORS, **BODY, **{"404": "unknown plan", "409": "the plan has not finished"}))
def post_plan_use(body: PlanUseIn, principal: WriterDep, db: IngestDbDep, net: NetworkDep,
                  jobs: JobsDep) -> dict[str, Any]:
    job = jobs.get(body.plan, kind="plan")
    if job is None:
        raise HTTPException(404, f"no plan '{body.plan}'")
    if job.status != "succeeded" or not isinstance(job.result, dict):
        raise HTTPException(409, f"plan {body.plan} is {job.status}: only a finished plan draws on bookings")
    mv = draw_from_plan(db, net, principal.org_id, job.result, body.plan, Actor.of(principal))
    return {"items": [m.to_dict() for m in mv]}


@router.get("/movements", response_model=MovementListOut, summary="Stock movements of this organisation, or in its offers",
            responses=problems(**AUTH_ERRORS))
def get_movements(principal: MemberDep, db: IngestDbDep,
                  warehouse: Annotated[str | None, Query(max_length=64)] = None,
                  start: Annotated[Day | None, Query()] = None, end: Annotated[Day | None, Query()] = None) -> dict[str, Any]:
    items = movements(db, org=principal.org_id, warehouse=warehouse.upper() if warehouse else None,
                      start=start and parse_day(start, "start"), end=end and parse_day(end, "end"))
    return {"items": [m.to_dict() for m in items[:5000]]}


@router.get("/reconciliation", response_model=ReconciliationOut,
            summary="Use against bookings at a warehouse: overuse, unbooked inbound, sensors vs recorded stock",
            responses=problems(**AUTH_ERRORS, **{"404": "unknown warehouse", "422": "invalid days"}))
def get_reconciliation(principal: MemberDep, db: IngestDbDep, net: NetworkDep,
                       warehouse: Annotated[str, Query(min_length=1, max_length=64)],
                       start: Annotated[Day, Query()], end: Annotated[Day, Query()]) -> dict[str, Any]:
    first, last = parse_day(start, "start"), parse_day(end, "end")
    check_period(first, last)
    return reconcile(db, net, warehouse.upper(), first, last, org=principal.org_id)


@router.get("/{booking_id:booking_id}", response_model=BookingOut, summary="One booking",
            responses=problems(**AUTH_ERRORS, **UNKNOWN))
def get_one(booking_id: BookingId, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return get_booking(db, booking_id, org=principal.org_id).to_dict()


@router.patch("/{booking_id:booking_id}", response_model=BookingOut, summary="Change a booking's quantity or days",
              responses=problems(**AUTH_ERRORS, **BODY, **UNKNOWN, **{"409": "the change does not fit, or the booking is "
                                                                      "not held or confirmed", "422": "invalid change"}))
def patch_booking(booking_id: BookingId, body: BookingChangeIn, principal: WriterDep, db: IngestDbDep) -> dict[str, Any]:
    return change_booking(db, booking_id, principal.org_id, Actor.of(principal), quantity=body.quantity,
                          start_day=body.start_day and parse_day(body.start_day, "start_day"),
                          end_day=body.end_day and parse_day(body.end_day, "end_day")).to_dict()


@router.post("/{booking_id:booking_id}/confirm", response_model=BookingOut, summary="Confirm a held booking",
             responses=problems(**AUTH_ERRORS, **BODY, **UNKNOWN, **{"409": "not held (expired, cancelled, ...)"}))
def post_confirm(booking_id: BookingId, principal: WriterDep, db: IngestDbDep) -> dict[str, Any]:
    return confirm_booking(db, booking_id, principal.org_id, Actor.of(principal)).to_dict()


@router.delete("/{booking_id:booking_id}", response_model=BookingOut, summary="Cancel a booking by the offer's terms",
               responses=problems(**AUTH_ERRORS, **UNKNOWN, **{"409": "already ended, or under way"}))
def delete_booking(booking_id: BookingId, principal: WriterDep, db: IngestDbDep) -> dict[str, Any]:
    return cancel_booking(db, booking_id, principal.org_id, Actor.of(principal)).to_dict()


@router.post("/{booking_id:booking_id}/refuse", response_model=BookingOut,
             summary="The operator refuses (or cancels) a booking on its offer, with a reason",
             responses=problems(**{**AUTH_ERRORS, **BODY, **UNKNOWN,
                                   "403": "the caller booked it (the booker cancels with DELETE), or is not a member "
                                          "or admin",
                                   "409": "already ended, or under way", "422": "no reason, or not printable"}))
def post_refuse(booking_id: BookingId, body: RefusalIn, principal: WriterDep, db: IngestDbDep) -> dict[str, Any]:
    """A held or waitlisted booking becomes ``refused``, a confirmed one not yet begun ``cancelled`` (no fee to
    the booker); ``reason`` reads "refused by the operator: ..." and the audit trail keeps who, when and why."""
    return refuse_booking(db, booking_id, principal.org_id, Actor.of(principal), body.reason).to_dict()


@router.get("/{booking_id:booking_id}/audit", response_model=AuditOut, summary="Every change to a booking: who, when, what",
            responses=problems(**AUTH_ERRORS, **UNKNOWN))
def get_audit(booking_id: BookingId, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    get_booking(db, booking_id, org=principal.org_id)
    return {"items": [e.to_dict() for e in trail(db, "booking", booking_id, org=principal.org_id)]}
