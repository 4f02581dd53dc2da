"""What the handlers share within one batch: the open transaction, device state, outputs."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, ClassVar, Protocol

from sqlalchemy import select

from iot_ingest import tables as t
from storage.db import Database
from iot_ingest.milestones import TrackedShipment
from iot_ingest.reading import MEASUREMENT_NAMES, MEASUREMENTS, Reading, with_measurements
from iot_ingest.registry import Device
from optimizer.network import Network
from webhooks.events import Event

_HEAD = ("device_id", "last_ts_ms", "last_seq", "last_received_ms")
_BOOLS = tuple(m.name for m in MEASUREMENTS if m.type is bool)  # SQLite gives them back as 0/1
_head_and_values = attrgetter(*_HEAD, *MEASUREMENT_NAMES)


@dataclass(slots=True)
@with_measurements  # + the latest value of each measurement (lat, lon, ..., temperature_c, ...)
class DeviceState:
    """Current state of one device: only readings at or after ``last_ts_ms`` move it."""

    device_id: str
    last_ts_ms: int = -(2**62)
    last_seq: int = -1
    last_received_ms: int = 0
    fences: frozenset[str] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict)  # fence_since, excursion, door_since, open alerts, ut
    is_new: bool = True

    COLUMNS: ClassVar[tuple[str, ...]] = (*_HEAD, *MEASUREMENT_NAMES, "fences", "extra_json")  # of iot_device_state

    @classmethod
    def from_row(cls, m) -> "DeviceState":
        values = {name: m[name] for name in MEASUREMENT_NAMES}
        for name in _BOOLS:
            if values[name] is not None:
                values[name] = bool(values[name])
        return cls(m["device_id"], m["last_ts_ms"], m["last_seq"], m["last_received_ms"],
                   frozenset(filter(None, m["fences"].split(","))), json.loads(m["extra_json"]), False, **values)

    def row(self) -> tuple:
        """Its ``iot_device_state`` row, in COLUMNS order."""
        return _head_and_values(self) + (",".join(sorted(self.fences)),
                                         json.dumps(self.extra, separators=(",", ":")) if self.extra else "{}")


@dataclass
class Context:
    """One batch, one transaction. Handlers read ``devices``/``states`` and append to the outputs."""

    db: Database
    conn: Any  # SQLAlchemy Connection inside an open transaction
    net: Network
    now_ms: int
    devices: dict[str, Device]
    messages: list[tuple[str, bytes, int]]  # (topic, payload, received_ms) of the batch, for dead letters
    states: dict[str, DeviceState] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    shipments: dict[str, TrackedShipment | None] = field(default_factory=dict)
    dirty_shipments: set[str] = field(default_factory=set)
    dead: list[tuple[int, str]] = field(default_factory=list)  # (message index, reason)
    quarantined: list[Reading] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    alerts_opened: list[dict[str, Any]] = field(default_factory=list)
    alerts_closed: list[tuple[str, str, int]] = field(default_factory=list)  # (device, kind, ended_ms)
    counts: Counter = field(default_factory=Counter)
    written: dict[str, tuple] = field(default_factory=dict)  # device -> its row as the database has it
    outbox: list[Event] = field(default_factory=list)  # events for partners' webhooks, stored with the batch

    def load_states(self, device_ids: set[str]) -> None:
        """Fetch the current state of these devices (in this transaction, so several consumers agree)."""
        missing = [d for d in device_ids if d not in self.states]
        if not missing:
            return
        s = t.device_state
        for i in range(0, len(missing), 500):
            chunk = missing[i:i + 500]
            for r in self.conn.execute(select(s).where(s.c.device_id.in_(chunk))).mappings():
                st = self.states[r["device_id"]] = DeviceState.from_row(r)
                self.written[st.device_id] = st.row()
        for d in missing:
            if d not in self.states:
                self.states[d] = DeviceState(d)

    def shipment(self, shipment_id: str) -> TrackedShipment | None:
        if shipment_id not in self.shipments:
            r = self.conn.execute(select(t.shipments).where(t.shipments.c.shipment_id == shipment_id)).first()
            self.shipments[shipment_id] = TrackedShipment.from_row(r) if r is not None else None
        return self.shipments[shipment_id]

    def open_alert(self, device: Device, kind: str, started_ms: int, value: float | None, detail: str) -> None:
        self.alerts_opened.append({"device_id": device.device_id, "shipment_id": device.shipment_id,
                                   "warehouse_id": device.warehouse_id, "kind": kind, "started_ms": started_ms,
                                   "raised_ms": self.now_ms, "ended_ms": None, "value": value, "detail": detail})

    def close_alert(self, device_id: str, kind: str, ended_ms: int) -> None:
        self.alerts_closed.append((device_id, kind, ended_ms))


class Handler(Protocol):
    """One step of the chain."""

    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]: ...
