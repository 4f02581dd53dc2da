"""Saved quotes (issue 20, part 4): an id, the same prices until valid_until, 410 after; tenancy (another
organisation's id answers exactly like an unknown one); anonymous quotes answered but not saved;
and the space held on departures (quotations.holds) handed to the engine. SQLite and, where it
answers, PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from typer.testing import CliRunner

from api.app import create_app
from api.cli.app import app as cli
from iot_ingest.milestones import create_shipment
from jobs.tables import jobs
from optimizer.quotes.quote import build_request
from optimizer.settings import Settings
from quotations import holds
from quotations.errors import QuoteExpired
from quotations.saved import load_quote
from quotations.service import QuoteTerms, issue_quote
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url

Q = {"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6, "ready": "2026-12-01"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, net, tmp_path_factory):
    url = param_db_url(request, tmp_path_factory.mktemp('quotes'))
    db = open_db(url, migrate=True)
    a, b = make_tenant(db, "alpha"), make_tenant(db, "bravo")
    with TestClient(create_app(network=net, ingest_db=db), raise_server_exceptions=False) as client:
        yield db, url, client, a, b
    db.dispose()


def test_a_quote_is_saved_and_fetched_at_the_same_prices(world):
    db, _, client, a, _ = world
    r = client.post("/v1/quotes", json=Q, headers=a.headers)
    assert r.status_code == 200 and r.json()["saved"] is True
    doc = r.json()
    assert doc["quote_id"].startswith("q_") and len(doc["quote_id"]) >= 24
    assert r.headers["location"] == f"/v1/quotes/{doc['quote_id']}"
    again = client.get(f"/v1/quotes/{doc['quote_id']}", headers=a.headers)
    assert again.status_code == 200 and again.json() == doc  # the same document, prices frozen
    fresh = client.post("/v1/quotes", json=Q, headers=a.headers).json()
    assert fresh["quote_id"] != doc["quote_id"]


def test_another_organisations_quote_answers_like_an_unknown_id(world):
    _, _, client, a, b = world
    qid = client.post("/v1/quotes", json=Q, headers=a.headers).json()["quote_id"]
    theirs = client.get(f"/v1/quotes/{qid}", headers=b.headers)
    nobody = "q_" + "A" * 22
    unknown = client.get(f"/v1/quotes/{nobody}", headers=b.headers)
    assert theirs.status_code == unknown.status_code == 404
    t, u = theirs.json(), unknown.json()
    assert t["title"] == u["title"] and t["detail"].replace(qid, nobody) == u["detail"]
    assert client.get(f"/v1/quotes/{qid}").status_code == 401  # anonymous callers: a credential first


def test_anonymous_quotes_are_answered_but_not_saved(world):
    db, _, client, a, _ = world
    r = client.post("/v1/quotes", json=Q)
    doc = r.json()
    assert r.status_code == 200 and doc["saved"] is False and "location" not in r.headers and doc["options"]
    assert client.get(f"/v1/quotes/{doc['quote_id']}").status_code == 401  # fetching needs a credential
    assert client.get(f"/v1/quotes/{doc['quote_id']}", headers=a.headers).status_code == 404  # nothing stored
    ids = {client.post("/v1/quotes", json=Q, headers=a.headers).json()["quote_id"] for _ in range(3)}
    assert len(ids) == 3 and all(len(i) == 24 for i in ids)  # q_ + 22 characters: 128 random bits


def test_an_expired_quote_is_a_410_naming_the_expiry(world, net):
    db, _, client, a, _ = world
    req = build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-01")
    past = datetime.now(UTC) - timedelta(days=30)
    doc = issue_quote(net, req, QuoteTerms(), db=db, org_id=a.org_id, now=past)
    r = client.get(f"/v1/quotes/{doc['quote_id']}", headers=a.headers)
    assert r.status_code == 410, r.text
    assert r.json()["title"] == "Quote expired" and doc["valid_until"] in r.json()["detail"]
    with pytest.raises(QuoteExpired):
        load_quote(db, doc["quote_id"], a.org_id)
    # until valid_until the same document comes back
    assert load_quote(db, doc["quote_id"], a.org_id, now=past + timedelta(days=1)) == doc


def test_malformed_ids_are_404_not_500(world):
    _, _, client, a, _ = world
    for bad in ("x", "q_", "q_' OR 1=1 --", "q_" + "z" * 60):
        assert client.get(f"/v1/quotes/{bad}", headers=a.headers).status_code == 404, bad


def test_without_a_database_quotes_still_answer_unsaved(net, tmp_path):
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/none.sqlite3")
    with TestClient(create_app(network=net, settings=settings)) as client:
        r = client.post("/v1/quotes", json=Q)
        assert r.status_code == 200 and r.json()["saved"] is False and "location" not in r.headers
        assert r.json()["options"]
    assert not (tmp_path / "none.sqlite3").exists()  # a quote never creates a database


def test_cli_quote_and_show_read_the_same_saved_quote(world):
    db, url, _, a, b = world
    runner = CliRunner()
    env = {"CBEC_API_URL": None, "CBEC_API_KEY": None}
    base = ["quote", "--from", "MY_CITY", "--to", "LODZ", "--weight", "1200", "--volume", "6", "--ready", "2026-12-01",
            "--db", url, "--org", a.name]
    res = runner.invoke(cli, base + ["--json", "--currency", "CNY"], env=env)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    shown = runner.invoke(cli, ["quote", "show", doc["quote_id"], "--db", url, "--org", a.name, "--json"], env=env)
    assert shown.exit_code == 0 and json.loads(shown.output) == doc
    other = runner.invoke(cli, ["quote", "show", doc["quote_id"], "--db", url, "--org", b.name], env=env)
    lines = [x for x in other.output.splitlines() if x.strip()]
    assert other.exit_code == 2 and len(lines) == 1 and f"no quote '{doc['quote_id']}'" in lines[0]
    table = runner.invoke(cli, base, env={**env, "COLUMNS": "200"})
    assert table.exit_code == 0 and "cbec quote show q_" in table.output


def test_the_organisations_saved_quotes_are_listed_newest_first_and_only_its_own(world):
    db, url, client, a, b = world
    mine = client.post("/v1/quotes", json={**Q, "currency": "EUR"}, headers=a.headers).json()
    client.post("/v1/quotes", json=Q, headers=b.headers)
    listed = client.get("/v1/quotes?limit=2", headers=a.headers)
    assert listed.status_code == 200, listed.text
    doc = listed.json()
    first = doc["quotes"][0]
    assert first["quote_id"] == mine["quote_id"] and first["currency"] == "EUR" and not first["expired"]
    assert first["cheapest_total"] == min(o["cost"]["total"] for o in mine["options"]) and first["from"] == "MY_CITY"
    assert len(doc["quotes"]) == 2 and doc["total"] >= 2 and doc["limit"] == 2
    theirs = client.get("/v1/quotes?limit=500", headers=b.headers).json()
    assert mine["quote_id"] not in {q["quote_id"] for q in theirs["quotes"]}
    assert client.get("/v1/quotes").status_code == 401
    res = CliRunner().invoke(cli, ["quote", "list", "--db", url, "--org", a.name, "--json", "--limit", "1"],
                             env={"CBEC_API_URL": None})
    assert res.exit_code == 0 and json.loads(res.output)["quotes"][0]["quote_id"] == mine["quote_id"]


# --- the space held on departures ---------------------------------------------------------------------------
def test_followed_shipments_and_the_latest_plan_hold_space(world, net):
    db, _, _, a, _ = world
    holds.clear_cache()
    ready = (date.today() + timedelta(days=20)).isoformat()
    create_shipment(db, net, f"HOLD-{time.time_ns()}", "MY_CITY", "LODZ", 9000, 30, ready, tag="cheapest", org=a.org_id)
    plan_dep = f"CRE_CD_LODZ@{(date.today() + timedelta(days=25)).isoformat()}T02:00Z"
    now_ms = int(time.time() * 1000)
    with db.engine.begin() as conn:
        for n, used in ((1, 500.0), (2, 4000.0)):  # the older plan is superseded by the newer one
            conn.execute(insert(jobs).values(
                id=f"plan-hold-{n}-{now_ms}", kind="plan", owner=a.org_id, status="succeeded", progress=1.0, message="",
                params="{}", created_ms=now_ms + n, finished_ms=now_ms + n, attempts=1, cancel_requested=False,
                engine="local", result=json.dumps({"capacity_use": [
                    {"service": "CRE_CD_LODZ", "departure": plan_dep, "unit": "kg", "used": used, "capacity": 1e6}]})))
    held = holds.held_space(db, net, date.today(), date.today() + timedelta(days=90))
    by = {(h.service_id, h.depart_date): h for h in held}
    assert sum(1 for h in held if h.kg >= 9000) >= 1  # the shipment's scheduled legs hold its chargeable kg
    plan_day = date.fromisoformat(plan_dep.split("@")[1][:10])
    assert any(sid == "CRE_CD_LODZ" and abs(d - plan_day).days <= 1 and h.kg >= 4000 for (sid, d), h in by.items())
    assert not any(h.kg == 4500 for h in held)  # the superseded plan holds nothing
    assert holds.booking_holds(db, net) == []


def test_held_space_reaches_the_engine_when_it_takes_it(world, net):
    import dataclasses

    from optimizer.network.model import QuoteRequest

    db, _, _, a, _ = world
    seen = {}
    import quotations.service as service

    real = service.quote

    def spy(n, req):
        seen["held"] = getattr(req, "held", None)
        return real(n, req)

    service.quote = spy
    try:
        issue_quote(net, build_request(net, "MY_CITY", "LODZ", 1200, 6, (date.today() + timedelta(days=20)).isoformat()),
                    QuoteTerms(allow_extrapolation=True), db=db, org_id=a.org_id)
    finally:
        service.quote = real
    assert "held" in {f.name for f in dataclasses.fields(QuoteRequest)}
    assert seen["held"], "the held space of the shipments and plans above is passed on"
