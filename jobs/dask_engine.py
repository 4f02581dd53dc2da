"""The distributed engine: jobs run on a Dask cluster (``CBEC_DASK_SCHEDULER``), on workers started by
`cbec worker` on any machine that reaches the scheduler and the database.

Each job is one task, ``jobs.worker.execute(job_id)``, submitted with the job id as its key and
``fire_and_forget``: the task belongs to the cluster, not to the API process that submitted it. Its
Dask priority is minus the number of jobs its owner already has outstanding, so an owner's
fiftieth queued job waits behind every other owner's first. The scheduler re-runs a task whose
worker died (``distributed.scheduler.allowed-failures``); the record counts the attempts.

A sweep (at start, then every few seconds) keeps "accepted" meaning "will run": a queued job that
no live scheduler holds (the submission failed, the scheduler restarted, the job was re-queued
after its worker stopped) is submitted again, and running jobs whose heartbeat went stale are
re-queued or failed (:meth:`jobs.records.JobStore.recover`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from jobs.records import JobRecord, JobStore

log = logging.getLogger("cbec.jobs")


class DaskEngine:
    name = "dask"

    def __init__(self, store: JobStore, address: str, settings: Any, sweep_every_s: float) -> None:
        self.store = store
        self.address = address
        self.settings = settings
        self.sweep_every_s = sweep_every_s
        self._client: Any = None
        self._scheduler_id: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: queue.Queue[JobRecord] = queue.Queue()

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._loop, name="cbec-job-dask", daemon=True)
                self._thread.start()

    def client(self) -> Any:
        from distributed import Client

        with self._lock:
            if self._client is None or self._client.status in ("closed", "closing"):
                self._client = Client(self.address, timeout="10s", set_as_default=False)
            client = self._client
        self._scheduler_id = client.sync(client.scheduler.identity)["id"]
        return client

    def submitted(self, record: JobRecord) -> None:
        """Hand a new record to the cluster, from the engine's thread (a request never waits for the scheduler)."""
        self._pending.put(record)
        self.start()

    def submit(self, record: JobRecord) -> None:
        from distributed import fire_and_forget

        from jobs.worker import execute

        client = self.client()
        key = record.id if record.attempts == 0 else f"{record.id}~{record.attempts}"
        ahead = max(0, self.store.active(record.owner) - 1)  # the owner's jobs outstanding besides this one
        future = client.submit(execute, record.id, key=key, pure=False, priority=-ahead, retries=0)
        fire_and_forget(future)
        self.store.set_engine(record.id, "dask", self._scheduler_id)

    def sweep(self) -> None:
        for job_id, action in self.store.recover(self.settings.job_stale_s, self.settings.job_max_attempts):
            log.warning("job %s: its worker stopped while it ran; %s", job_id, action, extra={"job_id": job_id})
        queued = self.store.of_engine("dask", ("queued",)) + self.store.of_engine("local", ("queued",))
        if not queued:
            return
        self.client()  # the scheduler's id now (it changes when the scheduler restarts)
        for record in queued:
            if record.engine != "dask" or record.engine_ref != self._scheduler_id:
                self.submit(record)

    def _loop(self) -> None:
        next_sweep = 0.0
        while not self._stop.is_set():
            try:
                record = self._pending.get(timeout=max(0.0, min(1.0, next_sweep - time.monotonic())))
            except queue.Empty:
                record = None
            if self._stop.is_set():
                break
            if record is not None:
                try:
                    self.submit(record)
                except Exception as exc:  # noqa: BLE001 - accepted all the same: the sweep submits it later
                    log.warning("job %s queued, not yet on the cluster (%s): the next sweep submits it", record.id,
                                str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
                continue
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.sweep_every_s
                try:
                    self.sweep()
                except Exception as exc:  # noqa: BLE001 - scheduler or database away: try again later
                    log.warning("job sweep failed: %s", str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)

    def shutdown(self) -> None:
        """Jobs stay on the cluster: nothing to stop but this process's client."""
        self._stop.set()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close(timeout=2)
            except Exception as exc:  # noqa: BLE001 - the scheduler may be gone already
                log.debug("closing the Dask client: %s", type(exc).__name__)
