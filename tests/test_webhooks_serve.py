"""Webhooks from `cbec serve` as an operator runs it (real processes, a real local HTTP receiver): without the
ingest (``--no-ingest``) an event produced by an API request is delivered, signed; two servers on one
PostgreSQL database deliver each event once; SIGTERM stops the delivery worker with the server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from accounts.store import ensure_demo_org
from storage.db import open_db
from tests.support.ingest_testing import PgSchema, pg_available
from tests.support.webhook_receiver import Receiver
from trade.records import Order
from webhooks import signing

pytestmark = pytest.mark.integration
ORDER = Order.model_config["json_schema_extra"]["examples"][0]
KEY = re.compile(r"\bcbk_[a-z2-9]{10}_[A-Za-z0-9_-]{43}\b")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(port: int, method: str, path: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json", "X-API-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class Server:
    """`cbec serve --no-ingest` in a process of its own; ``lines``: its output so far."""

    def __init__(self, var: Path, database_url: str | None = None) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CBEC_")}
        # the receiver is on 127.0.0.1: private targets allowed explicitly, as on a closed network
        env.update(CBEC_VAR_DIR=str(var), CBEC_LOG_FORMAT="text", CBEC_WEBHOOKS_ALLOW_PRIVATE="1", CBEC_JOB_WORKERS="0")
        if database_url:
            env["CBEC_DATABASE_URL"] = database_url
        var.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-ingest", "--port", str(self.port)],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=var)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def ready(self, timeout: float = 120.0) -> "Server":
        """Wait for the worker's start line and /healthz."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if any("webhook delivery worker started" in x for x in self.lines):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                        if r.status == 200:
                            return self
                except OSError:
                    pass
            time.sleep(0.2)
        raise AssertionError("".join(self.lines)[-3000:])

    @property
    def demo_key(self) -> str:
        keys = KEY.findall("".join(self.lines))
        assert len(keys) == 1, "".join(self.lines)[-3000:]
        return keys[0]

    def stop(self, timeout: float = 30.0) -> str:
        """SIGTERM; the rest of the output once the process has exited."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)
        self._reader.join(5)
        return "".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _wait(condition, timeout: float = 60.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout:.0f} s")


def _deliveries(port: int, key: str, sub_id: str) -> list[dict]:
    status, page = _call(port, "GET", f"/v1/webhooks/{sub_id}/deliveries?limit=500", key)
    assert status == 200, page
    return page["items"]


def test_serve_without_ingest_delivers_an_event_made_by_a_request_and_stops_its_worker(tmp_path):
    rx = Receiver()
    server = Server(tmp_path / "var")
    try:
        server.ready()
        key = server.demo_key
        status, sub = _call(server.port, "POST", "/v1/webhooks", key, {"url": rx.url, "event_types": ["check.result"]})
        assert status == 201, sub
        status, stored = _call(server.port, "POST", "/v1/records/orders:batch", key, {"records": [ORDER]})
        assert status == 200, stored
        _wait(lambda: len(rx.requests) == 1, what="the check.result delivery")
        headers, body, _ = rx.requests[0]
        assert signing.verify(sub["secret"], headers["x-cbec-signature"], body)
        event = json.loads(body)
        assert event["type"] == "check.result" and event["data"]["status"] == "incomplete"
        _wait(lambda: [d["status"] for d in _deliveries(server.port, key, sub["id"])] == ["delivered"],
              what="the delivery logged as delivered")
        out = server.stop()
    finally:
        server.kill()
        rx.close()
    assert server.proc.returncode == 0, out[-3000:]
    assert out.index("webhook delivery worker stopped") > out.index("stopping"), out[-3000:]


def test_two_servers_on_one_postgresql_database_deliver_each_event_once(tmp_path):
    if not pg_available():
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 (database test)")
    rx = Receiver()
    servers: list[Server] = []
    with PgSchema() as url:
        try:
            db = open_db(url, migrate=True)  # migrated once, so that both servers start at the same time
            key = ensure_demo_org(db)[1]
            db.dispose()
            servers.extend([Server(tmp_path / "a", url), Server(tmp_path / "b", url)])
            for s in servers:
                s.ready()
            status, sub = _call(servers[0].port, "POST", "/v1/webhooks", key,
                                {"url": rx.url, "event_types": ["check.result"]})
            assert status == 201, sub
            n = 0
            for i in range(12):  # requests to both servers, each order an event
                orders = [ORDER | {"order_no": f"TWO-{i}-{j}"} for j in range(3)]
                status, stored = _call(servers[i % 2].port, "POST", "/v1/records/orders:batch", key, {"records": orders})
                assert status == 200, stored
                n += len(orders)
            _wait(lambda: [d["status"] for d in _deliveries(servers[1].port, key, sub["id"])] == ["delivered"] * n,
                  what=f"{n} deliveries logged as delivered")
            outs = [s.stop() for s in servers]
        finally:
            for s in servers:
                s.kill()
            rx.close()
    ids = [h["x-cbec-event-id"] for h, _, _ in rx.requests]
    assert len(ids) == len(set(ids)) == n  # every event once, though two workers claimed from one outbox
    for s, out in zip(servers, outs):
        assert s.proc.returncode == 0 and "webhook delivery worker stopped" in out, out[-3000:]
