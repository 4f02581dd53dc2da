"""Quote engine on the bundled network: structure, schedules, Pareto, plausibility, rules, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from optimizer.errors import InvalidInput, NoRoute, UnknownNode
from optimizer.network.model import Mode
from optimizer.quotes.quote import build_request, dominates, option_vector, quote
from optimizer.network.timeutil import to_minutes


def _q(net, dest="LODZ", **kw):
    args = dict(origin="MY_CITY", destination=dest, weight_kg=1200, volume_m3=6, ready="2026-12-01")
    args.update(kw)
    return quote(net, build_request(net, args.pop("origin"), args.pop("destination"), args.pop("weight_kg"),
                                    args.pop("volume_m3"), args.pop("ready"), **args))


@pytest.mark.parametrize("dest", ["LODZ", "DUISBURG", "WH_JAKARTA", "SYDNEY", "DXB", "TASHKENT", "BANGKOK"])
def test_legs_chain_and_follow_schedules(net, dest):
    options = _q(net, dest)
    assert options
    for o in options:
        assert o.legs[0].origin == "MY_CITY" and o.legs[-1].destination == dest
        t = o.ready
        for a, b in zip(o.legs, o.legs[1:]):
            assert a.destination == b.origin
        for leg in o.legs:
            s = net.services[leg.service_id]
            assert leg.depart >= t, "a leg leaves before the cargo is there"
            assert leg.arrive >= leg.depart
            assert leg.arrive_p90 >= leg.arrive
            if not s.schedule.continuous:
                # a real scheduled departure, and the cut-off was met
                deps = net.departures(s, leg.depart - timedelta(minutes=1), leg.depart + timedelta(minutes=1))
                assert [d.depart for d in deps] == [leg.depart]
                assert leg.departure.cutoff >= t
            t = leg.arrive
        assert o.arrive_p50 >= t and o.arrive_p90 >= o.arrive_p50
        assert abs(sum(c.amount for c in o.cost_lines) - o.cost_total) < 0.01


def test_no_option_is_dominated_and_tags(net):
    options = _q(net, "WH_LODZ")
    vecs = [option_vector(o) for o in options]
    for i, a in enumerate(vecs):
        for j, b in enumerate(vecs):
            if i != j:
                assert not dominates(a, b), (options[i].id, options[j].id)
    tags = {t for o in options for t in o.tags}
    assert tags == {"cheapest", "fastest", "greenest", "recommended"}
    assert min(options, key=lambda o: o.cost_total).tags[0] == "cheapest"


def test_plausible_against_published_figures(net):
    options = _q(net, "LODZ")
    rail = [o for o in options if o.main_mode is Mode.RAIL]
    air = [o for o in options if o.main_mode is Mode.AIR]
    assert rail and air
    r = min(rail, key=lambda o: o.transit_days_p50)
    a = min(air, key=lambda o: o.transit_days_p50)
    assert 10 <= r.transit_days_p50 <= 20  # domain.md 2.1: 11-16 d terminal-terminal + first mile and waits
    assert a.transit_days_p50 < 8  # door to door by air: 7-10 d published; direct freighter faster
    assert a.cost_total > r.cost_total
    assert a.co2e_kg > 5 * r.co2e_kg  # 531 vs 28 g/t-km on similar distances
    # the through train passes the gauge-change borders in order
    vias = [w.node for leg in r.legs for w in leg.via]
    assert vias.index("ALA_CN") < vias.index("MALA")


def test_air_chargeable_weight_uses_1_to_6000(net):
    options = _q(net, "FRA", weight_kg=100, volume_m3=1.2)
    air = [leg for o in options for leg in o.legs if leg.mode is Mode.AIR]
    assert air and all(leg.chargeable_kg == 200 for leg in air)  # 1.2 m³ x 166.67 = 200 kg > 100 kg


def test_full_container_chosen_when_cheaper(net):
    options = _q(net, "LODZ", weight_kg=15000, volume_m3=60)
    rail_legs = [leg for o in options for leg in o.legs if leg.service_id == "CRE_CD_LODZ"]
    assert rail_legs and rail_legs[0].equipment == "1x40HQ" and rail_legs[0].teu == 2


def test_lithium_batteries_never_fly_belly(net):
    options = _q(net, "SINGAPORE", cargo_class="lithium_batteries")
    for o in options:
        for leg in o.legs:
            assert "lithium_batteries" in net.services[leg.service_id].allowed_classes
    general = _q(net, "SINGAPORE")
    assert any(leg.service_id == "AIR_CTU_SIN_P" for o in general for leg in o.legs)
    assert not any(leg.service_id == "AIR_CTU_SIN_P" for o in options for leg in o.legs)


def test_dangerous_goods_unreachable_explains_class(net):
    with pytest.raises(NoRoute, match="dangerous_goods"):
        _q(net, "SYD", cargo_class="dangerous_goods")


def test_customs_rules(net):
    with pytest.raises(InvalidInput, match="must end at an overseas warehouse.*WH_LODZ"):
        _q(net, "LODZ", customs_mode="9810")
    with pytest.raises(InvalidInput, match="9610.*piece weight"):
        _q(net, "LODZ", customs_mode="9610", pieces=2)
    parcels = _q(net, "LODZ", customs_mode="9610", pieces=80)
    assert parcels
    bonded = _q(net, "LODZ", customs_mode="1210")
    assert all(o.clearance_node in ("MY_CBZ", "CD_RAILPORT") for o in bonded)
    wh = _q(net, "WH_LODZ")
    assert all(o.customs_mode == "9810" for o in wh)


def test_planned_rail_port_only_on_request(net):
    active = _q(net, "LODZ")
    assert not any("MY_RAILPORT" in (leg.origin, leg.destination) for o in active for leg in o.legs)
    planned = _q(net, "LODZ", include_planned=True)
    assert any(leg.service_id.startswith("CRE_MY_") for o in planned for leg in o.legs)


def test_waits_for_next_departure_after_cutoff(net):
    # Ready just after the Mon 20:00 departure's 48 h cut-off (Sat 20:00 local): next is Wed 20:00.
    options = _q(net, "LODZ", ready="2026-11-28T20:30+08:00")
    rail = [leg for o in options for leg in o.legs if leg.service_id == "CRE_CD_LODZ"]
    assert rail
    assert rail[0].depart.astimezone().isoformat() and to_minutes(rail[0].departure.cutoff) >= to_minutes(options[0].ready)
    assert rail[0].depart.strftime("%a") in ("Wed", "Fri", "Sat")


@pytest.mark.parametrize(
    "kwargs, exc, pattern",
    [
        (dict(weight_kg=-5), InvalidInput, "weight_kg must be a positive number"),
        (dict(volume_m3=0), InvalidInput, "volume_m3 must be a positive number"),
        (dict(destination="LDZ"), UnknownNode, "unknown node 'LDZ'.*did you mean.*LODZ"),
        (dict(origin="MIANYANG"), UnknownNode, "unknown node 'MIANYANG'"),
        (dict(ready="2026-13-45"), InvalidInput, "not an ISO 8601 date"),
        (dict(cargo_class="explosives"), InvalidInput, "unknown cargo class"),
        (dict(customs_mode="1234"), InvalidInput, "unknown customs mode"),
    ],
)
def test_bad_input_is_named(net, kwargs, exc, pattern):
    args = dict(origin="MY_CITY", destination="LODZ", weight_kg=1200, volume_m3=6, ready="2026-12-01")
    args.update(kwargs)
    with pytest.raises(exc, match=pattern):
        build_request(net, args.pop("origin"), args.pop("destination"), args.pop("weight_kg"), args.pop("volume_m3"),
                      args.pop("ready"), **args)


def test_concurrent_quotes_on_a_fresh_network_match_serial():
    """API worker threads share one Network whose departure tables grow lazily."""
    from concurrent.futures import ThreadPoolExecutor

    from optimizer.settings import BUNDLED_DATA_DIR
    from optimizer.network import load_network_from
    from optimizer.quotes.quote import build_request

    fresh = load_network_from(BUNDLED_DATA_DIR)
    dests = ["LODZ", "DUISBURG", "WH_SYDNEY", "BANGKOK", "MOSCOW", "TASHKENT", "WH_DUBAI", "HAMBURG"] * 3
    reqs = [build_request(fresh, "MY_CITY", d, 900 + 37 * i, 4, f"2027-0{1 + i % 6}-1{i % 9}") for i, d in enumerate(dests)]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda r: [option_vector(o) for o in quote(fresh, r)], reqs))
    reference = load_network_from(BUNDLED_DATA_DIR)
    serial = [[option_vector(o) for o in quote(reference, r)] for r in reqs]
    assert parallel == serial
