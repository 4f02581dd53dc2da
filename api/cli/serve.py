"""`cbec serve`: the main job. API + ingest consumer (+ embedded broker when no CBEC_MQTT_URL).

Start: logging (JSON by default), database migrations (the explicit step, run here), the ingest
service, then uvicorn. Stop, on SIGTERM or SIGINT alike: uvicorn stops taking requests and finishes
those in flight (at most ``GRACE_S``); the job runner stops; the ingest drains what an embedded
broker accepted, stores and acknowledges the last batch, and the broker child stops; then the
process exits. A watchdog ends the process after ``HARD_LIMIT_S`` even if some thread is stuck, and
a second signal ends it at once.

``--workers N`` (N > 1) runs N API processes (uvicorn workers of ``api.app:create_app``) on one port,
stateless: every job record, shipment and reading is in the database, so a job submitted through
one process is polled and cancelled through any other. This process supervises them and owns the webhook delivery worker, the
ingest consumer and — when no ``CBEC_DASK_SCHEDULER`` is set — job execution: its
``CBEC_JOB_WORKERS`` in-process workers run the queue, and the API processes only write records
(they start with ``CBEC_JOB_WORKERS=0``). So N API processes never mean N times the solver load on
the machine. With a scheduler, every process submits to the cluster and `cbec worker` processes run
the jobs. (Any process with job workers may run the queue safely anyway: claims are atomic.)
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
    workers: Annotated[int, typer.Option(min=1, max=64, help="API processes sharing the port and the database "
                                                             "(jobs run in this process, or on the Dask cluster)")] = 1,
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
        from accounts.store import ensure_demo_org

        demo = ensure_demo_org(db)  # an empty database: the demo organisation and its admin key (printed once)
        if ingest:
            from iot_ingest.runner import IngestService

            svc = IngestService(db=db).start()
        # partners' webhooks: delivered wherever the service runs (events come from API requests too); the
        # ingest service runs a delivery worker, without it this process does (one per server; claims in the db)
        from webhooks.delivery import DeliveryWorker

        hooks = [] if svc is not None else [DeliveryWorker.from_settings(db, settings).start()]
    if demo is not None:
        console.print(f"demo organisation '{demo[0].name}' created; its admin API key, shown this once (send it as "
                      f"X-API-Key; more keys: cbec keys create --org {demo[0].name}):", soft_wrap=True)
        console.print(demo[1], soft_wrap=True, highlight=False)
    if svc is not None:
        console.print(f"ingest: {svc.describe()}")
    state = {"ingest_db": db}
    if svc is not None:
        state.update(ingest_pipeline=svc.pipeline, ingest_consumer=svc.consumer, ingest_broker=svc.broker)
    if workers > 1:
        _serve_processes(settings, db, svc, signals, host, port, workers, hooks)
        return
    application = create_app(network=svc.net if svc else None, **state)
    server = uvicorn.Server(uvicorn.Config(application, host=host, port=port, log_config=None,
                                           timeout_graceful_shutdown=int(GRACE_S)))
    code = 0
    try:
        server.run()
        if not server.started and signals.received is None:
            code = 1  # e.g. the port is taken (uvicorn logged why)
    finally:
        _stop(signals, [application.state.jobs, *hooks], svc, db, code)


def _stop(signals: _Signals, runners: list, svc, db, code: int) -> None:
    """The orderly end, bounded by the watchdog: jobs, simulations, ingest, database; then exit."""
    from simulation import runner as simulation_runner

    signals.arm()  # from here on the exit is bounded, whatever hangs
    log.info("stopping", extra={"signal": signals.received})
    for runner in runners:
        runner.shutdown()  # in-process jobs stop and go back to the queue (stored: the next start re-runs them)
    simulation_runner.shutdown()  # simulations' workers, and the fork server of simulations and solver jobs
    _stop_resource_tracker()
    if svc is not None:
        svc.stop(timeout=INGEST_STOP_S)
    db.dispose()
    log.info("stopped")
    logging.shutdown()
    # job threads still computing must not hold the exit (their records are back in the queue)
    os._exit(code)


def _stop_resource_tracker(timeout: float = 2.0) -> None:
    """The fork server's companion process (multiprocessing's resource tracker) exits with the last process
    holding its pipe; stop it now rather than just after this process exits (never waiting longer than
    ``timeout``)."""

    def stop() -> None:
        try:
            from multiprocessing import resource_tracker

            resource_tracker._resource_tracker._stop()  # private API: on failure it still exits after us
        except Exception as exc:  # noqa: BLE001
            log.debug("resource tracker: %s", type(exc).__name__)

    t = threading.Thread(target=stop, name="cbec-resource-tracker-stop", daemon=True)
    t.start()
    t.join(timeout)


def _child_log_config(fmt: str, level: str) -> dict:
    """The API processes log as this one does (api.observability.configure_logging), one object per line."""
    formatter = ({"()": "api.observability.JsonFormatter"} if fmt == "json"
                 else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"})
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"main": formatter},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}},
            "root": {"handlers": ["stderr"], "level": level.upper()},
            "loggers": {"uvicorn": {"handlers": [], "propagate": True},
                        "uvicorn.error": {"handlers": [], "propagate": True},
                        "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"}}}


def _serve_processes(settings, db, svc, signals: _Signals, host: str, port: int, workers: int, hooks: list) -> None:
    """N API processes (uvicorn's supervisor); this process keeps the ingest and, without a scheduler, the jobs."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from api.cli.common import console
    from jobs.runner import JobRunner

    runners = list(hooks)  # the webhook delivery worker (without the ingest): here, not in each API process
    if not settings.dask_scheduler:
        runner = JobRunner(settings=settings, network=svc.net if svc else None, db=db)
        runner.start()
        runners.append(runner)
        os.environ["CBEC_JOB_WORKERS"] = "0"  # the API processes queue jobs; this one runs them
        console.print(f"jobs: {settings.job_workers} in-process workers in the supervisor process {os.getpid()}")
    else:
        console.print(f"jobs: on the Dask cluster at {settings.dask_scheduler} (`cbec worker`)")
    config = uvicorn.Config("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                            log_config=_child_log_config(settings.log_format, settings.log_level), access_log=False,
                            timeout_graceful_shutdown=int(GRACE_S))
    code = 0
    try:
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
    except OSError as exc:  # e.g. the port is taken
        log.error("cannot serve on %s:%d: %s", host, port, exc)
        code = 1
    finally:
        _stop(signals, runners, svc, db, code)
