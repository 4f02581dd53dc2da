"""Schemas of the plan resource: a batch of shipments to plan (or re-plan after a change).

The answer is the job record (:class:`api.schemas.common.JobOut`); its ``result`` is the plan as
``cbec plan --json`` prints it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ChangeIn(BaseModel):
    """What happened since the previous plan (re-planning)."""

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
