"""Schemas of the rate-sheet resource (an organisation's own rates; format in docs/rate_sheets.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RateSheetOut(BaseModel):
    """One stored version of a sheet; ``lines`` (the validated rates) on GET of one sheet and after an upload."""

    name: str
    version: int = Field(description="1 for the first upload of a name, +1 for each new upload")
    status: str = Field(description="active (used by the organisation's quotes) | superseded (a newer version is "
                                    "active) | retired")
    filename: str
    line_count: int
    currencies: list[str]
    valid_from: str = Field(description="the earliest line's valid_from")
    valid_to: str = Field(description="the latest line's valid_to")
    created_at: str
    retired_at: str | None
    lines: list[dict[str, Any]] | None = None


class RateSheetListOut(BaseModel):
    """The latest version of each of the organisation's sheets."""

    sheets: list[RateSheetOut]
