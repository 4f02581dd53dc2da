"""cbec webhooks ...: an organisation's webhook subscriptions and their delivery log (operator tools on the
database; the same use cases as /v1/webhooks)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, print_json
from api.cli.ingest import DbOpt, _db, guarded
from api.cli.trade import JsonOpt, OrgOpt, _org
from optimizer.timefmt import iso_ms

webhooks_app = typer.Typer(help="Webhook subscriptions (signed events to partners) and their delivery log.",
                           no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
OPTIONS = {"database_url": "--db", "org": "--org", "url": "URL", "event_types": "--event", "id": "ID"}


def iso(ms: int | None) -> str:
    return iso_ms(ms or None, zulu=True) or ""


@webhooks_app.command("add")
def add_cmd(url: Annotated[str, typer.Argument(help="the partner's endpoint (https://...)")],
            event: Annotated[list[str], typer.Option("--event", help="shipment.milestone | shipment.eta_changed | "
                                                                     "shipment.alert | check.result (repeatable)")],
            description: Annotated[str | None, typer.Option("--description")] = None,
            org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Subscribe URL to events; prints the signing secret once."""
    from optimizer.settings import get_settings
    from webhooks.subscriptions import create_subscription

    with guarded(OPTIONS):
        database = _db(db)
        sub, secret = create_subscription(database, _org(database, org), url, event, description=description,
                                          now_ms=int(time.time() * 1000),
                                          allow_private=get_settings().webhooks_allow_private)
    if as_json:
        print_json({"id": sub.sub_id, "url": sub.url, "event_types": list(sub.event_types), "secret": secret})
        return
    console.print(f"subscription {sub.sub_id} -> {sub.url} ({', '.join(sub.event_types)})", highlight=False)
    console.print("signing secret (shown once; verify X-Cbec-Signature with it):", highlight=False)
    console.print(secret, highlight=False, soft_wrap=True)


@webhooks_app.command("list")
def list_cmd(org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The organisation's subscriptions."""
    from webhooks.subscriptions import list_subscriptions

    with guarded(OPTIONS):
        database = _db(db)
        subs = list_subscriptions(database, _org(database, org))
    if as_json:
        print_json([{"id": s.sub_id, "url": s.url, "event_types": list(s.event_types), "active": s.active,
                     "created_at": iso(s.created_ms)} for s in subs])
        return
    table = Table()
    for col in ("id", "url", "events", "created"):
        table.add_column(col)
    for s in subs:
        table.add_row(s.sub_id, s.url, ", ".join(s.event_types), iso(s.created_ms))
    console.print(table)


@webhooks_app.command("remove")
def remove_cmd(sub_id: Annotated[str, typer.Argument(help="the subscription id (whk_...)")], org: OrgOpt = None,
               db: DbOpt = None) -> None:
    """Unsubscribe (pending deliveries fail; the log is kept)."""
    from webhooks.subscriptions import delete_subscription

    with guarded(OPTIONS):
        database = _db(db)
        delete_subscription(database, _org(database, org), sub_id)
    console.print(f"removed {sub_id}", highlight=False)


@webhooks_app.command("deliveries")
def deliveries_cmd(sub_id: Annotated[str, typer.Argument(help="the subscription id")], org: OrgOpt = None,
                   db: DbOpt = None, limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
                   as_json: JsonOpt = False) -> None:
    """The delivery log of a subscription, newest first, with every attempt."""
    from webhooks.subscriptions import list_deliveries

    with guarded(OPTIONS):
        database = _db(db)
        items = list_deliveries(database, _org(database, org), sub_id, limit=limit)
    if as_json:
        print_json([{"id": d.delivery_id, "event_id": d.event_id, "event_type": d.event_type, "status": d.status,
                     "attempts": d.attempts, "last_status_code": d.last_status_code, "last_error": d.last_error,
                     "created_at": iso(d.created_ms), "finished_at": iso(d.finished_ms),
                     "log": [{"attempt": a.attempt, "status_code": a.status_code, "error": a.error,
                              "duration_ms": a.duration_ms} for a in d.log]} for d in items])
        return
    table = Table()
    for col in ("delivery", "event", "status", "attempts", "last", "created"):
        table.add_column(col)
    for d in items:
        table.add_row(d.delivery_id, d.event_type, d.status, str(d.attempts),
                      d.last_error or (str(d.last_status_code) if d.last_status_code else ""), iso(d.created_ms))
    console.print(table)
