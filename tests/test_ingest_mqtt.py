"""Integration and fault tests against a real broker and database.

Broker: the machine's Mosquitto on 127.0.0.1:1883 when it is there (anonymous), else an embedded amqtt
broker started here, where devices log in with their device keys (``device_keys``; the broker checks
them against a database of its own). Tests that stop a broker start their own Mosquitto (free port,
persistence in a tmp dir; anonymous: tests/test_mqtt_acl.py has the logins and ACL). Database: SQLite, and PostgreSQL on 127.0.0.1:5432 (a throw-away schema) when it is there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from iot_ingest import tables as t
from iot_ingest.broker import EmbeddedBroker
from iot_ingest.consumer import Consumer, parse_mqtt_url
from storage.db import open_db
from iot_ingest.milestones import create_shipment
from iot_ingest.pipeline import Pipeline
from iot_ingest.registry import bind_device, topic_device
from iot_ingest.status import track
from tests.support.ingest_testing import (MosquittoProcess, PgSchema, Publisher, grant_devices, mosquitto_binary, mosquitto_pub,
                                         pg_available, system_broker_available)
from tests.ingest_journey import journey, position, ready_date

NOW = int(time.time())
HAVE_MOSQUITTO = mosquitto_binary() is not None


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ingest.sqlite"
        return
    if not pg_available():
        pytest.skip("PostgreSQL not running on 127.0.0.1:5432")
    with PgSchema() as url:
        yield url


@pytest.fixture(scope="module")
def _broker(tmp_path_factory):
    if system_broker_available():  # the machine's Mosquitto: never stopped by these tests
        yield None, None
        return
    auth = open_db(f"sqlite:///{tmp_path_factory.mktemp('broker-auth')}/auth.sqlite", migrate=True)
    with EmbeddedBroker(database_url=auth.url) as b:
        yield b.url, auth
    auth.dispose()


@pytest.fixture()
def broker_url(_broker):
    # a share group of its own per test: Mosquitto also hands shared messages to the offline
    # persistent session of an earlier test's consumer in the same group
    return _broker[0] or "mqtt://127.0.0.1:1883?share=cbec-test-" + uuid.uuid4().hex[:8]


@pytest.fixture()
def device_keys(_broker, net):
    """``device_keys(ids)``: {device id: key} the embedded broker accepts; None for the (anonymous) system broker."""
    auth = _broker[1]
    return lambda ids: None if auth is None else grant_devices(auth, net, ids)


def count(db, table) -> int:
    with db.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


def wait_for(fn, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.05)
    return fn()


def publish(url: str, items, use_cli: bool = True, keys: dict[str, str] | None = None) -> None:
    """Publish and wait for the PUBACKs; ``keys`` ({device id: key}): each message as the device its topic names."""
    if use_cli and mosquitto_binary() and shutil.which("mosquitto_pub"):
        for topic, payload in items:
            device = topic_device(topic)
            login = {"username": device, "password": keys[device]} if keys is not None else {}
            mosquitto_pub(url, topic, payload, **login)
        return
    pub = Publisher(url, credentials=keys)
    pub.publish_many(items)
    pub.close()


@pytest.mark.integration
def test_formats_train_track_alert_and_dead_letters_over_mqtt(broker_url, device_keys, db_url, net):
    db = open_db(db_url, migrate=True)
    shp = create_shipment(db, net, "S1", "MY_CITY", "LODZ", 500, 2, ready_date(30), tag="greenest")
    bind_device(db, net, "TRK1", shipment="S1")
    bind_device(db, net, "alice-phone", shipment="S1")
    bind_device(db, net, "T1", warehouse="WH_LODZ", temp_min=2, temp_max=8, excursion_minutes=10)
    keys = device_keys(["TRK1", "alice-phone", "T1"])
    c = Consumer(Pipeline(db, net), parse_mqtt_url(broker_url, client_id="cbec-test-" + uuid.uuid4().hex[:8]),
                 batch_size=200, session_expiry_s=30).start()
    try:
        assert c.connected.wait(10)
        time.sleep(0.3)
        t0 = NOW - 3600
        items = [
            ("owntracks/alice/phone", json.dumps({"_type": "location", "lat": 52.1, "lon": 5.1, "tst": t0, "acc": 9})),
            ("cbec/v1/warehouses/WH_LODZ/sensors/T1",
             json.dumps([{"bn": "T1:", "bt": t0, "n": "temperature", "u": "Cel", "v": 4.0}] +
                        [{"n": "temperature", "u": "Cel", "t": 60 * i, "v": 12.0} for i in range(1, 25)])),
            ("cbec/v1/warehouses/WH_LODZ/sensors/T1", json.dumps({"ts": t0 + 1800, "temperature_c": 13.5, "humidity_pct": 60})),
            ("cbec/v1/devices/TRK1/position", b'{"ts": 1, "lat": NaN, "lon": 0}'),
            ("cbec/v1/devices/TRK1/position", b'{"ts": "x", "lat": 1'),
            ("cbec/v1/devices/TRK1/position", json.dumps({"ts": NOW, "lat": 123.0, "lon": 0})),
        ]
        publish(broker_url, items, keys=keys)
        pts = journey(net, shp, delay_h={"ALA_CN": 6})
        publish(broker_url, [position("TRK1", lat, lon, ts, i) for i, (_, lat, lon, ts) in enumerate(pts)], use_cli=False,
                keys=keys)
        ok = wait_for(lambda: count(db, t.readings) >= 1 + 25 + 1 + len(pts) and count(db, t.dead_letters) >= 3)
        assert ok, (count(db, t.readings), count(db, t.dead_letters), count(db, t.quarantine), 1 + 25 + 1 + len(pts))
        time.sleep(0.3)
    finally:
        c.stop()
    assert count(db, t.readings) == 1 + 25 + 1 + len(pts)
    assert count(db, t.dead_letters) == 3
    with db.engine.connect() as conn:
        alerts = conn.execute(select(t.alerts)).mappings().all()
    assert [a["kind"] for a in alerts] == ["temperature_high"]  # one alert for 25 readings out of range
    doc = track(db, net, "S1")
    arrivals = [e["node"] for e in doc["events"] if e["kind"] == "arrival" and e["device"] == "TRK1"
                and e["node"] in ("CD_RAILPORT", "ALA_CN", "BREST", "MALA", "LODZ")]
    assert arrivals == ["CD_RAILPORT", "ALA_CN", "BREST", "MALA", "LODZ"]
    assert doc["status"] == "delivered" and doc["eta"]["delay_hours"] == pytest.approx(6, abs=0.1)
    db.dispose()


def _consumer_proc(url: str, db_url: str, client_id: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "iot_ingest.consumer", "--mqtt-url", url, "--db", db_url,
                             "--client-id", client_id, "--batch-size", "200"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.getcwd())


def _seed(db, net, n_dev: int) -> None:
    create_shipment(db, net, "S1", "MY_CITY", "LODZ", 500, 2, ready_date(30), tag="greenest")
    for i in range(n_dev):
        bind_device(db, net, f"F{i}", shipment="S1")


def _stream(n: int, n_dev: int):
    # each device moves 111 m per fix (a fix every n_dev s): a track the speed filter believes
    return [position(f"F{i % n_dev}", 40 + (i // n_dev) * 1e-3, 60.0, (NOW - n + i) * 1000, i) for i in range(n)]


def _assert_exactly_once(db, n: int) -> None:
    with db.engine.connect() as c:
        seqs = [r[0] for r in c.execute(select(t.readings.c.seq))]
    assert len(seqs) == n and sorted(seqs) == list(range(n))


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_MOSQUITTO, reason="needs a mosquitto binary: amqtt 0.12 (embedded) lost in-flight QoS 1 "
                    "messages of a SIGKILLed subscriber in this test - one more reason it is demo-only")
def test_consumer_sigkill_mid_stream_loses_nothing(tmp_path, db_url, net):
    N, DEV = 4000, 50
    db = open_db(db_url, migrate=True)
    _seed(db, net, DEV)
    with MosquittoProcess(tmp_path / "mq") as broker:
        cid = "cbec-fault-" + uuid.uuid4().hex[:6]
        # create the persistent session (subscriptions) first, so nothing published while the
        # child process is still importing can miss it
        prime = Consumer(Pipeline(db, net), parse_mqtt_url(broker.url, client_id=cid)).start()
        assert prime.connected.wait(10)
        time.sleep(0.3)
        prime.stop()
        proc = _consumer_proc(broker.url, db_url, cid)
        pub = Publisher(broker.url)
        msgs = _stream(N, DEV)
        pub.publish_many(msgs[: N // 2])
        assert wait_for(lambda: count(db, t.readings) > 200, 30)
        proc.send_signal(signal.SIGKILL)  # mid-stream: a batch is in flight, un-acked
        proc.wait()
        pub.publish_many(msgs[N // 2:])
        pub.close()
        proc = _consumer_proc(broker.url, db_url, cid)
        try:
            assert wait_for(lambda: count(db, t.readings) >= N, 60)
            time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(10)
    _assert_exactly_once(db, N)
    db.dispose()


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_MOSQUITTO, reason="broker restart needs a mosquitto binary (amqtt keeps no state)")
def test_broker_restart_mid_stream_loses_nothing(tmp_path, db_url, net):
    N, DEV = 4000, 50
    db = open_db(db_url, migrate=True)
    _seed(db, net, DEV)
    broker = MosquittoProcess(tmp_path / "mq").start()
    try:
        c = Consumer(Pipeline(db, net), parse_mqtt_url(broker.url, client_id="cbec-restart-" + uuid.uuid4().hex[:6]),
                     batch_size=200).start()
        assert c.connected.wait(10)
        time.sleep(0.3)
        msgs = _stream(N, DEV)
        pub = Publisher(broker.url)
        pub.publish_many(msgs[: N // 2])
        pub.wait()
        broker.restart()  # SIGTERM (persistence saved), then the same port and persistence dir
        pub.publish_many(msgs[N // 2:])
        pub.close()
        assert wait_for(lambda: count(db, t.readings) >= N, 60)
        time.sleep(0.5)
        c.stop()
    finally:
        broker.stop()
    _assert_exactly_once(db, N)
    db.dispose()


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_MOSQUITTO, reason="broker restart needs a mosquitto binary (amqtt keeps no state)")
@pytest.mark.parametrize("share", [None, "cbec-restart"], ids=["plain", "shared"])
def test_broker_restart_while_consumer_offline(tmp_path, net, share):
    """The cause of the once-flaky restart test: Mosquitto (2.0.x) restores a persistent session
    after a restart but not its ``$share`` subscriptions, so what is published before the consumer
    is back and has subscribed again has no subscriber and is dropped. The consumer's default
    (plain subscription) keeps it; a shared group loses it on such a broker (xfail, documented in
    iot_ingest/consumer.py and deploy/mosquitto/README.md)."""
    N, DEV = 300, 10
    db = open_db(f"sqlite:///{tmp_path}/offline.sqlite", migrate=True)
    _seed(db, net, DEV)
    broker = MosquittoProcess(tmp_path / "mq").start()
    url = broker.url + (f"?share={share}" if share else "")
    cid = "cbec-offline-" + uuid.uuid4().hex[:6]
    try:
        c = Consumer(Pipeline(db, net), parse_mqtt_url(url, client_id=cid)).start()
        assert c.connected.wait(10)
        time.sleep(0.3)
        c.stop()  # offline, persistent session kept by the broker
        broker.restart()
        publish(broker.url, _stream(N, DEV), use_cli=False)  # while the consumer is away
        c = Consumer(Pipeline(db, net), parse_mqtt_url(url, client_id=cid)).start()
        try:
            assert c.connected.wait(10)
            got = wait_for(lambda: count(db, t.readings) >= N, 30 if share is None else 3)
        finally:
            c.stop()
    finally:
        broker.stop()
    n = count(db, t.readings)
    db.dispose()
    if share is not None and n == 0:
        pytest.xfail("this Mosquitto does not restore $share subscriptions after a restart (2.0.x)")
    assert got and n == N


_topics = st.one_of(
    st.sampled_from(["cbec/v1/devices/F1/position", "owntracks/u/d", "cbec/v1/warehouses/WH_LODZ/sensors/S1",
                     "cbec/v1/devices//position", "owntracks/a", "x"]),
    st.text(max_size=40))
_json_like = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                          lambda ch: st.lists(ch, max_size=4) | st.dictionaries(
                              st.sampled_from(["ts", "lat", "lon", "seq", "_type", "tst", "bn", "bt", "n", "u", "v",
                                               "t", "temperature_c", "door_open", "occupied_positions"]), ch, max_size=6),
                          max_leaves=12)
_payloads = st.one_of(st.binary(max_size=200), _json_like.map(lambda v: json.dumps(v).encode()))


@pytest.fixture(scope="module")
def fuzz_pipe(net, tmp_path_factory):
    db = open_db(f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/f.sqlite", migrate=True)
    create_shipment(db, net, "S1", "MY_CITY", "LODZ", 500, 2, ready_date(30), tag="greenest")
    bind_device(db, net, "F1", shipment="S1")
    bind_device(db, net, "S1", warehouse="WH_LODZ")
    return Pipeline(db, net)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(_topics, _payloads), min_size=1, max_size=5))
def test_fuzz_no_exception_escapes_the_consumer(fuzz_pipe, batch):
    res = fuzz_pipe.process_raw(batch)  # raises only on database errors
    assert res.received == len(batch)
    # every message is accounted for: dead-lettered, ignored, or decoded into readings
    assert res.dead_lettered + res.ignored + (1 if res.readings else 0) >= 1
