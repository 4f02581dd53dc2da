"""The `cbec` command line. Every command module registers itself on import."""

from __future__ import annotations

from api.cli import (accounts, db, ingest, jobs, mqtt, network, pickups, plan, quote, rate_sheets, serve, sharing, simulate, space, stats, trade,
                     warehouses, webhooks, worker)  # noqa: F401  (registration)
import typer

from api.cli.app import app


def main() -> None:
    """The ``cbec`` entry point: usage errors are one line too, and JSON under ``--json``."""
    import sys

    from api.cli.common import ClickException, print_json

    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except ClickException as exc:
        message = " ".join(exc.format_message().split())
        if "--json" in sys.argv[1:]:
            print_json({"error": {"title": "usage error", "detail": message, "exit_code": exc.exit_code}})
        else:
            sys.stderr.write(f"error: {message}\n")
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
