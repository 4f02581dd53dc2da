"""POST /v1/plans and GET /v1/plans/{id}: batch shipment plans (a job when large).

Small batches (at most ``INLINE_MAX`` shipments, ``time_limit_s`` at most ``INLINE_MAX_SECONDS``) are
planned during the request and answered with 201 and the finished job record; larger ones return 202 with the job id at once. Either way the
``Location`` header points at the plan, polled with GET /v1/plans/{id} (or GET /v1/jobs/{id}). Bad
shipment rows are reported in ``result.errors`` (row = 1-based position in ``shipments``, or the CSV
line number) and the valid ones are planned; when no valid row remains the answer is a 422 problem.

Everything that can be refused is refused before a job exists (422, nothing stored): the bounds of
the schema (api.schemas.plans), more rows than the plan memory budget allows
(optimizer.planning.planner.check_plan_size) and a change naming departures that do not exist
(optimizer.planning.replan.check_change). ``time_limit_s`` bounds the whole job: shipments whose
candidates were not generated in time are reported unassigned ("time limit reached before
candidates were generated").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import JobsDep, NetworkDep, job_or_404, start_job
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.common import JobOut
from api.schemas.plans import PlanIn
from optimizer.errors import DataError
from optimizer.network import Network
from optimizer.network.model import Capacity
from optimizer.network.progress import ProgressFn
from optimizer.planning.planner import PlanSettings, check_plan_size, plan_to_dict
from optimizer.planning.replan import Change, check_change, plan_or_replan
from optimizer.planning.shipments import ShipmentsLoad, read_rows, read_shipments_text

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["plans"])

INLINE_MAX = 100
INLINE_MAX_SECONDS = 60.0  # a longer limit is a job even for a small batch: no request thread waits minutes
_LOCATION = {"Location": {"description": "the plan: /v1/plans/{id}", "schema": {"type": "string"}}}


def _load(net: Network, body: PlanIn) -> ShipmentsLoad:
    if (body.shipments is None) == (body.csv is None):
        raise DataError("request", None, "shipments", "give exactly one of 'shipments' (rows) or 'csv' (text)")
    if body.csv is not None:
        load = read_shipments_text(net, body.csv, "csv")
    else:
        load = read_rows(net, [(i + 1, row.model_dump(exclude_none=True)) for i, row in enumerate(body.shipments or [])],
                         "shipments")
    if not load.shipments:
        where = "csv" if body.csv is not None else "shipments"
        first = load.errors[0] if load.errors else DataError(where, None, where, "no shipment rows")
        raise DataError(first.file, first.row, first.field,
                        first.detail.split(": ", 1)[-1] + (f" (and {len(load.errors) - 1} more bad rows)" if len(load.errors) > 1 else ""))
    return load


@router.post(
    "/plans",
    response_model=JobOut,
    summary="Plan a batch of shipments against departure, container and warehouse capacities",
    status_code=202,
    responses={201: {"description": "planned inline (small batch): the finished job", "model": JobOut, "headers": _LOCATION},
               202: {"description": "accepted as a job", "headers": _LOCATION},
               **problems(**{"422": "invalid request, no valid shipment, more rows than the plan memory budget, "
                                        "or a change naming a departure that does not exist"})},
)
def post_plan(body: PlanIn, response: Response, net: NetworkDep, jobs: JobsDep) -> dict[str, Any]:
    load = _load(net, body)
    settings = PlanSettings(horizon_days=body.horizon_days, time_limit_s=body.time_limit_s,
                            carbon_price_per_t=body.carbon_price_per_t, late_per_day=body.late_per_day)
    check_plan_size(len(load.shipments), settings)
    change = None
    if body.change is not None:
        change = Change(cancel=frozenset(body.change.cancel), delay_hours=body.change.delay_hours,
                        capacity={k: Capacity(teu=v) for k, v in body.change.capacity_teu.items()})
        check_change(net, change)

    def run(progress: ProgressFn) -> dict[str, Any]:
        result = plan_or_replan(net, load.shipments, settings, previous=body.previous, change=change,
                                errors=load.errors, progress=progress)
        return plan_to_dict(net, result)

    inline = len(load.shipments) <= INLINE_MAX and body.time_limit_s <= INLINE_MAX_SECONDS
    return start_job(jobs, "plan", run, response, "/v1/plans", inline=inline)


@router.get("/plans/{plan_id}", response_model=JobOut, summary="Status, progress and result of a plan job",
            responses=problems(**{"404": "no such plan"}))
def get_plan(plan_id: str, jobs: JobsDep) -> dict[str, Any]:
    return job_or_404(jobs, plan_id, "plan", "plan").to_dict()
