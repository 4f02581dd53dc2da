"""Property: on random small networks the label search returns exactly the brute-force Pareto set.

The networks have departures with limited capacity and space already held on some of them (cargo
larger than a departure is split over several), tariffs with both LCL and containers (a container
that continues loose pays CFS destuffing), door-delivery parcel products, and destinations abroad
(import clearance and final delivery)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.bruteforce import brute_force_vectors
from optimizer.network.model import (
    Capacity,
    Cargo,
    HeldSpace,
    ParcelRate,
    WeightBreak,
    CargoClass,
    ContainerType,
    CustomsMode,
    EmissionFactor,
    Mode,
    Node,
    NodeKind,
    Provenance,
    QuoteRequest,
    Schedule,
    Service,
    Status,
    Tariff,
    TransitTime,
)
from optimizer.network import Network
from optimizer.quotes.quote import search

P = Provenance("test", "2026-01-01")
CLASSES = [c.value for c in CargoClass]


def _node(i: int, cn: bool, clears: bool) -> Node:
    return Node(
        id=f"N{i}", name=f"node {i}", kind=NodeKind.MARKET, country="CN" if cn else "PL", lat=30.0 + i, lon=100.0 - i,
        tz="Asia/Shanghai" if cn else "Europe/Warsaw", status=Status.ACTIVE, handling_hours=i % 3 * 4.0,
        handling_cost=10.0 * (i % 2), handling_cost_per_t=1.0, customs_modes=frozenset({"9710", "9610"}) if clears else frozenset(),
        clearance_hours=3.0, clearance_cost=20.0, geofence_radius_m=1000.0, serves_markets=(), capacity_m3=0.0,
        fixed_cost_month=0.0, storage_cost_m3_day=0.0, inbound_m3_per_day=0.0, provenance=P,
    )


service_spec = st.tuples(
    st.integers(0, 5), st.integers(0, 5),  # from, to
    st.sampled_from(list(Mode)),
    st.floats(1, 400),  # p50 hours
    st.floats(10, 3000),  # km
    st.floats(0.05, 5.0),  # per kg
    st.lists(st.integers(0, 6), min_size=1, max_size=3),  # weekdays
    st.sampled_from(["00:00", "06:30", "13:15", "21:45"]),
    st.floats(0, 72),  # cutoff
    st.one_of(st.just(["general"]), st.just(CLASSES), st.lists(st.sampled_from(CLASSES), min_size=1, max_size=4)),
    st.floats(5, 800),  # g/tkm
    st.one_of(st.none(), st.floats(300, 40000)),  # capacity kg per departure
    st.one_of(st.none(), st.tuples(st.floats(200, 3000), st.floats(300, 5000))),  # 20GP / 40HQ prices
    st.booleans(),  # a door-delivery parcel product (9610 only)
)


@st.composite
def networks(draw):
    n_cn = draw(st.integers(1, 3))
    n = draw(st.integers(n_cn + 1, 6))
    clears = draw(st.lists(st.sampled_from([True, True, False]), min_size=n, max_size=n))
    nodes = {f"N{i}": _node(i, i < n_cn, clears[i]) for i in range(n)}
    specs = draw(st.lists(service_spec, min_size=6, max_size=24))
    services, factors = {}, {}
    for k, (a, b, mode, p50, km, per_kg, days, time, cutoff, classes, g, cap, boxes, door) in enumerate(specs):
        a, b = a % n, b % n
        if a == b:
            continue
        fcl = boxes is not None and mode in (Mode.RAIL, Mode.SEA)
        p20, p40 = boxes if fcl else (0.0, 0.0)
        parcel = None
        if door:
            parcel = ParcelRate(f"P{k}", "parcel", "postal", per_kg, (WeightBreak(10, per_kg * 3), WeightBreak(30, per_kg * 2)),
                                30.0, 0.2, 0.05, 0.5, 200.0, 0.1)
        tariff = Tariff(f"T{k}", "USD", per_kg, 0.0, per_kg / 100, p20, p40, 0.0, per_kg * 5, 200.0, True, fcl, (), {}, P,
                        parcel=parcel)
        continuous = mode is Mode.ROAD and not door
        sched = Schedule(True) if continuous else Schedule(False, tuple(sorted(set(days))), (time,), cutoff)
        factors[f"F{k}"] = EmissionFactor(f"F{k}", mode, g, "TTW", P)
        services[f"S{k}"] = Service(
            id=f"S{k}", mode=mode, origin=f"N{a}", destination=f"N{b}", carrier="c", distance_km=km, distance_method="t",
            transit=TransitTime(p50, p50 * 1.5, 0.0), schedule=sched,
            capacity=Capacity(kg=cap) if cap is not None and not continuous else Capacity(), tariff=tariff, stops=(),
            allowed_classes=frozenset(classes), international=door or (a < n_cn) != (b < n_cn),
            emission_factor=f"F{k}", status=Status.ACTIVE, provenance=P,
            customs_modes=frozenset({"9610"}) if door else frozenset(), door=door,
        )
    containers = {"20GP": ContainerType("20GP", 1, 21000, 28, P), "40HQ": ContainerType("40HQ", 2, 26000, 66, P)}
    net = Network(nodes, services, factors, containers, {}, currency="USD", as_of="2026-01-01", co2e_method="t",
                  circuity={"road": 1.3})
    dest = draw(st.integers(1, n - 1))
    cls = draw(st.sampled_from(["general", "general", "general"] + CLASSES))
    parcels = draw(st.booleans())
    weight = draw(st.floats(1, 30000))
    pieces = max(1, int(weight / draw(st.floats(0.5, 25)))) if parcels else 1
    cargo = Cargo(weight, draw(st.floats(0.01, 80)), pieces, CargoClass(cls),
                  CustomsMode.B2C_PARCEL if parcels else CustomsMode.B2B_DIRECT)
    ready = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 14 * 1440)))
    held = []
    for sid, day, kg in draw(st.lists(st.tuples(st.sampled_from(sorted(services) or ["S0"]), st.integers(0, 30),
                                                st.floats(0, 40000)), max_size=8)):
        if sid in services:
            tz = ZoneInfo(nodes[services[sid].origin].tz)
            held.append(HeldSpace(sid, (ready + timedelta(days=day)).astimezone(tz).date(), kg))
    return net, QuoteRequest("N0", f"N{dest}", cargo, ready, horizon_days=40, held=tuple(held))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_label_search_equals_brute_force_pareto_set(case):
    net, req = case
    _, labels = search(net, req)
    got = sorted((lab.time, lab.cost, lab.co2) for lab in labels)
    want = brute_force_vectors(net, req, max_legs=12, window_days=40)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[0] == w[0] and abs(g[1] - w[1]) < 1e-6 and abs(g[2] - w[2]) < 1e-6
