"""Shared dependencies of the routers, as ``Annotated`` aliases: ``def f(net: NetworkDep, settings: SettingsDep)``.

The network, job runner and settings live on ``app.state`` (set by :func:`api.app.create_app`); the
ingest database and pipeline are opened on first use and shared with the MQTT consumer under
``cbec serve``. The job service as a caller sees it (``JobsDep``, scoped to the caller's
organisation) is in :mod:`api.jobs`, beside the principal it needs; :func:`start_job` and
:func:`job_or_404` here take it.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response

from iot_ingest.pipeline import Pipeline
from optimizer.network import Network
from optimizer.settings import Settings
from storage.db import Database, open_db

_ingest_lock = threading.Lock()


def get_network(request: Request) -> Network:
    return request.app.state.network


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_ingest_db(request: Request) -> Database:
    """The ingest database (``app.state.ingest_db``, opened on first use from CBEC_DATABASE_URL)."""
    with _ingest_lock:
        db = getattr(request.app.state, "ingest_db", None)
        if db is None:
            pipe = getattr(request.app.state, "ingest_pipeline", None)
            db = pipe.db if pipe is not None else open_db(request.app.state.settings.database_url)
            request.app.state.ingest_db = db
        return db


def get_pipeline(request: Request, db: Annotated[Database, Depends(get_ingest_db)],
                 net: Annotated[Network, Depends(get_network)]) -> Pipeline:
    """The pipeline shared with the MQTT consumer under `cbec serve` (one writer, one lock)."""
    with _ingest_lock:
        pipe = getattr(request.app.state, "ingest_pipeline", None)
        if pipe is None:
            pipe = request.app.state.ingest_pipeline = Pipeline(db, net)
        return pipe


NetworkDep = Annotated[Network, Depends(get_network)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
IngestDbDep = Annotated[Database, Depends(get_ingest_db)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]


def start_job(jobs: Any, kind: str, params: dict[str, Any], response: Response, location: str,
              inline: bool = False) -> dict[str, Any]:
    """Run the job ``kind`` on ``params`` (``jobs``: :data:`api.jobs.JobsDep`, the caller's view): inline (201, the finished record) for small requests, else queued for
    a worker (202, the record at once). Either way ``Location`` points at ``{location}/{id}``. Over the
    owner's quota of running and queued jobs: 429 with ``Retry-After``."""
    if inline:
        job = jobs.run_inline(kind, params)
        response.status_code = 201
    else:
        job = jobs.submit(kind, params)
        response.status_code = 202
    response.headers["Location"] = f"{location}/{job.id}"
    return job.to_dict()


def job_or_404(jobs: Any, job_id: str, kind: str, what: str) -> Any:
    """The caller's job ``job_id`` of ``kind``, or a 404 problem naming ``what`` (also for another owner's job)."""
    job = jobs.get(job_id, kind=kind)
    if job is None:
        raise HTTPException(404, f"no {what} '{job_id}'")
    return job
