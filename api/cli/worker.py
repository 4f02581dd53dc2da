"""`cbec worker`: a worker process of the job engine (Dask distributed), on this machine or any other.

It is ``dask worker`` with this package importable and its job kinds registered (preload
``jobs.worker``): it runs the jobs the API submits to ``CBEC_DASK_SCHEDULER``, reading and writing
their records in ``CBEC_DATABASE_URL`` (which must be reachable from here and migrated). At start it
recovers jobs whose worker stopped (stale heartbeat). Start as many as you like, on as many machines;
stop one with SIGTERM (its running jobs are re-run elsewhere by the scheduler) or SIGKILL (the same,
counted as an attempt). Solver jobs run in a child process each (cancel terminates it), so the
worker processes are started non-daemonic.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from api.cli.app import app


@app.command("worker")
def worker_cmd(
    scheduler: Annotated[str | None, typer.Option(help="tcp://host:8786 of the scheduler (default CBEC_DASK_SCHEDULER)")] = None,
    nthreads: Annotated[int, typer.Option(min=1, max=256, help="jobs run at once by each worker process")] = 2,
    nworkers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    nanny: Annotated[bool, typer.Option("--nanny/--no-nanny", help="a nanny restarts a worker process that dies")] = True,
    name: Annotated[str | None, typer.Option(help="worker name (default: the scheduler assigns one)")] = None,
    memory_limit: Annotated[str, typer.Option(help="per worker process, e.g. 4GiB (auto: share of this machine)")] = "auto",
    preload: Annotated[list[str] | None, typer.Option(help="also import this module (or .py file) in each worker, "
                                                            "e.g. one registering job kinds of your own")] = None,
    dashboard: Annotated[bool, typer.Option("--dashboard/--no-dashboard", help="serve the worker dashboard")] = False,
) -> None:
    """Run a job worker of the Dask cluster at CBEC_DASK_SCHEDULER (records in CBEC_DATABASE_URL)."""
    from api.cli.common import errors_as_exit
    from optimizer.errors import InvalidInput
    from optimizer.settings import get_settings
    from storage.db import open_db

    settings = get_settings()
    address = scheduler or settings.dask_scheduler
    with errors_as_exit():
        if not address:
            raise InvalidInput("no scheduler: set CBEC_DASK_SCHEDULER (or --scheduler tcp://host:8786)", field="scheduler")
        open_db(settings.database_url).dispose()  # reachable and migrated, else one line saying what to run
    # a job's solver runs in a child process of its own: worker processes must be allowed children
    os.environ["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    import dask

    dask.config.set({"distributed.worker.daemon": False})
    args = [address, "--nthreads", str(nthreads), "--nworkers", str(nworkers), "--memory-limit", memory_limit,
            "--nanny" if nanny else "--no-nanny", "--dashboard" if dashboard else "--no-dashboard",
            "--preload", "jobs.worker"]
    for module in preload or []:
        args += ["--preload", module]
    if name:
        args += ["--name", name]
    from distributed.cli.dask_worker import main as dask_worker

    dask_worker.main(args=args, prog_name="cbec worker", standalone_mode=True)
