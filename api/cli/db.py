"""`cbec db upgrade|current`: database migrations as an explicit step (Alembic, storage/migrations)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.app import app
from api.cli.common import console, errors_as_exit, print_json

db_app = typer.Typer(help="Database schema: upgrade to this version's head, show the current revision.", no_args_is_help=True)
app.add_typer(db_app, name="db")

DbOpt = Annotated[str | None, typer.Option("--db", help="database URL (default CBEC_DATABASE_URL, else SQLite "
                                                        "cbec.sqlite3 under CBEC_VAR_DIR)")]


@db_app.command("upgrade")
def upgrade_cmd(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Create the schema or upgrade it to head (idempotent; `cbec serve` runs it at start)."""
    from storage.db import current_revision, open_db

    with errors_as_exit():
        database = open_db(db, migrate=True)
        revision = current_revision(database)
    where = database.engine.url.render_as_string(hide_password=True)
    if as_json:
        print_json({"database": where, "revision": revision})
    else:
        console.print(f"database {where} at revision {revision}")


@db_app.command("current")
def current_cmd(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the schema revision of the database and the one this version needs (changes nothing)."""
    from storage.db import Database, current_revision, head_revision, normalise_url
    from optimizer.settings import get_settings

    from sqlalchemy import create_engine

    url = normalise_url(db or get_settings().database_url)
    if url.startswith("sqlite:///") and url not in ("sqlite:///:memory:",):
        from pathlib import Path

        if not Path(url.split("///", 1)[1]).exists():
            with errors_as_exit():
                from optimizer.errors import ServiceUnavailable

                raise ServiceUnavailable(f"no database at {url.split('///', 1)[1]}: run `cbec db upgrade`")
    with errors_as_exit():
        have = current_revision(Database(create_engine(url), url))
    want = head_revision()
    if as_json:
        print_json({"revision": have, "head": want, "current": have == want})
    else:
        console.print(f"revision {have or 'none'}; this version needs {want}" + ("" if have == want else " (run `cbec db upgrade`)"))
    if have != want:
        raise typer.Exit(1)
