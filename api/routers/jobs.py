"""GET /v1/jobs/{id}: any background job, whatever resource started it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.exceptions import HTTPException

from api.deps import JobsDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.common import JobOut

router = APIRouter(route_class=JsonRoute, prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobOut, summary="Status, progress and result of any background job",
            responses=problems(**{"404": "no such job"}))
def get_job(job_id: str, jobs: JobsDep) -> dict:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job '{job_id}'")
    return job.to_dict()
