"""cbec stats ...: statistics, exports and the bulletin (the use case of ``/v1/stats``, on the database).

``--org`` gives that organisation's own figures, unsuppressed; without it the zone-wide figures, with
margins and disclosure control (what the pilot-zone office may publish). The statistics read a
columnar copy of the records (DuckDB, under ``CBEC_VAR_DIR/stats/``), brought up to date first.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, errors_as_exit, print_json
from api.cli.ingest import DbOpt, _db, org_scope

stats_app = typer.Typer(help="Statistics of the pilot zone's e-commerce: cubes, exports (CSV, Parquet, XLSX), the "
                             "monthly bulletin. --org: an organisation's own figures; without: the zone's, suppressed.",
                        no_args_is_help=True)
app.add_typer(stats_app, name="stats")

ByOpt = Annotated[str, typer.Option("--by", help="dimensions, comma-separated: period, customs_mode, flow, country, "
                                                 "region, hs_chapter, enterprise, city, channel, consignment, corridor, "
                                                 "transport_mode")]
PeriodOpt = Annotated[str, typer.Option("--period", help="day | month | quarter | year")]
MeasuresOpt = Annotated[str | None, typer.Option("--measures", help="comma-separated of orders, parcels, goods_value_cny, "
                                                                    "goods_value_usd, gross_weight_kg, enterprises, "
                                                                    "shipments, lead_time_p50_days, lead_time_p90_days, "
                                                                    "on_time_rate, co2e_kg (default: all)")]
FromOpt = Annotated[str | None, typer.Option("--from", help="first local order day, YYYY-MM-DD")]
ToOpt = Annotated[str | None, typer.Option("--to", help="last local order day, YYYY-MM-DD")]
FilterOpt = Annotated[list[str] | None, typer.Option("--filter", help="dimension:member[,member...] (repeatable)")]
OrgOpt = Annotated[str | None, typer.Option("--org", help="organisation id or name: its own figures, unsuppressed")]
ShownMeasures = ("orders", "parcels", "goods_value_cny", "goods_value_usd", "gross_weight_kg", "enterprises")


def _day(value: str | None, field: str) -> date | None:
    from optimizer.errors import InvalidInput

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a day YYYY-MM-DD (got '{value[:40]}')", field=field) from None


def _result(by: str, period: str, measures: str | None, frm: str | None, to: str | None, filters: list[str] | None,
            org: str | None, db_url: str | None, margins: bool | None, change: bool):
    from optimizer.settings import get_settings
    from trade.cube import MEASURES
    from trade.statistics import StatsQuery, columnar_copy, parse_filters, statistics

    db = _db(db_url)
    org_id = org_scope(db, org)
    copy = columnar_copy(db, get_settings().var_dir, refresh=True)
    dims = tuple(d.strip() for d in by.split(",") if d.strip())
    chosen = tuple(m.strip() for m in measures.split(",") if m.strip()) if measures else tuple(MEASURES)
    query = StatsQuery(dims=dims, period=period, measures=chosen, date_from=_day(frm, "from"), date_to=_day(to, "to"),
                       filters=parse_filters(filters), scope="own" if org_id else "zone", margins=margins, change=change)
    return statistics(copy, query, org_id=org_id)


def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column.endswith("_pct"):
        return f"{value:+.1f}"
    if column == "on_time_rate":
        return f"{value:.0%}"
    if isinstance(value, float) and not column.endswith("_days"):
        return f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


@stats_app.command("cube")
def cube_cmd(by: ByOpt = "period", period: PeriodOpt = "month", measures: MeasuresOpt = None, frm: FromOpt = None,
             to: ToOpt = None, filters: FilterOpt = None, org: OrgOpt = None, db: DbOpt = None,
             margins: Annotated[bool | None, typer.Option("--margins/--no-margins", help="totals (always for the "
                                                                                         "zone)")] = None,
             change: Annotated[bool, typer.Option("--change/--no-change", help="y/y and m/m columns")] = True,
             limit: Annotated[int, typer.Option("--limit", min=1, help="rows to print")] = 60,
             as_json: Annotated[bool, typer.Option("--json", help="every cell as JSON")] = False) -> None:
    """A cube: one row per cell (and per total), with y/y and m/m change when `period` is a dimension."""
    with errors_as_exit():
        result = _result(by, period, measures, frm, to, filters, org, db, margins, change)
    if as_json:
        print_json({"scope": result.query.scope, "org_id": result.org_id, "dims": list(result.query.dims),
                    "cells": result.rows, "suppressed": result.suppressed, "notes": list(result.notes), "fx": result.fx})
        return
    shown = [m for m in (result.measures if measures else ShownMeasures) if m in result.table.columns]
    changes = [c for c in result.change_columns if c.startswith(("orders_", "goods_value_cny_"))]
    cols = [*result.query.dims, *shown, *changes, "status"]
    title = ("zone-wide (suppressed)" if result.query.scope == "zone" else f"organisation {result.org_id}")
    table = Table(title=f"statistics: {title}", title_style="bold")
    for c in cols:
        table.add_column(c.replace("_pct", " %").replace("goods_value_", "value_"),
                         justify="left" if c in result.query.dims or c == "status" else "right")
    for row in result.rows[:limit]:
        table.add_row(*(_cell(row.get(c), c) for c in cols))
    console.print(table)
    if len(result.rows) > limit:
        console.print(f"... {len(result.rows) - limit} more rows (--limit, --json, or `cbec stats export`)")
    for note in (f"exchange rates: {result.fx}", *result.notes):
        console.print(f"note: {note}", highlight=False, soft_wrap=True)


@stats_app.command("stock")
def stock_cmd(by: Annotated[str, typer.Option("--by", help="period, kind, warehouse_country, warehouse_id, hs_chapter, "
                                                           "enterprise (comma-separated)")] = "period,kind",
              period: PeriodOpt = "month", frm: FromOpt = None, to: ToOpt = None, org: OrgOpt = None,
              db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """9810 stock moved into overseas warehouses (inbound) and sold out of them (sales_out)."""
    from optimizer.settings import get_settings
    from trade.statistics import columnar_copy
    from trade.stock_stats import STOCK_MEASURES, stock_statistics

    with errors_as_exit():
        database = _db(db)
        org_id = org_scope(database, org)
        copy = columnar_copy(database, get_settings().var_dir, refresh=True)
        dims = tuple(d.strip() for d in by.split(",") if d.strip())
        result = stock_statistics(copy, dims, period=period, date_from=_day(frm, "from"), date_to=_day(to, "to"),
                                  org_id=org_id, zone=org_id is None)
    rows = result.table.astype(object).where(result.table.notna(), None).to_dict(orient="records")
    if as_json:
        print_json({"dims": list(dims), "cells": rows, "suppressed": result.suppressed, "notes": list(result.notes)})
        return
    table = Table(title="9810 stock movements: " + ("zone-wide (suppressed)" if org_id is None else org_id))
    cols = [*dims, *STOCK_MEASURES, "status"]
    for c in cols:
        table.add_column(c, justify="left" if c in dims or c == "status" else "right")
    for row in rows:
        table.add_row(*(_cell(row.get(c), c) for c in cols))
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)


@stats_app.command("export")
def export_cmd(output: Annotated[Path, typer.Option("-o", "--output", help="file to write (.csv, .parquet, .xlsx)")],
               by: ByOpt = "period", period: PeriodOpt = "month", measures: MeasuresOpt = None, frm: FromOpt = None,
               to: ToOpt = None, filters: FilterOpt = None, org: OrgOpt = None, db: DbOpt = None,
               fmt: Annotated[str | None, typer.Option("--format", help="csv | parquet | xlsx (default: the file's "
                                                                       "suffix)")] = None,
               change: Annotated[bool, typer.Option("--change/--no-change")] = True) -> None:
    """The cube as a file, with its notes (scope, rates, suppression)."""
    from optimizer.errors import InvalidInput
    from trade.exports import FORMATS, export

    with errors_as_exit():
        chosen = (fmt or output.suffix.lstrip(".")).lower()
        if chosen not in FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(FORMATS)} (got '{chosen[:20]}')", field="format")
        result = _result(by, period, measures, frm, to, filters, org, db, None, change)
        output.write_bytes(export(result, chosen))  # type: ignore[arg-type]
    console.print(f"wrote {output} ({len(result.rows)} cells, {result.suppressed['primary']} primary and "
                  f"{result.suppressed['secondary']} secondary suppressed)", highlight=False)


@stats_app.command("bulletin")
def bulletin_cmd(month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
                 output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")] = Path("bulletin.html"),
                 org: OrgOpt = None, db: DbOpt = None) -> None:
    """The monthly bulletin: HTML with inline SVG charts (zone-wide and suppressed, or --org's own)."""
    import re

    from optimizer.errors import InvalidInput
    from optimizer.settings import get_settings
    from trade.bulletin import bulletin
    from trade.statistics import columnar_copy

    with errors_as_exit():
        if not re.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])", month):
            raise InvalidInput(f"--month must be YYYY-MM (got '{month[:20]}')", field="month")
        database = _db(db)
        org_id = org_scope(database, org)
        copy = columnar_copy(database, get_settings().var_dir, refresh=True)
        page = bulletin(copy, month, scope="own" if org_id else "zone", org_id=org_id)
        output.write_text(page.html, encoding="utf-8")
    console.print(f"wrote {output} ({len(page.html) // 1024} KiB)", highlight=False)


@stats_app.command("refresh")
def refresh_cmd(db: DbOpt = None, full: Annotated[bool, typer.Option("--full", help="copy everything again")] = False,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Bring the statistics' columnar copy up to date with the records (what changed, or --full)."""
    from optimizer.settings import get_settings
    from trade.statistics import columnar_copy, refresh_copy

    with errors_as_exit():
        database = _db(db)
        copy = columnar_copy(database, get_settings().var_dir, refresh=False)
        report = refresh_copy(copy, database, full=full)
    if as_json:
        print_json(report.__dict__ if hasattr(report, "__dict__") else {f: getattr(report, f) for f in report.__slots__})
        return
    console.print(f"copied {report.orders:,} orders ({report.lines:,} lines) and {report.shipments:,} shipments in "
                  f"{report.seconds:.2f} s{' (full)' if report.full else ''}", highlight=False)
