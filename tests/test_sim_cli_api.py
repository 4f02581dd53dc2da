"""`cbec simulate` (run and compare) and POST/GET /v1/simulations, end to end on short runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import api.cli  # noqa: F401  (registers the commands)
from api.cli.app import app

BASE = Path(__file__).resolve().parent.parent / "simulation" / "scenarios" / "baseline.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def short_yaml(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("sc") / "short.yaml"
    p.write_text(f"extends: {BASE}\nname: short\nhorizon_days: 60\nwarmup_days: 10\ndrain_days: 45\n", encoding="utf-8")
    return p


def _json(out: str) -> dict:
    return json.loads(out[out.index("{"):])


def test_cli_simulate_json_has_kpis_with_ci(short_yaml, tmp_path):
    res = runner.invoke(app, ["simulate", str(short_yaml), "--replications", "3", "--seed", "11", "--workers", "1",
                              "--json", "--plots", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = _json(res.stdout)
    assert doc["scenario"] == "short" and doc["replications"] == 3 and doc["seed"] == 11
    k = doc["kpis"]
    for name in ("throughput_per_day", "lead_time_days", "on_time_rate", "wip"):
        assert isinstance(k[name]["mean"], float) and len(k[name]["ci95"]) == 2
    for q in ("p50", "p90"):
        assert len(k["lead_time_days"][q]["ci95"]) == 2
    assert sorted(Path(p).name for p in doc["plots"]) == ["short_lead_time.png", "short_queues.png", "short_utilisation.png"]
    assert all(Path(p).stat().st_size > 5000 for p in doc["plots"])


def test_cli_simulate_table_and_run_alias(short_yaml):
    res = runner.invoke(app, ["simulate", "run", str(short_yaml), "-n", "2", "-w", "1"])
    assert res.exit_code == 0, res.output
    assert "lead time p90 (days)" in res.stdout and "busiest stages" in res.stdout


def test_cli_compare(short_yaml, tmp_path):
    more = tmp_path / "more.yaml"
    more.write_text(f"extends: {short_yaml}\nname: more\nservices:\n  CRE_CD_DUISBURG: {{weekdays: [0, 1, 2, 4, 5]}}\n",
                    encoding="utf-8")
    res = runner.invoke(app, ["simulate", "compare", str(short_yaml), str(more), "-n", "3", "-w", "1", "--json",
                              "--plots", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = _json(res.stdout)
    c = doc["comparison"]["comparisons"][0]
    assert doc["comparison"]["baseline"] == "short" and c["scenario"] == "more"
    h = c["headline"]["lead_time_days"]
    assert set(h) >= {"baseline", "scenario", "difference", "ci95", "significant"}
    assert (tmp_path / "comparison.png").stat().st_size > 5000
    assert [r["seed"] for r in doc["reports"]] == [doc["reports"][0]["seed"]] * 2  # common random numbers


def test_cli_bad_scenario_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {BASE}\nresources: {{first_mile_trucks: 0}}\n", encoding="utf-8")
    res = runner.invoke(app, ["simulate", str(bad), "-n", "2"])
    assert res.exit_code == 2
    err = res.stderr.strip()
    assert str(bad) in err and "resources.first_mile_trucks" in err and len(err.splitlines()) <= 2
    res = runner.invoke(app, ["simulate", "compare", "baseline"])
    assert res.exit_code == 2 and "at least two" in res.stderr


def test_api_simulation_job(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from optimizer.settings import Settings

    from tests.support.accounts import app_tenant

    app = create_app(settings=Settings(var_dir=tmp_path))
    owner, other = app_tenant(app), app_tenant(app)
    with TestClient(app) as client:
        body = {"scenario": "baseline", "replications": 2, "horizon_days": 45, "warmup_days": 5, "workers": 1}
        assert client.post("/v1/simulations", json=body).status_code == 401  # anonymous: no job
        client.auth = owner.auth()  # the owner's member key on every request below
        r = client.post("/v1/simulations", json=body)
        assert r.status_code == 202, r.text
        sim = r.json()
        assert sim["links"]["self"].endswith(f"/v1/simulations/{sim['id']}")
        assert r.headers["location"] == f"/v1/simulations/{sim['id']}"  # 202 + Location, as every job
        assert client.get(r.headers["location"]).json()["id"] == sim["id"]
        deadline = time.time() + 90
        while True:
            doc = client.get(f"/v1/simulations/{sim['id']}").json()
            if doc["status"] in ("succeeded", "failed") or time.time() > deadline:
                break
            assert 0 <= doc["progress"] <= 1
            time.sleep(0.3)
        assert doc["status"] == "succeeded", doc
        assert len(doc["kpis"]["lead_time_days"]["ci95"]) == 2 and doc["report"]["replications"] == 2
        assert len(doc["plots"]) == 3
        img = client.get(doc["plots"][0])
        assert img.status_code == 200 and img.headers["content-type"] == "image/png" and img.content[:4] == b"\x89PNG"
        assert client.get(f"/v1/simulations/{sim['id']}/plots/nope.png").status_code == 404
        # another organisation: the simulation and its plots answer exactly like unknown ones; anonymous: 401
        theirs = client.get(f"/v1/simulations/{sim['id']}", headers=other.headers)
        assert theirs.status_code == 404 and theirs.json()["detail"] == f"no simulation '{sim['id']}'"
        name = doc["plots"][0].rsplit("/", 1)[1]
        theirs = client.get(doc["plots"][0], headers=other.headers)
        assert theirs.status_code == 404 and theirs.json()["detail"] == f"no plot '{name}' for simulation '{sim['id']}'"
        anonymous = client.get(doc["plots"][0], auth=None)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
        assert client.get("/v1/simulations/simulation-nope").status_code == 404

        bad = client.post("/v1/simulations", json={"scenario": {"name": "x", "horizon_days": 10, "warmup_days": 2, "demand": [
            {"name": "a", "origin": "MY_CITY", "destination": "NOWHERE", "customs_mode": "9810", "lots_per_day": 1,
             "lot": {"weight_kg": 10, "volume_m3": 1}}]}})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["field"] == "demand[0].destination"
        unknown = client.post("/v1/simulations", json={"scenario": "no_such"})
        assert unknown.status_code == 422 and "baseline" in unknown.json()["detail"]
