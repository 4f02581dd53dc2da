"""Capacity-aware quotes: a departure carries at most its capacity less what is held; larger cargo is split.

Issue 20 part 1: 18,000 kg MY_CITY -> DUISBURG was quoted on one passenger-belly flight of 15,000 kg
(AIR_TFU_FRA_P), and 200 t too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.errors import NoRoute
from optimizer.network import Network
from optimizer.network.model import (
    Capacity,
    Cargo,
    ContainerType,
    CustomsMode,
    EmissionFactor,
    HeldSpace,
    Mode,
    Provenance,
    QuoteRequest,
    Schedule,
    Service,
    Status,
    Tariff,
    TransitTime,
)
from optimizer.quotes.quote import MAX_PARTS, build_request, quote, search
from tests.support.bruteforce import brute_force_vectors
from tests.test_quote_property import _node

BELLY = "AIR_TFU_FRA_P"


def _legs_on(options, sid):
    return [leg for o in options for leg in o.legs if leg.service_id == sid]


def test_no_departure_carries_more_than_its_capacity(net):
    options = quote(net, build_request(net, "MY_CITY", "DUISBURG", 18000, 80, "2026-12-01"))
    for o in options:
        for leg in o.legs:
            cap = net.services[leg.service_id].capacity
            if cap.kg is not None and not net.services[leg.service_id].schedule.continuous:
                assert 18000 / leg.parts <= cap.kg + 1e-6, (o.id, leg.service_id, leg.parts)
                assert leg.space_left_kg is not None and leg.space_left_kg >= 0
    belly = _legs_on(options, BELLY)
    # the belly flight, if still on the frontier, is split over two daily departures and priced as two
    for leg in belly:
        assert leg.parts == 2 and leg.split[0].depart - leg.depart == timedelta(days=1)
        assert leg.space_left_kg == pytest.approx(15000 - 9000)
    assert any("split over 2 departures" in n for o in options for n in o.notes) or not belly


def test_two_hundred_tonnes_are_not_flown_on_one_belly(net):
    options = quote(net, build_request(net, "MY_CITY", "DUISBURG", 200_000, 900, "2026-12-01"))
    assert not _legs_on(options, BELLY)  # 14 departures needed: more than MAX_PARTS
    assert 200_000 / 15000 > MAX_PARTS
    for o in options:
        for leg in o.legs:
            cap = net.services[leg.service_id].capacity
            if cap.kg is not None and not net.services[leg.service_id].schedule.continuous:
                assert 200_000 / leg.parts <= cap.kg + 1e-6


def _belly_ready_request(net, kg, held=()):
    req = build_request(net, "TFU", "FRA", kg, kg / 170, "2026-12-01", customs_mode="9710")
    return QuoteRequest(req.origin, req.destination, req.cargo, req.ready, exclude_services=frozenset(
        s for s in net.services if s.startswith("AIR_") and s != BELLY), held=tuple(held))


def test_held_space_moves_the_cargo_to_a_later_departure(net):
    free = quote(net, _belly_ready_request(net, 2000))
    leg = _legs_on(free, BELLY)[0]
    assert leg.space_left_kg == pytest.approx(13000)
    day = leg.depart.astimezone(ZoneInfo("Asia/Shanghai")).date()
    held = quote(net, _belly_ready_request(net, 2000, [HeldSpace(BELLY, day, 14000.0, 10.0)]))
    leg2 = _legs_on(held, BELLY)[0]
    assert leg2.depart - leg.depart == timedelta(days=1)  # 1,000 kg left that day: too little for 2,000 kg
    assert leg2.space_left_kg == pytest.approx(13000)
    exact = quote(net, _belly_ready_request(net, 2000, [HeldSpace(BELLY, day, 13000.0, 10.0)]))
    leg3 = _legs_on(exact, BELLY)[0]
    assert leg3.depart == leg.depart and leg3.space_left_kg == pytest.approx(0)
    # the engine input form: a mapping (service id, local departure date) -> (kg, m3)
    same = quote(net, _belly_ready_request(net, 2000), held={(BELLY, day): (14000.0, 10.0)})
    assert _legs_on(same, BELLY)[0].depart == leg2.depart


def test_split_shipment_equals_brute_force_on_the_bundled_network(net):
    req = _belly_ready_request(net, 40_000)
    day = req.ready.astimezone(ZoneInfo("Asia/Shanghai")).date()
    held = tuple(HeldSpace(BELLY, day + timedelta(days=i), 6000.0 * (i % 2)) for i in range(10))
    import dataclasses

    req = dataclasses.replace(req, held=held)
    _, labels = search(net, req)
    got = sorted(lab.vec for lab in labels)
    want = brute_force_vectors(net, req, max_legs=4, window_days=20)
    assert [g[0] for g in got] == [w[0] for w in want]
    assert all(abs(g[1] - w[1]) < 1e-6 for g, w in zip(got, want))
    options = quote(net, req)
    legs = _legs_on(options, BELLY)
    assert legs and legs[0].parts == 3  # 40 t on 15 t departures
    for lg in legs:
        for d in (lg.departure, *lg.split):
            local = d.depart.astimezone(ZoneInfo("Asia/Shanghai")).date()
            used = 6000.0 * ((local - day).days % 2)
            assert 40_000 / 3 <= 15000 - used + 1e-6  # every part fits what is left that day


def test_no_space_anywhere_says_split_into_shipments():
    P = Provenance("t", "2026-01-01")
    nodes = {"N0": _node(0, True, True), "N1": _node(1, False, False)}
    tariff = Tariff("T", "USD", 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 167.0, True, False, (), {}, P)
    svc = Service("S", Mode.AIR, "N0", "N1", "c", 1000.0, "t", TransitTime(10, 20), Schedule(False, (0, 3), ("10:00",), 2),
                  Capacity(kg=1000.0), tariff, (), frozenset({"general"}), True, "F", Status.ACTIVE, P)
    net = Network(nodes, {"S": svc}, {"F": EmissionFactor("F", Mode.AIR, 500, "TTW", P)},
                  {"20GP": ContainerType("20GP", 1, 21000, 28, P), "40HQ": ContainerType("40HQ", 2, 26000, 66, P)}, {},
                  currency="USD", as_of="2026-01-01", co2e_method="t", circuity={})
    ready = datetime(2026, 3, 2, tzinfo=UTC)
    req = QuoteRequest("N0", "N1", Cargo(20_000, 10, 1, customs_mode=CustomsMode.B2B_DIRECT), ready, horizon_days=30)
    from optimizer.quotes.quote import explain_no_route

    err = explain_no_route(net, req)
    assert isinstance(err, NoRoute) and "split it into several shipments" in err.detail
    ok = QuoteRequest("N0", "N1", Cargo(3_000, 2, 1, customs_mode=CustomsMode.B2B_DIRECT), ready, horizon_days=30)
    _, labels = search(net, ok)
    assert labels  # 3 departures of 1,000 kg


@st.composite
def parallel_lanes(draw):
    """One origin, one foreign destination, 1-3 parallel scheduled services with limited, partly held capacity."""
    P = Provenance("t", "2026-01-01")
    nodes = {"N0": _node(0, True, True), "N1": _node(1, False, False)}
    services, factors = {}, {}
    for k in range(draw(st.integers(1, 3))):
        mode = draw(st.sampled_from([Mode.AIR, Mode.RAIL, Mode.SEA]))
        per_kg = draw(st.floats(0.1, 4))
        fcl = mode is not Mode.AIR and draw(st.booleans())
        tariff = Tariff(f"T{k}", "USD", per_kg, 0.0, 0.0, 900.0 if fcl else 0.0, 1400.0 if fcl else 0.0, 0.0, per_kg * 5,
                        167.0, True, fcl, (), {}, P)
        days = tuple(sorted(set(draw(st.lists(st.integers(0, 6), min_size=1, max_size=4)))))
        factors[f"F{k}"] = EmissionFactor(f"F{k}", mode, draw(st.floats(10, 600)), "TTW", P)
        services[f"S{k}"] = Service(f"S{k}", mode, "N0", "N1", "c", 1000.0, "t", TransitTime(draw(st.floats(5, 400)), 500),
                                    Schedule(False, days, ("08:00",), 4), Capacity(kg=draw(st.floats(500, 30000))), tariff, (),
                                    frozenset({"general"}), True, f"F{k}", Status.ACTIVE, P)
    net = Network(nodes, services, factors,
                  {"20GP": ContainerType("20GP", 1, 21000, 28, P), "40HQ": ContainerType("40HQ", 2, 26000, 66, P)}, {},
                  currency="USD", as_of="2026-01-01", co2e_method="t", circuity={})
    ready = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 200)))
    tz = ZoneInfo("Asia/Shanghai")
    held = tuple(HeldSpace(sid, (ready + timedelta(days=d)).astimezone(tz).date(), kg)
                 for sid, d, kg in draw(st.lists(st.tuples(st.sampled_from(sorted(services)), st.integers(0, 25),
                                                           st.floats(0, 30000)), max_size=10)))
    cargo = Cargo(draw(st.floats(100, 60000)), draw(st.floats(0.5, 100)), 1, customs_mode=CustomsMode.B2B_DIRECT)
    return net, QuoteRequest("N0", "N1", cargo, ready, horizon_days=30, held=held)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parallel_lanes())
def test_capacity_and_splits_keep_the_exact_pareto_set(case):
    net, req = case
    _, labels = search(net, req)
    got = sorted(lab.vec for lab in labels)
    want = brute_force_vectors(net, req, max_legs=3, window_days=30)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[0] == w[0] and abs(g[1] - w[1]) < 1e-6 and abs(g[2] - w[2]) < 1e-6
    for lab in labels:  # every part of every leg fits the space left on its departure
        if lab.arc is not None:
            s = lab.service
            for d in lab.deps:
                left = net.services[s.id].capacity.kg - lab.arc.part.weight_kg - sum(
                    h.kg for h in req.held if h.service_id == s.id
                    and h.depart_date == datetime.fromtimestamp(d * 60, UTC).astimezone(ZoneInfo("Asia/Shanghai")).date())
                assert left >= -1e-6
