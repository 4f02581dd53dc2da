"""POST /v1/pickup-plans and GET /v1/pickup-plans/{id}: first-mile pickups / last-mile deliveries.

Small requests (at most ``INLINE_MAX_STOPS`` stops and ``INLINE_MAX_SECONDS`` of search) are solved
during the request and answered with 201 and the finished job record; larger ones return 202 with
the job id. Either way the ``Location`` header points at the plan. A plan belongs to the caller's
organisation (401 without a credential); another organisation's id answers 404 like an unknown one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.auth import AUTH_ERRORS
from api.deps import NetworkDep, job_or_404, start_job
from api.jobs import JobsDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.common import JobOut
from api.schemas.pickups import PickupIn
from jobs.kinds import pickup_inputs

JobId = Annotated[str, Path(min_length=1, max_length=64, description="the job id from the Location header")]
router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["pickups"])
INLINE_MAX_STOPS = 40
INLINE_MAX_SECONDS = 5.0


def pickup_params(body: PickupIn) -> dict:
    """The pickup job's params (JSON): stops, depot, fleet, speed and the search's limit and seed."""
    return {"stops": [s.model_dump() for s in body.stops], "depot": body.depot, "kind": body.kind,
            "vehicles": None if not body.vehicles else [v.model_dump() for v in body.vehicles],
            "speed_kmh": body.speed_kmh, "time_limit_s": body.time_limit_s, "seed": body.seed}


@router.post("/pickup-plans", status_code=202, response_model=JobOut,
             summary="Vehicle routes for pickups or deliveries (VRPTW)",
             responses={201: {"description": "solved inline (small request)", "model": JobOut},
                        202: {"description": "accepted as a job"},
                        **problems(**AUTH_ERRORS, **{"400": "the body is not parseable JSON (e.g. nested too deeply)", "404": "unknown depot",
                                      "422": "invalid input (a bound of the schema, a duplicate stop id, a window that "
                                             "ends before it starts) or infeasible (a stop no vehicle can carry or reach)",
                                      "429": "the organisation's quota of running and queued jobs is used (Retry-After)"})})
def post_pickup_plan(body: PickupIn, response: Response, net: NetworkDep, jobs: JobsDep) -> dict:
    params = pickup_params(body)
    pickup_inputs(net, params)  # infeasible windows / capacities are a 422 now, not a failed job
    inline = len(body.stops) <= INLINE_MAX_STOPS and body.time_limit_s <= INLINE_MAX_SECONDS
    return start_job(jobs, "pickup-plan", params, response, "/v1/pickup-plans", inline=inline)


@router.get("/pickup-plans/{plan_id}", response_model=JobOut, summary="Status, progress and result of a pickup plan",
            responses=problems(**AUTH_ERRORS, **{"404": "no such plan (or another organisation's)",
                                               "422": "an id longer than 64 characters"}))
def get_pickup_plan(plan_id: JobId, jobs: JobsDep) -> dict:
    return job_or_404(jobs, plan_id, "pickup-plan", "pickup plan").to_dict()
