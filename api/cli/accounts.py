"""`cbec orgs`, `cbec users`, `cbec keys`: operator tools working on the database directly.

Whoever runs them can read and change the database, so they may do anything (create any
organisation, revoke any key); the HTTP API applies the roles. Keys and passwords: a created key is
printed once; a password is read from a hidden prompt, or from the first line of standard input with
``--password-stdin`` (never from an argument, which other users could read in the process list).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, fail, print_json
from api.cli.ingest import DbOpt, _db, guarded
from optimizer.timefmt import iso_ms

orgs_app = typer.Typer(help="Organisations (tenants): create, list, adopt records that have none.", no_args_is_help=True)
users_app = typer.Typer(help="Users of an organisation (people signing in with POST /v1/token).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of an organisation: create (printed once), list, revoke.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")

OrgRequired = Annotated[str, typer.Option("--org", help="organisation id or name")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="read the password from the first line of "
                                                                      "standard input (default: a hidden prompt)")]
OPTIONS = {"database_url": "--db", "org": "--org", "kind": "--kind", "role": "--role", "name": "--name",
           "email": "EMAIL", "password": "password", "expires_days": "--expires-days", "admin_email": "--admin-email",
           "key_name": "--key-name"}


def iso(ms: int | None) -> str:
    return iso_ms(ms) or ""


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: standard input is empty", field="password")
        return line.rstrip("\r\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _show_key(what: str, key: str) -> None:
    console.print(f"{what} (shown once; send it as X-API-Key or Authorization: Bearer):", soft_wrap=True)
    console.print(key, soft_wrap=True, highlight=False)


# --- organisations -----------------------------------------------------------------------------------------
@orgs_app.command("create")
def orgs_create_cmd(
    name: Annotated[str, typer.Argument(help="the organisation's name (unique)")],
    kind: Annotated[str, typer.Option("--kind", help="forwarder | warehouse_operator | office | partner")],
    admin_email: Annotated[str | None, typer.Option("--admin-email", help="also create an admin user with this "
                                                                         "e-mail (asks for the password)")] = None,
    admin_name: Annotated[str | None, typer.Option("--admin-name", help="the admin user's name")] = None,
    key_name: Annotated[str, typer.Option("--key-name", help="name of the admin API key")] = "admin",
    password_stdin: PasswordStdin = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an organisation with an admin API key (printed once) and, with --admin-email, an admin user."""
    from accounts.store import check_kind, create_org

    with guarded(OPTIONS):
        check_kind(kind)
        password = read_password(password_stdin) if admin_email is not None else None
        org, key, record, user = create_org(_db(db), name, kind, admin_email=admin_email, admin_name=admin_name,
                                            admin_password=password, key_name=key_name)
    if as_json:
        print_json({"org": {"id": org.org_id, "name": org.name, "kind": org.kind},
                    "admin_key": {"id": record.key_id, "key": key},
                    "admin_user": None if user is None else {"id": user.user_id, "email": user.email}})
        return
    console.print(f"organisation {org.name} ({org.kind}) created: id {org.org_id}"
                  + (f"; admin user {user.email}" if user else ""), soft_wrap=True)
    _show_key(f"admin API key {record.key_id}", key)


@orgs_app.command("list")
def orgs_list_cmd(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every organisation."""
    from accounts.store import list_orgs

    with guarded(OPTIONS):
        orgs = list_orgs(_db(db))
    if as_json:
        print_json([{"id": o.org_id, "name": o.name, "kind": o.kind, "created": iso(o.created_ms)} for o in orgs])
        return
    table = Table(title="organisations")
    for col in ("id", "name", "kind", "created"):
        table.add_column(col)
    for o in orgs:
        table.add_row(o.org_id, o.name, o.kind, iso(o.created_ms))
    console.print(table)


@orgs_app.command("adopt")
def orgs_adopt_cmd(org: Annotated[str, typer.Argument(help="organisation id or name")], db: DbOpt = None,
                   as_json: JsonOpt = False) -> None:
    """Give every shipment and device that belongs to no organisation (stored before accounts existed)
    to ORG."""
    from accounts.store import find_org
    from accounts.tenancy import adopt

    with guarded(OPTIONS):
        database = _db(db)
        o = find_org(database, org)
        counts = adopt(database, o.org_id)
    if as_json:
        print_json({"org": o.org_id, **counts})
        return
    console.print(f"{o.name} adopted {counts['shipments']} shipment(s) and {counts['devices']} device(s)")


# --- users -------------------------------------------------------------------------------------------------
@users_app.command("create")
def users_create_cmd(
    email: Annotated[str, typer.Argument(help="the user's e-mail (the sign-in name)")],
    org: OrgRequired,
    name: Annotated[str | None, typer.Option("--name", help="display name (default: the e-mail's local part)")] = None,
    role: Annotated[str, typer.Option("--role", help="member | admin | analyst (office organisations)")] = "member",
    password_stdin: PasswordStdin = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a user to an organisation (asks for the password)."""
    from accounts.credentials import check_email
    from accounts.store import create_user, find_org

    with guarded(OPTIONS):
        check_email(email)
        database = _db(db)
        o = find_org(database, org)
        password = read_password(password_stdin)
        user = create_user(database, o.org_id, email, name or email.split("@")[0], role, password)
    if as_json:
        print_json({"id": user.user_id, "org": o.org_id, "email": user.email, "name": user.name, "role": user.role})
        return
    console.print(f"user {user.email} ({user.role}) added to {o.name}: id {user.user_id}", soft_wrap=True)


@users_app.command("list")
def users_list_cmd(org: OrgRequired, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The users of an organisation."""
    from accounts.store import LIST_MAX, find_org, list_users

    with guarded(OPTIONS):
        database = _db(db)
        o = find_org(database, org)
        users, offset = [], 0
        while True:
            page, total = list_users(database, o.org_id, limit=LIST_MAX, offset=offset)
            users += page
            offset += len(page)
            if not page or offset >= total:
                break
    if as_json:
        print_json([{"id": u.user_id, "email": u.email, "name": u.name, "role": u.role, "created": iso(u.created_ms),
                     "disabled": iso(u.disabled_ms) or None} for u in users])
        return
    table = Table(title=f"users of {o.name}")
    for col in ("id", "email", "name", "role", "created", "disabled"):
        table.add_column(col)
    for u in users:
        table.add_row(u.user_id, u.email, u.name, u.role, iso(u.created_ms), iso(u.disabled_ms))
    console.print(table)


@users_app.command("disable")
def users_disable_cmd(user: Annotated[str, typer.Argument(help="the user's id or e-mail")],
                      org: Annotated[str | None, typer.Option("--org", help="only a user of this organisation")] = None,
                      db: DbOpt = None) -> None:
    """Disable a user: it can no longer sign in, and its tokens stop (within a few seconds everywhere)."""
    from sqlalchemy import select

    from accounts import tables as at
    from accounts.store import disable_user, find_org

    with guarded(OPTIONS):
        database = _db(db)
        scope = find_org(database, org).org_id if org is not None else None
        with database.engine.connect() as conn:
            row = conn.execute(select(at.users.c.user_id).where(at.users.c.email == user.lower())).first()
        u = disable_user(database, scope, row.user_id if row is not None else user)
    console.print(f"user {u.email} disabled", soft_wrap=True)


# --- API keys ----------------------------------------------------------------------------------------------
@keys_app.command("create")
def keys_create_cmd(
    org: OrgRequired,
    name: Annotated[str, typer.Option("--name", help="what the key is for (e.g. 'ERP integration')")],
    role: Annotated[str, typer.Option("--role", help="member | admin | analyst (office organisations)")] = "member",
    expires_days: Annotated[float | None, typer.Option("--expires-days", help="stops working after this many "
                                                                              "days (default: never)")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key (printed once). Rotation: create the new key, move the client, revoke the old."""
    from accounts.store import create_key, find_org

    with guarded(OPTIONS):
        database = _db(db)
        o = find_org(database, org)
        record, key = create_key(database, o.org_id, name, role, expires_days=expires_days)
    if as_json:
        print_json({"id": record.key_id, "org": o.org_id, "name": record.name, "role": record.role,
                    "expires": iso(record.expires_ms) or None, "key": key})
        return
    _show_key(f"API key {record.key_id} ({record.role}) of {o.name}", key)


@keys_app.command("list")
def keys_list_cmd(org: OrgRequired, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The API keys of an organisation (never the keys themselves)."""
    from accounts.store import LIST_MAX, find_org, list_keys

    with guarded(OPTIONS):
        database = _db(db)
        o = find_org(database, org)
        keys, offset = [], 0
        while True:
            page, total = list_keys(database, o.org_id, limit=LIST_MAX, offset=offset)
            keys += page
            offset += len(page)
            if not page or offset >= total:
                break
    if as_json:
        print_json([{"id": k.key_id, "name": k.name, "role": k.role, "state": k.state(), "created": iso(k.created_ms),
                     "last_used": iso(k.last_used_ms) or None, "expires": iso(k.expires_ms) or None,
                     "revoked": iso(k.revoked_ms) or None} for k in keys])
        return
    table = Table(title=f"API keys of {o.name}")
    for col in ("id", "name", "role", "state", "created", "last used", "expires"):
        table.add_column(col)
    for k in keys:
        table.add_row(k.key_id, k.name, k.role, k.state(), iso(k.created_ms), iso(k.last_used_ms), iso(k.expires_ms))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke_cmd(key_id: Annotated[str, typer.Argument(help="the key's id (cbk_<id>_...)")],
                    org: Annotated[str | None, typer.Option("--org", help="only a key of this organisation")] = None,
                    db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke an API key. Running API processes stop accepting it within a few seconds."""
    from accounts.authenticate import POLL_S
    from accounts.store import find_org, revoke_key

    if key_id.startswith("cbk_") and len(key_id) > 14:  # the whole key was given: its id is the public part
        key_id = key_id[4:14]
    with guarded(OPTIONS):
        database = _db(db)
        scope = find_org(database, org).org_id if org is not None else None
        k = revoke_key(database, key_id, org_id=scope)
    if as_json:
        print_json({"id": k.key_id, "state": k.state(), "revoked": iso(k.revoked_ms)})
        return
    console.print(f"API key {k.key_id} ({k.name}) revoked; running API processes refuse it within {POLL_S:g} s",
                  soft_wrap=True)
