"""Running one claimed job, wherever it runs (an in-process worker thread, a Dask worker's task).

- :class:`Execution` is the job's context: ``progress(fraction, message)`` (raises once the job must
  stop), ``cancel`` (a ``threading.Event``), ``job_id``, ``network``, ``settings``.
- :class:`Supervisor` (one per process and database) writes progress and heartbeats of the runs of
  its process in one transaction per tick (every :data:`TICK_S`; progress at most that often, the
  heartbeat every ``job_heartbeat_s``) and reads their cancel flags: a cancel requested through any
  API process reaches the run within about a second.
- :func:`run_record` runs the kind (in a child process for ``isolate`` kinds) and writes the end:
  ``succeeded`` with the result, ``failed`` with a problem (never a traceback), ``cancelled``, or back
  to ``queued`` when this process stops under it.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from typing import Any

from jobs.kinds import Kind, get_kind
from jobs.records import JobRecord, JobStore, cancelled_problem, problem_of
from optimizer.errors import CbecError
from optimizer.processes import die_with_owner

log = logging.getLogger("cbec.jobs")
TICK_S = 0.5  # progress writes and cancel checks
CHILD_STOP_S = 2.0  # terminate -> kill of an isolated job's process
# imported once by the fork server (when it is started for a job), not again by each job's process
PRELOAD = ["jobs.kinds", "simulation.runner", "optimizer.planning.replan", "optimizer.planning.planner",
           "optimizer.warehouses.design", "optimizer.pickups.vrptw", "pyvrp"]


class JobCancelled(CbecError):
    """The job was cancelled at its owner's request."""

    status = 409
    title = "Job cancelled"


class JobStopped(Exception):
    """This run must stop: the process is shutting down, or another worker holds the job now."""


class RemoteProblem(CbecError):
    """A domain error raised in an isolated job's process, carried back as its problem."""

    def __init__(self, problem: dict[str, Any]) -> None:
        super().__init__(str(problem.get("detail", "")), field=problem.get("field"))
        self.status = int(problem.get("status", 500))
        self.title = str(problem.get("title", "Error"))


class Execution:
    """One run of one job: its progress callback and stop conditions."""

    def __init__(self, record: JobRecord, worker: str, network: Any, settings: Any) -> None:
        self.record = record
        self.job_id = record.id
        self.worker = worker
        self.network = network
        self.settings = settings
        self.cancel = threading.Event()
        self.reason: str | None = None  # cancelled | interrupted | lost
        self._lock = threading.Lock()
        self._fraction: float | None = None
        self._message: str | None = None
        self._dirty = False
        self.last_write = time.monotonic()
        self.child: Any = None

    # the progress callback of the kind
    def __call__(self, fraction: float, message: str = "") -> None:
        with self._lock:
            self._fraction = fraction
            if message:
                self._message = message
            self._dirty = True
        if self.cancel.is_set():
            raise self.stop_error()

    def stop_error(self) -> Exception:
        if self.reason == "cancelled":
            return JobCancelled(f"job {self.job_id} was cancelled at its owner's request")
        return JobStopped(self.reason or "stopped")

    def stop(self, reason: str) -> None:
        """Stop the run (the first reason wins): the next progress call raises, an isolated process is terminated."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
        self.cancel.set()
        child = self.child
        if child is not None:
            _stop_child(child)

    def take_update(self, heartbeat_s: float) -> tuple[float | None, str | None] | None:
        """Progress to write now (or a bare heartbeat), None when nothing is due."""
        now = time.monotonic()
        with self._lock:
            if not self._dirty and now - self.last_write < heartbeat_s:
                return None
            self._dirty = False
            self.last_write = now
            return self._fraction, self._message


class Supervisor:
    """Heartbeats, progress and cancel flags of the runs of this process on one database."""

    def __init__(self, store: JobStore, heartbeat_s: float) -> None:
        self.store = store
        self.heartbeat_s = heartbeat_s
        self._runs: dict[str, Execution] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, exe: Execution) -> None:
        with self._lock:
            self._runs[exe.job_id] = exe
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="cbec-job-supervisor", daemon=True)
                self._thread.start()

    def remove(self, exe: Execution) -> None:
        with self._lock:
            if self._runs.get(exe.job_id) is exe:
                del self._runs[exe.job_id]

    def runs(self) -> list[Execution]:
        with self._lock:
            return list(self._runs.values())

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(TICK_S)
            if self._closed:
                break
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - the database may be away for a while: keep trying
                log.warning("job heartbeat failed: %s", str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)

    def tick(self) -> None:
        runs = self.runs()
        if not runs:
            return
        updates = []
        for exe in runs:
            due = exe.take_update(self.heartbeat_s)
            if due is not None:
                updates.append((exe.job_id, exe.worker, due[0], due[1]))
        lost, cancel = self.store.beat(updates)
        # cancel flags of every run (also those without an update this tick)
        rest = [exe.job_id for exe in runs if exe.job_id not in {u[0] for u in updates}]
        if rest:
            cancel |= self.store.cancel_requested(rest)
        for exe in runs:
            if exe.job_id in lost:
                exe.stop("lost")
            elif exe.job_id in cancel:
                exe.stop("cancelled")


# --- isolated kinds: a child process per run --------------------------------------------------------

def _child_init(owner: int) -> None:
    """In the job's process: die with the process that started it (forkserver alive pipe released,
    PR_SET_PDEATHSIG on Linux, a watchdog elsewhere); leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_owner(owner, every_s=TICK_S, name=b"cbec-job", watchdog="cbec-job-watchdog")


class _ChildContext:
    """The context of a kind in its own process: progress goes back through the pipe (at most every 0.2 s)."""

    def __init__(self, conn: Any, job_id: str, network: Any, settings: Any) -> None:
        self.conn, self.job_id, self.network, self.settings = conn, job_id, network, settings
        self.cancel = threading.Event()  # never set here: the parent terminates this process
        self._sent = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._sent >= 0.2 or fraction >= 1.0:
            self._sent = now
            self.conn.send(("progress", float(fraction), str(message)[:500]))


def _child_main(kind: str, params: dict[str, Any], conn: Any, job_id: str, network: Any, settings: Any, owner: int) -> None:
    _child_init(owner)
    try:
        result = get_kind(kind).run(params, _ChildContext(conn, job_id, network, settings))
        conn.send(("ok", result))
    except CbecError as exc:
        conn.send(("error", problem_of(exc, job_id)))
    except BaseException:
        logging.getLogger("cbec.jobs").exception("job %s (%s) failed", job_id, kind)
        conn.send(("error", problem_of(RuntimeError(), job_id)))
    finally:
        conn.close()


def _stop_child(proc: Any) -> None:
    try:
        if proc.is_alive():
            proc.terminate()
            proc.join(CHILD_STOP_S)
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
    except (OSError, ValueError, AssertionError):  # already reaped
        pass


def run_isolated(exe: Execution, kind: Kind, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``kind`` in a child process (forkserver), relaying its progress; a stop terminates the process."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)  # children start with the solvers imported
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, name=f"cbec-job-{exe.job_id}",
                       args=(kind.name, params, send, exe.job_id, exe.network, exe.settings, os.getpid()))
    if exe.cancel.is_set():
        raise exe.stop_error()
    proc.start()
    send.close()
    exe.child = proc
    try:
        while True:
            if exe.cancel.is_set():
                raise exe.stop_error()
            if not recv.poll(0.2):
                continue
            try:
                msg = recv.recv()
            except (EOFError, OSError):
                proc.join(2.0)
                if exe.cancel.is_set():
                    raise exe.stop_error() from None
                raise RuntimeError(f"the job's process stopped unexpectedly (exit code {proc.exitcode})") from None
            if msg[0] == "progress":
                exe(msg[1], msg[2])
            elif msg[0] == "ok":
                return msg[1]
            else:
                raise RemoteProblem(msg[1])
    finally:
        exe.child = None
        recv.close()
        _stop_child(proc)


# --- one run, start to end ---------------------------------------------------------------------------

def run_record(store: JobStore, supervisor: Supervisor, record: JobRecord, worker: str, network: Any,
               settings: Any) -> str:
    """Run the claimed ``record`` as ``worker`` and write its end. Returns the final status (``queued`` when this
    process stopped under it, ``lost`` when another worker holds it now)."""
    exe = Execution(record, worker, network, settings)
    supervisor.add(exe)
    try:
        try:
            kind = get_kind(record.kind)
            params = record.params or {}
            result = run_isolated(exe, kind, params) if kind.isolate else kind.run(params, exe)
        except BaseException as exc:  # noqa: BLE001 - every end is written; the trace goes to the log only
            return _ended(store, exe, exc)
        if exe.reason is not None:  # stopped while the kind was returning
            return _ended(store, exe, exe.stop_error())
        ok = store.finish(record.id, worker, "succeeded", result=result)
        return "succeeded" if ok else "lost"
    finally:
        supervisor.remove(exe)


def _ended(store: JobStore, exe: Execution, exc: BaseException) -> str:
    job_id, worker = exe.job_id, exe.worker
    if exe.reason == "lost":
        return "lost"
    if exe.reason == "interrupted":
        store.requeue(job_id, worker, "re-queued: the server stopped while it ran", uncount=True)
        return "queued"
    if exe.reason == "cancelled":
        ok = store.finish(job_id, worker, "cancelled", error=cancelled_problem(job_id), message="cancelled")
        return "cancelled" if ok else "lost"
    if isinstance(exc, CbecError):
        problem = problem_of(exc, job_id)
    else:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            store.requeue(job_id, worker, "re-queued: the worker stopped while it ran", uncount=True)
            raise exc
        log.error("job %s (%s) failed", job_id, exe.record.kind, exc_info=exc,
                  extra={"job_id": job_id, "job_kind": exe.record.kind})
        problem = problem_of(exc, job_id)
    ok = store.finish(job_id, worker, "failed", error=problem, message=problem["detail"][:200])
    return "failed" if ok else "lost"
