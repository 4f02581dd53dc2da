"""Settlement exports: CSV and XLSX (openpyxl) of the lines, and the signed statement of one organisation."""

from __future__ import annotations

import csv
import io
from typing import Any

from sharing.settlement import Month, SettlementLine, settlement, settlement_lines
from sharing.signing import sign
from storage.db import Database

COLUMNS = tuple(SettlementLine.__dataclass_fields__)


def lines_csv(lines: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for ln in lines:
        w.writerow({k: ln[k] for k in COLUMNS})
    return buf.getvalue()


def lines_xlsx(lines: list[dict[str, Any]], month: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = f"settlement {month}"
    ws.append(list(COLUMNS))
    for ln in lines:
        ws.append([ln[k] for k in COLUMNS])
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def statement(db: Database, month: Month, org: str) -> dict[str, Any]:
    """``org``'s signed statement of the month: every pair and line it is a party to."""
    doc = settlement(db, month, org=org)
    doc["kind"] = "cbec shared-warehouse settlement statement"
    return sign(doc)


__all__ = ["COLUMNS", "lines_csv", "lines_xlsx", "settlement_lines", "statement"]
