"""POST /v1/pickup-plans and GET /v1/pickup-plans/{id}: first-mile pickups / last-mile deliveries.

Small requests (at most ``INLINE_MAX_STOPS`` stops and ``INLINE_MAX_SECONDS`` of search) are solved
during the request and answered with 201 and the finished job record; larger ones return 202 with
the job id (``Location`` header).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_jobs, get_network, job_or_404, start_job
from api.jobs import JobRunner
from optimizer.errors import DataError
from optimizer.network import Network
from optimizer.pickups.stops import DEFAULT_FLEET, Vehicle, build_problem, parse_stops
from optimizer.pickups.vrptw import check_problem, solve_routing

router = APIRouter(prefix="/v1", tags=["pickups"])
INLINE_MAX_STOPS = 40
INLINE_MAX_SECONDS = 5.0
_PROBLEM = {"content": {"application/problem+json": {}}}


class VehicleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int = Field(ge=0)
    kg: float = Field(gt=0)
    m3: float = Field(gt=0)
    fixed_cost: float = Field(default=0.0, ge=0)
    cost_per_km: float = Field(default=1.0, ge=0)


class PickupIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "depot": "MY_CBZ", "time_limit_s": 2,
        "stops": [{"id": "JIANGYOU_STEEL", "lat": 31.778, "lon": 104.745, "kg": 3500, "m3": 6.5,
                   "window_start": "08:30", "window_end": "12:00", "service_min": 45}]}]})

    stops: list[dict[str, Any]] = Field(description="rows: id, name, lat, lon, kg, m3, window_start, window_end (HH:MM), service_min")
    depot: str = Field(default="MY_CBZ", description="MY_CBZ / CD_RAILPORT (pickups) or WH_* (deliveries)")
    kind: Literal["pickup", "delivery"] | None = None
    vehicles: list[VehicleIn] | None = Field(default=None, description="fleet; default: 4.2 m, 7.6 m and 9.6 m trucks")
    speed_kmh: float = Field(default=40.0, gt=0, le=120)
    time_limit_s: float = Field(default=2.0, gt=0, le=300)
    seed: int = 1


@router.post("/pickup-plans", status_code=202, summary="Vehicle routes for pickups or deliveries (VRPTW)",
             responses={201: {"description": "solved inline (small request)"}, 202: {"description": "accepted as a job"},
                        404: {"description": "unknown depot", **_PROBLEM}, 422: {"description": "invalid or infeasible", **_PROBLEM}})
def post_pickup_plan(body: PickupIn, response: Response, net: Network = Depends(get_network),
                     jobs: JobRunner = Depends(get_jobs)) -> dict:
    stops = parse_stops(body.stops, "stops")
    fleet = tuple(Vehicle(**v.model_dump()) for v in body.vehicles) if body.vehicles else DEFAULT_FLEET
    if not fleet:
        raise DataError("vehicles", None, None, "empty fleet")
    problem = build_problem(net, stops, body.depot, kind=body.kind, fleet=fleet, speed_kmh=body.speed_kmh)
    check_problem(problem)  # infeasible windows / capacities are a 422 now, not a failed job

    def run(progress) -> dict:
        return solve_routing(problem, time_limit=body.time_limit_s, seed=body.seed, progress=progress).to_dict()

    inline = len(stops) <= INLINE_MAX_STOPS and body.time_limit_s <= INLINE_MAX_SECONDS
    return start_job(jobs, "pickup-plan", run, response, "/v1/pickup-plans", inline=inline)


@router.get("/pickup-plans/{plan_id}", summary="Status, progress and result of a pickup plan",
            responses={404: {"description": "no such plan", **_PROBLEM}})
def get_pickup_plan(plan_id: str, jobs: JobRunner = Depends(get_jobs)) -> dict:
    return job_or_404(jobs, plan_id, "pickup-plan", "pickup plan").to_dict()
