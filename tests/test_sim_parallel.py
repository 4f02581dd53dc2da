"""Replications on a real Dask LocalCluster give the same numbers as a serial run."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.runner import run_replications
from simulation.scenario import load_scenario, parse_scenario


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as c:
        yield c


def test_dask_cluster_matches_serial(cluster, monkeypatch):
    sc = load_scenario("baseline")
    sc = parse_scenario({**sc.to_doc(), "horizon_days": 60.0, "warmup_days": 10.0, "drain_days": 50.0}, "short")
    serial = run_replications(sc, 3, workers=1)
    # the environment variable selects Dask, as in production
    monkeypatch.setenv("CBEC_DASK_SCHEDULER", cluster.scheduler_address)
    from optimizer.settings import get_settings

    get_settings.cache_clear()
    try:
        seen: list[tuple[float, str]] = []
        dask = run_replications(sc, 3, progress=lambda f, m="": seen.append((f, m)))
    finally:
        monkeypatch.delenv("CBEC_DASK_SCHEDULER")
        get_settings.cache_clear()
    assert seen[-1][0] == 1.0 and "(dask)" in seen[-1][1]
    for a, b in zip(serial, dask):
        assert a["replication"] == b["replication"]
        assert np.array_equal(np.array(list(a["flat"].values())), np.array(list(b["flat"].values())), equal_nan=True)
