"""Schemas of the simulation resource: the request, the accepted job and the simulation's state and result.

Every bound the server enforces is stated here (limits in :mod:`simulation.limits`): the scenario
mapping is the scenario schema itself, with its bounds; the work budget, which depends on several
fields together, is in the request's description.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictBool, StrictFloat, StrictInt, Tag

from api.schemas.common import JobError
from simulation import limits as L
from simulation.scenario import Scenario, bundled_scenarios

BundledScenario = Literal[tuple(bundled_scenarios())]  # type: ignore[valid-type]


def _kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "name"
    if isinstance(value, (dict, Scenario)):
        return "mapping"
    return None


ScenarioRef = Annotated[
    Annotated[BundledScenario, Tag("name")] | Annotated[Scenario, Tag("mapping")],
    Discriminator(_kind, custom_error_type="scenario", custom_error_message="a bundled scenario name or a scenario mapping"),
]

WORK_BUDGET = (
    f"Work budget, checked before the job starts (422 naming the field and the limit): one replication at most "
    f"{L.MAX_CONSIGNMENTS_PER_REPLICATION:,} consignments (sum over flows of lots_per_day x demand multipliers x "
    f"horizon_days) and {L.MAX_EVENTS_PER_REPLICATION:,} estimated simulation events ({L.EVENTS_PER_CONSIGNMENT} per "
    f"consignment, {L.EVENTS_PER_BACKGROUND} per background train or warehouse delivery over horizon + drain days); "
    f"all scenarios x replications at most {L.MAX_EVENTS_PER_REQUEST:,} events; at most {L.MAX_ROUTE_QUOTES:,} route "
    f"quotes per scenario (flows x 168 / routing.hour_bucket). The simulation runs in worker processes, never in the "
    f"API process; at most as many local processes as the server has cores."
)


class SimulationIn(BaseModel):
    __doc__ = "A simulation request: one scenario, optionally compared with a baseline (paired, same seeds). " + WORK_BUDGET

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [
            {"scenario": "baseline", "replications": 4, "horizon_days": 120},
            {"scenario": "more_trains", "compare_with": "baseline", "replications": 6},
        ]},
    )

    scenario: ScenarioRef = Field(description="a bundled scenario name (baseline, more_trains, ...) or a full scenario "
                                              "mapping (no 'extends'; valid on its own, before the overrides below)")
    replications: StrictInt | None = Field(default=None, ge=1, le=L.MAX_REPLICATIONS,
                                     description=f"default: the scenario's; at most {L.MAX_REPLICATIONS}")
    seed: StrictInt | None = Field(default=None, ge=0, le=L.MAX_SEED)
    horizon_days: StrictFloat | None = Field(default=None, gt=0, le=L.MAX_HORIZON_DAYS,
                                       description=f"overrides the scenario's; at most {L.MAX_HORIZON_DAYS:g}")
    warmup_days: StrictFloat | None = Field(default=None, ge=0, le=L.MAX_HORIZON_DAYS,
                                      description="overrides the scenario's; shorter than the horizon")
    workers: StrictInt | None = Field(default=None, ge=1, le=L.MAX_WORKERS,
                                description="local worker processes wanted; capped at the server's cores and at the "
                                            "replications (ignored with a Dask scheduler)")
    compare_with: ScenarioRef | None = Field(default=None, description="a baseline to compare against (paired, same seeds)")
    plots: StrictBool = True
    plot_format: Literal["png", "svg"] = "png"


class SimulationLinks(BaseModel):
    self: str = Field(description="this simulation (absolute URL)")
    job: str = Field(description="the underlying job record")


JobStatus = Literal["queued", "running", "succeeded", "failed"]


class SimulationAccepted(BaseModel):
    """The answer to POST /v1/simulations (202; ``Location`` points at the simulation)."""

    id: str
    status: JobStatus
    scenario: str
    replications: int
    workers: StrictInt | None = Field(default=None, description="local worker processes the run uses (capped at the "
                                                          "server's cores); null on a Dask cluster")
    links: SimulationLinks


class SimulationOut(BaseModel):
    """A simulation's state; once succeeded also its report (KPIs with mean and 95 % CI), comparison and plot URLs.

    Members without a value are left out (``error`` only on failure, the results only on success).
    """

    id: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    message: str
    created_at: str
    links: SimulationLinks
    error: JobError | None = None
    scenario: str | None = None
    report: dict[str, Any] | None = Field(default=None, description="meta, kpis, stages, slots, warehouses, runtime")
    kpis: dict[str, Any] | None = Field(default=None, description="the report's KPIs: {mean, ci95, half_width, n} each")
    comparison: dict[str, Any] | None = Field(default=None, description="paired differences against compare_with")
    plots: list[str] | None = Field(default=None, description="URLs of the plots")
