"""The embedded broker: amqtt (pure Python, MQTT 3.1.1) in a child process, for a zero-setup demo.

Measured here (reference/iot.md §3.4): ~6,000 msg/s QoS 0 and ~3,500 msg/s QoS 1, 20-30x the CPU
per message of Mosquitto; no shared subscriptions; sessions are kept in memory only (a broker
restart loses queued messages). Ample for a demo and for tests - **not for production**: use
Mosquitto (deploy/mosquitto/) or EMQX and set ``CBEC_MQTT_URL``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from optimizer.errors import CbecError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent() -> None:
    """In a child before exec (Linux): SIGTERM it when the parent dies, even by SIGKILL, so that
    no broker is left orphaned. Elsewhere a no-op (the parent's orderly stop still ends it)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        except OSError:
            pass


class EmbeddedBroker:
    """``with EmbeddedBroker() as b: b.url`` - a child process, stopped on exit."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        # amqtt speaks MQTT 3.1.1 only and has no $share: no shared group. amqtt keeps queued
        # messages only for sessions with a user name (see OpenAuthPlugin), hence "cbec-ingest@"
        return f"mqtt://cbec-ingest@{self.host}:{self.port}?protocol=311&share="

    def start(self, timeout: float = 15.0) -> "EmbeddedBroker":
        self.proc = subprocess.Popen([sys.executable, "-m", "iot_ingest.broker", str(self.port), self.host],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")[-300:] if self.proc.stderr else ""
                raise CbecError(f"embedded MQTT broker failed to start on port {self.port}: {err}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise CbecError(f"embedded MQTT broker did not open port {self.port} within {timeout:.0f}s")

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


def _open_auth_plugin():
    from amqtt.plugins.base import BaseAuthPlugin

    class OpenAuthPlugin(BaseAuthPlugin):
        """Accept every client (demo broker); a client with a user name gets a real persistent
        session - amqtt's own anonymous plugin marks every session anonymous, and amqtt queues
        nothing for an offline anonymous session, which would defeat the ingest's persistent session."""

        async def authenticate(self, *, session) -> bool:
            session.is_anonymous = not session.username
            return True

    return OpenAuthPlugin


def __getattr__(name: str):  # lazy: importing this module must not import amqtt
    if name == "OpenAuthPlugin":
        return _open_auth_plugin()
    raise AttributeError(name)


def _serve(port: int, host: str) -> None:
    import asyncio
    import logging

    from amqtt.broker import Broker

    logging.basicConfig(level=logging.WARNING)
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 1000}},
        "session_expiry_interval": 7 * 86400,
        "plugins": {"iot_ingest.broker.OpenAuthPlugin": {}},
    }

    async def main() -> None:
        broker = Broker(config)
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
