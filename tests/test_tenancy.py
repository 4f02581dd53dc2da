"""Tenant isolation on the tracking resources, and the devices' own credentials (issue 16, items 1-2).

Two organisations, A and B, each with a shipment, a tracker that has reported, and A with a warehouse
sensor that has an open alert. Table-driven over every tracking route: B's requests for A's ids answer
exactly what they answer for an id that never existed (status, title, detail with the id swapped), and
change nothing; B's lists never show A's records. Telemetry: only a device's own key, on its own
topics; anything else is refused and stores nothing. Run on SQLite and, where it answers, PostgreSQL.
"""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from iot_ingest import tables as t
from iot_ingest.milestones import create_shipment
from iot_ingest.pipeline import Pipeline
from storage.db import open_db
from tests.ingest_journey import position, ready_date
from tests.support.accounts import Tenant, make_tenant
from tests.support.ingest_testing import param_db_url

NOW_S = int(time.time())
JSON = {"content-type": "application/json"}
TABLES = (t.readings, t.dead_letters, t.quarantine, t.devices, t.shipments, t.device_state, t.events, t.alerts)


def snapshot(db) -> dict:
    with db.engine.connect() as c:
        counts = {tbl.name: c.execute(select(func.count()).select_from(tbl)).scalar_one() for tbl in TABLES}
        counts["devices_rows"] = [tuple(r) for r in c.execute(select(t.devices).order_by(t.devices.c.device_id))]
        counts["shipments_rows"] = [tuple(r) for r in c.execute(select(t.shipments).order_by(t.shipments.c.shipment_id))]
    return counts


def _seed(db, net) -> tuple[Tenant, Tenant]:
    a, b = make_tenant(db, "alpha"), make_tenant(db, "bravo")
    create_shipment(db, net, "SA", "MY_CITY", "LODZ", 500, 2, ready_date(30), tag="greenest", org=a.org_id)
    create_shipment(db, net, "SB", "MY_CITY", "LODZ", 300, 1, ready_date(30), tag="greenest", org=b.org_id)
    a.bind(db, net, "TA", shipment="SA")
    a.bind(db, net, "WA", warehouse="WH_LODZ", temp_min=2, temp_max=8, excursion_minutes=5)
    b.bind(db, net, "TB", shipment="SB")
    pipe = Pipeline(db, net)
    pipe.process_raw([position("TA", 30.8684, 104.2425, (NOW_S - 3600) * 1000, 1),
                      position("TB", 30.8684, 104.2425, (NOW_S - 3600) * 1000, 1)])
    for i, temp in enumerate([5, 12, 12, 12, 12, 12, 12, 12]):  # an excursion: an open alert at WH_LODZ
        pipe.process_raw([("cbec/v1/warehouses/WH_LODZ/sensors/WA",
                           json.dumps({"ts": NOW_S - 1800 + 60 * i, "temperature_c": temp}).encode())])
    return a, b


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, net, tmp_path_factory):
    url = param_db_url(request, tmp_path_factory.mktemp('tenancy'))
    db = open_db(url, migrate=True)
    a, b = _seed(db, net)
    app = create_app(network=net, ingest_db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield db, app, client, a, b
    db.dispose()


def test_the_seed_is_what_the_table_assumes(world):
    db, app, client, a, b = world
    doc = client.get("/v1/shipments/SA", headers=a.headers).json()
    assert doc["devices"] == ["TA"] and doc["last"][0]["device"] == "TA"
    w = client.get("/v1/warehouses/WH_LODZ", headers=a.headers).json()
    assert w["conditions"]["sensors"] == 1 and [x["device"] for x in w["open_alerts"]] == ["WA"]


# (name, method, path with {id}, JSON body with {id} or None, A's id, an id nobody has)
ROUTES = [
    ("shipment status", "GET", "/v1/shipments/{id}", None, "SA", "S-NONE"),
    ("shipment track", "GET", "/v1/shipments/{id}/track", None, "SA", "S-NONE"),
    ("device", "GET", "/v1/devices/{id}", None, "TA", "D-NONE"),
    ("device sensor", "GET", "/v1/devices/{id}", None, "WA", "D-NONE"),
    ("device credentials", "POST", "/v1/devices/{id}/credentials", None, "TA", "D-NONE"),
    ("device delete", "DELETE", "/v1/devices/{id}", None, "WA", "D-NONE"),
    ("bind to a shipment", "POST", "/v1/devices", {"id": "TB2", "shipment": "{id}"}, "SA", "S-NONE"),
]


def _call(client, tenant: Tenant, method: str, path: str, body):
    return client.request(method, path, headers={**tenant.headers, **(JSON if body is not None else {})},
                          content=None if body is None else json.dumps(body))


def _fill(value, ident: str):
    if isinstance(value, str):
        return value.replace("{id}", ident)
    if isinstance(value, dict):
        return {k: _fill(v, ident) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name, method, path, body, theirs, nobodys", ROUTES, ids=[r[0] for r in ROUTES])
def test_another_tenants_id_answers_exactly_as_an_unknown_id(world, name, method, path, body, theirs, nobodys):
    db, app, client, a, b = world
    before = snapshot(db)
    unknown = _call(client, b, method, _fill(path, nobodys), _fill(body, nobodys))
    other = _call(client, b, method, _fill(path, theirs), _fill(body, theirs))
    assert unknown.status_code == 404, unknown.text
    assert other.status_code == unknown.status_code, other.text
    u, o = unknown.json(), other.json()
    assert o["title"] == u["title"] and o["detail"] == u["detail"].replace(nobodys, theirs), (o, u)
    assert {k for k in o if k != "instance"} == {k for k in u if k != "instance"}
    assert snapshot(db) == before  # nothing of A's changed (no delete, no new credential, no binding)
    assert _call(client, a, "GET", "/v1/shipments/SA", None).status_code == 200


def test_a_device_id_another_tenant_holds_is_refused_and_not_taken_over(world):
    db, app, client, a, b = world
    before = snapshot(db)
    r = _call(client, b, "POST", "/v1/devices", {"id": "TA", "shipment": "SB"})
    assert r.status_code == 409 and "in use" in r.json()["detail"] and a.org_id not in r.text and "alpha" not in r.text
    assert snapshot(db) == before
    r = _call(client, b, "POST", "/v1/shipments", {"id": "SA", "from": "MY_CITY", "to": "LODZ", "weight_kg": 1,
                                                   "volume_m3": 0.1, "ready": ready_date(30)})
    assert r.status_code == 422 and "exists" in r.json()["detail"]  # ids are global; the owner is not told
    assert snapshot(db) == before


def test_lists_never_show_another_tenants_records(world):
    db, app, client, a, b = world
    sb = _call(client, b, "GET", "/v1/shipments", None).json()
    assert [s["id"] for s in sb["items"]] == ["SB"] and sb["total"] == 1
    sa = _call(client, a, "GET", "/v1/shipments", None).json()
    assert [s["id"] for s in sa["items"]] == ["SA"]
    db_ = _call(client, b, "GET", "/v1/devices", None).json()
    assert [d["id"] for d in db_["items"]] == ["TB"] and db_["total"] == 1
    da = _call(client, a, "GET", "/v1/devices", None).json()
    assert sorted(d["id"] for d in da["items"]) == ["TA", "WA"]
    for query in ("shipment=SA", "warehouse=WH_LODZ", "kind=sensor"):
        assert _call(client, b, "GET", f"/v1/devices?{query}", None).json()["items"] == [], query
    assert [d["id"] for d in _call(client, a, "GET", "/v1/devices?kind=sensor", None).json()["items"]] == ["WA"]
    for query in ("status=planned", "status=at", "origin=MY_CITY", "destination=LODZ", "limit=500", "offset=0"):
        ids = [s["id"] for s in _call(client, b, "GET", f"/v1/shipments?{query}", None).json()["items"]]
        assert "SA" not in ids, query
    # pagination
    page = _call(client, a, "GET", "/v1/devices?limit=1&offset=1", None).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["limit"] == 1 and page["offset"] == 1
    assert _call(client, a, "GET", "/v1/shipments?limit=0", None).status_code == 422
    assert _call(client, a, "GET", "/v1/shipments?status=lost", None).status_code == 422


def test_a_shared_warehouse_shows_each_tenant_its_own_sensors(world):
    db, app, client, a, b = world
    wb = _call(client, b, "GET", "/v1/warehouses/WH_LODZ", None).json()
    assert wb["conditions"]["sensors"] == 0 and wb["conditions"]["temperature_c"] is None and wb["open_alerts"] == []
    assert wb["capacity"]["source"].startswith("nominal")
    wa = _call(client, a, "GET", "/v1/warehouses/WH_LODZ", None).json()
    assert wa["conditions"]["sensors"] == 1 and wa["conditions"]["temperature_c"]["max"] == 12
    # the pilot-zone office's analyst: zone-wide aggregates, never another tenant's raw records (alerts name devices)
    office = make_tenant(db, f"office-{b.org_id}", kind="office")
    from accounts.store import create_key

    _, analyst_key = create_key(db, office.org_id, "analyst", "analyst")
    wo = client.get("/v1/warehouses/WH_LODZ", headers={"X-API-Key": analyst_key}).json()
    assert wo["conditions"]["sensors"] == 1 and wo["conditions"]["temperature_c"]["max"] == 12
    assert wo["open_alerts"] == []
    assert client.get("/v1/shipments/SA", headers={"X-API-Key": analyst_key}).status_code == 404
    assert client.get("/v1/shipments", headers={"X-API-Key": analyst_key}).json()["items"] == []


def test_tracking_routes_need_a_member(world):
    db, app, client, a, b = world
    for method, path in (("GET", "/v1/shipments/SA"), ("GET", "/v1/shipments/SA/track"), ("GET", "/v1/shipments"),
                         ("POST", "/v1/shipments"), ("GET", "/v1/devices"), ("POST", "/v1/devices"),
                         ("GET", "/v1/devices/TA"), ("GET", "/v1/warehouses/WH_LODZ")):
        r = client.request(method, path)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), (method, path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        r = client.request(method, path, headers=a.device_headers("TA"))
        assert r.status_code == 403, (method, path, r.text)  # a device key only posts telemetry


def test_binding_through_the_api_issues_the_device_key_once(world, net):
    db, app, client, a, b = world
    r = _call(client, b, "POST", "/v1/devices", {"id": "TB-NEW", "shipment": "SB", "expected_interval_s": 60})
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    assert cred["device"] == "TB-NEW" and cred["key"].startswith("cbd_") and r.headers["cache-control"] == "no-store"
    again = _call(client, b, "POST", "/v1/devices", {"id": "TB-NEW", "shipment": "SB", "expected_interval_s": 120})
    assert again.status_code == 200 and again.json()["credential"] is None  # re-bound: it keeps its key
    assert again.json()["expected_interval_s"] == 120
    assert cred["key"] not in _call(client, b, "GET", "/v1/devices", None).text
    fix = json.dumps({"ts": NOW_S - 30, "lat": 30.8684, "lon": 104.2425, "seq": 5})
    r = client.post("/v1/telemetry", params={"topic": "cbec/v1/devices/TB-NEW/position"}, content=fix,
                    headers={**JSON, "X-Device-Key": cred["key"]})
    assert r.status_code == 202 and r.json()["stored"] == 1, r.text
    assert _call(client, b, "DELETE", "/v1/devices/TB-NEW", None).status_code == 204
    r = client.post("/v1/telemetry", params={"topic": "cbec/v1/devices/TB-NEW/position"}, content=fix,
                    headers={**JSON, "X-Device-Key": cred["key"]})
    assert r.status_code == 401  # a removed device's key stops at once


# --- device credentials on POST /v1/telemetry --------------------------------------------------------------
def _fix(device: str, seq: int) -> tuple[dict, str]:
    return {"topic": f"cbec/v1/devices/{device}/position"}, json.dumps({"ts": NOW_S - 100 + seq, "lat": 30.8685,
                                                                          "lon": 104.2426, "seq": seq})


def test_telemetry_takes_the_devices_own_key_on_its_own_topics_only(world):
    db, app, client, a, b = world
    params, body = _fix("TA", 20)
    refused = [
        ("no credential", {}, 401),
        ("wrong secret", {"X-Device-Key": a.device_keys["TA"][:-4] + "AAAA"}, 401),
        ("malformed key", {"X-Device-Key": "cbd_nope"}, 401),
        ("Basic, wrong secret", {"Authorization": "Basic " + _b64("TA:" + a.device_keys["TA"][:-1] + "x")}, 401),
        ("Basic, another device's name", {"Authorization": "Basic " + _b64("WA:" + a.device_keys["TA"])}, 401),
        ("Basic, not base64", {"Authorization": "Basic %%%"}, 401),
        ("member key", a.headers, 403),
        ("admin key as bearer", {"Authorization": f"Bearer {a.admin_key}"}, 403),
        ("another device of the same tenant", a.device_headers("WA"), 403),
        ("another tenant's device", b.device_headers("TB"), 403),
        ("two credentials", {**a.device_headers("TA"), **a.headers}, 401),
    ]
    for name, headers, status in refused:
        before = snapshot(db)
        r = client.post("/v1/telemetry", params=params, content=body, headers={**JSON, **headers})
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), name
        if status == 401:
            assert r.headers["www-authenticate"].split()[0] in ("Basic", "Bearer"), name
        assert snapshot(db) == before, name  # nothing stored: no reading, no dead letter, no quarantine
    # device B posting on A's sensor topic (a SenML pack): 403 and nothing stored
    before = snapshot(db)
    r = client.post("/v1/telemetry", params={"topic": "cbec/v1/warehouses/WH_LODZ/sensors/WA"},
                    content=json.dumps([{"n": "temperature", "u": "Cel", "v": 30}]),
                    headers={"content-type": "application/senml+json", **b.device_headers("TB")})
    assert r.status_code == 403 and "WA" in r.json()["detail"] and r.json()["field"] == "topic"
    assert snapshot(db) == before
    # the device's own key, both ways
    r = client.post("/v1/telemetry", params=params, content=body, headers={**JSON, **a.device_headers("TA")})
    assert r.status_code == 202 and r.json()["stored"] == 1, r.text
    params, body = _fix("TA", 21)
    r = client.post("/v1/telemetry", params=params, content=body, headers=JSON, auth=a.basic("TA"))
    assert r.status_code == 202 and r.json()["stored"] == 1, r.text


def test_rotating_a_device_key_stops_the_old_one_at_once(world):
    db, app, client, a, b = world
    old = b.device_keys["TB"]
    params, body = _fix("TB", 30)
    assert client.post("/v1/telemetry", params=params, content=body,
                       headers={**JSON, "X-Device-Key": old}).status_code == 202  # cached now
    r = _call(client, b, "POST", "/v1/devices/TB/credentials", None)
    assert r.status_code == 201 and r.json()["key"] != old
    b.device_keys["TB"] = r.json()["key"]
    params, body = _fix("TB", 31)
    r = client.post("/v1/telemetry", params=params, content=body, headers={**JSON, "X-Device-Key": old})
    assert r.status_code == 401, r.text
    r = client.post("/v1/telemetry", params=params, content=body, headers={**JSON, **b.device_headers("TB")})
    assert r.status_code == 202, r.text


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


# --- the CLI: --org scopes an operator's view ----------------------------------------------------------------
def test_cli_org_option_scopes_reads_and_owns_writes(world, net):
    db, app, client, a, b = world
    run = CliRunner().invoke
    url = db.url
    r = run(cli, ["shipments", "list", "--org", "bravo", "--json", "--db", url])
    assert r.exit_code == 0, r.output
    assert [s["id"] for s in json.loads(r.output)["items"]] == ["SB"]
    r = run(cli, ["shipments", "list", "--json", "--db", url])  # the operator's view: every record
    assert {"SA", "SB"} <= {s["id"] for s in json.loads(r.output)["items"]}
    r = run(cli, ["track", "SA", "--org", "bravo", "--db", url])
    assert r.exit_code == 2 and "neither a shipment nor a registered device" in r.output
    r = run(cli, ["track", "SA", "--org", "alpha", "--json", "--db", url])
    assert r.exit_code == 0 and json.loads(r.output)["id"] == "SA"
    r = run(cli, ["devices", "list", "--org", b.org_id, "--json", "--db", url])
    assert "TA" not in {d["device_id"] for d in json.loads(r.output)}
    r = run(cli, ["warehouses", "status", "WH_LODZ", "--org", "bravo", "--json", "--db", url])
    assert json.loads(r.output)["conditions"]["sensors"] == 0
    r = run(cli, ["track", "SA", "--org", "nobody", "--db", url])
    assert r.exit_code == 2 and "--org" in r.output and "unknown organisation" in r.output
    # writes: several organisations, so --org is required; with it the record is that organisation's
    args = ["shipments", "create", "SB-CLI", "--from", "MY_CITY", "--to", "LODZ", "--weight", "10", "--volume", "0.1",
            "--ready", ready_date(30), "--db", url]
    r = run(cli, args)
    assert r.exit_code == 2 and "--org" in r.output
    r = run(cli, [*args, "--org", "bravo"])
    assert r.exit_code == 0, r.output
    assert "SB-CLI" in [s["id"] for s in _call(client, b, "GET", "/v1/shipments", None).json()["items"]]
    assert _call(client, a, "GET", "/v1/shipments/SB-CLI", None).status_code == 404
    r = run(cli, ["devices", "bind", "TB-CLI", "--shipment", "SB-CLI", "--db", url])  # a tracker: its shipment's
    assert r.exit_code == 0 and "device key of TB-CLI" in r.output, r.output
    key = r.output.strip().splitlines()[-1]
    params, body = _fix("TB-CLI", 1)
    r = client.post("/v1/telemetry", params=params, content=body, headers={**JSON, "X-Device-Key": key})
    assert r.status_code == 202, r.text
    r = run(cli, ["devices", "bind", "TB-CLI", "--shipment", "SA", "--org", "bravo", "--db", url])
    assert r.exit_code == 2 and "unknown shipment 'SA'" in r.output
    r = run(cli, ["devices", "credentials", "TB-CLI", "--org", "alpha", "--db", url])
    assert r.exit_code == 2 and "unknown device" in r.output
    r = run(cli, ["devices", "credentials", "TB-CLI", "--org", "bravo", "--json", "--db", url])
    assert r.exit_code == 0 and json.loads(r.output)["key"].startswith("cbd_")


def test_records_from_before_accounts_are_adopted(net, tmp_path):
    """Migration 0003 leaves existing shipments and devices without an organisation: operators see them,
    tenants do not, until `cbec orgs adopt` gives them one."""
    from alembic import command
    from alembic.config import Config

    from storage.db import MIGRATIONS, Database

    url = f"sqlite:///{tmp_path}/old.sqlite3"
    from sqlalchemy import create_engine

    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002_jobs")  # a database of the version before accounts
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO iot_devices (device_id, kind, warehouse_id, excursion_minutes, hysteresis_c, "
                             "door_open_max_minutes, expected_interval_s, created_ms) "
                             "VALUES ('OLD1', 'sensor', 'WH_LODZ', 15, 1, 10, 300, 0)")
    engine.dispose()
    db = open_db(url, migrate=True)  # 0003 on top
    assert isinstance(db, Database)
    with db.engine.connect() as conn:
        assert conn.execute(select(t.devices.c.org_id)).scalar_one() is None
    tenant = make_tenant(db, "heir")
    app = create_app(network=net, ingest_db=db)
    with TestClient(app) as client:
        assert client.get("/v1/devices/OLD1", headers=tenant.headers).status_code == 404
        r = CliRunner().invoke(cli, ["orgs", "adopt", "heir", "--db", url])
        assert r.exit_code == 0 and "1 device(s)" in r.output, r.output
        assert client.get("/v1/devices/OLD1", headers=tenant.headers).status_code == 200
    db.dispose()
