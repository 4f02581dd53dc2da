"""Plans under hostile input and within their limits: bounded rows, text and numbers, a time limit
that covers candidate generation, a memory budget refused up front, and clean CLI/API errors.

Each hostile input answers 4xx (API) or exit 2 (CLI) within a second, names the field, never echoes
it back, and starts no job.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli.app import app as cli_app
from tests.support.speed import scaled
from optimizer.errors import DataError, InvalidInput
from optimizer.planning import candidates_parallel
from optimizer.planning.candidates import (
    TIME_LIMIT_REASON,
    CandidateGenerator,
    PlanSettings,
)
from optimizer.planning.candidates_parallel import generate_candidates
from optimizer.planning.planner import check_plan_size, plan, plan_to_dict
from optimizer.planning.replan import Change, check_change, plan_or_replan
from optimizer.planning.shipments import (
    MAX_SHIPMENTS,
    OPTIONAL,
    REQUIRED,
    read_rows,
    read_shipments_csv,
    read_shipments_text,
)
from tests.support.accounts import app_tenant, member_client
from tests.support.plan_demand import generate_demand

HEADER = "id,origin,destination,weight_kg,volume_m3,ready_date,due_date,pieces,cargo_class,customs_mode,value\n"
GOOD = "A1,MY_HTZ,WH_LODZ,1800,9,2026-10-05,2026-11-05,20,general,9810,1000\n"
ROW = {"id": "A1", "origin": "MY_HTZ", "destination": "WH_LODZ", "weight_kg": 1800, "volume_m3": 9,
       "ready_date": "2026-10-05", "due_date": "2026-11-05"}
COLUMNS = set(REQUIRED + OPTIONAL)


def _departure(net, service: str = "CRE_CD_LODZ") -> str:
    svc = net.services[service]
    dep = net.departures(svc, datetime.fromisoformat("2026-10-05T00:00+00:00"), datetime.fromisoformat("2026-10-20T00:00+00:00"))[0]
    return f"{service}@{dep.depart.strftime('%Y-%m-%dT%H:%MZ')}"


# --- the time limit covers candidate generation ---------------------------------------------------------------
def test_100k_rows_with_a_5s_limit_end_in_time(net) -> None:
    """The issue's test: 100,000 rows, time_limit_s 5 -> the plan (and its JSON) within 5 s + a small constant.

    100,000 rows are over the per-request limit (MAX_SHIPMENTS) and the memory budget, so the use
    case runs with the budget lifted, as a Python caller may. Measured on the shared 2-core machine
    (load 1-3): the plan 4.6-5.6 s, plan + JSON 5.1-6.3 s (the first run in a process includes the
    ~1 s import of OR-Tools); the whole test ~11 s with generating the rows. The bound asserted is
    5 s + 10 s (scaled by this machine's speed today, tests/support/speed.py) so that a loaded or slow CI
    machine does not fail it.
    """
    shipments = generate_demand(net, 100_000, weeks=8, seed=7)
    settings = PlanSettings(time_limit_s=5.0, memory_budget_mb=None)
    t0 = time.perf_counter()
    result = plan_or_replan(net, shipments, settings)
    planned = time.perf_counter() - t0
    doc = plan_to_dict(net, result)
    elapsed = time.perf_counter() - t0
    print(f"\n100,000 rows, time_limit_s 5: plan {planned:.2f} s, plan + JSON {elapsed:.2f} s; "
          f"{doc['summary']['assigned']:,} assigned; timings {result.timings_s}")
    assert elapsed <= 5.0 + scaled(10.0)
    assert doc["summary"]["shipments"] == 100_000
    assert doc["summary"]["assigned"] > 0
    timed_out = [u for u in doc["unassigned"] if u["reason"] == TIME_LIMIT_REASON]
    assert timed_out and all(u["code"] == "time_limit" for u in timed_out)
    assert doc["summary"]["assigned"] + len(doc["unassigned"]) == 100_000


def test_candidates_stop_at_their_deadline_in_both_processes(net) -> None:
    shipments = generate_demand(net, 60, weeks=1, seed=3)
    t0 = time.perf_counter()
    got = generate_candidates(CandidateGenerator(net, PlanSettings()), shipments, workers=2, min_shipments=0, time_budget_s=0.0)
    assert time.perf_counter() - t0 < scaled(5.0)
    assert [c.shipment.id for c in got] == [s.id for s in shipments]
    assert all(c.reason == TIME_LIMIT_REASON and c.code == "time_limit" and not c.candidates for c in got)
    # with time enough nothing is cut
    full = generate_candidates(CandidateGenerator(net, PlanSettings()), shipments, workers=1, time_budget_s=60.0)
    assert not any(c.code == "time_limit" for c in full)


def test_a_worker_that_does_not_answer_is_killed_after_the_deadline(net, tmp_path, monkeypatch) -> None:
    stuck = tmp_path / "stuck-python"
    stuck.write_text("#!/bin/sh\nexec sleep 60\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(stuck))
    monkeypatch.setattr(candidates_parallel, "WORKER_GRACE_S", 0.5)
    shipments = generate_demand(net, 40, weeks=1, seed=5)
    t0 = time.perf_counter()
    got = generate_candidates(CandidateGenerator(net, PlanSettings()), shipments, workers=2, min_shipments=0, time_budget_s=1.0)
    assert time.perf_counter() - t0 < scaled(4.0)
    assert any(c.code == "time_limit" for c in got)  # the worker's half
    assert all(c.code == "time_limit" or c.candidates or c.reason for c in got)


def test_no_candidate_in_time_is_a_clear_error(net) -> None:
    shipments = generate_demand(net, 30, weeks=1, seed=4)
    with pytest.raises(InvalidInput, match="time limit") as exc:
        plan(net, shipments, PlanSettings(time_limit_s=1e-6))
    assert exc.value.field == "time_limit_s"


def test_memory_budget_is_checked_up_front(net) -> None:
    check_plan_size(MAX_SHIPMENTS, PlanSettings())  # the per-request row limit fits the default budget
    with pytest.raises(InvalidInput) as exc:
        check_plan_size(100_000, PlanSettings())
    assert exc.value.field == "shipments" and exc.value.extra["limit"] >= MAX_SHIPMENTS
    assert "memory budget" in exc.value.detail and "2,048 MB" in exc.value.detail
    big = generate_demand(net, 30_000, weeks=1, seed=1)
    t0 = time.perf_counter()
    with pytest.raises(InvalidInput, match="shipments"):
        plan(net, big, PlanSettings(time_limit_s=5))
    assert time.perf_counter() - t0 < scaled(1.0)


# --- the reader: bounded rows, every error names a real column --------------------------------------------------
HOSTILE_ROWS = {
    "nul in id": ("a\x00b,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,\n", "id"),
    "rtl override in id": ("a\u202eb,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,\n", "id"),
    "html in id": ("<script>x</script>,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,\n", "id"),
    "long id": ("x" * 65 + ",MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,\n", "id"),
    "huge origin": ("A,MY_" + "H" * 100_000 + ",LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,\n", "origin"),
    "weight 1e308": ("A,MY_HTZ,LODZ,1e308,1,2026-10-05,2026-11-05,1,general,9710,\n", "weight_kg"),
    "weight over limit": ("A,MY_HTZ,LODZ,1000001,1,2026-10-05,2026-11-05,1,general,9710,\n", "weight_kg"),
    "weight nan": ("A,MY_HTZ,LODZ,nan,1,2026-10-05,2026-11-05,1,general,9710,\n", "weight_kg"),
    "volume over limit": ("A,MY_HTZ,LODZ,100,5001,2026-10-05,2026-11-05,1,general,9710,\n", "volume_m3"),
    "pieces 1e400": ("A,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1e400,general,9710,\n", "pieces"),
    "pieces over limit": ("A,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,100001,general,9710,\n", "pieces"),
    "value inf": ("A,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,inf\n", "value"),
    "ready in year 9999": ("A,MY_HTZ,LODZ,100,1,9999-10-05,9999-11-05,1,general,9710,\n", "ready_date"),
    "ready in year 1": ("A,MY_HTZ,LODZ,100,1,0001-10-05,2026-11-05,1,general,9710,\n", "ready_date"),
    "due ten years on": ("A,MY_HTZ,LODZ,100,1,2026-10-05,2036-11-05,1,general,9710,\n", "due_date"),
    "too few fields": ("A,MY_HTZ,LODZ,100,1,2026-10-05\n", "due_date"),
    "too many fields": ("A,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,,x,y\n", "value"),
    "control char in class": ("A,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,gen\x07eral,9710,\n", "cargo_class"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ROWS))
def test_hostile_csv_rows_are_row_errors_naming_the_column(net, case) -> None:
    line, column = HOSTILE_ROWS[case]
    t0 = time.perf_counter()
    load = read_shipments_text(net, HEADER + GOOD + line, "s.csv")
    assert time.perf_counter() - t0 < scaled(1.0)
    assert [s.id for s in load.shipments] == ["A1"]
    [err] = load.errors
    assert (err.row, err.field) == (3, column), err.detail
    message = load.errors_as_dicts()[0]["message"]
    assert message.isprintable() and len(message) < 300 and "<script>" not in message


def test_every_row_error_names_a_real_column(net) -> None:
    lines = [HOSTILE_ROWS[c][0] for c in sorted(HOSTILE_ROWS)]
    load = read_shipments_text(net, HEADER + "".join(lines), "s.csv")
    assert len(load.errors) == len(lines)
    assert {e.field for e in load.errors} <= COLUMNS
    assert all(e.field is not None for e in load.errors)


def test_json_rows_are_checked_like_csv_cells(net) -> None:
    rows = [(1, dict(ROW)), (2, {**ROW, "id": "B", "weight_kg": 1e308}), (3, {**ROW, "id": "C", "pieces": 10**400}),
            (4, {**ROW, "id": "D", "volume_m3": float("nan")}), (5, 0), (6, {**ROW, "id": 7, "customs_mode": 9810})]
    t0 = time.perf_counter()
    load = read_rows(net, rows)
    assert time.perf_counter() - t0 < scaled(1.0)
    assert [s.id for s in load.shipments] == ["A1", "7"]
    assert {e.row: e.field for e in load.errors} == {2: "weight_kg", 3: "pieces", 4: "volume_m3", 5: "id"}


def test_row_limit_is_refused_as_a_whole_before_parsing(net) -> None:
    text = HEADER + "".join(GOOD.replace("A1", f"A{i}") for i in range(6))
    with pytest.raises(DataError) as exc:
        read_shipments_text(net, text, "s.csv", max_rows=5)
    assert exc.value.field == "shipments" and "5" in exc.value.detail
    with pytest.raises(DataError) as exc:
        read_rows(net, [(i, dict(ROW)) for i in range(6)], max_rows=5)
    assert exc.value.field == "shipments"
    assert len(read_shipments_text(net, text, "s.csv", max_rows=6).shipments) == 6


@pytest.mark.parametrize("text", ["", "\n\n", 'id,"' + "x" * 200_000 + '"\n'])
def test_empty_or_broken_csv_names_shipments(net, text) -> None:
    with pytest.raises(DataError) as exc:
        read_shipments_text(net, text, "s.csv")
    assert exc.value.field == "shipments" and len(exc.value.detail) < 300


def test_a_huge_cell_is_a_fatal_error_naming_shipments(net) -> None:
    with pytest.raises(DataError) as exc:
        read_shipments_text(net, HEADER + 'A,"' + "x" * 200_000 + '",LODZ,1,1,2026-10-05,2026-11-05,1,general,9710,\n')
    assert exc.value.field == "shipments" and exc.value.row == 2 and len(exc.value.detail) < 300


@pytest.mark.parametrize("kind", ["binary", "directory", "latin-1", "too large"])
def test_unreadable_files_are_data_errors(net, tmp_path, monkeypatch, kind) -> None:
    path = tmp_path / "s.csv"
    if kind == "binary":
        path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 100)
    elif kind == "directory":
        path.mkdir()
    elif kind == "latin-1":
        path.write_bytes((HEADER + "Z\xfcrich,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,\n").encode("latin-1"))
    else:
        from optimizer.planning import shipments as mod

        monkeypatch.setattr(mod, "MAX_CSV_CHARS", 100)
        path.write_text(HEADER + GOOD * 3)
    with pytest.raises(DataError) as exc:
        read_shipments_csv(net, path)
    assert exc.value.field == "shipments" and len(exc.value.detail) < 300


# --- re-plan changes name real departures ----------------------------------------------------------------------
@pytest.mark.parametrize("key", ["BOGUS@2026", "BOGUS@2026-10-07T10:00Z", "CRE_CD_LODZ@2026-10-07T10:01Z", "CRE_CD_LODZ",
                                 "CRE_CD_LODZ@9999-01-01T00:00Z", "a\x00b@2026-10-07T10:00Z", "x" * 10_000])
def test_unknown_departure_keys_are_refused(net, key) -> None:
    t0 = time.perf_counter()
    with pytest.raises(InvalidInput) as exc:
        check_change(net, Change(cancel=frozenset({key})))
    assert time.perf_counter() - t0 < scaled(1.0)
    assert exc.value.field == "change.cancel" and exc.value.detail.isprintable() and len(exc.value.detail) < 300
    with pytest.raises(InvalidInput) as exc:
        check_change(net, Change(delay_hours={key: 3.0}), delay="--delay")
    assert exc.value.field == "--delay"


def test_real_departures_and_bounds_of_a_change(net) -> None:
    key = _departure(net)
    check_change(net, Change(cancel=frozenset({key}), delay_hours={key: 12.0}))
    for bad in (-1.0, float("inf"), float("nan"), 1e9):
        with pytest.raises(InvalidInput, match="delay"):
            check_change(net, Change(delay_hours={key: bad}))
    from optimizer.network.model import Capacity

    with pytest.raises(InvalidInput, match="capacity"):
        check_change(net, Change(capacity={key: Capacity(teu=10**9)}))


# --- API ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(net, tmp_path_factory):
    from optimizer.settings import Settings

    # plans are job records of an organisation: a database of its own and a tenant (its member key on every request)
    app = create_app(net, settings=Settings(var_dir=tmp_path_factory.mktemp("plan-limits")))
    with TestClient(app) as c:
        yield member_client(c, app_tenant(app))


def _jobs(client) -> int:
    return sum(client.app.state.jobs.counts().values())


def _post(client, body=None, *, content=None):
    before = _jobs(client)
    t0 = time.perf_counter()
    if content is not None:
        r = client.post("/v1/plans", content=content, headers={"content-type": "application/json"})
    else:
        r = client.post("/v1/plans", json=body)
    took = time.perf_counter() - t0
    assert _jobs(client) == before, "a refused request must not start a job"
    assert took < scaled(1.0), f"took {took:.2f} s"
    assert r.headers["content-type"].startswith("application/problem+json"), r.text[:300]
    assert len(r.content) < 8_000, "errors never echo large input"
    return r


def test_a_million_zeros_are_refused_fast_without_echo(client) -> None:
    r = _post(client, content=json.dumps({"shipments": [0] * 1_000_000}))
    assert r.status_code == 422
    body = r.json()
    assert "shipments" in body["detail"] and "20000" in body["detail"].replace(",", "")
    assert len(r.content) < 2_000


def test_more_rows_than_the_limit_are_refused(client) -> None:
    r = _post(client, {"shipments": [dict(ROW, id=f"S{i}") for i in range(MAX_SHIPMENTS + 1)]})
    assert r.status_code == 422 and "shipments" in r.json()["detail"]


API_CASES = {
    "time limit 0": ({"shipments": [ROW], "time_limit_s": 0}, "time_limit_s"),
    "time limit 601": ({"shipments": [ROW], "time_limit_s": 601}, "time_limit_s"),
    "carbon price 1e308": ({"shipments": [ROW], "carbon_price_per_t": 1e308}, "carbon_price_per_t"),
    "late per day 1e308": ({"shipments": [ROW], "late_per_day": 1e308}, "late_per_day"),
    "empty rows": ({"shipments": []}, "shipments"),
    "empty csv": ({"csv": ""}, "csv"),
    "csv header only": ({"csv": HEADER}, "csv"),
    "csv blank": ({"csv": "\n\n"}, "shipments"),
    "both inputs": ({"shipments": [ROW], "csv": HEADER + GOOD}, "shipments"),
    "unknown column": ({"shipments": [dict(ROW, colour="red")]}, "colour"),
    "nested value": ({"shipments": [dict(ROW, weight_kg={"a": 1})]}, "weight_kg"),
    "id 65 chars": ({"shipments": [dict(ROW, id="x" * 65)]}, "id"),
    "id with nul": ({"shipments": [dict(ROW, id="a\x00b")]}, "id"),
    "id with rtl override": ({"shipments": [dict(ROW, id="a\u202eb")]}, "id"),
    "id with html": ({"shipments": [dict(ROW, id="<img src=x>")]}, "id"),
    "origin 10 kB": ({"shipments": [dict(ROW, origin="M" * 10_000)]}, "origin"),
    "weight 1e308": ({"shipments": [dict(ROW, weight_kg=1e308)]}, "weight_kg"),
    "volume 1e9": ({"shipments": [dict(ROW, volume_m3=1e9)]}, "volume_m3"),
    "pieces 1e6": ({"shipments": [dict(ROW, pieces=1_000_000)]}, "pieces"),
    "ready 9999": ({"shipments": [dict(ROW, ready_date="9999-01-01", due_date="9999-02-01")]}, "ready_date"),
    "csv nul id": ({"csv": HEADER + "a\x00b,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,\n"}, "id"),
    "csv 20,001 rows": ({"csv": HEADER + "".join(GOOD.replace("A1", f"A{i}") for i in range(MAX_SHIPMENTS + 1))}, "shipments"),
    "cancel malformed key": ({"shipments": [ROW], "change": {"cancel": ["BOGUS@2026"]}}, "change.cancel"),
    "cancel unknown service": ({"shipments": [ROW], "change": {"cancel": ["BOGUS@2026-10-07T10:00Z"]}}, "change.cancel"),
    "cancel no such departure": ({"shipments": [ROW], "change": {"cancel": ["CRE_CD_LODZ@2026-10-07T10:01Z"]}}, "change.cancel"),
    "delay unknown": ({"shipments": [ROW], "change": {"delay_hours": {"NOPE@2026-10-07T10:00Z": 5}}}, "change.delay_hours"),
    "delay 1e9 h": ({"shipments": [ROW], "change": {"delay_hours": {"CRE_CD_LODZ@2026-10-07T10:00Z": 1e9}}}, "change.delay_hours"),
    "cut negative": ({"shipments": [ROW], "change": {"capacity_teu": {"CRE_CD_LODZ@2026-10-07T10:00Z": -1}}}, "change.capacity_teu"),
    "previous 10 kB key": ({"shipments": [ROW], "previous": {"A1": "k" * 10_000}}, "previous"),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_hostile_plan_requests_are_422_naming_the_field(client, case) -> None:
    body, field = API_CASES[case]
    r = _post(client, body)
    assert r.status_code == 422, r.text[:300]
    problem = r.json()
    named = problem.get("field") or ""
    named += " " + problem["detail"] + " " + " ".join(e["field"] for e in problem.get("errors") or [])
    assert field in named, problem
    text = r.text
    assert "\\u0000" not in text and "\\u202e" not in text and "<img" not in text and "M" * 300 not in text


def test_nan_time_limit_is_refused(client) -> None:
    r = _post(client, content=json.dumps({"shipments": [ROW], "time_limit_s": float("nan")}))
    assert r.status_code == 422 and "time_limit_s" in r.text


def test_malformed_json_says_what_is_wrong(client) -> None:
    r = _post(client, content='{"shipments": [')
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail != "0: JSON decode error" and ("JSON" in detail and ("Expecting" in detail or "position" in detail
                                                                        or "character" in detail))


def test_a_hostile_row_beside_valid_ones_is_reported_safely(client) -> None:
    rows = [ROW, dict(ROW, id="a\x00b"), dict(ROW, id="B", weight_kg=1e308)]
    r = client.post("/v1/plans", json={"shipments": rows, "time_limit_s": 10})
    assert r.status_code == 201, r.text[:300]
    result = r.json()["result"]
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(2, "id"), (3, "weight_kg")]
    assert "\\u0000" not in r.text and "\x00" not in r.text
    assert set(result["assignments"]) == {"A1"}


# --- CLI ------------------------------------------------------------------------------------------------------
def _cli(*args: str):
    import api.cli  # noqa: F401  (registers commands)

    t0 = time.perf_counter()
    res = CliRunner().invoke(cli_app, ["plan", *args])
    return res, time.perf_counter() - t0


def _one_line_exit_2(res, took: float, *words: str) -> None:
    out = res.output
    assert res.exit_code == 2, out
    assert "Traceback" not in out, out
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert out.strip().startswith("error:") and len(out.strip().splitlines()) <= 3, out
    assert all(w in out for w in words), (words, out)
    assert took < scaled(1.5), f"took {took:.2f} s"


@pytest.fixture()
def sample(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text(HEADER + GOOD)
    return f


@pytest.fixture()
def empty_plan(tmp_path):
    f = tmp_path / "plan.json"
    f.write_text(json.dumps({"assignments": {}}))
    return f


def test_cli_binary_file_and_directory(tmp_path) -> None:
    binary = tmp_path / "cbec.bin"
    binary.write_bytes(bytes(range(256)) * 50)
    _one_line_exit_2(*_cli("--shipments", str(binary)), "cbec.bin", "shipments")
    _one_line_exit_2(*_cli("--shipments", str(tmp_path)), "directory")
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "Z\xfcrich,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710,\n").encode("latin-1"))
    _one_line_exit_2(*_cli("--shipments", str(latin)), "UTF-8")


def test_cli_too_many_rows(tmp_path) -> None:
    f = tmp_path / "big.csv"
    f.write_text(HEADER + "".join(GOOD.replace("A1", f"A{i}") for i in range(MAX_SHIPMENTS + 1)))
    _one_line_exit_2(*_cli("--shipments", str(f)), "shipments", "20,000")


def test_cli_replan_from_not_a_plan(tmp_path, sample) -> None:
    notjson = tmp_path / "plan.txt"
    notjson.write_text("this is not json\n")
    _one_line_exit_2(*_cli("--shipments", str(sample), "--replan-from", str(notjson)), "--replan-from", "not a plan JSON")
    binary = tmp_path / "plan.bin"
    binary.write_bytes(b"\xff\xfe\x00" * 100)
    _one_line_exit_2(*_cli("--shipments", str(sample), "--replan-from", str(binary)), "--replan-from")
    _one_line_exit_2(*_cli("--shipments", str(sample), "--replan-from", str(tmp_path)), "--replan-from", "directory")
    other = tmp_path / "other.json"
    other.write_text(json.dumps([1, 2, 3]))
    _one_line_exit_2(*_cli("--shipments", str(sample), "--replan-from", str(other)), "--replan-from", "assignments")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"assignments": {"A1": {"plan": {}}}}))
    _one_line_exit_2(*_cli("--shipments", str(sample), "--replan-from", str(broken)), "--replan-from", "A1")


@pytest.mark.parametrize("args, words", [
    (["--cancel", "BOGUS@2026"], ["--cancel", "BOGUS@2026"]),
    (["--cancel", "CRE_CD_LODZ@2026-10-07T10:01Z"], ["--cancel", "CRE_CD_LODZ"]),
    (["--delay", "BOGUS@2026=5"], ["--delay", "BOGUS@2026"]),
    (["--delay", "CRE_CD_LODZ@2026-10-07T10:00Z=inf"], ["--delay"]),
    (["--cut", "BOGUS@2026=3"], ["--cut", "BOGUS@2026"]),
    (["--cut", "CRE_CD_LODZ@2026-10-07T10:00Z=1e400"], ["--cut"]),
])
def test_cli_unknown_departure_keys(sample, empty_plan, args, words) -> None:
    _one_line_exit_2(*_cli("--shipments", str(sample), "--replan-from", str(empty_plan), *args), *words)


@pytest.mark.parametrize("args, word", [
    (["--time-limit", "0"], "--time-limit"), (["--time-limit", "601"], "--time-limit"), (["--time-limit", "nan"], "--time-limit"),
    (["--carbon-price", "1e308"], "--carbon-price"), (["--late-per-day", "-1"], "--late-per-day"),
])
def test_cli_numeric_bounds(sample, args, word) -> None:
    _one_line_exit_2(*_cli("--shipments", str(sample), *args), word)


def test_cli_a_real_departure_replans(net, sample, empty_plan) -> None:
    res, _ = _cli("--shipments", str(sample), "--replan-from", str(empty_plan), "--cancel", _departure(net),
                  "--time-limit", "10", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout).get("moved", []) == []


def test_deadline_never_cuts_a_normal_plan(net) -> None:
    load = read_shipments_csv(net, "data/samples/shipments_week.csv")
    p = plan(net, load.shipments, PlanSettings(time_limit_s=10))
    assert not any(sc.code == "time_limit" for sc in p.candidates)
    assert p.timings_s["total"] <= 10 + 2
