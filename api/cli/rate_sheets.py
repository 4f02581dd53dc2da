"""`cbec rates upload|list|show|retire`: an organisation's own rate sheets (format: docs/rate_sheets.md).

Local mode (the database of CBEC_DATABASE_URL or --db): the organisation is --org (default: the only one
there is). Remote mode (CBEC_API_URL and CBEC_API_KEY set, :mod:`api.cli.remote`): the deployed service's
``/v1/rate-sheets`` as the key's organisation (upload and retire take an admin key), the same output; ``--org``
and ``--db`` do not apply there. `cbec quote` in remote mode quotes on the key's organisation's active sheets.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

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


REMOTE_FIELDS = {"name": "--name", "version": "--version", "content-type": "FILE", "body": "FILE"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _service(org: str | None, db_url: str | None):
    """The deployed service (CBEC_API_URL; --org and --db refused there), or None: run here."""
    from api.cli.remote import local_only, remote

    service = remote()
    local_only(service, **{"--org": org, "--db": db_url})
    return service


def _path(name: str) -> str:
    """The sheet's name as a path segment (a name the service cannot hold is refused by it, naming --name)."""
    from urllib.parse import quote

    return "/v1/rate-sheets/" + quote(name, safe="")


def _open(db_url: str | None, org: str | None):
    from api.cli.ingest import org_owner
    from optimizer.settings import Settings
    from storage.db import open_db

    db = open_db(db_url or Settings().database_url)
    org_id = org_owner(db, org)
    if org_id is None:
        raise InvalidInput("rate sheets belong to an organisation: create one first (cbec orgs create)", field="org")
    return db, org_id


def _row(table: Table, s: dict[str, Any]) -> None:
    """One sheet (its JSON form: the same from the database and from the service)."""
    table.add_row(s["name"], str(s["version"]), s["status"], str(s["line_count"]), ",".join(s["currencies"]),
                  f"{s['valid_from']} .. {s['valid_to']}", str(s["created_at"]))


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
    from api.cli.remote import options_named
    from optimizer.network import load_network
    from quotations.rate_sheets import MAX_BYTES, XLSX_MAGIC, upload_sheet

    with errors_as_exit():
        if file.stat().st_size > MAX_BYTES:
            raise InvalidInput(f"{file.name}: larger than {MAX_BYTES:,} bytes", field="file")
        data = file.read_bytes()
        service = _service(org, db_url)
        if service is not None:  # POST /v1/rate-sheets/{name}, the file as the body
            kind = XLSX if data.startswith(XLSX_MAGIC) else "text/csv"
            with service, options_named({**REMOTE_FIELDS, "body": file.name}):
                info = service.json("POST", _path(name or file.stem), content=data, headers={"Content-Type": kind})
        else:
            db, org_id = _open(db_url, org)
            info = asdict(upload_sheet(db, org_id, name or file.stem, file.name, data, load_network()))
    if as_json:
        print_json(info)
        return
    console.print(f"rate sheet {info['name']} v{info['version']}: {info['line_count']} rates, "
                  f"{','.join(info['currencies'])}, valid {info['valid_from']} .. {info['valid_to']} (active; quotes of "
                  "the organisation use it)", highlight=False)


@rates_app.command("list")
def rates_list(org: OrgOpt = None, db_url: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The organisation's sheets, the latest version of each."""
    from quotations.rate_sheets import list_sheets

    with errors_as_exit():
        service = _service(org, db_url)
        if service is not None:  # GET /v1/rate-sheets
            with service:
                found = service.json("GET", "/v1/rate-sheets")["sheets"]
        else:
            db, org_id = _open(db_url, org)
            found = [asdict(s) for s in list_sheets(db, org_id)]
    if as_json:
        print_json({"sheets": found})
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

    from api.cli.remote import options_named

    with errors_as_exit():
        service = _service(org, db_url)
        if service is not None:  # GET /v1/rate-sheets/{name}
            with service, options_named(REMOTE_FIELDS):
                info = service.json("GET", _path(name), params={"version": version} if version else None)
        else:
            db, org_id = _open(db_url, org)
            info = asdict(get_sheet(db, org_id, name, version))
    if as_json:
        print_json(info)
        return
    head = _table(f"rate sheet {info['name']}")
    _row(head, info)
    console.print(head)
    lines = Table()
    for col in ("applies to", "equipment", "from kg", "rate", "basis", "min", "surcharges", "currency", "valid"):
        lines.add_column(col)
    for ln in info["lines"] or []:
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

    from api.cli.remote import options_named

    with errors_as_exit():
        service = _service(org, db_url)
        if service is not None:  # POST /v1/rate-sheets/{name}/retire
            with service, options_named(REMOTE_FIELDS):
                info = service.json("POST", _path(name) + "/retire")
        else:
            db, org_id = _open(db_url, org)
            info = asdict(retire_sheet(db, org_id, name))
    if as_json:
        print_json(info)
        return
    console.print(f"rate sheet {info['name']} v{info['version']}: retired at {info['retired_at']}", highlight=False)
