"""The job service of a process: records in the database, an engine that runs them.

``JobRunner`` is what the API (``app.state.jobs``) and ``cbec serve`` hold:

- ``submit(kind, params, owner)`` stores a ``queued`` record (refused with :class:`QuotaExceeded`
  over the owner's quota of running and queued jobs) and hands it to the engine;
- ``run_inline(kind, params, owner)`` runs a small job in the calling thread, stored all the same;
- ``get`` / ``list`` / ``cancel`` read and cancel records, scoped by owner;
- the engine is the Dask cluster when ``CBEC_DASK_SCHEDULER`` is set, else ``CBEC_JOB_WORKERS``
  in-process workers (:mod:`jobs.local`);
- recovery: at start and every few seconds, running jobs whose worker is gone (stale heartbeat, or a
  dead process of this host) are re-queued while they have attempts left, else failed with the reason.

The database is the one of ``CBEC_DATABASE_URL`` (or the one given). The embedded SQLite default is
created on first use; a PostgreSQL database must be migrated first (``cbec db upgrade``, which
``cbec serve`` runs), else job requests answer 503 saying so. Nothing is created at start: the
engine starts as soon as the database is there.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from jobs.execution import Execution, JobStopped, Supervisor
from jobs.kinds import get_kind
from jobs.records import _ANY, JobRecord, JobStore, QuotaExceeded, problem_of, worker_id
from optimizer.errors import CbecError, ServiceUnavailable

log = logging.getLogger("cbec.jobs")
START_RETRY_S = 5.0

__all__ = ["JobRunner", "QuotaExceeded"]


class JobRunner:
    """Job records and their engine, for one process."""

    def __init__(self, settings: Any = None, network: Any = None, db: Any = None, workers: int | None = None) -> None:
        from optimizer.settings import get_settings

        self.settings = settings or get_settings()
        self._network = network
        self._db = db
        self._own_db = db is None
        self.workers = self.settings.job_workers if workers is None else workers
        self._store: JobStore | None = None
        self._engine: Any = None
        self._supervisor: Supervisor | None = None
        self._lock = threading.RLock()
        self._closed = False
        self._starter: threading.Thread | None = None

    # --- the database and the engine ------------------------------------------------------------
    @property
    def engine_name(self) -> str:
        return "dask" if self.settings.dask_scheduler else "local"

    def network(self) -> Any:
        if self._network is None:
            from optimizer.network import load_network

            self._network = load_network(self.settings.data_dir)
        return self._network

    def _open(self, create: bool) -> JobStore | None:
        """The store; opening the database (``create``: the embedded SQLite default may be created/migrated)."""
        with self._lock:
            if self._store is not None:
                return self._store
            if self._db is None:
                from storage.db import open_db

                url = self.settings.database_url
                if create and url.startswith("sqlite"):
                    db = open_db(url, migrate=True)  # the embedded default: zero set-up
                else:
                    db = open_db(url)  # must exist at head: ServiceUnavailable names `cbec db upgrade`
                self._db = db
            self._store = JobStore(self._db)
            self._supervisor = Supervisor(self._store, self.settings.job_heartbeat_s)
            return self._store

    def store(self) -> JobStore:
        """The store, the engine started (for requests: the embedded database is created on first use)."""
        if self._closed:
            raise ServiceUnavailable("the server is shutting down and takes no new jobs; retry shortly")
        store = self._store or self._open(create=True)
        self._start_engine()
        return store

    def _start_engine(self) -> None:
        with self._lock:
            if self._engine is not None or self._closed:
                return
            assert self._store is not None and self._supervisor is not None
            recover_every = max(1.0, min(15.0, self.settings.job_stale_s / 4))
            if self.settings.dask_scheduler:
                from jobs.dask_engine import DaskEngine

                self._engine = DaskEngine(self._store, self.settings.dask_scheduler, self.settings, recover_every)
            else:
                from jobs.local import LocalEngine

                self._engine = LocalEngine(self._store, self._supervisor, self.workers, self.network, self.settings,
                                           recover_every)
            if self.workers > 0 or self.settings.dask_scheduler:
                self._engine.start()

    def start(self, background: bool = True) -> None:
        """Start the engine as soon as the database is there (never creating it); retried every few seconds."""
        if background:
            if self._starter is None:
                self._starter = threading.Thread(target=self.start, args=(False,), name="cbec-job-start", daemon=True)
                self._starter.start()
            return
        import time

        while not self._closed:
            try:
                self._open(create=False)
                self._start_engine()
                return
            except Exception as exc:  # noqa: BLE001 - absent, not migrated or unreachable: first use or later
                log.debug("job engine not started yet: %s", getattr(exc, "detail", None) or type(exc).__name__)
            time.sleep(START_RETRY_S)

    # --- submitting -------------------------------------------------------------------------------
    def submit(self, kind: str, params: dict[str, Any], owner: str | None = None) -> JobRecord:
        """Accept a job: its record is stored ``queued`` (the quota checked) and the engine told."""
        get_kind(kind)
        store = self.store()
        record = store.insert(kind, params, owner, engine=self.engine_name, quota=self.settings.job_quota,
                              retry_after_s=self.settings.job_retry_after_s)
        self._engine.submitted(record)
        return record

    def run_inline(self, kind: str, params: dict[str, Any], owner: str | None = None) -> JobRecord:
        """Run a small job now, in this thread (answered with the finished record); stored like any other. A
        domain error is recorded as the job's problem and raised (the request answers with it)."""
        store = self.store()
        worker = worker_id("/inline")
        record = store.insert(kind, params, owner, status="running", worker=worker, quota=self.settings.job_quota,
                              retry_after_s=self.settings.job_retry_after_s)
        exe = Execution(record, worker, self.network(), self.settings)
        assert self._supervisor is not None
        self._supervisor.add(exe)
        try:
            result = get_kind(kind).run(params, exe)
        except JobStopped:
            store.finish(record.id, worker, "failed", error={"title": "Service unavailable", "status": 503,
                                                             "detail": "the server stopped while the job ran", "field": None})
            raise ServiceUnavailable("the server stopped while the job ran; retry shortly") from None
        except BaseException as exc:
            problem = problem_of(exc, record.id)
            status = "cancelled" if exe.reason == "cancelled" else "failed"
            store.finish(record.id, worker, status, error=problem, message=problem["detail"][:200])
            if not isinstance(exc, CbecError):
                log.error("job %s (%s) failed", record.id, kind, exc_info=exc, extra={"job_id": record.id})
            raise
        finally:
            self._supervisor.remove(exe)
        store.finish(record.id, worker, "succeeded", result=result)
        return store.get(record.id) or record

    # --- reading and cancelling -------------------------------------------------------------------
    def get(self, job_id: str, kind: str | None = None, owner: Any = _ANY) -> JobRecord | None:
        return self.store().get(job_id, owner, kind)

    def list(self, owner: str | None, **filters: Any) -> list[JobRecord]:
        return self.store().list(owner, **filters)

    def cancel(self, job_id: str, owner: Any = _ANY) -> JobRecord | None:
        record = self.store().request_cancel(job_id, owner)
        if record is not None and record.status == "running":
            # a run of this process stops at once (others see the flag within a second)
            assert self._supervisor is not None
            for exe in self._supervisor.runs():
                if exe.job_id == job_id:
                    exe.stop("cancelled")
        return record

    def counts(self) -> dict[str, int]:
        """Jobs in the database by status ({} while it is not there; never creates it)."""
        try:
            store = self._store or self._open(create=False)
            return store.counts() if store is not None else {}
        except Exception:  # noqa: BLE001 - metrics never fail for want of a database
            return {}

    # --- stopping ---------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True after :meth:`shutdown`: no new jobs are taken."""
        return self._closed

    def shutdown(self) -> None:
        """No new jobs. In-process runs stop now and go back to the queue (the next worker re-runs them); jobs
        on the Dask cluster go on."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            engine, supervisor = self._engine, self._supervisor
        if engine is not None:
            engine.shutdown()
        if supervisor is not None:
            supervisor.close()
        if self._own_db and self._db is not None:
            try:
                self._db.dispose()
            except Exception as exc:  # noqa: BLE001 - shutting down anyway
                log.debug("disposing the job database: %s", type(exc).__name__)
