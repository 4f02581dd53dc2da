"""Re-planning: a new plan after a change that moves as few shipments as possible.

A change is any mix of cancelled departures, delayed departures, capacity cuts and new shipments.
The previous plan is given as shipment id -> candidate key (``Plan.assignment_keys()``, or the
``plan.key`` field of each assignment in the JSON). Every shipment whose new option differs from
its old one costs ``change_penalty`` in the objective, so the solver moves a shipment only when its
old option is gone (cancelled, full after a cut, too late after a delay) or when moving saves more
than the penalty. With the default penalty (larger than any freight difference) that means: only
the shipments that must move, move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from optimizer.errors import DataError
from optimizer.network import Network
from optimizer.network.model import Capacity
from optimizer.network.progress import ProgressFn
from optimizer.planning.candidates import CandidateGenerator, PlanSettings
from optimizer.planning.planner import Plan, plan
from optimizer.planning.shipments import Shipment


@dataclass(frozen=True)
class Change:
    """What happened since the plan was made. Departure keys are ``SERVICE@YYYY-MM-DDTHH:MMZ``."""

    cancel: frozenset[str] = frozenset()
    delay_hours: Mapping[str, float] = field(default_factory=dict)
    capacity: Mapping[str, Capacity] = field(default_factory=dict)  # replacement capacity of a departure
    add: tuple[Shipment, ...] = ()


DEFAULT_CHANGE_PENALTY = 100_000.0  # per moved shipment: above any freight difference in the data


def replan(
    net: Network,
    shipments: Sequence[Shipment],
    previous: Mapping[str, str],
    change: Change,
    settings: PlanSettings | None = None,
    *,
    change_penalty: float = DEFAULT_CHANGE_PENALTY,
    progress: ProgressFn | None = None,
) -> Plan:
    """Plan ``shipments`` + ``change.add`` under the change, keeping ``previous`` choices where possible.

    The result's ``moved`` lists previously planned shipments whose option changed.
    """
    settings = settings or PlanSettings()
    gen = CandidateGenerator(
        net,
        settings,
        cancelled=frozenset(change.cancel),
        delays_min={k: round(h * 60) for k, h in change.delay_hours.items()},
        capacity=change.capacity,
        keep=previous,
    )
    known = {s.id for s in shipments}
    allship = list(shipments) + [s for s in change.add if s.id not in known]
    return plan(net, allship, settings, generator=gen, previous=previous, change_penalty=change_penalty, progress=progress)


def plan_or_replan(
    net: Network,
    shipments: Sequence[Shipment],
    settings: PlanSettings | None = None,
    *,
    previous: Mapping[str, str] | None = None,
    change: Change | None = None,
    errors: Sequence[DataError] = (),
    progress: ProgressFn | None = None,
) -> Plan:
    """What ``cbec plan`` and ``POST /v1/plans`` run: a re-plan when a previous plan or a change is
    given (an empty change, or no previous plan, when only the other is), else a plan. ``errors``
    (the bad rows of the input) are reported in the plan."""
    if previous is not None or change is not None:
        result = replan(net, shipments, previous or {}, change or Change(), settings, progress=progress)
    else:
        result = plan(net, shipments, settings, progress=progress)
    result.errors = list(errors)
    return result
