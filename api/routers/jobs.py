from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.exceptions import HTTPException

from api.deps import get_jobs
from api.jobs import JobRunner

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", summary="Status, progress and result of any background job")
def get_job(job_id: str, jobs: JobRunner = Depends(get_jobs)) -> dict:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job '{job_id}'")
    return job.to_dict()
