"""A computed cube as a file: CSV, Parquet or XLSX, each carrying the notes a publication needs.

* CSV (UTF-8): the notes first, as lines starting with ``#`` (``pandas.read_csv(..., comment="#")``),
  then one header row and one row per cell; withheld figures are empty.
* Parquet: the table, with the notes, the query and the exchange-rate source in the file's key/value
  metadata (``cbec.notes``, ``cbec.query``, ``cbec.fx``).
* XLSX: sheet ``cube`` (the table, header frozen) and sheet ``notes``.

Dimension members are text, ``_total`` where a dimension is rolled up; ``status`` is ``shown``,
``primary`` or ``secondary`` (see :mod:`trade.suppression`).
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trade.statistics import StatsResult

Format = Literal["csv", "parquet", "xlsx"]
FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
"""Export formats and their media types."""


def frame(result: StatsResult) -> pd.DataFrame:
    """The exported table: dimensions, measures, changes, status (in that order)."""
    cols = [*result.query.dims, *result.measures, *result.change_columns, "status"]
    return result.table[[c for c in cols if c in result.table.columns]].reset_index(drop=True)


def notes(result: StatsResult) -> list[str]:
    """The lines a published table carries: scope, days, rates, disclosure control."""
    q = result.query
    days = f"{q.date_from or 'first'} to {q.date_to or 'last'} order day"
    scope = ("zone-wide (every organisation's records)" if q.scope == "zone"
             else f"own records of organisation {result.org_id}")
    return [f"cbec-logistics statistics: {scope}; {days}; period {q.period}; dimensions {', '.join(q.dims) or '-'}",
            f"exchange rates: {result.fx}", *result.notes]


def export(result: StatsResult, fmt: Format) -> bytes:
    """``result`` as a file of ``fmt``."""
    table = frame(result)
    lines = notes(result)
    if fmt == "csv":
        out = io.StringIO()
        for line in lines:
            out.write("# " + line.replace("\n", " ") + "\n")
        table.to_csv(out, index=False, lineterminator="\n")
        return out.getvalue().encode("utf-8")
    if fmt == "parquet":
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        meta = dict(arrow.schema.metadata or {})
        meta.update({b"cbec.notes": json.dumps(lines, ensure_ascii=False).encode(),
                     b"cbec.query": json.dumps(asdict(result.query), default=str).encode(),
                     b"cbec.fx": result.fx.encode()})
        buf = io.BytesIO()
        pq.write_table(arrow.replace_schema_metadata(meta), buf)
        return buf.getvalue()
    if fmt == "xlsx":
        buf = io.BytesIO()
        with pd.ExcelWriter(buf, engine="openpyxl") as xl:
            table.to_excel(xl, sheet_name="cube", index=False, freeze_panes=(1, 0))
            pd.DataFrame({"note": lines}).to_excel(xl, sheet_name="notes", index=False)
        return buf.getvalue()
    raise ValueError(f"unknown format '{fmt}'; known: {', '.join(FORMATS)}")
