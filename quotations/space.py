"""Transport space bookings: an organisation books the departures of one option of its saved quote.

A booking holds, on every scheduled departure the option uses (each part's departure when the option is
split), the part's weight, volume and TEU; :func:`quotations.holds.booking_holds` adds them to what plans
and followed shipments hold, so later quotes see less space left (``space_left``) and skip departures that
are full. Booking is decided under one lock (``pg_advisory_xact_lock`` on PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` holds the database's write lock) against the holds read *after* the lock is taken, so two
concurrent bookings never take the same last space: the second is refused (409) naming the departure and
what is left. A quote that has expired cannot be booked (410); another organisation's quote is unknown
(404). A ``request_key`` makes the request idempotent (the same key answers the first booking).

Cancelling (with a reason) releases the space. Quotes in this API process see a booking or a cancellation at
once; other processes within :data:`quotations.holds.TTL_S` seconds (their booking still checks fresh).
"""

from __future__ import annotations

import json
import secrets
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from accounts.errors import Conflict
from optimizer.errors import CbecError, InvalidInput
from optimizer.network import Network
from quotations import holds
from quotations.saved import load_quote
from quotations.tables import space_bookings
from storage.db import Database

_LOCK_KEY = zlib.crc32(b"cbec-space-bookings") - 2**31  # one advisory lock for every booking decision
PAGE_MAX = 200
REQUEST_KEY_MAX = 64
REASON_MAX = 500


class SpaceBookingNotFound(CbecError):
    """An unknown booking id, or another organisation's (answered alike)."""

    status = 404
    title = "Space booking not found"

    def __init__(self, booking_id: str) -> None:
        super().__init__(f"no space booking '{booking_id[:64]}'", field="booking_id")


@dataclass(frozen=True, slots=True)
class DepartureHold:
    """The space one part of the cargo takes on one departure (``depart_date``: local at the service's origin)."""

    service: str
    departure_id: str
    depart_date: str
    kg: float
    m3: float
    teu: float

    def doc(self) -> dict[str, Any]:
        return {"service": self.service, "departure_id": self.departure_id, "depart_date": self.depart_date,
                "kg": self.kg, "m3": self.m3, "teu": self.teu}


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def resolve_option(doc: dict[str, Any], option: str) -> str:
    """The id of the option ``option`` names in the quote ``doc``: its id, or its position 1, 2, ... as listed."""
    options = doc.get("options", [])
    if option.isdigit() and len(option) <= 4:
        if 1 <= int(option) <= len(options):
            return options[int(option) - 1]["id"]
    elif any(o.get("id") == option for o in options):
        return option
    raise InvalidInput(f"quote {doc.get('quote_id')} has no option '{option[:80]}': name one by its position "
                       f"1 to {len(options)} or by its id", field="option")


def option_holds(net: Network, doc: dict[str, Any], option_id: str) -> list[DepartureHold]:
    """What booking option ``option_id`` of the quote ``doc`` holds: each scheduled leg's departures (its
    ``departure_id`` and ``split_departures``), the cargo shared equally between them. Legs of continuous
    services (road, final delivery) and services without a capacity hold nothing."""
    option = next(o for o in doc["options"] if o.get("id") == resolve_option(doc, option_id))
    req = doc.get("request", {})
    weight, volume = float(req.get("weight_kg") or 0.0), float(req.get("volume_m3") or 0.0)
    out: list[DepartureHold] = []
    for leg in option.get("legs", []):
        svc = net.services.get(leg.get("service") or "")
        if svc is None or svc.schedule.continuous or not leg.get("departure_id"):
            continue
        cap = svc.capacity
        if cap.kg is None and cap.m3 is None and cap.teu is None:
            continue
        deps = [leg["departure_id"], *(d["departure_id"] for d in leg.get("split_departures") or [])]
        parts = len(deps)
        for dep in deps:
            day = holds.local_day(net, svc.id, dep.partition("@")[2])
            if day is None:
                raise InvalidInput(f"departure '{dep}' of option {option_id} cannot be read", field="option")
            out.append(DepartureHold(svc.id, dep, day.isoformat(), round(weight / parts, 3), round(volume / parts, 4),
                                     round(float(leg.get("teu") or 0) / parts, 4)))
    return out


def _shortfalls(net: Network, wanted: list[DepartureHold],
                held: dict[tuple[Any, Any], dict[str, float]]) -> list[str]:
    """Each departure where ``wanted`` does not fit what is left after ``held`` (with what is left)."""
    need: dict[tuple[str, str], dict[str, float]] = {}
    ids: dict[tuple[str, str], str] = {}
    for h in wanted:
        n = need.setdefault((h.service, h.depart_date), {"kg": 0.0, "m3": 0.0, "teu": 0.0})
        n["kg"] += h.kg
        n["m3"] += h.m3
        n["teu"] += h.teu
        ids[(h.service, h.depart_date)] = h.departure_id
    short = []
    for (sid, day), n in need.items():
        cap = net.services[sid].capacity
        have = held.get((sid, date.fromisoformat(day)), {"kg": 0.0, "m3": 0.0, "teu": 0.0})
        for unit, limit in (("kg", cap.kg), ("m3", cap.m3), ("teu", cap.teu)):
            if limit is None or not n[unit]:
                continue
            left = limit - have[unit]
            if n[unit] > left + 1e-6:
                short.append(f"{ids[(sid, day)]} has {max(left, 0.0):,.1f} {unit} left, the booking needs {n[unit]:,.1f}")
    return short


def _doc(row: Any) -> dict[str, Any]:
    hs = json.loads(row["holds"])
    return {"booking_id": row["booking_id"], "quote_id": row["quote_id"], "option": row["option_id"],
            "status": row["status"], "request_key": row["request_key"], "holds": hs,
            "first_departure": _iso(row["first_departure_ms"]), "created_at": _iso(row["created_ms"]),
            "created_by": row["created_by"], "cancelled_at": _iso(row["cancelled_ms"]), "reason": row["reason"]}


def _by_key(conn: Any, org_id: str, key: str) -> Any:
    return conn.execute(select(space_bookings).where(space_bookings.c.org_id == org_id,
                                                     space_bookings.c.request_key == key)).mappings().first()


def book_space(db: Database, net: Network, org_id: str, quote_id: str, option_id: str, *,
               request_key: str | None = None, actor: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Book option ``option_id`` of ``org_id``'s saved quote ``quote_id``: its departures' space is held.

    Raises QuoteNotFound (404), QuoteExpired (410), InvalidInput (no such option, an option without scheduled
    departures) and Conflict (409: a departure no longer has the space, naming it and what is left)."""
    if request_key is not None and not (0 < len(request_key) <= REQUEST_KEY_MAX and request_key.isprintable()):
        raise InvalidInput(f"request_key must be 1 to {REQUEST_KEY_MAX} printable characters", field="request_key")
    now = now or datetime.now(UTC)
    doc = load_quote(db, quote_id, org_id, now=now)
    option_id = resolve_option(doc, option_id)
    wanted = option_holds(net, doc, option_id)
    if not wanted:
        raise InvalidInput(f"option {option_id} of quote {quote_id} uses no scheduled departure with a capacity: "
                           "there is no space to book (road and continuous services need none)", field="option")
    first = min(_ms(datetime.fromisoformat(h.departure_id.partition("@")[2].replace("Z", "+00:00"))) for h in wanted)
    with db.engine.begin() as conn:
        if not db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises writers
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        if request_key is not None and (row := _by_key(conn, org_id, request_key)) is not None:
            if row["quote_id"] != quote_id or row["option_id"] != option_id:
                raise Conflict(f"request_key '{request_key}' was used for {row['quote_id']} option {row['option_id']}",
                               field="request_key")
            return _doc(row)
        # the holds of every holder read now, after the lock: bookings committed before it are counted
        short = _shortfalls(net, wanted, holds.sum_holds(db, net, conn))
        if short:
            raise Conflict("the option no longer fits: " + "; ".join(short[:3]) +
                           (f"; and {len(short) - 3} more" if len(short) > 3 else "") + " (ask for a new quote)",
                           field="option")
        booking_id = "sb_" + secrets.token_urlsafe(12)
        try:
            conn.execute(insert(space_bookings).values(
                booking_id=booking_id, org_id=org_id, quote_id=quote_id, option_id=option_id, status="booked",
                request_key=request_key, holds=json.dumps([h.doc() for h in wanted], separators=(",", ":")),
                first_departure_ms=first, created_ms=_ms(now), created_by=actor))
        except IntegrityError:  # cannot happen under the lock; a clear answer if a writer bypassed it
            raise Conflict(f"request_key '{request_key}' is being used by another request", field="request_key") from None
        row = conn.execute(select(space_bookings).where(space_bookings.c.booking_id == booking_id)).mappings().one()
    holds.clear_cache()
    return _doc(row)


def get_space_booking(db: Database, org_id: str, booking_id: str) -> dict[str, Any]:
    """One of ``org_id``'s space bookings (404 for another organisation's)."""
    with db.engine.connect() as conn:
        row = conn.execute(select(space_bookings).where(space_bookings.c.booking_id == booking_id)).mappings().first()
    if row is None or row["org_id"] != org_id:
        raise SpaceBookingNotFound(booking_id)
    return _doc(row)


def list_space_bookings(db: Database, org_id: str, *, status: str | None = None, limit: int = 50,
                        offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """``org_id``'s space bookings, newest first, and their count (``status``: booked or cancelled)."""
    if status not in (None, "booked", "cancelled"):
        raise InvalidInput("status must be booked or cancelled", field="status")
    limit, offset = max(1, min(int(limit), PAGE_MAX)), max(0, int(offset))
    cond = [space_bookings.c.org_id == org_id] + ([space_bookings.c.status == status] if status else [])
    with db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(space_bookings).where(*cond)).scalar() or 0
        rows = conn.execute(select(space_bookings).where(*cond)
                            .order_by(space_bookings.c.created_ms.desc(), space_bookings.c.booking_id)
                            .limit(limit).offset(offset)).mappings().all()
    return [_doc(r) for r in rows], int(total)


def cancel_space_booking(db: Database, org_id: str, booking_id: str, reason: str, *,
                         now: datetime | None = None) -> dict[str, Any]:
    """Cancel ``org_id``'s booking (its space is released); cancelling a cancelled booking answers it unchanged."""
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX or not reason.isprintable():
        raise InvalidInput(f"a reason of 1 to {REASON_MAX} printable characters is required", field="reason")
    now = now or datetime.now(UTC)
    get_space_booking(db, org_id, booking_id)
    with db.engine.begin() as conn:
        conn.execute(update(space_bookings)
                     .where(space_bookings.c.booking_id == booking_id, space_bookings.c.status == "booked")
                     .values(status="cancelled", cancelled_ms=_ms(now), reason=reason))
    holds.clear_cache()
    return get_space_booking(db, org_id, booking_id)
