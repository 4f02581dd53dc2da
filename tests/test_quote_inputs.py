"""The declared goods reach the quote engine through both faces (issue 20, items 3 and 6): ``goods_value``,
``hs_code``, ``value_of_time_per_day`` and a duty table (``duty_rates`` inline over HTTP, ``--duty-table
FILE.csv`` on the CLI, sent inline by the remote mode), converted from the quote's currency, bounded,
and stored with a saved quote."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.cli.remote import Remote
from optimizer.settings import Settings
from storage.db import open_db
from tests.support.accounts import make_tenant, member_client

PARCELS = {"from": "MY_CITY", "to": "FRA", "weight_kg": 20, "volume_m3": 0.2, "pieces": 10, "customs_mode": "9610",
           "ready": "2026-12-01"}
GOODS = {"goods_value": 3000, "hs_code": "851762",
         "duty_rates": [{"hs_code": "8517", "country": "EU", "rate_pct": 2.5, "note": "illustrative"},
                        {"hs_code": "64", "country": "*", "rate_pct": 12}]}
FREIGHT = {"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6, "ready": "2026-12-01"}
DUTY_CSV = "hs_code,country,rate_pct,note\n8517,EU,2.5,illustrative\n64,*,12,\n"
PARCEL_ARGS = ["quote", "--from", "MY_CITY", "--to", "FRA", "--weight", "20", "--volume", "0.2", "--pieces", "10",
               "--customs", "9610", "--ready", "2026-12-01"]
TAXES = ("DUTY", "DUTY_FLAT", "VAT_IOSS", "VAT_IMPORT")


@pytest.fixture(scope="module")
def world(net, tmp_path_factory):
    """(client, tenant, database URL): the app over a SQLite database with one organisation."""
    url = f"sqlite:///{tmp_path_factory.mktemp('inputs')}/q.sqlite3"
    db = open_db(url, migrate=True)
    tenant = make_tenant(db, "alpha")
    settings = Settings(database_url=url, anon_quotes_burst=100_000, anon_quotes_per_min=1_000_000)  # many anonymous quotes
    with TestClient(create_app(network=net, settings=settings, ingest_db=db), raise_server_exceptions=False) as client:
        yield client, tenant, url
    db.dispose()


@pytest.fixture()
def client(world):
    client, _, _ = world
    client.auth = None
    return client


def run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, args, env={"CBEC_API_URL": None, "CBEC_API_KEY": None, "COLUMNS": "200", **(env or {})})


def taxes(option: dict) -> dict[str, dict]:
    return {line["code"]: line for line in option["cost"]["breakdown"] if line["code"] in TAXES}


# --- VAT and duty --------------------------------------------------------------------------------------------
def test_eu_parcels_with_goods_value_and_duty_table_show_vat_and_duty_estimates(client):
    r = client.post("/v1/quotes", json={**PARCELS, **GOODS})
    assert r.status_code == 200, r.text
    doc = r.json()
    for option in doc["options"]:
        lines = taxes(option)
        # 300 USD a parcel is above the EUR 150 IOSS threshold: duty from the table (8517 into the EU, not
        # the 64 row), then import VAT at Germany's 19 % on value + duty
        assert set(lines) == {"DUTY", "VAT_IMPORT"}, lines
        assert all(line["estimate"] is True for line in lines.values())
        assert lines["DUTY"]["amount"] == pytest.approx(3000 * 0.025, abs=0.01)
        assert "HS 8517" in lines["DUTY"]["description"]
        assert lines["VAT_IMPORT"]["amount"] == pytest.approx((3000 + 75) * 0.19, abs=0.01)
        assert sum(line["amount"] for line in option["cost"]["breakdown"]) == pytest.approx(option["cost"]["total"], abs=0.05)
    bare = client.post("/v1/quotes", json=PARCELS).json()
    assert not any(taxes(o) for o in bare["options"])
    assert any("not estimated" in n for n in bare["options"][0]["notes"])
    assert doc["options"][0]["cost"]["total"] == pytest.approx(bare["options"][0]["cost"]["total"] + 75 + 584.25, abs=0.05)


def test_goods_value_is_in_the_quotes_currency(client):
    """3000 EUR declared in a EUR quote is 3000 EUR of goods: the duty is 75 EUR whatever the rate."""
    doc = client.post("/v1/quotes", json={**PARCELS, **GOODS, "currency": "EUR"}).json()
    lines = taxes(doc["options"][0])
    assert doc["currency"] == "EUR" and lines["DUTY"]["amount"] == pytest.approx(75.0, abs=0.02)
    assert doc["request"]["goods_value"] == 3000 and doc["request"]["currency"] == "EUR"


def test_no_matching_duty_row_is_a_note_not_a_guess(client):
    doc = client.post("/v1/quotes", json={**PARCELS, **GOODS, "hs_code": "940510"}).json()
    option = doc["options"][0]
    assert "DUTY" not in taxes(option) and "VAT_IMPORT" in taxes(option)
    assert any("no duty rate for HS 940510" in n for n in option["notes"])


# --- value of time -------------------------------------------------------------------------------------------
def _recommended(doc: dict) -> dict:
    [option] = [o for o in doc["options"] if "recommended" in o["tags"]]
    return option


def test_value_of_time_changes_the_recommended_option(client):
    """1,200 kg to Łódź: rail is cheapest (~19 door days), air fastest (~7 days) at ~4x the price; at 0 a day the
    cheapest is recommended, at 5,000 USD a day the fastest, and always the least cost + value x p50 days."""
    slow = client.post("/v1/quotes", json={**FREIGHT, "value_of_time_per_day": 0}).json()
    fast = client.post("/v1/quotes", json={**FREIGHT, "value_of_time_per_day": 5000}).json()
    assert "cheapest" in _recommended(slow)["tags"] and "fastest" not in _recommended(slow)["tags"]
    assert "fastest" in _recommended(fast)["tags"] and "cheapest" not in _recommended(fast)["tags"]
    for doc, vot in ((slow, 0), (fast, 5000)):
        best = min(doc["options"], key=lambda o: o["cost"]["total"] + vot * o["door_to_door_days"]["p50"])
        assert _recommended(doc)["id"] == best["id"]
        assert doc["request"]["value_of_time_per_day"] == vot


def test_value_of_time_is_in_the_quotes_currency(client):
    """Air saves ~12 days for ~4,750 USD more (break-even ~390 USD a day): 500 a day recommends air in a USD
    quote, rail in a CNY quote (500 CNY is ~70 USD)."""
    usd = client.post("/v1/quotes", json={**FREIGHT, "value_of_time_per_day": 500}).json()
    cny = client.post("/v1/quotes", json={**FREIGHT, "value_of_time_per_day": 500, "currency": "CNY"}).json()
    assert "fastest" in _recommended(usd)["tags"]
    assert "cheapest" in _recommended(cny)["tags"] and "fastest" not in _recommended(cny)["tags"]


# --- bounds and bad rows -------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, field", [
    ({"goods_value": -1}, "goods_value"),
    ({"goods_value": 2e9}, "goods_value"),
    ({"goods_value": "3000"}, "goods_value"),
    ({"value_of_time_per_day": -0.01}, "value_of_time_per_day"),
    ({"value_of_time_per_day": 1e12}, "value_of_time_per_day"),
    ({"hs_code": "85"}, "hs_code"),
    ({"hs_code": "8517.62"}, "hs_code"),
    ({"hs_code": "85176200001"}, "hs_code"),
    ({"duty_rates": [{"hs_code": "8517", "country": "EU", "rate_pct": 2.5}, {"hs_code": "85x7", "country": "EU", "rate_pct": 1}]},
     "duty_rates.1.hs_code"),
    ({"duty_rates": [{"hs_code": "8517", "country": "EUR", "rate_pct": 2.5}]}, "duty_rates.0.country"),
    ({"duty_rates": [{"hs_code": "8517", "country": "DE", "rate_pct": 1001}]}, "duty_rates.0.rate_pct"),
    ({"duty_rates": [{"hs_code": "8517", "country": "DE", "rate_pct": -1}]}, "duty_rates.0.rate_pct"),
    ({"duty_rates": [{"hs_code": "8517", "country": "DE"}]}, "duty_rates.0.rate_pct"),
    ({"duty_rates": [{"hs_code": "8517", "country": "DE", "rate_pct": 1, "vat": 3}]}, "duty_rates.0.vat"),
    ({"duty_rates": [{"hs_code": "8517", "country": "DE", "rate_pct": 1}] * 2001}, "duty_rates"),
])
def test_bad_inputs_are_422_naming_the_field(client, change, field):
    r = client.post("/v1/quotes", json={**PARCELS, **GOODS, **change})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["errors"][0]["field"] == field and body["detail"].startswith(f"{field}:"), body


def test_bounds_are_inclusive_and_the_table_may_have_2000_rows(client):
    rows = [{"hs_code": f"{8500 + i % 99:04d}{i // 99:02d}", "country": "DE", "rate_pct": 1} for i in range(2000)]
    r = client.post("/v1/quotes", json={**PARCELS, **GOODS, "duty_rates": rows, "value_of_time_per_day": 0, "goods_value": 0})
    assert r.status_code == 200, r.text
    assert len(r.json()["request"]["duty_rates"]) == 2000


def test_schema_states_the_bounds(client):
    spec = client.get("/openapi.json").json()["components"]["schemas"]
    props = spec["QuoteIn"]["properties"]
    assert props["duty_rates"]["anyOf"][0]["maxItems"] == 2000
    assert props["hs_code"]["anyOf"][0]["pattern"] == "^[0-9]{4,10}$"
    assert props["value_of_time_per_day"]["anyOf"][0]["minimum"] == 0
    assert "currency" in props["goods_value"]["description"]


# --- saved quotes ----------------------------------------------------------------------------------------------
def test_a_saved_quote_keeps_its_inputs(world):
    client, tenant, _ = world
    member_client(client, tenant)
    body = {**PARCELS, **GOODS, "value_of_time_per_day": 120, "currency": "EUR"}
    doc = client.post("/v1/quotes", json=body).json()
    assert doc["saved"] is True
    again = client.get(f"/v1/quotes/{doc['quote_id']}").json()
    r = again["request"]
    assert (r["goods_value"], r["hs_code"], r["value_of_time_per_day"], r["currency"]) == (3000, "851762", 120, "EUR")
    assert r["duty_rates"] == [{"hs_code": "8517", "country": "EU", "rate_pct": 2.5, "note": "illustrative"},
                               {"hs_code": "64", "country": "*", "rate_pct": 12.0, "note": ""}]
    assert again["options"] == doc["options"]


# --- CLI -----------------------------------------------------------------------------------------------------
def test_cli_duty_table_prints_the_same_estimates(client, tmp_path: Path):
    table = tmp_path / "duty.csv"
    table.write_text(DUTY_CSV)
    args = PARCEL_ARGS + ["--goods-value", "3000", "--hs-code", "8517.62", "--duty-table", str(table)]
    res = run(args + ["--json"])
    assert res.exit_code == 0, res.output
    local = json.loads(res.stdout)
    api = client.post("/v1/quotes", json={**PARCELS, **GOODS}).json()
    assert [taxes(o) for o in local["options"]] == [taxes(o) for o in api["options"]]
    assert local["request"]["duty_rates"] == api["request"]["duty_rates"] and local["request"]["hs_code"] == "851762"
    text = run(args).stdout
    assert "import duty 2.5 % (HS 8517, EU): 75.00 USD (estimate)" in text
    assert "import VAT 19 % (DE) on goods value + duty: 584.25 USD (estimate)" in text
    assert "declared: goods value 3,000.00 USD, HS 851762; duty table of 2 row(s)" in text


def test_cli_value_of_time_changes_the_recommended_option():
    base = ["quote", "--from", "MY_CITY", "--to", "LODZ", "--weight", "1200", "--volume", "6", "--ready", "2026-12-01", "--json"]
    slow, fast = (json.loads(run(base + ["--value-of-time", v]).stdout) for v in ("0", "5000"))
    assert "cheapest" in _recommended(slow)["tags"] and "fastest" in _recommended(fast)["tags"]


def _one_line(res) -> str:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    return lines[0]


@pytest.mark.parametrize("csv, words", [
    ("hs_code,country,rate_pct\n8517,EU,2.5\n85x,EU,3\n", ("--duty-table", "row 3", "hs_code")),
    ("hs_code,country,rate_pct\n8517,EUR,2.5\n", ("row 2", "country")),
    ("hs_code,country,rate_pct\n8517,EU,lots\n", ("row 2", "rate_pct", "number")),
    ("hs_code,country,rate_pct\n8517,EU,1001\n", ("row 2", "rate_pct")),
    ("hs_code,country\n8517,EU\n", ("missing column", "rate_pct")),
    ("hs_code,country,rate_pct\n" + "8517,DE,1\n" * 2001, ("duty table", "2,000 rows", "--duty-table")),
])
def test_cli_bad_duty_table_is_one_line_naming_row_and_field(tmp_path: Path, csv, words):
    table = tmp_path / "duty.csv"
    table.write_text(csv)
    line = _one_line(run(PARCEL_ARGS + ["--goods-value", "3000", "--hs-code", "851762", "--duty-table", str(table)]))
    assert all(w in line for w in words), line


@pytest.mark.parametrize("args, option", [
    (["--goods-value", "-5"], "--goods-value"),
    (["--hs-code", "85"], "--hs-code"),
    (["--hs-code", "85AB"], "--hs-code"),
    (["--value-of-time", "-1"], "--value-of-time"),
    (["--duty-table", "/nonexistent/duty.csv"], "--duty-table"),
])
def test_cli_bad_options_name_the_option(args, option):
    line = _one_line(run(PARCEL_ARGS + args))
    assert line.startswith(f"error: {option}:"), line


def test_remote_mode_sends_the_inputs(client, monkeypatch, tmp_path: Path):
    """With CBEC_API_URL the CLI sends goods value, HS code, value of time and the duty table (read here) in the
    body, and prints what a local run prints."""
    sent: list[dict] = []

    def forward(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append(body)
        r = client.post(request.url.path, json=body)
        return httpx.Response(r.status_code, content=r.content, headers={"content-type": r.headers["content-type"]})

    monkeypatch.setattr("api.cli.remote.remote", lambda: Remote("http://cbec.test", transport=httpx.MockTransport(forward)))
    table = tmp_path / "duty.csv"
    table.write_text(DUTY_CSV)
    args = PARCEL_ARGS + ["--goods-value", "3000", "--hs-code", "8517.62", "--value-of-time", "40", "--duty-table", str(table)]
    remote = run(args + ["--json"])
    assert remote.exit_code == 0, remote.output
    assert sent[-1]["goods_value"] == 3000 and sent[-1]["hs_code"] == "851762" and sent[-1]["value_of_time_per_day"] == 40
    assert sent[-1]["duty_rates"] == GOODS["duty_rates"][:1] + [{"hs_code": "64", "country": "*", "rate_pct": 12.0, "note": ""}]
    monkeypatch.undo()
    local = run(args + ["--json"])
    ld, rd = json.loads(local.stdout), json.loads(remote.stdout)
    for doc in (ld, rd):
        for volatile in ("quote_id", "created_at", "valid_until"):
            doc.pop(volatile)
    assert rd == ld
    monkeypatch.setattr("api.cli.remote.remote", lambda: Remote("http://cbec.test", transport=httpx.MockTransport(forward)))
    line = _one_line(run(PARCEL_ARGS + ["--hs-code", "85"]))
    assert line.startswith("error: --hs-code:"), line
