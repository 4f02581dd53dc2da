"""cbec stats ...: statistics, exports and the bulletin."""

from __future__ import annotations

from api.cli.app import app  # noqa: F401
