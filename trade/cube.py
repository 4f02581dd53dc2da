"""The statistics cube: one GROUP BY over the columnar copy (DuckDB) — its monthly rollup for whole
months at a month, quarter or year granularity, else its goods lines — by the dimensions' integer codes.

Dimensions (:data:`DIMENSIONS`): ``period`` (day, month, quarter or year of the local order day),
customs mode, ``flow`` (``stock_up_9810``: B2B stock sent to overseas warehouses, apart from
``direct`` exports), destination country and region, HS chapter, enterprise and its city, waybill
channel (postal, express, freight) and ``consignment`` (``parcel`` = postal or express, apart from
``freight``), corridor and transport mode (of the tracked shipment, else of the waybill).

Measures (:data:`MEASURES`): orders, parcels, gross weight and shipments count each order once, in the
cell of its *principal line* (its largest value: an order's HS chapter for order-level figures);
goods value (CNY, USD) adds every line in its own chapter; lead time p50/p90 and on-time rate are
over orders with a delivered tracked shipment; CO2e is each tracked shipment's, allocated to its
orders by gross weight. ``enterprises`` (distinct contributors) decides disclosure
(:mod:`trade.suppression`). With ``margins`` the cube has every total too (``_total`` in the
dimensions rolled up: DuckDB's ``GROUP BY CUBE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from trade.columnar import ColumnarCopy
from trade.suppression import TOTAL

PERIODS: dict[str, str] = {
    "day": "strftime({p}, '%Y-%m-%d')",
    "month": "strftime({p}, '%Y-%m')",
    "quarter": "CAST(year({p}) AS VARCHAR) || '-Q' || CAST(quarter({p}) AS VARCHAR)",
    "year": "CAST(year({p}) AS VARCHAR)",
}
"""Period granularities and the text of their keys (``2026-03-14``, ``2026-03``, ``2026-Q1``, ``2026``) from a
day ``{p}``; the cube groups by the truncated day (a date: cheaper than text) and writes the key after."""
_TRUNC = {"day": "day", "month": "month", "quarter": "date_trunc('quarter', month)", "year": "date_trunc('year', month)"}
"""The period's key from the ``month`` column (the first day of the month) both the lines and the rollup have:
no ``date_trunc`` per line for a month cube."""
DIMENSIONS: dict[str, str] = {
    "period": "", "customs_mode": "customs_mode", "flow": "flow", "country": "country", "region": "region",
    "hs_chapter": "hs_chapter", "enterprise": "enterprise", "city": "city", "channel": "channel",
    "consignment": "consignment", "corridor": "corridor", "transport_mode": "transport_mode",
}
"""Dimension name -> column of ``stat_lines`` (``period`` by :data:`PERIODS`)."""
MEASURES: dict[str, str] = {
    # over every line of the cell
    "orders": "sum(orders)::BIGINT",
    "parcels": "sum(parcels)::BIGINT",
    "goods_value_cny": "round(sum(value_cny), 2)",
    "goods_value_usd": "round(sum(value_usd), 2)",
    "gross_weight_kg": "round(sum(gross_kg), 3)",
    "enterprises": "count(DISTINCT enterprise_c)",  # a bitmap instead when the codes are few (cube_sql)
    # over the lines of tracked shipments only
    "shipments": "count(DISTINCT tracked_shipment_c)",
    "lead_time_p50_days": "round(quantile_cont(lead_days, 0.5), 2)",
    "lead_time_p90_days": "round(quantile_cont(lead_days, 0.9), 2)",
    "on_time_rate": "round(avg(CAST(on_time AS INTEGER)), 4)",
    "co2e_kg": "round(sum(co2e_kg), 2)",
}
"""Measure name -> its aggregate (see :func:`cube_sql`). The shipment measures are over the principal lines of
tracked shipments (only they carry lead time, on time and CO2e; ``shipments`` counts the shipment codes there),
which the copy keeps apart (``tracked_lines``);
p50 and p90 come from one ``quantile_cont(lead_days, [0.5, 0.9])`` (one sort of a cell's lead times, not two)."""
_LEAD_Q = {"lead_time_p50_days": 1, "lead_time_p90_days": 2}
SHIPMENT_MEASURES = ("shipments", "lead_time_p50_days", "lead_time_p90_days", "on_time_rate", "co2e_kg")
BITMAP_MAX = 4096
"""Distinct enterprises are counted as the bits set in a per-cell bitmap of enterprise codes
(``bit_count(bitstring_agg(...))``: an aggregate as cheap as a sum) while there are at most this many
codes; beyond, ``count(DISTINCT ...)``."""
WORD_BITS = 64
"""While the enterprise codes fit in a word, the bitmap is an unsigned 64-bit integer (``bit_or`` of each line's bit):
a fixed-size aggregate state, cheaper than ``bitstring_agg``'s (a quarter of the line scan at ten million lines)."""


@dataclass(frozen=True, slots=True)
class CubeSpec:
    """What to aggregate: dimensions, the period granularity, measures, the days (inclusive), filters
    (dimension -> accepted members) and whose records (``org_id``; None: every organisation's)."""

    dims: tuple[str, ...]
    period: str = "month"
    measures: tuple[str, ...] = tuple(MEASURES)
    date_from: date | None = None
    date_to: date | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    org_id: str | None = None
    margins: bool = False

    def __post_init__(self) -> None:
        for d in (*self.dims, *self.filters):
            if d not in DIMENSIONS:
                raise ValueError(f"unknown dimension '{d}'; known: {', '.join(DIMENSIONS)}")
        if len(set(self.dims)) != len(self.dims):
            raise ValueError("a dimension is named twice")
        if self.period not in PERIODS:
            raise ValueError(f"unknown period '{self.period}'; known: {', '.join(PERIODS)}")
        for m in self.measures:
            if m not in MEASURES:
                raise ValueError(f"unknown measure '{m}'; known: {', '.join(MEASURES)}")


def column_of(dim: str, period: str) -> str:
    """The SQL expression of a dimension's members (as text)."""
    return PERIODS[period].format(p="day") if dim == "period" else DIMENSIONS[dim]


def uses_rollup(spec: CubeSpec) -> bool:
    """Whether the monthly rollup can answer ``spec``'s line measures: whole months (or open ends) at a
    month, quarter or year granularity (a day needs the lines)."""
    if spec.period == "day":
        return False
    if spec.date_from is not None and spec.date_from.day != 1:
        return False
    if spec.date_to is not None and (spec.date_to + timedelta(days=1)).day != 1:
        return False
    return True


def _where(spec: CubeSpec, day: str) -> tuple[str, list[object]]:
    """The WHERE of ``spec`` over a table whose day (or month) column is ``day``; filters on the members'
    codes (both the lines and the rollup have them)."""
    where, params = ["1 = 1"], []  # type: ignore[var-annotated]
    if spec.org_id is not None:
        where.append("org_id = ?")
        params.append(spec.org_id)
    if spec.date_from is not None:
        where.append(f"{day} >= ?")
        params.append(spec.date_from)
    if spec.date_to is not None:
        where.append(f"{day} <= ?")
        params.append(spec.date_to)
    for d, members in spec.filters.items():
        if not members:
            continue
        marks = ", ".join("?" for _ in members)
        if d == "period":
            where.append(f"{PERIODS[spec.period].format(p=day)} IN ({marks})")
        else:
            where.append(f"{d}_c IN (SELECT code FROM members WHERE dim = '{d}' AND member IN ({marks}))")
        params.extend(members)
    return " AND ".join(where), params


def cube_sql(spec: CubeSpec, enterprise_codes: int = 0, *, rollup: bool | None = None) -> tuple[str, list[object]]:
    """The SELECT computing ``spec`` and its parameters (``enterprise_codes``: the largest enterprise code,
    for the bitmap count of :data:`BITMAP_MAX`).

    Line measures by one scan of the monthly rollup when it can answer (:func:`uses_rollup`), else of the
    lines, grouped by the dimensions' integer codes and the period's truncated day; the shipment measures
    over the tracked lines only (few), joined on the cell; members written as text at the end, over the
    few cells. ``rollup`` False: read the lines even where the rollup could answer."""
    rollup = uses_rollup(spec) and rollup is not False
    source, day = ("rollup", "month") if rollup else ("stat_lines", "day")
    cond, params = _where(spec, day)
    lines_cond, lines_params = _where(spec, "day")
    dims = spec.dims
    raw = [_TRUNC[spec.period] if d == "period" else f"{d}_c" for d in dims]  # the same on the lines and the rollup
    ks = [f"k{i}" for i in range(len(dims))]
    keyed = keyed_lines = [f"{e} AS {k}" for e, k in zip(raw, ks)]
    grouping = (f"GROUP BY CUBE ({', '.join(ks)})" if spec.margins else f"GROUP BY {', '.join(ks)}") if dims else ""
    if spec.margins:
        grouping += " HAVING count(*) > 0"  # a CUBE over no rows still gives its grand total
    flags = [f"grouping({k}) AS g{i}" for i, k in enumerate(ks)] if spec.margins else []
    line_measures = [m for m in spec.measures if m not in SHIPMENT_MEASURES]
    ship_measures = [m for m in spec.measures if m in SHIPMENT_MEASURES]
    if 0 < enterprise_codes <= WORD_BITS:  # one machine word of bits: bit_or, no per-cell heap state
        distinct = "bit_count(bit_or(CAST(1 AS UBIGINT) << CAST(enterprise_c - 1 AS UBIGINT)))"
    elif 0 < enterprise_codes <= BITMAP_MAX:
        distinct = f"bit_count(bitstring_agg(enterprise_c, 1, {enterprise_codes}))"
    else:
        distinct = MEASURES["enterprises"]
    aggs = [f"{distinct if m == 'enterprises' else MEASURES[m]} AS {m}" for m in line_measures]
    sql = f"WITH main AS (SELECT {', '.join([*keyed, *flags, *aggs, '1 AS one'])} FROM {source} WHERE {cond} {grouping})"
    if ship_measures:
        ship_aggs = [f"{MEASURES[m]} AS {m}" for m in ship_measures if m not in _LEAD_Q]
        if any(m in _LEAD_Q for m in ship_measures):
            ship_aggs.append("quantile_cont(lead_days, [0.5, 0.9]) AS lead_q")
        sql += (f", ship AS (SELECT {', '.join([*keyed_lines, *flags, *ship_aggs])} FROM tracked_lines "
                f"WHERE {lines_cond} {grouping})")
        params = params + lines_params
    cols = []
    for i, d in enumerate(dims):
        text = PERIODS[spec.period].format(p=f"main.k{i}") if d == "period" else f"m{i}.member"
        cols.append(f"CASE WHEN main.g{i} = 1 THEN '{TOTAL}' ELSE CAST({text} AS VARCHAR) END AS {d}"
                    if spec.margins else f"CAST({text} AS VARCHAR) AS {d}")
    for m in spec.measures:
        if m in ship_measures:
            cols.append(f"coalesce(ship.{m}, 0)::BIGINT AS {m}" if m == "shipments" else
                        f"round(ship.lead_q[{_LEAD_Q[m]}], 2) AS {m}" if m in _LEAD_Q else f"ship.{m} AS {m}")
        else:
            cols.append(f"main.{m} AS {m}")
    joins = " ".join(f"LEFT JOIN members m{i} ON m{i}.dim = '{d}' AND m{i}.code = main.k{i}"
                     for i, d in enumerate(dims) if d != "period")
    if ship_measures:
        on = " AND ".join([*(f"main.k{i} IS NOT DISTINCT FROM ship.k{i}" for i in range(len(dims))),
                           *(f"main.g{i} = ship.g{i}" for i in range(len(dims)) if spec.margins)]) or "true"
        joins += f" LEFT JOIN ship ON {on}"
    order = f" ORDER BY {', '.join(dims)}" if dims else ""
    return f"{sql} SELECT {', '.join(cols)} FROM main {joins}{order}", params


def compute_cube(copy: ColumnarCopy, spec: CubeSpec, *, rollup: bool | None = None) -> pd.DataFrame:
    """The cube of ``spec``: one row per non-empty cell (and per total with ``margins``)."""
    with copy.lock:
        codes = copy.con.execute("SELECT coalesce(max(code), 0) FROM members WHERE dim = 'enterprise'").fetchall()[0][0]
        sql, params = cube_sql(spec, int(codes), rollup=rollup)
        table = copy.con.execute(sql, params).df()
    return totals_last(table, spec.dims) if spec.margins else table


def totals_last(table: pd.DataFrame, dims: tuple[str, ...]) -> pd.DataFrame:
    """``table`` ordered by its dimensions with every total (``_total``) after its members."""
    if not dims or table.empty:
        return table
    keys = [f"_sort{i}" for i in range(len(dims))]
    return (table.assign(**{k: table[d].where(table[d] != TOTAL, "\uffff") for k, d in zip(keys, dims)})
            .sort_values(keys, kind="stable").drop(columns=keys).reset_index(drop=True))
