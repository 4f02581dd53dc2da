"""The job service as the API sees it: durable records (:mod:`jobs`), scoped to the caller's organisation.

``POST`` endpoints validate the request, build the job's ``params`` (JSON: everything needed to run
it again, in any process) and submit ``(kind, params)``; ``GET /v1/jobs[/{id}]`` and each
resource's own GET read the record; ``DELETE /v1/jobs/{id}`` cancels. Every read, cancel and
submission goes through :class:`OwnerJobs`, bound to the caller's ``org_id``: another organisation's
job id answers exactly like an unknown one, and the quota of running and queued jobs is per owner.
``JobsDep`` requires a member (:data:`api.auth.MemberDep`): every route that takes it is closed to
anonymous callers and declares the security schemes; document ``**AUTH_ERRORS`` on it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from api.auth import MemberDep
from jobs.records import JobRecord, QuotaExceeded
from jobs.runner import JobRunner

Job = JobRecord  # the record type the routers read (id, kind, status, progress, message, result, error, ...)

__all__ = ["Job", "JobRecord", "JobRunner", "JobsDep", "OwnerJobs", "QuotaExceeded", "get_jobs"]


class OwnerJobs:
    """The process's :class:`JobRunner` as one owner sees it."""

    def __init__(self, runner: JobRunner, owner: str | None) -> None:
        self.runner = runner
        self.owner = owner

    def submit(self, kind: str, params: dict[str, Any]) -> JobRecord:
        return self.runner.submit(kind, params, self.owner)

    def run_inline(self, kind: str, params: dict[str, Any]) -> JobRecord:
        return self.runner.run_inline(kind, params, self.owner)

    def get(self, job_id: str, kind: str | None = None) -> JobRecord | None:
        return self.runner.get(job_id, kind=kind, owner=self.owner)

    def list(self, **filters: Any) -> list[JobRecord]:
        return self.runner.list(self.owner, **filters)

    def cancel(self, job_id: str) -> JobRecord | None:
        return self.runner.cancel(job_id, owner=self.owner)

    @property
    def settings(self) -> Any:
        return self.runner.settings


def get_jobs(request: Request, principal: MemberDep) -> OwnerJobs:
    """The job service scoped to the caller's organisation (``principal.org_id``): only members of an
    organisation have jobs (anonymous: 401, a device key: 403, before anything else is read)."""
    return OwnerJobs(request.app.state.jobs, principal.org_id)


JobsDep = Annotated[OwnerJobs, Depends(get_jobs)]
