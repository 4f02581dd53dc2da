"""HTTP conventions of every response (issue 15): request id, security headers, body limit, 405 with
Allow, CORS only for configured origins, unhandled errors as problem+json 500 with a request id,
Prometheus metrics, JSON logs carrying the request id."""

from __future__ import annotations

import json
import logging
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.db import open_db
from optimizer.settings import Settings

QUOTE = {"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6, "ready": "2026-12-01"}


@pytest.fixture()
def app(net, tmp_path):
    url = f"sqlite:///{tmp_path}/http.sqlite3"
    db = open_db(url, migrate=True)
    settings = Settings(var_dir=tmp_path, database_url=url, max_body_bytes=64 * 1024,
                        cors_origins=["https://app.example"])
    return create_app(network=net, settings=settings, ingest_db=db)


@pytest.fixture()
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_security_headers_and_request_id(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    r = client.get("/healthz", headers={"X-Request-ID": "<script>" * 20})  # not a token: replaced
    assert r.headers["x-request-id"] != "<script>" * 20 and len(r.headers["x-request-id"]) == 16


def test_body_limit_answers_413_without_reading_it(client):
    t = time.perf_counter()
    r = client.post("/v1/quotes", content=b"{" + b" " * (200 * 1024) + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert "65536" in r.json()["detail"] and len(r.content) < 500
    assert time.perf_counter() - t < 1


def test_405_names_the_allowed_methods(client):
    r = client.delete("/v1/quotes")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"  # GET lists saved quotes
    assert r.headers["content-type"] == "application/problem+json"


def test_cors_only_for_configured_origins(client):
    ok = client.options("/v1/quotes", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert ok.headers.get("access-control-allow-origin") == "https://app.example"
    other = client.options("/v1/quotes", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers


def test_unhandled_error_is_a_problem_with_request_id_and_no_detail(app, client, caplog):
    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("secret internal state 0xdeadbeef")

    with caplog.at_level(logging.ERROR, logger="api.errors"):
        r = client.get("/boom", headers={"X-Request-ID": "req-42"})
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["request_id"] == "req-42" and "deadbeef" not in r.text and "Traceback" not in r.text
    assert any("deadbeef" in (rec.exc_text or str(rec.exc_info)) for rec in caplog.records)  # the detail is logged


def test_metrics_by_route_jobs_and_ingest(app, client, net):
    from tests.support.accounts import make_tenant

    assert client.post("/v1/quotes", json=QUOTE).status_code == 200
    tenant = make_tenant(app.state.ingest_db)  # telemetry takes the device's own credential
    tenant.bind(app.state.ingest_db, net, "alice-phone", warehouse="WH_LODZ")
    ot = {"_type": "location", "lat": 30.8684, "lon": 104.2425, "tst": int(time.time()) - 60}
    r = client.post("/v1/telemetry", params={"topic": "owntracks/alice/phone"}, content=json.dumps(ot),
                    headers={"content-type": "application/json", **tenant.device_headers("alice-phone")})
    assert r.status_code == 202
    text = client.get("/metrics").text
    assert 'cbec_http_request_duration_seconds_count{method="POST",route="/v1/quotes",status="200"} 1.0' in text
    assert 'cbec_jobs{state="running"}' in text
    assert 'cbec_ingest_readings_total{outcome="received"} 1.0' in text


def test_json_logs_carry_the_request_id(capsys):
    from api.observability import JsonFormatter, request_id_var

    token = request_id_var.set("rid-7")
    try:
        rec = logging.LogRecord("api.access", logging.INFO, __file__, 1, "POST %s", ("/v1/quotes",), None)
        rec.status = 200
        line = json.loads(JsonFormatter().format(rec))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "rid-7" and line["msg"] == "POST /v1/quotes" and line["status"] == 200


def test_settings_default_var_dir_is_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("CBEC_VAR_DIR", raising=False)
    monkeypatch.delenv("CBEC_DATABASE_URL", raising=False)
    s = Settings()
    assert s.var_dir == (tmp_path / "state" / "cbec-logistics").resolve()
    assert s.database_url == f"sqlite:///{s.var_dir}/cbec.sqlite3"


def test_dotenv_is_read(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CBEC_MAX_BODY_BYTES", raising=False)
    (tmp_path / ".env").write_text("CBEC_MAX_BODY_BYTES=123456\n")
    assert Settings().max_body_bytes == 123456
