"""Reader for VRPLIB VRPTW instances (Solomon via CVRPLIB / PyVRP Instances) into a RoutingProblem.

Convention of the best-known ``.sol`` files in ../shared/bench/solomon (DIMACS rounding): every
distance and duration is the Euclidean distance truncated to one decimal, so the problem is kept in
integer tenths (``distance_unit`` 0.1); windows and service times are scaled by 10 as well. The
objective is total distance; vehicles cost nothing and at most ``VEHICLES`` (25) may be used.
Stop ids are location indices as the ``.sol`` files write them: "0" is the depot, "1".."100" the
customers (VRPLIB node k+1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optimizer.errors import DataError
from optimizer.pickups.limits import MAX_STOPS, MAX_VRPLIB_BYTES
from optimizer.pickups.vrptw import RoutingProblem, VehicleKind


def dimacs_matrix(coords: np.ndarray) -> np.ndarray:
    """Euclidean distances x 10, truncated: DIMACS rounding in integer tenths."""
    diff = coords[:, None, :] - coords[None, :, :]
    return (10 * np.sqrt((diff**2).sum(axis=2))).astype(np.int64)


def read_vrplib(path: str | Path) -> RoutingProblem:
    """Read a VRPLIB (CVRPTW) file; raises DataError naming the file and the missing/invalid section."""
    import vrplib

    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_VRPLIB_BYTES:
        raise DataError(path.name, None, None, f"larger than {MAX_VRPLIB_BYTES:,} bytes")
    try:
        inst = vrplib.read_instance(str(path))
    except FileNotFoundError:
        raise
    except Exception as exc:  # vrplib raises bare ValueError/IndexError on malformed text
        raise DataError(path.name, None, None, f"not a readable VRPLIB file ({type(exc).__name__}: {exc})") from None
    for key in ("node_coord", "demand", "capacity"):
        if key not in inst:
            raise DataError(path.name, None, key.upper(), "section missing")
    coords = np.asarray(inst["node_coord"], dtype=float)
    n = len(coords)
    if n > MAX_STOPS + 1:
        raise DataError(path.name, None, "DIMENSION", f"{n:,} nodes; at most {MAX_STOPS + 1:,} (a depot and {MAX_STOPS:,} customers)")
    if coords.ndim != 2 or coords.shape[1] != 2 or not np.all(np.isfinite(coords)):
        raise DataError(path.name, None, "NODE_COORD_SECTION", "needs two finite coordinates per node")
    if int(inst.get("dimension", n)) != n:
        raise DataError(path.name, None, "DIMENSION", f"says {inst['dimension']} but NODE_COORD_SECTION has {n} nodes")
    demand = np.asarray(inst["demand"], dtype=float)
    if demand.shape != (n,) or np.any(demand < 0) or np.any(demand != np.round(demand)):
        raise DataError(path.name, None, "DEMAND_SECTION", "needs one non-negative integer demand per node")
    tw = np.asarray(inst.get("time_window", [[0, 10**8]] * n), dtype=float)
    if tw.shape != (n, 2):
        raise DataError(path.name, None, "TIME_WINDOW_SECTION", f"needs {n} rows of two values")
    bad = np.flatnonzero(tw[:, 0] > tw[:, 1])
    if len(bad):
        raise DataError(path.name, f"node {bad[0] + 1}", "TIME_WINDOW_SECTION", "window starts after it ends")
    service = np.broadcast_to(np.asarray(inst.get("service_time", 0), dtype=float), (n,)).copy()
    service[0] = 0
    dist = dimacs_matrix(coords)
    try:
        cap = int(inst["capacity"])
        vehicles = int(inst.get("vehicles", n - 1))
    except (TypeError, ValueError, OverflowError):
        raise DataError(path.name, None, "CAPACITY", "CAPACITY and VEHICLES must be integers") from None
    if not (1 <= cap <= 10**9 and 1 <= vehicles <= max(1, n - 1)):
        raise DataError(path.name, None, "CAPACITY", f"CAPACITY must be in [1, 1e9] and VEHICLES in [1, {max(1, n - 1)}]")
    return RoutingProblem(
        name=str(inst.get("name", path.stem)),
        ids=tuple(str(k) for k in range(n)),
        distance=dist,
        duration=dist.copy(),
        demand=demand.astype(np.int64)[:, None],
        tw_early=np.round(tw[:, 0] * 10).astype(np.int64),
        tw_late=np.round(tw[:, 1] * 10).astype(np.int64),
        service=np.round(service * 10).astype(np.int64),
        vehicles=(VehicleKind("vehicle", vehicles, (cap,)),),
        dims=("demand",),
        kind="delivery",
        distance_unit=0.1,
        time_unit="0.1 time units",
        cost_unit=0.1,
        coords=coords,
    )


def read_sol_cost(path: str | Path) -> float:
    """The ``Cost`` line of a VRPLIB ``.sol`` file."""
    for line in Path(path).read_text().splitlines():
        if line.lower().startswith("cost"):
            return float(line.split()[1])
    raise DataError(Path(path).name, None, "Cost", "no Cost line")
