"""Ranges and the past window (Traccar's filter.invalid). Readings dated in the future, and the
other plausibility filters, are the next step's (``handlers/filter.py``)."""

from __future__ import annotations

import math

from iot_ingest.handlers.base import Context
from iot_ingest.reading import MEASUREMENTS, Reading

PAST_MS = 400 * 86_400_000  # older than this is not a replay we want (retention keeps ~a year)
MAX_TS_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: later is not a time (and would not fit every column)

_RANGES = tuple((m.name, *m.valid) for m in MEASUREMENTS if m.valid is not None)  # lat/lon: below, as a pair


def check(r: Reading, now_ms: int) -> str | None:
    """The reason this reading is invalid, or None."""
    if r.ts_ms < now_ms - PAST_MS:
        return f"event time {r.ts_ms} ms is more than 400 days in the past"
    if r.ts_ms > MAX_TS_MS:
        return f"event time {str(r.ts_ms)[:30]} ms is after the year 9999"
    if r.lat is not None or r.lon is not None:
        if r.lat is None or r.lon is None:
            return "lat and lon must come together"
        if not (math.isfinite(r.lat) and -90.0 <= r.lat <= 90.0):
            return f"lat {r.lat} out of range [-90, 90]"
        if not (math.isfinite(r.lon) and -180.0 <= r.lon <= 180.0):
            return f"lon {r.lon} out of range [-180, 180]"
    for name, lo, hi in _RANGES:
        v = getattr(r, name)
        if v is not None and not lo <= v <= hi:
            return f"{name} {v} out of range [{lo}, {hi}]"
    return None


class ValidateHandler:
    """Drop invalid readings to the dead-letter table (with the raw message and the reason)."""

    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        out = []
        bad: dict[int, str] = {}
        for r in readings:
            reason = check(r, ctx.now_ms)
            if reason is None:
                out.append(r)
            else:
                bad.setdefault(r.msg_index, reason)
        if bad:  # one bad record spoils its whole message (a SenML pack is accepted or rejected as a unit)
            out = [r for r in out if r.msg_index not in bad]
            ctx.dead.extend(bad.items())
        return out
