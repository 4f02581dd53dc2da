"""Door to door (issue 20 part 3): import clearance, final delivery, VAT/IOSS for EU parcels and duty from
a user-supplied duty table, each in the breakdown and marked as an estimate."""

from __future__ import annotations

from datetime import date

import pytest

from optimizer.errors import InvalidInput
from optimizer.network.serialize import option_to_dict
from optimizer.network.currency import load_rates
from optimizer.quotes.destination import destination_data, duty_rate, finish_charges, read_duty_table, tax_charges
from optimizer.network.timeutil import to_minutes
from optimizer.quotes.quote import build_request, option_vector, quote

DUTY_CSV = "hs_code,country,rate_pct,note\n64,EU,8,footwear default\n6402,EU,17,rubber footwear\n6402,PL,12,made up for the test\n8471,*,0\n"


def _lines(o, code):
    return [c for c in o.cost_lines if c.code == code]


def test_freight_to_a_market_pays_import_clearance_and_delivery_as_estimates(net):
    for o in quote(net, build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-01")):
        (imp,) = _lines(o, "CUSTOMS_IMPORT")
        (dlv,) = _lines(o, "DELIVERY")
        assert imp.estimate and dlv.estimate and imp.amount == pytest.approx(90)
        assert dlv.amount == pytest.approx(120 + 0.02 * 1200)
        assert abs(sum(c.amount for c in o.cost_lines) - o.cost_total) < 0.01
        # arrive_* is availability at the destination node (tracking ETAs read it); delivered_* adds import
        # clearance (24 h) and final delivery (1 day), and the door-to-door time is what the Pareto set compares
        assert (o.delivered_p50 - o.arrive_p50).total_seconds() == 48 * 3600
        assert (o.delivered_p90 - o.arrive_p90).total_seconds() == 48 * 3600
        assert option_vector(o)[0] == to_minutes(o.delivered_p50)


def test_stock_to_an_overseas_warehouse_is_cleared_but_not_delivered(net):
    for o in quote(net, build_request(net, "MY_CITY", "WH_LODZ", 5000, 25, "2026-12-01")):
        assert len(_lines(o, "CUSTOMS_IMPORT")) == 1 and not _lines(o, "DELIVERY")


def test_domestic_destination_has_no_destination_charges(net):
    req = build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-01", goods_value=9000)
    dd = destination_data(net)
    cn = net.nodes["CD_RAILPORT"]
    assert finish_charges(dd, cn, req, door=False, boxed=True) == ()
    assert tax_charges(dd, cn, req, 0.9) == ((), ())
    assert finish_charges(dd, net.nodes["LODZ"], req, door=True, boxed=False) == ()  # a parcel product delivers itself


def test_low_value_eu_parcels_pay_vat_through_ioss(net):
    options = quote(net, build_request(net, "MY_CITY", "LODZ", 400, 2.4, "2026-12-01", pieces=50, customs_mode="9610",
                                       goods_value=2000))  # USD 40 a parcel: under EUR 150
    for o in options:
        (vat,) = _lines(o, "VAT_IOSS")
        assert vat.estimate and vat.amount == pytest.approx(2000 * 0.23)  # Poland 23 %
        assert not _lines(o, "VAT_IMPORT") and not _lines(o, "DUTY")
        (flat,) = _lines(o, "DUTY_FLAT")  # EUR 3 per low-value item from 1 July 2026, at the dated USD/EUR rate
        assert flat.amount == pytest.approx(3 * 50 / load_rates().convert(1.0, "USD", "EUR", date(2026, 12, 1)), rel=1e-6)
    d = option_to_dict(net, options[0])
    assert any(b["code"] == "VAT_IOSS" and b["estimate"] for b in d["cost"]["breakdown"])


def test_parcels_above_150_eur_pay_duty_from_the_table_and_import_vat(net):
    rates = read_duty_table(DUTY_CSV)
    options = quote(net, build_request(net, "MY_CITY", "FRA", 5, 0.02, "2026-12-01", customs_mode="9610",
                                       goods_value=500, hs_code="6402.99", duty_rates=rates))
    for o in options:
        (duty,) = _lines(o, "DUTY")
        assert duty.amount == pytest.approx(500 * 0.17) and "6402" in duty.description  # longest prefix, EU row
        (vat,) = _lines(o, "VAT_IMPORT")
        assert vat.amount == pytest.approx((500 + 85) * 0.19)  # Germany 19 % on value + duty
        assert not _lines(o, "VAT_IOSS") and not _lines(o, "DUTY_FLAT")


def test_without_goods_value_taxes_are_not_guessed(net):
    o = quote(net, build_request(net, "MY_CITY", "FRA", 5, 0.02, "2026-12-01", customs_mode="9610"))[0]
    assert not [c for c in o.cost_lines if c.code.startswith(("VAT", "DUTY"))]
    assert any("declared goods value" in n for n in o.notes)


def test_duty_table_matching_and_errors():
    rates = read_duty_table(DUTY_CSV)
    assert duty_rate(rates, "640299", "PL", True).rate_pct == 12  # the country's own row beats EU at the same prefix
    assert duty_rate(rates, "640110", "DE", True).rate_pct == 8
    assert duty_rate(rates, "847130", "US", False).rate_pct == 0
    assert duty_rate(rates, "9503", "DE", True) is None
    with pytest.raises(InvalidInput, match="row 3: hs_code"):
        read_duty_table("hs_code,country,rate_pct\n8471,EU,0\n84x1,EU,3\n")
    with pytest.raises(InvalidInput, match="row 2: rate_pct"):
        read_duty_table("hs_code,country,rate_pct\n8471,EU,lots\n")
    with pytest.raises(InvalidInput, match="missing column"):
        read_duty_table("hs,country\n8471,EU\n")


def test_request_checks_goods_value_and_hs_code(net):
    with pytest.raises(InvalidInput, match="goods_value"):
        build_request(net, "MY_CITY", "FRA", 5, 0.02, "2026-12-01", goods_value=-1)
    with pytest.raises(InvalidInput, match="hs_code"):
        build_request(net, "MY_CITY", "FRA", 5, 0.02, "2026-12-01", hs_code="shoes")


def test_destination_figures_carry_sources(net):
    dd = destination_data(net)
    assert dd.eu.ioss_threshold_eur == 150 and dd.vat_standard_pct.rates["DE"] == 19
    for part in (dd.eu, dd.vat_standard_pct, dd.import_clearance, dd.final_delivery.parcel, dd.cfs_destuffing):
        assert part.source
