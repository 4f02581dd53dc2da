"""cbec rates ...: an organisation's own rate sheets."""

from __future__ import annotations

from api.cli.app import app  # noqa: F401
