"""The last handler: write everything the batch produced, in the batch's one transaction.

Readings go in with ``executemany`` and ``ON CONFLICT DO NOTHING`` on (device, ts, seq), so even a
duplicate that slipped past the dedup handler (two consumers racing) cannot add a row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from operator import attrgetter

from iot_ingest import tables as t
from iot_ingest.handlers.base import Context, DeviceState
from iot_ingest.reading import MEASUREMENT_NAMES, Reading
from webhooks.events import Event, enqueue, iso

READING_COLS = ("device_id", "ts_ms", "seq", "kind", "fmt", "received_ms", "late", *MEASUREMENT_NAMES, "shipment_id",
                "warehouse_id")
QUARANTINE_COLS = ("device_id", "ts_ms", "seq", "kind", "fmt", "received_ms", "topic", *MEASUREMENT_NAMES,
                   "warehouse_hint")
EVENT_COLS = ("device_id", "shipment_id", "warehouse_id", "ts_ms", "kind", "node_id", "node_kind", "lat", "lon")
ALERT_COLS = ("device_id", "shipment_id", "warehouse_id", "kind", "started_ms", "raised_ms", "ended_ms", "value",
              "detail")


def _insert(table: str, cols: tuple[str, ...], conflict: str = "ON CONFLICT DO NOTHING") -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) {conflict}"


_READINGS_SQL = _insert(t.readings.name, READING_COLS)
_QUARANTINE_SQL = _insert(t.quarantine.name, QUARANTINE_COLS)
_DEAD_SQL = _insert(t.dead_letters.name, ("digest", "topic", "payload", "reason", "received_ms"))
_EVENTS_SQL = _insert(t.events.name, EVENT_COLS)
_ALERTS_SQL = _insert(t.alerts.name, ALERT_COLS)
_CLOSE_SQL = f"UPDATE {t.alerts.name} SET ended_ms = ? WHERE device_id = ? AND kind = ? AND ended_ms IS NULL"
_STATE_SQL = _insert(t.device_state.name, DeviceState.COLUMNS,
                     "ON CONFLICT (device_id) DO UPDATE SET " + ", ".join(
                         f"{c} = excluded.{c}" for c in DeviceState.COLUMNS[1:]))
_COUNTER_SQL = _insert(t.counters.name, ("name", "value"),
                       f"ON CONFLICT (name) DO UPDATE SET value = {t.counters.name}.value + excluded.value")
_GAUGE_SQL = _insert(t.counters.name, ("name", "value"), "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
_SHIPMENT_SQL = (f"UPDATE {t.shipments.name} SET status = ?, milestones_json = ?, eta_p50_ms = ?, eta_p90_ms = ?, "
                 "last_seen_ms = ?, updated_ms = ? WHERE shipment_id = ?")


def _row_of(cols: tuple[str, ...]) -> Callable[[Reading], tuple]:
    """A Reading's values for these columns, in their order, in one C call (``kind`` as its value)."""
    return attrgetter(*("kind.value" if c == "kind" else c for c in cols))


reading_row = _row_of(READING_COLS)
quarantine_row = _row_of(QUARANTINE_COLS)


def dead_letter_digest(topic: str, payload: bytes) -> str:
    return hashlib.sha256(topic.encode("utf-8", "surrogateescape") + b"\0" + payload).hexdigest()


DEAD_TOPIC_MAX = 500  # characters of a dead letter's topic kept (MQTT allows 65,535 bytes; valid ones are < 200)
DEAD_REASON_MAX = 500


def storable_text(text: str, limit: int) -> str:
    """``text`` as a text column can hold it on every database and a terminal can show it: at most
    ``limit`` characters, NUL (an error in PostgreSQL text), other control characters, bidirectional
    overrides and lone surrogates escaped (``\\x00``, ``\\u202e``). The digest keeps the raw topic."""
    head = text[:limit]
    cut = len(text) > limit
    if not head.isprintable():
        escaped = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in head)
        cut = cut or len(escaped) > limit
        head = escaped[:limit]
    return head + f"... ({len(text):,} characters)" if cut else head


def alert_events(ctx: Context) -> list[Event]:
    """``shipment.alert`` for each alert the batch raised, to the organisation of its device."""
    out = []
    for a in ctx.alerts_opened:
        device = ctx.devices.get(a["device_id"])
        if device is not None and device.org_id:
            out.append(Event(device.org_id, "shipment.alert", {
                "shipment_id": a["shipment_id"], "warehouse_id": a["warehouse_id"], "device_id": a["device_id"],
                "kind": a["kind"], "started": iso(a["started_ms"]), "value": a["value"], "detail": a["detail"]}))
    return out


class StoreHandler:
    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        write(ctx, readings)
        return readings


def write(ctx: Context, readings: list[Reading]) -> None:
    """Flush the context's outputs and ``readings`` through the open transaction."""
    db, conn, c = ctx.db, ctx.conn, ctx.counts
    run = conn.exec_driver_sql
    if readings:
        res = run(db.sql(_READINGS_SQL), list(map(reading_row, readings)))
        stored = res.rowcount if res.rowcount is not None and res.rowcount >= 0 else len(readings)
        c["stored"] += stored
        c["duplicates"] += len(readings) - stored
    if ctx.quarantined:
        rows = list(map(quarantine_row, ctx.quarantined))
        res = run(db.sql(_QUARANTINE_SQL), rows)
        c["quarantined"] += res.rowcount if res.rowcount is not None and res.rowcount >= 0 else len(rows)
    if ctx.dead:
        rows = []
        for idx, reason in ctx.dead:
            topic, payload, received = ctx.messages[idx]
            payload = bytes(payload)
            rows.append((dead_letter_digest(topic, payload), storable_text(topic, DEAD_TOPIC_MAX), payload,
                         storable_text(reason, DEAD_REASON_MAX), received))
        run(db.sql(_DEAD_SQL), rows)
        c["dead_lettered"] += len(rows)
    if ctx.events:
        run(db.sql(_EVENTS_SQL), [tuple(e[k] for k in EVENT_COLS) for e in ctx.events])
        c["events"] += len(ctx.events)
    if ctx.alerts_opened:
        run(db.sql(_ALERTS_SQL), [tuple(a[k] for k in ALERT_COLS) for a in ctx.alerts_opened])
        ctx.outbox.extend(alert_events(ctx))
    if ctx.outbox:  # partners' webhooks: durable with the batch, delivered by webhooks.delivery
        enqueue(conn, ctx.outbox, ctx.now_ms)
    if ctx.alerts_closed:
        run(db.sql(_CLOSE_SQL), [(ended, dev, kind) for dev, kind, ended in ctx.alerts_closed])
    if ctx.dirty:  # only the rows that differ from what the database has (the pipeline caches state)
        written, states = ctx.written, ctx.states
        rows = []
        for d in sorted(ctx.dirty):
            st = states[d]
            st.is_new = False
            row = st.row()
            if written.get(d) != row:
                rows.append(row)
                written[d] = row
        if rows:
            run(db.sql(_STATE_SQL), rows)
    if ctx.dirty_shipments:
        rows = []
        for sid in sorted(ctx.dirty_shipments):
            s = ctx.shipments[sid]
            if s is not None:
                rows.append((s.status, json.dumps(s.milestones), s.eta_p50_ms, s.eta_p90_ms, s.last_seen_ms,
                             s.updated_ms, sid))
        if rows:
            run(db.sql(_SHIPMENT_SQL), rows)
    if readings:
        lags = sorted(max(0, ctx.now_ms - r.received_ms) for r in readings)
        run(db.sql(_GAUGE_SQL), [("lag_ms_p50", lags[len(lags) // 2]), ("lag_ms_p95", lags[int(len(lags) * 0.95)]),
                                 ("last_stored_ms", ctx.now_ms)])
    counts = [(k, int(v)) for k, v in c.items() if v]
    if counts:
        run(db.sql(_COUNTER_SQL), counts)
