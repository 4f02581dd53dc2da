"""`cbec serve`: the main job. API + ingest consumer (+ embedded broker when no CBEC_MQTT_URL)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.app import app


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
    ingest: Annotated[bool, typer.Option("--ingest/--no-ingest", help="also run the MQTT ingest consumer")] = True,
) -> None:
    """Run the API (uvicorn) and the ingest consumer; without CBEC_MQTT_URL also an embedded MQTT broker."""
    import uvicorn

    from api.app import create_app
    from api.cli.common import console, errors_as_exit

    svc = None
    if ingest:
        from iot_ingest.runner import IngestService

        with errors_as_exit():
            svc = IngestService().start()
        console.print(f"ingest: {svc.describe()}")
    try:
        state = {"ingest_pipeline": svc.pipeline} if svc else {}
        uvicorn.run(create_app(network=svc.net if svc else None, **state), host=host, port=port, log_level="info")
    finally:  # uvicorn returns on Ctrl-C: flush and ack the last batch, then stop the broker
        if svc is not None:
            svc.stop()
