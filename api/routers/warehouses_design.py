"""Shared-warehouse network design (a job) and stock positioning.

POST /v1/warehouse-designs returns 202 with the job id (``Location`` header) at once; GET
/v1/warehouse-designs/{id} (or /v1/jobs/{id}) gives status, progress and the design. The body
designs the bundled network (optionally with its own ``demand`` rows) or, with ``orlib``, an
OR-Library cap instance given as text. POST /v1/stock-policies answers inline.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_jobs, get_network, job_or_404, start_job
from api.jobs import JobRunner
from optimizer.warehouses.facility import DesignOptions, solve_design
from optimizer.network import Network
from optimizer.warehouses.orlib import parse_orlib_cap
from optimizer.warehouses.design import (
    DEFAULT_DEMAND,
    DesignSettings,
    design_network,
    design_to_dict,
    load_demand,
    parse_demand,
    position_stock,
    with_settings,
)

router = APIRouter(prefix="/v1", tags=["warehouses"])
_PROBLEM = {"content": {"application/problem+json": {}}}


class DesignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"max_days": 3, "carbon_price": 80}]})

    demand: list[dict[str, Any]] | None = Field(default=None, description="rows: market, family, mean_m3_day, sd_m3_day, kg_per_m3[, max_days]; default the bundled sample")
    orlib: str | None = Field(default=None, description="text of an OR-Library cap*.txt instance (instead of the bundled network)")
    orlib_name: str = Field(default="orlib.txt", description="its file name (reported in the result)")
    capacity: float | None = Field(default=None, gt=0, description="capacity for capa/capb/capc")
    single_sourcing: bool = False
    max_open: int | None = Field(default=None, ge=1)
    n_open: int | None = Field(default=None, ge=1)
    budget: float | None = Field(default=None, ge=0)
    max_days: float | None = Field(default=None, gt=0, description="service level: max delivery days warehouse -> market")
    carbon_price: float | None = Field(default=None, ge=0, description="USD per t CO2e")
    solver: Literal["SCIP", "HIGHS", "CBC"] = "SCIP"
    method: Literal["auto", "reduce", "strong", "plain"] = "auto"
    time_limit_s: float = Field(default=120.0, gt=0, le=1800)


class StockIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"warehouses": ["WH_DUISBURG"], "fill_rate": 0.97}]})

    warehouses: list[str] | None = Field(default=None, description="only these (open) warehouses")
    fill_rate: float = Field(default=0.95, gt=0, lt=1)
    policy: Literal["base-stock", "sS"] = "base-stock"
    review_days: float = Field(default=7.0, gt=0, le=90)
    demand: list[dict[str, Any]] | None = None
    max_days: float | None = Field(default=None, gt=0)
    carbon_price: float | None = Field(default=None, ge=0)


def _options(body: DesignIn) -> DesignOptions:
    return DesignOptions(single_sourcing=body.single_sourcing, max_open=body.max_open, n_open=body.n_open,
                         budget=body.budget, solver=body.solver, method=body.method, time_limit=body.time_limit_s)


@router.post("/warehouse-designs", status_code=202, summary="Design the shared overseas warehouse network (a job)",
             responses={202: {"description": "accepted as a job"}, 422: {"description": "invalid input", **_PROBLEM}})
def post_design(body: DesignIn, response: Response, net: Network = Depends(get_network),
                jobs: JobRunner = Depends(get_jobs)) -> dict:
    options = _options(body)
    # validate before accepting, so a bad file is a 422 now rather than a failed job later
    if body.orlib is not None:
        problem = parse_orlib_cap(body.orlib, body.orlib_name, body.capacity)

        def run(progress) -> dict:
            return solve_design(problem, options, progress=progress).to_dict()
    else:
        rows = parse_demand(body.demand, net, "demand") if body.demand is not None else load_demand(DEFAULT_DEMAND, net)
        settings = with_settings(DesignSettings(), max_days=body.max_days, carbon_price=body.carbon_price)

        def run(progress) -> dict:
            result, lanes = design_network(net, rows, settings, options, progress=progress)
            return design_to_dict(result, lanes, net, settings)

    return start_job(jobs, "warehouse-design", run, response, "/v1/warehouse-designs")


@router.get("/warehouse-designs/{design_id}", summary="Status, progress and result of a design job",
            responses={404: {"description": "no such design", **_PROBLEM}})
def get_design(design_id: str, jobs: JobRunner = Depends(get_jobs)) -> dict:
    return job_or_404(jobs, design_id, "warehouse-design", "warehouse design").to_dict()


@router.post("/stock-policies", summary="Replenishment policy per open warehouse and product family",
             responses={404: {"description": "unknown warehouse", **_PROBLEM}, 422: {"description": "invalid input", **_PROBLEM}})
def post_stock(body: StockIn, net: Network = Depends(get_network)) -> dict:
    rows = parse_demand(body.demand, net, "demand") if body.demand is not None else load_demand(DEFAULT_DEMAND, net)
    settings = with_settings(DesignSettings(), max_days=body.max_days, carbon_price=body.carbon_price)
    whs = [w.strip().upper() for w in body.warehouses] if body.warehouses else None
    for w in whs or []:
        net.node(w, "warehouse")
    result, lanes = design_network(net, rows, settings, DesignOptions(time_limit=60.0))
    policies = position_stock(net, rows, result, lanes, body.fill_rate, body.policy, body.review_days, whs)
    return {"design": {"open": result.open, "objective": result.objective, "status": result.status},
            "policies": [p.to_dict() for p in policies], "units": {"stock": "m³", "cost": f"{net.currency}/year"}}
