"""`cbec offers|bookings|settlements ...`: shared-warehouse capacity, on the database directly.

As the other operator tools, these act on the database (``--db``) as the organisation ``--org`` (an id or a
name): ``cbec offers create --org "Lodz Warehousing"`` publishes as that operator, ``cbec bookings request --org
"My Forwarder"`` books as that exporter. The same use cases serve the HTTP API (/v1/offers, /v1/bookings,
/v1/settlements).

Remote mode (CBEC_API_URL and CBEC_API_KEY set, :mod:`api.cli.remote`): every command calls the deployed
service's /v1/offers,
/v1/bookings, /v1/settlements (``offers design``: a design job on the offers, /v1/warehouse-designs; ``bookings
plan``: /v1/plans) as the key's organisation and prints the same output; ``--org`` and ``--db`` do not apply
there, and other organisations are named by their ids (``--allow``, ``offers partner``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, fail, print_json
from api.cli.ingest import DbOpt, _db, guarded

offers_app = typer.Typer(help="Shared-warehouse capacity offers: publish, list, show, withdraw, recommend.",
                         no_args_is_help=True)
bookings_app = typer.Typer(help="Bookings of shared-warehouse capacity, stock movements, reconciliation.",
                           no_args_is_help=True)
settlements_app = typer.Typer(help="Monthly settlements between organisations: figures, exports, signed statements.",
                              no_args_is_help=True)
app.add_typer(offers_app, name="offers")
app.add_typer(bookings_app, name="bookings")
app.add_typer(settlements_app, name="settlements")

OrgOrKey = Annotated[str | None, typer.Option("--org", help="the organisation acting (id or name); remote mode "
                                                             "(CBEC_API_URL): the API key's, not this option")]
OrgView = Annotated[str | None, typer.Option("--org", help="the organisation whose view (id or name; default every "
                                                           "record, the operator's view)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
OPTIONS = {"database_url": "--db", "org": "--org", "warehouse": "--warehouse", "start_day": "--start",
           "end_day": "--end", "storage_capacity": "--storage", "inbound_m3_per_day": "--inbound",
           "price_storage": "--price-storage", "price_inbound": "--price-inbound", "quantity": "--quantity",
           "kind": "--kind", "month": "MONTH", "city": "CITY", "partner": "PARTNER", "demand": "--demand",
           # the service's names of the same inputs (remote mode): its problem's field path -> the option
           "storage_unit": "--unit", "currency": "--currency",
           "cargo_classes": "--class", "customs_modes": "--mode", "who_may_book": "--who", "allowed_orgs": "--allow",
           "terms.notice_days": "--notice-days", "terms.cancel_fee_share": "--fee-share",
           "terms.settle_on": "--settle-on", "terms.booked_share": "--booked-share", "terms.hold_hours": "--hold-hours",
           "fill_rate": "--fill-rate", "max_days": "--max-days", "lookback_days": "--lookback-days",
           "offers_start": "--start", "offers_end": "--end",
           "m3": "--m3", "day": "--day", "ref": "--ref", "partners": "PARTNER",
           "start": "--start", "end": "--end", "reason": "--reason"}


@contextmanager
def _guarded(options: Mapping[str, str] = OPTIONS) -> Iterator[None]:
    """:func:`guarded`, and a field path of the service ("terms.notice_days", "demand.0.market") named by the
    option it came from, so a refused request reads as a local run's error."""
    from api.cli.remote import options_named

    with guarded(options), options_named(options):
        yield


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: expected a day YYYY-MM-DD (got '{text[:20]}')", field=option)


def _org(db, ref: str | None) -> str | None:
    from accounts.store import find_org

    return None if ref is None else find_org(db, ref).org_id


def _service(**local_options: object):
    """The deployed service (CBEC_API_URL; the options that only apply here refused), or None: run here."""
    from api.cli.remote import local_only, remote

    service = remote()
    local_only(service, **local_options)
    return service


def _path_id(ref: str) -> str:
    """A booking id as a URL path segment (anything else is an unknown booking, as locally)."""
    from urllib.parse import quote

    return quote(ref, safe="")


def _acting(database, org: str | None) -> str:
    """The organisation --org names (required when running here)."""
    if org is None:
        fail("--org is required (or set CBEC_API_URL and CBEC_API_KEY: the key's organisation acts)", field="--org")
    return _org(database, org)


def _actor(org_id: str | None):
    from sharing.audit import Actor

    return Actor(org_id, "cli")


# --- offers -------------------------------------------------------------------------------------------------
def _demand_body(rows: list[dict[str, str]] | None) -> list[dict[str, Any]] | None:
    """Demand CSV rows as the service's JSON rows (numbers as numbers, empty cells left out); a cell that is
    not a number is sent as it is, for the service to name (row and field) as it refuses it."""
    if rows is None:
        return None
    out = []
    for row in rows:
        doc: dict[str, Any] = {}
        for key, value in row.items():
            if key is None or value is None or value.strip() == "":
                continue
            if key in ("market", "family"):
                doc[key] = value.strip()
                continue
            try:
                doc[key] = float(value)
            except ValueError:
                doc[key] = value
        out.append(doc)
    return out


def _read_demand(demand: Path | None) -> list[dict[str, str]] | None:
    from optimizer.network.csvfile import read_csv_records

    if demand is None:
        return None
    return read_csv_records(demand, ["family", "kg_per_m3", "market", "mean_m3_day", "sd_m3_day"], 500, "demand rows")


@offers_app.command("create")
def offers_create_cmd(
    warehouse: Annotated[str, typer.Option("--warehouse", help="an overseas_warehouse node id")],
    start: Annotated[str, typer.Option("--start", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last day, YYYY-MM-DD")],
    storage: Annotated[float, typer.Option("--storage", help="storage offered every day, in --unit")],
    inbound: Annotated[float, typer.Option("--inbound", help="inbound handling m³ per day")],
    price_storage: Annotated[float, typer.Option("--price-storage", help="per unit and day")],
    price_inbound: Annotated[float, typer.Option("--price-inbound", help="per inbound m³")],
    org: OrgOrKey = None,
    unit: Annotated[str, typer.Option("--unit", help="m3 | pallet")] = "m3",
    currency: str = "USD",
    cargo_class: Annotated[list[str] | None, typer.Option("--class", help="cargo class accepted (repeat)")] = None,
    customs_mode: Annotated[list[str] | None, typer.Option("--mode", help="customs mode served (repeat)")] = None,
    who: Annotated[str, typer.Option("--who", help="everyone | list | partners")] = "everyone",
    allow: Annotated[list[str] | None, typer.Option("--allow", help="who=list: an organisation (repeat; remote mode: "
                                                                    "its id)")] = None,
    notice_days: Annotated[int, typer.Option("--notice-days")] = 14,
    fee_share: Annotated[float, typer.Option("--fee-share", help="share charged for a late cancellation")] = 0.5,
    settle_on: Annotated[str, typer.Option("--settle-on", help="booked | used | split")] = "booked",
    booked_share: Annotated[float, typer.Option("--booked-share", help="split: share on booked")] = 1.0,
    hold_hours: Annotated[int, typer.Option("--hold-hours")] = 48,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish a capacity offer as the warehouse operator --org (remote mode: the key's organisation)."""
    from optimizer.network import load_network
    from sharing.model import OfferSpec, Terms
    from sharing.offers import create_offer

    with _guarded(OPTIONS):
        first, last = _day(start, "--start"), _day(end, "--end")
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # POST /v1/offers
            with service:
                doc = service.json("POST", "/v1/offers", json={
                    "warehouse": warehouse.upper(), "start_day": first.isoformat(), "end_day": last.isoformat(),
                    "storage_capacity": storage, "storage_unit": unit, "inbound_m3_per_day": inbound,
                    "price_storage": price_storage, "price_inbound": price_inbound, "currency": currency,
                    "cargo_classes": list(cargo_class or ["general"]), "customs_modes": list(customs_mode or ["9810"]),
                    "who_may_book": who, "allowed_orgs": list(allow or []),
                    "terms": {"notice_days": notice_days, "cancel_fee_share": fee_share, "settle_on": settle_on,
                              "booked_share": booked_share, "hold_hours": hold_hours}})
        else:
            database = _db(db)
            org_id = _acting(database, org)
            allowed = tuple(_org(database, a) for a in (allow or []))
            spec = OfferSpec(warehouse.upper(), first, last, storage, inbound, price_storage, price_inbound, unit,
                             currency, tuple(cargo_class or ["general"]), tuple(customs_mode or ["9810"]), who, allowed,
                             Terms(notice_days, fee_share, settle_on, booked_share, hold_hours))
            doc = create_offer(database, load_network(), org_id, spec, _actor(org_id)).to_dict()
    if as_json:
        print_json(doc)
        return
    console.print(f"offer {doc['id']}: {doc['warehouse']} {doc['start_day']}..{doc['end_day']}, storage "
                  f"{doc['storage_capacity']:g} {doc['storage_unit']} at {doc['price_storage']:g} {doc['currency']}/"
                  f"{doc['storage_unit']}-day, inbound {doc['inbound_m3_per_day']:g} m³/day at {doc['price_inbound']:g} "
                  f"{doc['currency']}/m³; {doc['who_may_book']} may book", highlight=False, soft_wrap=True)


@offers_app.command("list")
def offers_list_cmd(org: OrgView = None, warehouse: Annotated[str | None, typer.Option("--warehouse")] = None,
                    mine: Annotated[bool, typer.Option("--mine", help="only --org's own offers")] = False,
                    db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Offers --org may book or operates (without --org: every offer; remote mode: the key's organisation's)."""
    from sharing.offers import PAGE_MAX, list_offers

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # GET /v1/offers
            with service:
                params = {"limit": PAGE_MAX, "mine": mine, **({"warehouse": warehouse.upper()} if warehouse else {})}
                got = service.json("GET", "/v1/offers", params=params)
            rows, total = got["items"], got["total"]
        else:
            database = _db(db)
            items, total = list_offers(database, org=_org(database, org),
                                       warehouse=warehouse.upper() if warehouse else None, mine=mine, limit=PAGE_MAX)
            rows = [o.to_dict() for o in items]
    if as_json:
        print_json({"items": rows, "total": total})
        return
    table = Table("offer", "warehouse", "period", "storage", "inbound m³/d", "prices", "classes", "who",
                  title=f"{total} open offer(s)")
    for o in rows:
        table.add_row(o["id"], o["warehouse"], f"{o['start_day']}..{o['end_day']}",
                      f"{o['storage_capacity']:g} {o['storage_unit']}", f"{o['inbound_m3_per_day']:g}",
                      f"{o['price_storage']:g}/{o['storage_unit']}-d, {o['price_inbound']:g}/m³ {o['currency']}",
                      ",".join(o["cargo_classes"]), o["who_may_book"])
    console.print(table)


@offers_app.command("show")
def offers_show_cmd(offer: Annotated[str, typer.Argument(help="offer id")], org: OrgView = None,
                    start: Annotated[str | None, typer.Option("--start")] = None,
                    end: Annotated[str | None, typer.Option("--end")] = None,
                    db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Booked against offered capacity per day, beside the free space the warehouse's sensors report."""
    from optimizer.network import load_network
    from sharing.offers import availability

    with _guarded(OPTIONS):
        first = _day(start, "--start") if start else None
        last = _day(end, "--end") if end else None
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # GET /v1/offers/{id}/availability
            with service:
                params = {k: v.isoformat() for k, v in (("start", first), ("end", last)) if v is not None}
                doc = service.json("GET", f"/v1/offers/{_path_id(offer)}/availability", params=params)
        else:
            database = _db(db)
            doc = availability(database, load_network(), offer, org=_org(database, org), start=first, end=last)
    if as_json:
        print_json(doc)
        return
    s = doc["sensors"]
    console.print(f"offer {doc['offer']} at {doc['warehouse']}: sensors say {s['free_m3']:,} m³ free "
                  f"({s['source']})", highlight=False)
    table = Table("day", "storage confirmed/held/free", "inbound confirmed/held/free")
    st, ib = doc["days"]["storage"], doc["days"]["inbound"]
    for k in range(max(len(st), len(ib))):
        a = st[k] if k < len(st) else None
        b = ib[k] if k < len(ib) else None
        table.add_row((a or b)["day"], f"{a['confirmed']:g}/{a['held']:g}/{a['free']:g}" if a else "-",
                      f"{b['confirmed']:g}/{b['held']:g}/{b['free']:g}" if b else "-")
    console.print(table)


@offers_app.command("withdraw")
def offers_withdraw_cmd(offer: Annotated[str, typer.Argument(help="offer id")], org: OrgOrKey = None,
                        db: DbOpt = None) -> None:
    """Close an offer to new bookings (those made stand)."""
    from sharing.offers import withdraw_offer

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # DELETE /v1/offers/{id}
            with service:
                doc = service.json("DELETE", f"/v1/offers/{_path_id(offer)}")
        else:
            database = _db(db)
            org_id = _acting(database, org)
            doc = withdraw_offer(database, offer, org_id, _actor(org_id)).to_dict()
    console.print(f"offer {doc['id']} withdrawn", highlight=False)


@offers_app.command("partner")
def offers_partner_cmd(partner: Annotated[str, typer.Argument(help="the partner organisation (id or name; remote "
                                                                   "mode: its id)")],
                       org: OrgOrKey = None, remove: Annotated[bool, typer.Option("--remove")] = False,
                       db: DbOpt = None) -> None:
    """Add (or --remove) a partner of the operator --org: partners may book its 'partners' offers (remote mode:
    the key's organisation, an admin key)."""
    from sharing.profiles import add_partner, partner_details, remove_partner

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # GET and PUT /v1/offers/partners (the service keeps the whole list)
            with service:
                doc = service.json("GET", "/v1/offers/partners")
                have = doc["partners"]
                want = [p for p in have if p != partner] if remove else sorted({*have, partner})
                if want != have:
                    doc = service.json("PUT", "/v1/offers/partners", json={"partners": want})
                now = [(o["id"], o["name"]) for o in doc["organisations"]]
        else:
            database = _db(db)
            org_id, other = _acting(database, org), _org(database, partner)
            (remove_partner if remove else add_partner)(database, org_id, other, _actor(org_id))
            now = [(p.org_id, p.name) for p in partner_details(database, org_id)]
    console.print(f"partners: {', '.join(f'{name} ({pid})' for pid, name in now) or '(none)'}", highlight=False)


@offers_app.command("recommend")
def offers_recommend_cmd(
    start: Annotated[str, typer.Option("--start")],
    end: Annotated[str, typer.Option("--end")],
    org: OrgOrKey = None,
    demand: Annotated[Path | None, typer.Option("--demand", help="demand CSV (market,family,mean_m3_day,sd_m3_day,"
                                                                "kg_per_m3[,max_days]); default the organisation's "
                                                                "own 9610/9810 orders, else the bundled sample")] = None,
    lookback_days: Annotated[int, typer.Option("--lookback-days",
                                               help="without --demand: days of orders before --start to read "
                                                    "(7 to 366)")] = 90,
    fill_rate: Annotated[float, typer.Option("--fill-rate")] = 0.95,
    max_days: Annotated[float | None, typer.Option("--max-days", help="service level, delivery days")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which open offers --org should book for its expected demand, and the saving against the nearest warehouse."""
    from optimizer.network import load_network
    from sharing.recommend import recommend
    from trade.demand import expected_demand

    with _guarded(OPTIONS):
        first, last = _day(start, "--start"), _day(end, "--end")
        rows = _read_demand(demand)
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # POST /v1/offers/recommendations
            body = {"start_day": first.isoformat(), "end_day": last.isoformat(), "fill_rate": fill_rate,
                    "lookback_days": lookback_days, **({"max_days": max_days} if max_days is not None else {}),
                    **({"demand": _demand_body(rows)} if rows is not None else {})}
            with service:
                doc = service.json("POST", "/v1/offers/recommendations", json=body)
        else:
            database, net = _db(db), load_network()
            org_id = _acting(database, org)
            expected = expected_demand(database, net, org_id, first, rows, days=lookback_days)
            doc = recommend(database, net, org_id, first, last, demand=expected.rows, demand_source=expected.source,
                            fill_rate=fill_rate, max_days=max_days)
    if as_json:
        print_json(doc)
        return
    table = Table("offer", "warehouse", "book storage", "inbound m³/day", f"{doc['currency']}/month",
                  title=f"book {len(doc['book'])} offer(s) at a {doc['fill_rate']:.1%} fill rate")
    for b in doc["book"]:
        space = (f"{b['storage_quantity']:,g} pallet ({b['storage_m3']:,.1f} m³)" if b["storage_unit"] == "pallet"
                 else f"{b['storage_m3']:,.1f} m³")
        table.add_row(b["offer"], b["warehouse"], space,
                      f"{b['inbound_m3_per_day']:,.2f}",
                      f"{b['monthly_cost']:,.0f}")
    console.print(table)
    near = doc["nearest"]["monthly_cost"]
    saving = (f"saving {doc['saving']:,.0f} ({doc['saving_pct']:.1f} %)" if doc["saving"] is not None
              else f"no room for {len(doc['nearest']['unplaced'])} line(s) there")
    console.print(f"{doc['monthly_cost']:,.0f} {doc['currency']}/month; nearest offers first {near:,.0f} → {saving}; "
                  f"{doc['solver']} {doc['status']}, {doc['solve_seconds']:.2f} s", highlight=False)
    console.print(f"demand: {demand_said(doc['demand'])}", highlight=False, soft_wrap=True)
    for n in doc["notes"]:
        console.print(f"note: {n}", highlight=False, soft_wrap=True)


def demand_said(demand: dict[str, Any]) -> str:
    """Where a recommendation's demand came from, in one line."""
    src, n = demand["source"], len(demand["rows"])
    if src["kind"] == "orders":
        left = [f"{k:,} without a weight" for k in [src["without_weight"]] if k]
        away = sorted(src["countries_without_market"].items(), key=lambda cv: (-cv[1], cv[0]))
        if away:
            most = ", ".join(f"{c} {v:,}" for c, v in away[:4]) + (", …" if len(away) > 4 else "")
            left.append(f"{sum(v for _, v in away):,} to {len(away)} countries without a market ({most})")
        split = "; ".join(f"{c} split over {', '.join(m)}" for c, m in src["split"].items())
        return (f"{n} row(s) from {src['orders']:,} own {'/'.join(src['customs_modes'])} orders {src['from']}..{src['to']}"
                + (f", left out {', '.join(left)}" if left else "") + (f"; {split}" if split else ""))
    if src["kind"] == "given":
        return f"{n} row(s) given"
    return f"the bundled sample ({n} rows): {src.get('reason') or 'no demand given'}"


@offers_app.command("design")
def offers_design_cmd(
    start: Annotated[str, typer.Option("--start")],
    end: Annotated[str, typer.Option("--end")],
    org: OrgOrKey = None,
    demand: Annotated[Path | None, typer.Option("--demand", help="demand CSV, as for `cbec warehouses design`")] = None,
    max_days: Annotated[float | None, typer.Option("--max-days", help="service level, delivery days")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The shared-warehouse network design on the space and prices on offer to --org over --start..--end (remote
    mode: a design job on the offers, POST /v1/warehouse-designs with offers)."""
    from optimizer.network import load_network
    from optimizer.warehouses.design import DesignSettings
    from sharing.recommend import design_on_offers

    with _guarded(OPTIONS):
        first, last = _day(start, "--start"), _day(end, "--end")
        rows = _read_demand(demand)
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            body = {"offers": True, "offers_start": first.isoformat(), "offers_end": last.isoformat(),
                    "time_limit_s": 60.0,  # what design_on_offers gives the solver here
                    **({"max_days": max_days} if max_days is not None else {}),
                    **({"demand": _demand_body(rows)} if rows is not None else {})}
            with service:
                doc = service.run_job("/v1/warehouse-designs", body, "designing", show_progress=not as_json)["result"]
        else:
            database = _db(db)
            doc = design_on_offers(database, load_network(), _acting(database, org), first, last, demand=rows,
                                   settings=DesignSettings(max_days=max_days)).to_dict()
    if as_json:
        print_json(doc)
        return
    console.print(f"design on offers: {doc['status']}, {doc['objective']:,.2f} {doc['units']['objective']}, open "
                  f"{', '.join(doc['open'])}", highlight=False, soft_wrap=True)
    for w, u in doc["utilisation"].items():
        console.print(f"  {w}: {u:.0%} of the space on offer", highlight=False)


# --- bookings -----------------------------------------------------------------------------------------------
def _booking_text(d: dict) -> str:
    """One line of a booking (its JSON form: the same from the database and from the API)."""
    why = f" ({d['reason']})" if d["reason"] else ""
    return (f"booking {d['id']}: {d['status']}{why} — {d['kind']} {d['quantity']:g} on {d['offer']} at {d['warehouse']}, "
            f"{d['start_day']}..{d['end_day']}" + (f", fee {d['fee']:.2f}" if d["fee"] else ""))


@bookings_app.command("request")
def bookings_request_cmd(
    offer: Annotated[str, typer.Option("--offer")],
    quantity: Annotated[float, typer.Option("--quantity", help="storage: offer units every day; inbound: m³/day")],
    start: Annotated[str, typer.Option("--start")],
    end: Annotated[str, typer.Option("--end")],
    org: OrgOrKey = None,
    kind: Annotated[str, typer.Option("--kind", help="storage | inbound")] = "storage",
    cargo_class: Annotated[str, typer.Option("--class")] = "general",
    customs_mode: Annotated[str, typer.Option("--mode")] = "9810",
    hold: Annotated[bool, typer.Option("--hold", help="hold unconfirmed for the offer's hold hours")] = False,
    no_waitlist: Annotated[bool, typer.Option("--no-waitlist", help="refuse rather than wait for space")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Book capacity as --org: confirmed, held, waitlisted or refused, with the reason."""
    from sharing.bookings import request_booking
    from sharing.model import BookingRequest

    with _guarded({**OPTIONS, "offer": "--offer", "start_day": "--start", "end_day": "--end", "cargo_class": "--class",
                  "customs_mode": "--mode"}):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            with service:
                doc = service.json("POST", "/v1/bookings", json={
                    "offer": offer, "kind": kind, "quantity": quantity, "start_day": start, "end_day": end,
                    "cargo_class": cargo_class, "customs_mode": customs_mode, "hold": hold, "waitlist": not no_waitlist})
        else:
            database = _db(db)
            org_id = _acting(database, org)
            doc = request_booking(database, org_id, BookingRequest(offer, kind, quantity, _day(start, "--start"),
                                                                   _day(end, "--end"), cargo_class, customs_mode, hold,
                                                                   not no_waitlist), _actor(org_id)).to_dict()
    print_json(doc) if as_json else console.print(_booking_text(doc), highlight=False, soft_wrap=True)


@bookings_app.command("plan")
def bookings_plan_cmd(
    shipments: Annotated[Path, typer.Option("--shipments", help="CSV as for `cbec plan`")],
    org: OrgOrKey = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds, at most 600")] = 60.0,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """`cbec plan` on --org's bookings: the inbound m³ per warehouse and day is what it booked (else what open
    offers have free, else the dock's own figure). Remote mode: POST /v1/plans as the key's organisation (the
    service plans on that organisation's bookings the same way)."""
    from optimizer.network import load_network
    from optimizer.planning.candidates import PlanSettings
    from optimizer.planning.planner import plan_to_dict
    from optimizer.planning.shipments import read_shipments_csv
    from sharing.planning import plan_on_bookings

    if not 0 < time_limit <= 600:
        fail("--time-limit must be more than 0 and at most 600 seconds", field="--time-limit")
    with _guarded({**OPTIONS, "time_limit_s": "--time-limit"}):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            from api.cli.plan import _remote_plan

            with service:
                doc = _remote_plan(service, shipments, None, [], [], [], as_json, {"time_limit_s": time_limit})
        else:
            database = _db(db)
            net = load_network()
            load = read_shipments_csv(net, shipments)
            if not load.shipments:
                fail(f"no valid shipment in {shipments.name}" + (f": {load.errors[0].detail}" if load.errors else ""))
            doc = plan_to_dict(net, plan_on_bookings(database, net, _acting(database, org), load.shipments,
                                                     PlanSettings(time_limit_s=time_limit)))
    if as_json:
        print_json(doc)
        return
    s = doc["summary"]
    console.print(f"{shipments.name}: {s['assigned']} assigned, {s['unassigned']} unassigned; cost "
                  f"{doc['cost']['total']:,.0f} {doc['cost']['currency']}", highlight=False)
    for u in doc["capacity_use"]:
        if u["unit"] == "inbound_m3":
            console.print(f"  {u['departure']}: {u['used']:g} of {u['capacity']:g} m³ inbound", highlight=False)
    for u in doc["unassigned"]:
        console.print(f"  unassigned {u.get('id')}: {u.get('reason')}", highlight=False, soft_wrap=True)


@bookings_app.command("list")
def bookings_list_cmd(org: OrgView = None, role: Annotated[str, typer.Option("--role", help="booker | operator | any")] = "any",
                      status: Annotated[str | None, typer.Option("--status")] = None, db: DbOpt = None,
                      as_json: JsonOpt = False) -> None:
    """Bookings --org made (booker), on its offers (operator), or both."""
    from sharing.bookings import list_bookings

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            with service:
                params = {"role": role, "limit": 200, **({"status": status} if status else {})}
                doc = service.json("GET", "/v1/bookings", params=params)
            rows, total = doc["items"], doc["total"]
        else:
            database = _db(db)
            items, total = list_bookings(database, org=_org(database, org), role=role, status=status, limit=200)
            rows = [b.to_dict() for b in items]
    if as_json:
        print_json({"items": rows, "total": total})
        return
    table = Table("booking", "status", "booker", "operator", "kind", "qty", "days", "offer", "warehouse", "reason",
                  title=f"{total} booking(s)")
    for b in rows:  # the parties by name (the ids are in --json); an organisation gone: its id
        table.add_row(b["id"], b["status"], b.get("org_name") or b["org"], b.get("operator_name") or b["operator"],
                      b["kind"], f"{b['quantity']:g}", f"{b['start_day']}..{b['end_day']}", b["offer"], b["warehouse"],
                      b["reason"] or "")
    console.print(table)


@bookings_app.command("cancel")
def bookings_cancel_cmd(booking: Annotated[str, typer.Argument()], org: OrgOrKey = None, db: DbOpt = None) -> None:
    """Cancel a booking by the offer's terms (late: a fee)."""
    from sharing.bookings import cancel_booking

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            with service:
                doc = service.json("DELETE", f"/v1/bookings/{_path_id(booking)}")
        else:
            database = _db(db)
            org_id = _acting(database, org)
            doc = cancel_booking(database, booking, org_id, _actor(org_id)).to_dict()
    console.print(_booking_text(doc), highlight=False, soft_wrap=True)


@bookings_app.command("refuse")
def bookings_refuse_cmd(booking: Annotated[str, typer.Argument()],
                        reason: Annotated[str, typer.Option("--reason", help="why (the booker reads it)")],
                        org: OrgOrKey = None, db: DbOpt = None) -> None:
    """The offer's operator (--org) refuses a held or waitlisted booking, or cancels a confirmed one not yet begun."""
    from sharing.bookings import refuse_booking

    with _guarded({**OPTIONS, "reason": "--reason"}):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            with service:
                doc = service.json("POST", f"/v1/bookings/{_path_id(booking)}/refuse", json={"reason": reason})
        else:
            database = _db(db)
            org_id = _acting(database, org)
            doc = refuse_booking(database, booking, org_id, _actor(org_id), reason).to_dict()
    console.print(_booking_text(doc), highlight=False, soft_wrap=True)


@bookings_app.command("confirm")
def bookings_confirm_cmd(booking: Annotated[str, typer.Argument()], org: OrgOrKey = None, db: DbOpt = None) -> None:
    """Confirm a held booking."""
    from sharing.bookings import confirm_booking

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # POST /v1/bookings/{id}/confirm
            with service:
                doc = service.json("POST", f"/v1/bookings/{_path_id(booking)}/confirm")
        else:
            database = _db(db)
            org_id = _acting(database, org)
            doc = confirm_booking(database, booking, org_id, _actor(org_id)).to_dict()
    console.print(_booking_text(doc), highlight=False, soft_wrap=True)


@bookings_app.command("change")
def bookings_change_cmd(booking: Annotated[str, typer.Argument()], org: OrgOrKey = None,
                        quantity: Annotated[float | None, typer.Option("--quantity")] = None,
                        start: Annotated[str | None, typer.Option("--start")] = None,
                        end: Annotated[str | None, typer.Option("--end")] = None, db: DbOpt = None) -> None:
    """Change a booking's quantity or days (it must fit; a reduction within the notice costs a fee)."""
    from sharing.bookings import change_booking

    with _guarded(OPTIONS):
        first = _day(start, "--start") if start else None
        last = _day(end, "--end") if end else None
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # PATCH /v1/bookings/{id}
            body = {k: v for k, v in (("quantity", quantity), ("start_day", first and first.isoformat()),
                                      ("end_day", last and last.isoformat())) if v is not None}
            with service:
                doc = service.json("PATCH", f"/v1/bookings/{_path_id(booking)}", json=body)
        else:
            database = _db(db)
            org_id = _acting(database, org)
            doc = change_booking(database, booking, org_id, _actor(org_id), quantity=quantity, start_day=first,
                                 end_day=last).to_dict()
    console.print(_booking_text(doc), highlight=False, soft_wrap=True)


@bookings_app.command("audit")
def bookings_audit_cmd(booking: Annotated[str, typer.Argument()], org: OrgView = None, db: DbOpt = None,
                       as_json: JsonOpt = False) -> None:
    """Every change to a booking: who, when, what."""
    from datetime import UTC, datetime

    from sharing.audit import trail
    from sharing.bookings import get_booking

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # GET /v1/bookings/{id}/audit
            with service:
                entries = service.json("GET", f"/v1/bookings/{_path_id(booking)}/audit")["items"]
        else:
            database = _db(db)
            org_id = _org(database, org)
            get_booking(database, booking, org=org_id)
            entries = [e.to_dict() for e in trail(database, "booking", booking, org=org_id)]
    if as_json:
        print_json({"items": entries})
        return
    for e in entries:
        when = datetime.fromtimestamp(e["at_ms"] / 1000, UTC).isoformat(timespec="seconds")
        console.print(f"{when} {e['action']:<8} by {e['actor_org'] or '-'}/{e['actor']} "
                      f"{json.dumps(e['detail'], default=str)[:160]}", highlight=False, soft_wrap=True)


@bookings_app.command("expire")
def bookings_expire_cmd(db: DbOpt = None) -> None:
    """Expire holds and waits past their deadline, and promote the waitlists (run it from cron, or rely on
    each request doing it for its own offer). Remote: the key's organisation's offers (an admin key; the
    pilot-zone office's: every offer)."""
    from sharing.bookings import expire_due

    with _guarded(OPTIONS):
        service = _service(**{"--db": db})
        if service is not None:  # POST /v1/bookings/expire
            with service:
                out = service.json("POST", "/v1/bookings/expire")
        else:
            out = expire_due(_db(db))
    console.print(f"{out['expired']} expired, {out['promoted']} promoted from the waitlist", highlight=False)


@bookings_app.command("use")
def bookings_use_cmd(warehouse: Annotated[str, typer.Option("--warehouse")],
                     day: Annotated[str, typer.Option("--day")], m3: Annotated[float, typer.Option("--m3")],
                     ref: Annotated[str, typer.Option("--ref", help="your reference (one movement per ref)")],
                     org: OrgOrKey = None,
                     out: Annotated[bool, typer.Option("--out", help="an outbound movement (default inbound)")] = False,
                     db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Record a stock movement of --org at a warehouse; inbound draws on its booking there."""
    from optimizer.network import load_network
    from sharing.usage import record_movement

    with _guarded(OPTIONS):
        when = _day(day, "--day")
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # POST /v1/bookings/movements
            with service:
                mv = service.json("POST", "/v1/bookings/movements", json={
                    "warehouse": warehouse.upper(), "day": when.isoformat(), "direction": "out" if out else "in",
                    "m3": m3, "ref": ref})
        else:
            database = _db(db)
            org_id = _acting(database, org)
            mv = record_movement(database, load_network(), org_id, warehouse.upper(), when, "out" if out else "in", m3,
                                 "manual", ref, _actor(org_id)).to_dict()
    if as_json:
        print_json(mv)
        return
    drew = f"drew on booking {mv['booking']}" if mv["booking"] else ("in offer " + mv["offer"] if mv["offer"] else
                                                                     "UNBOOKED (no booking at the warehouse that day)")
    console.print(f"movement {mv['id']}: {mv['direction']} {mv['m3']:g} m³ at {mv['warehouse']} on {mv['day']}; {drew}",
                  highlight=False, soft_wrap=True)


@bookings_app.command("reconcile")
def bookings_reconcile_cmd(warehouse: Annotated[str, typer.Option("--warehouse")],
                           start: Annotated[str, typer.Option("--start")], end: Annotated[str, typer.Option("--end")],
                           org: OrgView = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Use against bookings at a warehouse: overuse, unbooked inbound, sensors against recorded stock."""
    from optimizer.network import load_network
    from sharing.usage import reconcile

    with _guarded(OPTIONS):
        first, last = _day(start, "--start"), _day(end, "--end")
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # GET /v1/bookings/reconciliation
            with service:
                doc = service.json("GET", "/v1/bookings/reconciliation", params={
                    "warehouse": warehouse.upper(), "start": first.isoformat(), "end": last.isoformat()})
        else:
            database = _db(db)
            doc = reconcile(database, load_network(), warehouse.upper(), first, last, org=_org(database, org))
    if as_json:
        print_json(doc)
        return
    occ = doc["occupancy"]
    console.print(f"{doc['warehouse']} {doc['start']}..{doc['end']}: {len(doc['overuse'])} overuse day(s), "
                  f"{len(doc['unbooked_inbound'])} unbooked inbound; recorded stock {occ['recorded_stock_m3']:g} m³, "
                  f"sensors {occ['sensors_m3'] if occ['sensors_m3'] is not None else '-'} m³", highlight=False)
    for f in doc["overuse"]:
        console.print(f"  overuse {f['day']} {f['kind']}: {f['used_m3']:g} m³ used, {f['booked_m3']:g} booked "
                      f"({f['org']} on {f['offer']})", highlight=False)


# --- settlements --------------------------------------------------------------------------------------------
Month = Annotated[str, typer.Argument(help="the month, YYYY-MM")]


def _month_path(month: str) -> str:
    """The month checked here (a bad one is the same one line as locally), as the path segment."""
    from sharing.settlement import Month as M

    return str(M.parse(month))


@settlements_app.command("show")
def settlements_show_cmd(month: Month, org: OrgView = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The month's settlement of every pair --org is a party to (without --org: every pair)."""
    from sharing.settlement import Month as M
    from sharing.settlement import settlement

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            with service:
                doc = service.json("GET", f"/v1/settlements/{_month_path(month)}")
        else:
            database = _db(db)
            doc = settlement(database, M.parse(month), org=_org(database, org))
    if as_json:
        print_json(doc)
        return
    table = Table("booker", "operator", "cities", "booked m³-d", "used m³-d", "inbound m³ b/u", "storage", "inbound",
                  "fees", "total", title=f"settlement {month}")
    for p in doc["pairs"]:
        table.add_row(p["booker_name"] or p["booker"], p["operator_name"] or p["operator"],
                      f"{p['booker_city']} → {p['operator_city']}", f"{p['booked_m3_days']:,.0f}",
                      f"{p['used_m3_days']:,.0f}", f"{p['booked_inbound_m3']:,.0f}/{p['used_inbound_m3']:,.0f}",
                      f"{p['storage_charge']:,.2f}", f"{p['inbound_charge']:,.2f}", f"{p['fees']:,.2f}",
                      f"{p['total']:,.2f} {p['currency']}")
    console.print(table)


@settlements_app.command("export")
def settlements_export_cmd(month: Month, output: Annotated[Path, typer.Option("-o", "--output")],
                           org: OrgOrKey = None, fmt: Annotated[str, typer.Option("--format", help="csv | xlsx")] = "csv",
                           db: DbOpt = None) -> None:
    """Write --org's lines of the month as CSV or XLSX."""
    from sharing.export import lines_csv, lines_xlsx
    from sharing.settlement import Month as M
    from sharing.settlement import settlement

    if fmt not in ("csv", "xlsx"):
        fail("--format must be csv or xlsx", field="--format")
    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            with service:
                data = service.request("GET", f"/v1/settlements/{_month_path(month)}/export", params={"format": fmt}).content
                n = len(service.json("GET", f"/v1/settlements/{_month_path(month)}")["lines"])
        else:
            database = _db(db)
            doc = settlement(database, M.parse(month), org=_acting(database, org))
            data, n = (lines_csv(doc["lines"]).encode() if fmt == "csv" else lines_xlsx(doc["lines"], month)), len(doc["lines"])
        output.write_bytes(data)
    console.print(f"{n} line(s) written to {output}", highlight=False)


@settlements_app.command("statement")
def settlements_statement_cmd(month: Month, org: OrgOrKey = None,
                              output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
                              db: DbOpt = None) -> None:
    """--org's signed statement of the month (HMAC-SHA256; verify with `cbec settlements verify FILE`)."""
    from sharing.export import statement
    from sharing.settlement import Month as M

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:
            with service:
                doc = service.json("GET", f"/v1/settlements/{_month_path(month)}/statement")
        else:
            database = _db(db)
            doc = statement(database, M.parse(month), _acting(database, org))
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n")
        console.print(f"statement written to {output} (signature {doc['signature']['value'][:16]}…)", highlight=False)


@settlements_app.command("verify")
def settlements_verify_cmd(path: Annotated[Path, typer.Argument(help="a statement (JSON)")]) -> None:
    """Check a statement's signature against this deployment's key; exit 1 when it does not hold (remote mode:
    the deployed service's key, POST /v1/settlements/verify)."""
    from sharing.signing import verify

    with _guarded(OPTIONS):
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            fail(f"{path}: not JSON ({exc.msg} at line {exc.lineno})")
        service = _service()
        if service is not None:
            with service:
                answer = service.json("POST", "/v1/settlements/verify", json=doc)
            ok, why = answer["valid"], answer["reason"]
        else:
            ok, why = verify(doc)
    console.print(f"{path}: {why}", highlight=False)
    if not ok:
        raise typer.Exit(1)


@settlements_app.command("cities")
def settlements_cities_cmd(month: Month, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Totals between home cities (the pilot-zone office's view: no organisation named)."""
    from sharing.settlement import Month as M
    from sharing.settlement import between_cities

    with _guarded(OPTIONS):
        service = _service(**{"--db": db})
        if service is not None:
            with service:
                doc = service.json("GET", f"/v1/settlements/{_month_path(month)}/cities")
        else:
            doc = between_cities(_db(db), M.parse(month))
    if as_json:
        print_json(doc)
        return
    table = Table("from (booker)", "to (operator)", "pairs", "booked m³-d", "used m³-d", "total", title=f"between cities, {month}")
    for f in doc["flows"] + doc["totals"]:
        frm, to = f["booker_city"] or "(all)", f["operator_city"] or "(all)"
        if f["suppressed"]:
            table.add_row(frm, to, "x", "x", "x", f"x ({f['suppressed']}) {f['currency']}")
        else:
            table.add_row(frm, to, str(f["pairs"]), f"{f['booked_m3_days']:,.0f}", f"{f['used_m3_days']:,.0f}",
                          f"{f['total']:,.2f} {f['currency']}")
    console.print(table)
    console.print(f"x: suppressed; {doc['rule']}", highlight=False, soft_wrap=True)


@settlements_app.command("city")
def settlements_city_cmd(city: Annotated[str, typer.Argument(help="the home city, e.g. Mianyang")],
                         org: OrgOrKey = None, db: DbOpt = None) -> None:
    """Set --org's home city (settlements between cities; remote mode: the key's organisation, an admin key)."""
    from sharing.profiles import set_city

    with _guarded(OPTIONS):
        service = _service(**{"--org": org, "--db": db})
        if service is not None:  # PUT /v1/settlements/city
            with service:
                doc = service.json("PUT", "/v1/settlements/city", json={"city": city})
            org, city = doc["org"], doc["city"]
        else:
            database = _db(db)
            org_id = _acting(database, org)
            set_city(database, org_id, city, _actor(org_id))
    console.print(f"{org}: {city}", highlight=False)
