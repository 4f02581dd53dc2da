"""Alerts on live readings (late readings never raise alerts: they are history); the rules are in
``alert_rules``."""

from __future__ import annotations

from iot_ingest.handlers import alert_rules
from iot_ingest.handlers.base import Context
from iot_ingest.reading import Reading


class AlertsHandler:
    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        devices = ctx.devices
        for r in readings:
            st = ctx.states[r.device_id]
            if st.extra.pop("silent", False):  # any reading ends a silence
                ctx.close_alert(r.device_id, "silent", r.received_ms)
            if r.late:
                continue
            if r.temperature_c is None and r.door_open is None and r.lat is None and not st.extra.get("border_alert"):
                continue
            if r.temperature_c is None and r.door_open is None and not st.fences and not st.extra.get("border_alert"):
                continue  # a fix outside every fence with nothing flagged: no rule can fire or close
            alert_rules.apply(devices[r.device_id], st, r, ctx)
        return readings
