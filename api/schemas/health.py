"""Schemas of readiness: each backing service checked, with its state and a short reason."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class CheckOut(BaseModel):
    ok: bool
    detail: str = Field(description="what was checked, or why it failed")
    ms: float | None = Field(default=None, description="time the check took")


class ReadyOut(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, CheckOut] = Field(description="database, broker (when this process ingests), consumer lag")
