"""The records of shared-warehouse capacity: offers, their terms, bookings, stock movements.

An **offer** is a warehouse operator's capacity at one overseas warehouse of the network for a period:
storage (m³ or pallet positions, every day) and inbound handling (m³ per day), with prices, the cargo
classes and customs modes it accepts, who may book it and its terms (cancellation notice and fee, how
it is settled). A **booking** takes a quantity of one kind (storage or inbound) for a run of days.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from iot_ingest.status import PALLET_POSITION_M3
from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.model import CargoClass, NodeKind

STORAGE_UNITS = ("m3", "pallet")
WHO_MAY_BOOK = ("everyone", "list", "partners")
SETTLE_ON = ("booked", "used", "split")
KINDS = ("storage", "inbound")
STATUSES = ("held", "confirmed", "waitlisted", "refused", "cancelled", "expired")
ACTIVE = ("held", "confirmed")
"""Statuses that take capacity."""
CUSTOMS_MODES = ("9610", "1210", "9710", "9810")
CARGO_CLASSES = tuple(c.value for c in CargoClass)
MAX_PERIOD_DAYS = 731
MAX_QUANTITY = 10_000_000.0
MAX_PRICE = 1_000_000.0
CURRENCY_LEN = 3


@dataclass(frozen=True, slots=True)
class Terms:
    """Cancellation, change and settlement terms of an offer.

    ``notice_days``: a cancellation (or a reduction) at least this many days before the booking starts is
    free; later, ``cancel_fee_share`` of the value of what is given up is charged. ``settle_on``: booked
    (pay for what was booked), used (pay for what was used) or split (``booked_share`` of the charge on
    the booked quantities, the rest on the used ones); use beyond the booking is always charged.
    ``hold_hours``: a held booking keeps its space this long before it must be confirmed."""

    notice_days: int = 14
    cancel_fee_share: float = 0.5
    settle_on: str = "booked"
    booked_share: float = 1.0
    hold_hours: int = 48

    @property
    def share_on_booked(self) -> float:
        return {"booked": 1.0, "used": 0.0}.get(self.settle_on, self.booked_share)


@dataclass(frozen=True, slots=True)
class OfferSpec:
    """What an operator publishes (validated by :func:`check_offer`)."""

    warehouse: str
    start_day: date
    end_day: date
    storage_capacity: float
    inbound_m3_per_day: float
    price_storage: float
    price_inbound: float
    storage_unit: str = "m3"
    currency: str = "USD"
    cargo_classes: tuple[str, ...] = ("general",)
    customs_modes: tuple[str, ...] = ("9810",)
    who_may_book: str = "everyone"
    allowed_orgs: tuple[str, ...] = ()
    terms: Terms = field(default_factory=Terms)


@dataclass(frozen=True, slots=True)
class Offer(OfferSpec):
    """A published offer, owned by its operator ``org_id``."""

    offer_id: str = ""
    org_id: str = ""
    status: str = "open"
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def m3_per_unit(self) -> float:
        """m³ of one storage unit (a pallet position is ``PALLET_POSITION_M3``)."""
        return PALLET_POSITION_M3 if self.storage_unit == "pallet" else 1.0

    def capacity(self, kind: str) -> float:
        return self.storage_capacity if kind == "storage" else self.inbound_m3_per_day

    def price(self, kind: str) -> float:
        return self.price_storage if kind == "storage" else self.price_inbound

    def to_dict(self) -> dict:
        d = asdict(self)
        d["start_day"], d["end_day"] = self.start_day.isoformat(), self.end_day.isoformat()
        d["cargo_classes"], d["customs_modes"] = list(self.cargo_classes), list(self.customs_modes)
        d["allowed_orgs"] = list(self.allowed_orgs)
        d["id"] = d.pop("offer_id")
        d["operator"] = d.pop("org_id")
        return d


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """What a booker asks for: ``quantity`` of ``kind`` every day from ``start_day`` to ``end_day``.

    ``hold``: keep the space unconfirmed for the offer's ``hold_hours`` (confirm later, or it expires);
    ``waitlist``: when the space is not free, wait for it (until the day before the start) instead of
    being refused; ``request_key``: the client's idempotency key (a retry gets the first answer)."""

    offer_id: str
    kind: str
    quantity: float
    start_day: date
    end_day: date
    cargo_class: str = "general"
    customs_mode: str = "9810"
    hold: bool = False
    waitlist: bool = True
    request_key: str | None = None


@dataclass(frozen=True, slots=True)
class Booking:
    """A booking of ``quantity`` of one kind on an offer, by ``org_id`` (the booker) from ``operator_org_id``.

    ``org_name``/``operator_name``: the two organisations' display names, read with the booking where it is
    returned to a party (None when not read, or when the organisation's row is gone)."""

    booking_id: str
    org_id: str
    offer_id: str
    operator_org_id: str
    warehouse: str
    kind: str
    quantity: float
    start_day: date
    end_day: date
    cargo_class: str
    customs_mode: str
    status: str
    reason: str | None
    expires_ms: int | None
    fee: float
    request_key: str | None
    created_ms: int
    updated_ms: int
    org_name: str | None = None
    operator_name: str | None = None

    @property
    def days(self) -> int:
        return (self.end_day - self.start_day).days + 1

    def covers(self, day: date) -> bool:
        return self.start_day <= day <= self.end_day

    def to_dict(self) -> dict:
        return {"id": self.booking_id, "org": self.org_id, "offer": self.offer_id, "operator": self.operator_org_id,
                "warehouse": self.warehouse, "kind": self.kind, "quantity": self.quantity,
                "start_day": self.start_day.isoformat(), "end_day": self.end_day.isoformat(),
                "cargo_class": self.cargo_class, "customs_mode": self.customs_mode, "status": self.status,
                "reason": self.reason, "expires_ms": self.expires_ms, "fee": round(self.fee, 2),
                "request_key": self.request_key, "created_ms": self.created_ms, "updated_ms": self.updated_ms,
                "org_name": self.org_name, "operator_name": self.operator_name}


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _number(value: float, name: str, low: float, high: float, *, positive: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number", field=name)
    if value < low or value > high or (positive and value <= 0):
        bound = f"greater than {low:g}" if positive else f"at least {low:g}"
        raise InvalidInput(f"{name} must be {bound} and at most {high:g} (got {value:g})", field=name)
    return float(value)


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
DAY_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
"""A day as the API takes it: YYYY-MM-DD within FIRST_DAY..LAST_DAY (the calendar is checked by parse_day)."""


def parse_day(text: str, field: str) -> date:
    """``text`` (YYYY-MM-DD) as a date, or InvalidInput naming ``field`` (e.g. 2027-02-30)."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: '{str(text)[:20]}' is not a calendar day (YYYY-MM-DD)", field=field) from None


def check_period(start: date, end: date, *, prefix: str = "") -> None:
    """InvalidInput unless ``start..end`` is a run of at most MAX_PERIOD_DAYS days within 2000..2100."""
    for name, d in (("start_day", start), ("end_day", end)):
        if not FIRST_DAY <= d <= LAST_DAY:
            raise InvalidInput(f"{prefix}{name} {d} is outside {FIRST_DAY}..{LAST_DAY}", field=f"{prefix}{name}")
    if end < start:
        raise InvalidInput(f"{prefix}end_day {end} is before {prefix}start_day {start}", field=f"{prefix}end_day")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(f"a period may span at most {MAX_PERIOD_DAYS} days (got {(end - start).days + 1})",
                           field=f"{prefix}end_day")


def check_offer(net: Network, spec: OfferSpec) -> OfferSpec:
    """The spec, or InvalidInput naming the first bad field."""
    node = net.node(spec.warehouse, "warehouse")
    if node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
        raise InvalidInput(f"'{spec.warehouse}' is a {node.kind.value}, not an overseas warehouse", field="warehouse")
    check_period(spec.start_day, spec.end_day)
    if spec.storage_unit not in STORAGE_UNITS:
        raise InvalidInput(f"storage_unit must be one of {', '.join(STORAGE_UNITS)}", field="storage_unit")
    _number(spec.storage_capacity, "storage_capacity", 0, MAX_QUANTITY)
    _number(spec.inbound_m3_per_day, "inbound_m3_per_day", 0, MAX_QUANTITY)
    if spec.storage_capacity <= 0 and spec.inbound_m3_per_day <= 0:
        raise InvalidInput("an offer needs storage_capacity or inbound_m3_per_day above 0", field="storage_capacity")
    _number(spec.price_storage, "price_storage", 0, MAX_PRICE)
    _number(spec.price_inbound, "price_inbound", 0, MAX_PRICE)
    if not (isinstance(spec.currency, str) and len(spec.currency) == CURRENCY_LEN and spec.currency.isalpha()
            and spec.currency.isupper()):
        raise InvalidInput("currency must be an ISO 4217 code of three capital letters, e.g. USD", field="currency")
    for i, c in enumerate(spec.cargo_classes):
        if c not in CARGO_CLASSES:
            raise InvalidInput(f"cargo_classes[{i}]: '{c}' is not one of {', '.join(CARGO_CLASSES)}",
                               field=f"cargo_classes.{i}")
    if not spec.cargo_classes:
        raise InvalidInput("cargo_classes: accept at least one cargo class", field="cargo_classes")
    for i, m in enumerate(spec.customs_modes):
        if m not in CUSTOMS_MODES:
            raise InvalidInput(f"customs_modes[{i}]: '{m}' is not one of {', '.join(CUSTOMS_MODES)}",
                               field=f"customs_modes.{i}")
    if not spec.customs_modes:
        raise InvalidInput("customs_modes: serve at least one customs mode", field="customs_modes")
    if spec.who_may_book not in WHO_MAY_BOOK:
        raise InvalidInput(f"who_may_book must be one of {', '.join(WHO_MAY_BOOK)}", field="who_may_book")
    if spec.who_may_book == "list" and not spec.allowed_orgs:
        raise InvalidInput("who_may_book 'list' needs allowed_orgs (organisation ids)", field="allowed_orgs")
    t = spec.terms
    if not isinstance(t.notice_days, int) or not 0 <= t.notice_days <= 365:
        raise InvalidInput("terms.notice_days must be a whole number of days in 0..365", field="terms.notice_days")
    _number(t.cancel_fee_share, "terms.cancel_fee_share", 0, 1)
    if t.settle_on not in SETTLE_ON:
        raise InvalidInput(f"terms.settle_on must be one of {', '.join(SETTLE_ON)}", field="terms.settle_on")
    _number(t.booked_share, "terms.booked_share", 0, 1)
    if not isinstance(t.hold_hours, int) or not 1 <= t.hold_hours <= 24 * 30:
        raise InvalidInput("terms.hold_hours must be a whole number of hours in 1..720", field="terms.hold_hours")
    return spec


def check_request(req: BookingRequest) -> BookingRequest:
    if req.kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    _number(req.quantity, "quantity", 0, MAX_QUANTITY, positive=True)
    check_period(req.start_day, req.end_day)
    if req.cargo_class not in CARGO_CLASSES:
        raise InvalidInput(f"cargo_class '{req.cargo_class}' is not one of {', '.join(CARGO_CLASSES)}", field="cargo_class")
    if req.customs_mode not in CUSTOMS_MODES:
        raise InvalidInput(f"customs_mode '{req.customs_mode}' is not one of {', '.join(CUSTOMS_MODES)}",
                           field="customs_mode")
    if req.request_key is not None and not (0 < len(req.request_key) <= 128 and req.request_key.isprintable()):
        raise InvalidInput("request_key must be 1..128 printable characters", field="request_key")
    return req
