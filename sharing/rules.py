"""Booking rules: who may book an offer, what it accepts, and what a cancellation or change costs.

Each check returns the reason a request fails (a sentence the booker reads), or None when it passes."""

from __future__ import annotations

from datetime import date

from sharing.model import Booking, BookingRequest, Offer


def may_book(offer: Offer, org_id: str, partners: set[str]) -> str | None:
    """Whether ``org_id`` may book ``offer`` (``partners``: the operator's partner list)."""
    if org_id == offer.org_id:
        return "an operator does not book its own offer"
    if offer.who_may_book == "list" and org_id not in offer.allowed_orgs:
        return "this offer may be booked only by the organisations the operator listed"
    if offer.who_may_book == "partners" and org_id not in partners:
        return "this offer may be booked only by the operator's partners"
    return None


def visible(offer: Offer, org_id: str | None, partners: set[str]) -> bool:
    """Whether ``org_id`` sees ``offer``: its operator always, others when they may book it (None: everyone)."""
    if org_id is None or org_id == offer.org_id:
        return True
    return offer.status == "open" and may_book(offer, org_id, partners) is None


def accepts(offer: Offer, req: BookingRequest, today: date) -> str | None:
    """Whether the offer takes this request at all (capacity aside)."""
    if offer.status != "open":
        return "the offer is withdrawn"
    if req.start_day < offer.start_day or req.end_day > offer.end_day:
        return (f"the days {req.start_day}..{req.end_day} are outside the offer's period "
                f"{offer.start_day}..{offer.end_day}")
    if req.end_day < today:
        return f"the days {req.start_day}..{req.end_day} are in the past"
    if offer.capacity(req.kind) <= 0:
        return f"the offer has no {req.kind} capacity"
    if req.cargo_class not in offer.cargo_classes:
        return f"cargo class {req.cargo_class} is not accepted (accepted: {', '.join(offer.cargo_classes)})"
    if req.customs_mode not in offer.customs_modes:
        return f"customs mode {req.customs_mode} is not served (served: {', '.join(offer.customs_modes)})"
    if req.quantity > offer.capacity(req.kind) + 1e-9:
        unit = offer.storage_unit if req.kind == "storage" else "m3/day"
        return (f"{req.quantity:g} {unit} is more than the offer's whole {req.kind} capacity "
                f"({offer.capacity(req.kind):g} {unit})")
    return None


def value(offer: Offer, booking: Booking, quantity: float | None = None, n_days: int | None = None) -> float:
    """The booked value of ``quantity`` (default the booking's) over ``n_days`` (default its days)."""
    q = booking.quantity if quantity is None else quantity
    return q * (booking.days if n_days is None else n_days) * offer.price(booking.kind)


def within_notice(offer: Offer, booking: Booking, today: date) -> bool:
    """True when a cancellation today is late (less than ``notice_days`` before the start)."""
    return (booking.start_day - today).days < offer.terms.notice_days


def cancel_fee(offer: Offer, booking: Booking, today: date) -> float:
    """What cancelling a confirmed booking (before its first day) today costs: nothing with enough notice,
    else ``cancel_fee_share`` of its value."""
    if booking.status != "confirmed" or not within_notice(offer, booking, today):
        return 0.0
    return offer.terms.cancel_fee_share * value(offer, booking)


def change_fee(offer: Offer, booking: Booking, new_quantity: float, new_start: date, new_end: date, today: date) -> float:
    """A change that gives up booked quantity-days within the notice period costs the cancellation share of
    the value given up; adding space or moving it with enough notice is free."""
    if booking.status != "confirmed" or not within_notice(offer, booking, today):
        return 0.0
    old = booking.quantity * booking.days
    new = new_quantity * ((new_end - new_start).days + 1)
    given_up = max(0.0, old - new)
    return offer.terms.cancel_fee_share * given_up * offer.price(booking.kind)
