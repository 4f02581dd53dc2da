"""Events for partners, written to the durable outbox (``wh_events``) in the caller's transaction.

Producers (the ingest's milestones, ETA and alerts; the trade store's document checks) call
:func:`enqueue` with the connection of the transaction that stores what happened: the event is
durable exactly when the change is. Only events some active subscription of the organisation takes
are written (one indexed query per call), so the ingest pays nothing for organisations without
webhooks. The delivery worker (:mod:`webhooks.delivery`) fans them out to the subscriptions.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, select

from optimizer.timefmt import iso_ms
from webhooks.tables import events, subscriptions

EVENT_TYPES = ("shipment.milestone", "shipment.eta_changed", "shipment.alert", "check.result")
"""shipment.milestone: a tracked shipment arrived at or left a stop; shipment.eta_changed: its ETA moved;
shipment.alert: an alert was raised on its device (temperature, door, silence, border...);
check.result: the three-document check of an order changed its outcome."""


@dataclass(frozen=True)
class Event:
    """One event of an organisation: ``data`` is the event's JSON object."""

    org_id: str
    event_type: str
    data: dict[str, Any]


def iso(ms: int) -> str:
    return iso_ms(ms, zulu=True, timespec="milliseconds") or ""


def subscribed(conn: Connection, org_ids: Iterable[str]) -> dict[str, set[str]]:
    """The event types each of ``org_ids`` has an active subscription to (organisations with none left out)."""
    wanted = sorted({o for o in org_ids if o})
    out: dict[str, set[str]] = {}
    if not wanted:
        return out
    s = subscriptions.c
    for r in conn.execute(select(s.org_id, s.event_types).where(and_(s.active.is_(True), s.org_id.in_(wanted)))):
        out.setdefault(r.org_id, set()).update(filter(None, r.event_types.split(",")))
    return out


def enqueue(conn: Connection, batch: list[Event], now_ms: int) -> int:
    """Write the events of ``batch`` that some subscription takes into the outbox, in ``conn``'s
    transaction; returns how many were written."""
    if not batch:
        return 0
    takes = subscribed(conn, (e.org_id for e in batch))
    rows = []
    for e in batch:
        if e.event_type in takes.get(e.org_id, ()):
            event_id = "evt_" + uuid.uuid4().hex
            body = {"id": event_id, "type": e.event_type, "created": iso(now_ms), "data": e.data}
            rows.append({"event_id": event_id, "org_id": e.org_id, "event_type": e.event_type,
                         "payload_json": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                         "created_ms": now_ms, "dispatched": False})
    if rows:
        conn.execute(events.insert(), rows)
    return len(rows)
