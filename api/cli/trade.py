"""cbec records|checks ...: the exchange records and the three-document check."""

from __future__ import annotations

from api.cli.app import app  # noqa: F401
