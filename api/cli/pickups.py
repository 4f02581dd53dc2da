"""`cbec pickups solve`: first-mile pickup / last-mile delivery routing (VRPTW, PyVRP)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, errors_as_exit, fail, print_json
from api.cli.quote import option_names
from optimizer.network import load_network
from optimizer.pickups.limits import SEED, SPEED_KMH, TIME_LIMIT_S
from optimizer.pickups.stops import (
    DEFAULT_FLEET,
    build_problem,
    hhmm,
    load_fleet,
    load_stops,
)
from optimizer.pickups.vrplib_reader import read_sol_cost, read_vrplib
from optimizer.pickups.vrptw import solve_routing

OPTIONS = {"speed_kmh": "--speed", "time_limit": "--time-limit", "seed": "--seed", "depot": "--depot", "stops": "--stops",
           "vehicles": "--vehicles"}
pickups_app = typer.Typer(help="Pickup and delivery routing: first mile around Mianyang, last mile from an overseas warehouse.",
                          no_args_is_help=True)
app.add_typer(pickups_app, name="pickups")


@pickups_app.command("solve")
def solve_cmd(
    vrplib: Annotated[Path | None, typer.Option("--vrplib", help="a VRPLIB (Solomon) instance; DIMACS rounding")] = None,
    stops: Annotated[Path | None, typer.Option("--stops", help="stops CSV: id, name, lat, lon, kg, m3, window_start, window_end, service_min")] = None,
    depot: Annotated[str, typer.Option("--depot", help="MY_CBZ or CD_RAILPORT (pickups) or WH_* (deliveries)")] = "MY_CBZ",
    vehicles: Annotated[Path | None, typer.Option("--vehicles", help="fleet CSV: name, count, kg, m3, fixed_cost, cost_per_km")] = None,
    speed: Annotated[float, typer.Option("--speed", help=f"average road speed, {SPEED_KMH.describe()}")] = 40.0,
    time_limit: Annotated[float, typer.Option("--time-limit", help=f"seconds of search, {TIME_LIMIT_S.describe()}")] = 5.0,
    seed: Annotated[int, typer.Option(help=f"random seed, {SEED.describe()}")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
) -> None:
    """Vehicle routes meeting windows, weight and volume capacities and the fleet limit, at least distance/cost."""
    if (vrplib is None) == (stops is None):
        fail("give exactly one of --vrplib FILE or --stops FILE.csv")
    best_known = None
    with errors_as_exit(), option_names(OPTIONS):
        SPEED_KMH.check(speed, "speed_kmh", "speed")  # every bound before any file is read
        TIME_LIMIT_S.check(time_limit, "time_limit", "time limit")
        SEED.check(seed, "seed")
        if vrplib is not None:
            problem = read_vrplib(vrplib)
            sol = vrplib.with_suffix(".sol")
            best_known = read_sol_cost(sol) if sol.exists() else None
        else:
            net = load_network()
            fleet = load_fleet(vehicles) if vehicles else DEFAULT_FLEET
            problem = build_problem(net, load_stops(stops), depot, fleet=fleet, speed_kmh=speed, name=stops.stem)
        result = solve_routing(problem, time_limit=time_limit, seed=seed)
    doc = result.to_dict()
    if best_known is not None:
        doc["best_known"] = best_known
        doc["gap_pct"] = round((result.distance - best_known) / best_known * 100, 4)
    if as_json:
        print_json(doc)
        return
    clock = stops is not None
    unit = "km" if clock else "units"
    head = f"[bold]{result.name}[/]: {result.vehicles} vehicles, distance {result.distance:,.1f} {unit}"
    if clock:
        head += f", cost {result.cost:,.2f} {net.currency}"
    if best_known is not None:
        head += f" (best known {best_known:,.1f}, gap {doc['gap_pct']:.3f} %)"
    console.print(head + f", {result.solve_seconds:.1f} s")
    table = Table()
    for col in ("#", "vehicle", "stops", "load", unit, "start", "end"):
        table.add_column(col)
    for k, r in enumerate(result.routes, 1):
        load = ", ".join(f"{v:g} {d}" for d, v in r.load.items())
        table.add_row(str(k), r.vehicle, " → ".join(r.stops), load, f"{r.distance:,.1f}",
                      hhmm(r.start) if clock else str(r.start), hhmm(r.end) if clock else str(r.end))
    console.print(table)
