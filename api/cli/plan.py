"""`cbec plan`: plan a batch of shipments against real capacities (and re-plan after a change).

Bad CSV rows are reported (row, field, reason) and the valid rows are planned; the command exits 2
only when no valid row remains (or the header lacks a required column).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, err_console, errors_as_exit, fail, print_json, progress_bar
from optimizer.errors import InvalidInput
from optimizer.network import load_network
from optimizer.network.model import Capacity
from optimizer.planning.native_output import native_stdout_to_stderr
from optimizer.planning.planner import PlanSettings, plan_to_dict
from optimizer.planning.replan import Change, plan_or_replan
from optimizer.planning.shipments import read_shipments_csv


def _pairs(values: list[str], flag: str) -> dict[str, float]:
    out = {}
    for v in values:
        key, sep, num = v.rpartition("=")
        try:
            if not sep or not key:
                raise ValueError
            out[key] = float(num)
        except ValueError:
            raise InvalidInput(f"{flag} expects DEPARTURE_KEY=NUMBER (got '{v}')", field=flag) from None
    return out


@app.command("plan")
def plan_cmd(
    shipments: Annotated[Path, typer.Option("--shipments", help="CSV: id,origin,destination,weight_kg,volume_m3,ready_date,due_date[,pieces,cargo_class,customs_mode,value]")],
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="consider departures up to N days after each ready date")] = 21,
    time_limit: Annotated[float, typer.Option("--time-limit", help="solver time limit, seconds (whole run)")] = 60.0,
    carbon_price: Annotated[float, typer.Option("--carbon-price", help="objective price per tonne CO2e")] = 0.0,
    late_per_day: Annotated[float, typer.Option("--late-per-day", help="lateness penalty per shipment-day past due")] = 50.0,
    replan_from: Annotated[Path | None, typer.Option("--replan-from", help="previous plan JSON (from --json): keep its choices where possible")] = None,
    cancel: Annotated[list[str], typer.Option("--cancel", help="re-plan: cancelled departure key SERVICE@YYYY-MM-DDTHH:MMZ (repeatable)")] = [],  # noqa: B006
    delay: Annotated[list[str], typer.Option("--delay", help="re-plan: KEY=HOURS delayed departure (repeatable)")] = [],  # noqa: B006
    cut: Annotated[list[str], typer.Option("--cut", help="re-plan: KEY=TEU new TEU capacity of a departure (repeatable)")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as one JSON object")] = False,
) -> None:
    """Assign every shipment to a route and departure within capacities; compare with greedy first-come-first-served."""
    with errors_as_exit():
        if not 1 <= horizon_days <= 120:
            raise InvalidInput(f"--horizon-days must be within 1..120 (got {horizon_days})", field="horizon_days")
        if time_limit <= 0:
            raise InvalidInput(f"--time-limit must be positive (got {time_limit:g})", field="time_limit")
        net = load_network()
        load = read_shipments_csv(net, shipments)
        if not load.shipments:
            first = load.errors[0].detail if load.errors else f"{shipments.name}: no shipment rows"
            more = f" (and {len(load.errors) - 1} more bad rows)" if len(load.errors) > 1 else ""
            fail(f"no valid shipment in {shipments.name}: {first}{more}")
        settings = PlanSettings(horizon_days=horizon_days, time_limit_s=time_limit, carbon_price_per_t=carbon_price,
                                late_per_day=late_per_day)
        previous = change = None
        if replan_from is not None:
            prev_doc = json.loads(replan_from.read_text(encoding="utf-8"))
            previous = {sid: a["plan"]["key"] for sid, a in prev_doc.get("assignments", {}).items()}
            cuts = {k: Capacity(teu=int(v)) for k, v in _pairs(cut, "--cut").items()}
            change = Change(cancel=frozenset(cancel), delay_hours=_pairs(delay, "--delay"), capacity=cuts)
        elif cancel or delay or cut:
            raise InvalidInput("--cancel/--delay/--cut need --replan-from PLAN.json", field="replan_from")
        with progress_bar("planning", enabled=not as_json) as progress, native_stdout_to_stderr():
            result = plan_or_replan(net, load.shipments, settings, previous=previous, change=change, errors=load.errors,
                                    progress=progress)
        doc = plan_to_dict(net, result)
    if as_json:
        print_json(doc)
        return
    _print_human(doc, shipments.name)


def _print_human(doc: dict, name: str) -> None:
    s, c, b = doc["summary"], doc["cost"], doc["baseline"]
    sol = doc["solver"]
    console.print(f"[bold]{name}[/]: {s['shipments']} shipments planned — {s['assigned']} assigned "
                  f"({s['consolidated']} consolidated), {s['unassigned']} unassigned, {s['bad_rows']} bad rows")
    console.print(f"cost {c['total']:,.0f} {c['currency']} (freight {c['freight']:,.0f}, lateness {c['lateness']:,.0f}, "
                  f"carbon {c['carbon']:,.0f}; {c['co2e_kg'] / 1000:,.1f} t CO2e)")
    console.print(f"greedy first-come-first-served {b['greedy_total']:,.0f} → saving {b['saving']:,.0f} ({b['saving_pct']:.1f} %)")
    gap = "n/a" if doc["gap"] is None else f"{100 * doc['gap']:.2f} %"
    console.print(f"solver {sol['name']}: {sol['status']}, gap {gap}, {sol['timings_s']['total']:.1f} s")
    if "moved" in doc:
        console.print(f"re-plan: {len(doc['moved'])} shipments moved: {', '.join(doc['moved'][:20])}")
    t = Table(title="assignments (first 15)")
    for col in ("id", "route", "depart", "arrive p50", "late d", "equipment", "cost"):
        t.add_column(col)
    for sid, a in list(doc["assignments"].items())[:15]:
        route = " → ".join([a["legs"][0]["from"]] + [f"{leg['to']}" for leg in a["legs"]])
        main = max(a["legs"], key=lambda leg: leg["distance_km"])
        t.add_row(sid, route, main["depart"][:16], a["arrive_p50"][:16], f"{a['plan']['late_days']:.1f}", main["equipment"],
                  f"{a['cost']['total']:,.0f}")
    console.print(t)
    cap = Table(title="fullest departures")
    for col in ("departure", "unit", "used", "capacity"):
        cap.add_column(col)
    for r in doc["capacity_use"][:8]:
        cap.add_row(r["departure"], r["unit"], f"{r['used']:,.1f}", f"{r['capacity']:,.0f}")
    console.print(cap)
    for u in doc["unassigned"]:
        console.print(f"[yellow]unassigned[/] {u['id']} (row {u['row']}): {u['reason']}", highlight=False)
    for e in doc["errors"]:
        err_console.print(f"[red]bad row[/] {e['row']} field {e['field']}: {e['message']}", highlight=False)
