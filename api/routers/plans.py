"""POST /v1/plans and GET /v1/plans/{id}: batch shipment plans (a job when large).

Small batches (at most ``INLINE_MAX`` shipments) are planned during the request and answered with
201 and the finished job record; larger ones return 202 with the job id at once (``Location``
header) and are polled with GET /v1/plans/{id} (or GET /v1/jobs/{id}). Bad shipment rows are
reported in ``result.errors`` (row = 1-based position in ``shipments``, or the CSV line number)
and the valid ones are planned; when no valid row remains the answer is a 422 problem.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_jobs, get_network, job_or_404, start_job
from api.jobs import JobRunner
from optimizer.errors import DataError
from optimizer.network.model import Capacity
from optimizer.network import Network
from optimizer.planning.planner import PlanSettings, plan, plan_to_dict
from optimizer.planning.replan import Change, replan
from optimizer.planning.shipments import ShipmentsLoad, read_rows, read_shipments_text

router = APIRouter(prefix="/v1", tags=["plans"])

INLINE_MAX = 100
_PROBLEM = {"content": {"application/problem+json": {}}}


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cancel: list[str] = Field(default_factory=list, description="cancelled departure keys SERVICE@YYYY-MM-DDTHH:MMZ")
    delay_hours: dict[str, float] = Field(default_factory=dict, description="departure key -> hours late")
    capacity_teu: dict[str, int] = Field(default_factory=dict, description="departure key -> new TEU capacity")


class PlanIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "shipments": [{"id": "A1", "origin": "MY_HTZ", "destination": "WH_LODZ", "weight_kg": 1800, "volume_m3": 9,
                           "ready_date": "2026-10-05", "due_date": "2026-11-05"}],
            "time_limit_s": 20}]},
    )

    shipments: list[dict[str, Any]] | None = Field(default=None, description="rows with the CSV columns as keys")
    csv: str | None = Field(default=None, description="alternatively, the CSV text (header + rows)")
    horizon_days: int = Field(default=21, ge=1, le=120)
    time_limit_s: float = Field(default=60.0, gt=0, le=600)
    carbon_price_per_t: float = Field(default=0.0, ge=0)
    late_per_day: float = Field(default=50.0, ge=0)
    previous: dict[str, str] | None = Field(default=None, description="re-plan: shipment id -> plan.key of the previous plan")
    change: ChangeIn | None = None


def _load(net: Network, body: PlanIn) -> ShipmentsLoad:
    if (body.shipments is None) == (body.csv is None):
        raise DataError("request", None, "shipments", "give exactly one of 'shipments' (rows) or 'csv' (text)")
    if body.csv is not None:
        load = read_shipments_text(net, body.csv, "csv")
    else:
        load = read_rows(net, [(i + 1, row) for i, row in enumerate(body.shipments or [])], "shipments")
    if not load.shipments:
        first = load.errors[0] if load.errors else DataError("shipments", None, None, "no shipment rows")
        raise DataError(first.file, first.row, first.field,
                        first.detail.split(": ", 1)[-1] + (f" (and {len(load.errors) - 1} more bad rows)" if len(load.errors) > 1 else ""))
    return load


@router.post(
    "/plans",
    summary="Plan a batch of shipments against departure, container and warehouse capacities",
    status_code=202,
    responses={201: {"description": "planned inline (small batch)"}, 202: {"description": "accepted as a job"},
               422: {"description": "no valid shipment", **_PROBLEM}},
)
def post_plan(body: PlanIn, response: Response, net: Network = Depends(get_network), jobs: JobRunner = Depends(get_jobs)) -> dict:
    load = _load(net, body)
    settings = PlanSettings(horizon_days=body.horizon_days, time_limit_s=body.time_limit_s,
                            carbon_price_per_t=body.carbon_price_per_t, late_per_day=body.late_per_day)

    def run(progress) -> dict:
        if body.previous is not None or body.change is not None:
            ch = body.change or ChangeIn()
            change = Change(cancel=frozenset(ch.cancel), delay_hours=ch.delay_hours,
                            capacity={k: Capacity(teu=v) for k, v in ch.capacity_teu.items()})
            result = replan(net, load.shipments, body.previous or {}, change, settings, progress=progress)
        else:
            result = plan(net, load.shipments, settings, progress=progress)
        result.errors = list(load.errors)
        return plan_to_dict(net, result)

    return start_job(jobs, "plan", run, response, "/v1/plans", inline=len(load.shipments) <= INLINE_MAX)


@router.get("/plans/{plan_id}", summary="Status, progress and result of a plan job",
            responses={404: {"description": "no such plan", **_PROBLEM}})
def get_plan(plan_id: str, jobs: JobRunner = Depends(get_jobs)) -> dict:
    return job_or_404(jobs, plan_id, "plan", "plan").to_dict()
