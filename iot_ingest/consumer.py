"""The MQTT consumer: paho-mqtt 2.x, fixed client id, persistent session, QoS 1, manual acks.

Each message is only appended to a buffer in ``on_message`` (keeping the network loop fast, paho
issue #379); every ``batch_size`` messages or ``flush_ms`` the buffer goes through the
:class:`~iot_ingest.pipeline.Pipeline` in one transaction, and only after the commit are the
PUBACKs sent (paho's ``manual_ack``), so a crash or a lost connection loses nothing: the broker
redelivers what was not acknowledged and the (device, ts, seq) key drops what was already stored.

Subscriptions are made in ``on_connect`` (so they survive reconnects, paho #573) and are shared
(``$share/<group>/...``, MQTT 5) so that several ingest processes split the load. MQTT 5 also lets
the consumer raise the broker's in-flight window for it (Receive Maximum) above one batch.

URL: ``mqtt://[user:password@]host[:port][?protocol=5|311&share=GROUP&client_id=ID]``;
``mqtts://`` for TLS. ``share=`` (empty) subscribes without a shared group (needed by brokers
without shared subscriptions, e.g. amqtt, which also speaks only MQTT 3.1.1).
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.exc import SQLAlchemyError

from iot_ingest.decoders import SUBSCRIPTIONS
from iot_ingest.pipeline import Pipeline
from optimizer.errors import InvalidInput

log = logging.getLogger("iot_ingest.consumer")

SESSION_EXPIRY_S = 7 * 86400  # the broker keeps our queue this long while no consumer is connected


@dataclass(frozen=True)
class MqttTarget:
    """Where and how to connect."""

    host: str
    port: int
    protocol: int = 5  # 5 or 311
    share_group: str | None = "cbec-ingest"
    client_id: str = "cbec-ingest-1"
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str, *, client_id: str | None = None) -> MqttTarget:
    """Parse ``mqtt://host:port?protocol=5&share=cbec-ingest&client_id=...``; raises InvalidInput."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise InvalidInput(f"MQTT URL must start with mqtt:// or mqtts:// (got {url!r})", field="mqtt_url")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise InvalidInput(f"bad port in MQTT URL {url!r}", field="mqtt_url") from None
    if not parts.hostname:
        raise InvalidInput(f"no host in MQTT URL {url!r}", field="mqtt_url")
    q = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    protocol = int(q.get("protocol", "5").replace(".", "") or 5)
    if protocol not in (5, 311):
        raise InvalidInput(f"protocol must be 5 or 311 (got {q['protocol']})", field="mqtt_url")
    share = q.get("share", "cbec-ingest" if protocol == 5 else "") or None
    if share and protocol != 5:
        raise InvalidInput("shared subscriptions need MQTT 5 (protocol=5)", field="mqtt_url")
    return MqttTarget(parts.hostname, port, protocol, share, client_id or q.get("client_id") or default_client_id(),
                      unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None, tls)


def default_client_id() -> str:
    """Fixed per host unless CBEC_INGEST_CLIENT_ID says otherwise: the persistent session is found
    again after a restart. Several processes on one host need distinct ids (``--client-id``)."""
    return os.environ.get("CBEC_INGEST_CLIENT_ID") or f"cbec-ingest-{socket.gethostname()}"[:64]


class Consumer:
    """Run with :meth:`run` (blocking) or :meth:`start`/:meth:`stop` (background thread)."""

    def __init__(self, pipeline: Pipeline, target: MqttTarget | str, *, batch_size: int = 1000, flush_ms: int = 100,
                 sweep_s: float = 30.0, retention: "object | None" = None, retention_every_s: float = 3600.0,
                 session_expiry_s: int = SESSION_EXPIRY_S) -> None:
        self.pipeline = pipeline
        self.target = parse_mqtt_url(target) if isinstance(target, str) else target
        self.batch_size = batch_size
        self.flush_s = flush_ms / 1000.0
        self.sweep_s = sweep_s
        self.retention = retention  # callable run every retention_every_s (iot_ingest.retention)
        self.retention_every_s = retention_every_s
        self.session_expiry_s = session_expiry_s
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._buf: list[tuple[str, bytes, int, int, int]] = []
        self._first = 0.0
        self.received = 0
        self.batches = 0
        self.client = self._make_client()

    # --- paho ------------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        tg = self.target
        proto = mqtt.MQTTv5 if tg.protocol == 5 else mqtt.MQTTv311
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=tg.client_id, protocol=proto,
                        clean_session=None if proto == mqtt.MQTTv5 else False, manual_ack=True)
        if tg.username:
            c.username_pw_set(tg.username, tg.password)
        if tg.tls:
            c.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.on_disconnect = self._on_disconnect
        return c

    def topics(self) -> list[str]:
        g = self.target.share_group
        return [f"$share/{g}/{t}" if g else t for t in SUBSCRIPTIONS]

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        client.subscribe([(t, 1) for t in self.topics()])
        log.info("connected to %s (session present: %s)", self.target.url, flags.session_present)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()

    def _on_message(self, client, userdata, msg) -> None:
        if not self._buf:
            self._first = time.monotonic()
        self._buf.append((msg.topic, msg.payload, int(time.time() * 1000), msg.mid, msg.qos))

    def _connect(self) -> None:
        tg = self.target
        if tg.protocol == 5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session_expiry_s
            props.ReceiveMaximum = min(65535, max(2 * self.batch_size, 100))
            self.client.connect(tg.host, tg.port, keepalive=30, clean_start=False, properties=props)
        else:
            self.client.connect(tg.host, tg.port, keepalive=30)

    # --- batches ---------------------------------------------------------------------------------
    def _flush(self, ack: bool) -> None:
        batch, self._buf = self._buf, []
        delay = 0.2
        while True:
            try:
                self.pipeline.process([(t, p, r) for t, p, r, _, _ in batch])
                break
            except SQLAlchemyError as exc:  # database down: keep the batch, do not ack, retry
                log.error("database error, retrying batch of %d in %.1fs: %s", len(batch), delay, exc)
                if self._stop.wait(delay):
                    return  # shutting down: unacknowledged messages will be redelivered
                delay = min(delay * 2, 5.0)
        self.received += len(batch)
        self.batches += 1
        if ack:  # after the commit: PUBACK (QoS 1) so the broker may forget them
            c = self.client
            for _, _, _, mid, qos in batch:
                if qos:
                    c.ack(mid, qos)

    def run(self) -> None:
        """Consume until :meth:`stop`; reconnects with backoff; flushes the last batch on exit."""
        backoff = 0.2
        up = False
        last_sweep = last_retention = time.monotonic()
        try:
            while not self._stop.is_set():
                if not up:
                    try:
                        self._connect()
                        up, backoff = True, 0.2
                    except (OSError, ValueError) as exc:
                        log.warning("MQTT %s unreachable (%s); retry in %.1fs", self.target.url, exc, backoff)
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, 5.0)
                        continue
                rc = self.client.loop(timeout=0.01 if self._buf else 0.2)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    # connection lost: store what we have (idempotent) but do not ack on the new
                    # connection - the broker redelivers those and dedup drops them
                    if self._buf:
                        self._flush(ack=False)
                    self.connected.clear()
                    up = False
                    continue
                now = time.monotonic()
                if self._buf and (len(self._buf) >= self.batch_size or now - self._first >= self.flush_s):
                    self._flush(ack=True)
                if now - last_sweep >= self.sweep_s:
                    last_sweep = now
                    self._safe(self.pipeline.sweep)
                if self.retention is not None and now - last_retention >= self.retention_every_s:
                    last_retention = now
                    self._safe(self.retention)
        finally:
            if self._buf and up:
                self._flush(ack=True)
                self.client.loop(timeout=0.05)  # push the last PUBACKs out
            try:
                self.client.disconnect()
            except Exception:  # noqa: BLE001 - already gone
                pass

    def _safe(self, fn) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - housekeeping must not stop ingest
            log.error("%s failed: %s", getattr(fn, "__name__", fn), exc)

    def start(self) -> "Consumer":
        self._thread = threading.Thread(target=self.run, name="cbec-ingest", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def main() -> None:  # python -m iot_ingest.consumer URL DB  (used by the fault tests and the bench)
    import argparse

    ap = argparse.ArgumentParser(description="run the ingest consumer")
    ap.add_argument("--mqtt-url", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--client-id")
    ap.add_argument("--batch-size", type=int, default=1000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from iot_ingest.db import open_db

    c = Consumer(Pipeline(open_db(args.db)), parse_mqtt_url(args.mqtt_url, client_id=args.client_id),
                 batch_size=args.batch_size)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: c._stop.set())
    try:
        c.run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
