"""Schemas shared by every resource: RFC 9457 problem details and the job record."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the offending field ('' for the whole body)")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem-details body (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "about:blank", "title": "Unknown node", "status": 404, "instance": "/v1/quotes",
        "detail": "unknown node 'LDZ' (destination); did you mean LODZ, WH_LODZ?", "field": "destination",
        "suggestions": ["LODZ", "WH_LODZ"]}]})

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = Field(default=None, description="the input field at fault, where there is one")
    errors: list[FieldError] | None = Field(default=None, description="every invalid field (422 on validation)")


class JobError(BaseModel):
    model_config = ConfigDict(extra="allow")
    title: str
    status: int
    detail: str
    field: str | None = None


JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class _JobFields(BaseModel):
    """What every view of a job shows."""

    id: str
    kind: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    message: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: JobError | None = Field(default=None, description="why it failed or was cancelled (a problem, never a trace)")
    attempts: int = Field(default=0, ge=0, description="runs started: more than one when its worker stopped under it "
                                                       "and it was run again")
    cancel_requested: bool = Field(default=False, description="DELETE /v1/jobs/{id} was called; a running job stops "
                                                              "within a few seconds")


class JobSummaryOut(_JobFields):
    """A job in a list: its record without the result (GET the job, or its resource, for that)."""

    links: dict[str, str] = Field(description="self: the job; resource: the resource that started it")


class JobOut(_JobFields):
    """A background job: status, progress and (once finished) its result or error."""

    result: Any = Field(default=None, description="the resource's result once succeeded (shape per kind)")


class JobListOut(BaseModel):
    """One page of the caller's jobs, newest first."""

    items: list[JobSummaryOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page; null on the last page")
