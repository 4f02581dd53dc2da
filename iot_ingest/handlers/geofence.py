"""Arrival/departure events at hubs, border crossings, warehouses and markets (server-side fences)."""

from __future__ import annotations

from iot_ingest.geofence import GeofenceIndex
from iot_ingest.handlers.base import Context
from iot_ingest.reading import Reading


class GeofenceHandler:
    def __init__(self, index: GeofenceIndex) -> None:
        self.index = index

    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        live = [r for r in readings if not r.late and r.lat is not None]
        if not live:
            return readings
        located = self.index.locate([r.lon for r in live], [r.lat for r in live])
        kinds = self.index.kind
        for r, (inside, ring) in zip(live, located):
            st = ctx.states[r.device_id]
            old = st.fences
            new = inside | (old & ring)
            r.fences = new
            if new == old:
                continue
            since = st.extra.setdefault("fence_since", {})
            for node in sorted(new - old):
                since[node] = r.ts_ms
                ctx.events.append({"device_id": r.device_id, "shipment_id": r.shipment_id,
                                   "warehouse_id": r.warehouse_id, "ts_ms": r.ts_ms, "kind": "arrival",
                                   "node_id": node, "node_kind": kinds[node], "lat": r.lat, "lon": r.lon})
            for node in sorted(old - new):
                since.pop(node, None)
                ctx.events.append({"device_id": r.device_id, "shipment_id": r.shipment_id,
                                   "warehouse_id": r.warehouse_id, "ts_ms": r.ts_ms, "kind": "departure",
                                   "node_id": node, "node_kind": kinds[node], "lat": r.lat, "lon": r.lon})
            st.fences = new
        return readings
