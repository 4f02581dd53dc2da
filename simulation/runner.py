"""Replications in parallel: a local process pool by default, a Dask cluster when CBEC_DASK_SCHEDULER is set.

Each task receives only ``(scenario document, replication index)``, builds its network variant
and model inside the worker (nothing SimPy is ever pickled) and returns the replication's KPI
summary (flat KPIs, daily series, histograms: a few tens of kB). Seeds depend on (scenario seed,
replication index) only, so serial, pooled and Dask runs give identical numbers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from optimizer.network import Network, load_network
from optimizer.network.progress import ProgressFn
from simulation.chain import ChainModel
from simulation.kpis import replication_result, report
from simulation.scenario import Scenario, build_network, check_against, parse_scenario

_NETS: dict[str, Network] = {}


def scenario_network(sc: Scenario, data_dir: str | None = None) -> Network:
    """The scenario's network variant, cached per process (workers run many replications)."""
    from simulation.route_choice import network_key

    key = f"{data_dir}|{network_key(sc)}|{sorted((k, v.capacity_m3) for k, v in sc.warehouses.items())}"
    net = _NETS.get(key)
    if net is None:
        base = load_network(data_dir)
        check_against(sc, base, sc.name)
        net = _NETS[key] = build_network(sc, base)
    return net


def replicate(doc: dict[str, Any], replication: int, data_dir: str | None = None,
              routes: list | None = None) -> dict[str, Any]:
    """One replication: the task every executor runs. Returns the replication result (no SimPy objects).

    ``routes`` (from :func:`simulation.route_choice.route_table`) spares each worker the ~250 quotes of a
    cold route cache; without it the worker quotes them itself, with identical results.
    """
    from simulation.route_choice import install

    install(routes)
    sc = parse_scenario(doc, doc.get("name", "scenario"))
    model = ChainModel(sc, scenario_network(sc, data_dir), replication)
    return replication_result(model.run())


def _default_workers(n: int) -> int:
    return max(1, min(n, os.cpu_count() or 1))


def run_replications(
    sc: Scenario,
    replications: int | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
    data_dir: str | None = None,
) -> list[dict[str, Any]]:
    """Run ``replications`` (default: the scenario's) and return their results ordered by replication.

    ``scheduler`` (default ``CBEC_DASK_SCHEDULER``) selects a Dask cluster; otherwise ``workers``
    processes (default: one per core; 1 runs in this process).
    """
    from optimizer.settings import get_settings

    n = replications or sc.replications
    doc = sc.to_doc()
    progress = progress or (lambda f, m="": None)
    scheduler = scheduler if scheduler is not None else get_settings().dask_scheduler
    if scheduler:
        return _run_dask(doc, n, scheduler, progress, data_dir, _routes(sc, data_dir))
    workers = workers or _default_workers(n)
    out: dict[int, dict[str, Any]] = {}
    progress(0.0, f"{sc.name}: 0/{n} replications")
    if workers <= 1 or n == 1:
        for i in range(n):
            out[i] = replicate(doc, i, data_dir)
            progress((i + 1) / n, f"{sc.name}: {i + 1}/{n} replications")
        return [out[i] for i in range(n)]
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["simulation.runner"])  # workers start with the model already imported
    routes = _routes(sc, data_dir)  # quote once here (and fail fast on a flow without a route)
    with ProcessPoolExecutor(max_workers=min(workers, n), mp_context=ctx) as pool:
        futures = {pool.submit(replicate, doc, i, data_dir, routes): i for i in range(n)}
        for k, fut in enumerate(as_completed(futures), 1):
            out[futures[fut]] = fut.result()
            progress(k / n, f"{sc.name}: {k}/{n} replications")
    return [out[i] for i in range(n)]


def _routes(sc: Scenario, data_dir: str | None) -> list:
    from simulation.route_choice import route_table

    return route_table(scenario_network(sc, data_dir), sc)


def _run_dask(doc: dict[str, Any], n: int, address: str, progress: ProgressFn, data_dir: str | None,
              routes: list) -> list[dict[str, Any]]:
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    with Client(address, timeout="20s") as client:
        routes_f = client.scatter(routes, broadcast=True)
        futures = [client.submit(replicate, doc, i, data_dir, routes_f, pure=False, key=f"sim-{doc['name']}-{i}-{os.getpid()}-{id(doc)}")
                   for i in range(n)]
        index = {f.key: i for i, f in enumerate(futures)}
        out: dict[int, dict[str, Any]] = {}
        for k, fut in enumerate(dask_completed(futures), 1):
            out[index[fut.key]] = fut.result()
            progress(k / n, f"{doc['name']}: {k}/{n} replications (dask)")
    return [out[i] for i in range(n)]


def simulate(
    sc: Scenario,
    replications: int | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run a scenario: (report with KPIs and 95 % CIs, raw replication results for plots/comparison)."""
    n = replications or sc.replications
    results = run_replications(sc, n, workers=workers, scheduler=scheduler, progress=progress)
    meta = {"description": sc.description, "replications": n, "seed": sc.seed, "start": sc.start.isoformat(),
            "horizon_days": sc.horizon_days, "warmup_days": sc.warmup_days,
            "confidence": "95 % Student t over independent replications, warm-up removed"}
    return report(results, sc.name, meta), results
