"""Recommendations of what to book (issue 19, item 5): the cheapest feasible set of offers at the fill-rate
target, against the nearest-first baseline; checked against a brute force over every assignment."""

from __future__ import annotations

import itertools

import pytest

from optimizer.errors import InvalidInput
from optimizer.warehouses.booking_choice import DemandLine, OfferCapacity, recommend_offers
from optimizer.warehouses.design import DemandRow

LINES = [DemandLine("e1", DemandRow("LODZ", "electronics", 3.0, 1.0, 180)),
         DemandLine("e1", DemandRow("BUDAPEST", "home_goods", 2.0, 0.8, 150)),
         DemandLine("e2", DemandRow("HAMBURG", "electronics", 2.5, 1.0, 180))]


def offers(lodz_inbound_price: float = 4.0, lodz_m3: float = 2000.0) -> list[OfferCapacity]:
    return [OfferCapacity("o_lodz", "WH_LODZ", lodz_m3, 100, 0.45, lodz_inbound_price),
            OfferCapacity("o_bud", "WH_BUDAPEST", 2000, 100, 0.35, 4.0),
            OfferCapacity("o_dui", "WH_DUISBURG", 2000, 100, 0.55, 4.0)]


def brute_force(offs, fill_rate: float) -> float:
    """The cheapest single-sourcing assignment by enumeration (capacity does not bind here): each line's cost at
    each offer serving its market, solved with that line and offer alone."""
    return min(sum(costs) for costs in itertools.product(*[
        [recommend_offers(NET, [ln], [o], fill_rate=fill_rate).total_monthly for o in offs if _serves(o, ln)] for ln in LINES]))


def _serves(o, ln) -> bool:
    return ln.row.market in NET.nodes[o.warehouse].serves_markets


NET = None


@pytest.fixture(autouse=True)
def _net(net):
    global NET
    NET = net


def test_the_recommendation_is_the_cheapest_and_meets_the_fill_rate(net):
    offs = offers()
    choice = recommend_offers(net, LINES, offs, fill_rate=0.97)
    assert choice.status == "optimal"
    assert choice.total_monthly == pytest.approx(brute_force(offs, 0.97), rel=1e-6)
    assert all(ln.fill_rate >= 0.97 - 1e-9 for ln in choice.lines)
    assert choice.saving >= -1e-6  # never dearer than nearest-first


def test_a_dear_nearest_offer_is_passed_over_and_the_saving_shown(net):
    offs = offers(lodz_inbound_price=120.0)  # the LODZ operator prices inbound handling high
    choice = recommend_offers(net, LINES, offs)
    lodz = next(ln for ln in choice.lines if ln.market == "LODZ")
    assert lodz.nearest_offer == "o_lodz" and lodz.offer == "o_bud"
    assert choice.saving > 0 and choice.saving == pytest.approx(
        sum(ln.nearest_cost for ln in choice.lines) - choice.total_monthly)
    doc = choice.to_dict("e1")
    assert {ln["exporter"] for ln in doc["lines"]} == {"e1"} and doc["saving"] > 0


def test_no_room_is_a_clear_error(net):
    tiny = [OfferCapacity("o_lodz", "WH_LODZ", 5, 1, 0.45, 4.0)]
    with pytest.raises(InvalidInput, match="cannot hold this demand"):
        recommend_offers(net, LINES[:1], tiny)


def test_the_network_design_reads_the_offers_as_capacities_and_prices(net, tmp_path):
    from sharing.recommend import design_on_offers, offered_sites
    from storage.db import open_db
    from tests.sharing_world import day, publish
    from tests.support.accounts import make_tenant

    db = open_db(f"sqlite:///{tmp_path}/d.sqlite3", migrate=True)
    op, ex = make_tenant(db, kind="warehouse_operator"), make_tenant(db)
    publish(db, net, op, warehouse="WH_LODZ", storage_capacity=900.0, inbound_m3_per_day=30.0, price_storage=0.9)
    publish(db, net, op, warehouse="WH_BUDAPEST", storage_capacity=2000.0, inbound_m3_per_day=80.0, price_storage=0.2)
    sites = offered_sites(db, ex.org_id, day(30), day(60))
    assert set(sites) == {"WH_LODZ", "WH_BUDAPEST"} and sites["WH_LODZ"].storage_price_m3_day == 0.9
    rows = [{"market": "LODZ", "family": "electronics", "mean_m3_day": 12, "sd_m3_day": 3, "kg_per_m3": 180},
            {"market": "BUDAPEST", "family": "home_goods", "mean_m3_day": 10, "sd_m3_day": 3, "kg_per_m3": 150}]
    design = design_on_offers(db, net, ex.org_id, day(30), day(60), demand=rows)
    use = {w: 0.0 for w in sites}
    for cust, shares in design.result.assignment.items():
        mean = next(r["mean_m3_day"] for r in rows if cust == f"{r['market']}/{r['family']}")
        for w, f in shares.items():
            use[w] += f * mean
    assert set(design.result.open) <= set(sites)  # only where space is on offer
    for w, m3_day in use.items():  # never more throughput than the offered space holds at 45 days of cover
        assert m3_day <= min(sites[w].inbound_m3_per_day, sites[w].storage_m3 / 45.0) + 1e-6
    assert use["WH_BUDAPEST"] > 10  # LODZ's offer (900 m³ / 45 d = 20 m³/day) is dearer: Budapest takes more
    db.dispose()


def test_where_nearest_first_finds_no_room_the_recommendation_places_every_line(net):
    lines = [DemandLine("e1", DemandRow("LODZ", "electronics", 2.0, 0.5, 180)),
             DemandLine("e1", DemandRow("BUDAPEST", "home_goods", 4.0, 1.0, 150))]
    tight = [OfferCapacity("o_lodz", "WH_LODZ", 5000, 5, 0.45, 4.0), OfferCapacity("o_bud", "WH_BUDAPEST", 5000, 2, 0.35, 4.0)]
    choice = recommend_offers(net, lines, tight)
    # nearest first: LODZ's line takes WH_LODZ, Budapest's 4 m³/day then fits neither dock; the optimum swaps them
    assert {ln.market: ln.offer for ln in choice.lines} == {"LODZ": "o_bud", "BUDAPEST": "o_lodz"}
    assert choice.nearest_unplaced == ["e1:BUDAPEST/home_goods"] and choice.saving is None
    doc = choice.to_dict()
    assert doc["saving"] is None and doc["nearest"]["unplaced"] == ["e1:BUDAPEST/home_goods"]


def _design_job(client, tenant, body) -> dict:
    import time

    r = client.post("/v1/warehouse-designs", json=body, headers=tenant.headers)
    assert r.status_code == 202, r.text
    for _ in range(600):
        job = client.get(r.headers["location"], headers=tenant.headers).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    return job["result"]


def test_post_warehouse_designs_reads_the_offers_the_caller_may_book(net, tmp_path):
    """POST /v1/warehouse-designs: with offers covering the period the design is on them by default (only
    offered warehouses, at most their free space); ``offers: false`` is the bundled figures; ``offers: true``
    with nothing on offer is a 422 naming the field."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from storage.db import open_db
    from tests.sharing_world import day, publish
    from tests.support.accounts import make_tenant

    db = open_db(f"sqlite:///{tmp_path}/d.sqlite3", migrate=True)
    op, ex = make_tenant(db, kind="warehouse_operator"), make_tenant(db)
    publish(db, net, op, warehouse="WH_LODZ", storage_capacity=700.0, inbound_m3_per_day=30.0, price_storage=0.9)
    publish(db, net, op, warehouse="WH_BUDAPEST", storage_capacity=2000.0, inbound_m3_per_day=80.0, price_storage=0.2)
    caps = {"WH_LODZ": min(30.0, 700.0 / 45), "WH_BUDAPEST": min(80.0, 2000.0 / 45)}  # m³/day at 45 days' cover
    rows = [{"market": "LODZ", "family": "electronics", "mean_m3_day": 12.0, "sd_m3_day": 3.0, "kg_per_m3": 180.0},
            {"market": "BUDAPEST", "family": "home_goods", "mean_m3_day": 10.0, "sd_m3_day": 3.0, "kg_per_m3": 150.0},
            {"market": "HAMBURG", "family": "electronics", "mean_m3_day": 6.0, "sd_m3_day": 2.0, "kg_per_m3": 180.0}]
    period = {"offers_start": str(day(30)), "offers_end": str(day(60))}
    with TestClient(create_app(network=net, ingest_db=db)) as client:
        doc = _design_job(client, ex, {"demand": rows, "time_limit_s": 30, **period})
        assert set(doc["offers"]["sites"]) == set(caps) and doc["offers"]["period"]["start"] == str(day(30))
        assert set(doc["open"]) <= set(caps)
        use = {w: 0.0 for w in caps}
        for cust, shares in doc["assignment"].items():
            mean = next(r["mean_m3_day"] for r in rows if cust == f"{r['market']}/{r['family']}")
            for w, f in shares.items():
                use[w] += f * mean
        assert all(use[w] <= caps[w] + 1e-6 for w in caps), use
        assert sum(use.values()) == pytest.approx(28.0)

        bundled = _design_job(client, ex, {"demand": rows, "time_limit_s": 30, "offers": False, **period})
        assert "offers" not in bundled
        bundled_lodz = sum(f * next(r["mean_m3_day"] for r in rows if c == f"{r['market']}/{r['family']}")
                           for c, shares in bundled["assignment"].items() for w, f in shares.items() if w == "WH_LODZ")
        assert bundled_lodz > caps["WH_LODZ"]  # on its own figures Łódź takes more than is on offer there

        r = client.post("/v1/warehouse-designs", json={"demand": rows, "offers": True, "offers_start": str(day(200)),
                                                       "offers_end": str(day(210))}, headers=ex.headers)
        assert r.status_code == 422 and "offers" in r.text, r.text
        r = client.post("/v1/warehouse-designs", json={"demand": rows, "offers_start": "2027-02-30"}, headers=ex.headers)
        assert r.status_code == 422 and "offers_start" in r.text, r.text
    db.dispose()
