"""Durable jobs: records in the database, run by an existing engine (Dask distributed) or in-process workers.

- :mod:`jobs.tables` / :mod:`jobs.records`: the record (kind, owner, status, progress, params, result or
  problem, timestamps, heartbeat, attempts, cancel flag, worker) and its conditional writes;
- :mod:`jobs.kinds`: jobs as data — ``run(params, progress) -> result`` registered by name;
- :mod:`jobs.execution`: one run (progress, heartbeat, cancel, isolation in a child process);
- :mod:`jobs.local` (embedded default) and :mod:`jobs.dask_engine` (``CBEC_DASK_SCHEDULER``): the engines;
- :mod:`jobs.worker`: the task a Dask worker runs (``execute(job_id)``) and the `cbec worker` preload;
- :mod:`jobs.runner`: ``JobRunner``, the service a process holds (quotas, recovery, engine choice).

Sits between ``api`` and ``simulation | iot_ingest`` in the layers contract: it runs the use cases of
the packages below and knows nothing of HTTP.
"""
