"""Reading exchange records from CSV and XLSX files (``cbec records import KIND FILE``).

One header row naming the record's fields, then one row per record. Orders take one row per goods line:
the order's fields (``order_no``, ``customs_mode``, ...) and the line's (``hs_code``, ``description``,
``quantity``, ``unit``, ``value``, ``net_weight_kg``); the rows of one order share its ``order_no`` (its
other fields may be left empty on the following rows). Empty cells are absent fields. CSV is UTF-8 (a
BOM, as Excel writes, is fine); XLSX is read from its first sheet, or the sheet named after the kind.

Errors name the row (as a spreadsheet numbers it: the header is row 1) and the column; rows that are
valid are stored, the others reported (:func:`import_file` -> :class:`ImportReport`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from optimizer.errors import DataError
from storage.db import Database
from trade.records import KEY_FIELDS, RECORD_MODELS, GoodsLine
from trade.store import MAX_BATCH, BatchResult, FieldError, store_batch

LINE_FIELDS = tuple(GoodsLine.model_fields)
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class RowError:
    """What is wrong with a cell (or a row, ``column`` None)."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"row {self.row}" + (f", {self.column}" if self.column else "") + f": {self.message}"


@dataclass
class ImportReport:
    file: str
    kind: str
    rows: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"created": 0, "unchanged": 0, "updated": 0, "rejected": 0})
    errors: list[RowError] = field(default_factory=list)
    checks_changed: int = 0


@dataclass
class _Pending:
    """A record read from the file: its fields and the rows it came from (orders: one per line)."""

    record: dict[str, Any]
    rows: list[int]


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def read_rows(path: Path, kind: str) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """The header and the data rows (spreadsheet row number, cells) of a CSV or XLSX file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        rows = ((i, row) for i, row in enumerate(reader, start=2))
    elif suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # a damaged or renamed file: zipfile / openpyxl errors
            raise DataError(path.name, None, None, f"not a readable XLSX workbook ({type(exc).__name__})") from None
        sheet = book[kind] if kind in book.sheetnames else book.worksheets[0]
        it = sheet.iter_rows(values_only=True)
        first = next(it, None)
        header = None if first is None else ["" if c is None else str(c) for c in first]
        rows = ((i, list(row)) for i, row in enumerate(it, start=2))
    else:
        raise DataError(path.name, None, None, "expected a .csv or .xlsx file")
    if not header or not any(h.strip() for h in header):
        raise DataError(path.name, 1, None, "the first row must name the columns")
    return [h.strip() for h in header], rows


def _check_header(path: Path, kind: str, header: list[str]) -> None:
    allowed = set(RECORD_MODELS[kind].model_fields) - ({"lines"} if kind == "orders" else set())
    if kind == "orders":
        allowed |= set(LINE_FIELDS)
    seen = set()
    for name in header:
        if not name:
            continue
        if name not in allowed:
            raise DataError(path.name, 1, name, f"unknown column for {kind} (columns: {', '.join(sorted(allowed))})")
        if name in seen:
            raise DataError(path.name, 1, name, "column given twice")
        seen.add(name)
    key = KEY_FIELDS[kind]
    if key not in seen:
        raise DataError(path.name, 1, key, f"the key column '{key}' is missing")


def _records(path: Path, kind: str) -> tuple[list[_Pending], list[RowError], int]:
    header, rows = read_rows(path, kind)
    _check_header(path, kind, header)
    pending: list[_Pending] = []
    errors: list[RowError] = []
    by_order: dict[str, _Pending] = {}
    n = 0
    for row_no, cells in rows:
        values = {h: _cell(c) for h, c in zip(header, cells, strict=False) if h}
        if all(v is None for v in values.values()):
            continue
        n += 1
        if n > MAX_ROWS:
            raise DataError(path.name, row_no, None, f"more than {MAX_ROWS:,} rows: split the file")
        if len(cells) > len(header) and any(_cell(c) is not None for c in cells[len(header):]):
            errors.append(RowError(row_no, None, "more cells than columns in the header"))
            continue
        present = {k: v for k, v in values.items() if v is not None}
        if kind != "orders":
            pending.append(_Pending(present, [row_no]))
            continue
        line = {k: present.pop(k) for k in LINE_FIELDS if k in present}
        no = present.get("order_no")
        if no is None:
            errors.append(RowError(row_no, "order_no", "missing"))
            continue
        order = by_order.get(str(no))
        if order is None:
            order = by_order[str(no)] = _Pending({**present, "lines": []}, [])
            pending.append(order)
        else:
            clash = next((k for k, v in present.items() if k in order.record and order.record[k] != v), None)
            if clash is not None:
                errors.append(RowError(row_no, clash, f"differs from the order's first row (row {order.rows[0]}): "
                                                      f"'{str(present[clash])[:60]}' vs '{str(order.record[clash])[:60]}'"))
                continue
            order.record.update({k: v for k, v in present.items() if k not in order.record})
        order.record["lines"].append(line)
        order.rows.append(row_no)
    return pending, errors, n


def _where(kind: str, p: _Pending, e: FieldError) -> RowError:
    """A record's field error as a row and a column: ``lines[2].hs_code`` is the third line's row."""
    path = e.field
    if kind == "orders" and path.startswith("lines["):
        idx = int(path[6:path.index("]")])
        rest = path[path.index("]") + 2:] or None
        return RowError(p.rows[idx] if idx < len(p.rows) else p.rows[0], rest, e.message)
    return RowError(p.rows[0], None if path == "(record)" else path, e.message)


def import_file(db: Database, org_id: str, kind: str, path: Path, *, batch: int = 5000) -> ImportReport:
    """Store the records of a CSV/XLSX file for ``org_id`` in batches of ``batch`` (each one transaction,
    idempotent as :func:`trade.store.store_batch`); bad rows are reported, the valid ones kept."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such file", str(path))
    pending, errors, rows = _records(path, kind)
    report = ImportReport(path.name, kind, rows, errors=errors)
    report.counts["rejected"] += len({e.row for e in errors})
    step = max(1, min(batch, MAX_BATCH))
    for start in range(0, len(pending), step):
        part = pending[start:start + step]
        result: BatchResult = store_batch(db, org_id, kind, [p.record for p in part])
        for r in result.results:
            report.counts[r.outcome] += 1
            report.errors += [_where(kind, part[r.index], e) for e in r.errors]
        report.checks_changed += result.checks_changed
    report.errors.sort(key=lambda e: e.row)
    return report
