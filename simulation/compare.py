"""Scenario comparison: paired differences over common random numbers, with 95 % CIs and significance.

Replication *i* of every compared scenario uses the same seeds (same root seed, same replication
index, same named streams), so the difference B_i - A_i removes most of the shared noise and a
paired Student-t interval on the differences is much tighter than comparing two separate CIs.
A difference is *significant* when its 95 % interval excludes zero.
"""

from __future__ import annotations

import math
from typing import Any

from simulation.kpis import NAN, t_interval

HEADLINE = ("kpis.throughput_per_day", "kpis.lead_time_days", "kpis.lead_time_days.p90", "kpis.on_time_rate",
            "kpis.wip", "kpis.cost_per_t", "kpis.co2e_kg_per_t")


def _r(x: float | None, d: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, d)


def paired_differences(base: list[dict[str, Any]], other: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Flat name -> {baseline, scenario, difference, ci95, relative, significant, n} for KPIs in both runs."""
    by_rep_b = {r["replication"]: r["flat"] for r in base}
    by_rep_o = {r["replication"]: r["flat"] for r in other}
    reps = sorted(set(by_rep_b) & set(by_rep_o))
    keys = [k for k in by_rep_b[reps[0]] if k in by_rep_o[reps[0]]] if reps else []
    out: dict[str, dict[str, Any]] = {}
    for k in keys:
        b = [by_rep_b[i].get(k, NAN) for i in reps]
        o = [by_rep_o[i].get(k, NAN) for i in reps]
        d = [y - x for x, y in zip(b, o)]
        st, sb, so = t_interval(d), t_interval(b), t_interval(o)
        if st["n"] == 0:
            continue
        lo, hi = st["ci95"]
        sig = lo is not None and (lo > 0 or hi < 0)
        rel = st["mean"] / sb["mean"] if sb["mean"] else None
        out[k] = {"baseline": _r(sb["mean"]), "scenario": _r(so["mean"]), "difference": _r(st["mean"]),
                  "ci95": [_r(lo), _r(hi)], "relative": _r(rel), "significant": bool(sig), "n": st["n"]}
    return out


def _nest(flat: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(flat, key=lambda k: k.count(".")):
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node.setdefault(parts[-1], {}).update(flat[key])
    return out


def compare(runs: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Compare every scenario with the first one. ``runs``: [(name, replication results), ...]."""
    if len(runs) < 2:
        raise ValueError("compare needs at least two scenarios")
    base_name, base = runs[0]
    comparisons = []
    for name, other in runs[1:]:
        flat = paired_differences(base, other)
        comparisons.append({
            "scenario": name,
            "headline": {k.removeprefix("kpis."): flat[k] for k in HEADLINE if k in flat},
            "significant": sorted(k for k, v in flat.items() if v["significant"]),
            "differences": _nest(flat),
        })
    return {"baseline": base_name, "replications": len(base), "method": "paired t over common random numbers, 95 %",
            "comparisons": comparisons}
