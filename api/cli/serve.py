"""`cbec serve`: the main job. API on embedded defaults (ingest and broker join in iot_ingest)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.app import app


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
) -> None:
    """Run the API (uvicorn) on the bundled network and embedded defaults."""
    import uvicorn

    from api.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")
