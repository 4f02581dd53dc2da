"""A shipment's live feed: what the ingest stored since a cursor (positions, milestone events, ETA and status
changes, alerts raised or ended), read from the database so that any process serving the API sees what any
ingest process stored (the MQTT consumer and the HTTP telemetry route write the same tables; there is no
in-process notification that would reach another worker).

The cursor is a small string of four watermarks (readings' ``received_ms``, the last event id, the last alert
change, the shipment's ``updated_ms``): ``GET /v1/shipments/{id}/events`` sends it as the SSE event id, and a
client that reconnects with ``Last-Event-ID`` resumes where it left off. Scoped by organisation like every read
(another organisation's shipment is unknown exactly as an unknown id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, or_, select

from iot_ingest import tables as t
from iot_ingest.milestones import get_shipment, iso_utc
from iot_ingest.registry import UnknownShipment
from storage.db import Database

BATCH_MAX = 500  # positions per poll: a backlog (a tracker that was offline) arrives over several polls
_CURSOR = re.compile(r"^(\d{1,16})-(\d{1,16})-(\d{1,16})-(\d{1,16})$")


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """Watermarks of what a client has seen: readings received, events and alert changes stored, shipment update."""

    received_ms: int
    event_id: int
    alert_ms: int
    updated_ms: int

    def encode(self) -> str:
        return f"{self.received_ms}-{self.event_id}-{self.alert_ms}-{self.updated_ms}"

    @staticmethod
    def decode(text: str | None) -> FeedCursor | None:
        """The cursor of a ``Last-Event-ID`` header; None when absent or not one of ours (start afresh)."""
        m = _CURSOR.match((text or "").strip())
        return FeedCursor(*(int(g) for g in m.groups())) if m else None


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One thing that happened: ``kind`` is position | milestone | eta | alert; ``data`` its JSON body."""

    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """What was stored after a cursor, oldest first, and the cursor after it."""

    items: list[FeedItem]
    cursor: FeedCursor
    eta_key: tuple[Any, ...]


def _eta_key(row: Any) -> tuple[Any, ...]:
    return (row.status, row.eta_p50_ms, row.eta_p90_ms)


def start_cursor(db: Database, shipment_id: str, *, org: str | None) -> tuple[FeedCursor, tuple[Any, ...]]:
    """The cursor at this moment (nothing seen before it counts as new) and the shipment's status/ETA key.
    Raises UnknownShipment (404) for an unknown shipment or another organisation's."""
    get_shipment(db, shipment_id, org=org)
    r, e, a, s = t.readings, t.events, t.alerts, t.shipments
    with db.engine.connect() as conn:
        rec = conn.execute(select(func.max(r.c.received_ms)).where(r.c.shipment_id == shipment_id)).scalar()
        ev = conn.execute(select(func.max(e.c.id)).where(e.c.shipment_id == shipment_id)).scalar()
        al = conn.execute(select(func.max(func.coalesce(a.c.ended_ms, a.c.raised_ms)), func.max(a.c.raised_ms))
                          .where(a.c.shipment_id == shipment_id)).first()
        row = conn.execute(select(s.c.status, s.c.eta_p50_ms, s.c.eta_p90_ms, s.c.updated_ms)
                           .where(s.c.shipment_id == shipment_id)).first()
    alert_ms = max(al[0] or 0, al[1] or 0) if al else 0
    return FeedCursor(rec or 0, ev or 0, alert_ms, row.updated_ms if row else 0), _eta_key(row) if row else ()


def poll(db: Database, shipment_id: str, cursor: FeedCursor, *, org: str | None,
         eta_key: tuple[Any, ...] | None = None) -> FeedBatch:
    """Everything stored for the shipment after ``cursor``: positions (at most BATCH_MAX), milestone events,
    alerts raised or ended, and the status/ETA when it differs from ``eta_key`` (None: when the shipment was
    updated after the cursor, as on a resumed stream). Raises UnknownShipment once it is gone or not ``org``'s."""
    r, e, a, s = t.readings, t.events, t.alerts, t.shipments
    items: list[FeedItem] = []
    cur = cursor
    with db.engine.connect() as conn:
        row = conn.execute(select(s.c.status, s.c.eta_p50_ms, s.c.eta_p90_ms, s.c.updated_ms, s.c.last_seen_ms)
                           .where(s.c.shipment_id == shipment_id, *([s.c.org_id == org] if org is not None else []))).first()
    if row is None:  # gone, or not this organisation's: the same 404 as the REST routes (outside the transaction)
        get_shipment(db, shipment_id, org=org)
        raise UnknownShipment(f"unknown shipment '{shipment_id}'", field="shipment")
    with db.engine.connect() as conn:
        cols = select(r.c.device_id, r.c.ts_ms, r.c.received_ms, r.c.lat, r.c.lon, r.c.speed_kmh, r.c.temperature_c)
        reads = conn.execute(cols.where(r.c.shipment_id == shipment_id, r.c.received_ms > cursor.received_ms)
                             .order_by(r.c.received_ms, r.c.ts_ms).limit(BATCH_MAX + 1)).all()
        if len(reads) > BATCH_MAX:
            # a full batch: leave the rows of the last instant for the next poll, so that none is skipped (the
            # cursor moves by instants); one instant holding more than a batch comes whole
            last = reads[BATCH_MAX - 1].received_ms
            reads = [x for x in reads[:BATCH_MAX] if x.received_ms < last] or conn.execute(
                cols.where(r.c.shipment_id == shipment_id, r.c.received_ms == last).order_by(r.c.ts_ms)).all()
        for x in reads:
            if x.lat is not None and x.lon is not None:
                items.append(FeedItem("position", {"device": x.device_id, "ts": iso_utc(x.ts_ms), "ts_ms": x.ts_ms,
                                                   "lat": x.lat, "lon": x.lon, "speed_kmh": x.speed_kmh,
                                                   "temperature_c": x.temperature_c}))
        if reads:
            cur = replace(cur, received_ms=max(x.received_ms for x in reads))
        for ev in conn.execute(select(e).where(e.c.shipment_id == shipment_id, e.c.id > cursor.event_id)
                               .order_by(e.c.id)).mappings():
            items.append(FeedItem("milestone", {"kind": ev["kind"], "node": ev["node_id"], "node_kind": ev["node_kind"],
                                                "ts": iso_utc(ev["ts_ms"]), "device": ev["device_id"]}))
            cur = replace(cur, event_id=max(cur.event_id, ev["id"]))
        for al in conn.execute(select(a).where(a.c.shipment_id == shipment_id,
                                               or_(a.c.raised_ms > cursor.alert_ms, a.c.ended_ms > cursor.alert_ms))
                               .order_by(a.c.raised_ms, a.c.id)).mappings():
            items.append(FeedItem("alert", {"kind": al["kind"], "device": al["device_id"], "started": iso_utc(al["started_ms"]),
                                            "ended": iso_utc(al["ended_ms"]), "value": al["value"], "detail": al["detail"]}))
            cur = replace(cur, alert_ms=max(cur.alert_ms, al["raised_ms"], al["ended_ms"] or 0))
    key = _eta_key(row)
    changed = key != eta_key if eta_key is not None else row.updated_ms > cursor.updated_ms
    if changed:
        items.append(FeedItem("eta", {"status": row.status, "eta_p50": iso_utc(row.eta_p50_ms), "eta_p90": iso_utc(row.eta_p90_ms),
                                      "last_seen": iso_utc(row.last_seen_ms)}))
    cur = replace(cur, updated_ms=max(cur.updated_ms, row.updated_ms))
    return FeedBatch(items, cur, key)


__all__ = ["BATCH_MAX", "FeedBatch", "FeedCursor", "FeedItem", "poll", "start_cursor"]
