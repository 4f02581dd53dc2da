"""Everything ``cbec serve`` / ``cbec ingest`` start: the embedded broker (when no CBEC_MQTT_URL),
the pipeline and the consumer thread, the webhooks' delivery worker, and their orderly shutdown (flush,
ack, stop broker)."""

from __future__ import annotations

import logging
import secrets
import threading

from iot_ingest.broker import EmbeddedBroker
from iot_ingest.consumer import Consumer, default_client_id, parse_mqtt_url
from storage.db import Database, open_db
from iot_ingest.pipeline import Pipeline
from iot_ingest.retention import KEEP_DAYS, prune
from optimizer.quotes.limits import Range
from optimizer.settings import get_settings
from optimizer.network import Network, load_network
from webhooks.delivery import DeliveryWorker

log = logging.getLogger("iot_ingest")
BATCH_SIZE = Range(1, 100_000, integer=True, unit="messages")  # one transaction; the broker's in-flight window is 4x


class IngestService:
    """``IngestService().start()`` ... ``.stop()``; ``pipeline`` is shared with the HTTP endpoint."""

    def __init__(self, *, mqtt_url: str | None = None, database_url: str | None = None, client_id: str | None = None,
                 batch_size: int = 1000, net: Network | None = None, db: Database | None = None,
                 keep_days: float = 90.0) -> None:
        KEEP_DAYS.check(keep_days, "keep_days", "keep-days")
        BATCH_SIZE.check(batch_size, "batch_size", "batch-size")
        settings = get_settings()
        self.mqtt_url = mqtt_url or settings.mqtt_url
        self.db = db or open_db(database_url or settings.database_url, migrate=True)  # a server role: migrates at start
        self.net = net or load_network(settings.data_dir)
        self.pipeline = Pipeline(self.db, self.net)
        self.broker: EmbeddedBroker | None = None
        self.client_id = client_id
        self.batch_size = batch_size
        self.keep_days = keep_days
        self.consumer: Consumer | None = None
        self.webhooks: DeliveryWorker | None = None
        self._done = threading.Event()

    def start(self) -> "IngestService":
        url = self.mqtt_url
        client_id = self.client_id
        if not url:
            # devices log in with their device keys from this database; the ingest with a password of its own
            # (CBEC_MQTT_INGEST_PASSWORD, else random per start), carried by the broker's URL
            self.broker = EmbeddedBroker(port=1883 if _free(1883) else None, database_url=self.db.url).start()
            url = self.broker.url
            log.warning("no CBEC_MQTT_URL: embedded amqtt broker on mqtt://%s:%d (demo only, not for production)",
                        self.broker.host, self.broker.port)
            if client_id is None:
                # amqtt hands a session to whoever connects with its client id, even a client it then refuses:
                # an unguessable one per start (its sessions live in memory only, nothing to find again)
                client_id = f"{default_client_id()[:48]}-{secrets.token_hex(6)}"
        self.consumer = Consumer(self.pipeline, parse_mqtt_url(url, client_id=client_id), batch_size=self.batch_size,
                                 retention=lambda: prune(self.db, self.keep_days)).start()
        # partners' webhooks: the outbox the batches write, delivered in the background
        self.webhooks = DeliveryWorker.from_settings(self.db).start()
        return self

    def describe(self) -> str:
        tg = self.consumer.target if self.consumer else None
        broker = f"embedded amqtt broker mqtt://{tg.host}:{tg.port}" if self.broker else f"broker {tg.url}"
        return f"{broker}, client id {tg.client_id}, database {self.db.engine.url.render_as_string(hide_password=True)}"

    def wait(self) -> None:
        while not self._done.wait(0.5):
            pass

    def stop(self, timeout: float = 10.0) -> None:
        """Stop in order: with the embedded broker, first let the consumer drain what the broker
        accepted (it keeps nothing across a restart); then flush, store and acknowledge the last
        batch; then stop the broker child. Bounded by about ``timeout`` seconds."""
        if self.consumer is not None:
            if self.broker is not None and self.consumer.connected.is_set():
                self.consumer.drain(timeout=timeout / 2)
            self.consumer.stop(timeout=timeout / 2)
        if self.broker is not None:
            self.broker.stop()
        if self.webhooks is not None:
            self.webhooks.stop()
        self._done.set()


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
