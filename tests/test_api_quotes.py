"""HTTP API: quotes, network GeoJSON, health, problem details, OpenAPI completeness."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app


@pytest.fixture(scope="module")
def client(net):
    with TestClient(create_app(network=net)) as c:
        yield c


def test_quote_roundtrip(client):
    r = client.post("/v1/quotes", json={"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6, "ready": "2026-12-01"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["options"]
    o = body["options"][0]
    for key in ("legs", "cost", "transit_days", "co2e_kg", "tags"):
        assert key in o
    assert {"total", "currency", "breakdown"} <= set(o["cost"])
    assert {"p50", "p90"} <= set(o["transit_days"])
    leg = o["legs"][0]
    assert {"from", "to", "mode", "depart", "arrive"} <= set(leg)
    assert leg["depart"].endswith("+08:00")  # local time at the Mianyang origin, ISO 8601


def test_same_json_as_cli(client, net):
    from typer.testing import CliRunner

    from api.cli.app import app

    r = client.post("/v1/quotes", json={"from": "MY_HTZ", "to": "WH_JAKARTA", "weight_kg": 800, "volume_m3": 3, "ready": "2026-12-02"})
    res = CliRunner().invoke(app, ["quote", "--from", "MY_HTZ", "--to", "WH_JAKARTA", "--weight", "800", "--volume", "3",
                                   "--ready", "2026-12-02", "--json"])
    assert res.exit_code == 0, res.output
    import json

    assert json.loads(res.output)["options"] == r.json()["options"]


@pytest.mark.parametrize(
    "body, status, needle",
    [
        ({"from": "MY_CITY", "to": "LDZ", "weight_kg": 1, "volume_m3": 1, "ready": "2026-12-01"}, 404, "LODZ"),
        ({"from": "MY_CITY", "to": "LODZ", "weight_kg": -1, "volume_m3": 1, "ready": "2026-12-01"}, 422, "weight_kg"),
        ({"from": "MY_CITY", "to": "LODZ", "weight_kg": 1, "volume_m3": 1, "ready": "tomorrow"}, 422, "ISO 8601"),
        ({"from": "MY_CITY", "to": "SYD", "weight_kg": 100, "volume_m3": 1, "ready": "2026-12-01",
          "cargo_class": "dangerous_goods"}, 422, "dangerous_goods"),
        ({"from": "MY_CITY", "to": "LODZ", "weight_kg": 1, "volume_m3": 1}, 422, "ready"),
    ],
)
def test_errors_are_problem_details(client, body, status, needle):
    r = client.post("/v1/quotes", json=body)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["status"] == status and p["title"] and needle in p["detail"]


def test_network_geojson_and_health(client, net):
    g = client.get("/v1/network").json()
    assert g["type"] == "FeatureCollection"
    kinds = {f["properties"]["feature"] for f in g["features"]}
    assert kinds == {"node", "service"}
    assert sum(1 for f in g["features"] if f["properties"]["feature"] == "node") == len(net.nodes)
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["nodes"] == len(net.nodes)


def test_openapi_has_examples(client):
    spec = client.get("/openapi.json").json()
    assert "/v1/quotes" in spec["paths"]
    schema = spec["components"]["schemas"]["QuoteIn"]
    assert schema.get("examples")
    assert "422" in spec["paths"]["/v1/quotes"]["post"]["responses"]


def test_web_page_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/v1/quotes" in r.text and "/v1/network" in r.text
