"""Routes: statistics of the pilot zone's cross-border e-commerce (``/v1/stats``).

Thin over :mod:`trade.statistics` (the use case ``cbec stats`` runs too), :mod:`trade.exports` and
:mod:`trade.bulletin`. Every route takes a member of an organisation. Scope ``own`` (a tenant's
default): its own records, every cell shown. Scope ``zone`` (default for the pilot-zone office's
analysts and admins, and only for them — 403 for anybody else): every organisation's records with
margins and disclosure control (cells of fewer than three enterprises and their complements withheld).
Statistics read a columnar copy of the records in this process, refreshed when older than
``trade.statistics.MAX_AGE_S`` seconds or on ``POST /v1/stats/refresh``.
"""

from __future__ import annotations

import re

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from accounts.principal import Principal
from api.auth import AUTH_ERRORS, MemberDep
from api.deps import IngestDbDep, SettingsDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.stats import (
    CHANGE_NAMES,
    DIMENSION_HELP,
    MAX_API_CELLS,
    MEASURE_HELP,
    Dimension,
    Measure,
    NamedItem,
    Period,
    ScopeName,
    StatsCatalogOut,
    StatsCubeOut,
    StatsRefreshOut,
    StockCubeOut,
    StockDimension,
)
from optimizer.errors import InvalidInput
from trade.bulletin import bulletin
from trade.cube import DIMENSIONS, MEASURES, PERIODS
from trade.exports import FORMATS, Format, export
from trade.statistics import StatsQuery, StatsResult, columnar_copy, parse_filters, refresh_copy, statistics
from trade.stock_stats import stock_statistics
from trade.suppression import MIN_ENTERPRISES

router = APIRouter(route_class=JsonRoute, prefix="/v1/stats", tags=["statistics"])
_COUNTS = ("orders", "parcels", "shipments", "enterprises")

_ERRORS = {**AUTH_ERRORS, "403": "scope `zone` asked by anybody but an analyst or admin of the pilot-zone office",
           "422": "unknown dimension, measure or period, a bad filter or day range, or a cube too large (names the "
                  "field)"}
Dims = Annotated[list[Dimension], Query(max_length=5, description="dimensions, e.g. `dims=period&dims=customs_mode`")]
Measures = Annotated[list[Measure] | None, Query(max_length=len(MEASURES), description="measures (default all)")]
Filters = Annotated[list[str] | None, Query(max_length=20, description="`dimension:member[,member...]`, e.g. "
                                                                         "`customs_mode:9610,9710`; repeatable")]
ScopeQ = Annotated[ScopeName | None, Query(description="own (a tenant's records, unsuppressed) or zone (office only, "
                                                       "suppressed); default zone for the office, own for others")]
def _iso_day(value: object) -> object:
    """Only ``YYYY-MM-DD``: pydantic would otherwise read ``0`` or ``1700000000`` as a Unix time."""
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a day as YYYY-MM-DD")
    return value


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
DateQ = Annotated[date | None, Query(description="first / last local order day (inclusive), YYYY-MM-DD"),
                  BeforeValidator(_iso_day)]


def _scope(principal: Principal, asked: str | None) -> str:
    scope = asked or ("zone" if principal.zone_wide else "own")
    if scope == "zone" and not principal.zone_wide:
        raise HTTPException(403, "zone-wide statistics are for analysts and admins of the pilot-zone office; "
                                 "ask for scope=own")
    return scope


def _query(principal: Principal, dims: list[str], period: str, measures: list[str] | None, date_from: date | None,
           date_to: date | None, filters: list[str] | None, scope: str | None, margins: bool | None,
           change: bool) -> StatsQuery:
    return StatsQuery(dims=tuple(dims), period=period, measures=tuple(measures or MEASURES), date_from=date_from,
                      date_to=date_to, filters=parse_filters(filters), scope=_scope(principal, scope),  # type: ignore[arg-type]
                      margins=margins, change=change)


def _result(db, settings, principal: Principal, query: StatsQuery) -> StatsResult:
    copy = columnar_copy(db, settings.var_dir)
    return statistics(copy, query, org_id=principal.org_id)


@router.get("/cube", response_model=StatsCubeOut, summary="A statistics cube (own records, or the zone's, suppressed)",
            responses=problems(**_ERRORS))
def get_cube(principal: MemberDep, db: IngestDbDep, settings: SettingsDep, dims: Dims,
             period: Annotated[Period, Query(description="granularity of the period dimension")] = "month",
             measures: Measures = None, date_from: DateQ = None, date_to: DateQ = None, filter: Filters = None,
             scope: ScopeQ = None,
             margins: Annotated[bool | None, Query(description="with every total (`_total`); always for the zone")] = None,
             change: Annotated[bool, Query(description="year-on-year / month-on-month columns (with `period`)")] = True,
             ) -> dict[str, Any]:
    result = _result(db, settings, principal,
                     _query(principal, dims, period, measures, date_from, date_to, filter, scope, margins, change))
    if len(result.table) > MAX_API_CELLS:
        raise InvalidInput(f"the cube has {len(result.table):,} cells, more than {MAX_API_CELLS:,} for JSON: "
                           "GET /v1/stats/export gives it as a file", field="dims")
    q = result.query
    cells = []
    for row in result.rows:
        values = {m: row.get(m) for m in (*result.measures, "enterprises")}
        values = {m: int(v) if m in _COUNTS and v is not None else v for m, v in values.items()}
        cells.append({"members": {d: row[d] for d in q.dims}, "values": values,
                      "change": {c: row.get(c) for c in result.change_columns}, "status": row["status"]})
    return {"scope": q.scope, "org_id": result.org_id, "dims": list(q.dims), "period": q.period,
            "measures": list(result.measures), "date_from": q.date_from, "date_to": q.date_to, "cells": cells,
            "suppressed": result.suppressed, "notes": list(result.notes), "fx": result.fx,
            "refreshed_at": _when(result.refreshed_ms)}


@router.get("/stock", response_model=StockCubeOut,
            summary="9810 stock moved into overseas warehouses and sold out of them (own, or the zone's suppressed)",
            responses=problems(**_ERRORS))
def get_stock(principal: MemberDep, db: IngestDbDep, settings: SettingsDep,
              dims: Annotated[list[StockDimension], Query(max_length=4, description="dimensions")],
              period: Annotated[Period, Query()] = "month", date_from: DateQ = None, date_to: DateQ = None,
              scope: ScopeQ = None) -> dict[str, Any]:
    chosen = _scope(principal, scope)
    copy = columnar_copy(db, settings.var_dir)
    result = stock_statistics(copy, tuple(dims), period=period, date_from=date_from, date_to=date_to,
                              org_id=principal.org_id, zone=chosen == "zone")
    frame = result.table.astype(object).where(result.table.notna(), None)
    cells = [{"members": {d: r[d] for d in dims}, "movements": None if r["movements"] is None else int(r["movements"]),
              "value_cny": r["value_cny"], "value_usd": r["value_usd"],
              "enterprises": None if r["enterprises"] is None else int(r["enterprises"]), "status": r["status"]}
             for r in frame.to_dict(orient="records")]
    return {"scope": chosen, "org_id": None if chosen == "zone" else principal.org_id, "dims": list(dims),
            "period": period, "cells": cells, "suppressed": result.suppressed, "notes": list(result.notes)}


@router.get("/export", response_model=None, response_class=Response,
            summary="The same cube as a file: CSV (notes as # lines), Parquet (notes in its metadata) or XLSX",
            responses={200: {"content": {media: {} for media in FORMATS.values()}}, **problems(**_ERRORS)})
def get_export(principal: MemberDep, db: IngestDbDep, settings: SettingsDep, dims: Dims,
               format: Annotated[Format, Query(description="csv | parquet | xlsx")] = "csv",
               period: Annotated[Period, Query()] = "month", measures: Measures = None, date_from: DateQ = None,
               date_to: DateQ = None, filter: Filters = None, scope: ScopeQ = None,
               margins: Annotated[bool | None, Query()] = None, change: Annotated[bool, Query()] = True) -> Response:
    result = _result(db, settings, principal,
                     _query(principal, dims, period, measures, date_from, date_to, filter, scope, margins, change))
    name = f"cbec-stats-{result.query.scope}-{'-'.join(result.query.dims) or 'total'}.{format}"
    return Response(export(result, format), media_type=FORMATS[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/bulletin", response_model=None, response_class=HTMLResponse,
            summary="The monthly bulletin (HTML with inline SVG charts) for the pilot-zone office",
            responses={200: {"content": {"text/html": {}}}, **problems(**_ERRORS)})
def get_bulletin(principal: MemberDep, db: IngestDbDep, settings: SettingsDep,
                 month: Annotated[str, Query(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
                 scope: ScopeQ = None) -> HTMLResponse:
    chosen = _scope(principal, scope)
    copy = columnar_copy(db, settings.var_dir)
    return HTMLResponse(bulletin(copy, month, scope=chosen, org_id=principal.org_id).html)  # type: ignore[arg-type]


@router.get("/catalog", response_model=StatsCatalogOut, summary="Dimensions, periods and measures of the statistics",
            responses=problems(**AUTH_ERRORS))
def get_catalog(principal: MemberDep) -> dict[str, Any]:
    return {"dimensions": [NamedItem(name=d, description=DIMENSION_HELP[d]) for d in DIMENSIONS],
            "periods": list(PERIODS), "measures": [NamedItem(name=m, description=MEASURE_HELP[m]) for m in MEASURES],
            "change_measures": [*CHANGE_NAMES], "min_enterprises": MIN_ENTERPRISES}


Full = Annotated[bool, Query(description="copy every record again (after a writer's transaction that took longer "
                                          "than the refresh's overlap to commit, or a restored database): an admin "
                                          "of the pilot-zone office only; this process's copy")]


@router.post("/refresh", response_model=StatsRefreshOut,
             summary="Copy the records changed since the last refresh (or, full, all of them) into the statistics' "
                     "columnar copy now",
             responses=problems(**{**AUTH_ERRORS, "403": "full asked by anybody but an admin of the pilot-zone "
                                                          "office"}))
def post_refresh(principal: MemberDep, db: IngestDbDep, settings: SettingsDep, full: Full = False) -> dict[str, Any]:
    if full and not principal.is_office_admin:  # it copies every tenant's records again: zone-wide work
        raise HTTPException(403, "full: a full refresh is for an admin of the pilot-zone office (this credential: "
                                 f"role {principal.role}, organisation kind {principal.org_kind}); without full, "
                                 "what changed is copied")
    copy = columnar_copy(db, settings.var_dir, refresh=False)
    report = refresh_copy(copy, db, full=full)
    counts = principal.zone_wide  # how many records changed zone-wide is the office's to know, not a tenant's
    return {"orders": report.orders if counts else None, "lines": report.lines if counts else None,
            "shipments": report.shipments if counts else None, "full": report.full, "seconds": report.seconds,
            "refreshed_at": _when(copy.refreshed_ms)}


def _when(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


__all__ = ["router"]
