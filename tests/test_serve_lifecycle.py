"""`cbec serve` as an operator runs it: SIGTERM or SIGINT during a running job and a busy ingest
stops within a bound, leaves no child process, and loses nothing the broker acknowledged; the
database is migrated at start; /readyz reports the database and broker (issue 15)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from optimizer.processes import pid_alive
from storage.db import open_db
from tests.support.ingest_testing import Publisher, grant_devices
from tests.support.speed import scaled

pytestmark = pytest.mark.integration
STOP_BOUND_S = 30.0  # serve's own hard limit is 25 s from the signal


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    for c in list(out):
        out |= _children(c)
    return out



def _get(url: str, timeout: float = 2.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture()
def served(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CBEC_")}
    env.update(CBEC_VAR_DIR=str(tmp_path), CBEC_LOG_FORMAT="json")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    lines: list[str] = []
    broker = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and broker is None:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"embedded amqtt broker mqtt://([\d.]+):(\d+)", line)
        if m:
            broker = f"mqtt://{m.group(1)}:{m.group(2)}"
    assert broker, "".join(lines)[-2000:]
    # a fresh database: serve created the demo organisation and printed its admin key once (before the ingest line)
    keys = re.findall(r"\bcbk_[a-z2-9]{10}_[A-Za-z0-9_-]{43}\b", "".join(lines))
    assert len(keys) == 1, "".join(lines)[-2000:]
    while time.monotonic() < deadline:
        try:
            if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    yield proc, port, broker, tmp_path, keys[0]
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _stored(db: Path) -> int:
    """Readings kept: bound devices' in iot_readings, unbound ones' in iot_quarantine (until bound)."""
    with sqlite3.connect(db) as c:
        return sum(c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("iot_readings", "iot_quarantine"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_in_bound_with_nothing_acknowledged_lost(served, signum, net):
    proc, port, broker, var, key = served
    assert (var / "cbec.sqlite3").exists()  # migrated at start, under CBEC_VAR_DIR
    status, ready = _get(f"http://127.0.0.1:{port}/readyz")
    assert status == 200 and ready["checks"]["database"]["ok"] and ready["checks"]["broker"]["ok"], ready
    # a job running while the signal arrives (a pickup plan with a long search)
    stops = [{"id": f"S{i}", "lat": 31.4 + (i % 10) * 0.03, "lon": 104.6 + (i // 10) * 0.03, "kg": 200, "m3": 1,
              "window_start": "08:00", "window_end": "18:00", "service_min": 10} for i in range(60)]
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/pickup-plans", method="POST",
                                 data=json.dumps({"stops": stops, "time_limit_s": 120}).encode(),
                                 headers={"content-type": "application/json", "X-API-Key": key})  # the demo key
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 202
    # a busy ingest: every message below is acknowledged by the broker before the signal. The embedded
    # broker takes device logins only: the sensors are bound (in an organisation of their own) and each
    # publishes with its own key (a device with no credential - never bound - is refused at CONNECT)
    n = 3000
    t0 = 1_790_000_000
    db = open_db(f"sqlite:///{var / 'cbec.sqlite3'}")
    keys = grant_devices(db, net, [f"T{i}" for i in range(7)])
    db.dispose()
    pub = Publisher(broker, credentials=keys)
    pub.publish_many((f"cbec/v1/warehouses/WH_LODZ/sensors/T{i % 7}",
                      json.dumps({"ts": t0 + i, "temperature_c": 12.5, "humidity_pct": 50}).encode()) for i in range(n))
    pub.wait(60)
    pub.close()
    children = _children(proc.pid)
    assert children, "the embedded broker child should be running"
    t = time.monotonic()
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=STOP_BOUND_S + 5)
    took = time.monotonic() - t
    print(f"stopped in {took:.1f} s after {signal.Signals(signum).name}")
    assert took <= scaled(STOP_BOUND_S), out[-2000:]
    assert proc.returncode == 0, out[-2000:]
    left = [c for c in children if pid_alive(c)]
    assert not left, f"child processes left: {left}"
    assert _stored(var / "cbec.sqlite3") == n


def test_readyz_fails_when_database_unreachable_and_recovers(tmp_path, net):
    """/readyz: 503 problem naming the database while it is unreachable or not migrated, 200 after."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from optimizer.settings import Settings

    db_path = tmp_path / "ready.sqlite3"
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{db_path}")
    with TestClient(create_app(network=net, settings=settings)) as client:
        r = client.get("/readyz")
        assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["checks"]["database"]["ok"] is False and "cbec db upgrade" in r.json()["detail"]
        assert not db_path.exists()  # a readiness probe never creates a database
        assert client.get("/healthz").status_code == 200  # alive all along
        from storage.db import open_db

        open_db(settings.database_url, migrate=True).dispose()
        r = client.get("/readyz")
        assert r.status_code == 200 and r.json()["status"] == "ready", r.text
    pg = "postgresql+psycopg://postgres@127.0.0.1:1/nope"  # nothing listens on port 1
    with TestClient(create_app(network=net, settings=Settings(var_dir=tmp_path, database_url=pg))) as client:
        t = time.monotonic()
        r = client.get("/readyz")
        assert r.status_code == 503 and "unreachable" in r.json()["checks"]["database"]["detail"]
        assert time.monotonic() - t < 5
