"""Calibration of the route-choice logit to published mode shares (issue 20 item 6).

The simulation routes each flow by a multinomial logit over generalised cost plus a constant per main
mode (:mod:`simulation.route_choice`, :func:`optimizer.quotes.choice.logit_shares`). This module fits
those parameters so that a scenario's Europe-bound shares by value (rail / air / sea) match published
targets for Sichuan's Europe-bound exports (:data:`SICHUAN_EUROPE_BY_VALUE`; the sources and the
arithmetic are in docs/quotes.md, "Calibration of the logit").

The shares are computed by the simulation's own route choice: every flow's choice set is quoted once
per ready-time bucket of the week with :meth:`simulation.route_choice.Router.choice_shares` (the same
call the simulation's route cache makes), flows with a fixed policy or a given plan keep the route the
simulation gives them, and each bucket's probabilities are weighted by the flow's value (lots per day x
kg per lot x value per kg of its customs mode). The fit is least squares on the shares, by a small
Nelder-Mead search (no SciPy in the environment), over the main-mode constants (air and sea; rail is the
reference) and, if asked, the scale.

    >>> from optimizer.network import load_network
    >>> from simulation.scenario import BUNDLED_DIR, load_scenario
    >>> net = load_network(); sc = load_scenario(BUNDLED_DIR / "baseline.yaml", net)
    >>> model = ShareModel(net, sc)
    >>> abs(sum(model.shares(sc.routing.logit).by_value.values()) - 1) < 1e-9
    True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from optimizer.errors import InvalidInput
from optimizer.network import Network
from simulation.route_choice import Router, choice_probabilities
from simulation.scenario import Logit, Scenario

# destination countries counted as "Europe-bound" (Europe west of the Urals and the EU; Russia included:
# the China-Europe trains' figures count Moscow and Minsk too)
EUROPE = frozenset({"AT", "BE", "BG", "BY", "CH", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU",
                    "IE", "IT", "LT", "LU", "LV", "NL", "NO", "PL", "PT", "RO", "RS", "RU", "SE", "SI", "SK", "UA"})
MODES = ("rail", "air", "sea")


@dataclass(frozen=True, slots=True)
class Target:
    """A published share of one main mode (by value) with the interval the sources allow."""

    mode: str
    share: float  # point target (centre of the interval), 0..1
    low: float
    high: float
    source: str


# Sichuan's Europe-bound exports by value (derivation and URLs: docs/quotes.md, "Calibration of the logit")
SICHUAN_EUROPE_BY_VALUE: tuple[Target, ...] = (
    Target("rail", 0.21, 0.12, 0.32,
           "China-Europe trains (Chengdu-Chongqing) 2021: >4,800 trains, >200 bn CNY, 55 % return trains (People's "
           "Daily 2022-07-02); Chengdu's share, ~60 % Sichuan cargo (Xinhua 2018-12-13); Sichuan-EU trade Jan-Oct "
           "2021 138.7 bn CNY, exports 59 % of Sichuan's trade (Chengdu Customs, 2021-11-14)"),
    Target("air", 0.30, 0.18, 0.44,
           "the non-rail remainder split as extra-EU imports 2024 (Eurostat: air 18.3 %, sea 51.3 % by value: air "
           "26.3 % of air+sea) up to 50 % air [A] for Sichuan's electronics-heavy exports (66-88 % machinery and "
           "electrical, Chengdu Customs 2021-04-18, 2023-05-17)"),
    Target("sea", 0.49, 0.34, 0.65, "the remainder: 100 % - rail - air"),
)
# how strongly rail's share answers its price: unit elastic [A], within the range surveys report for freight
# facing intermodal competition (Oum, Waters & Yong 1990, World Bank WPS 359: transport demand is inelastic,
# "exceptions are ... some freight shipments subject to intermodal competition")
RAIL_COST_ELASTICITY = Target("rail", -1.0, -1.5, -0.5, "[A] unit elastic; Oum, Waters & Yong 1990 (World Bank WPS 359)")


@dataclass(frozen=True, slots=True)
class ModeShares:
    """Europe-bound shares of the main modes, by value and by weight (each sums to 1)."""

    by_value: dict[str, float]
    by_weight: dict[str, float]


@dataclass(frozen=True, slots=True)
class _Cell:
    """One flow in one ready-time bucket: its weights and either a choice set (logit) or a fixed mode."""

    fi: int
    kg_per_day: float
    value_per_day: float
    options: tuple | None  # logit choice set (Options), or None when the route is fixed
    fixed_mode: str | None


class ShareModel:
    """A scenario's Europe-bound flows with their choice sets quoted once: the mode shares of any logit."""

    def __init__(self, net: Network, sc: Scenario, destinations: frozenset[str] = EUROPE) -> None:
        self.sc = sc
        self.router = Router(net, sc)
        lg = sc.routing.logit
        self.cells: list[_Cell] = []
        for fi, f in enumerate(sc.demand):
            if net.nodes[f.destination].country not in destinations:
                continue
            kg = f.lots_per_day * f.lot.weight_kg
            value = kg * lg.value_per_kg.get(f.customs_mode, 0.0)
            logit = (f.policy or sc.routing.policy) == "logit" and not f.route
            for b in self.router.buckets():
                if logit:
                    opts = tuple(o for o, _ in self.router.choice_shares(fi, self.router.bucket_ready(b)))
                    self.cells.append(_Cell(fi, kg, value, opts, None))
                else:  # fixed policy or plan: the route the simulation takes, whatever the logit says
                    mode = self.router.bucket_route(fi, b).main_mode
                    self.cells.append(_Cell(fi, kg, value, None, mode))
        if not self.cells:
            raise InvalidInput("no demand flow to a destination in the calibration region", field="demand")

    def shares(self, lg: Logit, cost_factor: dict[str, float] | None = None) -> ModeShares:
        """Expected shares (the logit's probabilities, not the drawn slots) under parameters ``lg``.

        ``cost_factor`` multiplies the freight cost of every option of a main mode (for elasticities).
        """
        kg: Counter[str] = Counter()
        val: Counter[str] = Counter()
        for c in self.cells:
            if c.options is None:
                kg[c.fixed_mode] += c.kg_per_day
                val[c.fixed_mode] += c.value_per_day
                continue
            probs = choice_probabilities(list(c.options), self.sc.demand[c.fi], lg, cost_factor)
            for o, p in zip(c.options, probs, strict=True):
                kg[o.main_mode.value] += p * c.kg_per_day
                val[o.main_mode.value] += p * c.value_per_day
        return ModeShares(_normalise(val), _normalise(kg))


def rail_cost_elasticity(model: ShareModel, lg: Logit, step: float = 0.01) -> float:
    """Own-cost elasticity of rail's share by value: d ln(share) / d ln(rail freight cost), central difference."""
    up = model.shares(lg, {"rail": 1.0 + step}).by_value["rail"]
    down = model.shares(lg, {"rail": 1.0 - step}).by_value["rail"]
    return (math.log(up) - math.log(down)) / (math.log(1.0 + step) - math.log(1.0 - step))


def simulated_shares(net: Network, sc: Scenario, destinations: frozenset[str] = EUROPE) -> ModeShares:
    """Shares of the routes the simulation's cache actually holds (every bucket and logit slot, equally likely)."""
    router = Router(net, sc)
    kg: Counter[str] = Counter()
    val: Counter[str] = Counter()
    lg = sc.routing.logit
    for fi, f in enumerate(sc.demand):
        if net.nodes[f.destination].country not in destinations:
            continue
        slots = range(lg.draws) if (f.policy or sc.routing.policy) == "logit" and not f.route else (0,)
        for b in router.buckets():
            for j in slots:
                mode = router.bucket_route(fi, b, j).main_mode
                w = f.lots_per_day * f.lot.weight_kg / len(slots)
                kg[mode] += w
                val[mode] += w * lg.value_per_kg.get(f.customs_mode, 0.0)
    return ModeShares(_normalise(val), _normalise(kg))


@dataclass(frozen=True, slots=True)
class Fit:
    """The fitted logit, its shares and rail elasticity, the residual and whether every figure is in its interval."""

    logit: Logit
    shares: ModeShares
    rail_elasticity: float
    sse: float
    within: bool
    evaluations: int


def objective(shares: ModeShares, targets: Sequence[Target], rail_elasticity: float | None = None,
              elasticity: Target | None = None) -> float:
    """Sum of squared differences from the point targets: shares by value, and the rail cost elasticity
    (its difference divided by 10, so 0.1 of elasticity weighs as 1 point of share)."""
    sse = sum((shares.by_value.get(t.mode, 0.0) - t.share) ** 2 for t in targets)
    if elasticity is not None and rail_elasticity is not None:
        sse += ((rail_elasticity - elasticity.share) / 10.0) ** 2
    return sse


def within(shares: ModeShares, targets: Sequence[Target], rail_elasticity: float | None = None,
           elasticity: Target | None = None) -> bool:
    """Every share by value (and the rail elasticity, when targeted) lies in its target's interval."""
    ok = all(t.low <= shares.by_value.get(t.mode, 0.0) <= t.high for t in targets)
    if elasticity is not None and rail_elasticity is not None:
        ok = ok and elasticity.low <= rail_elasticity <= elasticity.high
    return ok


def fit(model: ShareModel, targets: Sequence[Target] = SICHUAN_EUROPE_BY_VALUE,
        elasticity: Target | None = RAIL_COST_ELASTICITY, *, start: Logit | None = None,
        max_evaluations: int = 600) -> Fit:
    """Least-squares fit of the air and sea constants, and of the scale when ``elasticity`` is given.

    Shares alone do not pin the scale (a smaller scale is offset by larger constants, with the same
    shares); the scale sets how strongly the shares answer a change of price, so it is fitted to the
    rail cost elasticity target. Without one, the scale stays as in ``start`` (default the scenario's).
    """
    base = start or model.sc.routing.logit
    fit_scale = elasticity is not None

    def logit_of(x: Sequence[float]) -> Logit:
        constants = {**base.mode_constants, "air": _clip(x[0]), "sea": _clip(x[1])}
        scale = min(10.0, max(1e-3, base.scale * 2.0 ** x[2])) if fit_scale else base.scale
        return base.model_copy(update={"mode_constants": constants, "scale": scale})

    def f(x: Sequence[float]) -> float:
        lg = logit_of(x)
        e = rail_cost_elasticity(model, lg) if fit_scale else None
        return objective(model.shares(lg), targets, e, elasticity)

    x0 = [base.mode_constants.get("air", 0.0), base.mode_constants.get("sea", 0.0)] + ([0.0] if fit_scale else [])
    x, evaluations = nelder_mead(f, x0, step=0.5, max_evaluations=max_evaluations)
    lg = logit_of(x)
    lg = lg.model_copy(update={"mode_constants": {m: round(v, 3) for m, v in lg.mode_constants.items()},
                               "scale": round(lg.scale, 3)})
    shares = model.shares(lg)
    e = rail_cost_elasticity(model, lg)
    return Fit(lg, shares, e, objective(shares, targets, e, elasticity), within(shares, targets, e, elasticity),
               evaluations)


def nelder_mead(f: Callable[[Sequence[float]], float], x0: Sequence[float], *, step: float = 1.0,
                tol: float = 1e-10, max_evaluations: int = 2000) -> tuple[list[float], int]:
    """Minimise ``f`` from ``x0`` by the Nelder-Mead simplex (standard coefficients); returns (x, evaluations)."""
    n = len(x0)
    simplex = [list(x0)] + [[x0[j] + (step if j == i else 0.0) for j in range(n)] for i in range(n)]
    values = [f(p) for p in simplex]
    evaluations = n + 1
    while evaluations < max_evaluations:
        order = sorted(range(n + 1), key=values.__getitem__)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if values[-1] - values[0] <= tol and max(abs(a - b) for p in simplex[1:] for a, b in zip(p, simplex[0])) < 1e-6:
            break
        centre = [sum(p[j] for p in simplex[:-1]) / n for j in range(n)]
        worst = simplex[-1]
        reflected = [c + (c - w) for c, w in zip(centre, worst)]
        fr = f(reflected)
        evaluations += 1
        if fr < values[0]:
            expanded = [c + 2.0 * (c - w) for c, w in zip(centre, worst)]
            fe = f(expanded)
            evaluations += 1
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = [c + 0.5 * (w - c) for c, w in zip(centre, worst)]
            fc = f(contracted)
            evaluations += 1
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:  # shrink towards the best point
                simplex = [simplex[0]] + [[b + 0.5 * (a - b) for a, b in zip(p, simplex[0])] for p in simplex[1:]]
                values = [values[0]] + [f(p) for p in simplex[1:]]
                evaluations += n
    best = min(range(n + 1), key=values.__getitem__)
    return simplex[best], evaluations


def _clip(k: float) -> float:
    return min(30.0, max(-30.0, k))  # the scenario schema's bounds


def _normalise(c: Counter[str]) -> dict[str, float]:
    total = sum(c.values())
    return {m: (c.get(m, 0.0) / total if total else 0.0) for m in sorted(set(c) | set(MODES))}
