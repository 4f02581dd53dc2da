"""cbec offers|bookings|settlements ...: shared-warehouse capacity."""

from __future__ import annotations

from api.cli.app import app  # noqa: F401
