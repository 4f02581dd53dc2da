"""POST /v1/simulations (a background job with progress) and GET /v1/simulations/{id} (status, KPIs, plots)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_jobs, get_network, get_settings_dep, job_or_404
from api.jobs import Job, JobRunner
from optimizer.settings import Settings
from optimizer.errors import InvalidInput
from optimizer.network import Network

router = APIRouter(prefix="/v1/simulations", tags=["simulations"])

_PROBLEM = {"content": {"application/problem+json": {}}}
_PLOT_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.(png|svg)$")


class SimulationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"scenario": "baseline", "replications": 4, "horizon_days": 120},
            {"scenario": "more_trains", "compare_with": "baseline", "replications": 6},
        ]},
    )

    scenario: str | dict[str, Any] = Field(description="a bundled scenario name (baseline, more_trains, ...) or a scenario mapping")
    replications: int | None = Field(default=None, ge=1, le=200, description="default: the scenario's")
    seed: int | None = Field(default=None, ge=0)
    horizon_days: float | None = Field(default=None, gt=0, le=1098)
    warmup_days: float | None = Field(default=None, ge=0)
    workers: int | None = Field(default=None, ge=1, le=64, description="local worker processes (ignored with a Dask scheduler)")
    compare_with: str | dict[str, Any] | None = Field(default=None, description="a baseline to compare against (paired, same seeds)")
    plots: bool = True
    plot_format: str = Field(default="png", pattern="^(png|svg)$")


def _scenario(value: str | dict[str, Any], body: SimulationIn, net: Network, field: str, seed: int | None = None):
    from simulation.scenario import bundled_scenarios, check_against, load_scenario, parse_scenario

    if isinstance(value, str):
        if value not in bundled_scenarios():
            raise InvalidInput(f"{field}: unknown bundled scenario '{value}' (known: {', '.join(bundled_scenarios())})", field=field)
        sc = load_scenario(value, net)
        doc = sc.to_doc()
    else:
        doc = dict(value)
        if "extends" in doc:
            raise InvalidInput(f"{field}: 'extends' is only supported in files; send the full scenario", field=f"{field}.extends")
    for k in ("seed", "horizon_days", "warmup_days"):
        v = seed if k == "seed" and seed is not None else getattr(body, k)
        if v is not None:
            doc[k] = v
    sc = parse_scenario(doc, field)
    check_against(sc, net, field)
    return sc


def _links(request: Request, job: Job) -> dict[str, Any]:
    return {"self": str(request.url_for("get_simulation", sim_id=job.id)), "job": f"/v1/jobs/{job.id}"}


@router.post("", status_code=202, summary="Start a simulation (replications with 95 % CIs) as a background job",
             responses={422: {"description": "invalid scenario", **_PROBLEM}})
def post_simulation(body: SimulationIn, request: Request, net: Network = Depends(get_network),
                    jobs: JobRunner = Depends(get_jobs), settings: Settings = Depends(get_settings_dep)) -> JSONResponse:
    # validate before accepting: a bad scenario is a 422 now, never a failed job later
    sc = _scenario(body.scenario, body, net, "scenario")
    base = _scenario(body.compare_with, body, net, "compare_with", seed=sc.seed) if body.compare_with is not None else None
    n = body.replications or sc.replications
    ready = threading.Event()
    holder: dict[str, str] = {}
    var_dir = Path(settings.var_dir)

    def work(progress) -> dict[str, Any]:
        from simulation.runner import simulate

        ready.wait(5)
        out_dir = var_dir / "simulations" / holder.get("id", "unknown")
        parts = [base, sc] if base is not None else [sc]
        runs, reports = [], []
        for k, s in enumerate(parts):
            rep, results = simulate(s, n, workers=body.workers,
                                    progress=lambda f, m="", k=k: progress((k + f) / len(parts), m))
            runs.append((s.name, results))
            reports.append(rep)
            if body.plots:
                from simulation.plots import write_all

                rep["plots"] = [p.name for p in write_all(rep, results, out_dir, body.plot_format)]
        result: dict[str, Any] = {"report": reports[-1]}
        if base is not None:
            from simulation.compare import compare

            result["baseline_report"] = reports[0]
            result["comparison"] = compare(runs)
            if body.plots:
                from simulation.plots import comparison

                result["comparison"]["plots"] = [comparison(result["comparison"], out_dir / f"comparison.{body.plot_format}").name]
        return result

    job = jobs.submit("simulation", work)
    holder["id"] = job.id
    ready.set()
    return JSONResponse({"id": job.id, "status": job.status, "scenario": sc.name, "replications": n,
                         "links": _links(request, job)}, status_code=202)


@router.get("/{sim_id}", summary="Status, progress, KPIs (mean and 95 % CI) and plot links of a simulation",
            responses={404: {"description": "unknown simulation", **_PROBLEM}})
def get_simulation(sim_id: str, request: Request, jobs: JobRunner = Depends(get_jobs)) -> dict[str, Any]:
    job = job_or_404(jobs, sim_id, "simulation", "simulation")
    out: dict[str, Any] = {"id": job.id, "status": job.status, "progress": round(job.progress, 4), "message": job.message,
                           "created_at": job.created_at.isoformat(), "links": _links(request, job)}
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


@router.get("/{sim_id}/plots/{name}", summary="A plot of a finished simulation (PNG or SVG)",
            responses={404: {"description": "no such plot", **_PROBLEM}})
def get_simulation_plot(sim_id: str, name: str, jobs: JobRunner = Depends(get_jobs),
                        settings: Settings = Depends(get_settings_dep)) -> FileResponse:
    job = jobs.get(sim_id, kind="simulation")
    if job is None or not _PLOT_NAME.match(name):
        raise HTTPException(404, f"no plot '{name}' for simulation '{sim_id}'")
    path = Path(settings.var_dir) / "simulations" / job.id / name
    if not path.is_file():
        raise HTTPException(404, f"no plot '{name}' for simulation '{sim_id}'")
    return FileResponse(path, media_type="image/svg+xml" if name.endswith(".svg") else "image/png")
