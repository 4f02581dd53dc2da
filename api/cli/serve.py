"""`cbec serve`: the main job. API + ingest consumer (+ embedded broker when no CBEC_MQTT_URL).

Start: logging (JSON by default), database migrations (the explicit step, run here), the ingest
service, then uvicorn. Stop, on SIGTERM or SIGINT alike: uvicorn stops taking requests and finishes
those in flight (at most ``GRACE_S``); the job runner stops; the ingest drains what an embedded
broker accepted, stores and acknowledges the last batch, and the broker child stops; then the
process exits. A watchdog ends the process after ``HARD_LIMIT_S`` even if some thread is stuck, and
a second signal ends it at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Annotated

import typer

from api.cli.app import app

GRACE_S = 5.0  # uvicorn: in-flight requests after the signal
INGEST_STOP_S = 10.0  # drain + flush + ack + broker stop
HARD_LIMIT_S = 25.0  # from the signal to the exit, whatever is stuck

log = logging.getLogger("cbec.serve")


class _Signals:
    """SIGTERM/SIGINT handlers that outlive uvicorn: uvicorn restores the handlers it found and
    re-raises the signal it caught once it has stopped; ours then only start the watchdog, so
    the orderly shutdown below runs (Python's default SIGTERM would kill the process first)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._watchdog: threading.Timer | None = None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame) -> None:
        if self.received is not None and self._watchdog is not None:
            os._exit(128 + signum)  # a second signal: stop now
        self.received = signum
        self.arm()

    def arm(self) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Timer(HARD_LIMIT_S, _hard_exit)
            self._watchdog.daemon = True
            self._watchdog.start()


def _hard_exit() -> None:
    log.error("shutdown took longer than %.0f s; exiting", HARD_LIMIT_S)
    logging.shutdown()
    os._exit(70)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port")] = 8000,
    ingest: Annotated[bool, typer.Option("--ingest/--no-ingest", help="also run the MQTT ingest consumer")] = True,
) -> None:
    """Run the API (uvicorn) and the ingest consumer; without CBEC_MQTT_URL also an embedded MQTT broker."""
    import uvicorn

    from api.app import create_app
    from api.cli.common import console, errors_as_exit
    from api.observability import configure_logging
    from storage.db import open_db
    from optimizer.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    signals = _Signals()
    svc = None
    with errors_as_exit():
        db = open_db(settings.database_url, migrate=True)  # migrations: explicit, at start of the server
        if ingest:
            from iot_ingest.runner import IngestService

            svc = IngestService(db=db).start()
    if svc is not None:
        console.print(f"ingest: {svc.describe()}")
    state = {"ingest_db": db}
    if svc is not None:
        state.update(ingest_pipeline=svc.pipeline, ingest_consumer=svc.consumer, ingest_broker=svc.broker)
    application = create_app(network=svc.net if svc else None, **state)
    server = uvicorn.Server(uvicorn.Config(application, host=host, port=port, log_config=None,
                                           timeout_graceful_shutdown=int(GRACE_S)))
    code = 0
    try:
        server.run()
        if not server.started and signals.received is None:
            code = 1  # e.g. the port is taken (uvicorn logged why)
    finally:
        signals.arm()  # from here on the exit is bounded, whatever hangs
        log.info("stopping", extra={"signal": signals.received})
        application.state.jobs.shutdown()
        if svc is not None:
            svc.stop(timeout=INGEST_STOP_S)
        db.dispose()
        log.info("stopped")
        logging.shutdown()
        # job threads still computing must not hold the exit (their work is lost either way)
        os._exit(code)
