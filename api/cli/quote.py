"""`cbec quote`: instant route quotes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, errors_as_exit, print_json
from optimizer.errors import CbecError, InvalidInput
from optimizer.network import load_network
from optimizer.network.model import DutyRate
from optimizer.quotes.destination import read_duty_table
from optimizer.quotes.limits import PIECES, READY_RULE, VOLUME_M3, WEIGHT_KG, check_hs_code
from optimizer.quotes.quote import build_request

if TYPE_CHECKING:
    from quotations.service import DeclaredGoods

OPTIONS = {"origin": "--from", "destination": "--to", "weight_kg": "--weight", "volume_m3": "--volume",
           "ready": "--ready", "pieces": "--pieces", "cargo_class": "--class", "customs_mode": "--customs",
           "currency": "--currency", "goods_value": "--goods-value", "hs_code": "--hs-code",
           "value_of_time_per_day": "--value-of-time", "duty_table": "--duty-table", "duty_rates": "--duty-table",
           "from": "--from", "to": "--to"}  # the last two: the API's names (remote mode)


@contextmanager
def option_names(options: Mapping[str, str]) -> Iterator[None]:
    """Prefix a domain error with the CLI option of its field ("--weight: weight_kg must be ..."), so the
    one line printed by ``errors_as_exit`` names the option to change. Use inside ``errors_as_exit()``."""
    try:
        yield
    except CbecError as exc:
        option = options.get(exc.field or "")
        if option and not exc.detail.startswith(option):
            exc.detail = f"{option}: {exc.detail}"
        raise


quote_app = typer.Typer(help="Route quotes: `cbec quote --from ... --to ...` quotes; `cbec quote show ID` "
                             "fetches a saved quote.", invoke_without_command=True)
app.add_typer(quote_app, name="quote")
REQUIRED = (("origin", "--from"), ("destination", "--to"), ("weight", "--weight"), ("volume", "--volume"),
            ("ready", "--ready"))


def _local_db(url: str | None):
    """The database quotes are saved in, or None when there is none yet (the quote is then not saved)."""
    from optimizer.settings import Settings
    from storage.db import open_db

    try:
        return open_db(url or Settings().database_url)  # this invocation's environment
    except CbecError:
        return None


@quote_app.callback()
def quote_cmd(
    ctx: typer.Context,
    origin: Annotated[str | None, typer.Option("--from", help="origin node id, e.g. MY_CITY")] = None,
    destination: Annotated[str | None, typer.Option("--to", help="destination node id, e.g. LODZ")] = None,
    weight: Annotated[float | None, typer.Option("--weight", help=f"gross weight, kg: {WEIGHT_KG.describe()}")] = None,
    volume: Annotated[float | None, typer.Option("--volume", help=f"volume, m³: {VOLUME_M3.describe()}")] = None,
    ready: Annotated[str | None, typer.Option("--ready", help=f"cargo ready: {READY_RULE}")] = None,
    pieces: Annotated[int, typer.Option(help=f"number of pieces (parcels for 9610): {PIECES.describe()}")] = 1,
    cargo_class: Annotated[str, typer.Option("--class", help="general | lithium_batteries | dangerous_goods | temperature_controlled")] = "general",
    customs_mode: Annotated[str | None, typer.Option("--customs", help="9610 | 1210 | 9710 | 9810 (default: 9810 to a warehouse, else 9710)")] = None,
    include_planned: Annotated[bool, typer.Option("--include-planned", help="also use planned nodes and services (Mianyang rail port)")] = False,
    currency: Annotated[str, typer.Option("--currency", help="USD | CNY | EUR: prices converted at the dated exchange-rate table")] = "USD",
    extrapolate: Annotated[bool, typer.Option("--extrapolate", help="quote even where tariffs or timetables are not valid on the "
                                                                    "day (warnings name each figure); without it: an error")] = False,
    goods_value: Annotated[float | None, typer.Option("--goods-value", help="declared value of the whole shipment, in "
                                                      "--currency: VAT/IOSS and duty estimates, default value of time")] = None,
    hs_code: Annotated[str | None, typer.Option("--hs-code", help="HS code of the goods, 4-10 digits (looked up in --duty-table)")] = None,
    value_of_time: Annotated[float | None, typer.Option("--value-of-time", help="what a day in transit costs, in --currency "
                                                        "per day: picks the recommended option (default a share of --goods-value)")] = None,
    duty_table: Annotated[Path | None, typer.Option("--duty-table", help="duty table CSV: hs_code,country,rate_pct[,note] "
                                                    "(country: ISO code, EU or *; the longest HS prefix wins)")] = None,
    org: Annotated[str | None, typer.Option("--org", help="organisation id or name: its rate sheets apply and the quote is "
                                                          "saved as its own (local mode; without it the quote is not saved)")] = None,
    db_url: Annotated[str | None, typer.Option("--db", help="database URL the quote is saved in (default CBEC_DATABASE_URL)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the quote as JSON")] = False,
) -> None:
    """Pareto-optimal route options (cost, transit time, CO2e) from origin to destination, saved with an id
    (`cbec quote show ID`) valid until the earliest end of the tariffs and timetables used.

    With CBEC_API_URL set, the deployed service quotes (POST /v1/quotes, with CBEC_API_KEY if set)."""
    from api.cli.remote import remote

    if ctx.invoked_subcommand is not None:
        return
    with errors_as_exit(), option_names(OPTIONS):
        given = {"origin": origin, "destination": destination, "weight": weight, "volume": volume, "ready": ready}
        missing = [flag for name, flag in REQUIRED if given[name] is None]
        if missing:
            raise CbecError(f"missing option(s) {', '.join(missing)} (cbec quote --help)", field=None)
        assert origin is not None and destination is not None and weight is not None and volume is not None and ready is not None
        goods = declared_goods(goods_value, hs_code, value_of_time, duty_table)
        service = remote()
        if service is not None:
            body = {"from": origin, "to": destination, "weight_kg": weight, "volume_m3": volume, "ready": ready,
                    "pieces": pieces, "cargo_class": cargo_class, "include_planned": include_planned}
            if customs_mode is not None:
                body["customs_mode"] = customs_mode
            if currency.upper() != "USD":
                body["currency"] = currency.upper()
            if extrapolate:
                body["allow_extrapolation"] = True
            body |= goods_body(goods)
            with service:
                doc = service.json("POST", "/v1/quotes", json=body)
            first = doc["options"][0] if doc.get("options") else {}
            co2e_method = first.get("co2e", {}).get("method", "")
            as_of = doc.get("data_as_of", "")
        else:
            from quotations.service import QuoteTerms, issue_quote

            net = load_network()
            req = build_request(net, origin, destination, weight, volume, ready, pieces=pieces, cargo_class=cargo_class,
                                customs_mode=customs_mode, include_planned=include_planned)
            db, org_id = None, None
            if org is not None:  # an organisation's quote: its rate sheets apply, and it is saved
                db = _local_db(db_url)
                if db is None:
                    raise CbecError("--org needs a database (cbec db upgrade, or --db URL)", field="org")
                from accounts.store import find_org

                org_id = find_org(db, org).org_id
            doc = issue_quote(net, req, QuoteTerms(currency, extrapolate), db=db, org_id=org_id, goods=goods)
            co2e_method, as_of = net.co2e_method, net.as_of
    if as_json:
        print_json(doc)
        return
    print_quote(doc, doc.get("currency", "USD"), as_of, co2e_method)


def declared_goods(goods_value: float | None, hs_code: str | None, value_of_time: float | None,
                   duty_table: Path | None) -> DeclaredGoods:
    """The options about the goods as the use case takes them; the duty table read (errors name its row and
    field) and bounded as the API bounds it."""
    from quotations.service import DeclaredGoods

    rates: tuple[DutyRate, ...] = ()
    if duty_table is not None:
        try:
            text = duty_table.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {duty_table}: {exc.__class__.__name__}", field="duty_table") from None
        try:
            rates = read_duty_table(text, source=str(duty_table))
        except InvalidInput as exc:
            exc.detail = f"--duty-table: {exc.detail}"  # already names the file, its row and field
            raise
    if hs_code is not None:
        hs_code = check_hs_code(hs_code)
    return DeclaredGoods(goods_value, hs_code, value_of_time, rates)


def goods_body(goods: DeclaredGoods) -> dict[str, object]:
    """The POST /v1/quotes fields of ``goods`` (remote mode): only those given."""
    body: dict[str, object] = {}
    if goods.goods_value is not None:
        body["goods_value"] = goods.goods_value
    if goods.hs_code is not None:
        body["hs_code"] = goods.hs_code
    if goods.value_of_time_per_day is not None:
        body["value_of_time_per_day"] = goods.value_of_time_per_day
    if goods.duty_rates:
        body["duty_rates"] = [{"hs_code": r.hs_prefix, "country": r.country, "rate_pct": r.rate_pct, "note": r.note}
                              for r in goods.duty_rates]
    return body


@quote_app.command("list")
def quote_list(
    org: Annotated[str | None, typer.Option("--org", help="organisation id or name (local mode)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="quotes per page")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="quotes to skip")] = 0,
    db_url: Annotated[str | None, typer.Option("--db", help="database URL (default CBEC_DATABASE_URL)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The organisation's saved quotes, newest first (with CBEC_API_URL: GET /v1/quotes)."""
    from api.cli.remote import remote

    with errors_as_exit():
        service = remote()
        if service is not None:
            with service:
                doc = service.json("GET", "/v1/quotes", params={"limit": limit, "offset": offset})
        else:
            from api.cli.ingest import org_owner
            from optimizer.settings import Settings
            from quotations.service import saved_quotes
            from storage.db import open_db

            db = open_db(db_url or Settings().database_url)
            org_id = org_owner(db, org)
            if org_id is None:
                raise CbecError("saved quotes belong to an organisation: there is none yet", field="org")
            items, total = saved_quotes(db, org_id, limit=limit, offset=offset)
            doc = {"quotes": items, "total": total, "limit": limit, "offset": offset}
    if as_json:
        print_json(doc)
        return
    table = Table(title=f"saved quotes ({doc['total']})")
    for col in ("id", "lane", "cargo", "ready", "cheapest", "valid until"):
        table.add_column(col, no_wrap=col in ("id", "cheapest"))
    for q in doc["quotes"]:
        until = (q["valid_until"] or "")[:16] + (" (expired)" if q["expired"] else "")
        cheapest = f"{q['cheapest_total']:,.0f} {q['currency']}" if q["cheapest_total"] is not None else "-"
        table.add_row(q["quote_id"], f"{q['from']} → {q['to']}", f"{q['weight_kg']:g} kg, {q['volume_m3']:g} m³",
                      (q["ready"] or "")[:10], cheapest, until)
    console.print(table)


@quote_app.command("show")
def quote_show(
    quote_id: Annotated[str, typer.Argument(help="the quote id (q_...) a quote printed")],
    org: Annotated[str | None, typer.Option("--org", help="organisation id or name the quote belongs to (local mode)")] = None,
    db_url: Annotated[str | None, typer.Option("--db", help="database URL (default CBEC_DATABASE_URL)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the quote as JSON")] = False,
) -> None:
    """A saved quote at the prices it was given, until its valid_until (then an error saying it expired).

    With CBEC_API_URL set, the deployed service answers (GET /v1/quotes/ID)."""
    from api.cli.remote import remote

    with errors_as_exit():
        service = remote()
        if service is not None:
            with service:
                doc = service.json("GET", f"/v1/quotes/{quote_id}")
        else:
            from quotations.service import fetch_quote
            from storage.db import open_db

            from optimizer.settings import Settings

            db = open_db(db_url or Settings().database_url)
            org_id = None
            if org is not None:
                from accounts.store import find_org

                org_id = find_org(db, org).org_id
            doc = fetch_quote(db, quote_id, org_id)
    if as_json:
        print_json(doc)
        return
    first = doc["options"][0] if doc.get("options") else {}
    print_quote(doc, doc.get("currency", "USD"), doc.get("data_as_of", ""), first.get("co2e", {}).get("method", ""))


TAX_CODES = ("DUTY", "DUTY_FLAT", "VAT_IOSS", "VAT_IMPORT")


def print_taxes(doc: dict, currency: str) -> None:
    """The recommended option's VAT/IOSS and duty lines (estimates, the same for every option) and why any
    tax was not estimated; the declared goods value and value of time asked for."""
    r = doc["request"]
    asked = []
    if r.get("goods_value") is not None:
        asked.append(f"goods value {r['goods_value']:,.2f} {currency}" + (f", HS {r['hs_code']}" if r.get("hs_code") else ""))
    if r.get("value_of_time_per_day") is not None:
        asked.append(f"value of time {r['value_of_time_per_day']:,.2f} {currency}/day")
    if r.get("duty_rates"):
        asked.append(f"duty table of {len(r['duty_rates'])} row(s)")
    if asked:
        console.print(f"declared: {'; '.join(asked)}", highlight=False)
    option = next((o for o in doc["options"] if "recommended" in o["tags"]), doc["options"][0] if doc["options"] else None)
    if option is None:
        return
    for line in option["cost"]["breakdown"]:
        if line["code"] in TAX_CODES:
            console.print(f"{line['description']}: {line['amount']:,.2f} {currency} (estimate)", highlight=False)
    for note in option.get("notes", ()):
        if "not estimated" in note or "duty" in note:
            console.print(f"[dim]{note}[/]", highlight=False)


def print_quote(doc: dict, currency: str, as_of: str, co2e_method: str) -> None:
    """The quote as a table (the same from a local run and from the service)."""
    r = doc["request"]
    table = Table(title=f"{r['from']} → {r['to']}: {r['weight_kg']:g} kg, {r['volume_m3']:g} m³, "
                        f"{r['cargo_class']}, customs {r['customs_mode']}")
    table.add_column("#", justify="right")
    table.add_column("tags", min_width=8)
    table.add_column("modes")
    table.add_column("via", min_width=10)
    table.add_column("days p50/p90", justify="right")
    table.add_column(currency, justify="right", no_wrap=True)
    table.add_column("kg CO2e", justify="right", no_wrap=True)
    for i, option in enumerate(doc["options"], 1):
        hubs = " ".join(leg["to"] for leg in option["legs"][:-1]) or "direct"
        table.add_row(str(i), "\n".join(option["tags"]) or "-", "+".join(option["modes"]), hubs,
                      f"{option['transit_days']['p50']:.1f}/{option['transit_days']['p90']:.1f}",
                      f"{option['cost']['total']:,.0f}", f"{option['co2e_kg']:,.0f}")
    console.print(table)
    console.print(f"[dim]local times; data as of {as_of}; CO2e {co2e_method}[/]")
    own = {}  # rate sheet -> "#option service, ..."
    for i, option in enumerate(doc["options"], 1):
        for leg in option["legs"]:
            if leg.get("tariff_source", "public") != "public":
                own.setdefault(leg["tariff_source"], []).append(f"#{i} {leg['service']}")
    for sheet, legs in own.items():
        console.print(f"{sheet}: {', '.join(legs)} (other legs: public tariffs)", highlight=False)
    print_taxes(doc, currency)
    fx = doc.get("exchange_rate")
    if fx and fx.get("from") != fx.get("to"):
        console.print(f"[dim]prices in {currency} at 1 {fx['from']} = {fx['rate']:g} {fx['to']} "
                      f"({fx['date']}, {fx['source'].split(' http')[0]})[/]")
    for warning in doc.get("warnings", ()):
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if doc.get("saved"):
        console.print(f"quote {doc['quote_id']} valid until {doc['valid_until']} (cbec quote show {doc['quote_id']})",
                      highlight=False)
    elif "quote_id" in doc and "saved" in doc:
        console.print("[dim]not saved: an organisation's quotes are (--org here; an API key remotely)[/]")
