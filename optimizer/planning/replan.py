"""Re-planning: a new plan after a change that moves as few shipments as possible.

A change is any mix of cancelled departures, delayed departures, capacity cuts and new shipments.
The previous plan is given as shipment id -> candidate key (``Plan.assignment_keys()``, or the
``plan.key`` field of each assignment in the JSON). Every shipment whose new option differs from
its old one costs ``change_penalty`` in the objective, so the solver moves a shipment only when its
old option is gone (cancelled, full after a cut, too late after a delay) or when moving saves more
than the penalty. With the default penalty (larger than any freight difference) that means: only
the shipments that must move, move.

A change must name real departures: :func:`check_change` (run by :func:`plan_or_replan`, and by
both faces before any work starts) refuses an unknown service, a malformed key, a time at which
the service has no departure, a date outside the plannable window, a delay outside
0..:data:`MAX_DELAY_HOURS` h or a capacity outside 0..:data:`MAX_CAPACITY_TEU` TEU (InvalidInput
naming the field and the key), rather than re-planning with a change that changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from optimizer.errors import DataError, InvalidInput
from optimizer.network import Network
from optimizer.network.model import Capacity
from optimizer.network.progress import ProgressFn
from optimizer.network.timeutil import to_minutes
from optimizer.planning.candidates import CandidateGenerator, PlanSettings, dep_key
from optimizer.planning.planner import Plan, plan
from optimizer.planning.shipments import MAX_DUE_DAYS, Shipment, ready_window


@dataclass(frozen=True)
class Change:
    """What happened since the plan was made. Departure keys are ``SERVICE@YYYY-MM-DDTHH:MMZ``."""

    cancel: frozenset[str] = frozenset()
    delay_hours: Mapping[str, float] = field(default_factory=dict)
    capacity: Mapping[str, Capacity] = field(default_factory=dict)  # replacement capacity of a departure
    add: tuple[Shipment, ...] = ()


DEFAULT_CHANGE_PENALTY = 100_000.0  # per moved shipment: above any freight difference in the data
MAX_CHANGED_DEPARTURES = 1_000  # keys per kind of change (cancel, delay, capacity)
MAX_DELAY_HOURS = 2_160.0  # 90 days
MAX_CAPACITY_TEU = 100_000
KEY_FORMAT = "SERVICE@YYYY-MM-DDTHH:MMZ"


def _show(key: object) -> str:
    text = str(key)
    text = text if len(text) <= 80 else text[:80] + "…"
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


def check_departure_key(net: Network, key: str, field_name: str) -> None:
    """``key`` is a scheduled departure of the network within the plannable dates; else InvalidInput naming ``field_name``."""
    if not isinstance(key, str) or len(key) > 80:
        raise InvalidInput(f"{field_name}: '{_show(key)}' is not a departure key {KEY_FORMAT}", field=field_name, key=_show(key))
    service_id, sep, when = key.partition("@")
    svc = net.services.get(service_id) if sep else None
    if svc is None:
        what = f"unknown service '{_show(service_id)}'" if sep else f"expected {KEY_FORMAT}"
        raise InvalidInput(f"{field_name}: unknown departure '{_show(key)}' ({what})", field=field_name, key=_show(key))
    if svc.schedule.continuous:
        raise InvalidInput(f"{field_name}: {service_id} runs continuously (road); it has no departure '{_show(key)}'",
                           field=field_name, key=_show(key))
    try:
        at = datetime.strptime(when, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"{field_name}: unknown departure '{_show(key)}' (expected {KEY_FORMAT})", field=field_name,
                           key=_show(key)) from None
    lo, hi = ready_window(net)
    if not lo - timedelta(days=7) <= at.date() <= hi + timedelta(days=MAX_DUE_DAYS):
        raise InvalidInput(f"{field_name}: departure '{_show(key)}' is outside the plannable dates {lo}..{hi}",
                           field=field_name, key=_show(key))
    minute = to_minutes(at)
    table = net.departure_table(svc)
    found = table.next_departure(minute - table.cutoff_minutes)
    if found != minute:
        raise InvalidInput(f"{field_name}: {service_id} has no departure at {when}; the next one is {dep_key(service_id, found)}",
                           field=field_name, key=_show(key))


def check_change(net: Network, change: Change, *, cancel: str = "change.cancel", delay: str = "change.delay_hours",
                 capacity: str = "change.capacity_teu") -> None:
    """Refuse a change naming a departure that does not exist or out-of-range numbers (InvalidInput naming the field).

    The field names default to the API's (``change.cancel``...); the CLI passes its flags.
    """
    kinds: tuple[tuple[str, Iterable[str]], ...] = ((cancel, change.cancel), (delay, change.delay_hours), (capacity, change.capacity))
    for name, keys in kinds:
        keys = list(keys)
        if len(keys) > MAX_CHANGED_DEPARTURES:
            raise InvalidInput(f"{name}: at most {MAX_CHANGED_DEPARTURES:,} departures (got {len(keys):,})", field=name)
        for key in keys:
            check_departure_key(net, key, name)
    for key, hours in change.delay_hours.items():
        if not isinstance(hours, (int, float)) or not math.isfinite(hours) or not 0 <= hours <= MAX_DELAY_HOURS:
            raise InvalidInput(f"{delay}: the delay of {_show(key)} must be 0 to {MAX_DELAY_HOURS:,.0f} hours (got {hours!r:.20})",
                               field=delay, key=_show(key))
    for key, cap in change.capacity.items():
        for unit, value, top in (("teu", cap.teu, MAX_CAPACITY_TEU), ("kg", cap.kg, None), ("m3", cap.m3, None)):
            if value is None:
                continue
            if not math.isfinite(value) or value < 0 or (top is not None and value > top):
                limit = f"0 to {top:,}" if top is not None else "a non-negative number"
                raise InvalidInput(f"{capacity}: the {unit} capacity of {_show(key)} must be {limit} (got {value!r:.20})",
                                   field=capacity, key=_show(key))


def replan(
    net: Network,
    shipments: Sequence[Shipment],
    previous: Mapping[str, str],
    change: Change,
    settings: PlanSettings | None = None,
    *,
    change_penalty: float = DEFAULT_CHANGE_PENALTY,
    progress: ProgressFn | None = None,
    inbound: Mapping[str, Mapping[str, float]] | None = None,
) -> Plan:
    """Plan ``shipments`` + ``change.add`` under the change, keeping ``previous`` choices where possible
    (``inbound``: the warehouses' inbound m³ per day, as :class:`CandidateGenerator` reads it).

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
        inbound=inbound,
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
    inbound: Mapping[str, Mapping[str, float]] | None = None,
) -> Plan:
    """What ``cbec plan`` and ``POST /v1/plans`` run: a re-plan when a previous plan or a change is
    given (an empty change, or no previous plan, when only the other is), else a plan. ``errors``
    (the bad rows of the input) are reported in the plan. A change naming departures that do not
    exist is refused (:func:`check_change`). ``inbound``: warehouse -> ISO day -> the inbound m³ the plan
    may send there (shared-warehouse bookings and offers; see :class:`CandidateGenerator`)."""
    if change is not None:
        check_change(net, change)
    if previous is not None or change is not None:
        result = replan(net, shipments, previous or {}, change or Change(), settings, progress=progress, inbound=inbound)
    else:
        gen = CandidateGenerator(net, settings or PlanSettings(), inbound=inbound) if inbound else None
        result = plan(net, shipments, settings, progress=progress, generator=gen)
    result.errors = list(errors)
    return result
