"""The `cbec` command line. Every command module registers itself on import."""

from __future__ import annotations

from api.cli import db, ingest, network, pickups, plan, quote, serve, simulate, warehouses  # noqa: F401  (registration)
from api.cli.app import app


def main() -> None:
    app()
