"""The embedded engine: in-process workers reading the queue from the database.

A dispatcher thread claims the next job whenever one of ``workers`` slots is free
(:meth:`jobs.records.JobStore.claim_next`: fair between owners, atomic between processes) and runs
it on a thread of its own. It wakes on a submission of this process, and polls every
:data:`POLL_S` for jobs queued by other processes. Every process with workers may run the queue
(claims are conditional updates); ``cbec serve --workers N`` gives it to the supervisor process alone.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any

from jobs.execution import Supervisor, run_record
from jobs.kinds import KINDS
from jobs.records import JobStore, worker_id

log = logging.getLogger("cbec.jobs")
POLL_S = 0.5


class LocalEngine:
    name = "local"

    def __init__(self, store: JobStore, supervisor: Supervisor, workers: int, network: Any, settings: Any,
                 recover_every_s: float) -> None:
        self.store = store
        self.supervisor = supervisor
        self.workers = workers
        self.network = network
        self.settings = settings
        self.recover_every_s = recover_every_s
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False
        self._threads: set[threading.Thread] = set()
        self._seq = itertools.count(1)
        self._dispatcher: threading.Thread | None = None

    def start(self) -> None:
        if self.workers <= 0 or self._dispatcher is not None:
            return
        self._dispatcher = threading.Thread(target=self._dispatch, name="cbec-job-dispatcher", daemon=True)
        self._dispatcher.start()

    def submitted(self, record: Any) -> None:
        self.wake()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _network(self) -> Any:
        if callable(self.network):
            self.network = self.network()
        return self.network

    def _dispatch(self) -> None:
        last_recover = 0.0
        while True:
            with self._cond:
                while not self._closed and self._busy >= self.workers:
                    self._cond.wait(POLL_S)
                if self._closed:
                    return
            record = None
            try:
                if time.monotonic() - last_recover >= self.recover_every_s:
                    last_recover = time.monotonic()
                    for job_id, action in self.store.recover(self.settings.job_stale_s, self.settings.job_max_attempts):
                        log.warning("job %s: its worker stopped while it ran; %s", job_id, action,
                                    extra={"job_id": job_id})
                worker = worker_id(f"/local-{next(self._seq)}")
                # only kinds this process knows (a process of an older version leaves newer kinds to others)
                record = self.store.claim_next(worker, "local", kinds=set(KINDS))
            except Exception as exc:  # noqa: BLE001 - the database may be away: retry after a pause
                log.warning("job queue unavailable: %s", str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
            if record is None:
                with self._cond:
                    if not self._closed:
                        self._cond.wait(POLL_S)
                continue
            with self._cond:
                if self._closed:  # stopped between the claim and now: give it back
                    self.store.requeue(record.id, worker, "re-queued: the server stopped", uncount=True)
                    return
                self._busy += 1
            t = threading.Thread(target=self._run, args=(record, worker), name=f"cbec-job-{record.id}", daemon=True)
            self._threads.add(t)
            t.start()

    def _run(self, record: Any, worker: str) -> None:
        try:
            status = run_record(self.store, self.supervisor, record, worker, self._network(), self.settings)
            log.info("job %s (%s) %s", record.id, record.kind, status, extra={"job_id": record.id, "job_kind": record.kind})
        except Exception:
            log.exception("job %s: its end could not be written", record.id)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()
            self._threads.discard(threading.current_thread())

    def shutdown(self) -> None:
        """Stop taking jobs; running ones stop now and go back to the queue (re-run by the next worker)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for exe in self.supervisor.runs():
            if exe.worker.split("/", 1)[-1].startswith("local-"):
                exe.stop("interrupted")
                try:
                    self.store.requeue(exe.job_id, exe.worker, "re-queued: the server stopped while it ran", uncount=True)
                except Exception as exc:  # noqa: BLE001 - its heartbeat goes stale and recovery re-queues it
                    log.warning("job %s: not re-queued at shutdown (%s); recovery will", exe.job_id, type(exc).__name__)
