"""Pricing defects of issue 20 part 5, each pinned: double export clearance on rail to Łódź, rail LCL
at the price of a whole container per m³, and a mid-route change from own containers to loose cargo
without a destuffing charge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from optimizer.network import Network, load_network
from optimizer.network.loader import TariffRow
from optimizer.network.model import (
    Capacity,
    Cargo,
    ContainerType,
    CustomsMode,
    EmissionFactor,
    Mode,
    Provenance,
    QuoteRequest,
    Schedule,
    Service,
    Status,
    Tariff,
    TransitTime,
)
from optimizer.quotes.pricing import price_leg_units
from optimizer.quotes.quote import build_request, quote, search
from tests.support.bruteforce import brute_force_vectors
from tests.test_quote_property import _node


def test_export_clearance_is_charged_once_on_rail_to_lodz(net):
    options = quote(net, build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-01"))
    rail = [o for o in options if o.main_mode is Mode.RAIL]
    assert rail
    for o in options:
        export = [c for c in o.cost_lines if c.code in ("CUSTOMS_EXPORT", "CUSTOMS") or "export customs" in c.description]
        assert len(export) == 1 and export[0].code == "CUSTOMS_EXPORT", [(c.code, c.amount) for c in export]


def test_a_tariff_cannot_charge_export_clearance_again():
    row = {"per_kg": 1.0, "volumetric_kg_per_m3": 333, "source": "t", "as_of": "2026-01-01",
           "surcharges": [{"code": "CUSTOMS", "name": "export customs and documents", "basis": "per_shipment", "amount": 75}]}
    with pytest.raises(ValidationError, match="export clearance is charged once"):
        TariffRow.model_validate(row)


@pytest.mark.parametrize("sid", ["CRE_CD_LODZ", "CRE_CD_DUISBURG"])
def test_rail_lcl_per_m3_is_far_below_a_whole_20gp(net, sid):
    s = net.services[sid]
    units = {p.unit: p for p in price_leg_units(s, Cargo(150, 1.0), net.containers, net.emission_factor(s))}
    lcl_one_m3 = units["loose"].total
    box = {p.unit: p for p in price_leg_units(s, Cargo(5000, 20.0), net.containers, net.emission_factor(s))}["box"]
    assert box.equipment == "1x20GP"
    # one m³ LCL costs a small fraction of a whole 20GP (it was USD 533 + 75 customs: a sixth of the box)
    assert lcl_one_m3 < 0.1 * box.total, (lcl_one_m3, box.total)
    # and per m³ LCL costs more than a full 20GP per m³ (consolidation), within 1.2-2.5x
    assert 1.2 < lcl_one_m3 / (box.total / 28) < 2.5
    # 6 m³ go LCL, not in a box of their own
    six = price_leg_units(s, Cargo(1200, 6.0), net.containers, net.emission_factor(s))[0]
    assert six.unit == "loose" and six.total < box.total


P = Provenance("t", "2026-01-01")


def _transshipment_net(lcl_first: float) -> Network:
    """N0 (CN) --sea, 20GP cheap--> N1 (SG) --sea, LCL only--> N2 (SG market)."""
    nodes = {"N0": _node(0, True, True), "N1": _node(1, False, False), "N2": _node(2, False, False)}
    t1 = Tariff("T1", "USD", lcl_first, 0.0, 0.0, 500.0, 800.0, 0.0, 50.0, 1000.0, True, True, (), {}, P)
    t2 = Tariff("T2", "USD", 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 50.0, 1000.0, True, False, (), {}, P)
    s1 = Service("S1", Mode.SEA, "N0", "N1", "c", 3000.0, "t", TransitTime(200, 300), Schedule(False, (0, 3), ("10:00",), 24),
                 Capacity(), t1, (), frozenset({"general"}), True, "F", Status.ACTIVE, P)
    s2 = Service("S2", Mode.SEA, "N1", "N2", "c", 800.0, "t", TransitTime(60, 90), Schedule(False, (1, 4), ("10:00",), 24),
                 Capacity(), t2, (), frozenset({"general"}), False, "F", Status.ACTIVE, P)
    return Network(nodes, {"S1": s1, "S2": s2}, {"F": EmissionFactor("F", Mode.SEA, 16.0, "TTW", P)},
                   {"20GP": ContainerType("20GP", 1, 21000, 28, P), "40HQ": ContainerType("40HQ", 2, 26000, 66, P)},
                   load_network().customs_modes, currency="USD", as_of="2026-01-01", co2e_method="t", circuity={})


def test_container_then_lcl_pays_destuffing_at_the_transshipment_port():
    net = _transshipment_net(lcl_first=0.5)  # 10 t LCL on S1: 5,000 > 500 for a 20GP
    req = QuoteRequest("N0", "N2", Cargo(10_000, 20.0, 1, customs_mode=CustomsMode.B2B_DIRECT),
                       datetime(2026, 3, 2, tzinfo=UTC), horizon_days=40)
    (o,) = quote(net, req)
    assert [leg.equipment for leg in o.legs] == ["1x20GP", "LCL"]
    cfs = [c for c in o.cost_lines if c.code == "CFS_DESTUFF"]
    assert len(cfs) == 1 and cfs[0].leg == 1 and cfs[0].estimate
    assert cfs[0].amount == pytest.approx(60 + 12 * 20.0)  # destination.yaml cfs_destuffing: per shipment + per m³
    assert "N1" in cfs[0].description or "node 1" in cfs[0].description
    # the destuffing hours delay the onward departure's cut-off check, and the label search is still exact
    _, labels = search(net, req)
    got = sorted(lab.vec for lab in labels)
    assert [g[:1] for g in got] == [w[:1] for w in brute_force_vectors(net, req, window_days=40)]


def test_loose_all_the_way_when_destuffing_costs_more_than_the_box_saves():
    net = _transshipment_net(lcl_first=0.035)  # LCL 350 + no destuffing beats 20GP 500 + 300
    req = QuoteRequest("N0", "N2", Cargo(10_000, 20.0, 1, customs_mode=CustomsMode.B2B_DIRECT),
                       datetime(2026, 3, 2, tzinfo=UTC), horizon_days=40)
    (o,) = quote(net, req)
    assert [leg.equipment for leg in o.legs] == ["LCL", "LCL"]
    assert not [c for c in o.cost_lines if c.code == "CFS_DESTUFF"]


def test_no_bundled_option_changes_equipment_without_destuffing(net):
    for dest, kg, m3 in (("SINGAPORE", 12000, 30), ("JAKARTA", 9000, 25), ("BANGKOK", 15000, 26), ("SYDNEY", 8000, 20),
                         ("ROTTERDAM", 20000, 30), ("KARACHI", 10000, 28)):
        for o in quote(net, build_request(net, "MY_CITY", dest, kg, m3, "2026-12-01")):
            boxed = False
            for i, leg in enumerate(o.legs):
                loose = leg.equipment in ("LCL", "LTL", "air") or "parcels" in leg.equipment
                if boxed and loose:
                    assert any(c.code == "CFS_DESTUFF" and c.leg == i for c in o.cost_lines), (o.id, i)
                if not leg.equipment.startswith("FTL"):
                    boxed = not loose
