"""GET /v1/warehouses/{id}/readings: a warehouse's stored sensor readings as bounded time series.

Readings go through the real pipeline (decoder, handlers, store); the route answers them in event
time order, scoped to the organisation's own sensors (another tenant's sensor answers 404 exactly like
an unknown one; the office analyst gets one zone-wide aggregate), rejects bad bounds with 422, and
downsamples a long range to at most ``limit`` points per sensor keeping the min/max envelope.
Run on SQLite and, where it answers, PostgreSQL.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from accounts.store import create_key
from api.app import create_app
from iot_ingest.history import warehouse_readings
from iot_ingest.pipeline import Pipeline
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url

NOW_S = int(time.time()) // 60 * 60
N = 300  # readings of WA, one a minute over the last 5 hours
TOPIC = "cbec/v1/warehouses/WH_LODZ/sensors/{}"


def _temp(i: int) -> float:
    return round(4 + 3 * ((i * 37) % 17) / 16, 2)  # 4.0 ... 7.0, jagged


def _iso(s: int) -> str:
    return datetime.fromtimestamp(s, UTC).isoformat(timespec="seconds")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, net, tmp_path_factory):
    url = param_db_url(request, tmp_path_factory.mktemp('history'))
    db = open_db(url, migrate=True)
    a, b = make_tenant(db, "alpha"), make_tenant(db, "bravo")
    a.bind(db, net, "WA", warehouse="WH_LODZ", temp_min=-20, temp_max=30)
    b.bind(db, net, "WB", warehouse="WH_LODZ", temp_min=-20, temp_max=30)
    pipe = Pipeline(db, net)
    start = NOW_S - N * 60
    # out of order on purpose: the series comes back in event time order
    order = list(range(N))[::2] + list(range(N))[1::2]
    pipe.process_raw([(TOPIC.format("WA"), json.dumps({"ts": start + 60 * i, "temperature_c": _temp(i),
                                                        "humidity_pct": 50 + i % 10, "occupied_positions": i}).encode())
                      for i in order])
    pipe.process_raw([(TOPIC.format("WB"), json.dumps({"ts": start + 60 * i, "temperature_c": -10.0}).encode())
                      for i in range(5)])
    office = make_tenant(db, f"office-{a.org_id}", kind="office")
    _, analyst_key = create_key(db, office.org_id, "analyst", "analyst")
    app = create_app(network=net, ingest_db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield db, client, a, b, {"X-API-Key": analyst_key}, start
    db.dispose()


def test_readings_stored_through_the_pipeline_come_back_in_order(world, net):
    db, client, a, b, office, start = world
    r = client.get("/v1/warehouses/wh_lodz/readings", params={"since": _iso(start - 60), "limit": 1000}, headers=a.headers)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["warehouse"] == "WH_LODZ" and doc["scope"] == "organisation"
    assert [s["sensor"] for s in doc["series"]] == ["WA"]  # never bravo's WB
    wa = doc["series"][0]
    assert wa["readings"] == N and not wa["downsampled"] and len(wa["points"]) == N
    assert [p["time"] for p in wa["points"]] == [_iso(start + 60 * i) for i in range(N)]
    assert [p["temperature_c"] for p in wa["points"]] == [_temp(i) for i in range(N)]
    assert wa["points"][7]["occupied_positions"] == 7 and wa["points"][7]["humidity_pct"] == 57
    # default range: the last 24 h
    assert len(client.get("/v1/warehouses/WH_LODZ/readings", headers=a.headers).json()["series"][0]["points"]) == N
    # the same function below the route: an empty range answers an empty series
    empty = warehouse_readings(db, net, "WH_LODZ", since_ms=0, until_ms=1000, org=a.org_id)
    assert [(x.sensor, x.readings, x.points) for x in empty.series] == [("WA", 0, [])]


def test_another_tenants_sensor_is_unknown_and_the_office_sees_an_aggregate(world):
    db, client, a, b, office, start = world
    mine = client.get("/v1/warehouses/WH_LODZ/readings?sensor=WB", headers=b.headers)
    assert mine.status_code == 200 and mine.json()["series"][0]["readings"] == 5
    theirs = client.get("/v1/warehouses/WH_LODZ/readings?sensor=WB", headers=a.headers)
    unknown = client.get("/v1/warehouses/WH_LODZ/readings?sensor=NOPE", headers=a.headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"].replace("WB", "X") == unknown.json()["detail"].replace("NOPE", "X")
    assert client.get("/v1/warehouses/WH_NOWHERE/readings", headers=a.headers).status_code == 404
    assert client.get("/v1/warehouses/WH_LODZ/readings").status_code == 401
    z = client.get("/v1/warehouses/WH_LODZ/readings", params={"since": _iso(start - 60)}, headers=office).json()
    assert z["scope"] == "zone" and [s["sensor"] for s in z["series"]] == ["zone"]
    zone = z["series"][0]
    assert zone["readings"] == N + 5 and zone["downsampled"]
    assert min(p["temperature_c_min"] for p in zone["points"]) == -10.0
    assert max(p["temperature_c_max"] for p in zone["points"]) == 7.0
    assert client.get("/v1/warehouses/WH_LODZ/readings?sensor=WA", headers=office).status_code == 422


@pytest.mark.parametrize("query", ["limit=0", "limit=5001", "limit=x", "since=yesterday",
                                   "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
                                   "since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z"])
def test_bad_bounds_are_422(world, query):
    db, client, a, b, office, start = world
    r = client.get(f"/v1/warehouses/WH_LODZ/readings?{query}", headers=a.headers)
    assert r.status_code == 422, (query, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_not_warehouse_node_is_422(world):
    db, client, a, b, office, start = world
    assert client.get("/v1/warehouses/LODZ/readings", headers=a.headers).status_code == 422


@pytest.mark.parametrize("limit", [1, 7, 50, 299])
def test_downsampling_keeps_at_most_limit_points_and_the_envelope(world, limit):
    db, client, a, b, office, start = world
    r = client.get("/v1/warehouses/WH_LODZ/readings",
                   params={"since": _iso(start), "until": _iso(start + 60 * (N - 1)), "limit": limit}, headers=a.headers)
    wa = r.json()["series"][0]
    pts = wa["points"]
    assert wa["downsampled"] and wa["readings"] == N and 1 <= len(pts) <= limit
    assert sum(p["n"] for p in pts) == N
    times = [p["time"] for p in pts]
    assert times == sorted(times) and times[0] == _iso(start)
    temps = [_temp(i) for i in range(N)]
    assert min(p["temperature_c_min"] for p in pts) == min(temps)
    assert max(p["temperature_c_max"] for p in pts) == max(temps)
    assert min(p["occupied_positions_min"] for p in pts) == 0 and max(p["occupied_positions_max"] for p in pts) == N - 1
    for p in pts:
        assert p["temperature_c_min"] <= p["temperature_c"] <= p["temperature_c_max"]


def test_the_cli_calls_the_same_function(world):
    db, client, a, b, office, start = world
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the CLI run is checked on SQLite")
    from typer.testing import CliRunner

    from api.cli import app as cli

    url = db.engine.url.render_as_string(hide_password=False)
    r = CliRunner().invoke(cli, ["warehouses", "readings", "WH_LODZ", "--since", _iso(start), "--limit", "10",
                                 "--org", a.org_id, "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [s["sensor"] for s in doc["series"]] == ["WA"] and len(doc["series"][0]["points"]) <= 10
    bad = CliRunner().invoke(cli, ["warehouses", "readings", "WH_LODZ", "--since", "yesterday", "--db", url])
    assert bad.exit_code == 2 and "--since" in bad.output, bad.output
