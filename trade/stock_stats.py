"""9810 stock at overseas warehouses: what enterprises moved in (``inbound``: the stock-up export) and
sold out of them (``sales_out``), by period, movement kind, warehouse country or warehouse, HS chapter.

The same rules as :mod:`trade.statistics`: a tenant's own movements unsuppressed; the zone's with
margins, cells of fewer than three enterprises and their complements withheld. Values in CNY and USD at
the fixing holding on the movement's local day (the columnar copy's ``stock`` table).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from optimizer.errors import InvalidInput
from trade.columnar import ColumnarCopy
from trade.cube import PERIODS, totals_last
from trade.suppression import MIN_ENTERPRISES, TOTAL, suppress

STOCK_DIMENSIONS = ("period", "kind", "warehouse_country", "warehouse_id", "hs_chapter", "enterprise")
STOCK_MEASURES = ("movements", "value_cny", "value_usd", "enterprises")


@dataclass(frozen=True, slots=True)
class StockResult:
    """A stock-movement cube (one row per cell, ``status`` as in :mod:`trade.suppression`) and its notes."""

    dims: tuple[str, ...]
    table: pd.DataFrame
    suppressed: dict[str, int]
    notes: tuple[str, ...]


def stock_statistics(copy: ColumnarCopy, dims: tuple[str, ...] = ("period", "kind", "warehouse_country"), *,
                     period: str = "month", date_from: date | None = None, date_to: date | None = None,
                     org_id: str | None = None, zone: bool = False, margins: bool | None = None) -> StockResult:
    """The stock-movement cube of a tenant (``org_id``, every cell shown) or of the zone (``zone``; always
    with margins, ``_total``); ``margins`` for a tenant's too."""
    margins = True if zone else bool(margins)
    for d in dims:
        if d not in STOCK_DIMENSIONS:
            raise InvalidInput(f"unknown stock dimension '{d}'; known: {', '.join(STOCK_DIMENSIONS)}", field="dims")
    if period not in PERIODS:
        raise InvalidInput(f"unknown period '{period}'; known: {', '.join(PERIODS)}", field="period")
    if not zone and org_id is None:
        raise InvalidInput("the own scope needs an organisation", field="scope")
    where, params = ["1 = 1"], []  # type: ignore[var-annotated]
    if not zone:
        where.append("org_id = ?")
        params.append(org_id)
    for column, op, value in (("day", ">=", date_from), ("day", "<=", date_to)):
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value)
    exprs = [PERIODS[period].format(p="day") if d == "period" else d for d in dims]
    aggs = ("count(*) AS movements, round(sum(value_cny), 2) AS value_cny, round(sum(value_usd), 2) AS value_usd, "
            "count(DISTINCT enterprise) AS enterprises")
    if dims:
        keys = ", ".join(f"CASE WHEN grouping({e}) = 1 THEN '{TOTAL}' ELSE CAST({e} AS VARCHAR) END AS {d}"
                         if margins else f"CAST({e} AS VARCHAR) AS {d}" for d, e in zip(dims, exprs))
        group = f"GROUP BY CUBE ({', '.join(exprs)}) HAVING count(*) > 0" if margins else f"GROUP BY {', '.join(exprs)}"
        sql = f"SELECT {keys}, {aggs} FROM stock WHERE {' AND '.join(where)} {group} ORDER BY {', '.join(dims)}"
    else:
        sql = f"SELECT {aggs} FROM stock WHERE {' AND '.join(where)}"
    with copy.lock:
        table = copy.con.execute(sql, params).df()
    if margins:
        table = totals_last(table, tuple(dims))
    counts = {"primary": 0, "secondary": 0}
    notes = ["9810 stock at overseas warehouses: inbound = stock exported into the warehouse, sales_out = sold "
             "out of it abroad; values at the fixing holding on the movement's local day"]
    if zone and not table.empty:
        if dims:
            result = suppress(table, list(dims), cost="value_cny")
            table["status"] = result.status
            counts = {"primary": result.primary, "secondary": result.secondary}
        else:
            table["status"] = np.where(table["enterprises"] < MIN_ENTERPRISES, "primary", "shown")
        hidden = table["status"] != "shown"
        for m in STOCK_MEASURES:
            table[m] = table[m].astype(float).where(~hidden, np.nan)
        notes.append(f"zone-wide: cells with fewer than {MIN_ENTERPRISES} enterprises suppressed "
                     f"({counts['primary']} primary, {counts['secondary']} secondary)")
    else:
        table["status"] = "shown"
    return StockResult(tuple(dims), table, counts, tuple(notes))
