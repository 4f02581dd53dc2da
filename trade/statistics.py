"""The statistics use case, written once below the CLI (``cbec stats``) and the API (``/v1/stats``).

:func:`statistics` answers a :class:`StatsQuery` for a caller:

* ``own`` scope — a tenant's own records, every cell shown (it knows its own figures);
* ``zone`` scope — every organisation's records (pilot-zone office analysts and admins only), with
  the margins a publication carries and disclosure control (:mod:`trade.suppression`): cells with
  fewer than three enterprises, and their complements, are withheld and the result says so.

With ``period`` among the dimensions the additive measures get their year-on-year change
(``*_yoy_pct``) and, for months, their month-on-month change (``*_mom_pct``): the same query over the
shifted days, published under the same rules; a change is withheld when either side is.
"""

from __future__ import annotations

import calendar
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from optimizer.errors import InvalidInput
from optimizer.network.currency import RATES_FILE, load_rates
from storage.db import Database
from trade.columnar import ColumnarCopy, RefreshReport
from trade.cube import DIMENSIONS, MEASURES, PERIODS, CubeSpec, compute_cube
from trade.suppression import MIN_ENTERPRISES, TOTAL, suppress

Scope = Literal["own", "zone"]
CHANGE_MEASURES = ("orders", "parcels", "goods_value_cny", "goods_value_usd", "gross_weight_kg")
MAX_AGE_S = 30.0
"""A process's columnar copy is refreshed when older than this (or on demand)."""
MAX_CELLS = 2_000_000


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """A statistics request: dimensions, period granularity, measures, inclusive days, filters, scope."""

    dims: tuple[str, ...] = ("period",)
    period: str = "month"
    measures: tuple[str, ...] = tuple(MEASURES)
    date_from: date | None = None
    date_to: date | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scope: Scope = "own"
    margins: bool | None = None  # default: with margins for the zone (a publication), without for a tenant
    change: bool = True  # year-on-year / month-on-month columns when ``period`` is a dimension

    def __post_init__(self) -> None:
        # A dimension or measure asked twice is asked once (a cube has one column per name).
        object.__setattr__(self, "dims", tuple(dict.fromkeys(self.dims)))
        object.__setattr__(self, "measures", tuple(dict.fromkeys(self.measures)))


@dataclass(frozen=True, slots=True)
class StatsResult:
    """A computed cube: one row per cell (dimension members, measures, ``status``, changes) and its notes."""

    query: StatsQuery
    org_id: str | None  # the tenant whose records (None: the zone)
    table: pd.DataFrame
    measures: tuple[str, ...]
    change_columns: tuple[str, ...]
    suppressed: dict[str, int]  # primary / secondary cells (zone scope)
    notes: tuple[str, ...]
    fx: str  # the exchange rates the values were converted at, with their source
    refreshed_ms: int | None

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The cells as plain records (NaN -> None)."""
        frame = self.table.astype(object).where(self.table.notna(), None)
        return frame.to_dict(orient="records")


# --- the process's copies, one per records database --------------------------------------------------
_copies: dict[str, ColumnarCopy] = {}
_copies_lock = threading.Lock()


def columnar_copy(db: Database, var_dir: Path, *, refresh: bool | None = None, full: bool = False) -> ColumnarCopy:
    """This process's columnar copy of ``db``, refreshed when older than :data:`MAX_AGE_S` (``refresh``
    True: now; False: never)."""
    with _copies_lock:
        copy = _copies.get(db.url)
        if copy is None:
            copy = _copies[db.url] = ColumnarCopy.for_database(db, var_dir)
    stale = copy.refreshed_ms is None or time.time() * 1000 - copy.refreshed_ms > MAX_AGE_S * 1000
    if refresh or (refresh is None and stale) or full:
        refresh_copy(copy, db, full=full)
    return copy


def refresh_copy(copy: ColumnarCopy, db: Database, *, full: bool = False) -> RefreshReport:
    """Bring ``copy`` up to date with the records (the bundled or ``CBEC_DATA_DIR`` exchange rates)."""
    return copy.refresh(db, load_rates(), full=full)


def forget_copies() -> None:
    """Close this process's copies (tests, shutdown)."""
    with _copies_lock:
        for c in _copies.values():
            c.close()
        _copies.clear()


# --- the use case ------------------------------------------------------------------------------------
def statistics(copy: ColumnarCopy, query: StatsQuery, *, org_id: str | None) -> StatsResult:
    """The cube of ``query`` over ``copy``: a tenant's own (``org_id``, scope ``own``) or the zone's
    (scope ``zone``, suppressed). Raises InvalidInput naming the field for a bad query."""
    _check(query)
    own = query.scope == "own"
    if own and org_id is None:
        raise InvalidInput("the own scope needs an organisation", field="scope")
    who = org_id if own else None
    margins = (not own) if query.margins is None else query.margins
    if not own:
        margins = True  # a zone publication always carries its margins: suppression protects them
    measures = tuple(dict.fromkeys((*query.measures, "enterprises")))
    spec = CubeSpec(query.dims, query.period, measures, query.date_from, query.date_to, query.filters, who, margins)
    table, counts = _published(copy, spec, zone=not own)
    if len(table) > MAX_CELLS:
        raise InvalidInput(f"the cube has {len(table):,} cells, more than {MAX_CELLS:,}: fewer dimensions or days",
                           field="dims")
    changes: list[str] = []
    if query.change and "period" in query.dims and not table.empty:
        kinds = [("yoy", _year_back)] + ([("mom", _month_back)] if query.period == "month" else [])
        for kind, back in kinds:
            if query.date_from is None and query.date_to is None:
                prior = table  # every day: the earlier periods are in this very cube, published as they are here
            else:  # the same days a year / a month earlier (an open end stays open)
                frm = back(query.date_from, start=True) if query.date_from else None
                to = back(query.date_to, start=False) if query.date_to else None
                prior_spec = CubeSpec(query.dims, query.period, measures, frm, to, query.filters, who, margins)
                prior, _ = _published(copy, prior_spec, zone=not own)
            changes += _add_change(table, prior, query, kind)
    notes = ["goods values converted to CNY and USD at the fixing holding on each order's day (local, UTC+08:00)"]
    fx = copy.fx_status(who)
    if fx["carried_lines"]:
        notes.append(f"{fx['carried_lines']:,} lines ordered after the rate table's last fixing "
                     f"({fx['last_fixing']}) are converted at it (carried forward)")
    if fx["unconverted_lines"]:
        which = ", ".join(f"{c} ({n:,} lines)" for c, n in fx["unconverted_lines"].items())
        notes.append(f"not converted (currency or day not in the rate table), left out of the CNY/USD values: {which}")
    if not own:
        notes.append(_suppression_note(counts))
    return StatsResult(query, who, table, tuple(query.measures), tuple(changes), counts, tuple(notes),
                       _fx_text(copy), copy.refreshed_ms)


def parse_filters(items: list[str] | None) -> dict[str, tuple[str, ...]]:
    """``["customs_mode:9610,9710", ...]`` (the API's ``filter`` and the CLI's ``--filter``) as filters;
    InvalidInput naming the item (``filter[i]``) when one is not ``dimension:member[,member...]``."""
    out: dict[str, tuple[str, ...]] = {}
    for i, item in enumerate(items or []):
        dim, sep, members = item.partition(":")
        if not sep or dim not in DIMENSIONS or not members.strip():
            raise InvalidInput(f"filter {i + 1} ('{item[:80]}') must be dimension:member[,member...] with a dimension "
                               f"of {', '.join(DIMENSIONS)}", field=f"filter[{i}]")
        out[dim] = tuple(m.strip() for m in members.split(",") if m.strip())[:200]
    return out


def _check(query: StatsQuery) -> None:
    for d in (*query.dims, *query.filters):
        if d not in DIMENSIONS:
            raise InvalidInput(f"unknown dimension '{d}'; known: {', '.join(DIMENSIONS)}", field="dims")
    if len(set(query.dims)) != len(query.dims):
        raise InvalidInput("a dimension is named twice", field="dims")
    if len(query.dims) > 5:
        raise InvalidInput("at most 5 dimensions", field="dims")
    if query.period not in PERIODS:
        raise InvalidInput(f"unknown period '{query.period}'; known: {', '.join(PERIODS)}", field="period")
    for m in query.measures:
        if m not in MEASURES:
            raise InvalidInput(f"unknown measure '{m}'; known: {', '.join(MEASURES)}", field="measures")
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise InvalidInput("date_from is after date_to", field="date_from")


def _published(copy: ColumnarCopy, spec: CubeSpec, *, zone: bool) -> tuple[pd.DataFrame, dict[str, int]]:
    """The cube with a ``status`` column; for the zone, withheld cells have no figures."""
    table = compute_cube(copy, spec)
    counts = {"primary": 0, "secondary": 0}
    if not zone or table.empty:
        table["status"] = pd.Series(["shown"] * len(table), index=table.index, dtype=object)
        return table, counts
    if spec.dims:
        result = suppress(table, list(spec.dims), cost="goods_value_cny" if "goods_value_cny" in table else None)
        table["status"] = result.status
        counts = {"primary": result.primary, "secondary": result.secondary, "unaudited": int(not result.audited)}
    else:  # the zone's one total
        few = table["enterprises"].fillna(0).between(1, MIN_ENTERPRISES - 1)
        table["status"] = np.where(few, "primary", "shown")
        counts["primary"] = int(few.sum())
    hidden = table["status"] != "shown"
    for m in spec.measures:
        table[m] = table[m].astype(float).where(~hidden, np.nan)
    return table, counts


def _suppression_note(counts: dict[str, int]) -> str:
    if counts.get("unaudited"):
        return (f"Zone-wide figures: cells with fewer than {MIN_ENTERPRISES} enterprises are suppressed "
                f"({counts['primary']} cells, status 'primary'), and {counts['secondary']} further cells (status "
                "'secondary') so that every published line holds no suppressed cell or at least two; a group of "
                "suppressed cells too large for the exact audit was checked by that rule only (fewer dimensions "
                "give fully audited tables).")
    return (f"Zone-wide figures: cells with fewer than {MIN_ENTERPRISES} enterprises are suppressed "
            f"({counts['primary']} cells, status 'primary'), and {counts['secondary']} further cells "
            "(status 'secondary') so that no suppressed cell can be derived from the published totals minus "
            "the shown cells.")


def _fx_text(copy: ColumnarCopy) -> str:
    sources = copy.fx_sources()
    publications = sorted({s.split(" http")[0].split(", Xinhua")[0].split(" announced")[0] for s in sources})
    return (f"{RATES_FILE}: the fixing holding on the order day; "
            + ("; ".join(publications) if publications else "no conversion needed"))


def _year_back(d: date, *, start: bool) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _month_back(d: date, *, start: bool) -> date:
    """The same day one month earlier (the first of that month for a start, its last day for an end that
    is its month's last day, else the same day clipped to the month's length)."""
    prev_last = d.replace(day=1) - timedelta(days=1)
    if start:
        return prev_last.replace(day=min(d.day, prev_last.day)) if d.day > 1 else prev_last.replace(day=1)
    month_end = d.day == calendar.monthrange(d.year, d.month)[1]
    return prev_last if month_end else prev_last.replace(day=min(d.day, prev_last.day))


def _shift_key(key: str, period: str, kind: str) -> str:
    """The period key a change compares with (``_total`` with ``_total``)."""
    if key == TOTAL:
        return key
    if kind == "yoy":
        if period == "year":
            return str(int(key) - 1)
        return f"{int(key[:4]) - 1}{key[4:]}"
    y, m = int(key[:4]), int(key[5:7])  # mom: months only
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def _add_change(table: pd.DataFrame, prior: pd.DataFrame, query: StatsQuery, kind: str) -> list[str]:
    """``{measure}_{kind}_pct`` columns: the change against the prior cell, withheld when either is."""
    dims = list(query.dims)
    others = [d for d in dims if d != "period"]
    look = table[dims].copy()
    look["period"] = look["period"].map(lambda k: _shift_key(str(k), query.period, kind))
    cols = [m for m in CHANGE_MEASURES if m in query.measures]
    right = prior[dims + cols + ["status"]].rename(columns={**{m: f"_prior_{m}" for m in cols}, "status": "_prior_status"})
    merged = look.merge(right, on=["period", *others], how="left")
    out = []
    for m in cols:
        name = f"{m}_{kind}_pct"
        before = merged[f"_prior_{m}"].to_numpy(dtype=float)
        now = table[m].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(before > 0, np.round((now - before) / before * 100.0, 2), np.nan)
        withheld = (table["status"].to_numpy() != "shown") | (merged["_prior_status"].fillna("shown").to_numpy() != "shown")
        withheld |= table["period"].to_numpy() == TOTAL  # the whole range: no single period to compare with
        table[name] = np.where(withheld, np.nan, pct)
        out.append(name)
    return out


__all__ = ["CHANGE_MEASURES", "MAX_AGE_S", "Scope", "StatsQuery", "StatsResult", "columnar_copy",
           "forget_copies", "parse_filters", "refresh_copy", "statistics"]
