"""`cbec rates upload|list|show|retire`: an organisation's own rate sheets (format: docs/rate_sheets.md).

Local mode (the database of CBEC_DATABASE_URL or --db); a deployed service takes the same files on
``POST /v1/rate-sheets/{name}``. The organisation is --org (default: the only one there is).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, errors_as_exit, print_json
from optimizer.errors import InvalidInput

rates_app = typer.Typer(help="An organisation's own rate sheets: upload (CSV/XLSX, versioned), list, show, retire.",
                        no_args_is_help=True)
app.add_typer(rates_app, name="rates")

DbOpt = Annotated[str | None, typer.Option("--db", help="database URL (default CBEC_DATABASE_URL)")]
OrgOpt = Annotated[str | None, typer.Option("--org", help="organisation id or name (default: the only one there is)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _open(db_url: str | None, org: str | None):
    from api.cli.ingest import org_owner
    from optimizer.settings import Settings
    from storage.db import open_db

    db = open_db(db_url or Settings().database_url)
    org_id = org_owner(db, org)
    if org_id is None:
        raise InvalidInput("rate sheets belong to an organisation: create one first (cbec orgs create)", field="org")
    return db, org_id


def _row(table: Table, s) -> None:
    table.add_row(s.name, str(s.version), s.status, str(s.line_count), ",".join(s.currencies),
                  f"{s.valid_from} .. {s.valid_to}", s.created_at)


def _table(title: str) -> Table:
    table = Table(title=title)
    for col in ("name", "version", "status", "rates", "currency", "valid", "uploaded"):
        table.add_column(col)
    return table


@rates_app.command("upload")
def rates_upload(
    file: Annotated[Path, typer.Argument(help="the sheet: .csv (UTF-8) or .xlsx (first worksheet)", exists=True,
                                         dir_okay=False, readable=True)],
    name: Annotated[str | None, typer.Option("--name", help="the sheet's name (default: the file's stem); an "
                                                            "existing name gets a new version")] = None,
    org: OrgOpt = None, db_url: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Validate a rate sheet and store it as the next version of its name (all rows or none)."""
    from optimizer.network import load_network
    from quotations.rate_sheets import MAX_BYTES, upload_sheet

    with errors_as_exit():
        if file.stat().st_size > MAX_BYTES:
            raise InvalidInput(f"{file.name}: larger than {MAX_BYTES:,} bytes", field="file")
        db, org_id = _open(db_url, org)
        info = upload_sheet(db, org_id, name or file.stem, file.name, file.read_bytes(), load_network())
    if as_json:
        print_json(asdict(info))
        return
    console.print(f"rate sheet {info.name} v{info.version}: {info.line_count} rates, {','.join(info.currencies)}, "
                  f"valid {info.valid_from} .. {info.valid_to} (active; quotes of the organisation use it)",
                  highlight=False)


@rates_app.command("list")
def rates_list(org: OrgOpt = None, db_url: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The organisation's sheets, the latest version of each."""
    from quotations.rate_sheets import list_sheets

    with errors_as_exit():
        db, org_id = _open(db_url, org)
        found = list_sheets(db, org_id)
    if as_json:
        print_json({"sheets": [asdict(s) for s in found]})
        return
    table = _table("rate sheets")
    for s in found:
        _row(table, s)
    console.print(table)


@rates_app.command("show")
def rates_show(
    name: Annotated[str, typer.Argument(help="the sheet's name")],
    version: Annotated[int | None, typer.Option("--version", min=1, help="default: the latest")] = None,
    org: OrgOpt = None, db_url: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """One sheet (a version) with its rates."""
    from quotations.rate_sheets import get_sheet

    with errors_as_exit():
        db, org_id = _open(db_url, org)
        info = get_sheet(db, org_id, name, version)
    if as_json:
        print_json(asdict(info))
        return
    head = _table(f"rate sheet {info.name}")
    _row(head, info)
    console.print(head)
    lines = Table()
    for col in ("applies to", "equipment", "from kg", "rate", "basis", "min", "surcharges", "currency", "valid"):
        lines.add_column(col)
    for ln in info.lines or []:
        where = ln["service"] or f"{ln['origin']}->{ln['destination']}" + (f" ({ln['mode']})" if ln["mode"] else "")
        sur = "; ".join(f"{x['code']}={x['amount']:g}/{x['basis']}" for x in ln["surcharges"])
        lines.add_row(where, ln["equipment"], f"{ln['min_kg']:g}", f"{ln['rate']:g}", ln["basis"], f"{ln['min_charge']:g}",
                      sur or "-", ln["currency"], f"{ln['valid_from']} .. {ln['valid_to']}")
    console.print(lines)


@rates_app.command("retire")
def rates_retire(name: Annotated[str, typer.Argument(help="the sheet's name")],
                 org: OrgOpt = None, db_url: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Retire a sheet: the organisation's quotes no longer use it (its versions are kept)."""
    from quotations.rate_sheets import retire_sheet

    with errors_as_exit():
        db, org_id = _open(db_url, org)
        info = retire_sheet(db, org_id, name)
    if as_json:
        print_json(asdict(info))
        return
    console.print(f"rate sheet {info.name} v{info.version}: retired at {info.retired_at}", highlight=False)
