"""cbec stats ...: statistics, exports and the bulletin (the use case of ``/v1/stats``, on the database).

``--org`` gives that organisation's own figures, unsuppressed; without it the zone-wide figures, with
margins and disclosure control (what the pilot-zone office may publish). The statistics read a
columnar copy of the records (DuckDB, under ``CBEC_VAR_DIR/stats/``), brought up to date first.

Remote mode (CBEC_API_URL and CBEC_API_KEY set, :mod:`api.cli.remote`): every command calls the deployed
service's ``/v1/stats`` as the key's organisation and prints (or writes) the same thing: its own figures
for a tenant's key, the zone's (suppressed) for a key of the pilot-zone office; ``--org`` and ``--db`` do not
apply there; ``stats refresh --full`` takes an admin key of the office (the service refuses anybody else).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
OrgOpt = Annotated[str | None, typer.Option("--org", help="organisation id or name: its own figures, unsuppressed "
                                                          "(remote mode: the API key's organisation)")]
ShownMeasures = ("orders", "parcels", "goods_value_cny", "goods_value_usd", "gross_weight_kg", "enterprises")
REMOTE_FIELDS = {"dims": "--by", "period": "--period", "measures": "--measures", "date_from": "--from",
                 "date_to": "--to", "filter": "--filter", "filters": "--filter", "month": "--month",
                 "format": "--format"}  # the service's parameters -> the options they come from


@dataclass(frozen=True, slots=True)
class Cube:
    """A computed cube as the CLI prints it: the same from the database and from ``GET /v1/stats/cube``."""

    scope: str
    org_id: str | None
    dims: tuple[str, ...]
    measures: tuple[str, ...]
    columns: tuple[str, ...]  # every column a row may have
    change_columns: tuple[str, ...]
    rows: list[dict[str, Any]]  # one per cell: members, measures, changes, status
    suppressed: dict[str, int]
    notes: tuple[str, ...]
    fx: str

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "org_id": self.org_id, "dims": list(self.dims), "cells": self.rows,
                "suppressed": self.suppressed, "notes": list(self.notes), "fx": self.fx}


def _day(value: str | None, field: str) -> date | None:
    from optimizer.errors import InvalidInput

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a day YYYY-MM-DD (got '{value[:40]}')", field=field) from None


def _service(org: str | None, db: str | None):
    """The deployed service (CBEC_API_URL; --org and --db refused there), or None: run here."""
    from api.cli.remote import local_only, remote

    service = remote()
    local_only(service, **{"--org": org, "--db": db})
    return service


def _names(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def _params(by: str, period: str, measures: str | None, frm: str | None, to: str | None, filters: list[str] | None,
            margins: bool | None, change: bool) -> dict[str, Any]:
    """The query of ``GET /v1/stats/cube`` (and ``/export``) for the options (the days checked here, as locally)."""
    first, last = _day(frm, "from"), _day(to, "to")
    params: dict[str, Any] = {"dims": _names(by), "period": period, "change": change}
    for key, value in (("measures", _names(measures) or None), ("date_from", first and first.isoformat()),
                       ("date_to", last and last.isoformat()), ("filter", filters or None), ("margins", margins)):
        if value is not None:
            params[key] = value
    return params


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


def _cube(by: str, period: str, measures: str | None, frm: str | None, to: str | None, filters: list[str] | None,
          org: str | None, db_url: str | None, margins: bool | None, change: bool) -> Cube:
    """The cube from the service (remote mode) or from the database."""
    from api.cli.remote import options_named

    service = _service(org, db_url)
    if service is not None:
        with service, options_named(REMOTE_FIELDS):
            doc = service.json("GET", "/v1/stats/cube",
                               params=_params(by, period, measures, frm, to, filters, margins, change))
        rows = [{**c["members"], **c["values"], **c["change"], "status": c["status"]} for c in doc["cells"]]
        changes = tuple(doc["cells"][0]["change"]) if doc["cells"] else ()
        columns = (*doc["dims"], *(doc["cells"][0]["values"] if doc["cells"] else doc["measures"]), *changes, "status")
        return Cube(doc["scope"], doc["org_id"], tuple(doc["dims"]), tuple(doc["measures"]), columns, changes, rows,
                    doc["suppressed"], tuple(doc["notes"]), doc["fx"])
    result = _result(by, period, measures, frm, to, filters, org, db_url, margins, change)
    return Cube(result.query.scope, result.org_id, tuple(result.query.dims), tuple(result.measures),
                tuple(result.table.columns), tuple(result.change_columns), result.rows, _counts(result.suppressed),
                tuple(result.notes), result.fx)


def _counts(suppressed: dict[str, int]) -> dict[str, int]:
    """The suppression counts with every key the API's schema has (the use case leaves ``unaudited`` out when
    no table was suppressed), so that a local and a remote run print the same JSON."""
    return {"primary": 0, "secondary": 0, "unaudited": 0, **suppressed}


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
        cube = _cube(by, period, measures, frm, to, filters, org, db, margins, change)
    if as_json:
        print_json(cube.to_json())
        return
    shown = [m for m in (cube.measures if measures else ShownMeasures) if m in cube.columns]
    changes = [c for c in cube.change_columns if c.startswith(("orders_", "goods_value_cny_"))]
    cols = [*cube.dims, *shown, *changes, "status"]
    title = ("zone-wide (suppressed)" if cube.scope == "zone" else f"organisation {cube.org_id}")
    table = Table(title=f"statistics: {title}", title_style="bold")
    for c in cols:
        table.add_column(c.replace("_pct", " %").replace("goods_value_", "value_"),
                         justify="left" if c in cube.dims or c == "status" else "right")
    for row in cube.rows[:limit]:
        table.add_row(*(_cell(row.get(c), c) for c in cols))
    console.print(table)
    if len(cube.rows) > limit:
        console.print(f"... {len(cube.rows) - limit} more rows (--limit, --json, or `cbec stats export`)")
    for note in (f"exchange rates: {cube.fx}", *cube.notes):
        console.print(f"note: {note}", highlight=False, soft_wrap=True)


@stats_app.command("stock")
def stock_cmd(by: Annotated[str, typer.Option("--by", help="period, kind, warehouse_country, warehouse_id, hs_chapter, "
                                                           "enterprise (comma-separated)")] = "period,kind",
              period: PeriodOpt = "month", frm: FromOpt = None, to: ToOpt = None, org: OrgOpt = None,
              db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """9810 stock moved into overseas warehouses (inbound) and sold out of them (sales_out)."""
    from api.cli.remote import options_named
    from optimizer.settings import get_settings
    from trade.statistics import columnar_copy
    from trade.stock_stats import STOCK_MEASURES, stock_statistics

    with errors_as_exit():
        dims = tuple(_names(by))
        first, last = _day(frm, "from"), _day(to, "to")
        service = _service(org, db)
        if service is not None:  # GET /v1/stats/stock
            params = {"dims": list(dims), "period": period, **({"date_from": first.isoformat()} if first else {}),
                      **({"date_to": last.isoformat()} if last else {})}
            with service, options_named(REMOTE_FIELDS):
                doc = service.json("GET", "/v1/stats/stock", params=params)
            rows = [{**c.pop("members"), **c} for c in doc["cells"]]
            zone, org_id, suppressed, notes = doc["scope"] == "zone", doc["org_id"], doc["suppressed"], doc["notes"]
        else:
            database = _db(db)
            org_id = org_scope(database, org)
            copy = columnar_copy(database, get_settings().var_dir, refresh=True)
            result = stock_statistics(copy, dims, period=period, date_from=first, date_to=last, org_id=org_id,
                                      zone=org_id is None)
            rows = result.table.astype(object).where(result.table.notna(), None).to_dict(orient="records")
            zone, suppressed, notes = org_id is None, _counts(result.suppressed), list(result.notes)
    if as_json:
        print_json({"dims": list(dims), "cells": rows, "suppressed": suppressed, "notes": notes})
        return
    table = Table(title="9810 stock movements: " + ("zone-wide (suppressed)" if zone else str(org_id)))
    cols = [*dims, *STOCK_MEASURES, "status"]
    for c in cols:
        table.add_column(c, justify="left" if c in dims or c == "status" else "right")
    for row in rows:
        table.add_row(*(_cell(row.get(c), c) for c in cols))
    console.print(table)
    for note in notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)


def _file_counts(data: bytes, fmt: str) -> tuple[int, int, int]:
    """(cells, primary, secondary) of an exported cube, read back from the file the service wrote (its
    ``status`` column), for the summary line a local export prints from the cube itself."""
    import io

    import pandas as pd

    if fmt == "csv":
        text = data.decode("utf-8")
        body = "\n".join(line for line in text.splitlines() if not line.startswith("# "))
        frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)
    elif fmt == "parquet":
        frame = pd.read_parquet(io.BytesIO(data), columns=["status"])
    else:
        frame = pd.read_excel(io.BytesIO(data), sheet_name="cube", dtype=str)
    status = frame["status"] if "status" in frame.columns else pd.Series([], dtype=str)
    return len(frame), int((status == "primary").sum()), int((status == "secondary").sum())


@stats_app.command("export")
def export_cmd(output: Annotated[Path, typer.Option("-o", "--output", help="file to write (.csv, .parquet, .xlsx)")],
               by: ByOpt = "period", period: PeriodOpt = "month", measures: MeasuresOpt = None, frm: FromOpt = None,
               to: ToOpt = None, filters: FilterOpt = None, org: OrgOpt = None, db: DbOpt = None,
               fmt: Annotated[str | None, typer.Option("--format", help="csv | parquet | xlsx (default: the file's "
                                                                       "suffix)")] = None,
               change: Annotated[bool, typer.Option("--change/--no-change")] = True) -> None:
    """The cube as a file, with its notes (scope, rates, suppression)."""
    from api.cli.remote import options_named
    from optimizer.errors import InvalidInput
    from trade.exports import FORMATS, export

    with errors_as_exit():
        chosen = (fmt or output.suffix.lstrip(".")).lower()
        if chosen not in FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(FORMATS)} (got '{chosen[:20]}')", field="format")
        service = _service(org, db)
        if service is not None:  # GET /v1/stats/export: the file the service writes
            params = {**_params(by, period, measures, frm, to, filters, None, change), "format": chosen}
            with service, options_named(REMOTE_FIELDS):
                data = service.request("GET", "/v1/stats/export", params=params).content
            cells, primary, secondary = _file_counts(data, chosen)
        else:
            result = _result(by, period, measures, frm, to, filters, org, db, None, change)
            data = export(result, chosen)  # type: ignore[arg-type]
            cells, primary, secondary = len(result.rows), result.suppressed["primary"], result.suppressed["secondary"]
        output.write_bytes(data)
    console.print(f"wrote {output} ({cells} cells, {primary} primary and {secondary} secondary suppressed)",
                  highlight=False)


@stats_app.command("bulletin")
def bulletin_cmd(month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
                 output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")] = Path("bulletin.html"),
                 org: OrgOpt = None, db: DbOpt = None) -> None:
    """The monthly bulletin: HTML with inline SVG charts (zone-wide and suppressed, or --org's own)."""
    import re

    from api.cli.remote import options_named
    from optimizer.errors import InvalidInput
    from optimizer.settings import get_settings
    from trade.bulletin import bulletin
    from trade.statistics import columnar_copy

    with errors_as_exit():
        if not re.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])", month):
            raise InvalidInput(f"--month must be YYYY-MM (got '{month[:20]}')", field="month")
        service = _service(org, db)
        if service is not None:  # GET /v1/stats/bulletin
            with service, options_named(REMOTE_FIELDS):
                html = service.request("GET", "/v1/stats/bulletin", params={"month": month}).content.decode("utf-8")
        else:
            database = _db(db)
            org_id = org_scope(database, org)
            copy = columnar_copy(database, get_settings().var_dir, refresh=True)
            html = bulletin(copy, month, scope="own" if org_id else "zone", org_id=org_id).html
        output.write_text(html, encoding="utf-8")
    console.print(f"wrote {output} ({len(html) // 1024} KiB)", highlight=False)


@stats_app.command("refresh")
def refresh_cmd(db: DbOpt = None, full: Annotated[bool, typer.Option("--full", help="copy everything again")] = False,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Bring the statistics' columnar copy up to date with the records (what changed, or --full)."""
    from dataclasses import asdict

    from optimizer.settings import get_settings
    from trade.statistics import columnar_copy, refresh_copy

    with errors_as_exit():
        service = _service(None, db)
        if service is not None:  # POST /v1/stats/refresh[?full=true] (full: the office's admins only)
            with service:
                doc = service.json("POST", "/v1/stats/refresh", params={"full": "true"} if full else None)
        else:
            database = _db(db)
            copy = columnar_copy(database, get_settings().var_dir, refresh=False)
            doc = asdict(refresh_copy(copy, database, full=full))
    if as_json:
        print_json(doc)
        return
    if doc.get("orders") is None:  # the service tells the counts zone-wide to the pilot-zone office only
        console.print(f"refreshed the statistics' copy in {doc['seconds']:.2f} s{' (full)' if doc['full'] else ''}",
                      highlight=False)
        return
    console.print(f"copied {doc['orders']:,} orders ({doc['lines']:,} lines) and {doc['shipments']:,} shipments in "
                  f"{doc['seconds']:.2f} s{' (full)' if doc['full'] else ''}", highlight=False)
