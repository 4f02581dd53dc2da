"""Shared dependencies of the routers: the network model, the job runner, settings."""

from __future__ import annotations

from fastapi import HTTPException, Request, Response

from api.jobs import Job, JobRunner
from optimizer.settings import Settings
from optimizer.network import Network


def get_network(request: Request) -> Network:
    return request.app.state.network


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def start_job(jobs: JobRunner, kind: str, fn, response: Response, location: str, inline: bool = False) -> dict:
    """Run ``fn`` as a job: inline (201, finished record) for small requests, else in the background
    (202, the record at once). Either way ``Location`` points at ``{location}/{id}``."""
    if inline:
        job = jobs.run_inline(kind, fn)
        response.status_code = 201
    else:
        job = jobs.submit(kind, fn)
        response.status_code = 202
    response.headers["Location"] = f"{location}/{job.id}"
    return job.to_dict()


def job_or_404(jobs: JobRunner, job_id: str, kind: str, what: str) -> Job:
    """The job ``job_id`` of ``kind``, or a 404 problem naming ``what``."""
    job = jobs.get(job_id, kind=kind)
    if job is None:
        raise HTTPException(404, f"no {what} '{job_id}'")
    return job
