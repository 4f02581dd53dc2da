"""Choice among the Pareto options: generalised cost and a multinomial logit.

Generalised cost of an option = its total cost + value of time per day x its p50 door-to-door days.
The value of time is the request's ``value_of_time_per_day`` when given; otherwise a share of the
declared goods value per day (``destination.yaml`` ``value_of_time.share_of_value_per_day``, default
0.1 %/day: carrying cost of stock plus a lost-sales premium for e-commerce goods); without a declared
value, the goods are valued at a default value per kg by customs mode (same file). The option with
the least generalised cost is tagged ``recommended``.

The simulation routes flows by a multinomial logit over generalised cost (:func:`logit_shares`): the
probability of option i is exp(-GC_i / (scale x GC_min)) / sum_j exp(-GC_j / (scale x GC_min)), so
``scale`` is the relative cost difference at which choices spread out (0.1: an option 10 % dearer in
generalised cost is chosen e^-1 = 0.37 times as often), the same for a parcel bag and a block train.
Alternative-specific constants (one per main mode in the simulation, fitted to published mode shares by
``simulation.calibration``) add to the utility: what generalised cost leaves out (reliability, habit,
minimum lots, shippers' own contracts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from optimizer.network.model import Option, QuoteRequest


def value_of_time_per_day(dd, req: QuoteRequest, share_per_day: float | None = None) -> float:
    """Value of one day of transit for ``req`` (network currency): given, or a share of the goods value."""
    if req.value_of_time_per_day is not None:
        return float(req.value_of_time_per_day)
    vot = dd.value_of_time
    share = vot.share_of_value_per_day if share_per_day is None else share_per_day
    value = req.goods_value
    if value is None:
        value = vot.default_value_per_kg.get(req.cargo.customs_mode.value, 0.0) * req.cargo.weight_kg
    return share * value


def generalised_cost(option: Option, value_of_time: float) -> float:
    """Cost + value of time x p50 door-to-door days."""
    return option.cost_total + value_of_time * option.door_days_p50


def logit_shares(costs: Sequence[float], scale: float, constants: Sequence[float] | None = None) -> list[float]:
    """Choice probabilities of a multinomial logit over generalised ``costs`` (relative ``scale``; 0: cheapest only).

    Option i's utility is -(GC_i - GC_min) / (scale x GC_min) + ``constants[i]`` (an alternative-specific
    constant, e.g. its main mode's; none: 0); probabilities are softmax of the utilities. With scale 0 (or a
    non-positive least cost) the constants are ignored and the cheapest option takes everything.
    """
    if not costs:
        return []
    low = min(costs)
    if scale <= 0 or low <= 0:
        best = costs.index(low)
        return [1.0 if i == best else 0.0 for i in range(len(costs))]
    if constants is None:
        constants = [0.0] * len(costs)
    elif len(constants) != len(costs):
        raise ValueError(f"{len(constants)} constants for {len(costs)} costs")
    u = [-(c - low) / (scale * low) + k for c, k in zip(costs, constants, strict=True)]
    top = max(u)  # subtract the largest utility: exp never overflows, whatever the constants
    w = [math.exp(x - top) for x in u]
    total = sum(w)
    return [x / total for x in w]
