"""Instants stored as epoch milliseconds, written as ISO 8601 in UTC (one spelling for the API, CLI and events)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_ms(ms: int | None, *, zulu: bool = False, timespec: str = "seconds") -> str | None:
    """``ms`` (epoch milliseconds) as ISO 8601 UTC; None stays None. ``zulu`` writes ``Z`` for ``+00:00``;
    ``timespec`` as :meth:`datetime.isoformat` (``"auto"`` keeps the microseconds when there are any)."""
    if ms is None:
        return None
    text = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec=timespec)
    return text.replace("+00:00", "Z") if zulu else text
