"""The MQTT consumer: paho-mqtt 2.x, fixed client id, persistent session, QoS 1, manual acks.

Each message is only appended to a buffer in ``on_message`` (keeping the network loop fast, paho
issue #379); every ``batch_size`` messages or ``flush_ms`` the buffer is handed to a writer thread
that puts it through the :class:`~iot_ingest.pipeline.Pipeline` in one transaction, while the
network thread goes on receiving the next batch (the commit's fsync and SQLite's C code run
without the GIL). Only after the commit are the batch's PUBACKs sent, by the network thread, in
the order the messages arrived (paho's ``manual_ack``; MQTT requires in-order PUBACKs), so a crash
or a lost connection loses nothing: the broker redelivers what was not acknowledged and the
(device, ts, seq) key drops what was already stored. Acks of a batch received on an earlier
connection are never sent on a later one (the broker redelivers those messages instead).

Subscriptions are made in ``on_connect`` (so they survive reconnects, paho #573). By default they
are plain subscriptions of the consumer's persistent session. ``share=GROUP`` makes them shared
(``$share/GROUP/...``, MQTT 5) so that several ingest processes split the load - but Mosquitto
2.0 does not keep shared subscriptions over a broker restart (measured with 2.0.11: the session
comes back, its ``$share`` subscription does not), so whatever devices publish between the
restart and the consumers' reconnect has no subscriber and is dropped. A plain subscription is
restored from the broker's persistence and queues those messages. Hence: one consumer (the
default) - no share group; several - ``share=cbec-ingest`` and a broker that keeps shared
subscriptions, or accept that window (the consumer reconnects within ~0.1-1 s).
MQTT 5 also lets the consumer raise the broker's in-flight window for it (Receive Maximum) to a
few batches, so the broker keeps sending while a batch is being stored.

URL: ``mqtt://[user:password@]host[:port][?protocol=5|311&share=GROUP&client_id=ID]``;
``mqtts://`` for TLS. ``share=`` (empty, the default) subscribes without a shared group (also
what brokers without shared subscriptions need, e.g. amqtt, which speaks only MQTT 3.1.1).
Without a password in the URL, ``CBEC_MQTT_INGEST_PASSWORD`` is the password (user ``cbec-ingest``
unless the URL names one): the secret need not sit in the URL, and ``cbec mqtt sync`` writes the same
password's hash into Mosquitto's password file.
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.exc import SQLAlchemyError

from iot_ingest.broker import INGEST_USER
from iot_ingest.decoders import SUBSCRIPTIONS
from iot_ingest.pipeline import Pipeline
from optimizer.errors import InvalidInput
from optimizer.settings import get_settings

log = logging.getLogger("iot_ingest.consumer")

_puback = struct.Struct("!BBH").pack  # fixed header, remaining length 2, packet id (as paho builds it)

SESSION_EXPIRY_S = 7 * 86400  # the broker keeps our queue this long while no consumer is connected


@dataclass(frozen=True)
class MqttTarget:
    """Where and how to connect."""

    host: str
    port: int
    protocol: int = 5  # 5 or 311
    share_group: str | None = None
    client_id: str = "cbec-ingest-1"
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str, *, client_id: str | None = None) -> MqttTarget:
    """Parse ``mqtt://host:port?protocol=5&share=GROUP&client_id=...``; raises InvalidInput."""
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
    share = q.get("share", "") or None
    if share and protocol != 5:
        raise InvalidInput("shared subscriptions need MQTT 5 (protocol=5)", field="mqtt_url")
    username, password = ingest_login(url)
    return MqttTarget(parts.hostname, port, protocol, share, client_id or q.get("client_id") or default_client_id(),
                      username, password, tls)


def ingest_login(url: str | None) -> tuple[str | None, str | None]:
    """The ingest's (user name, password) on the broker: the URL's, else ``CBEC_MQTT_INGEST_PASSWORD`` with the
    URL's user name or ``cbec-ingest``; (user or None, None) when neither gives a password."""
    parts = urlsplit(url or "")
    try:
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
    except ValueError:
        username = password = None
    if password is None:
        configured = get_settings().mqtt_ingest_password
        if configured is not None:
            return username or INGEST_USER, configured.get_secret_value()
    return username, password


def default_client_id() -> str:
    """Fixed per host unless CBEC_INGEST_CLIENT_ID says otherwise: the persistent session is found
    again after a restart. Several processes on one host need distinct ids (``--client-id``)."""
    return get_settings().ingest_client_id or f"cbec-ingest-{socket.gethostname()}"[:64]


class Consumer:
    """Run with :meth:`run` (blocking) or :meth:`start`/:meth:`stop` (background thread)."""

    def __init__(self, pipeline: Pipeline, target: MqttTarget | str, *, batch_size: int = 1000, flush_ms: int = 100,
                 sweep_s: float = 30.0, retention: "object | None" = None, retention_every_s: float = 3600.0,
                 session_expiry_s: int = SESSION_EXPIRY_S, writer_thread: bool = True) -> None:
        self.pipeline = pipeline
        self.writer_thread = writer_thread  # False: store each batch in the network thread
        self.read_ahead = 64  # packets read per loop() turn at most (0: one, as paho's loop() does)
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
        # network thread -> writer thread: (connection generation, batch) or a housekeeping callable;
        # one batch waiting while one is written (the broker's Receive Maximum bounds the rest)
        self._work: queue.Queue = queue.Queue(maxsize=1)
        # writer -> network thread: (generation, [(mid, qos), ...]) of committed batches, in order
        self._committed: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0  # batches handed to the writer and not yet acknowledged (network thread only)
        self._gen = 0  # connection generation: acks are only valid on the connection that received
        self._writer: threading.Thread | None = None
        self.received = 0
        self.batches = 0
        self.arrived = 0  # messages taken off the socket (network thread); received: stored
        self.last_arrival = 0.0  # monotonic time of the last message (for drain)
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
        buf = self._buf
        if not buf:
            self._first = time.monotonic()
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # a broker that lets invalid UTF-8 through: a dead letter, not a dead loop
            topic = msg._topic.decode("utf-8", "backslashreplace")
        buf.append((topic, msg.payload, int(time.time() * 1000), msg.mid, msg.qos))
        self.arrived += 1

    def _connect(self) -> None:
        tg = self.target
        if tg.protocol == 5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session_expiry_s
            # a batch being written, one waiting, one filling, plus slack for acks in transit
            props.ReceiveMaximum = min(65535, max(4 * self.batch_size, 100))
            self.client.connect(tg.host, tg.port, keepalive=30, clean_start=False, properties=props)
        else:
            self.client.connect(tg.host, tg.port, keepalive=30)

    # --- writer thread ---------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            if callable(item):
                self._safe(item)
                continue
            gen, batch = item
            if not self._store_and_ack(gen, batch):
                return  # stopping while the database is down: nothing acked, the broker redelivers

    def _store_and_ack(self, gen: int, batch) -> bool:
        """Put the batch through the pipeline (one transaction), retrying while the database is down,
        then hand its acks to the network thread; False: stopped before it could be stored."""
        delay = 0.2
        msgs = [(t, p, r) for t, p, r, _, _ in batch]
        while True:
            try:
                self.pipeline.process(msgs)
                break
            except Exception as exc:  # database down (SQLAlchemyError): keep the batch, do not ack, retry
                log.error("%s, retrying batch of %d in %.1fs: %s", "database error" if isinstance(exc, SQLAlchemyError)
                          else "unexpected error", len(batch), delay, exc)
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, 5.0)
        self.received += len(batch)
        self.batches += 1
        self._committed.put((gen, [(mid, qos) for _, _, _, mid, qos in batch if qos]))
        return True

    # --- network thread --------------------------------------------------------------------------
    def _put(self, item, block: bool = True) -> bool:
        """Queue work for the writer; False if it is busy (``block=False``) or has stopped."""
        while True:
            try:
                self._work.put(item, timeout=0.1) if block else self._work.put_nowait(item)
                return True
            except queue.Full:
                if not block or self._writer is None or not self._writer.is_alive():
                    return False

    def _hand_off(self, block: bool) -> bool:
        """Give the buffer to the writer; False when it is busy (keep receiving, try again)."""
        if not self.writer_thread:
            batch, self._buf = self._buf, []
            self._pending += 1
            self._store_and_ack(self._gen, batch)
            return True
        if not self._put((self._gen, self._buf), block):
            return False
        self._buf = []
        self._pending += 1
        return True

    def _read_ahead(self) -> MQTTErrorCode:
        """Read the packets already waiting in the socket without a select() and a loop() round
        each (paho's loop() reads one packet per call); stops at the first read that yields no
        message, so PUBACK writes, pings and keepalive still get their loop() turn often."""
        c, buf = self.client, self._buf
        for _ in range(self.read_ahead):
            n = len(buf)
            rc = c.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or len(buf) == n or len(buf) >= self.batch_size:
                return rc
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _ack_committed(self, up: bool) -> None:
        c = self.client
        while True:
            try:
                gen, acks = self._committed.get_nowait()
            except queue.Empty:
                return
            self._pending -= 1
            if up and gen == self._gen:  # after the commit: PUBACK (QoS 1) so the broker may forget them
                self._send_acks(c, acks)

    @staticmethod
    def _send_acks(c: mqtt.Client, acks: list[tuple[int, int]]) -> None:
        """All PUBACKs of a batch in one socket write, in arrival order. Each is the 4 bytes paho's own
        ``ack()`` sends (MQTT 5 allows omitting the reason code when it is Success); ``ack()`` per
        message costs a queue entry, a wake-up byte and a send() each - ~1/4 of the receive cost."""
        queue_packet = getattr(c, "_packet_queue", None)
        if queue_packet is None or any(q != 1 for _, q in acks):
            for mid, qos in acks:
                c.ack(mid, qos)
            return
        for i in range(0, len(acks), 4096):
            chunk = acks[i:i + 4096]
            queue_packet(mqtt.PUBACK, b"".join([_puback(mqtt.PUBACK, 2, mid) for mid, _ in chunk]), 0, 0)

    def run(self) -> None:
        """Consume until :meth:`stop`; reconnects with backoff; flushes the last batch on exit."""
        if self.writer_thread:
            self._writer = threading.Thread(target=self._write_loop, name="cbec-ingest-writer", daemon=True)
            self._writer.start()
        backoff = 0.1
        up = False
        last_sweep = last_retention = time.monotonic()
        try:
            while not self._stop.is_set():
                if not up:
                    try:
                        self._connect()
                        up, backoff = True, 0.1
                        self._gen += 1
                    except (OSError, ValueError) as exc:
                        log.warning("MQTT %s unreachable (%s); retry in %.1fs", self.target.url, exc, backoff)
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, 1.0)  # short: the sooner we are back, the less queues
                        continue
                rc = self.client.loop(timeout=0.005 if (self._buf or self._pending) else 0.2)
                if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._buf and self.read_ahead:
                    rc = self._read_ahead()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    # connection lost: store what we have (idempotent) but never ack it on the new
                    # connection - the broker redelivers those and dedup drops them
                    if self._buf:
                        self._hand_off(block=True)
                    self._ack_committed(up=False)
                    self.connected.clear()
                    up = False
                    continue
                if self._pending:
                    self._ack_committed(up=True)
                now = time.monotonic()
                if self._buf and (len(self._buf) >= self.batch_size or now - self._first >= self.flush_s):
                    # the writer busy: keep receiving (bounded by Receive Maximum), unless far behind
                    self._hand_off(block=len(self._buf) >= 8 * self.batch_size)
                if now - last_sweep >= self.sweep_s:
                    last_sweep = now
                    self._housekeeping(self.pipeline.sweep)
                if self.retention is not None and now - last_retention >= self.retention_every_s:
                    last_retention = now
                    self._housekeeping(self.retention)
        finally:
            if self._buf and up:
                self._hand_off(block=True)
            if self._writer is not None:
                self._put(None)
                self._writer.join()
            self._ack_committed(up=up)
            if up:
                self.client.loop(timeout=0.05)  # push the last PUBACKs out
            try:
                self.client.disconnect()
            except Exception:  # noqa: BLE001 - already gone
                pass

    def _housekeeping(self, fn) -> None:
        if self._writer is None:
            self._safe(fn)
        else:
            self._put(fn, block=False)  # runs in the writer thread, between batches; busy: next time

    def _safe(self, fn) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - housekeeping must not stop ingest
            log.error("%s failed: %s", getattr(fn, "__name__", fn), exc)

    def start(self) -> "Consumer":
        self._thread = threading.Thread(target=self.run, name="cbec-ingest", daemon=True)
        self._thread.start()
        return self

    def lag(self) -> int:
        """Messages taken off the socket but not yet stored (a gauge for /metrics and /readyz)."""
        return max(0, self.arrived - self.received)

    def drain(self, idle_s: float = 0.5, timeout: float = 10.0) -> bool:
        """Wait until nothing arrived for ``idle_s`` and everything that arrived is stored (at most
        ``timeout``): before an embedded broker stops, what it accepted must reach the database,
        since it keeps no messages across a restart. True when drained."""
        deadline = time.monotonic() + timeout
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if self.arrived != seen:
                seen, quiet_since = self.arrived, time.monotonic()
            elif time.monotonic() - quiet_since >= idle_s and self.lag() == 0:
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """Flush the last batch, acknowledge what is stored and disconnect (within ``timeout``)."""
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
    from storage.db import open_db

    c = Consumer(Pipeline(open_db(args.db, migrate=True)), parse_mqtt_url(args.mqtt_url, client_id=args.client_id),
                 batch_size=args.batch_size)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: c._stop.set())
    try:
        c.run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
