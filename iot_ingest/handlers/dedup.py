"""Drop readings already stored (QoS 1 redeliveries, gateway replays) by their key (device, ts, seq).

Fast path: a reading newer than the device's state is new (the state advances in the same
transaction as the insert). Only readings at or before it are looked up in the table.
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
            sql = ctx.db.sql(f"SELECT 1 FROM {t.readings.name} WHERE device_id = ? AND ts_ms = ? AND seq = ?")
            for r in check:
                if ctx.conn.exec_driver_sql(sql, (r.device_id, r.ts_ms, r.seq)).first() is None:
                    out.append(r)
                else:
                    ctx.counts["duplicates"] += 1
        return out
