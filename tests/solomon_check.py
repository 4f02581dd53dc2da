"""Independent Solomon VRPTW checker: recomputes windows, capacity, fleet, coverage and the DIMACS
distance from the raw instance file, nothing from the solver. Used by tests/test_routing.py and
bench/routing_bench.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def check_solomon(path: Path, routes: list[list[str]]) -> float:
    """Windows, capacity, fleet and coverage of a Solomon plan; returns its DIMACS distance."""
    import vrplib

    inst = vrplib.read_instance(str(path))
    xy = np.asarray(inst["node_coord"], float)
    tw = np.asarray(inst["time_window"], float)
    svc = np.broadcast_to(np.asarray(inst["service_time"], float), (len(xy),))

    def dist(a: int, b: int) -> float:
        return int(10 * float(np.hypot(*(xy[a] - xy[b])))) / 10  # DIMACS: truncated to one decimal

    assert len(routes) <= int(inst["vehicles"])
    total, seen = 0.0, []
    for r in routes:
        stops = [int(s) for s in r]
        assert sum(int(inst["demand"][s]) for s in stops) <= int(inst["capacity"]), f"capacity on {r}"
        t, prev = 0.0, 0
        for s in stops:
            t = max(t + dist(prev, s), tw[s][0])
            assert t <= tw[s][1] + 1e-9, f"stop {s} reached at {t} after its window {tw[s]}"
            t += svc[s]
            total += dist(prev, s)
            prev = s
        total += dist(prev, 0)
        assert t + dist(prev, 0) <= tw[0][1] + 1e-9
        seen += stops
    assert sorted(seen) == list(range(1, len(xy)))
    return round(total, 1)
