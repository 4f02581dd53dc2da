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
    """Our own ``mosquitto -c <tmp conf>`` on a free port, with persistence in ``workdir``."""

    def __init__(self, workdir: Path, port: int | None = None, *, persistence: bool = True,
                 max_queued: int = 1_000_000) -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.persistence = persistence
        self.max_queued = max_queued
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "MosquittoProcess":
        exe = mosquitto_binary()
        if exe is None:
            raise RuntimeError("mosquitto is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1", "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/", "autosave_interval 1",
            f"max_queued_messages {self.max_queued}", "max_inflight_messages 0", "persistent_client_expiration 1d",
            f"log_dest file {self.workdir}/mosquitto.log",
            # started as root, mosquitto drops to user "mosquitto", which cannot write our tmp dir
            f"user {getpass.getuser()}", "",
        ]))
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
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
    (a publisher that exits before its PUBACKs loses messages: eclipse-mosquitto#298)."""

    def __init__(self, url: str, client_id: str | None = None) -> None:
        from iot_ingest.consumer import parse_mqtt_url

        tg = parse_mqtt_url(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"pub-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv311, clean_session=False)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect(tg.host, tg.port, keepalive=30)
        self.client.loop_start()
        self.infos: list[mqtt.MQTTMessageInfo] = []

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        self.infos.append(self.client.publish(topic, payload, qos=qos))

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
        self.client.disconnect()
        self.client.loop_stop()


def mosquitto_pub(url: str, topic: str, payload: bytes | str, qos: int = 1) -> None:
    """Publish one message with the C client (mosquitto_pub waits for the PUBACK of a single -m)."""
    from iot_ingest.consumer import parse_mqtt_url

    tg = parse_mqtt_url(url)
    data = payload.encode() if isinstance(payload, str) else payload
    subprocess.run(["mosquitto_pub", "-h", tg.host, "-p", str(tg.port), "-q", str(qos), "-t", topic, "-s"],
                   input=data, check=True, timeout=20)


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
