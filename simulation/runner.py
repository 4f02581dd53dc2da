"""Replications in parallel: a local process pool by default, a Dask cluster when CBEC_DASK_SCHEDULER is set.

Each task receives only ``(scenario document, replication index)``, builds its network variant
and model inside the worker (nothing SimPy is ever pickled) and returns the replication's KPI
summary (flat KPIs, daily series, histograms: a few hundred kB). Seeds depend on (scenario seed,
replication index) only, so serial, pooled and Dask runs give identical numbers.

Isolation and bounds (what a server needs):

- with ``isolate=True`` (the default, and what the API uses) no replication runs in the calling
  process, not even a single one: the route quotes and every replication run in worker processes
  (or on the Dask cluster), so the caller's memory stays flat and its threads stay responsive;
- a run's pool lives as long as the run: when it ends its processes exit and their memory goes
  back to the system;
- local worker processes are capped at this machine's cores (:func:`local_cores`), per run and
  for all runs of this process together (a run waits for a free slot); ``workers`` asks for fewer,
  never for more. With a Dask scheduler the cluster decides and ``workers`` is ignored;
- a run stops at once when its ``cancel`` event is set, when ``progress`` raises (it is called at
  least every :data:`HEARTBEAT_S` while waiting, so a job system can cancel by raising from it) or
  when :func:`shutdown` is called: its worker processes are terminated, Dask tasks cancelled, and
  :class:`SimulationCancelled` is raised. Workers also die with the process that started them
  (a watchdog thread in each, plus the parent-death signal of the fork server on Linux), so even
  ``kill -9`` of a server leaves no simulation running for more than about a second.

Hooks for a server: :func:`shutdown` (stop everything now; call it on SIGTERM/SIGINT after the job
runner stops taking jobs), :func:`active_worker_pids` (what is running), :func:`local_cores`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from optimizer.errors import CbecError, InvalidInput
from optimizer.network import Network, load_network
from optimizer.network.progress import ProgressFn
from optimizer.processes import die_with_owner
from simulation import limits as L
from simulation.chain import ChainModel
from simulation.kpis import replication_result, report
from simulation.scenario import Scenario, build_network, check_against, parse_scenario

HEARTBEAT_S = 0.5  # how often a waiting run checks for cancellation (and calls progress)
_NETS: dict[str, Network] = {}


class SimulationCancelled(CbecError):
    """The run was cancelled (its job, or the service shutting down); its worker processes are stopped."""

    status = 409
    title = "Simulation cancelled"


# --- the worker side -------------------------------------------------------------------------------

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
    cold route cache; without it the worker quotes them itself, with identical results. The result
    carries the ``pid`` of the process that ran it.
    """
    from simulation.route_choice import install

    install(routes)
    sc = parse_scenario(doc, doc.get("name", "scenario"))
    model = ChainModel(sc, scenario_network(sc, data_dir), replication)
    out = replication_result(model.run())
    out["pid"] = os.getpid()
    return out


def route_table_task(doc: dict[str, Any], data_dir: str | None = None) -> list:
    """The scenario's route table (every flow, every ready-time bucket of a week), computed where it runs."""
    from simulation.route_choice import route_table

    sc = parse_scenario(doc, doc.get("name", "scenario"))
    return route_table(scenario_network(sc, data_dir), sc)


def _worker_init(owner: int) -> None:
    """In each local worker: die with the process that started the run (``owner``), leave Ctrl-C to it.

    A worker's parent is the fork server, which exits when ``owner`` dies, once no one else holds
    its "alive" pipe: so the worker lets go of the copy it inherited, and asks the kernel for SIGKILL
    when the fork server exits (Linux). A watchdog thread covers other systems and zombies.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_owner(owner, every_s=HEARTBEAT_S, watchdog="cbec-sim-watchdog")


# --- local process slots, live runs, shutdown ------------------------------------------------------

def local_cores() -> int:
    """Cores this process may use (affinity-aware ``os.cpu_count()``): the cap on local worker processes."""
    n = os.cpu_count() or 1
    try:
        n = min(n, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        pass
    return max(1, n)


def effective_workers(workers: int | None, replications: int) -> int:
    """Local worker processes a run of ``replications`` uses: ``workers`` (default: all cores), capped at the
    cores and at the replications; never below 1. ``workers`` above :data:`limits.MAX_WORKERS` is an error."""
    if workers is not None and not 1 <= workers <= L.MAX_WORKERS:
        raise InvalidInput(f"workers must be between 1 and {L.MAX_WORKERS} (got {workers}); at most "
                           f"{local_cores()} are used on this machine", field="workers", limit=L.MAX_WORKERS)
    return max(1, min(workers or local_cores(), local_cores(), replications))


class _Slots:
    """Worker-process slots shared by every run of this process: at most :func:`local_cores` live workers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._used = 0

    def acquire(self, want: int, stopped: Callable[[], bool], waiting: Callable[[], None]) -> int:
        with self._cond:
            while self._used >= local_cores():
                if stopped():
                    raise SimulationCancelled("the simulation was cancelled while waiting for a worker process")
                waiting()
                self._cond.wait(HEARTBEAT_S)
            k = max(1, min(want, local_cores() - self._used))
            self._used += k
            return k

    def release(self, k: int) -> None:
        with self._cond:
            self._used = max(0, self._used - k)
            self._cond.notify_all()

    @property
    def used(self) -> int:
        return self._used


_SLOTS = _Slots()
_LOCK = threading.Lock()
_POOLS: set[ProcessPoolExecutor] = set()
_CLIENTS: set[Any] = set()
_EPOCH = 0  # bumped by shutdown(): runs started before it stop


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: queued tasks dropped, running workers terminated (then killed), all reaped."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 2.0
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)
    _unblock_manager(pool)


def _unblock_manager(pool: ProcessPoolExecutor, wait_s: float = 0.5) -> None:
    """A worker killed while writing a (large) result leaves the pool's manager thread reading half a message
    forever, and the interpreter then hangs at exit joining it. Closing our end of the result pipe's writer (the
    workers' ends died with them) turns that read into EOF: the manager marks the pool broken and exits."""
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is None:
        return
    manager.join(wait_s)
    if manager.is_alive():
        writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass
        manager.join(wait_s)


def active_worker_pids() -> list[int]:
    """Pids of the local worker processes of the runs in progress (for tests and operators)."""
    with _LOCK:
        pools = list(_POOLS)
    return sorted(pid for pool in pools for pid in (getattr(pool, "_processes", None) or {}))


def shutdown() -> None:
    """Stop every simulation of this process now: runs in progress raise :class:`SimulationCancelled`, their
    worker processes are terminated, Dask tasks cancelled, and the fork server exits. Call it from the
    server's shutdown (after the job runner stops taking jobs); later runs start afresh."""
    global _EPOCH
    with _LOCK:
        _EPOCH += 1
        pools, clients = list(_POOLS), list(_CLIENTS)
    for pool in pools:
        _terminate(pool)
    for client in clients:
        try:
            client.close(timeout=2)
        except Exception:  # noqa: BLE001 - best effort: the cluster may already be gone
            pass
    _stop_forkserver()


def _stop_forkserver(timeout: float = 2.0) -> None:
    """Ask the fork server (started on first use) to exit; never waits longer than ``timeout``."""
    with _LOCK:
        if _POOLS:
            return  # a run started meanwhile uses it

    def stop() -> None:
        try:
            from multiprocessing import forkserver

            forkserver._forkserver._stop()
        except Exception:  # noqa: BLE001 - private API: on failure it still exits with this process
            pass

    t = threading.Thread(target=stop, name="cbec-forkserver-stop", daemon=True)
    t.start()
    t.join(timeout)


class _Watch:
    """A run's stop conditions and heartbeat: cancel event, shutdown, and whatever ``progress`` raises."""

    def __init__(self, progress: ProgressFn, cancel: threading.Event | None) -> None:
        self.progress = progress
        self.cancel = cancel
        self.epoch = _EPOCH
        self.fraction, self.message = 0.0, ""
        self._beat = time.monotonic()

    def stopped(self) -> bool:
        return (self.cancel is not None and self.cancel.is_set()) or self.epoch != _EPOCH

    def report(self, fraction: float, message: str) -> None:
        self.fraction, self.message = fraction, message
        self._beat = time.monotonic()
        self.progress(fraction, message)

    def beat(self) -> None:
        """Raise if stopped; call ``progress`` again (unchanged) when it has not been called for a while."""
        if self.stopped():
            raise SimulationCancelled("the simulation was cancelled")
        if time.monotonic() - self._beat >= HEARTBEAT_S:
            self.report(self.fraction, self.message)


# --- runs ------------------------------------------------------------------------------------------

def run_replications(
    sc: Scenario,
    replications: int | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
    data_dir: str | None = None,
    isolate: bool = True,
    cancel: threading.Event | None = None,
) -> list[dict[str, Any]]:
    """Run ``replications`` (default: the scenario's) and return their results ordered by replication.

    ``scheduler`` (default ``CBEC_DASK_SCHEDULER``) selects a Dask cluster; otherwise up to ``workers``
    local processes (default and cap: :func:`local_cores`). With ``isolate`` false a run that would use
    one worker runs in this process instead (the CLI: the user's own process); with ``isolate`` true
    (the default) nothing runs here. ``cancel``: see the module docstring.
    """
    from optimizer.settings import get_settings

    n = replications or sc.replications
    if not 1 <= n <= L.MAX_REPLICATIONS:
        raise InvalidInput(f"replications must be between 1 and {L.MAX_REPLICATIONS} (got {n})", field="replications",
                           limit=L.MAX_REPLICATIONS)
    w = effective_workers(workers, n)
    doc = sc.to_doc()
    watch = _Watch(progress or (lambda f, m="": None), cancel)
    scheduler = scheduler if scheduler is not None else get_settings().dask_scheduler
    if scheduler:
        return _run_dask(doc, n, scheduler, watch, data_dir)
    watch.report(0.0, f"{sc.name}: 0/{n} replications")
    if w == 1 and not isolate:
        out: list[dict[str, Any]] = []
        for i in range(n):
            watch.beat()
            out.append(replicate(doc, i, data_dir))
            watch.report((i + 1) / n, f"{sc.name}: {i + 1}/{n} replications")
        return out
    return _run_pool(doc, n, w, watch, data_dir)


def _wait(futures: set[Future], watch: _Watch) -> set[Future]:
    """The futures done so far (at least one), checking for cancellation every heartbeat."""
    while True:
        done, _ = wait(futures, timeout=HEARTBEAT_S, return_when=FIRST_COMPLETED)
        if done:
            return done
        watch.beat()


@contextmanager
def _pool(want: int, watch: _Watch, waiting: str = "") -> Iterator[ProcessPoolExecutor]:
    """A fresh pool of up to ``want`` workers (slots permitting), registered for :func:`shutdown`.

    Leaving normally joins the workers (they exit: their memory goes back to the system); leaving by
    an exception (cancellation, a failed task, Ctrl-C) terminates them."""
    k = _SLOTS.acquire(want, watch.stopped, lambda: watch.report(watch.fraction, waiting) if waiting else None)
    try:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["simulation.runner"])  # workers start with the model already imported
        with _LOCK:
            if watch.stopped():
                raise SimulationCancelled("the simulation was cancelled")
            pool = ProcessPoolExecutor(max_workers=k, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))
            _POOLS.add(pool)
        try:
            yield pool
            pool.shutdown(wait=True)
        except BaseException as exc:
            _terminate(pool)
            if watch.stopped() and not isinstance(exc, SimulationCancelled):
                # shutdown() terminated the workers under a task: report the cause, not the broken pool
                raise SimulationCancelled("the simulation was cancelled (the service is shutting down)") from None
            raise
        finally:
            with _LOCK:
                _POOLS.discard(pool)
    finally:
        _SLOTS.release(k)


def _run_pool(doc: dict[str, Any], n: int, workers: int, watch: _Watch, data_dir: str | None) -> list[dict[str, Any]]:
    name = doc["name"]
    with _pool(workers, watch, f"{name}: waiting for a free worker process") as pool:
        # quote the routes once, in a worker (also fails fast on a flow without a route)
        routes = _wait({pool.submit(route_table_task, doc, data_dir)}, watch).pop().result()
        futures = {pool.submit(replicate, doc, i, data_dir, routes): i for i in range(n)}
        out: dict[int, dict[str, Any]] = {}
        pending = set(futures)
        while pending:
            for fut in _wait(pending, watch):
                pending.discard(fut)
                out[futures[fut]] = fut.result()
                watch.report(len(out) / n, f"{name}: {len(out)}/{n} replications")
    return [out[i] for i in range(n)]


def _run_dask(doc: dict[str, Any], n: int, address: str, watch: _Watch, data_dir: str | None) -> list[dict[str, Any]]:
    from dask.distributed import Client

    name = doc["name"]
    client = Client(address, timeout="20s")
    with _LOCK:
        _CLIENTS.add(client)
    futures: list[Any] = []
    try:
        tag = f"{name}-{os.getpid()}-{id(doc)}-{time.monotonic_ns()}"
        routes_f = client.submit(route_table_task, doc, data_dir, pure=False, key=f"sim-routes-{tag}")
        futures.append(routes_f)
        futures += [client.submit(replicate, doc, i, data_dir, routes_f, pure=False, key=f"sim-{tag}-{i}") for i in range(n)]
        index = {f.key: i for i, f in enumerate(futures[1:])}
        out: dict[int, dict[str, Any]] = {}
        pending = set(futures[1:])
        watch.report(0.0, f"{name}: 0/{n} replications (dask)")
        while pending:
            done = _dask_done(pending)
            for fut in done:
                pending.discard(fut)
                out[index[fut.key]] = fut.result()
                watch.report(len(out) / n, f"{name}: {len(out)}/{n} replications (dask)")
            if not done:
                watch.beat()
        return [out[i] for i in range(n)]
    except BaseException:
        try:
            client.cancel(futures)
        except Exception:  # noqa: BLE001 - the client may be closed by shutdown() already
            pass
        raise
    finally:
        with _LOCK:
            _CLIENTS.discard(client)
        client.close()


def _dask_done(pending: set[Any]) -> set[Any]:
    """The futures done within one heartbeat (possibly none)."""
    deadline = time.monotonic() + HEARTBEAT_S
    while True:
        done = {f for f in pending if f.done()}
        if done or time.monotonic() >= deadline:
            return done
        time.sleep(0.02)


def simulate(
    sc: Scenario,
    replications: int | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
    isolate: bool = True,
    cancel: threading.Event | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run a scenario: (report with KPIs and 95 % CIs, raw replication results for plots/comparison)."""
    n = replications or sc.replications
    results = run_replications(sc, n, workers=workers, scheduler=scheduler, progress=progress, isolate=isolate,
                               cancel=cancel)
    meta = {"description": sc.description, "replications": n, "seed": sc.seed, "start": sc.start.isoformat(),
            "horizon_days": sc.horizon_days, "warmup_days": sc.warmup_days,
            "confidence": "95 % Student t over independent replications, warm-up removed"}
    return report(results, sc.name, meta), results


def run_isolated(fn: Callable[..., Any], *args: Any, cancel: threading.Event | None = None,
                 progress: ProgressFn | None = None) -> Any:
    """``fn(*args)`` in a one-off worker process (a slot of the local cap), cancellable like a run.

    For work after the replications that should not load the caller either (plots)."""
    watch = _Watch(progress or (lambda f, m="": None), cancel)
    with _pool(1, watch) as pool:
        result = _wait({pool.submit(fn, *args)}, watch).pop().result()
    return result
