"""Event-time order: late readings go to history but never move the current state backwards
(Traccar PostProcessHandler, ThingsBoard update_by_latest_ts). Within a batch readings are sorted
by (device, event time), so a batch is also a small reorder window."""

from __future__ import annotations

from iot_ingest.handlers.base import Context
from iot_ingest.reading import Reading

_FIELDS = ("lat", "lon", "speed_kmh", "heading", "accuracy_m", "battery_pct", "temperature_c", "humidity_pct",
           "door_open", "occupied_positions")


class OrderHandler:
    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        readings.sort(key=lambda r: (r.device_id, r.ts_ms, r.seq))
        states = ctx.states
        for r in readings:
            st = states[r.device_id]
            st.last_received_ms = max(st.last_received_ms, r.received_ms)
            ctx.dirty.add(r.device_id)
            if r.ts_ms < st.last_ts_ms:
                r.late = True
                ctx.counts["late"] += 1
                continue
            st.last_ts_ms, st.last_seq = r.ts_ms, r.seq
            for f in _FIELDS:
                v = getattr(r, f)
                if v is not None:
                    setattr(st, f, v)
            if r.update_interval_s:
                st.extra["ut"] = r.update_interval_s
        return readings
