"""One job mechanism for long work (batch plans, network design, simulations).

``POST`` endpoints submit a callable and return the job id at once; ``GET /v1/jobs/{id}`` (and each
resource's own GET) report status, progress and result. The callable receives a ``progress(fraction,
message)`` function, the same one the CLI feeds to its progress bar.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from optimizer.errors import CbecError, ServiceUnavailable

log = logging.getLogger("api.jobs")
from optimizer.network.progress import ProgressFn



@dataclass
class Job:
    id: str
    kind: str
    status: str = "queued"  # queued | running | succeeded | failed
    progress: float = 0.0
    message: str = ""
    result: Any = None
    error: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 4),
            "message": self.message,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "result": self.result,
            "error": self.error,
        }


class JobRunner:
    """Runs jobs on a small thread pool (solvers release the GIL; simulations use their own processes)."""

    def __init__(self, workers: int = 2, keep: int = 500) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cbec-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep
        self._closed = False

    def submit(self, kind: str, fn: Callable[[ProgressFn], Any]) -> Job:
        if self._closed:
            raise ServiceUnavailable("the server is shutting down and takes no new jobs; retry shortly")
        job = Job(id=f"{kind}-{uuid.uuid4().hex[:12]}", kind=kind)
        with self._lock:
            self._jobs[job.id] = job
            if len(self._jobs) > self._keep:
                for old in [j for j in self._jobs.values() if j.status in ("succeeded", "failed")][: len(self._jobs) - self._keep]:
                    self._jobs.pop(old.id, None)

        def progress(fraction: float, message: str = "") -> None:
            job.progress = max(0.0, min(1.0, fraction))
            if message:
                job.message = message

        def run() -> None:
            job.status, job.started_at = "running", datetime.now(UTC)
            try:
                job.result = fn(progress)
                job.status, job.progress = "succeeded", 1.0
            except CbecError as exc:
                job.status = "failed"
                job.error = {"title": exc.title, "status": exc.status, "detail": exc.detail, "field": exc.field}
            except Exception:  # a job must never take the server down; the trace goes to the log, not the caller
                job.status = "failed"
                log.exception("job %s (%s) failed", job.id, job.kind, extra={"job_id": job.id, "job_kind": job.kind})
                job.error = {"title": "Internal error", "status": 500,
                             "detail": f"the job failed unexpectedly; quote job id {job.id} to the operator"}
            finally:
                job.finished_at = datetime.now(UTC)

        self._pool.submit(run)
        return job

    def run_inline(self, kind: str, fn: Callable[[ProgressFn], Any]) -> Job:
        """Run synchronously (small requests answer at once, same record shape)."""
        job = Job(id=f"{kind}-{uuid.uuid4().hex[:12]}", kind=kind, status="running", started_at=datetime.now(UTC))
        with self._lock:
            self._jobs[job.id] = job
        try:
            job.result = fn(lambda f, m="": None)
            job.status, job.progress = "succeeded", 1.0
        finally:
            job.finished_at = datetime.now(UTC)
            if job.status != "succeeded":
                job.status = "failed"
        return job

    def get(self, job_id: str, kind: str | None = None) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None or (kind is not None and job.kind != kind):
            return None
        return job

    @property
    def closed(self) -> bool:
        """True after :meth:`shutdown`: no new jobs are taken."""
        return self._closed

    def counts(self) -> dict[str, int]:
        """Jobs of this process by status (for /metrics)."""
        out: dict[str, int] = {}
        for job in list(self._jobs.values()):
            out[job.status] = out.get(job.status, 0) + 1
        return out

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
