"""Drop readings already stored (QoS 1 redeliveries, gateway replays) by their key (device, ts, seq).

Fast path: a reading newer than the device's state is new (the state advances in the same
transaction as the insert). Only readings at or before it are looked up in the table - a few
hundred keys per query (a join with a VALUES list, which both SQLite and PostgreSQL answer from
the primary key), not one query per reading: a device replaying its buffer sends nothing else.
"""

from __future__ import annotations

from iot_ingest import tables as t
from iot_ingest.handlers.base import Context
from iot_ingest.reading import Reading


class DedupHandler:
    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        ctx.load_states({r.device_id for r in readings})
        seen: set[tuple[str, int, int]] = set()
        out: list[Reading] = []
        check: list[Reading] = []
        for r in readings:
            k = r.key
            if k in seen:
                ctx.counts["duplicates"] += 1
                continue
            seen.add(k)
            st = ctx.states[r.device_id]
            if r.ts_ms > st.last_ts_ms:
                out.append(r)
            elif r.ts_ms == st.last_ts_ms and r.seq == st.last_seq:
                ctx.counts["duplicates"] += 1
            else:
                check.append(r)
        if check:
            stored = _stored_keys(ctx, [r.key for r in check])
            for r in check:
                if r.key in stored:
                    ctx.counts["duplicates"] += 1
                else:
                    out.append(r)
        return out


_CHUNK = 300


def _stored_keys(ctx: Context, keys: list[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
    """Which of these (device, ts, seq) keys are already in the readings table."""
    found: set[tuple[str, int, int]] = set()
    first = "(CAST(? AS VARCHAR(64)), CAST(? AS BIGINT), CAST(? AS BIGINT))"
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i:i + _CHUNK]
        values = ", ".join([first] + ["(?, ?, ?)"] * (len(chunk) - 1))
        sql = (f"SELECT r.device_id, r.ts_ms, r.seq FROM (VALUES {values}) AS v JOIN {t.readings.name} r "
               "ON r.device_id = v.column1 AND r.ts_ms = v.column2 AND r.seq = v.column3")
        params = tuple(x for k in chunk for x in k)
        found.update((d, int(ts), int(sq)) for d, ts, sq in ctx.conn.exec_driver_sql(ctx.db.sql(sql), params))
    return found
