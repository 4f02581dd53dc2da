"""Shipment milestones and ETA from the geofence events of the shipment's tracker; partners' webhooks hear of
milestones and of ETA moves of at least :data:`ETA_CHANGE_MS` (``ctx.outbox``, stored with the batch)."""

from __future__ import annotations

from iot_ingest.handlers.base import Context
from iot_ingest.reading import Reading
from webhooks.events import Event, iso

ETA_CHANGE_MS = 15 * 60_000
"""A move of the ETA (p50) within one batch that partners hear of (``shipment.eta_changed``)."""


class MilestonesHandler:
    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        seen: dict[str, int] = {}
        for r in readings:
            if r.shipment_id and not r.late:
                seen[r.shipment_id] = max(seen.get(r.shipment_id, 0), r.ts_ms)
        if not seen:
            return readings
        for ev in sorted(ctx.events, key=lambda e: (e["ts_ms"], e["kind"] == "arrival")):  # departures first
            sid = ev["shipment_id"]
            if not sid:
                continue
            shp = ctx.shipment(sid)
            if shp is not None and shp.on_event(ev["kind"], ev["node_id"], ev["ts_ms"]):
                ctx.dirty_shipments.add(sid)
                if shp.org_id:
                    ctx.outbox.append(Event(shp.org_id, "shipment.milestone", {
                        "shipment_id": sid, "kind": ev["kind"], "node": ev["node_id"], "at": iso(ev["ts_ms"]),
                        "status": shp.status}))
        for sid, last in seen.items():
            shp = ctx.shipment(sid)
            if shp is None:
                continue
            shp.last_seen_ms = max(shp.last_seen_ms or 0, last)
            before = shp.eta_p50_ms
            shp.recompute_eta(ctx.net)  # also when no milestone moved: a stop overstayed delays the ETA
            if shp.org_id and shp.eta_p50_ms is not None and abs(shp.eta_p50_ms - (before or 0)) >= ETA_CHANGE_MS:
                ctx.outbox.append(Event(shp.org_id, "shipment.eta_changed", {
                    "shipment_id": sid, "eta_p50": iso(shp.eta_p50_ms), "eta_p90": iso(shp.eta_p90_ms),
                    "previous_eta_p50": iso(before) if before is not None else None}))
            shp.updated_ms = ctx.now_ms
            ctx.dirty_shipments.add(sid)
        return readings
