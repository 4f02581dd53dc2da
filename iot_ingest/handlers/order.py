"""Event-time order: late readings go to history but never move the current state backwards
(Traccar PostProcessHandler, ThingsBoard update_by_latest_ts). Within a batch readings are sorted
by (device, event time), so a batch is also a small reorder window."""

from __future__ import annotations

from collections.abc import Callable

from iot_ingest.handlers.base import Context, DeviceState
from iot_ingest.reading import MEASUREMENT_NAMES, Reading


def _compile_update(names: tuple[str, ...]) -> Callable[[Reading, DeviceState], None]:
    """``update(r, st)``: copy every measurement ``r`` carries (not None) onto ``st``, written out
    field by field once at import - it runs once per reading, and a loop of getattr/setattr over the
    names costs ~4x the unrolled code (as dataclasses generate their ``__init__``)."""
    if not all(n.isidentifier() for n in names):
        raise ValueError(f"not identifiers: {names}")
    body = "".join(f"    if (v := r.{n}) is not None:\n        st.{n} = v\n" for n in names) or "    pass\n"
    namespace: dict = {}
    exec(f"def update(r, st):\n{body}", namespace)  # noqa: S102 - our own field names, checked above
    fn = namespace["update"]
    fn.__qualname__ = fn.__name__ = "update_state"
    return fn


update_state = _compile_update(MEASUREMENT_NAMES)


class OrderHandler:
    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        readings.sort(key=lambda r: (r.device_id, r.ts_ms, r.seq))
        states = ctx.states
        dirty = ctx.dirty
        update = update_state
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
            update(r, st)
            if r.update_interval_s:
                st.extra["ut"] = r.update_interval_s
        if late:
            ctx.counts["late"] += late
        return readings
