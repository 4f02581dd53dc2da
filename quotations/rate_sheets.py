"""Organisations' own rate sheets: read (CSV or XLSX), validate row by row, store versioned, list, retire.

The format is documented in ``docs/rate_sheets.md`` (sample: ``data/samples/rate_sheet_example.csv``).
An upload is all or nothing: a sheet with any bad row is refused with every problem named by row number
and column (up to ``MAX_ERRORS``), and the versions already stored stay as they were. Uploading a
name again makes a new version; the previous active one becomes ``superseded``. ``retire`` ends a sheet
(all its versions). Quotes use the active versions (:func:`rate_book`).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.currency import load_rates
from optimizer.network.model import Mode
from optimizer.quotes.rate_sheet import (
    EQUIPMENT,
    FREIGHT_BASES,
    SURCHARGE_BASES,
    RateBook,
    RateSheet,
    SheetLine,
    SheetSurcharge,
)
from quotations.errors import RateSheetNotFound
from quotations.tables import rate_sheets
from storage.db import Database

COLUMNS = ("service", "from", "to", "mode", "equipment", "min_kg", "rate", "basis", "min_charge", "surcharges",
           "currency", "valid_from", "valid_to")
REQUIRED = ("equipment", "rate", "basis", "currency", "valid_from", "valid_to")
MAX_ROWS = 5_000
MAX_BYTES = 2 * 1024 * 1024
MAX_ERRORS = 50
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class RowError:
    """One problem of an uploaded sheet: the row (as numbered in the file, header = 1) and column."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


@dataclass(frozen=True)
class SheetInfo:
    """A stored version of a sheet (``lines`` only when asked for)."""

    name: str
    version: int
    status: str
    filename: str
    line_count: int
    currencies: list[str]
    valid_from: str
    valid_to: str
    created_at: str
    retired_at: str | None
    lines: list[dict[str, Any]] | None = None


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidInput("a rate sheet name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit "
                           f"(got '{str(name)[:70]}')", field="name")
    return name


# --- reading -----------------------------------------------------------------------------------------------
def _records(content: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV or XLSX file as dicts of text (header names lower-cased)."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"{filename}: larger than {MAX_BYTES:,} bytes", field="file")
    if content.startswith(XLSX_MAGIC):
        try:
            import openpyxl

            wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            rows = list(wb.worksheets[0].iter_rows(values_only=True, max_row=MAX_ROWS + 2))
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput(f"{filename}: not a readable XLSX workbook ({type(exc).__name__})", field="file") from None
        cells = [["" if v is None else (v.isoformat()[:10] if isinstance(v, (date, datetime)) else str(v)) for v in r]
                 for r in rows]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(f"{filename}: not UTF-8 CSV text or an XLSX workbook", field="file") from None
        try:
            cells = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            raise InvalidInput(f"{filename}: not a readable CSV ({exc})", field="file") from None
    cells = [r for r in cells if any(str(c).strip() for c in r)] if cells else []
    if not cells:
        raise InvalidInput(f"{filename}: empty (a header row and at least one rate)", field="file")
    header = [str(h).strip().lower() for h in cells[0]]
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise InvalidInput(f"{filename}, row 1: unknown column(s) {', '.join(unknown)} (known: {', '.join(COLUMNS)})",
                           field="header")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"{filename}, row 1: missing column(s) {', '.join(missing)}", field="header")
    if len(cells) - 1 > MAX_ROWS:
        raise InvalidInput(f"{filename}: more than {MAX_ROWS:,} rates", field="file")
    return [{h: str(v).strip() for h, v in zip(header, r, strict=False) if h} for r in cells[1:]]


def _number(rec: dict[str, str], col: str, default: float | None = None) -> float:
    raw = rec.get(col, "")
    if raw == "":
        if default is None:
            raise ValueError("required")
        return default
    try:
        v = float(raw)
    except ValueError:
        raise ValueError(f"'{raw[:40]}' is not a number") from None
    if v != v or v < 0 or v == float("inf"):
        raise ValueError("must be a number of at least 0")
    return v


def _surcharges(raw: str) -> tuple[SheetSurcharge, ...]:
    out = []
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        m = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]{0,15})\s*=\s*([0-9.]+)\s*/\s*([a-z0-9_]+)", part)
        if not m:
            raise ValueError(f"'{part[:40]}' is not CODE=amount/basis (e.g. BAF=0.12/per_kg)")
        if m.group(3) not in SURCHARGE_BASES:
            raise ValueError(f"unknown basis '{m.group(3)}' (known: {', '.join(SURCHARGE_BASES)})")
        out.append(SheetSurcharge(m.group(1).upper(), float(m.group(2)), m.group(3)))
    return tuple(out)


def parse_sheet(content: bytes, filename: str, net: Network) -> list[SheetLine]:
    """The validated lines; InvalidInput listing every bad row (row number and column) otherwise."""
    records = _records(content, filename)
    known_currencies = load_rates(net.data_dir).currencies
    lines: list[SheetLine] = []
    errors: list[RowError] = []
    for n, rec in enumerate(records, start=2):
        def bad(col: str, msg: str, n: int = n) -> None:
            errors.append(RowError(n, col, msg))

        service = rec.get("service", "").upper() or None
        origin, dest = (rec.get("from", "").upper() or None), (rec.get("to", "").upper() or None)
        mode = rec.get("mode", "").lower() or None
        if service:
            if service not in net.services:
                close = difflib.get_close_matches(service, list(net.services), n=2)
                bad("service", f"unknown service '{service}'" + (f" (did you mean {', '.join(close)}?)" if close else ""))
            if origin or dest:
                bad("service", "give a service or a lane (from, to), not both")
        elif origin and dest:
            for col, node in (("from", origin), ("to", dest)):
                if node not in net.nodes:
                    bad(col, f"unknown node '{node}'")
            if mode and mode not in {m.value for m in Mode}:
                bad("mode", f"unknown mode '{mode}' (known: {', '.join(m.value for m in Mode)})")
        else:
            bad("service", "each rate names a service, or a lane with both from and to")
        equipment = rec.get("equipment", "")
        if equipment not in EQUIPMENT:
            bad("equipment", f"'{equipment[:20]}' is not one of {', '.join(EQUIPMENT)}")
        basis = rec.get("basis", "")
        if basis not in FREIGHT_BASES:
            bad("basis", f"'{basis[:20]}' is not one of {', '.join(FREIGHT_BASES)}")
        values: dict[str, float] = {}
        for col, default in (("rate", None), ("min_kg", 0.0), ("min_charge", 0.0)):
            try:
                values[col] = _number(rec, col, default)
            except ValueError as exc:
                bad(col, str(exc))
        if values.get("rate") == 0:
            bad("rate", "must be above 0")
        try:
            sur = _surcharges(rec.get("surcharges", ""))
        except ValueError as exc:
            bad("surcharges", str(exc))
            sur = ()
        currency = rec.get("currency", "").upper()
        if currency not in known_currencies:
            bad("currency", f"'{currency[:8]}' is not one of {', '.join(sorted(known_currencies))}")
        days: dict[str, date] = {}
        for col in ("valid_from", "valid_to"):
            try:
                days[col] = date.fromisoformat(rec.get(col, ""))
            except ValueError:
                bad(col, f"'{rec.get(col, '')[:20]}' is not a date (YYYY-MM-DD)")
        if len(days) == 2 and days["valid_to"] < days["valid_from"]:
            bad("valid_to", f"{days['valid_to']} is before valid_from {days['valid_from']}")
        if len(errors) >= MAX_ERRORS:
            break
        if not errors:
            lines.append(SheetLine(service, None if service else origin, None if service else dest,
                                   None if service else mode, equipment, values["min_kg"], values["rate"], basis,
                                   values["min_charge"], sur, currency, days["valid_from"], days["valid_to"]))
    if errors:
        more = " (first problems only)" if len(errors) >= MAX_ERRORS else ""
        raise InvalidInput(f"{filename}: {len(errors)} problem(s){more}: " + "; ".join(str(e) for e in errors[:10]),
                           field="file", errors=[asdict(e) for e in errors])
    if not lines:
        raise InvalidInput(f"{filename}: no rates (a header row and at least one rate)", field="file")
    return lines


# --- storing -----------------------------------------------------------------------------------------------
def _line_to_json(ln: SheetLine) -> dict[str, Any]:
    d = asdict(ln)
    d["valid_from"], d["valid_to"] = ln.valid_from.isoformat(), ln.valid_to.isoformat()
    return d


def _line_from_json(d: dict[str, Any]) -> SheetLine:
    d = dict(d)
    d["surcharges"] = tuple(SheetSurcharge(**s) for s in d["surcharges"])
    d["valid_from"], d["valid_to"] = date.fromisoformat(d["valid_from"]), date.fromisoformat(d["valid_to"])
    return SheetLine(**d)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _info(row: Any, with_lines: bool = False) -> SheetInfo:
    return SheetInfo(row["name"], row["version"], row["status"], row["filename"], row["line_count"],
                     row["currencies"].split(","), row["valid_from"].isoformat(), row["valid_to"].isoformat(),
                     _iso(row["created_ms"]) or "", _iso(row["retired_ms"]),
                     json.loads(row["lines"]) if with_lines else None)


def upload_sheet(db: Database, org_id: str, name: str, filename: str, content: bytes, net: Network,
                 *, actor: str | None = None) -> SheetInfo:
    """Validate and store a new version of the organisation's sheet ``name`` (all or nothing)."""
    check_name(name)
    lines = parse_sheet(content, filename, net)
    now = int(datetime.now(UTC).timestamp() * 1000)
    with db.engine.begin() as conn:
        last = conn.execute(select(func.max(rate_sheets.c.version)).where(
            rate_sheets.c.org_id == org_id, rate_sheets.c.name == name)).scalar()
        version = (last or 0) + 1
        conn.execute(update(rate_sheets).where(rate_sheets.c.org_id == org_id, rate_sheets.c.name == name,
                                               rate_sheets.c.status == "active").values(status="superseded"))
        conn.execute(insert(rate_sheets).values(
            sheet_id=secrets.token_hex(12), org_id=org_id, name=name, version=version, status="active",
            filename=filename[:200], currencies=",".join(sorted({ln.currency for ln in lines})),
            valid_from=min(ln.valid_from for ln in lines), valid_to=max(ln.valid_to for ln in lines),
            line_count=len(lines), lines=json.dumps([_line_to_json(ln) for ln in lines]),
            created_ms=now, created_by=actor))
    return get_sheet(db, org_id, name, version)


def list_sheets(db: Database, org_id: str) -> list[SheetInfo]:
    """The latest version of each of the organisation's sheets (active, superseded-by-nothing or retired)."""
    latest = (select(rate_sheets.c.name, func.max(rate_sheets.c.version).label("v"))
              .where(rate_sheets.c.org_id == org_id).group_by(rate_sheets.c.name).subquery())
    with db.engine.connect() as conn:
        rows = conn.execute(select(rate_sheets).join(latest, (rate_sheets.c.name == latest.c.name)
                                                     & (rate_sheets.c.version == latest.c.v))
                            .where(rate_sheets.c.org_id == org_id).order_by(rate_sheets.c.name)).mappings().all()
    return [_info(r) for r in rows]


def get_sheet(db: Database, org_id: str, name: str, version: int | None = None) -> SheetInfo:
    """One version (default the latest) with its lines; RateSheetNotFound for another organisation's too."""
    q = select(rate_sheets).where(rate_sheets.c.org_id == org_id, rate_sheets.c.name == name)
    q = q.where(rate_sheets.c.version == version) if version is not None else q.order_by(rate_sheets.c.version.desc())
    with db.engine.connect() as conn:
        row = conn.execute(q.limit(1)).mappings().first()
    if row is None:
        raise RateSheetNotFound(name, version)
    return _info(row, with_lines=True)


def retire_sheet(db: Database, org_id: str, name: str) -> SheetInfo:
    """End the sheet: its active version is no longer used by quotes (kept, listed as retired)."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    with db.engine.begin() as conn:
        n = conn.execute(update(rate_sheets).where(rate_sheets.c.org_id == org_id, rate_sheets.c.name == name,
                                                   rate_sheets.c.status == "active")
                         .values(status="retired", retired_ms=now)).rowcount
    info = get_sheet(db, org_id, name)
    if not n and info.status != "retired":
        raise InvalidInput(f"rate sheet '{name}' has no active version (latest is {info.status})", field="name")
    return info


_books: OrderedDict[tuple, RateBook] = OrderedDict()
_books_lock = threading.Lock()
BOOK_CACHE = 256  # books kept (organisation x ready day x network x the sheets' generation)


def rate_book(db: Database, org_id: str, net: Network, ready_day: date, today: date) -> RateBook:
    """The organisation's active sheets as one book for a request ready on ``ready_day`` (newest sheet
    first where two apply), amounts converted into the network currency at ``today``'s rates.

    Built once per (organisation, ready day, day of the rates, network) and kept while the organisation's
    sheets are unchanged: one indexed query (their count and latest upload/retirement) checks that."""
    with db.engine.connect() as conn:
        generation = tuple(conn.execute(
            select(func.count(), func.max(rate_sheets.c.created_ms), func.max(rate_sheets.c.retired_ms))
            .where(rate_sheets.c.org_id == org_id)).one())
    if not generation[0]:
        return RateBook()
    key = (db.url, org_id, ready_day, today, id(net), generation)
    with _books_lock:
        book = _books.get(key)
        if book is not None:
            _books.move_to_end(key)
            return book
    book = _build_book(db, org_id, net, ready_day, today)
    with _books_lock:
        _books[key] = book
        while len(_books) > BOOK_CACHE:
            _books.popitem(last=False)
    return book


def _build_book(db: Database, org_id: str, net: Network, ready_day: date, today: date) -> RateBook:
    with db.engine.connect() as conn:
        rows = conn.execute(select(rate_sheets.c.name, rate_sheets.c.version, rate_sheets.c.lines)
                            .where(rate_sheets.c.org_id == org_id, rate_sheets.c.status == "active",
                                   rate_sheets.c.valid_from <= ready_day, rate_sheets.c.valid_to >= ready_day)
                            .order_by(rate_sheets.c.created_ms.desc())).mappings().all()
    if not rows:
        return RateBook()
    rates = load_rates(net.data_dir)
    sheets = []
    for r in rows:
        lines = []
        for d in json.loads(r["lines"]):
            ln = _line_from_json(d)
            if ln.currency != net.currency:
                ln = ln.scaled(rates.rate(ln.currency, net.currency, today).rate, net.currency)
            lines.append(ln)
        sheets.append(RateSheet(r["name"], r["version"], tuple(lines)))
    return RateBook.build(sheets, list(net.services.values()), ready_day)
