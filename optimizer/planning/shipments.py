"""Shipments for batch planning: the record type and the CSV/JSON-row reader.

A shipments file has a header with at least ``id,origin,destination,weight_kg,volume_m3,ready_date,
due_date`` and optionally ``pieces,cargo_class,customs_mode,value``. Row numbers are file line
numbers (the header is row 1), so they match what a spreadsheet shows.

Bad rows do not stop the reader: each becomes a :class:`~optimizer.errors.DataError` (file, row,
field, message) in :attr:`ShipmentsLoad.errors` and every valid row is kept. Callers decide what to
do when nothing valid remains (the CLI exits 2, the API answers 422).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from optimizer.errors import CbecError, DataError
from optimizer.network import Network
from optimizer.network.model import Cargo
from optimizer.network.timeutil import to_minutes, zone
from optimizer.quotes.quote import build_request

REQUIRED = ("id", "origin", "destination", "weight_kg", "volume_m3", "ready_date", "due_date")
OPTIONAL = ("pieces", "cargo_class", "customs_mode", "value")


@dataclass(frozen=True, slots=True)
class Shipment:
    """One shipment to plan. ``due`` is the end of the due date at the destination (local 23:59)."""

    id: str
    origin: str
    destination: str
    cargo: Cargo
    ready: datetime  # UTC
    due: datetime  # UTC
    value: float | None = None
    row: int | None = None

    @property
    def ready_minute(self) -> int:
        return to_minutes(self.ready)

    @property
    def due_minute(self) -> int:
        return to_minutes(self.due)


@dataclass
class ShipmentsLoad:
    """Valid shipments and the rejected rows (each a DataError naming row and field)."""

    shipments: list[Shipment] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)

    def errors_as_dicts(self) -> list[dict[str, object]]:
        return [{"row": e.row, "field": e.field, "message": _message(e)} for e in self.errors]


def _message(e: DataError) -> str:
    # DataError.detail starts with "file, row N, field 'f': "; the dict already carries those.
    return e.detail.split(": ", 1)[1] if ": " in e.detail else e.detail


def _number(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (got '{raw}')") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number (got '{raw}')")
    return value


def _due(raw: str, tz: str) -> datetime:
    text = raw.strip()
    try:
        if len(text) == 10:
            local = datetime.combine(date.fromisoformat(text), time(23, 59), tzinfo=zone(tz))
        else:
            local = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if local.tzinfo is None:
                local = local.replace(tzinfo=zone(tz))
    except ValueError:
        raise ValueError(f"'{raw}' is not an ISO 8601 date (YYYY-MM-DD) or date-time") from None
    return local.astimezone(zone("UTC"))


def shipment_from_fields(net: Network, fields: Mapping[str, object], row: int | None, file: str = "shipments") -> Shipment:
    """Validate one row (CSV cells or JSON values) into a Shipment; raises DataError naming the field."""

    def get(name: str) -> str:
        v = fields.get(name)
        return "" if v is None else str(v).strip()

    for name in REQUIRED:
        if not get(name):
            raise DataError(file, row, name, "missing value")
    sid = get("id")
    try:
        weight = _number(get("weight_kg"), "weight_kg")
    except ValueError as exc:
        raise DataError(file, row, "weight_kg", str(exc)) from None
    try:
        volume = _number(get("volume_m3"), "volume_m3")
    except ValueError as exc:
        raise DataError(file, row, "volume_m3", str(exc)) from None
    pieces_raw = get("pieces") or "1"
    try:
        pieces = int(float(pieces_raw))
        if pieces < 1 or pieces != float(pieces_raw):
            raise ValueError
    except ValueError:
        raise DataError(file, row, "pieces", f"pieces must be a positive integer (got '{pieces_raw}')") from None
    value: float | None = None
    if get("value"):
        try:
            value = float(get("value"))
            if not math.isfinite(value) or value < 0:
                raise ValueError
        except ValueError:
            raise DataError(file, row, "value", f"value must be a non-negative number (got '{get('value')}')") from None
    try:
        req = build_request(net, get("origin"), get("destination"), weight, volume, get("ready_date"), pieces=pieces,
                            cargo_class=get("cargo_class") or "general", customs_mode=get("customs_mode") or None)
    except CbecError as exc:
        name = {"ready": "ready_date"}.get(exc.field or "", exc.field)
        raise DataError(file, row, name, exc.detail) from None
    try:
        due = _due(get("due_date"), net.nodes[req.destination].tz)
    except ValueError as exc:
        raise DataError(file, row, "due_date", str(exc)) from None
    if due < req.ready:
        raise DataError(file, row, "due_date", f"due date {get('due_date')} is before the ready date {get('ready_date')}")
    return Shipment(sid, req.origin, req.destination, req.cargo, req.ready, due, value, row)


def read_rows(net: Network, rows: Iterable[tuple[int | None, Mapping[str, object]]], file: str = "shipments") -> ShipmentsLoad:
    """Validate numbered rows; duplicate ids after the first are rejected (the first one is kept)."""
    out = ShipmentsLoad()
    seen: dict[str, int | None] = {}
    for row, fields in rows:
        try:
            s = shipment_from_fields(net, fields, row, file)
        except DataError as exc:
            out.errors.append(exc)
            continue
        if s.id in seen:
            first = seen[s.id]
            out.errors.append(DataError(file, row, "id", f"duplicate id '{s.id}' (first seen in row {first})"))
            continue
        seen[s.id] = row
        out.shipments.append(s)
    return out


def read_shipments_text(net: Network, text: str, file: str = "shipments.csv") -> ShipmentsLoad:
    """Parse CSV text. A missing required column is fatal (DataError, row 1); bad data rows are collected."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DataError(file, 1, None, "empty file: expected a header row") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(file, 1, missing[0], f"missing column(s) {', '.join(missing)} in the header")

    def rows() -> Iterable[tuple[int, dict[str, str]]]:
        for line_no, cells in enumerate(reader, start=2):
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                yield line_no, {"__malformed__": f"expected {len(header)} fields, found {len(cells)}"}
                continue
            yield line_no, dict(zip(header, cells, strict=True))

    out = ShipmentsLoad()
    good = []
    for line_no, fields in rows():
        if "__malformed__" in fields:
            out.errors.append(DataError(file, line_no, None, f"malformed row: {fields['__malformed__']}"))
        else:
            good.append((line_no, fields))
    parsed = read_rows(net, good, file)
    out.shipments = parsed.shipments
    out.errors = sorted(out.errors + parsed.errors, key=lambda e: (e.row or 0))
    return out


def read_shipments_csv(net: Network, path: str | Path) -> ShipmentsLoad:
    """Read a shipments CSV file (UTF-8, optional BOM); raises FileNotFoundError when absent."""
    path = Path(path)
    return read_shipments_text(net, path.read_text(encoding="utf-8"), path.name)
