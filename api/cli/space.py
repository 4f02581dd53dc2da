"""`cbec quote book|bookings|cancel-booking`: book the departures of a saved quote's option (transport space).

Locally they act on the database (``--db``) as the organisation ``--org`` (the only one when there is one);
with CBEC_API_URL and CBEC_API_KEY set, the deployed service answers (``POST /v1/quotes/{id}/bookings``,
``GET /v1/space-bookings``, ``POST /v1/space-bookings/{id}/cancel``) with the same output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.common import console, errors_as_exit, print_json
from api.cli.quote import quote_app
from optimizer.errors import CbecError

OrgOpt = Annotated[str | None, typer.Option("--org", help="organisation id or name (local mode)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="database URL (default CBEC_DATABASE_URL)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _run(remote_call: Callable[[Any], dict], local_call: Callable[[Any, str], dict], org: str | None,
         db_url: str | None) -> dict:
    """The service's answer (CBEC_API_URL) or the use case run on the database as ``org``."""
    from api.cli.remote import remote

    service = remote()
    if service is not None:
        with service:
            return remote_call(service)
    from api.cli.ingest import org_owner
    from optimizer.settings import Settings
    from storage.db import open_db

    db = open_db(db_url or Settings().database_url)
    org_id = org_owner(db, org)
    if org_id is None:
        raise CbecError("space bookings belong to an organisation: there is none yet", field="org")
    return local_call(db, org_id)


def _print_booking(doc: dict) -> None:
    head = f"{doc['booking_id']}  {doc['status']}  quote {doc['quote_id']}"
    console.print(head + (f"  (cancelled: {doc['reason']})" if doc["status"] == "cancelled" else ""))
    table = Table(title=f"space held on {len(doc['holds'])} departure(s)")
    for col in ("departure", "local date", "kg", "m³", "TEU"):
        table.add_column(col, justify="right" if col in ("kg", "m³", "TEU") else "left")
    for h in doc["holds"]:
        table.add_row(h["departure_id"], h["depart_date"], f"{h['kg']:,.0f}", f"{h['m3']:,.2f}", f"{h['teu']:g}")
    console.print(table)


def _show(doc: dict, as_json: bool) -> None:
    if as_json:
        print_json(doc)
    else:
        _print_booking(doc)


@quote_app.command("book")
def quote_book(
    quote_id: Annotated[str, typer.Argument(help="the saved quote (q_...)")],
    option: Annotated[str, typer.Argument(help="the option: its position 1, 2, ... as listed, or its id")],
    key: Annotated[str | None, typer.Option("--key", help="idempotency key: the same key answers the first booking")] = None,
    org: OrgOpt = None, db_url: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Book the departures of one option of a saved quote: its space is held until cancelled."""
    def local(db, org_id: str) -> dict:
        from optimizer.network import load_network
        from quotations.space import book_space

        return book_space(db, load_network(), org_id, quote_id, option, request_key=key)

    with errors_as_exit():
        doc = _run(lambda s: s.json("POST", f"/v1/quotes/{quote_id}/bookings",
                                    json={"option": option, **({"request_key": key} if key else {})}),
                   local, org, db_url)
    _show(doc, as_json)


@quote_app.command("bookings")
def quote_bookings(
    status: Annotated[str | None, typer.Option("--status", help="booked or cancelled")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    org: OrgOpt = None, db_url: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """The organisation's space bookings, newest first."""
    def local(db, org_id: str) -> dict:
        from quotations.space import list_space_bookings

        items, total = list_space_bookings(db, org_id, status=status, limit=limit, offset=offset)
        return {"bookings": items, "total": total, "limit": limit, "offset": offset}

    params = {"limit": limit, "offset": offset, **({"status": status} if status else {})}
    with errors_as_exit():
        doc = _run(lambda s: s.json("GET", "/v1/space-bookings", params=params), local, org, db_url)
    if as_json:
        print_json(doc)
        return
    table = Table(title=f"space bookings ({doc['total']})")
    for col in ("id", "status", "first departure", "services", "kg held"):
        table.add_column(col, no_wrap=col == "id")
    for b in doc["bookings"]:
        table.add_row(b["booking_id"], b["status"], (b["first_departure"] or "")[:16],
                      ", ".join(sorted({h["service"] for h in b["holds"]})), f"{sum(h['kg'] for h in b['holds']):,.0f}")
    console.print(table)


@quote_app.command("cancel-booking")
def quote_cancel_booking(
    booking_id: Annotated[str, typer.Argument(help="the space booking (sb_...)")],
    reason: Annotated[str, typer.Option("--reason", help="why (kept with the booking)")],
    org: OrgOpt = None, db_url: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Cancel a space booking: its departures' space is released."""
    def local(db, org_id: str) -> dict:
        from quotations.space import cancel_space_booking

        return cancel_space_booking(db, org_id, booking_id, reason)

    with errors_as_exit():
        doc = _run(lambda s: s.json("POST", f"/v1/space-bookings/{booking_id}/cancel", json={"reason": reason}),
                   local, org, db_url)
    _show(doc, as_json)
