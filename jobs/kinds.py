"""Job kinds: jobs are data. Each kind is ``run(params, progress) -> result`` registered by name, so that
any process — an in-process worker, a Dask worker on another machine, a process after a restart —
runs a job from its record alone.

``params`` is JSON (everything needed to run the job again); ``progress`` is the job's context: call
it as ``progress(fraction, message)`` (it raises when the job is cancelled), and read
``progress.cancel`` (a ``threading.Event``), ``progress.job_id``, ``progress.network`` and
``progress.settings``. The routers validate a request by building the same inputs the kind builds
(``*_inputs`` below) before a job exists, so a bad request is a 422 at once, never a failed job.

Kinds marked ``isolate`` run in a child process of their own: their solvers (PyVRP, HiGHS, SCIP)
report progress only between phases, so a cancel terminates the process instead of waiting for
the next callback. Simulations isolate their own work (worker processes, or the Dask cluster) and
are cancelled through ``progress.cancel``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optimizer.errors import DataError, InvalidInput
from optimizer.network import Network

RunFn = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    name: str
    run: RunFn
    isolate: bool = False  # run in a child process (cancel = terminate it)
    uses_cluster: bool = False  # waits on tasks of its own on the Dask cluster (secedes from a worker's thread pool)


KINDS: dict[str, Kind] = {}


def register(name: str, run: RunFn, *, isolate: bool = False, uses_cluster: bool = False) -> Kind:
    """Register (or replace) the kind ``name``. Kinds run by other processes must be registered when a module
    they import is imported (Dask workers: ``cbec worker --preload MODULE``)."""
    if not name or len(name) > 32:
        raise ValueError("a job kind is named by 1-32 characters")
    KINDS[name] = kind = Kind(name, run, isolate, uses_cluster)
    return kind


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidInput(f"unknown job kind '{name[:40]}' in this process (known: {', '.join(sorted(KINDS))})",
                           field="kind") from None


# --- plan: optimizer.planning.replan.plan_or_replan ------------------------------------------------

def plan_inputs(net: Network, params: dict[str, Any]):
    """(shipments load, PlanSettings, Change | None) of a plan job; raises the 422 errors of the request."""
    from optimizer.network.model import Capacity
    from optimizer.planning.planner import PlanSettings, check_plan_size
    from optimizer.planning.replan import Change, check_change
    from optimizer.planning.shipments import read_rows, read_shipments_text

    rows, csv = params.get("rows"), params.get("csv")
    if (rows is None) == (csv is None):
        raise DataError("request", None, "shipments", "give exactly one of 'shipments' (rows) or 'csv' (text)")
    if csv is not None:
        load = read_shipments_text(net, csv, "csv")
    else:
        load = read_rows(net, [(int(i), row) for i, row in rows], "shipments")
    if not load.shipments:
        where = "csv" if csv is not None else "shipments"
        first = load.errors[0] if load.errors else DataError(where, None, where, "no shipment rows")
        raise DataError(first.file, first.row, first.field,
                        first.detail.split(": ", 1)[-1] + (f" (and {len(load.errors) - 1} more bad rows)" if len(load.errors) > 1 else ""))
    settings = PlanSettings(**params["settings"])
    check_plan_size(len(load.shipments), settings)
    change = None
    if params.get("change") is not None:
        c = params["change"]
        change = Change(cancel=frozenset(c.get("cancel", ())), delay_hours=dict(c.get("delay_hours", {})),
                        capacity={k: Capacity(teu=v) for k, v in c.get("capacity_teu", {}).items()})
        check_change(net, change)
    return load, settings, change


def run_plan(params: dict[str, Any], progress: Any) -> dict[str, Any]:
    from optimizer.planning.planner import plan_to_dict
    from optimizer.planning.replan import plan_or_replan

    net = progress.network
    load, settings, change = plan_inputs(net, params)
    inbound = params.get("inbound") or None  # warehouse -> ISO day -> m³ (shared-warehouse bookings and offers)
    result = plan_or_replan(net, load.shipments, settings, previous=params.get("previous"), change=change,
                            errors=load.errors, progress=progress, inbound=inbound)
    doc = plan_to_dict(net, result)
    if inbound:
        doc["warehouse_inbound"] = {"source": "the organisation's bookings, else the open offers' free space",
                                    "warehouses": sorted(inbound)}
    return doc


# --- warehouse design: optimizer.warehouses.design / facility ----------------------------------------

def design_inputs(net: Network, params: dict[str, Any]) -> Callable[[Any], dict[str, Any]]:
    """The design job's solve, ready to run (``solve(progress) -> result``); raises the request's 422 errors."""
    from optimizer.warehouses.design import (
        DesignSettings,
        SiteTerms,
        check_settings,
        demand_rows,
        design_shared_network,
        with_settings,
    )
    from optimizer.warehouses.facility import DesignOptions, solve_design
    from optimizer.warehouses.orlib import parse_orlib_cap

    options = DesignOptions(**params["options"])
    orlib = params.get("orlib")
    if orlib is not None:
        problem = parse_orlib_cap(orlib["text"], orlib["name"], orlib.get("capacity"))
        return lambda progress: solve_design(problem, options, progress=progress).to_dict()
    rows = demand_rows(net, params.get("demand"))
    settings = with_settings(DesignSettings(), max_days=params.get("max_days"), carbon_price=params.get("carbon_price"))
    check_settings(settings)
    offers = params.get("offers")  # shared-warehouse offers: warehouse -> space and prices (api.routers.warehouses_design)
    sites = None if not offers else {w: SiteTerms(**terms) for w, terms in offers["sites"].items()}

    def solve(progress: Any) -> dict[str, Any]:
        doc = design_shared_network(net, rows, settings, options, progress=progress, sites=sites).to_dict()
        if offers:
            doc["offers"] = offers
        return doc

    return solve


def run_design(params: dict[str, Any], progress: Any) -> dict[str, Any]:
    return design_inputs(progress.network, params)(progress)


# --- pickup plan: optimizer.pickups ----------------------------------------------------------------

def pickup_inputs(net: Network, params: dict[str, Any]):
    """The routing problem of a pickup job, checked (infeasible windows or loads are a 422 now)."""
    from optimizer.pickups.stops import (
        DEFAULT_FLEET,
        Vehicle,
        build_problem,
        parse_stops,
    )
    from optimizer.pickups.vrptw import check_problem

    stops = parse_stops(params["stops"], "stops")
    fleet = tuple(Vehicle(**v) for v in params["vehicles"]) if params.get("vehicles") else DEFAULT_FLEET
    problem = build_problem(net, stops, params["depot"], kind=params.get("kind"), fleet=fleet,
                            speed_kmh=params["speed_kmh"])
    check_problem(problem)
    return problem


def run_pickups(params: dict[str, Any], progress: Any) -> dict[str, Any]:
    from optimizer.pickups.vrptw import solve_routing

    problem = pickup_inputs(progress.network, params)
    return solve_routing(problem, time_limit=params["time_limit_s"], seed=params["seed"], progress=progress).to_dict()


# --- simulation: simulation.experiment.run_experiment -----------------------------------------------

def run_simulation(params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Replications, route quotes and plots run in worker processes (or on the Dask cluster), never in the
    process running the job; plots go to ``var_dir/simulations/{job id}/``."""
    from simulation.experiment import run_experiment
    from simulation.scenario import parse_scenario

    sources = params["sources"]
    scenarios = [parse_scenario(doc, src) for doc, src in zip(params["scenarios"], sources, strict=True)]
    settings = progress.settings
    plots = bool(params.get("plots"))
    out_dir = Path(settings.var_dir) / "simulations" / progress.job_id
    exp = run_experiment(scenarios, params["replications"], seed=params["seed"], workers=params.get("workers"),
                         scheduler=settings.dask_scheduler or "", progress=progress, plots_dir=out_dir if plots else None,
                         plot_format=params.get("plot_format", "png"), isolate=True, cancel=progress.cancel, sources=sources)
    if plots:
        for run in exp.runs:
            run.report["plots"] = [p.name for p in run.plots]
    result: dict[str, Any] = {"report": exp.runs[-1].report}
    if exp.comparison is not None:
        result["baseline_report"] = exp.runs[0].report
        result["comparison"] = exp.comparison
        if plots:
            exp.comparison["plots"] = [p.name for p in exp.comparison_plots]
    return result


register("plan", run_plan, isolate=True)
register("warehouse-design", run_design, isolate=True)
register("pickup-plan", run_pickups, isolate=True)
register("simulation", run_simulation, uses_cluster=True)
