"""The Dask side of the job engine: the task every job runs on the cluster, and the preload of `cbec worker`.

:func:`execute` (``execute(job_id)``) loads the record from the database (the worker reads
``CBEC_DATABASE_URL``), claims it, runs its kind and writes progress, heartbeat and the end to the
record. When the scheduler re-runs the task because the worker under it died, the new run takes the
job over and counts one more attempt; beyond ``CBEC_JOB_MAX_ATTEMPTS`` it fails the job with the
reason instead. The API never waits for the task: it is submitted with ``fire_and_forget``.

:func:`dask_setup` runs in each worker process started by ``cbec worker`` (``--preload jobs.worker``):
it checks the database and recovers jobs whose worker stopped (stale heartbeat).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from jobs.execution import Supervisor, run_record
from jobs.kinds import get_kind
from jobs.records import JobStore, worker_id
from optimizer.settings import get_settings

log = logging.getLogger("cbec.jobs")
_LOCK = threading.Lock()
_STORES: dict[str, tuple[JobStore, Supervisor]] = {}
_NETWORKS: dict[str, Any] = {}


def _store(settings: Any) -> tuple[JobStore, Supervisor]:
    from storage.db import open_db

    url = settings.database_url
    with _LOCK:
        if url not in _STORES:
            store = JobStore(open_db(url))  # a worker never changes the schema: it must be at head
            _STORES[url] = (store, Supervisor(store, settings.job_heartbeat_s))
        return _STORES[url]


def _network(settings: Any) -> Any:
    from optimizer.network import load_network

    key = str(settings.data_dir)
    with _LOCK:
        if key not in _NETWORKS:
            _NETWORKS[key] = load_network(settings.data_dir)
        return _NETWORKS[key]


def _address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except Exception:  # noqa: BLE001 - called outside a worker (tests, a direct call)
        return "direct"


def execute(job_id: str) -> str:
    """Run the job ``job_id`` here; returns its final status (``skipped`` when it is finished or cancelled)."""
    settings = get_settings()
    store, supervisor = _store(settings)
    worker = worker_id(f" {_address()}")
    record = store.take_over(job_id, worker)
    if record is None:
        return "skipped"
    if record.attempts > settings.job_max_attempts:
        reason = f"the worker stopped while it ran (attempt {record.attempts - 1} of {settings.job_max_attempts})"
        store.finish(job_id, worker, "failed", message=reason,
                     error={"title": "Worker stopped", "status": 503, "detail": reason, "field": None})
        return "failed"
    try:
        uses_cluster = get_kind(record.kind).uses_cluster
    except Exception:  # noqa: BLE001 - an unknown kind fails in run_record, with its problem
        uses_cluster = False
    if uses_cluster:
        try:
            from distributed import secede

            secede()  # it waits on tasks of its own: give its thread slot to them
        except Exception as exc:  # noqa: BLE001 - not on a worker (a direct call)
            log.debug("secede: %s", type(exc).__name__)
    status = run_record(store, supervisor, record, worker, _network(settings), settings)
    log.info("job %s (%s) %s on %s", job_id, record.kind, status, worker, extra={"job_id": job_id})
    return status


def dask_setup(worker: Any = None) -> None:
    """Preload hook of `cbec worker`: the kinds are registered (import), the database is reachable, jobs whose
    worker stopped are recovered."""
    settings = get_settings()
    store, _ = _store(settings)
    for job_id, action in store.recover(settings.job_stale_s, settings.job_max_attempts):
        log.warning("job %s: its worker stopped while it ran; %s", job_id, action, extra={"job_id": job_id})
