"""Candidate generation in a worker process gives exactly what one process gives."""

from __future__ import annotations

import pickle
import sys

import pytest

from optimizer.network import Network
from optimizer.planning.candidates import CandidateGenerator, PlanSettings
from optimizer.planning.candidates_parallel import generate_candidates, split_lanes
from tests.support.plan_demand import generate_demand, with_rail_capacity
from optimizer.planning.planner import build_problem


def _rows(cands):
    return [(c.shipment.id, c.candidates, c.reason, c.code) for c in cands]


@pytest.fixture(scope="module")
def tight(net: Network) -> Network:
    return with_rail_capacity(net, 4)


@pytest.fixture(scope="module")
def shipments(net: Network):
    return generate_demand(net, 300, weeks=2, seed=17)


def test_network_pickles_to_an_equal_network(net: Network) -> None:
    copy = pickle.loads(pickle.dumps(net))
    assert dict(copy.nodes) == dict(net.nodes) and dict(copy.services) == dict(net.services)
    assert copy.currency == net.currency and dict(copy.circuity) == dict(net.circuity)
    s = net.services_from("CD_RAILPORT")[0]
    assert copy.next_departure_minute(copy.services[s.id], 10_000_000) == net.next_departure_minute(s, 10_000_000)


def test_lanes_stay_whole_and_halves_balance(tight: Network, shipments) -> None:
    gen = CandidateGenerator(tight, PlanSettings())
    a, b = split_lanes(gen, shipments, 2)
    assert sorted(a + b) == list(range(len(shipments)))
    assert not {gen.lane(shipments[i]) for i in a} & {gen.lane(shipments[i]) for i in b}
    biggest = max(sum(1 for s in shipments if gen.lane(s) == gen.lane(x)) for x in shipments)
    assert abs(len(a) - len(b)) <= biggest


@pytest.mark.parametrize("change", [False, True])
def test_worker_process_gives_the_same_candidates_and_problem(tight: Network, shipments, change: bool) -> None:
    settings = PlanSettings()
    kw = {}
    if change:  # a re-plan's generator: cancelled and delayed departures, a kept previous choice
        probe = CandidateGenerator(tight, settings).candidates(shipments[0]).candidates
        departures = [k for c in probe[:2] for k in c.key.split("|", 1)[1].split("+") if "@" in k]
        kw = {"cancelled": frozenset(departures[:1]), "delays_min": {k: 600 for k in departures[1:]},
              "keep": {shipments[1].id: "air|nothing"}}
        assert departures
    one = CandidateGenerator(tight, settings, **kw)
    two = CandidateGenerator(tight, settings, **kw)
    seq = [one.candidates(s) for s in shipments]
    par = generate_candidates(two, shipments, workers=2, min_shipments=0)
    assert _rows(par) == _rows(seq)
    assert two.resources == one.resources and two.pools == one.pools
    p1, r1, k1 = build_problem(seq, one, settings)
    p2, r2, k2 = build_problem(par, two, settings)
    assert (p1, r1, k1) == (p2, r2, k2)


def test_a_failed_worker_leaves_its_half_to_this_process(tight: Network, shipments, monkeypatch) -> None:
    settings = PlanSettings()
    one = CandidateGenerator(tight, settings)
    seq = [one.candidates(s) for s in shipments[:80]]
    for exe in ("/nonexistent/python", "/bin/false"):
        monkeypatch.setattr(sys, "executable", exe)
        gen = CandidateGenerator(tight, settings)
        assert _rows(generate_candidates(gen, shipments[:80], workers=2, min_shipments=0)) == _rows(seq)
