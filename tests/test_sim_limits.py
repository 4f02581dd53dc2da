"""Hostile input to the simulation (API and CLI), bounded work, isolation of the run from the API process,
worker caps, cancellation and shutdown (issue 15, simulation part).

Every hostile request answers 4xx / exit 2 within a second naming the field, starts no job, writes
nothing, and /healthz answers afterwards. A run through the API never executes in the API process;
``workers: 64`` is capped at the machine's cores (the choice made here: capped, not refused — a
client cannot know the server's cores, and the schema states the static bound of 64); cancellation,
a raising progress callback and :func:`simulation.runner.shutdown` stop the worker processes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import api.cli  # noqa: F401  (registers the commands)
import api.routers.simulations as sim_router
from api.app import create_app
from api.cli.app import app as cli_app
from optimizer.errors import InvalidInput
from optimizer.processes import pid_alive
from optimizer.settings import Settings
from simulation import limits as L
from simulation import runner as sim_runner
from simulation.budget import check_work, estimate
from simulation.scenario import bundled_scenarios, load_scenario, parse_scenario
from tests.support.accounts import app_tenant
from tests.support.speed import scaled

BASE = Path(__file__).resolve().parent.parent / "simulation" / "scenarios" / "baseline.yaml"
FLOW = {"name": "a", "origin": "MY_CITY", "destination": "WH_LODZ", "customs_mode": "9810", "lots_per_day": 1,
        "lot": {"weight_kg": 4000, "volume_m3": 20, "pieces": 200}}
SHORT = {"horizon_days": 20.0, "warmup_days": 2.0, "drain_days": 10.0}
cli = CliRunner()


def _mapping(**over) -> dict:
    return {"name": "x", "horizon_days": 30, "warmup_days": 2, "demand": [FLOW], **over}


def _baseline_doc(**over) -> dict:
    return {**load_scenario("baseline").to_doc(), **over}



def _wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if pid_alive(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return [p for p in pids if pid_alive(p)]


# --- the API -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    app = create_app(settings=Settings(var_dir=var))
    with TestClient(app) as client:
        client.var_dir = var
        client.auth = app_tenant(app).auth()  # simulations are an organisation's: its member key on every request
        yield client


@pytest.fixture
def no_jobs(monkeypatch):
    """Fails the test if the router starts a job (a hostile request must store nothing)."""
    started: list[str] = []
    real = sim_router.start_job

    def spy(jobs, kind, fn, response, location, inline=False):
        started.append(kind)
        return real(jobs, kind, fn, response, location, inline)

    monkeypatch.setattr(sim_router, "start_job", spy)
    return started


def _many_flows(n: int) -> list[dict]:
    return [{**FLOW, "name": f"f{i}"} for i in range(n)]


HOSTILE_API = [
    # (label, body (dict, or raw JSON text), status, text the answer must contain: the field)
    ("lots_per_day 1e9", {"scenario": _mapping(demand=[{**FLOW, "lots_per_day": 1e9}])}, 422, "lots_per_day"),
    ("lots_per_day over the budget", {"scenario": _mapping(horizon_days=365, demand=[{**FLOW, "lots_per_day": 1000}])},
     422, "lots_per_day"),
    ("demand_multiplier 1e6", {"scenario": _mapping(demand_multiplier=1e6)}, 422, "demand_multiplier"),
    ("multiplier window factor", {"scenario": _mapping(demand_multipliers=[{"factor": 1e4}])}, 422, "factor"),
    ("replications 100000", {"scenario": "baseline", "replications": 100000}, 422, "replications"),
    ("replications over the request budget", {"scenario": "baseline", "compare_with": "more_trains", "replications": 200,
                                              "horizon_days": 1098, "warmup_days": 10}, 422, "replications"),
    ("workers 100000", {"scenario": "baseline", "workers": 100000}, 422, "workers"),
    ("workers 0", {"scenario": "baseline", "workers": 0}, 422, "workers"),
    ("horizon NaN", '{"scenario": "baseline", "horizon_days": NaN}', 422, "horizon_days"),
    ("horizon Infinity", '{"scenario": "baseline", "horizon_days": Infinity}', 422, "horizon_days"),
    ("lots_per_day Infinity", '{"scenario": {"name": "x", "demand": [{"name": "a", "origin": "MY_CITY", "destination": '
                              '"WH_LODZ", "customs_mode": "9810", "lots_per_day": Infinity, "lot": {"weight_kg": 10, '
                              '"volume_m3": 1}}]}}', 422, "lots_per_day"),
    ("horizon 1e308", {"scenario": "baseline", "horizon_days": 1e308}, 422, "horizon_days"),
    ("1 MB scenario name", {"scenario": _mapping(name="n" * 1_000_000)}, 422, "name"),
    ("1 MB flow name", {"scenario": _mapping(demand=[{**FLOW, "name": "f" * 1_000_000}])}, 422, "name"),
    ("10 MB scenario name", {"scenario": _mapping(name="n" * 10_000_000)}, 413, "limit"),
    ("path in the name", {"scenario": _mapping(name="../../etc/cron.d/x")}, 422, "name"),
    ("control characters", {"scenario": _mapping(description="a\u0000b\u202e")}, 422, "description"),
    ("empty scenario mapping", {"scenario": {}}, 422, "name"),
    ("empty scenario name", {"scenario": ""}, 422, "scenario"),
    ("no demand", {"scenario": _mapping(demand=[])}, 422, "demand"),
    ("101 flows", {"scenario": _mapping(demand=_many_flows(101))}, 422, "demand"),
    ("unknown scenario", {"scenario": "no_such"}, 422, "baseline"),
    ("unknown node", {"scenario": _mapping(demand=[{**FLOW, "destination": "NOWHERE"}])}, 422, "demand[0].destination"),
    ("scenario a number", {"scenario": 5}, 422, "scenario"),
    ("seed negative", {"scenario": "baseline", "seed": -1}, 422, "seed"),
    ("seed 2**64", {"scenario": "baseline", "seed": 2**64}, 422, "seed"),
    ("start in year 9999", {"scenario": _mapping(start="9999-12-01")}, 422, "start"),
    ("route buckets", {"scenario": _mapping(routing={"hour_bucket": 1}, demand=_many_flows(20))}, 422, "hour_bucket"),
    ("background trains over the budget",
     {"scenario": _baseline_doc(horizon_days=1098, drain_days=365, resources={**_baseline_doc()["resources"], "borders": {
         k: {"tracks": 20, "background_trains_per_day": 500} for k in ("ALA_CN", "KHG_CN", "BREST", "MALA")}})},
     422, "background_trains_per_day"),
    ("negative customs hours", {"scenario": _mapping(resources={"customs_hours": {"9810": -5}})}, 422, "customs_hours"),
    ("docks 10**12", {"scenario": _mapping(resources={"docks": {"default": 10**12}})}, 422, "docks"),
    ("extends", {"scenario": _mapping(extends="/etc/passwd")}, 422, "extends"),
    ("plot format", {"scenario": "baseline", "plot_format": "gif"}, 422, "plot_format"),
    ("warm-up past the horizon", {"scenario": _mapping(horizon_days=10, warmup_days=20)}, 422, "warmup_days"),
    ("override warm-up past the horizon", {"scenario": "baseline", "horizon_days": 30}, 422, "warmup_days"),
    ("repeated flow names", {"scenario": _mapping(demand=[FLOW, FLOW])}, 422, "unique"),
    ("slot share of a mode", {"scenario": _mapping(resources={"slot_share": {"road": 0.5}})}, 422, "slot_share"),
    ("lower-case dock key", {"scenario": _mapping(resources={"docks": {"my_cbz": 2}})}, 422, "docks"),
]


@pytest.mark.parametrize("label, body, status, field", HOSTILE_API, ids=[c[0] for c in HOSTILE_API])
def test_hostile_simulation_requests_are_refused_at_once(api, no_jobs, label, body, status, field):
    t = time.perf_counter()
    if isinstance(body, str):
        r = api.post("/v1/simulations", content=body, headers={"content-type": "application/json"})
    else:
        r = api.post("/v1/simulations", json=body)
    elapsed = time.perf_counter() - t
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert elapsed < scaled(1.0), f"{label}: {elapsed:.2f} s"
    doc = r.json()
    named = " ".join(str(x) for x in (doc.get("field"), doc.get("detail"), *(e["field"] for e in doc.get("errors", []))))
    assert field in named, doc
    assert len(r.content) < 5000  # never the input echoed back
    assert no_jobs == []  # nothing started, nothing stored
    assert not (api.var_dir / "simulations").exists()
    t = time.perf_counter()
    assert api.get("/healthz").status_code == 200
    assert time.perf_counter() - t < 1.0


def test_schema_states_the_bounds(api):
    spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    req = schemas["SimulationIn"]
    assert req["properties"]["replications"]["anyOf"][0]["maximum"] == L.MAX_REPLICATIONS
    assert req["properties"]["workers"]["anyOf"][0]["maximum"] == L.MAX_WORKERS
    assert f"{L.MAX_EVENTS_PER_REQUEST:,}" in req["description"]  # the work budget is documented
    names = req["properties"]["scenario"]["oneOf"][0]["enum"]
    assert names == bundled_scenarios()
    flow = schemas["Flow"]["properties"]
    assert flow["lots_per_day"]["maximum"] == L.MAX_LOTS_PER_DAY
    assert flow["name"]["maxLength"] == L.MAX_FLOW_NAME and "pattern" in flow["name"]
    sc = schemas["Scenario"]["properties"]
    assert sc["horizon_days"]["maximum"] == L.MAX_HORIZON_DAYS and sc["demand"]["maxItems"] == L.MAX_FLOWS
    assert sc["name"]["maxLength"] == L.MAX_SCENARIO_NAME


def test_long_ids_in_paths_are_refused(api):
    assert api.get("/v1/simulations/" + "x" * 5000).status_code == 422
    assert api.get("/v1/simulations/simulation-nope/plots/" + "a" * 500 + ".png").status_code == 422
    assert api.get("/v1/simulations/simulation-nope/plots/..%2F..%2Fetc.png").status_code == 404


def _poll(client, sim_id: str, timeout: float = 120.0) -> tuple[dict, float]:
    """The finished simulation, and the slowest /healthz seen while it ran."""
    deadline = time.time() + timeout
    slowest = 0.0
    while True:
        doc = client.get(f"/v1/simulations/{sim_id}").json()
        if doc["status"] in ("succeeded", "failed") or time.time() > deadline:
            return doc, slowest
        t = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        slowest = max(slowest, time.perf_counter() - t)
        time.sleep(0.2)


@pytest.fixture
def ran_in(monkeypatch):
    """Records the pids the replications ran in; the model and the route quotes fail if run in this process."""
    pids: list[int] = []
    real = sim_runner.run_replications

    def spy(*args, **kwargs):
        results = real(*args, **kwargs)
        pids.extend(r["pid"] for r in results)
        return results

    def not_here(*args, **kwargs):
        raise AssertionError("simulation work ran in the API process")

    monkeypatch.setattr(sim_runner, "run_replications", spy)
    monkeypatch.setattr("simulation.chain.ChainModel.run", not_here)
    monkeypatch.setattr("simulation.route_choice.Router.route_all", not_here)
    return pids


def test_one_replication_does_not_run_in_the_api_process(api, ran_in):
    r = api.post("/v1/simulations", json={"scenario": "baseline", "replications": 1, "horizon_days": 20, "warmup_days": 2,
                                          "plots": False})
    assert r.status_code == 202, r.text
    doc, slowest = _poll(api, r.json()["id"])
    assert doc["status"] == "succeeded", doc
    assert ran_in and all(pid != os.getpid() for pid in ran_in)
    assert slowest < 1.0  # the API answered while the run went on elsewhere
    assert sim_runner.active_worker_pids() == []  # the run's pool is gone with it


def test_workers_64_is_capped_at_the_cores(api, ran_in):
    r = api.post("/v1/simulations", json={"scenario": "baseline", "replications": 3, "horizon_days": 20, "warmup_days": 2,
                                          "workers": 64, "plots": False})
    assert r.status_code == 202, r.text
    cores = sim_runner.local_cores()
    assert r.json()["workers"] == min(cores, 3)
    doc, _ = _poll(api, r.json()["id"])
    assert doc["status"] == "succeeded", doc
    assert len(set(ran_in)) <= cores and os.getpid() not in ran_in


# --- the runner: caps, cancellation, shutdown --------------------------------------------------------

def _short(name: str = "t", **over):
    return parse_scenario({**_baseline_doc(), **SHORT, "name": name, **over}, name)


def test_effective_workers_never_exceed_the_cores(monkeypatch):
    monkeypatch.setattr(sim_runner, "local_cores", lambda: 2)
    assert sim_runner.effective_workers(64, 10) == 2
    assert sim_runner.effective_workers(None, 10) == 2
    assert sim_runner.effective_workers(64, 1) == 1
    with pytest.raises(InvalidInput) as err:
        sim_runner.effective_workers(L.MAX_WORKERS + 1, 10)
    assert err.value.field == "workers"


def test_concurrent_runs_share_the_core_cap(monkeypatch):
    """Two runs asking for 64 workers each, on a 'one-core' machine: never more than one worker alive."""
    monkeypatch.setattr(sim_runner, "local_cores", lambda: 1)
    sc = _short()
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def run():
        try:
            sim_runner.run_replications(sc, 2, workers=64)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()

    def sample():
        while not done.is_set():
            seen.append(len(sim_runner.active_worker_pids()))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for th in threads:
        th.join(120)
    done.set()
    sampler.join()
    assert not errors, errors
    assert max(seen) == 1


def _start_long_run(**kwargs) -> tuple[threading.Thread, dict, list[int]]:
    sc = parse_scenario(_baseline_doc(name="long", horizon_days=365.0, warmup_days=10.0), "long")
    out: dict = {}

    def run():
        try:
            out["result"] = sim_runner.run_replications(sc, 4, workers=2, **kwargs)
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    th = threading.Thread(target=run)
    th.start()
    deadline = time.monotonic() + 60
    pids: list[int] = []
    while not pids and time.monotonic() < deadline and th.is_alive():
        pids = sim_runner.active_worker_pids()
        time.sleep(0.05)
    assert pids, out
    return th, out, pids


def test_cancel_stops_the_workers():
    cancel = threading.Event()
    th, out, pids = _start_long_run(cancel=cancel)
    t = time.perf_counter()
    cancel.set()
    th.join(10)
    assert not th.is_alive() and time.perf_counter() - t < 3.0
    assert isinstance(out.get("error"), sim_runner.SimulationCancelled), out
    assert _wait_gone(pids) == []
    assert sim_runner.active_worker_pids() == []


def test_a_raising_progress_callback_cancels_the_run():
    class Stop(Exception):
        pass

    armed = threading.Event()

    def progress(fraction, message=""):
        if armed.is_set():
            raise Stop

    th, out, pids = _start_long_run(progress=progress)
    armed.set()  # the heartbeat calls progress at least every HEARTBEAT_S
    th.join(10)
    assert isinstance(out.get("error"), Stop), out
    assert _wait_gone(pids) == []


def test_shutdown_stops_every_run_and_later_runs_work():
    th, out, pids = _start_long_run()
    t = time.perf_counter()
    sim_runner.shutdown()
    th.join(10)
    assert time.perf_counter() - t < 5.0
    assert isinstance(out.get("error"), sim_runner.SimulationCancelled), out
    assert _wait_gone(pids) == []
    res = sim_runner.run_replications(_short(), 1)  # the next run starts afresh
    assert res[0]["pid"] != os.getpid()


# --- the work budget ---------------------------------------------------------------------------------

def test_bundled_scenarios_fit_the_budget(net):
    scenarios = [(load_scenario(n, net), n) for n in bundled_scenarios()]
    for sc, _ in scenarios:
        w = estimate(sc, net)
        assert w.consignments < L.MAX_CONSIGNMENTS_PER_REPLICATION / 10
        assert w.events < L.MAX_EVENTS_PER_REPLICATION / 10
    check_work(scenarios[:2], L.MAX_REPLICATIONS, net)  # a two-scenario comparison at 200 replications fits
    check_work(scenarios, 10, net)


def test_estimate_follows_the_demand_windows(net):
    sc = load_scenario("peak_season", net)
    base = estimate(load_scenario("baseline", net), net)
    peak = estimate(sc, net)
    # x2 on the warehouse-bound flows for 64 days and on the parcel flows for 35 days
    assert base.consignments < peak.consignments < 1.2 * base.consignments


def test_budget_refusal_names_the_biggest_flow(net):
    doc = _baseline_doc()
    doc["demand"][3]["lots_per_day"] = 900
    with pytest.raises(InvalidInput) as err:
        check_work([(parse_scenario(doc, "big"), "big")], 1, net)
    assert err.value.field == "demand[3].lots_per_day" and "300,000" in err.value.detail


def test_start_window_fits_the_quote_engine(net):
    """Any start the schema accepts can be routed: the route quotes of its first week are inside the engine's window."""
    from simulation.route_choice import route_table
    from simulation.scenario import build_network

    for start in (L.MIN_START, L.MAX_START):
        sc = parse_scenario(_mapping(start=start.isoformat(), routing={"hour_bucket": 24}), "edge")
        assert route_table(build_network(sc, net), sc)
    with pytest.raises(InvalidInput, match="start"):
        parse_scenario(_mapping(start=(L.MAX_START + timedelta(days=1)).isoformat()), "late")


# --- the CLI -----------------------------------------------------------------------------------------

def _yaml(tmp_path: Path, body: str, name: str = "s.yaml") -> str:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return str(p)


HOSTILE_CLI = [
    # (label, args (a callable of tmp_path for files), the text the one error line must contain)
    ("replications 100000", lambda t: ["simulate", "baseline", "-n", "100000"], "--replications"),
    ("replications 0", lambda t: ["simulate", "baseline", "-n", "0"], "--replications"),
    ("workers 1000", lambda t: ["simulate", "baseline", "-w", "1000"], "--workers"),
    ("horizon nan", lambda t: ["simulate", "baseline", "--horizon-days", "nan"], "horizon_days"),
    ("horizon inf", lambda t: ["simulate", "baseline", "--horizon-days", "inf"], "horizon_days"),
    ("seed negative", lambda t: ["simulate", "baseline", "--seed", "-5"], "seed"),
    ("10 MB scenario name", lambda t: ["simulate", "x" * 10_000_000], "scenario"),
    ("empty scenario name", lambda t: ["simulate", ""], "scenario"),
    ("NUL in the name", lambda t: ["simulate", "base\x00line"], "scenario"),
    ("unknown scenario", lambda t: ["simulate", "no_such_scenario"], "not found"),
    ("a directory", lambda t: ["simulate", str(t)], "not a file"),
    ("empty file", lambda t: ["simulate", _yaml(t, "")], "mapping"),
    ("lots_per_day 1e9", lambda t: ["simulate", _yaml(t, f"extends: {BASE}\nname: big\ndemand:\n  - {json.dumps(dict(FLOW, lots_per_day=1e9))}\n")],
     "lots_per_day"),
    ("lots_per_day over the budget", lambda t: ["simulate", _yaml(t, f"extends: {BASE}\nname: big\ndemand:\n  - "
                                                                     f"{json.dumps(dict(FLOW, lots_per_day=1000))}\n")],
     "lots_per_day"),
    ("lots_per_day .nan", lambda t: ["simulate", _yaml(t, f"extends: {BASE}\ndemand_multiplier: .nan\n")], "demand_multiplier"),
    ("long name in the file", lambda t: ["simulate", _yaml(t, f"extends: {BASE}\nname: {'n' * 100_000}\n")], "name"),
    ("file over 1 MB", lambda t: ["simulate", _yaml(t, f"extends: {BASE}\nname: {'n' * 1_000_000}\n")], "larger than"),
    ("billion laughs", lambda t: ["simulate", _yaml(t, "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")))], "values"),
    ("extends loop", lambda t: ["simulate", _yaml(t, "extends: s.yaml\nname: x\n")], "extends"),
    ("compare plot format", lambda t: ["simulate", "compare", "baseline", "more_trains", "--plot-format", "gif"], "--plot-format"),
    ("run plot format", lambda t: ["simulate", "baseline", "--plot-format", "../x"], "--plot-format"),
    ("compare 11 scenarios", lambda t: ["simulate", "compare", *(["baseline"] * 11)], "at most 10"),
    ("compare replications 1", lambda t: ["simulate", "compare", "baseline", "more_trains", "-n", "1"], "--replications"),
    ("compare over the budget", lambda t: ["simulate", "compare", "baseline", "more_trains", "peak_season", "-n", "200",
                                           "--horizon-days", "1000"], "replications"),
    ("plots is a file", lambda t: ["simulate", "baseline", "--plots", _yaml(t, "x", "plots.txt")], "--plots"),
    ("publish interval 0", lambda t: ["simulate", "baseline", "--publish", "mqtt://127.0.0.1:1", "--publish-interval", "0"],
     "--publish-interval"),
    ("publish bad url", lambda t: ["simulate", "baseline", "--publish", "http://x" + "y" * 100000], "mqtt://"),
    ("replay interval 0", lambda t: ["simulate", "replay", "baseline", "--interval", "0"], "--interval"),
    ("replay speed -1", lambda t: ["simulate", "replay", "baseline", "--speed", "-1"], "--speed"),
    ("replay speed nan", lambda t: ["simulate", "replay", "baseline", "--speed", "nan"], "--speed"),
    ("replay days 1e9", lambda t: ["simulate", "replay", "baseline", "--days", "1e9"], "--days"),
    ("replay port", lambda t: ["simulate", "replay", "baseline", "--broker", "mqtt://h:99999"], "port"),
]


@pytest.mark.parametrize("label, args, text", HOSTILE_CLI, ids=[c[0] for c in HOSTILE_CLI])
def test_hostile_cli_arguments_exit_2_with_one_line(tmp_path, label, args, text):
    out_dir = tmp_path / "out"
    argv = args(tmp_path)
    if "--plots" not in argv and argv[1] != "replay":
        argv += ["--plots", str(out_dir)]
    t = time.perf_counter()
    res = cli.invoke(cli_app, argv)
    elapsed = time.perf_counter() - t
    assert res.exit_code == 2, (label, res.output[:500], res.exception)
    err = res.stderr.strip()
    assert text in err, err[:500]
    assert len(err.splitlines()) == 1 and len(err) < 1000
    # 0.1-0.3 s idle; the bound catches work proportional to a hostile argument, not CI jitter (1.16 s seen)
    assert elapsed < scaled(3.0), f"{label}: {elapsed:.2f} s"
    assert not out_dir.exists()  # nothing written
    assert sim_runner.active_worker_pids() == []


def test_cli_caps_workers_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(sim_runner, "local_cores", lambda: 1)
    short = _yaml(tmp_path, f"extends: {BASE}\nname: short\nhorizon_days: 20\nwarmup_days: 2\ndrain_days: 10\n")
    res = cli.invoke(cli_app, ["simulate", short, "-n", "2", "-w", "64", "--json"])
    assert res.exit_code == 0, res.output
    assert "using 1 worker process" in res.stderr
    assert json.loads(res.stdout[res.stdout.index("{"):])["replications"] == 2
