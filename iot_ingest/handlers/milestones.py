"""Shipment milestones and ETA from the geofence events of the shipment's tracker."""

from __future__ import annotations

from iot_ingest.handlers.base import Context
from iot_ingest.reading import Reading


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
        for sid, last in seen.items():
            shp = ctx.shipment(sid)
            if shp is None:
                continue
            shp.last_seen_ms = max(shp.last_seen_ms or 0, last)
            shp.recompute_eta(ctx.net)  # also when no milestone moved: a stop overstayed delays the ETA
            shp.updated_ms = ctx.now_ms
            ctx.dirty_shipments.add(sid)
        return readings
