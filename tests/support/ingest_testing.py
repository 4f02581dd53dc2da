"""Helpers for tests and benchmarks: a private Mosquitto process, a reliable publisher, a
throw-away PostgreSQL schema. Never touches the machine's own broker service or other schemas."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from iot_ingest.broker import free_port

PG_URL = os.environ.get("CBEC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# CBEC_TEST_EMBEDDED_ONLY=1: behave as on a machine without Mosquitto and PostgreSQL (embedded
# amqtt broker, SQLite), to exercise the fallback path where both are installed
EMBEDDED_ONLY = os.environ.get("CBEC_TEST_EMBEDDED_ONLY", "") not in ("", "0")


def system_broker_available() -> bool:
    return not EMBEDDED_ONLY and port_open("127.0.0.1", 1883)


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def mosquitto_binary() -> str | None:
    if EMBEDDED_ONLY:
        return None
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
                                              if os.path.exists(p)), None)


class MosquittoProcess:
    """Our own ``mosquitto -c <tmp conf>`` on a free port, with persistence in ``workdir``.

    Anonymous by default. With ``passwd`` and ``acl`` (the files ``cbec mqtt sync`` writes) it is set up as
    deploy/mosquitto/mosquitto.conf, without TLS: logins and the ACL required, one listener for the ingest
    (``url``) and one for devices (``device_url``) where the client id is the user name. ``pid_file``: for
    ``cbec mqtt sync --reload``."""

    def __init__(self, workdir: Path, port: int | None = None, *, persistence: bool = True,
                 max_queued: int = 1_000_000, passwd: Path | None = None, acl: Path | None = None) -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.persistence = persistence
        self.max_queued = max_queued
        self.passwd = passwd
        self.acl = acl
        self.device_port = free_port() if passwd is not None else self.port
        self.pid_file = self.workdir / "mosquitto.pid"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def device_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.device_port}"

    def _listeners(self) -> list[str]:
        if self.passwd is None:
            return [f"listener {self.port} 127.0.0.1", "allow_anonymous true"]
        auth = ["allow_anonymous false", f"password_file {self.passwd}", f"acl_file {self.acl}"]
        return (["per_listener_settings true", f"listener {self.port} 127.0.0.1"] + auth
                + [f"listener {self.device_port} 127.0.0.1"] + auth + ["use_username_as_clientid true"])

    def start(self) -> "MosquittoProcess":
        exe = mosquitto_binary()
        if exe is None:
            raise RuntimeError("mosquitto is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(self._listeners() + [
            f"pid_file {self.pid_file}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/", "autosave_interval 1",
            f"max_queued_messages {self.max_queued}", "max_inflight_messages 0", "persistent_client_expiration 1d",
            f"log_dest file {self.workdir}/mosquitto.log",
            # started as root, mosquitto drops to user "mosquitto", which cannot write our tmp dir
            f"user {getpass.getuser()}", "",
        ]))
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not (port_open("127.0.0.1", self.port) and port_open("127.0.0.1", self.device_port)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {(self.workdir / 'mosquitto.log').read_text()[-400:]}")
            time.sleep(0.02)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: mosquitto writes its persistence file on the way out."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> "MosquittoProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Publisher:
    """paho QoS 1 publisher with a persistent session that waits for every PUBACK
    (a publisher that exits before its PUBACKs loses messages: eclipse-mosquitto#298).

    On a broker that checks logins: ``username``/``password`` (one login for everything), or
    ``credentials`` ({device id: device key}): one connection per device, each message sent by the device
    its topic names (a device may publish on its own topics only)."""

    def __init__(self, url: str, client_id: str | None = None, *, username: str | None = None,
                 password: str | None = None, credentials: dict[str, str] | None = None) -> None:
        from iot_ingest.consumer import parse_mqtt_url

        self.target = parse_mqtt_url(url)
        self.client_id = client_id or f"pub-{uuid.uuid4().hex[:8]}"
        self.credentials = credentials
        self.clients: dict[str | None, mqtt.Client] = {}
        self.infos: list[mqtt.MQTTMessageInfo] = []
        self.client = None if credentials is not None else self._connect(self.client_id, username, password)
        if self.client is not None:
            self.clients[None] = self.client

    def _connect(self, client_id: str, username: str | None, password: str | None) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=False)
        if username is not None:
            c.username_pw_set(username, password)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(0.1, 1)
        c.connect(self.target.host, self.target.port, keepalive=30)
        c.loop_start()
        return c

    def _client_for(self, topic: str) -> mqtt.Client:
        if self.credentials is None:
            return self.client
        from iot_ingest.registry import topic_device

        device = topic_device(topic)
        c = self.clients.get(device)
        if c is None:
            if device not in self.credentials:
                raise KeyError(f"publisher: no credential for device {device!r} (topic {topic})")
            c = self.clients[device] = self._connect(f"{self.client_id}-{device}", device, self.credentials[device])
        return c

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        self.infos.append(self._client_for(topic).publish(topic, payload, qos=qos))

    def publish_many(self, items: Iterable[tuple[str, bytes | str]], qos: int = 1, window: int = 2000) -> None:
        for topic, payload in items:
            self.publish(topic, payload, qos)
            if len(self.infos) >= window:
                self.wait(60)

    def wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for info in self.infos:
            # not is_published(): it raises for a message queued while disconnected (rc NO_CONN),
            # which paho still sends after reconnecting
            while not info._published:
                if time.monotonic() > deadline:
                    raise TimeoutError("publisher: PUBACKs missing")
                time.sleep(0.002)
        self.infos.clear()

    def close(self) -> None:
        self.wait()
        for c in self.clients.values():
            c.disconnect()
            c.loop_stop()


def mosquitto_pub(url: str, topic: str, payload: bytes | str, qos: int = 1, *, username: str | None = None,
                  password: str | None = None) -> None:
    """Publish one message with the C client (mosquitto_pub waits for the PUBACK of a single -m)."""
    from iot_ingest.consumer import parse_mqtt_url

    tg = parse_mqtt_url(url)
    data = payload.encode() if isinstance(payload, str) else payload
    login = ["-u", username, "-P", password or ""] if username is not None else []
    subprocess.run(["mosquitto_pub", "-h", tg.host, "-p", str(tg.port), "-q", str(qos), "-t", topic, "-s"] + login,
                   input=data, check=True, timeout=20)


def grant_devices(db, net, device_ids: Iterable[str], *, org_name: str | None = None) -> dict[str, str]:
    """Device keys for a broker that checks logins against ``db``: each device already bound there in an
    organisation gets a (new) key; any other is bound first, as a sensor of WH_LODZ in a new organisation
    (``org_name``). Returns {device id: key}."""
    from accounts import devices as credentials
    from accounts.store import create_org
    from iot_ingest.registry import UnknownDevice, bind_device, get_device

    org_id = None
    keys = {}
    for device_id in device_ids:
        try:
            known = get_device(db, device_id).org_id is not None
        except UnknownDevice:
            known = False
        if not known:
            if org_id is None:
                org_id = create_org(db, org_name or f"devices-{uuid.uuid4().hex[:8]}", "warehouse_operator")[0].org_id
            bind_device(db, net, device_id, warehouse="WH_LODZ", org=org_id)
        keys[device_id] = credentials.issue(db, device_id)[1]
    return keys


def pg_available() -> bool:
    if EMBEDDED_ONLY or not port_open("127.0.0.1", 5432):
        return False
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=2):
            return True
    except Exception:  # noqa: BLE001
        return False


class PgSchema:
    """A fresh schema for one test run (dropped afterwards); the URL routes every table into it."""

    def __init__(self) -> None:
        self.name = f"cbec_ingest_test_{uuid.uuid4().hex[:10]}"
        self.base = PG_URL.replace("postgresql+psycopg", "postgresql")

    def __enter__(self) -> str:
        import psycopg

        with psycopg.connect(self.base, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{self.name}"')
        return f"{PG_URL}?options=-csearch_path%3D{self.name}"

    def __exit__(self, *exc) -> None:
        import psycopg

        with psycopg.connect(self.base, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


def param_db_url(request, tmp_dir) -> str:
    """The database URL of a test parametrised ``["sqlite", "postgresql"]``: a throw-away PostgreSQL schema
    (dropped when ``request`` finalises; the test skipped where PostgreSQL does not answer) or a SQLite file
    in ``tmp_dir``."""
    import pytest

    if request.param == "postgresql":
        if not pg_available():
            pytest.skip("no PostgreSQL at 127.0.0.1:5432 (database test)")
        schema = PgSchema()
        url = schema.__enter__()
        request.addfinalizer(lambda: schema.__exit__(None, None, None))
        return url
    return f"sqlite:///{tmp_dir}/test.sqlite3"
