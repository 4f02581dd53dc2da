"""cbec plan (CLI) and POST/GET /v1/plans (API) on the sample week."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli.app import app as cli_app
from api.routers import plans as plans_router
from tests.support.accounts import app_tenant, member_client

SAMPLE = "data/samples/shipments_week.csv"
REQUIRED_KEYS = {"assignments", "unassigned", "cost", "baseline", "gap", "capacity_use"}


@pytest.fixture(scope="module")
def client(net, tmp_path_factory):
    from optimizer.settings import Settings

    # plans are job records in the database: the app gets a database of its own, and a tenant to own them
    app = create_app(net, settings=Settings(var_dir=tmp_path_factory.mktemp("plans")))
    with TestClient(app) as c:
        yield member_client(c, app_tenant(app))


def test_cli_json_on_sample(tmp_path) -> None:
    import api.cli  # noqa: F401  (registers commands)

    res = CliRunner().invoke(cli_app, ["plan", "--shipments", SAMPLE, "--time-limit", "15", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert REQUIRED_KEYS <= set(doc)
    assert "total" in doc["cost"] and "greedy_total" in doc["baseline"]
    a = next(iter(doc["assignments"].values()))
    assert a["legs"] and {"service", "departure_id", "depart", "arrive", "equipment"} <= set(a["legs"][0])
    assert {"service", "departure", "used", "capacity"} <= set(doc["capacity_use"][0])
    # re-plan from the JSON: cancel the departure of the first rail assignment
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(res.stdout)
    rail = next(leg["departure_id"] for x in doc["assignments"].values() for leg in x["legs"] if leg["mode"] == "rail"
                and not leg["service"].startswith("WLSC"))
    riders = {sid for sid, x in doc["assignments"].items() if any(leg["departure_id"] == rail for leg in x["legs"])}
    res2 = CliRunner().invoke(cli_app, ["plan", "--shipments", SAMPLE, "--time-limit", "15", "--json",
                                        "--replan-from", str(plan_file), "--cancel", rail])
    assert res2.exit_code == 0, res2.output
    assert set(json.loads(res2.stdout)["moved"]) == riders


def test_cli_bad_rows_reported_and_all_bad_exits_2(tmp_path) -> None:
    import api.cli  # noqa: F401

    f = tmp_path / "s.csv"
    f.write_text("id,origin,destination,weight_kg,volume_m3,ready_date,due_date\n"
                 "A1,MY_HTZ,WH_LODZ,1800,9,2026-10-05,2026-11-05\n"
                 "A2,MY_HTZ,ATLANTIS,100,1,2026-10-05,2026-11-05\n")
    res = CliRunner().invoke(cli_app, ["plan", "--shipments", str(f), "--time-limit", "10", "--json"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["errors"] == [{"row": 3, "field": "destination", "message": doc["errors"][0]["message"]}]
    assert "A1" in doc["assignments"]
    f.write_text("id,origin,destination,weight_kg,volume_m3,ready_date,due_date\nA2,MY_HTZ,ATLANTIS,100,1,2026-10-05,2026-11-05\n")
    res = CliRunner().invoke(cli_app, ["plan", "--shipments", str(f)])
    assert res.exit_code == 2
    assert "row 2" in res.output and "ATLANTIS" in res.output


def test_api_inline_and_job(client, monkeypatch) -> None:
    rows = [{"id": "A1", "origin": "MY_HTZ", "destination": "WH_LODZ", "weight_kg": 1800, "volume_m3": 9,
             "ready_date": "2026-10-05", "due_date": "2026-11-05"},
            {"id": "A2", "origin": "MY_HTZ", "destination": "LODZ", "weight_kg": -1, "volume_m3": 9,
             "ready_date": "2026-10-05", "due_date": "2026-11-05"},
            {"id": "A3", "origin": "MY_ETDZ", "destination": "DUISBURG", "weight_kg": 900, "volume_m3": 5,
             "ready_date": "2026-10-06", "due_date": "2026-11-10"}]
    r = client.post("/v1/plans", json={"shipments": rows, "time_limit_s": 10})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "succeeded"
    result = body["result"]
    assert set(result["assignments"]) == {"A1", "A3"}
    assert result["errors"][0]["row"] == 2 and result["errors"][0]["field"] == "weight_kg"
    assert client.get(f"/v1/plans/{body['id']}").json()["result"]["cost"] == result["cost"]

    monkeypatch.setattr(plans_router, "INLINE_MAX", 1)
    r = client.post("/v1/plans", json={"shipments": rows, "time_limit_s": 10})
    assert r.status_code == 202
    job_id = r.json()["id"]
    assert r.headers["location"] == f"/v1/plans/{job_id}"
    for _ in range(200):
        job = client.get(f"/v1/plans/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded" and REQUIRED_KEYS <= set(job["result"])


def test_api_no_valid_row_is_a_problem(client) -> None:
    r = client.post("/v1/plans", json={"shipments": [{"id": "X", "origin": "MY_HTZ", "destination": "NOPE", "weight_kg": 1,
                                                      "volume_m3": 1, "ready_date": "2026-10-05", "due_date": "2026-11-05"}]})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "row 1" in r.json()["detail"] and "NOPE" in r.json()["detail"]
    assert client.get("/v1/plans/plan-doesnotexist").status_code == 404
