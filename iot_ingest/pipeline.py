"""Messages -> decoders -> readings -> handler chain -> one transaction. Used by the MQTT
consumer, ``POST /v1/telemetry`` and the tests alike.

Nothing a message contains can stop the pipeline: decoder failures, range errors and even an
unexpected exception in a handler end in the dead-letter table (a failing batch is retried one
message at a time to isolate the culprit). Only database failures propagate, so that the caller
does not acknowledge what was not stored.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from iot_ingest import alerts as alert_rules
from iot_ingest import tables as t
from iot_ingest.db import Database
from iot_ingest.decoders import DecodeError, Ignored, decode
from iot_ingest.geofence import GeofenceIndex
from iot_ingest.handlers import Context, Handler, default_chain
from iot_ingest.handlers.store import write
from iot_ingest.reading import Reading
from iot_ingest.registry import Device
from optimizer.network import Network, load_network

Message = tuple[str, bytes, int]  # (topic, payload, received_ms)


@dataclass
class BatchResult:
    """What one batch did (also accumulated into ``iot_counters``)."""

    counts: Counter = field(default_factory=Counter)
    dead_reasons: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> int:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.counts.get(name, 0)


def now_ms() -> int:
    return int(time.time() * 1000)


class Pipeline:
    """Thread-safe: one batch at a time (the MQTT consumer and the HTTP endpoint share one)."""

    def __init__(self, db: Database, net: Network | None = None, *, geofences: GeofenceIndex | None = None,
                 chain: Sequence[Handler] | None = None) -> None:
        self.db = db
        self.net = net or load_network()
        self.geofences = geofences or GeofenceIndex(self.net)
        self.chain = list(chain) if chain is not None else default_chain(self.geofences)
        self._lock = threading.Lock()

    def process_raw(self, items: Iterable[tuple[str, bytes]]) -> BatchResult:
        """Process (topic, payload) pairs received now."""
        t0 = now_ms()
        return self.process([(topic, payload, t0) for topic, payload in items])

    def process(self, messages: Sequence[Message]) -> BatchResult:
        """Decode and run the chain over a batch in one transaction; raises only on database errors."""
        with self._lock:
            try:
                return self._process(list(messages), isolate=False)
            except SQLAlchemyError:
                raise
            except Exception:
                if len(messages) == 1:
                    return self._process(list(messages), isolate=True)
                result = BatchResult()
                for m in messages:  # find the message that trips a handler; the rest go through
                    try:
                        r = self._process([m], isolate=False)
                    except SQLAlchemyError:
                        raise
                    except Exception:
                        r = self._process([m], isolate=True)
                    result.counts.update(r.counts)
                    result.dead_reasons.extend(r.dead_reasons)
                return result

    def _decode(self, messages: list[Message]) -> tuple[list[Reading], list[tuple[int, str]], int]:
        readings: list[Reading] = []
        dead: list[tuple[int, str]] = []
        ignored = 0
        for i, (topic, payload, received) in enumerate(messages):
            try:
                rs = decode(topic, payload, received)
            except DecodeError as exc:
                dead.append((i, exc.reason))
                continue
            except Ignored:
                ignored += 1
                continue
            except Exception as exc:  # a decoder bug must not stop the consumer
                dead.append((i, f"decoder error: {type(exc).__name__}: {str(exc)[:200]}"))
                continue
            for r in rs:
                r.msg_index = i
            readings.extend(rs)
        return readings, dead, ignored

    def _process(self, messages: list[Message], *, isolate: bool) -> BatchResult:
        t_now = now_ms()
        if isolate:
            import traceback

            readings, dead, ignored = [], [(0, "internal error while processing: "
                                             + traceback.format_exc(limit=1).strip().splitlines()[-1][:300])], 0
        else:
            readings, dead, ignored = self._decode(messages)
        with self.db.engine.begin() as conn:
            ctx = Context(self.db, conn, self.net, t_now, self._devices(conn, {r.device_id for r in readings}), messages)
            ctx.dead.extend(dead)
            ctx.counts["received"] += len(messages)
            ctx.counts["readings"] += len(readings)
            ctx.counts["ignored"] += ignored
            for handler in self.chain:
                readings = handler.handle(readings, ctx)
            if not any(type(h).__name__ == "StoreHandler" for h in self.chain):
                write(ctx, readings)
        return BatchResult(ctx.counts, [reason for _, reason in ctx.dead])

    @staticmethod
    def _devices(conn, ids: set[str]) -> dict[str, Device]:
        """Registry rows of this batch's devices, read in the batch's transaction (binds apply at once)."""
        out: dict[str, Device] = {}
        ids_l = sorted(ids)
        for i in range(0, len(ids_l), 500):
            for r in conn.execute(select(t.devices).where(t.devices.c.device_id.in_(ids_l[i:i + 500]))):
                out[r.device_id] = Device(**r._mapping)
        return out

    def sweep(self, at_ms: int | None = None) -> int:
        """Time-driven alerts (silent devices, doors left open); returns how many were raised."""
        with self._lock, self.db.engine.begin() as conn:
            from iot_ingest.registry import load_devices

            ctx = Context(self.db, conn, self.net, at_ms or now_ms(), load_devices(conn), [])
            raised = alert_rules.sweep(ctx)
            write(ctx, [])
        return raised
