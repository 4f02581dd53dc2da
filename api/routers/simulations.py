"""POST /v1/simulations (a background job with progress) and GET /v1/simulations/{id} (status, KPIs, plots).

The scenarios are read and checked during the request — schema bounds, ids against the network and
the work budget (:mod:`simulation.budget`) — so a bad or too large one is a 422 at once, never a
failed job later. The job's params are the checked scenario documents (kind ``simulation`` in
:mod:`jobs.kinds`); it runs :func:`simulation.experiment.run_experiment`, the use case the CLI's
``cbec simulate`` runs too, isolated: replications, route quotes and plots run in worker processes
(or on the Dask cluster), never in the API process. DELETE /v1/jobs/{id} cancels it (its worker
processes stop within a second or two). Plots are written under ``CBEC_VAR_DIR/simulations/{id}/``
of the process that runs the job (with the Dask engine a `cbec worker`: give workers and API
processes one shared folder for plots).

Every route takes a member of an organisation (401 without a credential); a simulation and its plots
belong to the caller's organisation, and another organisation's id answers 404 like an unknown one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse

from api.auth import AUTH_ERRORS
from api.deps import NetworkDep, SettingsDep, job_or_404, start_job
from api.jobs import Job, JobsDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.common import JobStatus
from api.schemas.simulations import SimulationAccepted, SimulationIn, SimulationOut
from optimizer.network import Network
from simulation.budget import check_work
from simulation.experiment import with_overrides
from simulation.runner import effective_workers
from simulation.scenario import Scenario, check_against, load_scenario

router = APIRouter(route_class=JsonRoute, prefix="/v1/simulations", tags=["simulations"])

_PLOT_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.(png|svg)$")
SimId = Annotated[str, PathParam(max_length=64, description="the simulation's id")]
PlotName = Annotated[str, PathParam(max_length=128, description="a plot's file name (png or svg)")]


class SimulationStatusOut(SimulationOut):
    """A simulation (as SimulationOut), whose job may also be ``cancelled`` (DELETE /v1/jobs/{id})."""

    status: JobStatus


def _scenario(value: str | Scenario, body: SimulationIn, net: Network, field: str, seed: int | None = None) -> Scenario:
    """A bundled scenario by name (the schema lists them), or a full scenario (validated by the schema; the API
    reads no files, so no ``extends``), with the body's overrides, checked against the network."""
    sc = load_scenario(value, net) if isinstance(value, str) else value
    sc = with_overrides(sc, field, seed=seed if seed is not None else body.seed, horizon_days=body.horizon_days,
                        warmup_days=body.warmup_days)
    check_against(sc, net, field)
    return sc


def _links(request: Request, job: Job | dict[str, Any]) -> dict[str, str]:
    job_id = job["id"] if isinstance(job, dict) else job.id
    return {"self": str(request.url_for("get_simulation", sim_id=job_id)), "job": f"/v1/jobs/{job_id}"}


@router.post("", status_code=202, response_model=SimulationAccepted,
             summary="Start a simulation (replications with 95 % CIs) as a background job",
             responses={202: {"description": "accepted as a job; `Location` points at the simulation"},
                        **problems(**AUTH_ERRORS, **{
                            "400": "the body is not parseable JSON (e.g. not UTF-8, or nested too deeply)",
                            "422": "invalid scenario, unknown id, or work over the budget (names the field and the limit)",
                            "429": "the organisation's quota of running and queued jobs is used (Retry-After)"})})
def post_simulation(body: SimulationIn, request: Request, response: Response, net: NetworkDep, jobs: JobsDep,
                    settings: SettingsDep) -> dict[str, Any]:
    # validate before accepting: a bad or too large scenario is a 422 now, never a failed job later
    sc = _scenario(body.scenario, body, net, "scenario")
    base = _scenario(body.compare_with, body, net, "compare_with", seed=sc.seed) if body.compare_with is not None else None
    n = body.replications or sc.replications
    check_work(([(base, "compare_with")] if base is not None else []) + [(sc, "scenario")], n, net)
    workers = None if settings.dask_scheduler else effective_workers(body.workers, n)
    runs = [base, sc] if base is not None else [sc]
    params = {"scenarios": [s.to_doc() for s in runs],
              "sources": ["compare_with", "scenario"] if base is not None else ["scenario"],
              "replications": n, "seed": sc.seed, "workers": body.workers, "plots": body.plots,
              "plot_format": body.plot_format}
    job = start_job(jobs, "simulation", params, response, router.prefix)
    return {"id": job["id"], "status": job["status"], "scenario": sc.name, "replications": n, "workers": workers,
            "links": _links(request, job)}


@router.get("/{sim_id}", response_model=SimulationStatusOut, response_model_exclude_unset=True,
            summary="Status, progress, KPIs (mean and 95 % CI) and plot links of a simulation",
            responses=problems(**AUTH_ERRORS, **{"404": "unknown simulation (or another organisation's)",
                                                 "422": "an id longer than 64 characters"}))
def get_simulation(sim_id: SimId, request: Request, jobs: JobsDep) -> dict[str, Any]:
    job = job_or_404(jobs, sim_id, "simulation", "simulation")
    out: dict[str, Any] = {"id": job.id, "status": job.status, "progress": round(job.progress, 4), "message": job.message,
                           "created_at": job.created_at, "links": _links(request, job)}
    if job.error:
        out["error"] = job.error
    if job.status == "succeeded" and job.result:
        rep = dict(job.result["report"])
        names = list(rep.pop("plots", []))
        out.update({"scenario": rep["scenario"], "report": rep, "kpis": rep.get("kpis")})
        if "comparison" in job.result:
            comp = dict(job.result["comparison"])
            names += comp.pop("plots", [])
            names += job.result["baseline_report"].get("plots", [])
            out["comparison"] = comp
        out["plots"] = [str(request.url_for("get_simulation_plot", sim_id=job.id, name=n)) for n in names]
    return out


@router.get("/{sim_id}/plots/{name}", response_model=None, response_class=FileResponse,
            summary="A plot of a finished simulation (PNG or SVG)",
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}},
                       **problems(**AUTH_ERRORS, **{"404": "no such plot (or the simulation is another organisation's)",
                                                    "422": "an id or name too long"})})
def get_simulation_plot(sim_id: SimId, name: PlotName, jobs: JobsDep, settings: SettingsDep) -> FileResponse:
    job = jobs.get(sim_id, kind="simulation")
    if job is None or not _PLOT_NAME.match(name):
        raise HTTPException(404, f"no plot '{name}' for simulation '{sim_id}'")
    path = Path(settings.var_dir) / "simulations" / job.id / name
    if not path.is_file():
        raise HTTPException(404, f"no plot '{name}' for simulation '{sim_id}'")
    return FileResponse(path, media_type="image/svg+xml" if name.endswith(".svg") else "image/png")
