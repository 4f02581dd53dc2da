"""Schemas of transport space bookings (the departures of one option of a saved quote, :mod:`quotations.space`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SpaceBookingIn(BaseModel):
    """Which option of the quote to book."""

    model_config = ConfigDict(extra="forbid")

    option: str = Field(min_length=1, max_length=1000, description="the option: its id in the quote (options[].id) or its position 1, 2, ... as listed")
    request_key: str | None = Field(default=None, min_length=1, max_length=64,
                                    description="idempotency key: the same key answers the first booking")


class SpaceCancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why the booking is cancelled (kept with it)")


class DepartureHoldOut(BaseModel):
    """The space one part of the cargo holds on one departure."""

    service: str
    departure_id: str
    depart_date: str = Field(description="local date of the departure at the service's origin")
    kg: float
    m3: float
    teu: float


class SpaceBookingOut(BaseModel):
    booking_id: str
    quote_id: str
    option: str = Field(description="the booked option's id in the quote")
    status: str = Field(description="booked (space held) | cancelled (released)")
    request_key: str | None
    holds: list[DepartureHoldOut]
    first_departure: str | None
    created_at: str | None
    created_by: str | None
    cancelled_at: str | None
    reason: str | None


class SpaceBookingListOut(BaseModel):
    bookings: list[SpaceBookingOut]
    total: int
    limit: int
    offset: int
