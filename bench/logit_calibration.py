"""Calibration of the simulation's route-choice logit to Sichuan's published Europe-bound mode shares.

    .venv/bin/python bench/logit_calibration.py [--scenario PATH] [--from-scratch] [--no-elasticity]

Quotes the scenario's Europe-bound flows once per ready-time bucket (the simulation's own choice sets,
:class:`simulation.calibration.ShareModel`), then fits the logit's main-mode constants (air, sea) and
scale by least squares to the targets in :data:`simulation.calibration.SICHUAN_EUROPE_BY_VALUE` and the
rail cost elasticity :data:`simulation.calibration.RAIL_COST_ELASTICITY` (sources: docs/quotes.md).
``--from-scratch`` starts from the uncalibrated logit (scale 0.1, no constants) instead of the scenario's
parameters. Prints the shares before (the uncalibrated logit over the Pareto set only, as before the
calibration) and after, expected (the logit's probabilities) and as the simulation's route cache draws
them (20 slots per bucket); the last line is one JSON object with the fitted parameters and figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from optimizer.network import load_network  # noqa: E402
from simulation.calibration import (  # noqa: E402
    RAIL_COST_ELASTICITY, SICHUAN_EUROPE_BY_VALUE, ModeShares, ShareModel, fit, rail_cost_elasticity, simulated_shares,
)
from simulation.scenario import BUNDLED_DIR, load_scenario  # noqa: E402


def _pct(s: dict[str, float]) -> dict[str, float]:
    return {m: round(100 * s.get(m, 0.0), 1) for m in ("rail", "air", "sea")}


def _line(label: str, sh: ModeShares) -> str:
    v, w = _pct(sh.by_value), _pct(sh.by_weight)
    return (f"  {label:<34} value rail {v['rail']:5.1f}  air {v['air']:5.1f}  sea {v['sea']:5.1f}   "
            f"weight rail {w['rail']:5.1f}  air {w['air']:5.1f}  sea {w['sea']:5.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(BUNDLED_DIR / "baseline.yaml"))
    ap.add_argument("--from-scratch", action="store_true", help="start from scale 0.1 and no constants")
    ap.add_argument("--no-elasticity", action="store_true", help="keep the scale, fit the constants only")
    args = ap.parse_args()

    net = load_network()
    sc = load_scenario(args.scenario, net)
    t0 = time.perf_counter()
    model = ShareModel(net, sc)
    t_quote = time.perf_counter() - t0
    lg = sc.routing.logit
    before = lg.model_copy(update={"scale": 0.1, "mode_constants": {}, "mode_alternatives": False})
    old_model = ShareModel(net, sc.model_copy(update={"routing": sc.routing.model_copy(update={"logit": before})}))
    start = lg.model_copy(update={"scale": 0.1, "mode_constants": {}}) if args.from_scratch else lg
    t1 = time.perf_counter()
    res = fit(model, elasticity=None if args.no_elasticity else RAIL_COST_ELASTICITY, start=start,
              max_evaluations=1500 if args.from_scratch else 600)
    t_fit = time.perf_counter() - t1
    sc_before = sc.model_copy(update={"routing": sc.routing.model_copy(update={"logit": before})})
    sc_after = sc.model_copy(update={"routing": sc.routing.model_copy(update={"logit": res.logit})})
    sim_before, sim_after = simulated_shares(net, sc_before), simulated_shares(net, sc_after)

    print(f"scenario {sc.name}: {len(model.cells)} flow-buckets to Europe, quoted in {t_quote:.1f} s; "
          f"fit {t_fit:.1f} s ({res.evaluations} evaluations)")
    print("targets (by value): " + ", ".join(f"{t.mode} {100 * t.share:.0f} % [{100 * t.low:.0f}, {100 * t.high:.0f}]"
                                              for t in SICHUAN_EUROPE_BY_VALUE)
          + f"; rail cost elasticity {RAIL_COST_ELASTICITY.share:g} [{RAIL_COST_ELASTICITY.low:g}, {RAIL_COST_ELASTICITY.high:g}]")
    print(f"before: scale {before.scale}, no constants, Pareto options only; "
          f"rail elasticity {rail_cost_elasticity(old_model, before):.2f}")
    print(_line("expected (logit probabilities)", old_model.shares(before)))
    print(_line("simulated (route cache slots)", sim_before))
    print(f"after: scale {res.logit.scale}, constants {res.logit.mode_constants}, "
          f"rail elasticity {res.rail_elasticity:.2f}, SSE {res.sse:.2e}, within intervals: {res.within}")
    print(_line("expected (logit probabilities)", res.shares))
    print(_line("simulated (route cache slots)", sim_after))
    print(json.dumps({
        "scenario": sc.name, "scale": res.logit.scale, "mode_constants": res.logit.mode_constants,
        "rail_elasticity": round(res.rail_elasticity, 3), "sse": res.sse, "within": res.within,
        "evaluations": res.evaluations, "fit_s": round(t_fit, 1), "quote_s": round(t_quote, 1),
        "targets_by_value": {t.mode: t.share for t in SICHUAN_EUROPE_BY_VALUE},
        "before_by_value": _pct(old_model.shares(before).by_value), "before_sim_by_value": _pct(sim_before.by_value),
        "before_sim_by_weight": _pct(sim_before.by_weight),
        "after_by_value": _pct(res.shares.by_value), "after_by_weight": _pct(res.shares.by_weight),
        "after_sim_by_value": _pct(sim_after.by_value), "after_sim_by_weight": _pct(sim_after.by_weight),
    }))


if __name__ == "__main__":
    main()
