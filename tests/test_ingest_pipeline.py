"""Decoders and the handler chain on an in-memory database (fast, no broker)."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from iot_ingest import tables as t
from storage.db import open_db
from iot_ingest.decoders import DecodeError, decode
from iot_ingest.milestones import create_shipment, get_shipment
from iot_ingest.pipeline import Pipeline
from iot_ingest.registry import bind_device
from iot_ingest.retention import prune
from iot_ingest.status import free_capacity_m3, ingest_stats, track, track_geojson, warehouse_status
from tests.ingest_journey import H, journey, position, ready_date

NOW = int(time.time())


@pytest.fixture()
def db():
    d = open_db("sqlite:///:memory:", migrate=True)
    yield d
    d.dispose()


@pytest.fixture()
def pipe(db, net):
    return Pipeline(db, net)


def count(db, table, *where) -> int:
    with db.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


# --- decoders --------------------------------------------------------------------------------------
def test_owntracks_verbatim_example_decodes():
    payload = (b'{"_type":"location","acc":9,"alt":93,"batt":94,"bs":1,"BSSID":"ca:fe:ed:40:81:5b","cog":252,"conn":"w",'
               b'"lat":53.430722,"lon":5.112126,"m":1,"p":99.182,"SSID":"hotel","t":"p","tid":"SG","tst":1701263310,'
               b'"vac":3,"vel":1}')
    (r,) = decode("owntracks/alice/phone", payload, 0)
    assert (r.device_id, r.ts_ms, r.lat, r.lon, r.speed_kmh, r.heading, r.battery_pct, r.accuracy_m) == \
        ("alice-phone", 1701263310000, 53.430722, 5.112126, 1.0, 252.0, 94.0, 9.0)


def test_senml_rfc_examples_resolve_base_time_and_units():
    ex4 = (b'[{"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,"bu":"%RH","v":21.2},{"t":10,"v":21.3},'
           b'{"t":20,"v":21.4}]')
    rs = decode("cbec/v1/warehouses/WH_LODZ/sensors/H1", ex4, 0)
    assert [(r.ts_ms, r.humidity_pct) for r in rs] == [(1320067464000, 21.2), (1320067474000, 21.3), (1320067484000, 21.4)]
    ex5 = (b'[{"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,"bu":"%RH","v":20},{"u":"lon","v":24.30621},'
           b'{"u":"lat","v":60.07965},{"t":60,"v":20.3},{"u":"lon","t":60,"v":24.30622},{"u":"lat","t":60,"v":60.07965}]')
    rs = decode("cbec/v1/warehouses/WH_LODZ/sensors/R1", ex5, 0)
    assert [(r.humidity_pct, r.lat, r.lon) for r in rs] == [(20.0, 60.07965, 24.30621), (20.3, 60.07965, 24.30622)]
    lwm2m = b'[{"bn":"25e185f6/3303/","bt":1710151647,"n":"0","vs":"urn:oma:lwm2m:ext:3303"},{"n":"5700","u":"Cel","v":22.5}]'
    (r,) = decode("cbec/v1/warehouses/WH_LODZ/sensors/T9", lwm2m, 0)
    assert (r.temperature_c, r.ts_ms) == (22.5, 1710151647000)
    (r,) = decode("cbec/v1/warehouses/WH_LODZ/sensors/T9", b'[{"n":"temperature","u":"Cel","v":4,"t":-60}]', 1_000_000)
    assert r.ts_ms == 1_000_000 - 60_000  # relative time: seconds before receipt


@pytest.mark.parametrize("topic,payload,reason", [
    ("cbec/v1/devices/X/position", b"{not json", "bad JSON"),
    ("cbec/v1/devices/X/position", b'{"ts": 1, "lat": NaN, "lon": 0}', "non-finite"),
    ("cbec/v1/devices/X/position", b'{"ts": 1, "lat": "31.4", "lon": 0}', "must be a number"),
    ("cbec/v1/devices/X/position", b'[1, 2]', "expected a JSON object"),
    ("cbec/v1/devices/X/position", b'{"lat": 1, "lon": 0}', "missing field 'ts'"),
    ("cbec/v1/devices/X/position", b"{" + b" " * 70000 + b"}", "too large"),
    ("cbec/v1/warehouses/W/sensors/S", b'{"ts": 1}', "no measurement"),
    ("owntracks/a/b", b'{"_type": "bogus"}', "unsupported _type"),
    ("some/other/topic", b"{}", "unknown topic"),
])
def test_malformed_messages_raise_decode_error(topic, payload, reason):
    with pytest.raises(DecodeError, match=reason):
        decode(topic, payload, 0)


# --- schema ----------------------------------------------------------------------------------------
def test_migrations_create_the_schema_tables_py_declares(db):
    """tables.py follows Reading's measurement fields; the Alembic migrations must create exactly that
    (a new measurement needs a migration adding its column), and exactly the tables of the other
    packages that share the one history (storage/migrations/env.py's TABLE_MODULES: accounts, jobs)."""
    import ast
    import importlib

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.db import MIGRATIONS

    tree = ast.parse((MIGRATIONS / "env.py").read_text())
    modules = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                   and any(getattr(target, "id", None) == "TABLE_MODULES" for target in n.targets))
    assert "iot_ingest.tables" in modules
    metadata = [importlib.import_module(name).metadata for name in modules]
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert [d for d in diff if not (d[0] == "remove_table" and d[1].name == "iot_alembic_version")] == []


def test_device_state_round_trips_every_measurement(db):
    from iot_ingest.handlers import DeviceState
    from iot_ingest.handlers.store import _STATE_SQL
    from iot_ingest.reading import MEASUREMENTS

    st = DeviceState("D1", 5, 1, 6, frozenset({"LODZ"}), {"ut": 60})
    for i, m in enumerate(MEASUREMENTS):
        setattr(st, m.name, {float: 1.5 + i, int: i, bool: True}[m.type])
    with db.engine.begin() as conn:
        conn.exec_driver_sql(db.sql(_STATE_SQL), [st.row()])
    with db.engine.connect() as conn:
        back = DeviceState.from_row(conn.execute(select(t.device_state)).mappings().one())
    assert back.row() == st.row() and not back.is_new


# --- chain -----------------------------------------------------------------------------------------
def _shipment(db, net, sid="S1"):
    return create_shipment(db, net, sid, "MY_CITY", "LODZ", 500, 2, ready_date(30), tag="greenest")


def test_dead_letters_quarantine_and_release(db, net, pipe):
    res = pipe.process_raw([
        ("cbec/v1/devices/TRK1/position", json.dumps({"ts": NOW, "lat": 95.0, "lon": 10}).encode()),  # range
        ("cbec/v1/devices/TRK1/position", json.dumps({"ts": NOW + 3 * 86400, "lat": 5, "lon": 10}).encode()),  # future
        ("cbec/v1/devices/TRK1/position", b"\xff\xfe garbage"),
        ("cbec/v1/devices/TRK1/position", json.dumps({"ts": NOW, "lat": 5, "lon": 10, "seq": 1}).encode()),  # unknown
    ])
    assert (res.dead_lettered, res.quarantined, res.stored) == (3, 1, 0)
    with db.engine.connect() as c:
        reasons = sorted(r.reason for r in c.execute(select(t.dead_letters)))
    assert any("lat 95.0 out of range" in r for r in reasons) and any("future" in r for r in reasons)
    _shipment(db, net)
    _, released = bind_device(db, net, "TRK1", shipment="S1")
    assert released == 1 and count(db, t.readings) == 1 and count(db, t.quarantine) == 0


def test_redelivery_is_idempotent_and_late_reading_keeps_state(db, net, pipe):
    _shipment(db, net)
    bind_device(db, net, "TRK1", shipment="S1")
    # 11 km in 950 s (42 km/h): a plausible move (the speed filter rejects what a train cannot do)
    msgs = [position("TRK1", 40.0, 70.0, (NOW - 1000) * 1000, 1), position("TRK1", 40.1, 70.0, (NOW - 50) * 1000, 2)]
    pipe.process_raw(msgs)
    res = pipe.process_raw(msgs + msgs)  # QoS 1 redelivery, twice
    assert res.stored == 0 and res.duplicates == 4 and count(db, t.readings) == 2
    late = pipe.process_raw([position("TRK1", 10.0, 10.0, (NOW - 80) * 1000, 3)])
    assert late.stored == 1 and late.late == 1
    doc = track(db, net, "TRK1")
    assert doc["last"]["lat"] == 40.1  # the late fix went to history only


def test_train_journey_arrivals_in_order_and_eta_from_actual_progress(db, net, pipe):
    shp = _shipment(db, net)
    assert [m["node"] for m in shp.milestones] == ["MY_CITY", "CD_RAILPORT", "ALA_CN", "BREST", "MALA", "LODZ"]
    bind_device(db, net, "TRK1", shipment="S1")
    pts = journey(net, shp, delay_h={"ALA_CN": 10})
    upto_ala = [p for p in pts if "BREST" not in p[0] and "MALA" not in p[0] and "LODZ" not in p[0]
                and p[0] != "after ALA_CN" and p[0] != "still at ALA_CN"]
    pipe.process_raw([position("TRK1", lat, lon, ts, i) for i, (_, lat, lon, ts) in enumerate(upto_ala)])
    s = get_shipment(db, "S1")
    assert s.status == "at:ALA_CN"
    planned = s.milestones[2]["planned_arrive"]
    assert s.milestones[2]["actual_arrive"] == planned + 10 * H
    # ETA: the train's remaining planned offsets from Alashankou, from the actual arrival
    assert round((s.eta_p50_ms - planned) / H, 3) == round((s.milestones[-1]["planned_arrive"] - planned) / H, 3) + 10 + 24
    pipe.process_raw([position("TRK1", lat, lon, ts, 100 + i) for i, (_, lat, lon, ts) in enumerate(pts)])
    doc = track(db, net, "S1")
    arrivals = [e["node"] for e in doc["events"] if e["kind"] == "arrival"
                and e["node"] in ("CD_RAILPORT", "ALA_CN", "BREST", "MALA", "LODZ")]
    assert arrivals == ["CD_RAILPORT", "ALA_CN", "BREST", "MALA", "LODZ"]
    assert doc["status"] == "delivered" and doc["eta"]["delay_hours"] == pytest.approx(10, abs=0.1)
    gj = track_geojson(db, net, "S1")
    assert gj["features"][0]["geometry"]["type"] == "LineString"


def test_temperature_excursion_raises_one_alert_with_hysteresis(db, net, pipe):
    bind_device(db, net, "T1", warehouse="WH_LODZ", temp_min=2, temp_max=8, excursion_minutes=15, hysteresis_c=1)
    t0 = NOW - 3600
    temps = [5, 9, 9.5, 10, 7.5, 9, 10] + [10] * 20 + [7.5, 7.8, 6.9, 5]  # 7.5/7.8: inside but within hysteresis
    msgs = [("cbec/v1/warehouses/WH_LODZ/sensors/T1",
             json.dumps({"ts": t0 + 60 * i, "temperature_c": v, "humidity_pct": 50}).encode()) for i, v in enumerate(temps)]
    for m in msgs:  # one message per batch, as they would arrive live
        pipe.process_raw([m])
    with db.engine.connect() as c:
        rows = c.execute(select(t.alerts)).mappings().all()
    assert len(rows) == 1
    a = rows[0]
    assert a["kind"] == "temperature_high" and a["started_ms"] == (t0 + 60 * 5) * 1000
    assert a["ended_ms"] == (t0 + 60 * (len(temps) - 2)) * 1000  # closed at 6.9 °C (<= 8 - 1), not at 7.5
    assert a["value"] == 10


def test_door_and_silent_alerts(db, net, pipe):
    bind_device(db, net, "D1", warehouse="WH_LODZ", door_open_max_minutes=10, expected_interval_s=60)
    t0 = NOW - 1800
    pipe.process_raw([("cbec/v1/warehouses/WH_LODZ/sensors/D1", json.dumps({"ts": t0 + 60 * i, "door_open": True}).encode())
                      for i in range(15)])
    assert pipe.sweep(at_ms=int(time.time() * 1000) + 2 * 60_000) == 0  # 2 min < 3 x 60 s
    assert pipe.sweep(at_ms=int(time.time() * 1000) + 10 * 60_000) == 1  # silent for 10 min > 3 x 60 s
    with db.engine.connect() as c:
        kinds = sorted(r.kind for r in c.execute(select(t.alerts)))
    assert kinds == ["door_open", "silent"]
    pipe.process_raw([("cbec/v1/warehouses/WH_LODZ/sensors/D1", json.dumps({"ts": t0 + 1200, "door_open": False}).encode())])
    with db.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(t.alerts).where(t.alerts.c.ended_ms.is_(None))).scalar_one() == 0


def test_warehouse_status_and_free_capacity(db, net, pipe):
    bind_device(db, net, "OCC1", warehouse="WH_LODZ")
    bind_device(db, net, "T2", warehouse="WH_LODZ")
    pipe.process_raw([("cbec/v1/warehouses/WH_LODZ/sensors/OCC1", json.dumps({"ts": NOW, "occupied_positions": 5000}).encode()),
                      ("cbec/v1/warehouses/WH_LODZ/sensors/T2",
                       b'[{"bn":"T2:","bt":%d,"n":"temperature","u":"Cel","v":18.5},{"n":"humidity","u":"%%RH","v":55}]' % NOW)])
    (w,) = warehouse_status(db, net, "WH_LODZ")
    assert w["conditions"]["temperature_c"]["mean"] == 18.5 and w["conditions"]["humidity_pct"] == 55
    assert w["capacity"]["occupied_positions"] == 5000
    assert w["capacity"]["free_positions"] == w["capacity"]["capacity_positions"] - 5000
    assert free_capacity_m3(db, net)["WH_LODZ"] == w["capacity"]["free_m3"]
    assert ingest_stats(db)["stored"] == 2


def test_retention_downsamples_old_readings(db, net, pipe):
    bind_device(db, net, "T3", warehouse="WH_LODZ")
    old = NOW - 100 * 86400
    pipe.process_raw([("cbec/v1/warehouses/WH_LODZ/sensors/T3", json.dumps({"ts": old + 60 * i, "temperature_c": 10 + i}).encode())
                      for i in range(10)] +
                     [("cbec/v1/warehouses/WH_LODZ/sensors/T3", json.dumps({"ts": NOW, "temperature_c": 5}).encode())])
    out = prune(db, keep_days=90)
    assert out["deleted"] == 10 and count(db, t.readings) == 1
    with db.engine.connect() as c:
        rows = c.execute(select(t.readings_hourly)).mappings().all()
    assert sum(r["n"] for r in rows) == 10 and min(r["temp_min"] for r in rows) == 10 and max(r["temp_max"] for r in rows) == 19


def test_api_telemetry_shipments_warehouses(db, net):
    from fastapi.testclient import TestClient

    from api.app import create_app

    from tests.support.accounts import make_tenant

    tenant = make_tenant(db)
    app = create_app(network=net, ingest_db=db)
    with TestClient(app) as client:
        client.auth = tenant.auth()  # the member key; on telemetry the device's own key
        r = client.post("/v1/shipments", json={"id": "S9", "from": "MY_CITY", "to": "LODZ", "weight_kg": 500,
                                               "volume_m3": 2, "ready": ready_date(30), "tag": "greenest"})
        assert r.status_code == 201, r.text
        tenant.bind(db, net, "alice-phone", shipment="S9")
        ot = {"_type": "location", "lat": 30.8684, "lon": 104.2425, "tst": NOW - 60}
        js = {"content-type": "application/json"}  # telemetry is JSON only (text/plain and forms: 415)
        r = client.post("/v1/telemetry", params={"topic": "owntracks/alice/phone"}, content=json.dumps(ot), headers=js)
        assert r.status_code == 202 and r.json()["stored"] == 1
        r = client.post("/v1/telemetry", params={"topic": "owntracks/alice/phone"}, content=b'{"_type":"location"',
                        headers=js)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        doc = client.get("/v1/shipments/S9").json()
        assert doc["events"][0]["node"] == "CD_RAILPORT" and doc["eta"]["p50"]
        assert client.get("/v1/shipments/S9/track").json()["type"] == "FeatureCollection"
        assert client.get("/v1/shipments/NOPE").status_code == 404
        w = client.get("/v1/warehouses/WH_LODZ").json()
        assert w["capacity"]["capacity_positions"] > 0
        assert client.get("/v1/warehouses/LODZ").status_code == 422


def test_cli_bind_track_status_stats(tmp_path, net):
    from typer.testing import CliRunner

    from api.cli import app

    url = f"sqlite:///{tmp_path}/cli.sqlite"
    run = CliRunner().invoke
    r = run(app, ["track", "S1", "--db", url])  # read-only commands never create a database
    assert r.exit_code == 2 and "cbec db upgrade" in r.output and not (tmp_path / "cli.sqlite").exists()
    r = run(app, ["db", "upgrade", "--db", url])
    assert r.exit_code == 0 and "at revision" in r.output
    r = run(app, ["shipments", "create", "S1", "--from", "MY_CITY", "--to", "LODZ", "--weight", "500", "--volume", "2",
                  "--ready", ready_date(30), "--tag", "greenest", "--db", url])
    assert r.exit_code == 0, r.output
    r = run(app, ["devices", "bind", "TRK9", "--shipment", "S1", "--db", url])
    assert r.exit_code == 0 and "bound tracker TRK9" in r.output
    r = run(app, ["devices", "bind", "TRK9", "--shipment", "NOPE", "--db", url])
    assert r.exit_code == 2 and "unknown shipment 'NOPE'" in r.output
    Pipeline(open_db(url, migrate=True), net).process_raw([position("TRK9", 30.8684, 104.2425, (NOW - 60) * 1000, 1)])
    r = run(app, ["track", "S1", "--json", "--db", url])
    assert r.exit_code == 0 and json.loads(r.output)["events"][0]["node"] == "CD_RAILPORT"
    r = run(app, ["warehouses", "status", "WH_LODZ", "--json", "--db", url])
    assert r.exit_code == 0 and json.loads(r.output)["id"] == "WH_LODZ"
    r = run(app, ["ingest", "stats", "--json", "--db", url])
    assert r.exit_code == 0 and json.loads(r.output)["stored"] == 1
