"""The network's GeoJSON: sea services along real sea lanes, rail through its border stops, planned
services marked, lines computed once per network, and the /v1/network ETag unchanged by it (issue 17)."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from optimizer.network import geojson
from optimizer.network.geo import geodesic_km as haversine_km


@pytest.fixture(scope="module")
def collection(net):
    return geojson.network_geojson_dict(net)


def _services(collection: dict) -> dict[str, dict]:
    return {f["properties"]["id"]: f for f in collection["features"] if f["properties"]["feature"] == "service"}


def _length_km(coords: list[list[float]]) -> float:
    return sum(haversine_km(a[1], a[0], b[1], b[0]) for a, b in zip(coords, coords[1:]))


def test_sea_services_follow_sea_lanes_not_straight_lines(net, collection):
    services = _services(collection)
    # Yangtze river liners (mode sea from a river port, issue 20 data) are drawn straight: searoute has no rivers
    sea = [s for s in net.services.values() if s.mode.value == "sea" and net.nodes[s.origin].kind.value != "river_port"]
    assert sea
    for s in sea:
        f = services[s.id]
        coords = f["geometry"]["coordinates"]
        assert f["properties"]["geometry_source"] == "searoute"
        assert len(coords) > 5, s.id  # a lane, not a 2-point line
        o, d = net.nodes[s.origin], net.nodes[s.destination]
        assert coords[0] == pytest.approx([o.lon, o.lat], abs=1e-3) and coords[-1] == pytest.approx([d.lon, d.lat], abs=1e-3)
        # the lane is as long as the network's searoute figure (within 3 %), and longer than the great circle
        assert f["properties"]["lane_km"] == pytest.approx(s.distance_km, rel=0.03)
        assert _length_km(coords) > haversine_km(o.lat, o.lon, d.lat, d.lon) * 1.01
    # Singapore -> Hamburg goes through the Red Sea and Suez, not across Asia or round the Cape
    ham = services["SEA_SIN_HAM"]["geometry"]["coordinates"]
    assert any(29 < lon < 35 and 27 < lat < 32 for lon, lat in ham), "no point near Suez"
    assert not any(lat < -20 for lon, lat in ham), "goes round the Cape"


def test_rail_goes_through_its_border_stops_in_order(net, collection):
    f = _services(collection)["CRE_CD_LODZ"]
    s = net.services["CRE_CD_LODZ"]
    want = [s.origin] + [st.node for st in s.stops] + [s.destination]
    assert f["properties"]["stops"] == "|".join(st.node for st in s.stops) and len(want) > 2
    assert f["properties"]["geometry_source"] == "stops"
    assert f["geometry"]["coordinates"] == [[net.nodes[n].lon, net.nodes[n].lat] for n in want]


def test_planned_services_are_marked_and_left_out_on_request(net, collection):
    services = _services(collection)
    planned = {sid for sid, f in services.items() if f["properties"]["planned"]}
    assert "CRE_MY_LODZ" in planned  # the future Mianyang rail port's train
    assert all(f["properties"]["planned"] is False for sid, f in services.items() if sid not in planned)
    active_only = _services(geojson.network_geojson_dict(net, include_planned=False))
    assert set(active_only) == set(services) - planned


def test_lines_are_computed_once_per_network(net, monkeypatch):
    geojson.service_lines(net)  # warm
    calls = []
    monkeypatch.setattr(geojson, "sea_lane", lambda *a: calls.append(a))
    geojson.network_geojson_dict(net)
    assert calls == []


def test_a_failing_sea_graph_falls_back_to_a_straight_line(net, monkeypatch):
    import searoute

    def broken(*a, **k):
        raise RuntimeError("graph missing")

    monkeypatch.setattr(searoute, "searoute", broken)
    line = geojson.service_line(net, net.services["SEA_QZH_SIN"])
    assert line.source == "straight" and len(line.coordinates) == 2


def test_network_route_keeps_its_etag_and_serves_the_lanes(net):
    from api.app import create_app

    with TestClient(create_app(network=net)) as client:
        first = client.get("/v1/network")
        assert first.status_code == 200
        etag = first.headers["ETag"]
        lanes = [f for f in first.json()["features"] if f["properties"].get("geometry_source") == "searoute"]
        assert lanes and all(math.isfinite(c) for f in lanes for p in f["geometry"]["coordinates"] for c in p)
        again = client.get("/v1/network", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["ETag"] == etag
        assert client.get("/v1/network").headers["ETag"] == etag
