"""Shipments for batch planning: the record type and the CSV/JSON-row reader.

A shipments file has a header with at least ``id,origin,destination,weight_kg,volume_m3,ready_date,
due_date`` and optionally ``pieces,cargo_class,customs_mode,value``. Row numbers are file line
numbers (the header is row 1), so they match what a spreadsheet shows.

Bad rows do not stop the reader: each becomes a :class:`~optimizer.errors.DataError` (file, row,
field, message) in :attr:`ShipmentsLoad.errors` and every valid row is kept. Callers decide what to
do when nothing valid remains (the CLI exits 2, the API answers 422). Every row error names a real
column, and messages never repeat more than a short, printable cell.

Bounds (the same for the CLI, the API's rows and its CSV text; ``api.schemas.plans`` states them):

- at most :data:`MAX_SHIPMENTS` rows per plan (``max_rows``), :data:`MAX_CSV_CHARS` characters of
  CSV text; more is refused as a whole (``DataError`` on field ``shipments``) before rows are parsed.
  20,000 is twice the largest benchmarked batch (bench/plan_bench.py, 10,000 rows) and keeps a
  plan's options within the planner's memory budget (``optimizer.planning.planner.check_plan_size``).
- text cells at most :data:`MAX_CHARS` characters, printable (no control characters such as NUL, no
  bidirectional overrides or other invisible formatting characters, no ``<``/``>``);
  ids at most 64 characters.
- physical limits of one shipment: ``weight_kg`` in (0, 1,000,000], ``volume_m3`` in (0, 5,000],
  ``pieces`` in 1..100,000, ``value`` in [0, 1e9] (within what a quote accepts, so every planned row
  is also quotable).
- ``ready_date`` within one year before and two years after the network data's ``as_of`` date,
  ``due_date`` at most :data:`MAX_DUE_DAYS` days after it (departure tables are built up to the dates asked).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sized
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from optimizer.errors import CbecError, DataError
from optimizer.network import Network
from optimizer.network.model import Cargo
from optimizer.network.timeutil import to_minutes, zone
from optimizer.quotes.quote import build_request

REQUIRED = ("id", "origin", "destination", "weight_kg", "volume_m3", "ready_date", "due_date")
OPTIONAL = ("pieces", "cargo_class", "customs_mode", "value")

MAX_SHIPMENTS = 20_000  # rows per plan (CLI file, API rows or CSV text)
MAX_CSV_CHARS = 8 * 1024 * 1024  # CSV text / file: 20,000 rows of up to ~400 characters
MAX_CHARS = {"id": 64, "origin": 64, "destination": 64, "ready_date": 40, "due_date": 40, "cargo_class": 32,
             "customs_mode": 32, "weight_kg": 32, "volume_m3": 32, "pieces": 32, "value": 32}
MAX_WEIGHT_KG = 1_000_000.0  # a heavy-lift charter; more is not one shipment
MAX_VOLUME_M3 = 5_000.0
MAX_PIECES = 100_000
MAX_VALUE = 1e9  # declared value, network currency
READY_DAYS_BEFORE_AS_OF = 366
READY_DAYS_AFTER_AS_OF = 731
MAX_DUE_DAYS = 366  # due date at most this many days after the ready date


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


def text_problem(value: str, name: str, limit: int) -> str | None:
    """Why ``value`` is not acceptable text for column ``name`` (too long, unprintable, angle brackets), or None.

    The message never repeats the value (it may be huge or hostile), only its length or the code
    point at fault. ``str.isprintable`` rejects every control (NUL included), format (bidirectional
    overrides, zero-width), surrogate, private-use and unassigned character and every separator
    but the ASCII space.
    """
    if len(value) > limit:
        return f"{name} is longer than {limit} characters (got {len(value):,})"
    if value.isprintable() and "<" not in value and ">" not in value:
        return None
    for i, ch in enumerate(value, start=1):
        if ch in "<>":
            return f"{name} must not contain '<' or '>' (character {i})"
        if not ch.isprintable():
            return f"{name} must be printable text: U+{ord(ch):04X} at character {i} is a control or formatting character"
    return None  # pragma: no cover


def _number(raw: str, name: str, upper: float, unit: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (got '{raw}')") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number (got '{raw}')")
    if value > upper:
        raise ValueError(f"{name} must be at most {upper:,.0f} {unit} (got '{raw}')")
    return value


def ready_window(net: Network) -> tuple[date, date]:
    """The ready dates a plan accepts: a year before to two years after the network data's date."""
    as_of = date.fromisoformat(str(net.as_of)[:10])
    return as_of - timedelta(days=READY_DAYS_BEFORE_AS_OF), as_of + timedelta(days=READY_DAYS_AFTER_AS_OF)


def _cell(v: object, name: str) -> str:
    """A cell as text: JSON numbers as Python writes them; an integer too long for any cell is a ValueError."""
    if v is None:
        return ""
    if isinstance(v, int) and not isinstance(v, bool):
        if v.bit_length() > 100:  # ~30 digits: no column holds such a number (and 4,000 digits do not print)
            raise ValueError(f"{name} is out of range (a number of about {int(v.bit_length() * 0.30103)} digits)")
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return str(v).strip()


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

    cells: dict[str, str] = {}
    for name in REQUIRED + OPTIONAL:  # bounded, printable text first: nothing below sees more
        try:
            text = cells[name] = _cell(fields.get(name), name)
        except ValueError as exc:
            raise DataError(file, row, name, str(exc)) from None
        problem = text_problem(text, name, MAX_CHARS[name]) if text else None
        if problem:
            raise DataError(file, row, name, problem)
    get = cells.__getitem__
    for name in REQUIRED:
        if not get(name):
            raise DataError(file, row, name, "missing value")
    sid = get("id")
    try:
        weight = _number(get("weight_kg"), "weight_kg", MAX_WEIGHT_KG, "kg")
    except ValueError as exc:
        raise DataError(file, row, "weight_kg", str(exc)) from None
    try:
        volume = _number(get("volume_m3"), "volume_m3", MAX_VOLUME_M3, "m³")
    except ValueError as exc:
        raise DataError(file, row, "volume_m3", str(exc)) from None
    pieces_raw = get("pieces") or "1"
    try:
        pieces_f = float(pieces_raw)
        if not (math.isfinite(pieces_f) and 1 <= pieces_f <= MAX_PIECES and pieces_f == int(pieces_f)):
            raise ValueError
        pieces = int(pieces_f)
    except ValueError:
        raise DataError(file, row, "pieces",
                        f"pieces must be a whole number from 1 to {MAX_PIECES:,} (got '{pieces_raw}')") from None
    value: float | None = None
    if get("value"):
        try:
            value = float(get("value"))
            if not math.isfinite(value) or not 0 <= value <= MAX_VALUE:
                raise ValueError
        except ValueError:
            raise DataError(file, row, "value",
                            f"value must be a number from 0 to {MAX_VALUE:,.0f} (got '{get('value')}')") from None
    try:
        req = build_request(net, get("origin"), get("destination"), weight, volume, get("ready_date"), pieces=pieces,
                            cargo_class=get("cargo_class") or "general", customs_mode=get("customs_mode") or None)
    except CbecError as exc:
        name = "ready_date" if exc.field == "ready" else exc.field if exc.field in cells else "origin"
        raise DataError(file, row, name, exc.detail) from None
    lo, hi = ready_window(net)
    if not lo <= req.ready.date() <= hi:
        raise DataError(file, row, "ready_date", f"ready date {get('ready_date')} is outside {lo.isoformat()}..{hi.isoformat()} "
                                                 f"(a year before to two years after the network data of {net.as_of})")
    try:
        due = _due(get("due_date"), net.nodes[req.destination].tz)
    except ValueError as exc:
        raise DataError(file, row, "due_date", str(exc)) from None
    if due < req.ready:
        raise DataError(file, row, "due_date", f"due date {get('due_date')} is before the ready date {get('ready_date')}")
    if due - req.ready > timedelta(days=MAX_DUE_DAYS):
        raise DataError(file, row, "due_date", f"due date {get('due_date')} is more than {MAX_DUE_DAYS} days after the ready date")
    return Shipment(sid, req.origin, req.destination, req.cargo, req.ready, due, value, row)


def too_many_rows(file: str, row: int | None, max_rows: int) -> DataError:
    return DataError(file, row, "shipments", f"more than {max_rows:,} shipment rows: at most {max_rows:,} per plan; "
                                             "split the batch")


def read_rows(net: Network, rows: Iterable[tuple[int | None, Mapping[str, object]]], file: str = "shipments",
              *, max_rows: int | None = MAX_SHIPMENTS) -> ShipmentsLoad:
    """Validate numbered rows; duplicate ids after the first are rejected (the first one is kept).

    More than ``max_rows`` rows (None: no limit) is refused as a whole: DataError on field ``shipments``.
    """
    if max_rows is not None and isinstance(rows, Sized) and len(rows) > max_rows:
        raise too_many_rows(file, None, max_rows)
    out = ShipmentsLoad()
    seen: dict[str, int | None] = {}
    for k, (row, fields) in enumerate(rows):
        if max_rows is not None and k >= max_rows:
            raise too_many_rows(file, row, max_rows)
        try:
            if not isinstance(fields, Mapping):
                raise DataError(file, row, "id", f"expected a row with the columns {', '.join(REQUIRED)} as keys")
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


def read_shipments_text(net: Network, text: str, file: str = "shipments.csv", *,
                        max_rows: int | None = MAX_SHIPMENTS) -> ShipmentsLoad:
    """Parse CSV text. A missing required column is fatal (DataError, row 1); bad data rows are collected.

    Text longer than :data:`MAX_CSV_CHARS`, more than ``max_rows`` data rows or a CSV syntax error
    (a cell over the csv module's 128 KiB) are fatal too: DataError on field ``shipments``.
    """
    if len(text) > MAX_CSV_CHARS:
        raise DataError(file, None, "shipments", f"more than {MAX_CSV_CHARS:,} characters of CSV (got {len(text):,})")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        header = []
    except csv.Error as exc:
        raise DataError(file, 1, "shipments", f"malformed CSV header: {exc}") from None
    if not any(header):
        raise DataError(file, 1, "shipments", "empty file: expected a header row "
                                               f"({','.join(REQUIRED)}[,{','.join(OPTIONAL)}])")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(file, 1, missing[0], f"missing column(s) {', '.join(missing)} in the header")

    out = ShipmentsLoad()
    good: list[tuple[int, dict[str, str]]] = []
    line_no, count = 1, 0
    try:
        for line_no, cells in enumerate(reader, start=2):
            if not cells or all(not c.strip() for c in cells):
                continue
            count += 1
            if max_rows is not None and count > max_rows:
                raise too_many_rows(file, line_no, max_rows)
            if len(cells) < len(header):
                # the first absent column is the field at fault
                out.errors.append(DataError(file, line_no, header[len(cells)],
                                            f"malformed row: expected {len(header)} fields, found {len(cells)} "
                                            f"('{header[len(cells)]}' and later columns are absent)"))
            elif len(cells) > len(header):
                out.errors.append(DataError(file, line_no, header[-1],
                                            f"malformed row: expected {len(header)} fields, found {len(cells)} "
                                            f"({len(cells) - len(header)} cells after the last column '{header[-1]}')"))
            else:
                good.append((line_no, dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        raise DataError(file, line_no + 1, "shipments", f"malformed CSV: {exc}") from None
    parsed = read_rows(net, good, file, max_rows=None)
    out.shipments = parsed.shipments
    out.errors = sorted(out.errors + parsed.errors, key=lambda e: (e.row or 0))
    return out


def read_shipments_csv(net: Network, path: str | Path, *, max_rows: int | None = MAX_SHIPMENTS) -> ShipmentsLoad:
    """Read a shipments CSV file (UTF-8, optional BOM); raises FileNotFoundError when absent.

    A directory, an unreadable or binary file, text that is not UTF-8 or a file larger than
    :data:`MAX_CSV_CHARS` bytes is a DataError on field ``shipments`` (one readable line in the CLI).
    """
    path = Path(path)
    name = path.name or str(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CSV_CHARS + 1)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise DataError(name, None, "shipments", f"{path} is a directory, not a CSV file") from None
    except OSError as exc:
        raise DataError(name, None, "shipments", f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CSV_CHARS:
        raise DataError(name, None, "shipments", f"file larger than {MAX_CSV_CHARS:,} bytes")
    if b"\x00" in data:
        raise DataError(name, None, "shipments", "not a CSV text file: it contains NUL bytes (binary data?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(name, line, "shipments", f"not UTF-8 text (byte 0x{data[exc.start]:02X} at offset {exc.start:,}); "
                                                  "save the CSV as UTF-8") from None
    return read_shipments_text(net, text, name, max_rows=max_rows)
