"""POST /v1/plans and GET /v1/plans/{id}: batch shipment plans (a job when large).

Small batches (at most ``INLINE_MAX`` shipments, ``time_limit_s`` at most ``INLINE_MAX_SECONDS``) are
planned during the request and answered with 201 and the finished job record; larger ones return 202 with the job id at once. Either way the
``Location`` header points at the plan, polled with GET /v1/plans/{id} (or GET /v1/jobs/{id}). Bad
shipment rows are reported in ``result.errors`` (row = 1-based position in ``shipments``, or the CSV
line number) and the valid ones are planned; when no valid row remains the answer is a 422 problem.

A plan belongs to the caller's organisation (a member's API key or bearer token: 401 without one);
another organisation's plan id answers 404 exactly like an unknown one.

Everything that can be refused is refused before a job exists (422, nothing stored): the bounds of
the schema (api.schemas.plans), more rows than the plan memory budget allows
(optimizer.planning.planner.check_plan_size) and a change naming departures that do not exist
(optimizer.planning.replan.check_change). ``time_limit_s`` bounds the whole job: shipments whose
candidates were not generated in time are reported unassigned ("time limit reached before
candidates were generated").

Shared warehouses (issue 19): the inbound m³ the plan may send to a warehouse on a day is what the
caller's organisation booked there (confirmed inbound bookings), else what the open offers it may book
still have free, else the dock's own figure for a warehouse nobody offers through the platform
(:func:`sharing.planning.plan_inbound`). It is read when the request is accepted and passed to the job as
a parameter (``inbound``), so the job runs again from its record alone; the result's
``warehouse_inbound`` names the warehouses it applied to.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.auth import AUTH_ERRORS
from api.deps import IngestDbDep, NetworkDep, job_or_404, start_job
from api.jobs import JobsDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.common import JobOut
from api.schemas.plans import PlanIn
from jobs.kinds import plan_inputs
from sharing.planning import plan_inbound

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["plans"])

INLINE_MAX = 100
INLINE_MAX_SECONDS = 60.0  # a longer limit is a job even for a small batch: no request thread waits minutes
_LOCATION = {"Location": {"description": "the plan: /v1/plans/{id}", "schema": {"type": "string"}}}


def plan_params(body: PlanIn) -> dict[str, Any]:
    """The plan job's params (JSON): the rows or the CSV text, the settings, the re-plan inputs."""
    rows = None if body.shipments is None else [[i + 1, row.model_dump(exclude_none=True)]
                                                for i, row in enumerate(body.shipments)]
    return {"rows": rows, "csv": body.csv,
            "settings": {"horizon_days": body.horizon_days, "time_limit_s": body.time_limit_s,
                         "carbon_price_per_t": body.carbon_price_per_t, "late_per_day": body.late_per_day},
            "previous": body.previous, "change": None if body.change is None else body.change.model_dump(mode="json")}


@router.post(
    "/plans",
    response_model=JobOut,
    summary="Plan a batch of shipments against departure, container and warehouse capacities",
    status_code=202,
    responses={201: {"description": "planned inline (small batch): the finished job", "model": JobOut, "headers": _LOCATION},
               202: {"description": "accepted as a job", "headers": _LOCATION},
               **problems(**AUTH_ERRORS, **{"400": "the body is not parseable JSON (e.g. not UTF-8, or nested too deeply)",
                                           "422": "invalid request, no valid shipment, more rows than the plan memory budget, "
                                        "or a change naming a departure that does not exist",
                             "429": "the organisation's quota of running and queued jobs is used (Retry-After)"})},
)
def post_plan(body: PlanIn, response: Response, net: NetworkDep, jobs: JobsDep, db: IngestDbDep) -> dict[str, Any]:
    params = plan_params(body)
    load, _, _ = plan_inputs(net, params)  # every refusal is a 422 now, before a job exists
    if jobs.owner is not None:  # the warehouses' inbound m³ per day from the organisation's bookings and the offers
        params["inbound"] = plan_inbound(db, jobs.owner, load.shipments, body.horizon_days)
    inline = len(load.shipments) <= INLINE_MAX and body.time_limit_s <= INLINE_MAX_SECONDS
    return start_job(jobs, "plan", params, response, "/v1/plans", inline=inline)


@router.get("/plans/{plan_id}", response_model=JobOut, summary="Status, progress and result of a plan job",
            responses=problems(**AUTH_ERRORS, **{"404": "no such plan (or another organisation's)"}))
def get_plan(plan_id: str, jobs: JobsDep) -> dict[str, Any]:
    return job_or_404(jobs, plan_id, "plan", "plan").to_dict()
