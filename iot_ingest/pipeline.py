"""Messages -> decoders -> readings -> handler chain -> one transaction. Used by the MQTT
consumer, ``POST /v1/telemetry`` and the tests alike.

Nothing a message contains can stop the pipeline: decoder failures, range errors, implausible
readings (``handlers/filter.py``) and even an unexpected exception in a handler end in the
dead-letter table (a failing batch is retried one
message at a time to isolate the culprit). Only database failures propagate, so that the caller
does not acknowledge what was not stored.

The registry, the devices' current state and the shipments are kept in memory between batches
(reading and rewriting ~500 devices' state every batch was most of a batch's time). They stay
exact: every transaction that writes any of them (a batch here or in another ingest process, a
bind, a new shipment) bumps the ``state_epoch`` counter in the same transaction; a batch whose
epoch is not exactly one past this pipeline's last committed one starts from the database again.
After a failed batch (rollback) the copies are dropped as well. Only state rows that changed are
written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from iot_ingest import tables as t
from storage.db import Database, bump_epoch
from iot_ingest.decoders import DecodeError, Ignored, decode
from iot_ingest.geofence import GeofenceIndex
from iot_ingest.handlers import Context, DeviceState, FilterConfig, Handler, StoreHandler, alert_rules, default_chain
from iot_ingest.handlers.store import write
from iot_ingest.milestones import TrackedShipment
from iot_ingest.reading import Reading
from iot_ingest.registry import Device, load_devices
from optimizer.network import Network, load_network

Message = tuple[str, bytes, int]  # (topic, payload, received_ms)


@dataclass
class BatchResult:
    """What one batch did. Its int fields are the ingest's counters: the same names are accumulated
    into ``iot_counters`` (``status.ingest_stats``); a handler may count nothing else."""

    received: int = 0  # messages
    readings: int = 0  # readings decoded from them (a SenML pack gives several)
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0  # messages
    implausible: int = 0  # readings a plausibility filter rejected (handlers/filter.py); their messages are dead letters
    quarantined: int = 0  # readings of unregistered devices
    late: int = 0  # stored as history only (older than the device's state)
    ignored: int = 0  # well-formed messages without a reading (OwnTracks lwt, ...)
    events: int = 0
    alerts: int = 0
    dead_reasons: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, counts: Mapping[str, int], dead_reasons: list[str]) -> "BatchResult":
        """From a batch context's counters; a counter this class does not declare is an error."""
        return cls(**{k: int(v) for k, v in counts.items()}, dead_reasons=dead_reasons)

    def add(self, other: "BatchResult") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


_COUNTERS = tuple(f.name for f in fields(BatchResult) if f.type in (int, "int"))


def now_ms() -> int:
    return int(time.time() * 1000)


class Pipeline:
    """Thread-safe: one batch at a time (the MQTT consumer and the HTTP endpoint share one)."""

    def __init__(self, db: Database, net: Network | None = None, *, geofences: GeofenceIndex | None = None,
                 chain: Sequence[Handler] | None = None, filters: FilterConfig | None = None) -> None:
        self.db = db
        self.net = net or load_network()
        self.geofences = geofences or GeofenceIndex(self.net)
        self.chain = list(chain) if chain is not None else default_chain(self.geofences, filters)
        self._lock = threading.Lock()
        self._has_store = any(isinstance(h, StoreHandler) for h in self.chain)
        # in-memory copies of database rows, valid while self._epoch is the last committed epoch
        self._epoch: int | None = None
        self._registry: dict[str, Device | None] = {}
        self._states: dict[str, DeviceState] = {}
        self._shipments: dict[str, TrackedShipment | None] = {}
        self._written: dict[str, tuple] = {}
        self.totals = BatchResult()  # this process's counters since start (for /metrics)

    def metrics(self) -> dict[str, int]:
        """This process's counters since start: stored, duplicate, dead_letter, implausible, ..."""
        t = self.totals
        return {"received": t.received, "stored": t.stored, "duplicate": t.duplicates, "dead_letter": t.dead_lettered,
                "implausible": t.implausible, "quarantined": t.quarantined, "late": t.late}

    def _drop_cache(self) -> None:
        self._epoch = None
        self._registry.clear()
        self._states.clear()
        self._shipments.clear()
        self._written.clear()

    def _context(self, conn, at_ms: int, messages: list[Message]) -> tuple[Context, int]:
        """Bump the epoch in this transaction; keep the cached rows only if nobody else wrote since."""
        prev, self._epoch = self._epoch, None  # set again only once this transaction commits
        epoch = bump_epoch(conn)
        if prev is None or epoch != prev + 1:
            self._drop_cache()
        return Context(self.db, conn, self.net, at_ms, self._registry, messages, states=self._states,
                       shipments=self._shipments, written=self._written), epoch

    def process_raw(self, items: Iterable[tuple[str, bytes]]) -> BatchResult:
        """Process (topic, payload) pairs received now."""
        t0 = now_ms()
        return self.process([(topic, payload, t0) for topic, payload in items])

    def process(self, messages: Sequence[Message]) -> BatchResult:
        """Decode and run the chain over a batch in one transaction; raises only on database errors."""
        with self._lock:
            result = self._process_locked(messages)
            totals = self.totals
            for name in _COUNTERS:  # the counters only: reasons are per batch, totals live as long as the process
                setattr(totals, name, getattr(totals, name) + getattr(result, name))
            return result

    def _process_locked(self, messages: Sequence[Message]) -> BatchResult:
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
                result.add(r)
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
        try:
            with self.db.engine.begin() as conn:
                ctx, epoch = self._context(conn, t_now, messages)
                self._load_devices(conn, {r.device_id for r in readings})
                ctx.dead.extend(dead)
                ctx.counts["received"] += len(messages)
                ctx.counts["readings"] += len(readings)
                ctx.counts["ignored"] += ignored
                for handler in self.chain:
                    readings = handler.handle(readings, ctx)
                if not self._has_store:
                    write(ctx, readings)
                result = BatchResult.of(ctx.counts, [reason for _, reason in ctx.dead])
        except BaseException:
            self._drop_cache()  # the handlers may have changed cached state that was rolled back
            raise
        self._epoch = epoch
        return result

    def _load_devices(self, conn, ids: set[str]) -> None:
        """Registry rows of this batch's devices not cached yet (None: not registered)."""
        reg = self._registry
        if len(reg) > 200_000:  # unknown ids are cached too: bound what random topics can make us hold
            for k in [k for k, v in reg.items() if v is None]:
                del reg[k]
        missing = sorted(i for i in ids if i not in reg)
        for i in range(0, len(missing), 500):
            chunk = missing[i:i + 500]
            for r in conn.execute(select(t.devices).where(t.devices.c.device_id.in_(chunk))):
                reg[r.device_id] = Device(**r._mapping)
            for d in chunk:
                reg.setdefault(d, None)

    def sweep(self, at_ms: int | None = None) -> int:
        """Time-driven alerts (silent devices, doors left open); returns how many were raised."""
        with self._lock:
            try:
                with self.db.engine.begin() as conn:
                    ctx, epoch = self._context(conn, at_ms or now_ms(), [])
                    ctx.devices = load_devices(conn)  # the whole registry
                    self._registry.update(ctx.devices)
                    raised = alert_rules.sweep(ctx)
                    write(ctx, [])
            except BaseException:
                self._drop_cache()
                raise
            self._epoch = epoch
        return raised
