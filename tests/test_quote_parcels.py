"""Parcel and express products for 9610 (issue 20 part 2): per parcel + per kg by weight break, size
limits, transit and tracking; parcel flows choose among them, line-haul consolidation included."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.errors import DataError
from optimizer.network.model import Cargo, CustomsMode, Mode
from optimizer.network.parcel_products import load_parcel_products
from optimizer.network.serialize import option_to_dict
from optimizer.quotes.parcels import parcel_chargeable_kg, parcel_problem, price_parcels
from optimizer.quotes.quote import build_request, quote


def _parcels(net, dest, kg, m3, pieces, **kw):
    return quote(net, build_request(net, "MY_CITY", dest, kg, m3, "2026-12-01", pieces=pieces, customs_mode="9610", **kw))


def test_one_5kg_parcel_to_frankfurt_costs_tens_not_hundreds(net):
    options = _parcels(net, "FRA", 5, 0.02, 1)
    assert max(o.cost_total for o in options) < 100  # was USD 380 (air minimum + AWB + clearance)
    cheapest = next(o for o in options if "cheapest" in o.tags)
    assert cheapest.cost_total < 40
    fastest = next(o for o in options if "fastest" in o.tags)
    assert fastest.door_days_p50 <= 6 and "EXPRESS" in fastest.legs[-1].service_id
    products = {o.legs[-1].service_id.split("_MY_CITY_")[0] for o in options}
    assert "PARCEL_EPACKET" not in products  # 5 kg is over ePacket's 2 kg limit
    assert {"PARCEL_EXPRESS", "PARCEL_EMS"} <= products


def test_fifty_parcels_to_lodz_are_not_sent_by_52_days_of_sea_lcl(net):
    options = _parcels(net, "LODZ", 400, 2.4, 50)
    for o in options:
        assert o.main_mode is not Mode.SEA or "cheapest" not in o.tags
    cheapest = next(o for o in options if "cheapest" in o.tags)
    assert cheapest.door_days_p50 < 25 and cheapest.main_mode is Mode.RAIL
    rec = next(o for o in options if "recommended" in o.tags)
    assert rec.door_days_p50 < 25
    # the parcel products compete on the frontier: line-haul by rail and air, express
    kinds = {leg.service_id.split("_MY_CITY_")[0] for o in options for leg in o.legs if leg.service_id.startswith("PARCEL_")}
    assert {"PARCEL_RAIL_LINEHAUL", "PARCEL_EXPRESS"} <= kinds


def test_rail_line_haul_bags_ride_the_train_via_the_hub(net):
    options = _parcels(net, "LODZ", 400, 2.4, 50)
    o = next(o for o in options if o.legs[-1].service_id == "PARCEL_RAIL_LINEHAUL_MY_CITY_LODZ")
    leg = o.legs[-1]
    assert leg.mode is Mode.RAIL and [w.node for w in leg.via] == ["MALA"]
    assert o.clearance_node == "MY_CITY" and any("declared by the parcel operator" in n for n in o.notes)
    d = option_to_dict(net, o)["legs"][-1]
    assert d["product"]["kind"] == "linehaul" and d["product"]["door_delivery"] and d["product"]["tracking"]
    # door delivery: no hub handling, import clearance or final delivery charged on top of the product
    assert not [c for c in o.cost_lines if c.code in ("HANDLING", "CUSTOMS_IMPORT", "DELIVERY") and c.leg != 0]


def test_per_parcel_and_weight_break_pricing(net):
    s = net.services["PARCEL_EPACKET_MY_CITY_FRA"]
    p = price_parcels(s, Cargo(1.0, 0.004, 2, customs_mode=CustomsMode.B2C_PARCEL), net.emission_factor(s))
    assert p.total == pytest.approx(2 * (2.6 + 9.0 * 0.5))  # two 0.5 kg parcels: item fee + per kg
    x = net.services["PARCEL_EXPRESS_MY_CITY_FRA"]
    rate = x.tariff.parcel
    small = price_parcels(x, Cargo(10, 0.03, 1, customs_mode=CustomsMode.B2C_PARCEL), net.emission_factor(x))
    big = price_parcels(x, Cargo(25, 0.06, 1, customs_mode=CustomsMode.B2C_PARCEL), net.emission_factor(x))
    assert small.total == pytest.approx((14 + 9.0 * 10) + 0.25 * 9.0 * 10)  # <= 21 kg break, 25 % fuel on freight
    assert big.total == pytest.approx((14 + 7.0 * 25) + 0.25 * 7.0 * 25)  # 21-70 kg break
    # 1:5000 volumetric weight and 0.5 kg steps
    assert parcel_chargeable_kg(rate, 1.0, 0.01) == 2.0 and parcel_chargeable_kg(rate, 1.1, 0.001) == 1.5


def test_size_and_weight_limits_exclude_a_product(net):
    rate = net.services["PARCEL_EPACKET_MY_CITY_FRA"].tariff.parcel
    assert parcel_problem(rate, Cargo(1.5, 0.005, 1)) is None
    assert "2 kg limit" in parcel_problem(rate, Cargo(2.5, 0.005, 1))
    assert "size limit" in parcel_problem(rate, Cargo(1.0, 0.05, 1))  # 50 dm³: over L+W+H 90 cm
    options = _parcels(net, "FRA", 1.5, 0.05, 1)  # a light but bulky parcel
    assert all("EPACKET" not in leg.service_id for o in options for leg in o.legs)


def test_parcel_products_are_for_9610_only(net):
    options = quote(net, build_request(net, "MY_CITY", "LODZ", 400, 2.4, "2026-12-01", pieces=50, customs_mode="9710"))
    assert all(not leg.service_id.startswith("PARCEL_") for o in options for leg in o.legs)


def test_a_bad_product_file_names_the_product_and_field(net, tmp_path: Path):
    bad = tmp_path / "parcel_products.yaml"
    bad.write_text("""as_of: "2026-11-30"
products:
  X:
    name: x
    kind: postal
    mode: air
    handover: [NOWHERE]
    emission_factor: air_long
    schedule: {weekdays: [0], times: ["10:00"], cutoff_hours: 2}
    tracking: t
    max_kg: 2
    max_dims_cm: {longest: 60, sum: 90}
    zones: [{name: z, countries: [DE], item_fee: 1, breaks: [{up_to_kg: 2, per_kg: 5}], transit: {p50_days: 5, p90_days: 9}}]
    source: s
""", encoding="utf-8")
    with pytest.raises(DataError, match="NOWHERE"):
        load_parcel_products(bad, dict(net.nodes), dict(net.emission_factors), {"air": 1.05})
    bad.write_text(bad.read_text().replace("[NOWHERE]", "[CTU]").replace("up_to_kg: 2,", "up_to_kg: 1,"), encoding="utf-8")
    with pytest.raises(DataError, match="below max_kg"):
        load_parcel_products(bad, dict(net.nodes), dict(net.emission_factors), {"air": 1.05})
