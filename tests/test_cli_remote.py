"""The CLI's remote mode (issue 16, item 1): with CBEC_API_URL and CBEC_API_KEY, `cbec quote`, `cbec plan`,
`cbec simulate run`, `cbec track` and `cbec jobs` drive a deployed service over HTTP and print what a local
run prints; problem+json answers are one line and exit 2.

The service is the app on a real uvicorn (a thread, free port) over its own database, with two
organisations; the CLI runs in this process (typer's runner) with the environment of a remote user.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from iot_ingest.milestones import create_shipment
from iot_ingest.pipeline import Pipeline
from optimizer.settings import Settings
from simulation.scenario import BUNDLED_DIR
from storage.db import open_db
from tests.ingest_journey import position, ready_date
from tests.support.accounts import make_tenant

ROOT = Path(__file__).resolve().parent.parent
QUOTE = ["quote", "--from", "MY_CITY", "--to", "LODZ", "--weight", "1200", "--volume", "6", "--ready", "2026-12-01"]
ROWS = ("id,origin,destination,weight_kg,volume_m3,ready_date,due_date\n"
        "R1,MY_HTZ,WH_LODZ,1800,9,2026-10-05,2026-11-05\n"
        "R2,MY_ETDZ,DUISBURG,900,5,2026-10-06,2026-11-10\n")
NOW_S = int(time.time())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def service(net, tmp_path_factory):
    """(url, database URL, tenant A, tenant B) of the app served by uvicorn; A has shipment SA with tracker TA
    (one position), B has shipment SB."""
    import uvicorn

    var = tmp_path_factory.mktemp("remote")
    url = f"sqlite:///{var}/cbec.sqlite3"
    db = open_db(url, migrate=True)
    a, b = make_tenant(db, "alpha"), make_tenant(db, "bravo")
    create_shipment(db, net, "SA", "MY_CITY", "LODZ", 500, 2, ready_date(30), tag="greenest", org=a.org_id)
    create_shipment(db, net, "SB", "MY_CITY", "LODZ", 300, 1, ready_date(30), tag="greenest", org=b.org_id)
    a.bind(db, net, "TA", shipment="SA")
    Pipeline(db, net).process_raw([position("TA", 30.8684, 104.2425, (NOW_S - 3600) * 1000, 1)])
    app = create_app(network=net, settings=Settings(var_dir=var, database_url=url, job_workers=1), ingest_db=db)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", url, a, b
    srv.should_exit = True
    thread.join(15)
    db.dispose()


def run(args: list[str], env: dict[str, str] | None = None):
    """`cbec ARGS` in this process; CBEC_API_URL/KEY only as ``env`` gives them."""
    base = {"CBEC_API_URL": None, "CBEC_API_KEY": None, "COLUMNS": "200"}
    return CliRunner().invoke(cli, args, env={**base, **(env or {})})


def remote_env(service, tenant=None) -> dict[str, str]:
    url, _, a, _ = service
    return {"CBEC_API_URL": url, "CBEC_API_KEY": (tenant or a).member_key}


def _one_line_error(res) -> str:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    return lines[0]


# --- quote ---------------------------------------------------------------------------------------------------
def test_quote_remote_prints_what_a_local_quote_prints(service):
    here = {"CBEC_DATABASE_URL": service[1]}  # the local run quotes for the same organisation, saved alike
    mine = ["--org", service[2].name]
    local, remote = run(QUOTE + ["--json"] + mine, here), run(QUOTE + ["--json"], remote_env(service))
    assert local.exit_code == remote.exit_code == 0, remote.output
    ld, rd = json.loads(local.stdout), json.loads(remote.stdout)
    for doc in (ld, rd):
        for volatile in ("quote_id", "created_at", "valid_until"):
            doc.pop(volatile)
    assert rd == ld
    local, remote = run(QUOTE + mine, here), run(QUOTE, remote_env(service))

    def same(text: str) -> str:  # the last line names the quote's own id and expiry
        return "\n".join(line for line in text.splitlines() if not line.startswith("quote q_"))

    assert remote.exit_code == 0 and same(remote.stdout) == same(local.stdout)
    assert "cheapest" in remote.stdout and "quote q_" in remote.stdout
    qid = rd_id = json.loads(run(QUOTE + ["--json"], remote_env(service)).stdout)["quote_id"]
    shown = run(["quote", "show", qid, "--json"], remote_env(service))
    assert shown.exit_code == 0 and json.loads(shown.stdout)["quote_id"] == rd_id


def test_quote_remote_errors_are_one_line_naming_the_option(service):
    env = remote_env(service)
    line = _one_line_error(run(QUOTE[:5] + ["--weight", "1e308"] + QUOTE[7:], env))
    assert "--weight" in line and "weight_kg" in line
    line = _one_line_error(run(["quote", "--from", "MY_CITY", "--to", "LDZ"] + QUOTE[5:], env))
    assert "unknown node 'LDZ'" in line and "LODZ" in line and line.startswith("error: --to:")
    line = _one_line_error(run(QUOTE, {**env, "CBEC_API_KEY": "cbk_aaaaaaaaaa_" + "x" * 43}))
    assert "unknown" in line.lower() or "revoked" in line.lower() or "key" in line.lower()
    assert run(QUOTE + ["--json"], {"CBEC_API_URL": env["CBEC_API_URL"]}).exit_code == 0  # anonymous: allowed
    line = _one_line_error(run(QUOTE, {"CBEC_API_URL": f"http://127.0.0.1:{_free_port()}"}))
    assert "cannot reach" in line
    line = _one_line_error(run(QUOTE, {"CBEC_API_URL": "ftp://example"}))
    assert "CBEC_API_URL" in line


# --- track ---------------------------------------------------------------------------------------------------
def test_track_remote_is_the_local_track_of_the_keys_organisation(service):
    url, db_url, a, b = service
    local = run(["track", "SA", "--json", "--db", db_url, "--org", a.org_id])
    remote = run(["track", "SA", "--json"], remote_env(service))
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    assert run(["track", "SA"], remote_env(service)).stdout == run(["track", "SA", "--db", db_url, "--org", a.org_id]).stdout
    device = json.loads(run(["track", "TA", "--json"], remote_env(service)).stdout)
    assert device["device"] == "TA" and device["shipment"] == "SA" and device["last"]["device"] == "TA"
    assert device["shipment_status"]["status"] == json.loads(local.stdout)["status"]
    # another organisation's shipment and device: as unknown ones; local-only options are refused
    for key in ("SA", "TA"):
        line = _one_line_error(run(["track", key], remote_env(service, b)))
        assert f"'{key}' is neither a shipment nor a registered device" in line
    assert "--db" in _one_line_error(run(["track", "SA", "--db", db_url], remote_env(service)))


# --- plan and jobs -------------------------------------------------------------------------------------------
def test_plan_remote_matches_a_local_plan_and_is_a_job_of_the_organisation(service, tmp_path):
    csv = tmp_path / "rows.csv"
    csv.write_text(ROWS)
    args = ["plan", "--shipments", str(csv), "--time-limit", "10", "--json"]
    local, remote = run(args), run(args, remote_env(service))
    assert local.exit_code == remote.exit_code == 0, remote.output
    ld, rd = json.loads(local.stdout), json.loads(remote.stdout)
    assert set(rd["assignments"]) == set(ld["assignments"]) == {"R1", "R2"}
    assert rd["cost"]["total"] == pytest.approx(ld["cost"]["total"]) and rd["summary"] == ld["summary"]
    human = run(args[:-1], remote_env(service))
    assert human.exit_code == 0 and "rows.csv" in human.stdout and "assignments" in human.stdout
    jobs = json.loads(run(["jobs", "list", "--json", "--kind", "plan"], remote_env(service)).stdout)["items"]
    assert len(jobs) == 2 and {j["status"] for j in jobs} == {"succeeded"}
    other = json.loads(run(["jobs", "list", "--json"], remote_env(service, service[3])).stdout)["items"]
    assert not {j["id"] for j in other} & {j["id"] for j in jobs}  # B sees none of A's
    shown = json.loads(run(["jobs", "show", jobs[0]["id"], "--json"], remote_env(service)).stdout)
    assert shown["id"] == jobs[0]["id"] and shown["result"]["summary"]["assigned"] == 2
    line = _one_line_error(run(["jobs", "show", jobs[0]["id"]], remote_env(service, service[3])))
    assert f"no job '{jobs[0]['id']}'" in line  # another organisation's job: as an unknown one
    bad = tmp_path / "bad.csv"
    bad.write_text("id,origin,destination,weight_kg,volume_m3,ready_date,due_date\nX,MY_HTZ,NOPE,1,1,2026-10-05,2026-11-05\n")
    line = _one_line_error(run(["plan", "--shipments", str(bad)], remote_env(service)))
    assert line == _one_line_error(run(["plan", "--shipments", str(bad)]))  # as a local run says it
    assert "NOPE" in line and "bad.csv" in line
    line = _one_line_error(run(["plan", "--shipments", str(csv), "--replan-from", str(tmp_path / "nope.json")],
                               remote_env(service)))
    assert "--replan-from" in line  # checked here, before anything is sent


def test_jobs_cancel_remote_and_local(service):
    url, db_url, a, b = service
    stops = [{"id": f"S{i}", "lat": 31.4 + (i % 10) * 0.03, "lon": 104.6 + (i // 10) * 0.03, "kg": 200, "m3": 1,
              "window_start": "08:00", "window_end": "18:00", "service_min": 10} for i in range(60)]
    r = httpx.post(f"{url}/v1/pickup-plans", json={"stops": stops, "time_limit_s": 60}, headers=a.headers, timeout=30)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert _one_line_error(run(["jobs", "cancel", job_id], remote_env(service, b))).endswith(f"no job '{job_id}'")
    res = run(["jobs", "cancel", job_id], remote_env(service))
    assert res.exit_code == 0 and job_id in res.stdout and ("asked to stop" in res.stdout or "cancelled" in res.stdout)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        doc = json.loads(run(["jobs", "show", job_id, "--json"], remote_env(service)).stdout)
        if doc["status"] in ("cancelled", "succeeded", "failed"):
            break
        time.sleep(0.3)
    assert doc["status"] == "cancelled", doc
    shown = run(["jobs", "show", job_id], remote_env(service))
    assert shown.exit_code == 0 and "cancelled" in shown.stdout
    # the same commands on the database (an operator): scoped by --org
    local = json.loads(run(["jobs", "list", "--json", "--db", db_url, "--org", a.name]).stdout)["items"]
    assert job_id in {j["id"] for j in local}
    assert json.loads(run(["jobs", "list", "--json", "--db", db_url, "--org", b.name]).stdout)["items"] == []
    assert json.loads(run(["jobs", "show", job_id, "--json", "--db", db_url]).stdout)["status"] == "cancelled"
    assert "no job" in _one_line_error(run(["jobs", "show", job_id, "--db", db_url, "--org", b.name]))
    line = _one_line_error(run(["jobs", "list", "--db", db_url]))  # two organisations: say which
    assert "--org" in line
    assert "--org" in _one_line_error(run(["jobs", "list", "--org", "alpha"], remote_env(service)))


# --- simulate run --------------------------------------------------------------------------------------------
def test_simulate_run_remote_gives_the_local_kpis_and_downloads_the_plots(service, tmp_path):
    args = ["simulate", "baseline", "-n", "2", "--horizon-days", "45", "--warmup-days", "5", "--workers", "1",
            "--seed", "7", "--json"]
    local, remote = run(args), run(args + ["--plots", str(tmp_path / "plots")], remote_env(service))
    assert local.exit_code == remote.exit_code == 0, remote.output
    ld, rd = json.loads(local.stdout), json.loads(remote.stdout)
    assert rd["kpis"] == ld["kpis"] and rd["replications"] == 2  # same scenario and seed: the same numbers
    assert len(rd["plots"]) == 3 and all(Path(p).read_bytes()[:4] == b"\x89PNG" for p in rd["plots"])
    scenario = tmp_path / "mine.yaml"  # a file: read here (extends merged), sent whole
    scenario.write_text(f"extends: {BUNDLED_DIR / 'baseline.yaml'}\nname: mine\nhorizon_days: 40\nwarmup_days: 5\n"
                        "replications: 2\n")
    res = run(["simulate", str(scenario), "--workers", "1", "--json"], remote_env(service))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["scenario"] == "mine"
    line = _one_line_error(run(["simulate", "baseline", "--horizon-days", "5000"], remote_env(service)))
    assert "--horizon-days" in line
    line = _one_line_error(run(["simulate", "baseline", "--publish", "mqtt://127.0.0.1:1"], remote_env(service)))
    assert "--publish" in line and "remote" in line
