"""`cbec plan`: plan a batch of shipments against real capacities (and re-plan after a change).

Bad CSV rows are reported (row, field, reason) and the valid rows are planned; the command exits 2
only when no valid row remains (or the header lacks a required column). Every bad input is one
line and exit 2, never a traceback: a file that is not a UTF-8 CSV (binary, a directory, too large),
a ``--replan-from`` that is not a plan JSON, a departure key in ``--cancel``/``--delay``/``--cut``
that does not exist, numbers outside the bounds the API states (api.schemas.plans).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.app import app
from api.cli.common import (
    console,
    err_console,
    errors_as_exit,
    fail,
    print_json,
    progress_bar,
)
from api.schemas.plans import MAX_CARBON_PRICE, MAX_LATE_PER_DAY, MAX_TIME_LIMIT_S
from optimizer.errors import InvalidInput
from optimizer.network import load_network
from optimizer.network.model import Capacity
from optimizer.planning.candidates import TIME_LIMIT_REASON
from optimizer.planning.native_output import native_stdout_to_stderr
from optimizer.planning.planner import PlanSettings, check_plan_size, plan_to_dict
from optimizer.planning.replan import (
    MAX_CAPACITY_TEU,
    Change,
    check_change,
    plan_or_replan,
)
from optimizer.planning.shipments import read_shipments_csv

MAX_PLAN_FILE_BYTES = 256 * 1024 * 1024  # a previous plan's JSON (20,000 assignments with their legs: ~50 MB)
SHOWN_LINES = 50  # unassigned shipments and bad rows printed one by one (the rest counted)


def _show(text: str, limit: int = 60) -> str:
    cut = text[:limit]
    cut = cut if cut.isprintable() else ascii(cut)[1:-1]
    return cut + ("…" if len(text) > limit else "")


def _pairs(values: list[str], flag: str) -> dict[str, float]:
    out = {}
    for v in values:
        key, sep, num = v.rpartition("=")
        try:
            if not sep or not key:
                raise ValueError
            out[key] = float(num)
            if not math.isfinite(out[key]):
                raise ValueError
        except ValueError:
            raise InvalidInput(f"{flag} expects DEPARTURE_KEY=NUMBER (got '{_show(v)}')", field=flag) from None
    return out


def _previous_plan(path: Path) -> dict[str, str]:
    """Shipment id -> plan key of a plan printed by ``cbec plan --json``; InvalidInput naming --replan-from otherwise."""
    flag = "--replan-from"

    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"{flag} {_show(path.name or str(path))}: {why}", field="replan_from")

    try:
        with path.open("rb") as f:
            data = f.read(MAX_PLAN_FILE_BYTES + 1)
    except FileNotFoundError:
        raise bad("file not found") from None
    except IsADirectoryError:
        raise bad("is a directory, not a plan JSON file") from None
    except OSError as exc:
        raise bad(f"cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_PLAN_FILE_BYTES:
        raise bad(f"larger than {MAX_PLAN_FILE_BYTES:,} bytes")
    try:
        doc: Any = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("not a plan JSON file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise bad(f"not a plan JSON file ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise bad("not a plan JSON file (nested too deeply)") from None
    assignments = doc.get("assignments") if isinstance(doc, dict) else None
    if not isinstance(assignments, dict):
        raise bad("not a plan from `cbec plan --json` (no 'assignments' object)")
    previous: dict[str, str] = {}
    for sid, a in assignments.items():
        key = a.get("plan", {}).get("key") if isinstance(a, dict) and isinstance(a.get("plan"), dict) else None
        if not isinstance(key, str):
            raise bad(f"assignment '{_show(sid)}' has no plan.key (not a plan from `cbec plan --json`)")
        previous[sid] = key
    return previous


@app.command("plan")
def plan_cmd(
    shipments: Annotated[Path, typer.Option("--shipments", help="CSV: id,origin,destination,weight_kg,volume_m3,ready_date,due_date[,pieces,cargo_class,customs_mode,value]")],
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="consider departures up to N days after each ready date")] = 21,
    time_limit: Annotated[float, typer.Option("--time-limit", help="time limit of the whole run (candidates, model, solve), seconds, at most 600")] = 60.0,
    carbon_price: Annotated[float, typer.Option("--carbon-price", help="objective price per tonne CO2e")] = 0.0,
    late_per_day: Annotated[float, typer.Option("--late-per-day", help="lateness penalty per shipment-day past due")] = 50.0,
    replan_from: Annotated[Path | None, typer.Option("--replan-from", help="previous plan JSON (from --json): keep its choices where possible")] = None,
    cancel: Annotated[list[str], typer.Option("--cancel", help="re-plan: cancelled departure key SERVICE@YYYY-MM-DDTHH:MMZ (repeatable)")] = [],  # noqa: B006
    delay: Annotated[list[str], typer.Option("--delay", help="re-plan: KEY=HOURS delayed departure (repeatable)")] = [],  # noqa: B006
    cut: Annotated[list[str], typer.Option("--cut", help="re-plan: KEY=TEU new TEU capacity of a departure (repeatable)")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as one JSON object")] = False,
) -> None:
    """Assign every shipment to a route and departure within capacities; compare with greedy first-come-first-served.

    With CBEC_API_URL set, the deployed service plans (POST /v1/plans, a job polled with the same progress bar)."""
    from api.cli.remote import remote

    with errors_as_exit():
        if not 1 <= horizon_days <= 120:
            raise InvalidInput(f"--horizon-days must be within 1..120 (got {horizon_days})", field="horizon_days")
        if not (math.isfinite(time_limit) and 0 < time_limit <= MAX_TIME_LIMIT_S):
            raise InvalidInput(f"--time-limit must be more than 0 and at most {MAX_TIME_LIMIT_S:g} seconds (got {time_limit:g})",
                               field="time_limit")
        for flag, value, top in (("--carbon-price", carbon_price, MAX_CARBON_PRICE), ("--late-per-day", late_per_day, MAX_LATE_PER_DAY)):
            if not (math.isfinite(value) and 0 <= value <= top):
                raise InvalidInput(f"{flag} must be from 0 to {top:,.0f} (got {value:g})", field=flag.lstrip("-").replace("-", "_"))
        if (cancel or delay or cut) and replan_from is None:
            raise InvalidInput("--cancel/--delay/--cut need --replan-from PLAN.json", field="replan_from")
        previous = _previous_plan(replan_from) if replan_from is not None else None
        service = remote()
        if service is not None:  # CBEC_API_URL: the deployed service plans (POST /v1/plans, a job)
            with service:
                doc = _remote_plan(service, shipments, previous, cancel, delay, cut, as_json,
                                   {"horizon_days": horizon_days, "time_limit_s": time_limit,
                                    "carbon_price_per_t": carbon_price, "late_per_day": late_per_day})
        else:
            net = load_network()
            change = None
            if replan_from is not None:
                cuts = {k: Capacity(teu=v) for k, v in _cuts(cut).items()}
                change = Change(cancel=frozenset(cancel), delay_hours=_pairs(delay, "--delay"), capacity=cuts)
                check_change(net, change, cancel="--cancel", delay="--delay", capacity="--cut")
            load = read_shipments_csv(net, shipments)
            if not load.shipments:
                first = load.errors[0].detail if load.errors else f"{shipments.name}: no shipment rows"
                more = f" (and {len(load.errors) - 1} more bad rows)" if len(load.errors) > 1 else ""
                fail(f"no valid shipment in {_show(shipments.name)}: {first}{more}")
            settings = PlanSettings(horizon_days=horizon_days, time_limit_s=time_limit, carbon_price_per_t=carbon_price,
                                    late_per_day=late_per_day)
            check_plan_size(len(load.shipments), settings)
            with progress_bar("planning", enabled=not as_json) as progress, native_stdout_to_stderr():
                result = plan_or_replan(net, load.shipments, settings, previous=previous, change=change, errors=load.errors,
                                        progress=progress)
            doc = plan_to_dict(net, result)
    if as_json:
        print_json(doc)
        return
    _print_human(doc, shipments.name)


def _cuts(cut: list[str]) -> dict[str, int]:
    cuts = {}
    for k, v in _pairs(cut, "--cut").items():
        if not (0 <= v <= MAX_CAPACITY_TEU and v == int(v)):
            raise InvalidInput(f"--cut {_show(k)}: the capacity must be a whole number of TEU from 0 to "
                               f"{MAX_CAPACITY_TEU:,} (got {v:g})", field="cut")
        cuts[k] = int(v)
    return cuts


def _read_text(path: Path) -> str:
    """The CSV file's text for the service (bounded; one line naming the file when it is not UTF-8 text)."""
    from optimizer.planning.shipments import MAX_CSV_CHARS

    with path.open("rb") as f:
        data = f.read(4 * MAX_CSV_CHARS + 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{_show(path.name)}: not a text file (UTF-8)", field="shipments") from None
    if len(data) > 4 * MAX_CSV_CHARS or len(text) > MAX_CSV_CHARS:
        raise InvalidInput(f"{_show(path.name)}: larger than {MAX_CSV_CHARS:,} characters", field="shipments")
    return text


REMOTE_FIELDS = {"csv": "--shipments", "horizon_days": "--horizon-days", "time_limit_s": "--time-limit",
                 "carbon_price_per_t": "--carbon-price", "late_per_day": "--late-per-day", "previous": "--replan-from",
                 "change.cancel": "--cancel", "change.delay_hours": "--delay", "change.capacity_teu": "--cut"}


def _remote_plan(service, shipments: Path, previous: dict[str, str] | None, cancel: list[str], delay: list[str],
                 cut: list[str], as_json: bool, settings: dict[str, Any]) -> dict:
    """The plan from the service: the CSV text, the settings and the re-plan inputs as POST /v1/plans, polled
    with the progress bar; the plan document (what ``plan_to_dict`` gives locally)."""
    from api.cli.remote import RemoteProblem

    body: dict[str, Any] = {"csv": _read_text(shipments), **settings}
    if previous is not None:
        body["previous"] = previous
        body["change"] = {"cancel": list(cancel), "delay_hours": _pairs(delay, "--delay"), "capacity_teu": _cuts(cut)}
    try:
        return service.run_job("/v1/plans", body, "planning", show_progress=not as_json)["result"]
    except RemoteProblem as exc:  # name the file, or the option the field came from, as a local run does
        if exc.detail.startswith("csv, row "):  # no valid row remained
            name = _show(shipments.name)
            exc.detail = f"no valid shipment in {name}: {name}{exc.detail[3:]}"
            raise
        field = (exc.field or "").split("[")[0]
        option = next((o for f, o in REMOTE_FIELDS.items() if field == f or field.startswith(f + ".")), None)
        if option and not exc.detail.startswith(option):
            exc.detail = f"{option}: {exc.detail}"
        raise


def _print_human(doc: dict, name: str) -> None:
    s, c, b = doc["summary"], doc["cost"], doc["baseline"]
    sol = doc["solver"]
    console.print(f"[bold]{escape(name)}[/]: {s['shipments']} shipments planned — {s['assigned']} assigned "
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
        t.add_row(escape(sid), route, main["depart"][:16], a["arrive_p50"][:16], f"{a['plan']['late_days']:.1f}", main["equipment"],
                  f"{a['cost']['total']:,.0f}")
    console.print(t)
    cap = Table(title="fullest departures")
    for col in ("departure", "unit", "used", "capacity"):
        cap.add_column(col)
    for r in doc["capacity_use"][:8]:
        cap.add_row(r["departure"], r["unit"], f"{r['used']:,.1f}", f"{r['capacity']:,.0f}")
    console.print(cap)
    late = sum(1 for u in doc["unassigned"] if u["code"] == "time_limit" and u["reason"] == TIME_LIMIT_REASON)
    if late:
        console.print(f"[yellow]{late:,} shipments were not reached within the time limit "
                      f"({doc['solver']['time_limit_s']:g} s)[/]: raise --time-limit or split the batch", highlight=False)
    for u in doc["unassigned"][:SHOWN_LINES]:
        console.print(f"[yellow]unassigned[/] {escape(u['id'])} (row {u['row']}): {escape(u['reason'])}", highlight=False)
    if len(doc["unassigned"]) > SHOWN_LINES:
        console.print(f"… and {len(doc['unassigned']) - SHOWN_LINES:,} more unassigned (see --json)", highlight=False)
    for e in doc["errors"][:SHOWN_LINES]:
        err_console.print(f"[red]bad row[/] {e['row']} field {e['field']}: {escape(e['message'])}", highlight=False)
    if len(doc["errors"]) > SHOWN_LINES:
        err_console.print(f"… and {len(doc['errors']) - SHOWN_LINES:,} more bad rows (see --json)", highlight=False)
