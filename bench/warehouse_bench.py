"""Capacitated warehouse location on OR-Library (Beasley 1988): our design model vs the plain strong MIP.

For every instance in ../shared/bench/orlib-cap (capa at each of its four capacities) it solves
with the default method (``auto``: Lagrangian site elimination + strong MIP on capa, the
strong MIP alone on the small instances; SCIP) and reports the objective,
the median solve time of ``--repeats`` runs, the status and the relative gap to the optimum listed
in capopt. The baseline — the plain strong MIP (x_ij <= y_i) solved by SCIP through OR-Tools — is
measured in the same run on the small instances and on capa (capacity 8000), twice: with OR-Tools'
default relative gap (1e-4, the setting of the ~85 s reference figure) and asked for the same proof as
our method (gap 1e-9). On capa both are capped by ``--baseline-limit`` (a run stopped there reports
status "feasible" and its remaining gap).

    .venv/bin/python bench/warehouse_bench.py [--repeats 3] [--baseline-repeats 1] [--quick]

The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from optimizer.warehouses.facility import DesignOptions, solve_design  # noqa: E402
from optimizer.warehouses.orlib import read_capopt, read_orlib_cap  # noqa: E402

BENCH = next((d for d in (ROOT.parent / "shared" / "bench" / "orlib-cap", Path("/work/shared/bench/orlib-cap")) if d.is_dir()),
             ROOT.parent / "shared" / "bench" / "orlib-cap")
SMALL = ["cap41", "cap42", "cap43", "cap44", "cap51", "cap61", "cap62", "cap63", "cap64",
         "cap71", "cap72", "cap73", "cap74", "cap101", "cap102", "cap103", "cap104"]
CAPA = [8000, 10000, 12000, 14000]


def run(problem, method: str, repeats: int, limit: float = 1800.0, rel_gap: float = 1e-9) -> dict:
    times, res = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = solve_design(problem, DesignOptions(method=method, solver="SCIP", time_limit=limit, rel_gap=rel_gap))
        times.append(time.perf_counter() - t0)
    finite = lambda v: v if v == v and abs(v) != float("inf") else None  # noqa: E731  JSON has no NaN
    return {"objective": finite(res.objective), "bound": finite(res.bound), "status": res.status, "mip_gap": finite(res.gap),
            "seconds": round(statistics.median(times), 3), "runs": [round(t, 3) for t in times],
            "sites_kept": res.stats.get("sites_kept"), "open": len(res.open)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline-repeats", type=int, default=1)
    ap.add_argument("--baseline-limit", type=float, default=300.0,
                    help="seconds for each baseline run on capa; a baseline stopped there reports its status and gap")
    ap.add_argument("--quick", action="store_true", help="small instances only (no capa)")
    args = ap.parse_args()
    opt = read_capopt(BENCH / "capopt.txt")
    cases = [(name, None) for name in SMALL] + ([] if args.quick else [("capa", c) for c in CAPA])
    out: dict[str, dict] = {}
    for name, cap in cases:
        problem = read_orlib_cap(BENCH / f"{name}.txt", cap)
        ours = run(problem, "auto", args.repeats if cap in (None, 8000) else 1)
        known = opt[problem.name]
        ours["known"] = known
        ours["gap_to_known"] = abs(ours["objective"] - known) / known
        row = {"ours": ours}
        if cap in (None, 8000):
            # the reference figure (~85 s) is SCIP with OR-Tools' default relative gap (1e-4): measure that,
            # and the same MIP asked for the proof our method gives (gap 1e-9), capped on capa
            base = run(problem, "plain", args.baseline_repeats, args.baseline_limit if cap else 600.0, rel_gap=1e-4)
            base["gap_to_known"] = None if base["objective"] is None else abs(base["objective"] - known) / known
            row["baseline_plain_scip"] = base
            row["speedup"] = round(base["seconds"] / max(ours["seconds"], 1e-9), 2)
            exact = run(problem, "plain", 1, args.baseline_limit if cap else 600.0)
            exact["gap_to_known"] = None if exact["objective"] is None else abs(exact["objective"] - known) / known
            row["baseline_plain_scip_exact"] = exact
        out[problem.name] = row
        print(f"{problem.name:>11}: {ours['objective']:>15,.3f} known {known:>15,.3f} rel.diff {ours['gap_to_known']:.1e} "
              f"{ours['status']:>8} {ours['seconds']:7.2f} s (sites kept {ours['sites_kept']})"
              + (f" | plain SCIP {row['baseline_plain_scip']['seconds']:7.2f} s (gap 1e-4), x{row['speedup']}; exact: "
                 f"{row['baseline_plain_scip_exact']['status']} {row['baseline_plain_scip_exact']['seconds']:.2f} s"
                 if "speedup" in row else ""),
              flush=True)
    all_optimal = all(r["ours"]["status"] == "optimal" and r["ours"]["gap_to_known"] <= 1e-6 for r in out.values())
    summary = {
        "bench": "warehouse", "solver": "SCIP via OR-Tools pywraplp", "method": "auto: plain strong MIP below 20 000 pairs, Lagrangian site elimination + strong MIP above",
        "instances": out, "all_proven_optimal_within_1e-6": all_optimal,
        "max_gap_to_known": max(r["ours"]["gap_to_known"] for r in out.values()),
        "small_total_seconds": round(sum(r["ours"]["seconds"] for k, r in out.items() if not k.startswith("capa")), 3),
    }
    if "capa@8000" in out:
        c8 = out["capa@8000"]
        summary["capa8000"] = {"ours_s": c8["ours"]["seconds"], "ours_status": c8["ours"]["status"],
                               "plain_scip_default_gap_s": c8["baseline_plain_scip"]["seconds"],
                               "plain_scip_default_gap_status": c8["baseline_plain_scip"]["status"],
                               "plain_scip_exact_s": c8["baseline_plain_scip_exact"]["seconds"],
                               "plain_scip_exact_status": c8["baseline_plain_scip_exact"]["status"],
                               "plain_scip_exact_gap": c8["baseline_plain_scip_exact"]["mip_gap"],
                               "speedup_vs_default_gap": c8["speedup"]}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
