"""Re-planning moves only the shipments that must move."""

from __future__ import annotations

import pytest

from optimizer.network.model import Capacity
from tests.support.plan_demand import generate_demand
from optimizer.planning.planner import PlanSettings, plan, plan_to_dict
from optimizer.planning.replan import Change, replan


@pytest.fixture(scope="module")
def base(net):
    shipments = [s for s in generate_demand(net, 120, weeks=1, seed=21) if s.destination in ("LODZ", "WH_LODZ", "DUISBURG", "HAMBURG")]
    settings = PlanSettings(time_limit_s=10)
    return shipments, settings, plan(net, shipments, settings)


def _busiest_rail_departure(p) -> tuple[str, set[str]]:
    on: dict[str, set[str]] = {}
    for sid, c in p.assignments().items():
        for part in c.key.split("|", 1)[1].split("/")[0].split("+"):
            if part.startswith("CRE_") and "@" in part:
                on.setdefault(part, set()).add(sid)
    key = max(on, key=lambda k: len(on[k]))
    return key, on[key]


def test_cancelled_departure_moves_only_its_shipments(net, base) -> None:
    shipments, settings, p = base
    key, riders = _busiest_rail_departure(p)
    assert riders
    q = replan(net, shipments, p.assignment_keys(), Change(cancel=frozenset({key})), settings)
    assert set(q.moved) == riders
    assert all(key not in c.key for c in q.assignments().values())
    assert q.evaluation.feasible
    doc = plan_to_dict(net, q, options=False)
    assert set(doc["moved"]) == riders


def test_capacity_cut_and_new_shipments(net, base) -> None:
    shipments, settings, p = base
    key, riders = _busiest_rail_departure(p)
    extra = [s for s in generate_demand(net, 30, weeks=1, seed=99) if s.destination == "DUISBURG"][:3]
    extra = [type(s)(f"NEW-{s.id}", s.origin, s.destination, s.cargo, s.ready, s.due, s.value, None) for s in extra]
    q = replan(net, shipments, p.assignment_keys(), Change(capacity={key: Capacity(teu=0, kg=0, m3=0)}, add=tuple(extra)), settings)
    assert set(q.moved) <= riders | set()
    assert set(q.moved) == riders  # nothing fits on a zero-capacity departure
    ids = {s.id for s in q.shipments}
    assert {s.id for s in extra} <= ids
    assert q.evaluation.feasible


def test_delay_keeps_shipments_when_still_best(net, base) -> None:
    shipments, settings, p = base
    key, riders = _busiest_rail_departure(p)
    q = replan(net, shipments, p.assignment_keys(), Change(delay_hours={key: 12}), settings)
    # a half-day delay is cheaper to absorb than moving (change penalty), so nobody moves
    assert q.moved == []
    moved_arrivals = [c.arrive for sid, c in q.assignments().items() if sid in riders]
    before = [c.arrive for sid, c in p.assignments().items() if sid in riders]
    assert sorted(a - b for a, b in zip(sorted(moved_arrivals), sorted(before), strict=True)) == [720] * len(riders)
