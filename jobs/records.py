"""Job records in the database: the one source of truth every process reads (API processes, in-process
workers, Dask workers on other machines).

A record is written once when the job is accepted (``queued``) and then only by the worker that
claimed it (``running`` -> ``succeeded`` | ``failed`` | ``cancelled``): every write of a worker is
conditional on ``worker`` still naming it, so a run that lost its claim (re-queued after its
heartbeat went stale, taken over by a Dask re-run) can never overwrite the newer run's record.
Readers are scoped by owner (the organisation): another owner's job reads exactly like a missing one.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from jobs.tables import ACTIVE, FINISHED, jobs
from optimizer.errors import CbecError
from optimizer.processes import pid_alive
from optimizer.timefmt import iso_ms
from storage.db import Database

HOST = socket.gethostname()[:80]
BOOT = uuid.uuid4().hex[:8]  # this process's incarnation: a restarted process may get the same pid
_ANY = object()


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int | None) -> str | None:
    return iso_ms(ms, timespec="auto")


def worker_id(suffix: str = "") -> str:
    """Who runs a job: ``host:pid:boot`` of this process, then ``suffix`` (a thread, a Dask address)."""
    return f"{HOST}:{os.getpid()}:{BOOT}{suffix}"[:200]


def _worker_process(worker: str | None) -> tuple[str, int, str] | None:
    """(host, pid, boot) of a worker id written by :func:`worker_id`, or None."""
    if not worker:
        return None
    head = worker.split("/", 1)[0].split(" ", 1)[0]
    parts = head.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


def process_gone(worker: str | None) -> bool:
    """True when ``worker`` names a process of this host that no longer runs (its pid is dead, or the
    pid is reused by another incarnation, e.g. this very process after a restart in a container)."""
    proc = _worker_process(worker)
    if proc is None or proc[0] != HOST:
        return False
    _, pid, boot = proc
    if pid == os.getpid():
        return boot != BOOT
    return not pid_alive(pid)


# --- JSON ------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _plain(value.item())
    if hasattr(value, "tolist"):  # numpy arrays
        return _plain(value.tolist())
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    raise TypeError(f"a job's params and results are JSON: {type(value).__name__} is not")


def dumps(value: Any) -> str:
    """JSON text of ``value`` (numpy numbers as numbers, non-finite floats as null)."""
    return json.dumps(_plain(value), separators=(",", ":"), allow_nan=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def problem_of(exc: BaseException, job_id: str) -> dict[str, Any]:
    """The problem a failed job reports: the domain error's own, else a generic one (never a traceback)."""
    if isinstance(exc, CbecError):
        return {"title": exc.title, "status": exc.status, "detail": exc.detail, "field": exc.field}
    return {"title": "Internal error", "status": 500, "detail": f"the job failed unexpectedly; quote job id {job_id} to the operator",
            "field": None}


# --- records ---------------------------------------------------------------------------------------

@dataclass
class JobRecord:
    """One job as stored. ``to_dict`` is the API's ``JobOut``."""

    id: str
    kind: str
    owner: str | None
    status: str
    progress: float
    message: str
    params: dict[str, Any] | None
    result: Any
    error: dict[str, Any] | None
    created_ms: int
    started_ms: int | None
    finished_ms: int | None
    heartbeat_ms: int | None
    attempts: int
    cancel_requested: bool
    worker: str | None
    engine: str
    engine_ref: str | None

    @classmethod
    def from_row(cls, row: Any) -> JobRecord:
        m = row._mapping
        return cls(id=m["id"], kind=m["kind"], owner=m["owner"], status=m["status"], progress=float(m["progress"] or 0.0),
                   message=m["message"] or "", params=_loads(m.get("params")), result=_loads(m.get("result")),
                   error=_loads(m["error"]), created_ms=m["created_ms"], started_ms=m["started_ms"],
                   finished_ms=m["finished_ms"], heartbeat_ms=m["heartbeat_ms"], attempts=m["attempts"] or 0,
                   cancel_requested=bool(m["cancel_requested"]), worker=m["worker"], engine=m["engine"],
                   engine_ref=m["engine_ref"])

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    # the API's view (api.schemas.common.JobOut)
    @property
    def created_at(self) -> str:
        return iso(self.created_ms) or ""

    def to_dict(self, result: bool = True) -> dict[str, Any]:
        out = {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(min(1.0, max(0.0, self.progress)), 4),
            "message": self.message,
            "created_at": iso(self.created_ms),
            "started_at": iso(self.started_ms),
            "finished_at": iso(self.finished_ms),
            "result": self.result if result else None,
            "error": self.error,
            "attempts": self.attempts,
            "cancel_requested": self.cancel_requested,
        }
        return out


class QuotaExceeded(CbecError):
    """The owner already has as many running and queued jobs as the quota allows (HTTP 429)."""

    status = 429
    title = "Too many jobs"

    def __init__(self, active: int, quota: int, retry_after_s: int) -> None:
        super().__init__(f"{active} jobs of this organisation are running or queued, the quota is {quota}; retry when one "
                         "has finished (or cancel one with DELETE /v1/jobs/{id})", limit=quota, active=active,
                         retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


def _owner_is(owner: str | None):
    return jobs.c.owner.is_(None) if owner is None else jobs.c.owner == owner


_SUMMARY = [c for c in jobs.c if c.name not in ("params", "result")]


class JobStore:
    """Reads and conditional writes of job records on one database (any process, any machine)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()

    # --- creating ---------------------------------------------------------------------------------
    def insert(self, kind: str, params: dict[str, Any], owner: str | None, *, engine: str = "local",
               status: str = "queued", worker: str | None = None, quota: int | None = None,
               retry_after_s: int = 10) -> JobRecord:
        """A new record (``queued``, or ``running`` for an inline run by ``worker``); with ``quota``, refused with
        :class:`QuotaExceeded` when the owner already has that many running and queued jobs."""
        t = now_ms()
        values = {"id": f"{kind}-{uuid.uuid4().hex[:16]}", "kind": kind, "owner": owner, "status": status, "progress": 0.0,
                  "message": "", "params": dumps(params), "result": None, "error": None, "created_ms": t,
                  "started_ms": t if status == "running" else None, "finished_ms": None,
                  "heartbeat_ms": t if status == "running" else None, "attempts": 1 if status == "running" else 0,
                  "cancel_requested": False, "worker": worker, "engine": engine, "engine_ref": None}
        with self.db.engine.begin() as conn:
            if quota is not None:
                if not self.db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises writers
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)",
                                         (zlib.crc32(f"cbec-jobs:{owner}".encode()) - 2**31,))
                active = conn.execute(select(func.count()).select_from(jobs)
                                      .where(_owner_is(owner), jobs.c.status.in_(ACTIVE))).scalar_one()
                if active >= quota:
                    raise QuotaExceeded(active, quota, retry_after_s)
            conn.execute(jobs.insert().values(**values))
        values["params"], values["cancel_requested"] = params, False
        return JobRecord(**{k: v for k, v in values.items() if k in JobRecord.__dataclass_fields__})

    # --- reading ----------------------------------------------------------------------------------
    def get(self, job_id: str, owner: Any = _ANY, kind: str | None = None) -> JobRecord | None:
        """The record ``job_id``; with ``owner``, only that owner's (None: the anonymous owner's)."""
        q = select(jobs).where(jobs.c.id == job_id)
        if owner is not _ANY:
            q = q.where(_owner_is(owner))
        if kind is not None:
            q = q.where(jobs.c.kind == kind)
        with self.db.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else JobRecord.from_row(row)

    def list(self, owner: str | None, *, kind: str | None = None, status: str | None = None, limit: int = 20,
             before: tuple[int, str] | None = None) -> list[JobRecord]:
        """The owner's jobs, newest first (without params and results), after the cursor ``before``."""
        q = select(*_SUMMARY).where(_owner_is(owner))
        if kind is not None:
            q = q.where(jobs.c.kind == kind)
        if status is not None:
            q = q.where(jobs.c.status == status)
        if before is not None:
            q = q.where(or_(jobs.c.created_ms < before[0], and_(jobs.c.created_ms == before[0], jobs.c.id < before[1])))
        q = q.order_by(jobs.c.created_ms.desc(), jobs.c.id.desc()).limit(limit)
        with self.db.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [JobRecord.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.db.engine.connect() as conn:
            return {s: int(n) for s, n in conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))}

    def active(self, owner: str | None) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(jobs)
                                    .where(_owner_is(owner), jobs.c.status.in_(ACTIVE))).scalar_one())

    def of_engine(self, engine: str, statuses: tuple[str, ...] = ACTIVE) -> list[JobRecord]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(*_SUMMARY).where(jobs.c.engine == engine, jobs.c.status.in_(statuses))
                                .order_by(jobs.c.created_ms)).all()
        return [JobRecord.from_row(r) for r in rows]

    # --- cancelling -------------------------------------------------------------------------------
    def request_cancel(self, job_id: str, owner: Any = _ANY) -> JobRecord | None:
        """Cancel: a queued job is cancelled at once; a running one gets ``cancel_requested`` (its worker stops
        it within about a second); a finished one is left as it is. None: no such job (of this owner)."""
        t = now_ms()
        cond = [jobs.c.id == job_id] + ([] if owner is _ANY else [_owner_is(owner)])
        with self.db.engine.begin() as conn:
            conn.execute(update(jobs).where(*cond, jobs.c.status == "queued").values(
                status="cancelled", finished_ms=t, cancel_requested=True, message="cancelled before it started",
                error=dumps(cancelled_problem(job_id))))
            conn.execute(update(jobs).where(*cond, jobs.c.status == "running").values(
                cancel_requested=True, message="cancelling"))
        return self.get(job_id, owner)

    # --- workers: claiming ------------------------------------------------------------------------
    def claim_next(self, worker: str, engine: str = "local", kinds: set[str] | None = None) -> JobRecord | None:
        """Claim the next queued job fairly: the oldest waiting job of the owner with the fewest running jobs
        (ties: the owner whose first job waits longest). Safe between processes: the claim is an
        update conditional on ``status = 'queued'``; a lost race tries the next candidate."""
        for _ in range(5):
            with self.db.engine.begin() as conn:
                candidate = self._fair_candidate(conn, engine, kinds)
                if candidate is None:
                    return None
                t = now_ms()
                done = conn.execute(update(jobs).where(jobs.c.id == candidate, jobs.c.status == "queued").values(
                    status="running", started_ms=t, heartbeat_ms=t, attempts=jobs.c.attempts + 1, worker=worker,
                    message="started", progress=0.0)).rowcount
            if done == 1:
                return self.get(candidate)
        return None

    @staticmethod
    def _fair_candidate(conn: Connection, engine: str, kinds: set[str] | None) -> str | None:
        owner_key = func.coalesce(jobs.c.owner, "")
        running = dict(conn.execute(select(owner_key, func.count()).where(jobs.c.status == "running")
                                    .group_by(owner_key)).all())
        where = [jobs.c.status == "queued", jobs.c.engine == engine]
        if kinds is not None:
            where.append(jobs.c.kind.in_(sorted(kinds)))
        heads = conn.execute(select(owner_key, func.min(jobs.c.created_ms)).where(*where).group_by(owner_key)).all()
        if not heads:
            return None
        key, _ = min(heads, key=lambda h: (running.get(h[0], 0), h[1], h[0]))
        who = jobs.c.owner.is_(None) if key == "" else jobs.c.owner == key
        row = conn.execute(select(jobs.c.id).where(*where, who).order_by(jobs.c.created_ms, jobs.c.id).limit(1)).first()
        return None if row is None else row[0]

    def take_over(self, job_id: str, worker: str) -> JobRecord | None:
        """Claim ``job_id`` for ``worker`` whatever runs it now (a Dask task the scheduler re-ran after its worker
        died: Dask decides who runs it). None when the job is finished or was cancelled before it ran."""
        t = now_ms()
        with self.db.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == "queued", jobs.c.cancel_requested)
                         .values(status="cancelled", finished_ms=t, message="cancelled before it started",
                                 error=dumps(cancelled_problem(job_id))))
            done = conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(ACTIVE),
                                                   jobs.c.cancel_requested.is_(False))
                                .values(status="running", started_ms=t, heartbeat_ms=t, attempts=jobs.c.attempts + 1,
                                        worker=worker, message="started")).rowcount
        return self.get(job_id) if done == 1 else None

    # --- workers: progress, heartbeat, end --------------------------------------------------------
    def beat(self, updates: list[tuple[str, str, float | None, str | None]]) -> tuple[set[str], set[str]]:
        """Heartbeat (and progress, where given) of running jobs ``(id, worker, fraction, message)`` in one
        transaction. Returns (ids no longer claimed by that worker, ids whose cancel was requested)."""
        lost: set[str] = set()
        cancel: set[str] = set()
        if not updates:
            return lost, cancel
        t = now_ms()
        with self.db.engine.begin() as conn:
            for job_id, worker, fraction, message in updates:
                values: dict[str, Any] = {"heartbeat_ms": t}
                if fraction is not None:
                    values["progress"] = min(1.0, max(0.0, float(fraction)))
                if message is not None:
                    values["message"] = message[:500]
                n = conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.worker == worker,
                                                    jobs.c.status == "running").values(**values)).rowcount
                if n != 1:
                    lost.add(job_id)
            ids = [u[0] for u in updates if u[0] not in lost]
            if ids:
                cancel = {r[0] for r in conn.execute(select(jobs.c.id).where(jobs.c.id.in_(ids), jobs.c.cancel_requested))}
        return lost, cancel

    def finish(self, job_id: str, worker: str, status: str, *, result: Any = None, error: dict[str, Any] | None = None,
               message: str | None = None) -> bool:
        """End the run of ``worker``: False (and nothing written) when it no longer holds the claim."""
        values: dict[str, Any] = {"status": status, "finished_ms": now_ms(), "heartbeat_ms": now_ms(),
                                  "result": None if result is None else dumps(result),
                                  "error": None if error is None else dumps(error)}
        if status == "succeeded":
            values.update(progress=1.0, message=message or "done")
        elif message is not None:
            values["message"] = message[:500]
        with self.db.engine.begin() as conn:
            return conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.worker == worker,
                                                   jobs.c.status == "running").values(**values)).rowcount == 1

    def cancel_requested(self, ids: list[str]) -> set[str]:
        with self.db.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(jobs.c.id).where(jobs.c.id.in_(ids), jobs.c.cancel_requested))}

    def requeue(self, job_id: str, worker: str, message: str, *, uncount: bool = False) -> bool:
        """Give the job back to the queue (this process stops: another worker, or this one after a restart, runs
        it). ``uncount``: the interrupted run does not count as an attempt (an orderly stop, not a crash)."""
        values: dict[str, Any] = {"status": "queued", "worker": None, "message": message[:500], "heartbeat_ms": None,
                                  "engine_ref": None}
        if uncount:
            values["attempts"] = func.max(jobs.c.attempts - 1, 0) if self.db.is_sqlite else func.greatest(jobs.c.attempts - 1, 0)
        with self.db.engine.begin() as conn:
            return conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.worker == worker, jobs.c.status == "running")
                                .values(**values)).rowcount == 1

    def set_engine(self, job_id: str, engine: str, engine_ref: str | None) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == "queued")
                         .values(engine=engine, engine_ref=engine_ref))

    # --- recovery ---------------------------------------------------------------------------------
    def recover(self, stale_s: float, max_attempts: int) -> list[tuple[str, str]]:
        """Running jobs whose worker is gone — its heartbeat is older than ``stale_s``, or it names a process of
        this host that no longer exists — are re-queued while they have runs left (``max_attempts``), else
        failed with the reason. Returns ``[(job_id, "requeued" | "failed")]``."""
        cutoff = now_ms() - int(stale_s * 1000)
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(jobs.c.id, jobs.c.worker, jobs.c.heartbeat_ms, jobs.c.attempts, jobs.c.engine)
                                .where(jobs.c.status == "running")).all()
        out: list[tuple[str, str]] = []
        for job_id, worker, beat, attempts, engine in rows:
            # a dead local process is known at once; a Dask worker's death is the scheduler's to handle (it re-runs
            # the task within seconds), so there only the stale heartbeat counts
            if not ((beat or 0) < cutoff or (engine == "local" and process_gone(worker))):
                continue
            reason = f"the worker stopped while it ran (attempt {attempts} of {max_attempts})"
            with self.db.engine.begin() as conn:
                cond = [jobs.c.id == job_id, jobs.c.status == "running", jobs.c.worker == worker]
                if attempts < max_attempts:
                    n = conn.execute(update(jobs).where(*cond).values(
                        status="queued", worker=None, heartbeat_ms=None, engine_ref=None,
                        message=f"re-queued: {reason}")).rowcount
                    action = "requeued"
                else:
                    n = conn.execute(update(jobs).where(*cond).values(
                        status="failed", finished_ms=now_ms(), message=reason,
                        error=dumps({"title": "Worker stopped", "status": 503, "detail": reason, "field": None}))).rowcount
                    action = "failed"
            if n == 1:
                out.append((job_id, action))
        return out


def cancelled_problem(job_id: str) -> dict[str, Any]:
    return {"title": "Job cancelled", "status": 409, "detail": f"job {job_id} was cancelled at its owner's request",
            "field": None}
