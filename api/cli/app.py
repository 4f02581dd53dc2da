"""The root Typer app and the command groups shared by several modules.

Each command module (api/cli/<topic>.py) imports ``app`` or a group from here and registers its
commands; api/cli/__init__.py imports every module once.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cbec",
    help="cbec-logistics: route quotes, batch plans, warehouse design, pickups, tracking and simulation "
    "for the Mianyang cross-border e-commerce pilot zone.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# `cbec warehouses design|stock` (optimizer) and `cbec warehouses status` (ingest) share this group.
warehouses_app = typer.Typer(help="Shared overseas warehouses: network design, stock positioning, live status.", no_args_is_help=True)
app.add_typer(warehouses_app, name="warehouses")
