"""`cbec quote`: instant route quotes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, errors_as_exit, print_json
from optimizer.errors import CbecError
from optimizer.network import load_network
from optimizer.network.serialize import quote_to_dict
from optimizer.quotes.limits import PIECES, READY_RULE, VOLUME_M3, WEIGHT_KG
from optimizer.quotes.quote import build_request, quote

OPTIONS = {"origin": "--from", "destination": "--to", "weight_kg": "--weight", "volume_m3": "--volume",
           "ready": "--ready", "pieces": "--pieces", "cargo_class": "--class", "customs_mode": "--customs",
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


@app.command("quote")
def quote_cmd(
    origin: Annotated[str, typer.Option("--from", help="origin node id, e.g. MY_CITY")],
    destination: Annotated[str, typer.Option("--to", help="destination node id, e.g. LODZ")],
    weight: Annotated[float, typer.Option("--weight", help=f"gross weight, kg: {WEIGHT_KG.describe()}")],
    volume: Annotated[float, typer.Option("--volume", help=f"volume, m³: {VOLUME_M3.describe()}")],
    ready: Annotated[str, typer.Option("--ready", help=f"cargo ready: {READY_RULE}")],
    pieces: Annotated[int, typer.Option(help=f"number of pieces (parcels for 9610): {PIECES.describe()}")] = 1,
    cargo_class: Annotated[str, typer.Option("--class", help="general | lithium_batteries | dangerous_goods | temperature_controlled")] = "general",
    customs_mode: Annotated[str | None, typer.Option("--customs", help="9610 | 1210 | 9710 | 9810 (default: 9810 to a warehouse, else 9710)")] = None,
    include_planned: Annotated[bool, typer.Option("--include-planned", help="also use planned nodes and services (Mianyang rail port)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print {\"options\": [...]} as JSON")] = False,
) -> None:
    """Pareto-optimal route options (cost, transit time, CO2e) from origin to destination.

    With CBEC_API_URL set, the deployed service quotes (POST /v1/quotes, with CBEC_API_KEY if set)."""
    from api.cli.remote import remote

    with errors_as_exit(), option_names(OPTIONS):
        service = remote()
        if service is not None:
            body = {"from": origin, "to": destination, "weight_kg": weight, "volume_m3": volume, "ready": ready,
                    "pieces": pieces, "cargo_class": cargo_class, "include_planned": include_planned}
            if customs_mode is not None:
                body["customs_mode"] = customs_mode
            with service:
                doc = service.json("POST", "/v1/quotes", json=body)
            first = doc["options"][0] if doc.get("options") else {}
            currency = first.get("cost", {}).get("currency", "")
            co2e_method = first.get("co2e", {}).get("method", "")
            as_of = doc.get("data_as_of", "")
        else:
            net = load_network()
            req = build_request(net, origin, destination, weight, volume, ready, pieces=pieces, cargo_class=cargo_class,
                                customs_mode=customs_mode, include_planned=include_planned)
            doc = quote_to_dict(net, req, quote(net, req))
            currency, co2e_method, as_of = net.currency, net.co2e_method, net.as_of
    if as_json:
        print_json(doc)
        return
    print_quote(doc, currency, as_of, co2e_method)


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
