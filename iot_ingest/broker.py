"""The embedded broker: amqtt (pure Python, MQTT 3.1.1) in a child process, for a zero-setup demo.

Measured here (reference/iot.md §3.4): ~6,000 msg/s QoS 0 and ~3,500 msg/s QoS 1, 20-30x the CPU
per message of Mosquitto; no shared subscriptions; sessions are kept in memory only (a broker
restart loses queued messages). Ample for a demo and for tests - **not for production**: use
Mosquitto (deploy/mosquitto/, credentials and ACL from ``cbec mqtt sync``) or EMQX and set
``CBEC_MQTT_URL``.

Who may do what - one policy, for this broker and for the files ``cbec mqtt sync`` writes for Mosquitto:

* a **device** logs in with its device id as user name and its device key (``cbd_...``) as password,
  publishes on its own topics only (:func:`may_publish`: the topics whose device id,
  ``registry.topic_device``, is its own; :func:`device_topic_filters` lists them for an ACL) and
  subscribes to nothing. A device without a credential (never bound, or removed) cannot log in; a
  refused publish reaches no subscriber, so nothing of it is stored;
* the **ingest** logs in as ``cbec-ingest`` (:data:`INGEST_USER`) and subscribes to the device topics
  (``decoders.SUBSCRIPTIONS``); it publishes nothing. Device ids starting with ``cbec-ingest`` are
  reserved;
* nobody else: anonymous clients are refused.

Here: :class:`DeviceAuthPlugin` checks logins (the ingest's password in memory, device keys against the
database through ``accounts.devices.DeviceLogins``) and :class:`DeviceTopicPlugin` the topics. A
session's login is checked again at most every :data:`RECHECK_S` seconds when it publishes (from the
login cache, so a publish costs a comparison, not a query): a rotated or removed key stops publishing
within ``RECHECK_S`` + ``DeviceLogins.poll_s`` (about 10 s) even on a connection that stays open.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from urllib.parse import quote

from iot_ingest.decoders import SUBSCRIPTIONS
from iot_ingest.registry import topic_device
from optimizer.errors import CbecError
from optimizer.processes import die_with_parent
from optimizer.settings import get_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the policy ------------------------------------------------------------------------------------------
INGEST_USER = "cbec-ingest"
RESERVED_PREFIX = "cbec-ingest"  # no device id starts with it: the ingest's user name and client ids
RECHECK_S = 5.0  # a session's device login is checked again (from the login cache) this often while it publishes
DEVICE_LOGINS = "accounts.devices:DeviceLogins"
"""Checks device keys in the broker child. Named, not imported: ``accounts`` sits above ``iot_ingest``
(it owns the credentials and reads the registry), so the child imports it by name as amqtt imports its
plugins (as storage/migrations/env.py names every package's tables). ``DeviceLogins.from_url(URL)``
must give an object with ``check(device_id, key) -> bool`` (may query; called in a thread) and
``cached(device_id, key) -> bool | None`` (no I/O; None: ask ``check``)."""


def reserved(device_id: str) -> bool:
    """True for ids no device may have (the ingest's user name and client ids)."""
    return device_id.startswith(RESERVED_PREFIX)


def may_publish(device_id: str, topic: str) -> bool:
    """A device publishes on its own topics only: those whose device id is its own."""
    return topic_device(topic) == device_id and not reserved(device_id)


def device_topic_filters(device_id: str) -> list[str]:
    """Every topic (filter) the device may publish on, for an ACL (one line each): its position topic,
    its sensor topic in any warehouse, and its OwnTracks topics - ``owntracks/USER/DEVICE`` for each
    way of cutting the id at a '-' into two non-empty parts (the decoder reads ``USER-DEVICE``), so
    that no other device's id can be reached (``owntracks/<id>/+`` would let device ``alice`` publish
    for ``alice-phone``)."""
    out = [f"cbec/v1/devices/{device_id}/position", f"cbec/v1/warehouses/+/sensors/{device_id}"]
    out += [f"owntracks/{device_id[:i]}/{device_id[i + 1:]}" for i, ch in enumerate(device_id)
            if ch == "-" and 0 < i < len(device_id) - 1]
    return out


def ingest_topic_filters() -> list[str]:
    """What the ingest user reads: every device topic (the consumer's subscriptions)."""
    return list(SUBSCRIPTIONS)


def default_ingest_password(given: str | None = None) -> str:
    """The embedded broker's ingest password: ``given``, else ``CBEC_MQTT_INGEST_PASSWORD``, else a random one
    (per start: the broker keeps nothing across a restart, and the consumer gets it in the URL)."""
    if given:
        return given
    configured = get_settings().mqtt_ingest_password
    return configured.get_secret_value() if configured is not None else secrets.token_urlsafe(24)


# --- the child process -----------------------------------------------------------------------------------
_CONFIG_ENV = "CBEC_EMBEDDED_BROKER"  # the child's settings (JSON): never on the command line, which ps shows


class EmbeddedBroker:
    """``with EmbeddedBroker(database_url=URL) as b: b.url`` - a child process, stopped on exit.

    Devices log in with the device credentials of the database at ``database_url`` (None: no device can
    log in); the ingest user with ``ingest_password`` (default: :func:`default_ingest_password`), which ``url``
    carries for the consumer."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", *, database_url: str | None = None,
                 ingest_password: str | None = None, ingest_user: str = INGEST_USER) -> None:
        self.host = host
        self.port = port or free_port()
        self.database_url = database_url
        self.ingest_user = ingest_user
        self.ingest_password = default_ingest_password(ingest_password)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        # amqtt speaks MQTT 3.1.1 only and has no $share: no shared group. amqtt keeps queued messages
        # only for sessions with a user name (see DeviceAuthPlugin): the ingest always logs in
        return (f"mqtt://{quote(self.ingest_user, safe='')}:{quote(self.ingest_password, safe='')}@{self.host}:{self.port}"
                "?protocol=311&share=")

    def start(self, timeout: float = 15.0) -> "EmbeddedBroker":
        env = dict(os.environ)
        env[_CONFIG_ENV] = json.dumps({"database_url": self.database_url or "", "ingest_user": self.ingest_user,
                                       "ingest_password": self.ingest_password})
        self.proc = subprocess.Popen([sys.executable, "-m", "iot_ingest.broker", str(self.port), self.host], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=die_with_parent)  # SIGTERM when we die
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")[-300:] if self.proc.stderr else ""
                raise CbecError(f"embedded MQTT broker failed to start on port {self.port}: {err}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    self._forward_stderr()
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise CbecError(f"embedded MQTT broker did not open port {self.port} within {timeout:.0f}s")

    def _forward_stderr(self) -> None:
        """The child's log lines (warnings and errors: a refused login while the database is down, ...) into
        this process's log - and its pipe kept drained, so that the child never blocks writing to it."""
        import logging
        import threading

        pipe, log = self.proc.stderr, logging.getLogger("iot_ingest.broker")

        def forward() -> None:
            for line in iter(pipe.readline, b""):
                log.warning("embedded broker: %s", line.decode(errors="replace").rstrip()[:500])

        if pipe is not None:
            threading.Thread(target=forward, name="cbec-broker-log", daemon=True).start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the amqtt plugins (built lazily: importing this module must not import amqtt) ----------------------------
class _Policy:
    """The broker child's state shared by both plugins: the ingest's login and the device login checker."""

    def __init__(self, config: dict) -> None:
        self.ingest_user = config.get("ingest_user") or INGEST_USER
        self._ingest_password = (config.get("ingest_password") or "").encode()
        self.database_url = config.get("database_url") or ""
        self._logins = None
        self._logins_error: str | None = None

    @property
    def logins(self):
        """The device login checker (opened on first use), or None: no database, or it cannot be opened."""
        if self._logins is None and self.database_url and self._logins_error is None:
            import importlib
            import logging

            module, _, name = DEVICE_LOGINS.partition(":")
            try:
                self._logins = getattr(importlib.import_module(module), name).from_url(self.database_url)
            except Exception as exc:  # noqa: BLE001 - no device logs in; said once in the broker's log
                self._logins_error = str(exc)
                logging.getLogger("iot_ingest.broker").error("device logins disabled: %s", exc)
        return self._logins

    def is_ingest(self, username: str, password: str) -> bool:
        return username == self.ingest_user and bool(self._ingest_password) \
            and hmac.compare_digest(password.encode(), self._ingest_password)


_POLICY: _Policy | None = None


def _policy() -> _Policy:
    global _POLICY
    if _POLICY is None:
        _POLICY = _Policy(json.loads(os.environ.get(_CONFIG_ENV) or "{}"))
    return _POLICY


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _topic_verdict(session, topic: str | None, action) -> bool | None:
    """The topic check without I/O: True or False, or None when the session's device login is due to be
    checked again and is not in the login cache (then :class:`DeviceTopicPlugin` asks the database).
    ``action``: amqtt's ``Action`` (a ``StrEnum``: "publish", "subscribe", "receive")."""
    if action == "receive":
        return True  # what a session may receive was decided when it subscribed
    login = getattr(session, "cbec_login", None) if session is not None else None
    if login is None or not topic:
        return False
    role, username, password, checked = login
    if username != _text(session.username) or password != _text(session.password):
        return False  # amqtt put another connection's credentials on this session (same client id)
    if role == "ingest":
        return action == "subscribe"
    if action != "publish" or not may_publish(username, topic):
        return False
    now = time.monotonic()
    if now - checked >= RECHECK_S:
        logins = _policy().logins
        if logins is None or not logins.cached(username, password):
            return None
        session.cbec_login = (role, username, password, now)
    return True


def _plugins():
    import asyncio

    from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

    class DeviceAuthPlugin(BaseAuthPlugin):
        """A client logs in as the ingest (its password) or as a device (device id + device key, checked
        against the database); anyone else, anonymous included, is refused. A session that logged in is
        not anonymous (amqtt queues messages for an offline session only then: the ingest's persistent
        session). The verdict is kept on the session (``cbec_login``) for the topic checks."""

        async def authenticate(self, *, session) -> bool:
            username, password = _text(session.username), _text(session.password)
            session.cbec_login = None
            policy = _policy()
            if not username or not password:
                return False
            if policy.is_ingest(username, password):
                role = "ingest"
            elif reserved(username) or username == policy.ingest_user:
                return False
            else:
                logins = policy.logins
                if logins is None:
                    return False
                ok = logins.cached(username, password)
                if not ok:
                    ok = await asyncio.to_thread(logins.check, username, password)
                if not ok:
                    return False
                role = "device"
            session.is_anonymous = False
            session.cbec_login = (role, username, password, time.monotonic())
            return True

    class DeviceTopicPlugin(BaseTopicPlugin):
        """A device publishes on its own topics only (:func:`may_publish`) and subscribes to nothing; the
        ingest subscribes to anything and publishes nothing. A device's login is checked again every
        :data:`RECHECK_S` while it publishes (a revoked key stops publishing on an open connection)."""

        async def topic_filtering(self, *, session=None, topic=None, action=None) -> bool:
            verdict = _topic_verdict(session, topic, action)
            if verdict is not None:
                return verdict
            role, username, password, _ = session.cbec_login
            logins = _policy().logins
            if logins is not None and await asyncio.to_thread(logins.check, username, password):
                session.cbec_login = (role, username, password, time.monotonic())
                return True
            session.cbec_login = None
            return False

    return DeviceAuthPlugin, DeviceTopicPlugin


def _broker_class():
    """amqtt's Broker, deciding the topic checks that need no I/O (nearly all) without its plugin dispatch.

    amqtt calls the topic plugins through a task and ``gather`` per message: the client's message loop then
    yields to the event loop at every PUBLISH while the client's reader goes on acknowledging, and what is
    still queued behind when the client disconnects is dropped by amqtt - acknowledged messages lost
    (measured: half of 3,000 QoS 1 messages from a publisher that disconnects after its last PUBACK). This
    shortcut keeps the loop as fast as without a plugin; :class:`DeviceTopicPlugin` still decides what it
    leaves (a device's login due for a database check), and decides everything should amqtt rename the
    method (slower then, never laxer)."""
    from amqtt.broker import Broker

    class CbecBroker(Broker):
        async def _topic_filtering(self, session, topic, action) -> bool:
            verdict = _topic_verdict(session, topic, action)
            if verdict is not None:
                return verdict
            return await super()._topic_filtering(session, topic, action)

    return CbecBroker


def __getattr__(name: str):  # lazy: importing this module must not import amqtt
    if name in ("DeviceAuthPlugin", "DeviceTopicPlugin"):
        auth, topic = _plugins()
        globals().update(DeviceAuthPlugin=auth, DeviceTopicPlugin=topic)
        return globals()[name]
    raise AttributeError(name)


def _serve(port: int, host: str) -> None:
    import asyncio
    import logging

    logging.basicConfig(level=logging.WARNING)
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 1000}},
        "session_expiry_interval": 7 * 86400,
        "plugins": {"iot_ingest.broker.DeviceAuthPlugin": {}, "iot_ingest.broker.DeviceTopicPlugin": {}},
    }
    policy = _policy()
    if policy.database_url:
        _ = policy.logins  # open the database now: a bad URL is in the log at start, not at the first login

    async def main() -> None:
        broker = _broker_class()(config)
        await broker.start()
        try:
            await asyncio.Event().wait()
        finally:
            await broker.shutdown()

    import signal

    loop = asyncio.new_event_loop()
    task = loop.create_task(main())
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1")
