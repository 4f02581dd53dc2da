"""VRPTW routing on Solomon instances (DIMACS rounding): our engine (PyVRP) at 5 s and 30 s per instance.

For each instance in ../shared/bench/solomon it solves at each time limit, checks the plan with an
independent checker (distances recomputed from the coordinates, windows, capacity, fleet) and
reports the distance, the vehicles and the gap to the best-known ``.sol`` cost. The baseline,
measured in the same run, is OR-Tools routing (parallel cheapest insertion + guided local search)
on a few instances at the shorter limit.

    .venv/bin/python bench/routing_bench.py [--limits 5 30] [--baseline C101 R101 RC101 R201] [--instances ...]

The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from optimizer.pickups.vrptw import solve_routing  # noqa: E402
from optimizer.pickups.vrplib_reader import read_sol_cost, read_vrplib  # noqa: E402
from tests.solomon_check import check_solomon as check  # noqa: E402

BENCH = next((d for d in (ROOT.parent / "shared" / "bench" / "solomon", Path("/work/shared/bench/solomon")) if d.is_dir()),
             ROOT.parent / "shared" / "bench" / "solomon")




def ortools_baseline(path: Path, seconds: float) -> float | None:
    """OR-Tools routing on the same integer data; None when it finds no feasible plan."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    p = read_vrplib(path)
    n = len(p.ids)
    k = p.vehicles[0].count
    man = pywrapcp.RoutingIndexManager(n, k, 0)
    model = pywrapcp.RoutingModel(man)
    dist = p.distance.tolist()
    travel = [[dist[a][b] + int(p.service[a]) for b in range(n)] for a in range(n)]
    cb = model.RegisterTransitCallback(lambda i, j: dist[man.IndexToNode(i)][man.IndexToNode(j)])
    model.SetArcCostEvaluatorOfAllVehicles(cb)
    tcb = model.RegisterTransitCallback(lambda i, j: travel[man.IndexToNode(i)][man.IndexToNode(j)])
    model.AddDimension(tcb, 10**6, int(p.tw_late[0]), False, "time")
    time_dim = model.GetDimensionOrDie("time")
    for node in range(1, n):
        time_dim.CumulVar(man.NodeToIndex(node)).SetRange(int(p.tw_early[node]), int(p.tw_late[node]))
    dem = p.demand[:, 0].tolist()
    dcb = model.RegisterUnaryTransitCallback(lambda i: dem[man.IndexToNode(i)])
    model.AddDimensionWithVehicleCapacity(dcb, 0, [p.vehicles[0].capacity[0]] * k, True, "load")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    sol = model.SolveWithParameters(params)
    return None if sol is None else sol.ObjectiveValue() / 10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limits", type=float, nargs="+", default=[5.0, 30.0])
    ap.add_argument("--instances", nargs="*", default=None)
    ap.add_argument("--baseline", nargs="*", default=["C101", "R101", "RC101", "R201"])
    args = ap.parse_args()
    names = args.instances or sorted(p.stem for p in BENCH.glob("*.vrp"))
    out: dict[str, dict] = {}
    for name in names:
        path = BENCH / f"{name}.vrp"
        best = read_sol_cost(BENCH / f"{name}.sol")
        row: dict[str, object] = {"best_known": best}
        for limit in args.limits:
            res = solve_routing(read_vrplib(path), time_limit=limit, seed=1)
            checked = check(path, [r.stops for r in res.routes])
            gap = (res.distance - best) / best * 100
            assert abs(checked - round(res.distance, 1)) < 1e-6, (checked, res.distance)
            row[f"{limit:g}s"] = {"distance": round(res.distance, 1), "vehicles": res.vehicles, "gap_pct": round(gap, 4),
                                  "seconds": round(res.solve_seconds, 2), "feasible_checked": True}
            print(f"{name:>6} {limit:>4g} s: {res.distance:9.1f} (best {best:9.1f}) gap {gap:7.3f} % "
                  f"vehicles {res.vehicles:2d}", flush=True)
        if name in args.baseline:
            base = ortools_baseline(path, min(args.limits))
            row[f"ortools_{min(args.limits):g}s"] = None if base is None else {
                "distance": base, "gap_pct": round((base - best) / best * 100, 4)}
            print(f"{name:>6} OR-Tools {min(args.limits):g} s: " + ("no feasible plan" if base is None else
                  f"{base:9.1f} gap {(base - best) / best * 100:7.3f} %"), flush=True)
        out[name] = row
    summary: dict[str, object] = {"bench": "routing", "engine": "pyvrp (HGS)", "rounding": "DIMACS", "instances": out}
    for limit in args.limits:
        key = f"{limit:g}s"
        summary[f"mean_gap_pct_{key}"] = round(statistics.mean(r[key]["gap_pct"] for r in out.values()), 4)
    base_key = f"ortools_{min(args.limits):g}s"
    bl = [(n, r[base_key]) for n, r in out.items() if base_key in r]
    if bl:
        found = [b for _, b in bl if b is not None]
        summary[f"baseline_{base_key}"] = {
            "instances": [n for n, _ in bl], "found": len(found),
            "mean_gap_pct": round(statistics.mean(b["gap_pct"] for b in found), 4) if found else None,
            "ours_mean_gap_pct_same_instances": round(statistics.mean(out[n][f"{min(args.limits):g}s"]["gap_pct"] for n, _ in bl), 4)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
