"""Expected demand from an organisation's own orders (what the shared-warehouse recommendation reads when no
demand is given): hand-made orders with known weights give known means and deviations per market and
family; countries with several markets are split evenly; what cannot be used is counted, never guessed;
other organisations' orders and other customs modes are not read. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest

from optimizer.network import load_network
from storage.db import open_db
from tests.support.ingest_testing import param_db_url
from trade.demand import DENSITY_KG_PER_M3, expected_demand, family_of, markets_by_country, orders_demand
from trade.records import Order, Waybill
from trade.store import store_batch

ORDER = Order.model_config["json_schema_extra"]["examples"][0]
WAYBILL = Waybill.model_config["json_schema_extra"]["examples"][0]
UNTIL = date(2026, 6, 1)  # the period planned starts here; the 10 days before are read


@pytest.fixture(scope="module")
def net():
    return load_network()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request, tmp_path_factory):
    database = open_db(param_db_url(request, tmp_path_factory.mktemp("demand")), migrate=True)
    yield database
    database.dispose()


def order(no: str, day: str, country: str, hs: str, *, mode: str = "9610", net_kg: str | None = None,
          value: str = "20.00") -> dict:
    line = {"hs_code": hs, "description": "goods", "quantity": "1", "unit": "pcs", "value": value}
    if net_kg is not None:
        line["net_weight_kg"] = net_kg
    return json.loads(json.dumps(ORDER)) | {"order_no": no, "ordered_at": f"{day}T12:00:00+00:00", "customs_mode": mode,
                                            "destination_country": country, "lines": [line]}


def waybill(no: str, order_no: str, kg: str, country: str) -> dict:
    return json.loads(json.dumps(WAYBILL)) | {"logistics_no": no, "order_no": order_no, "gross_weight_kg": kg,
                                              "destination_country": country}


def stored(db, org: str, kind: str, records: list[dict]) -> None:
    result = store_batch(db, org, kind, records)
    assert [r.errors for r in result.results if r.outcome == "rejected"] == []


def test_families_and_markets_of_the_network(net):
    assert (family_of("85"), family_of("84"), family_of("90"), family_of("61")) == \
        ("electronics", "electronics", "electronics", "home_goods")
    markets = markets_by_country(net)
    assert markets["PL"] == ["LODZ"] and markets["DE"] == ["DUISBURG", "HAMBURG", "NUREMBERG"]
    assert "US" not in markets


def test_orders_give_mean_and_deviation_per_market_and_family(db, net):
    org = "org-demand"
    stored(db, org, "orders", [
        order("D1", "2026-05-25", "PL", "8517130000"),                  # waybill 36 kg: electronics, day 3 of 10
        order("D2", "2026-05-25", "PL", "8517130000", net_kg="9.0"),    # waybills win over the net weight: 18 kg
        order("D3", "2026-05-30", "PL", "6109100021", net_kg="24.0"),   # no waybill: its net weight, home goods
        order("D4", "2026-05-28", "DE", "6109100021", net_kg="36.0"),   # Germany: three markets, split evenly
        order("D5", "2026-05-28", "US", "6109100021", net_kg="5.0"),    # no market of the network there
        order("D6", "2026-05-28", "PL", "6109100021"),                  # no weight at all
        order("D7", "2026-05-28", "PL", "6109100021", mode="9710", net_kg="500"),  # B2B freight: not read
        order("D8", "2026-05-31", "PL", "8517130000", mode="9810", net_kg="18.0"),  # 9810 stock sold: read
        order("D9", "2026-05-21", "PL", "8517130000", net_kg="999"),    # before the window (22 May..31 May)
        order("D10", "2026-06-01", "PL", "8517130000", net_kg="999"),   # the period itself: not history
    ])
    stored(db, org, "waybills", [waybill("W1", "D1", "20.0", "PL"), waybill("W1b", "D1", "16.0", "PL"),
                                 waybill("W2", "D2", "18.0", "PL")])
    stored(db, "org-other", "orders", [order("D1", "2026-05-25", "PL", "8517130000", net_kg="777")])

    got = orders_demand(db, net, org, UNTIL, days=10)
    src = got.source
    assert src["kind"] == "orders" and (src["from"], src["to"], src["days"]) == ("2026-05-22", "2026-05-31", 10)
    assert src["orders"] == 5 and src["without_weight"] == 1 and src["countries_without_market"] == {"US": 1}
    assert src["split"] == {"DE": ["DUISBURG", "HAMBURG", "NUREMBERG"]}
    rows = {(r.market, r.family): r for r in got.rows}
    assert set(rows) == {("LODZ", "electronics"), ("LODZ", "home_goods"), ("DUISBURG", "home_goods"),
                         ("HAMBURG", "home_goods"), ("NUREMBERG", "home_goods")}

    def expect(days: dict[int, float], density: float, share: int = 1) -> tuple[float, float]:
        series = [days.get(i, 0.0) / density / share for i in range(10)]
        mean = sum(series) / 10
        return mean, math.sqrt(sum((x - mean) ** 2 for x in series) / 10)

    e = DENSITY_KG_PER_M3["electronics"]
    h = DENSITY_KG_PER_M3["home_goods"]
    for key, (days, density, share) in {("LODZ", "electronics"): ({3: 36.0 + 18.0, 9: 18.0}, e, 1),
                                        ("LODZ", "home_goods"): ({8: 24.0}, h, 1),
                                        ("HAMBURG", "home_goods"): ({6: 36.0}, h, 3)}.items():
        mean, sd = expect(days, density, share)
        assert rows[key].mean_m3_day == pytest.approx(mean, abs=1e-6), key
        assert rows[key].sd_m3_day == pytest.approx(sd, abs=1e-6), key
        assert rows[key].kg_per_m3 == density


def test_without_usable_orders_the_sample_is_used_and_said_so(db, net):
    got = orders_demand(db, net, "org-nothing", UNTIL, days=30)
    assert got.rows is None and got.source["kind"] == "sample"
    assert "2026-05-02" in got.source["reason"] and "sample" in got.source["reason"]
    given = expected_demand(db, net, "org-demand", UNTIL, [{"market": "LODZ", "family": "x", "mean_m3_day": 1,
                                                             "sd_m3_day": 0.5, "kg_per_m3": 150}], days=10)
    assert given.source == {"kind": "given", "rows": 1} and given.rows[0].family == "x"  # rows given win
    assert expected_demand(db, net, "org-demand", UNTIL, None, days=10).source["kind"] == "orders"
