"""Attach each reading to its device binding; quarantine readings from unknown devices."""

from __future__ import annotations

from iot_ingest.handlers.base import Context
from iot_ingest.reading import Reading


class BindHandler:
    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        out = []
        devices = ctx.devices
        for r in readings:
            dev = devices.get(r.device_id)
            if dev is None:
                ctx.quarantined.append(r)
                continue
            r.shipment_id, r.warehouse_id = dev.shipment_id, dev.warehouse_id
            out.append(r)
        return out
