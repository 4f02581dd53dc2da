"""Routes: book the departures of a saved quote's option (transport space), list and cancel bookings.

``POST /v1/quotes/{quote_id}/bookings`` holds the option's space on each departure (409 when a departure no
longer has it, naming the departure and what is left; 410 for an expired quote); later quotes see the
space taken (``space_left``). ``POST /v1/space-bookings/{id}/cancel`` releases it. An organisation sees
its own bookings only (another's id answers 404).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.auth import AUTH_ERRORS, MemberDep
from api.deps import IngestDbDep, NetworkDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.space_bookings import SpaceBookingIn, SpaceBookingListOut, SpaceBookingOut, SpaceCancelIn
from quotations import space

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["space bookings"])
BODY = {"400": "the body is not parseable JSON"}
BookingId = Annotated[str, Path(min_length=1, max_length=64, description="the booking_id a booking answered")]


@router.post("/quotes/{quote_id}/bookings", status_code=201, response_model=SpaceBookingOut,
             summary="Book the departures of one option of a saved quote (its space is held)",
             responses=problems(**AUTH_ERRORS, **BODY, **{"404": "no such quote, or another organisation's",
                                                  "409": "a departure no longer has the space (named), or the "
                                                         "request_key was used for another option",
                                                  "410": "the quote has expired: ask for a new one",
                                                  "422": "no such option, or an option with no scheduled departure"}))
async def post_space_booking(body: SpaceBookingIn, principal: MemberDep, db: IngestDbDep, net: NetworkDep,
                             response: Response,
                             quote_id: str = Path(max_length=64, description="the quote_id POST /v1/quotes answered")) -> Any:
    doc = await run_in_threadpool(space.book_space, db, net, principal.org_id, quote_id, body.option,
                                  request_key=body.request_key, actor=principal.user_id or principal.key_id)
    response.headers["Location"] = f"/v1/space-bookings/{doc['booking_id']}"
    return doc


@router.get("/space-bookings", response_model=SpaceBookingListOut, summary="The organisation's space bookings, newest first",
            responses=problems(**AUTH_ERRORS))
def get_space_bookings(principal: MemberDep, db: IngestDbDep,
                       status: Annotated[Literal["booked", "cancelled"] | None, Query(description="only this status")] = None,
                       limit: Annotated[int, Query(ge=1, le=space.PAGE_MAX)] = 50,
                       offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> Any:
    items, total = space.list_space_bookings(db, principal.org_id, status=status, limit=limit, offset=offset)
    return {"bookings": items, "total": total, "limit": limit, "offset": offset}


@router.get("/space-bookings/{booking_id}", response_model=SpaceBookingOut, summary="One space booking",
            responses=problems(**AUTH_ERRORS, **{"404": "no such booking, or another organisation's"}))
def get_space_booking(booking_id: BookingId, principal: MemberDep, db: IngestDbDep) -> Any:
    return space.get_space_booking(db, principal.org_id, booking_id)


@router.post("/space-bookings/{booking_id}/cancel", response_model=SpaceBookingOut,
             summary="Cancel a space booking with a reason (its space is released)",
             responses=problems(**AUTH_ERRORS, **BODY, **{"404": "no such booking, or another organisation's",
                                                           "422": "no reason given"}))
def cancel_space_booking(booking_id: BookingId, body: SpaceCancelIn, principal: MemberDep, db: IngestDbDep) -> Any:
    return space.cancel_space_booking(db, principal.org_id, booking_id, body.reason)
