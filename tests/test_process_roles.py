"""The production process roles, started as plain processes (Docker cannot run here; compose.yaml
wires the same roles): migrate once, two API processes, a Dask scheduler and one `cbec worker`, one
ingest consumer, on the real PostgreSQL and Mosquitto (issue 16, item 4).

A job submitted through one API process is polled and cancelled through the other and runs on the
worker; a device's position published to Mosquitto is stored by the ingest and read through either
API process. Skipped where PostgreSQL or Mosquitto is absent.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ingest_testing import PgSchema, Publisher, pg_available, system_broker_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (pg_available() and system_broker_available()),
                                 reason="needs PostgreSQL on 5432 and Mosquitto on 1883")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}: {proc.args}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port} after {timeout:.0f} s: {proc.args}")


@pytest.fixture()
def roles(tmp_path):
    procs: list[subprocess.Popen] = []
    with PgSchema() as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CBEC_")}
        sched_port = _free_port()
        env.update(CBEC_DATABASE_URL=url, CBEC_VAR_DIR=str(tmp_path), CBEC_LOG_FORMAT="text", CBEC_LOG_LEVEL="warning",
                   CBEC_DASK_SCHEDULER=f"tcp://127.0.0.1:{sched_port}", CBEC_MQTT_URL="mqtt://127.0.0.1:1883",
                   CBEC_INGEST_CLIENT_ID=f"cbec-roles-{os.getpid()}")
        cbec = [sys.executable, "-m", "api.cli"]

        def start(args: list[str], **kw) -> subprocess.Popen:
            log = open(tmp_path / f"{len(procs)}-{Path(args[-1]).name}.log", "w")  # noqa: SIM115
            p = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, **kw)
            procs.append(p)
            return p

        try:
            subprocess.run([*cbec, "db", "upgrade"], env=env, cwd=tmp_path, check=True, timeout=120,
                           capture_output=True)
            out = subprocess.run([*cbec, "orgs", "create", "Roles Forwarding", "--kind", "forwarder", "--json"],
                                 env=env, cwd=tmp_path, check=True, timeout=60, capture_output=True, text=True).stdout
            key = json.loads(out)["admin_key"]["key"]
            scheduler = start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(sched_port), "--dashboard-address", ":0"])
            _wait_port(sched_port, scheduler)
            start([*cbec, "worker"])
            ports = [_free_port(), _free_port()]
            apis = [start([*cbec, "serve", "--no-ingest", "--port", str(p)]) for p in ports]
            start([*cbec, "ingest"])
            for p, proc in zip(ports, apis):
                _wait_port(p, proc)
            yield [f"http://127.0.0.1:{p}" for p in ports], key, env
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{base} not ready")


def test_roles_share_jobs_and_readings(roles):
    (api1, api2), key, _env = roles
    for base in (api1, api2):
        _ready(base)
    h = {"X-API-Key": key}
    # a job through API 1, executed by the worker, polled through API 2
    stops = [{"id": f"S{i}", "lat": 31.4 + (i % 6) * 0.04, "lon": 104.6 + (i // 6) * 0.04, "kg": 300, "m3": 1,
              "window_start": "08:00", "window_end": "18:00", "service_min": 10} for i in range(48)]
    r = httpx.post(f"{api1}/v1/pickup-plans", json={"stops": stops, "time_limit_s": 2}, headers=h, timeout=30)
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    deadline, doc = time.monotonic() + 120, {}
    while time.monotonic() < deadline:
        doc = httpx.get(f"{api2}/v1/jobs/{job}", headers=h, timeout=10).json()
        if doc["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.5)
    assert doc["status"] == "succeeded", doc
    assert doc["result"]["routes"], doc
    # a long job through API 2, cancelled through API 1
    r = httpx.post(f"{api2}/v1/pickup-plans", json={"stops": stops, "time_limit_s": 120}, headers=h, timeout=30)
    job = r.json()["id"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{api1}/v1/jobs/{job}", headers=h, timeout=10).json()["status"] == "queued":
        assert time.monotonic() < deadline, "the worker never started the job"
        time.sleep(0.3)
    t = time.monotonic()
    assert httpx.delete(f"{api1}/v1/jobs/{job}", headers=h, timeout=10).status_code in (200, 202)
    while (status := httpx.get(f"{api2}/v1/jobs/{job}", headers=h, timeout=10).json()["status"]) == "running":
        assert time.monotonic() - t < 20, "cancel did not stop the job"
        time.sleep(0.3)
    assert status == "cancelled"
    print(f"cancelled across processes in {time.monotonic() - t:.2f} s")
    # a shipment and its tracker through API 1, a fix over the real Mosquitto, read through API 2
    ready = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    r = httpx.post(f"{api1}/v1/shipments", headers=h, timeout=30, json={
        "id": f"R{os.getpid()}", "from": "MY_CITY", "to": "LODZ", "weight_kg": 500, "volume_m3": 2, "ready": ready,
        "tag": "greenest"})
    assert r.status_code == 201, r.text
    shipment = r.json()["id"]
    device = f"TRK-ROLES-{os.getpid()}"
    r = httpx.post(f"{api1}/v1/devices", headers=h, timeout=30, json={"id": device, "shipment": shipment})
    assert r.status_code in (200, 201), r.text
    pub = Publisher("mqtt://127.0.0.1:1883")
    pub.publish(f"cbec/v1/devices/{device}/position",
                json.dumps({"ts": int(time.time()) - 30, "lat": 30.8684, "lon": 104.2425, "seq": 1}).encode())
    pub.wait(30)
    pub.close()
    deadline, events = time.monotonic() + 30, []
    while time.monotonic() < deadline and not events:
        doc = httpx.get(f"{api2}/v1/shipments/{shipment}", headers=h, timeout=10).json()
        events = doc.get("events") or []
        time.sleep(0.3)
    assert events and events[0]["node"] == "CD_RAILPORT", doc
    assert re.match(r"^at:|^in_transit", doc["status"]) or doc["status"], doc
