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
        dirty = ctx.dirty
        late = 0
        for r in readings:
            st = states[r.device_id]
            if r.received_ms > st.last_received_ms:
                st.last_received_ms = r.received_ms
            dirty.add(r.device_id)
            if r.ts_ms < st.last_ts_ms:
                r.late = True
                late += 1
                continue
            st.last_ts_ms, st.last_seq = r.ts_ms, r.seq
            # the _FIELDS, unrolled (this runs once per reading)
            if r.lat is not None:
                st.lat = r.lat
            if r.lon is not None:
                st.lon = r.lon
            if r.speed_kmh is not None:
                st.speed_kmh = r.speed_kmh
            if r.heading is not None:
                st.heading = r.heading
            if r.accuracy_m is not None:
                st.accuracy_m = r.accuracy_m
            if r.battery_pct is not None:
                st.battery_pct = r.battery_pct
            if r.temperature_c is not None:
                st.temperature_c = r.temperature_c
            if r.humidity_pct is not None:
                st.humidity_pct = r.humidity_pct
            if r.door_open is not None:
                st.door_open = r.door_open
            if r.occupied_positions is not None:
                st.occupied_positions = r.occupied_positions
            if r.update_interval_s:
                st.extra["ut"] = r.update_interval_s
        if late:
            ctx.counts["late"] += late
        return readings
