"""The caller's background jobs, whatever resource started them: list, read, cancel.

GET /v1/jobs lists the caller's organisation's jobs, newest first (filters ``kind`` and ``status``;
``limit`` and an opaque ``cursor`` for the next page). GET /v1/jobs/{id} is the full record.
DELETE /v1/jobs/{id} cancels: a queued job is cancelled at once (200), a running one is asked to
stop (202; solvers and simulations stop within a few seconds, then the status is ``cancelled``); a
finished job is left as it is (200). Another organisation's job answers 404 like an unknown id.
Every route takes a member of an organisation (401 without a credential, 403 for a device key).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.exceptions import HTTPException

from api.auth import AUTH_ERRORS
from api.jobs import JobsDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.common import JobListOut, JobOut
from optimizer.errors import InvalidInput


router = APIRouter(route_class=JsonRoute, prefix="/v1/jobs", tags=["jobs"])

JobId = Annotated[str, Path(min_length=1, max_length=64, description="the job id (from a Location header or the list)")]
RESOURCES = {"plan": "/v1/plans", "warehouse-design": "/v1/warehouse-designs", "pickup-plan": "/v1/pickup-plans",
             "simulation": "/v1/simulations"}


def _cursor(created_ms: int, job_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_ms}:{job_id}".encode()).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[int, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ms, job_id = text.split(":", 1)
        if not job_id or not ms.isdigit():
            raise ValueError
        return int(ms), job_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this server gave (use next_cursor of the previous page)",
                           field="cursor") from None


@router.get("", response_model=JobListOut, summary="The caller's jobs, newest first (filters, pagination)",
            responses=problems(**AUTH_ERRORS, **{"422": "a filter out of its bounds, or a cursor this server did not give"}))
def list_jobs(jobs: JobsDep,
              kind: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z][a-z0-9-]*$",
                                                description="only jobs of this kind (plan, warehouse-design, ...)")] = None,
              status: Annotated[Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
                                Query(description="only jobs in this state")] = None,
              limit: Annotated[int, Query(ge=1, le=100, description="jobs per page")] = 20,
              cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
              ) -> dict:
    before = _parse_cursor(cursor) if cursor else None
    records = jobs.list(kind=kind, status=status, limit=limit + 1, before=before)
    page = records[:limit]
    items = []
    for rec in page:
        item = rec.to_dict(result=False)
        item.pop("result", None)
        item["links"] = {"self": f"/v1/jobs/{rec.id}", "resource": f"{RESOURCES.get(rec.kind, '/v1/jobs')}/{rec.id}"}
        items.append(item)
    more = len(records) > limit
    return {"items": items, "next_cursor": _cursor(page[-1].created_ms, page[-1].id) if more and page else None}


@router.get("/{job_id}", response_model=JobOut, summary="Status, progress and result of any background job",
            responses=problems(**AUTH_ERRORS, **{"404": "no such job (or another organisation's)",
                                                 "422": "an id longer than 64 characters"}))
def get_job(job_id: JobId, jobs: JobsDep) -> dict:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job '{job_id}'")
    return job.to_dict()


@router.delete("/{job_id}", response_model=JobOut, summary="Cancel a job (queued: at once; running: within seconds)",
               responses={202: {"description": "running: asked to stop; poll `Location` until `cancelled`",
                                "model": JobOut,
                                "headers": {"Location": {"description": "the job: /v1/jobs/{id}", "schema": {"type": "string"}}}},
                          **problems(**AUTH_ERRORS, **{"404": "no such job (or another organisation's)",
                                                       "422": "an id longer than 64 characters"})})
def cancel_job(job_id: JobId, jobs: JobsDep, response: Response) -> dict:
    job = jobs.cancel(job_id)
    if job is None:
        raise HTTPException(404, f"no job '{job_id}'")
    if job.status == "running":
        response.status_code = 202
        response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job.to_dict()
