"""Schemas of the simulation resource: the request, the accepted job and the simulation's state and result."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import JobError


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
