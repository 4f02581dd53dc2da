"""Device credentials on MQTT (issue 16, item 2): a device publishes on its own topics only - on the real
broker (Mosquitto started here with the password file and ACL `cbec mqtt sync` writes) and on the embedded
one (amqtt with the device-login and topic plugins, through IngestService) - and nothing of a refused
publish is stored. The Mosquitto tests skip when the binary is absent.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from accounts import devices as credentials
from accounts import tables as acc
from iot_ingest import tables as t
from iot_ingest.broker import (
    INGEST_USER,
    EmbeddedBroker,
    _topic_verdict,
    device_topic_filters,
    may_publish,
)
from iot_ingest.consumer import Consumer, parse_mqtt_url
from iot_ingest.milestones import create_shipment
from iot_ingest.pipeline import Pipeline
from iot_ingest.registry import bind_device, topic_device
from iot_ingest.runner import IngestService
from optimizer.errors import InvalidInput
from storage.db import open_db
from tests.ingest_journey import ready_date
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import MosquittoProcess, mosquitto_binary

HAVE_MOSQUITTO = mosquitto_binary() is not None
INGEST_PASSWORD = "ingest-" + uuid.uuid4().hex  # per run, as a deployment's secret
NOW = int(time.time())
needs_mosquitto = pytest.mark.skipif(not HAVE_MOSQUITTO, reason="needs the mosquitto binary")


# --- a registry: one organisation, two sensors (A, B) and two OwnTracks phones -----------------------------
@pytest.fixture()
def db(tmp_path):
    d = open_db(f"sqlite:///{tmp_path}/acl.sqlite3", migrate=True)
    yield d
    d.dispose()


@pytest.fixture()
def keys(db, net) -> dict[str, str]:
    tenant = make_tenant(db, "acl-tenant", kind="warehouse_operator")
    create_shipment(db, net, "S1", "MY_CITY", "LODZ", 500, 2, ready_date(30), tag="greenest", org=tenant.org_id)
    for device in ("A", "B"):
        tenant.bind(db, net, device, warehouse="WH_LODZ")
    for device in ("alice-phone", "alice"):
        tenant.bind(db, net, device, shipment="S1")
    return tenant.device_keys


def sensor(device: str, k: int) -> tuple[str, bytes]:
    return (f"cbec/v1/warehouses/WH_LODZ/sensors/{device}",
            json.dumps({"ts": NOW - 600 + k, "temperature_c": 5.0, "seq": k}).encode())


def stored(db) -> dict[str, int]:
    """Every row a message can leave behind: readings, quarantined readings, dead letters."""
    with db.engine.connect() as c:
        return {tb.name: c.execute(select(func.count()).select_from(tb)).scalar_one()
                for tb in (t.readings, t.quarantine, t.dead_letters)}


def readings_of(db, device: str) -> int:
    with db.engine.connect() as c:
        return c.execute(select(func.count()).select_from(t.readings).where(t.readings.c.device_id == device)).scalar_one()


def wait_for(fn, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.05)
    return fn()


class Client:
    """A paho client that waits for its CONNACK: ``.rc`` (a ReasonCode), ``.ok``; QoS 1 publishes wait for the PUBACK."""

    def __init__(self, url: str, username: str | None, password: str | None, *, client_id: str | None = None,
                 protocol: int = mqtt.MQTTv311) -> None:
        tg = parse_mqtt_url(url)
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
                             protocol=protocol)
        if username is not None:
            self.c.username_pw_set(username, password)
        self.rc = None
        self.dropped = False
        self.granted: list = []
        self.received = 0
        self.c.on_message = lambda c, u, m: setattr(self, "received", self.received + 1)
        self.c.on_connect = lambda c, u, f, rc, p: setattr(self, "rc", rc)
        self.c.on_disconnect = lambda c, u, f, rc, p: setattr(self, "dropped", True)
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.granted.extend(rcs)
        self.c.reconnect_delay_set(30, 30)  # no reconnects: a refused or dropped connection stays so
        self.c.connect(tg.host, tg.port, keepalive=30)
        self.c.loop_start()
        assert wait_for(lambda: self.rc is not None, 10), "no CONNACK"

    @property
    def ok(self) -> bool:
        return not self.rc.is_failure

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.c.publish(topic, payload, qos=1)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def check_device_acl(db, url: str, keys: dict[str, str]) -> Client:
    """What both brokers must do (devices connect to ``url``); returns device A's connection, still open,
    after two of its readings were stored."""
    a = Client(url, "A", keys["A"])
    assert a.ok, a.rc
    # its own topic: stored
    a.publish(*sensor("A", 1))
    assert wait_for(lambda: readings_of(db, "A") == 1), stored(db)
    # B's topics (sensor and position) and an OwnTracks topic of another device: refused by the broker (each
    # would leave a reading or a dead letter). The marker after them (A's own) is delivered after them: once
    # it is stored, they would be too
    base = stored(db)
    for topic, payload in [sensor("B", 2), ("cbec/v1/devices/B/position", b'{"ts": 1, "lat": 1, "lon": 1}'),
                           ("owntracks/alice/phone", b'{"_type": "location", "lat": 1, "lon": 1, "tst": 1}')]:
        a.publish(topic, payload)
    a.publish(*sensor("A", 3))
    assert wait_for(lambda: readings_of(db, "A") == 2), stored(db)
    assert stored(db) == {**base, "iot_readings": base["iot_readings"] + 1}  # only the marker
    assert readings_of(db, "B") == 0
    # OwnTracks: device alice-phone publishes as owntracks/alice/phone; device alice cannot reach it
    phone = Client(url, "alice-phone", keys["alice-phone"])
    alice = Client(url, "alice", keys["alice"])
    assert phone.ok and alice.ok
    fix = json.dumps({"_type": "location", "lat": 52.1, "lon": 5.1, "tst": NOW - 300, "acc": 9}).encode()
    alice.publish("owntracks/alice/phone", fix)
    phone.publish("owntracks/alice/phone", fix)
    assert wait_for(lambda: readings_of(db, "alice-phone") == 1), stored(db)
    time.sleep(0.3)
    assert readings_of(db, "alice-phone") == 1 and readings_of(db, "alice") == 0
    phone.close()
    alice.close()
    # refused at CONNECT: a wrong key, another device's key, a device with no credential, anonymous, the
    # ingest's user name with a device key
    for user, password in [("A", keys["A"][:-4] + "AAAA"), ("A", keys["B"]), ("C", keys["A"]), (None, None),
                           ("A", None), (INGEST_USER, keys["A"])]:
        c = Client(url, user, password)
        assert not c.ok, (user, c.rc)
        c.close()
    return a


# --- Mosquitto ------------------------------------------------------------------------------------------
def mqtt_sync(db, passwd: Path, acl: Path, ingest_url: str, *extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CBEC_")}
    out = subprocess.run([sys.executable, "-m", "api.cli", "mqtt", "sync", "--passwd", str(passwd), "--acl", str(acl),
                          "--db", db.url, "--mqtt-url", ingest_url, "--json", *extra],
                         env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr + out.stdout
    return json.loads(out.stdout)


@pytest.mark.integration
@needs_mosquitto
def test_mosquitto_with_synced_passwd_and_acl(tmp_path, db, net, keys):
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    mq = MosquittoProcess(tmp_path / "mq", persistence=False, passwd=passwd, acl=acl)
    ingest_url = f"mqtt://{INGEST_USER}:{INGEST_PASSWORD}@127.0.0.1:{mq.port}"
    first = mqtt_sync(db, passwd, acl, ingest_url)
    assert first["changed"] and first["devices"] == 4 and first["reloaded_pid"] is None
    assert oct(passwd.stat().st_mode & 0o777) == "0o600"
    mq.start()
    cid = "cbec-ingest-acl-" + uuid.uuid4().hex[:6]
    consumer = Consumer(Pipeline(db, net), parse_mqtt_url(ingest_url, client_id=cid), batch_size=10).start()
    try:
        assert consumer.connected.wait(10)
        time.sleep(0.3)
        a = check_device_acl(db, mq.device_url, keys)
        # a device reads nothing, and cannot take the ingest's persistent session over by connecting with the
        # ingest's client id (on the device listener the client id is the user name)
        hijack = Client(mq.device_url, "B", keys["B"], client_id=cid)
        assert hijack.ok
        hijack.c.subscribe("cbec/v1/warehouses/+/sensors/+", 1)
        assert wait_for(lambda: hijack.granted, 5)
        a.publish(*sensor("A", 4))
        assert wait_for(lambda: readings_of(db, "A") == 3), stored(db)
        time.sleep(0.2)
        assert hijack.received == 0
        hijack.close()
        log = (tmp_path / "mq" / "mosquitto.log").read_text()
        sessions = [line for line in log.splitlines() if "New client connected" in line and f" as {cid} " in line]
        assert sessions and all(f"u'{INGEST_USER}'" in line for line in sessions), sessions
        assert "as B (" in log
        # the ingest user reads, it does not write
        ing = Client(mq.url, INGEST_USER, INGEST_PASSWORD)
        assert ing.ok
        ing.publish(*sensor("A", 5))
        a.publish(*sensor("A", 6))
        assert wait_for(lambda: readings_of(db, "A") == 4), stored(db)
        time.sleep(0.2)
        assert readings_of(db, "A") == 4
        ing.close()

        # rotation: A's old key is revoked; after the sync and the reload (SIGHUP) Mosquitto refuses it and
        # drops the connection that used it; the new key works
        _, new_key = credentials.issue(db, "A")
        synced = mqtt_sync(db, passwd, acl, ingest_url, "--reload", str(mq.pid_file))
        assert synced["changed"] and synced["reloaded_pid"] == mq.proc.pid
        assert wait_for(lambda: a.dropped, 10), "Mosquitto kept the revoked key's connection"
        a.close()
        old = Client(mq.device_url, "A", keys["A"])
        assert not old.ok
        old.close()
        fresh = Client(mq.device_url, "A", new_key)
        assert fresh.ok
        fresh.publish(*sensor("A", 7))
        assert wait_for(lambda: readings_of(db, "A") == 5), stored(db)
        fresh.close()
        # removing the device (DELETE /v1/devices/A does this): out of the files, refused after the reload
        with db.engine.begin() as conn:
            credentials.remove(conn, "A")
        assert mqtt_sync(db, passwd, acl, ingest_url, "--signal", str(mq.proc.pid))["devices"] == 3
        time.sleep(0.3)
        gone = Client(mq.device_url, "A", new_key)
        assert not gone.ok
        gone.close()
    finally:
        consumer.stop()
        mq.stop()


@needs_mosquitto
def test_mosquitto_passwd_reads_our_hashes(tmp_path):
    """A password file line we write is one mosquitto_passwd would write (and it reads ours back)."""
    f = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(f), "dev", "s3cret-key"], check=True, timeout=10)
    theirs = f.read_text().strip().split(":", 1)[1]
    assert theirs.startswith("$7$") and credentials.mosquitto_verify("s3cret-key", theirs)
    assert not credentials.mosquitto_verify("s3cret-kez", theirs)
    _, _, iterations, salt, _ = theirs.split("$")
    ours = credentials.mosquitto_hash("s3cret-key", iterations=int(iterations), salt=base64.b64decode(salt))
    assert ours == theirs


# --- the embedded broker ------------------------------------------------------------------------------------
@pytest.mark.integration
def test_embedded_broker_checks_device_keys_and_topics(db, net, keys):
    svc = IngestService(db=db, net=net, batch_size=10).start()
    try:
        assert svc.consumer.connected.wait(10)
        url = f"mqtt://{svc.broker.host}:{svc.broker.port}"
        assert svc.consumer.target.username == INGEST_USER and svc.consumer.target.password
        a = check_device_acl(db, url, keys)
        # a device subscribes to nothing
        spy = Client(url, "B", keys["B"])
        spy.c.subscribe("cbec/v1/warehouses/+/sensors/+", 1)
        assert wait_for(lambda: spy.granted, 5) and all(rc.is_failure for rc in spy.granted), spy.granted
        spy.close()
        # the ingest user publishes nothing
        ing = Client(url, INGEST_USER, svc.broker.ingest_password)
        assert ing.ok
        ing.publish(*sensor("A", 5))
        ing.close()
        # rotation: the old key is refused at CONNECT within DeviceLogins.poll_s (5 s), and on A's open
        # connection within RECHECK_S + poll_s; the new key works at once
        rotated_at = time.monotonic()
        _, new_key = credentials.issue(db, "A")
        fresh = Client(url, "A", new_key)
        assert fresh.ok

        def old_refused() -> bool:
            c = Client(url, "A", keys["A"])
            c.close()
            return not c.ok

        assert wait_for(old_refused, 8), "the embedded broker still takes the revoked key"
        assert time.monotonic() - rotated_at < 8
        time.sleep(max(0.0, 5.5 - (time.monotonic() - rotated_at)))
        a.publish(*sensor("A", 6))  # the revoked key's open connection: refused
        fresh.publish(*sensor("A", 7))  # the marker
        assert wait_for(lambda: readings_of(db, "A") == 3), stored(db)
        time.sleep(0.3)
        assert readings_of(db, "A") == 3  # 1, 3 (check_device_acl) and 7; not 5 (ingest) nor 6 (revoked)
        a.close()
        fresh.close()
    finally:
        svc.stop()


@pytest.mark.integration
def test_embedded_broker_without_database_takes_no_device(net):
    with EmbeddedBroker() as b:
        url = f"mqtt://{b.host}:{b.port}"
        c = Client(url, "A", "cbd_aaaaaaaaaa_" + "x" * 43)
        assert not c.ok
        c.close()
        ing = Client(b.url, INGEST_USER, b.ingest_password)
        assert ing.ok
        ing.close()


# --- the policy and the files (no broker) ---------------------------------------------------------------------
@pytest.mark.parametrize("device", ["TRK-1", "a-b-c", "-x", "x-", "a--b", "WH_LODZ.T1:2", "plain"])
def test_acl_filters_are_exactly_the_devices_own_topics(device):
    filters = device_topic_filters(device)
    for f in filters:
        concrete = f.replace("+", "WH_LODZ")
        assert topic_device(concrete) == device and may_publish(device, concrete), f
    owntracks = [f for f in filters if f.startswith("owntracks/")]
    assert len(owntracks) == sum(1 for i, ch in enumerate(device) if ch == "-" and 0 < i < len(device) - 1)
    assert not may_publish("alice", "owntracks/alice/phone") and may_publish("alice-phone", "owntracks/alice/phone")
    assert not may_publish(device, "cbec/v1/devices/other/position")


def test_topic_verdict_without_a_login_refuses_everything_but_receiving():
    class S:
        username, password, cbec_login = "A", "k", None

    assert _topic_verdict(S(), "cbec/v1/devices/A/position", "publish") is False
    assert _topic_verdict(S(), "cbec/v1/devices/A/position", "subscribe") is False
    assert _topic_verdict(S(), "cbec/v1/devices/A/position", "receive") is True
    s = S()
    s.cbec_login = ("device", "A", "k", time.monotonic())
    assert _topic_verdict(s, "cbec/v1/devices/A/position", "publish") is True
    assert _topic_verdict(s, "cbec/v1/devices/B/position", "publish") is False
    assert _topic_verdict(s, "cbec/v1/devices/+/position", "subscribe") is False
    s.password = "other"  # amqtt put another connection's credentials on the session
    assert _topic_verdict(s, "cbec/v1/devices/A/position", "publish") is False


def test_broker_files_and_sync(tmp_path, db, net, keys):
    files = credentials.broker_files(db, ingest_password=INGEST_PASSWORD)
    users = [line.split(":", 1)[0] for line in files.passwd.splitlines()]
    assert users == [INGEST_USER, "A", "B", "alice", "alice-phone"]
    assert "user alice-phone\ntopic write cbec/v1/devices/alice-phone/position\n" \
           "topic write cbec/v1/warehouses/+/sensors/alice-phone\ntopic write owntracks/alice/phone" in files.acl
    assert "owntracks/alice/+" not in files.acl and "pattern" not in files.acl
    # the stored Mosquitto hash is the device key's
    line = dict(u.split(":", 1) for u in files.passwd.splitlines())
    assert credentials.mosquitto_verify(keys["A"], line["A"]) and not credentials.mosquitto_verify(keys["B"], line["A"])
    assert credentials.mosquitto_verify(INGEST_PASSWORD, line[INGEST_USER])
    # written atomically, only when changed; the ingest's hash is kept while its password is the same
    p, a = tmp_path / "passwd", tmp_path / "acl"
    assert credentials.sync_broker_files(db, p, a, ingest_password=INGEST_PASSWORD)[1] is True
    assert credentials.sync_broker_files(db, p, a, ingest_password=INGEST_PASSWORD)[1] is False
    assert not list(tmp_path.glob(".*.tmp"))
    assert credentials.sync_broker_files(db, p, a, ingest_password=INGEST_PASSWORD + "x")[1] is True
    # a key issued before migration 0004 (no Mosquitto hash) is left out and named
    with db.engine.begin() as conn:
        conn.execute(acc.device_credentials.update().where(acc.device_credentials.c.device_id == "B")
                     .values(broker_hash=None))
    files = credentials.broker_files(db, ingest_password=INGEST_PASSWORD)
    assert files.without_hash == ["B"] and "\nB:" not in files.passwd and "user B\n" not in files.acl
    with pytest.raises(InvalidInput):
        credentials.broker_files(db, ingest_password="")


def test_ingest_ids_are_reserved(db, net, keys):
    with db.engine.connect() as conn:
        org = conn.execute(select(t.devices.c.org_id).where(t.devices.c.device_id == "A")).scalar()
    bind_device(db, net, "cbec-ingest-2", warehouse="WH_LODZ", org=org)
    with pytest.raises(InvalidInput, match="reserved"):
        credentials.issue(db, "cbec-ingest-2")


def test_device_logins_follow_rotation(db, keys):
    logins = credentials.DeviceLogins(db, poll_s=0.0)
    assert logins.check("A", keys["A"]) and logins.cached("A", keys["A"]) is None  # poll_s 0: always re-read
    assert not logins.check("B", keys["A"]) and not logins.check("A", "cbd_x") and not logins.check("A", keys["B"])
    credentials.issue(db, "A")
    assert not logins.check("A", keys["A"])  # the revocation counter moved: the cache is gone
