"""Organisations' own rate sheets (issue 20, part 7): validated with row/column errors, versioned, listed,
retired; an organisation's quotes use them where they apply and the public tariffs elsewhere, each leg
saying which; another organisation never sees them. SQLite and, where it answers, PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli.app import app as cli
from optimizer.network.currency import load_rates
from optimizer.network.model import Cargo
from optimizer.quotes.rate_sheet import RateBook, RateSheet, SheetLine, SheetSurcharge
from optimizer.settings import BUNDLED_DATA_DIR
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url

SAMPLE = BUNDLED_DATA_DIR / "samples" / "rate_sheet_example.csv"
CSV = {"content-type": "text/csv"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# 12 t / 40 m3 from Mianyang to Lodz: one 40HQ on the rail leg, the sheet's contract rate applies
BIG = {"from": "MY_CITY", "to": "LODZ", "weight_kg": 12000, "volume_m3": 40, "ready": "2026-12-01"}
HEADER = "service,from,to,mode,equipment,min_kg,rate,basis,min_charge,surcharges,currency,valid_from,valid_to\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, net, tmp_path_factory):
    url = param_db_url(request, tmp_path_factory.mktemp('sheets'))
    db = open_db(url, migrate=True)
    a, b = make_tenant(db, "alpha"), make_tenant(db, "bravo")
    with TestClient(create_app(network=net, ingest_db=db), raise_server_exceptions=False) as client:
        yield db, url, client, a, b
    db.dispose()


def _upload(client, tenant, name: str, body: bytes, kind: str = "text/csv"):
    return client.post(f"/v1/rate-sheets/{name}", content=body, headers={**tenant.admin_headers, "content-type": kind})


def _rail_leg(doc: dict) -> dict:
    return next(leg for o in doc["options"] for leg in o["legs"] if leg["service"] == "CRE_CD_LODZ")


def test_the_sample_sheet_prices_the_organisations_quotes_and_no_one_elses(world):
    _, _, client, a, b = world
    r = _upload(client, a, "contract", SAMPLE.read_bytes())
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["version"] == 1 and info["status"] == "active" and info["line_count"] == 8
    assert info["currencies"] == ["CNY", "USD"] and r.headers["location"] == "/v1/rate-sheets/contract?version=1"
    mine = client.post("/v1/quotes", json=BIG, headers=a.headers).json()
    theirs = client.post("/v1/quotes", json=BIG, headers=b.headers).json()
    leg = _rail_leg(mine)
    assert leg["tariff_source"] == "rate sheet contract v1" and leg["equipment"] == "1x40HQ"
    assert leg["cost"] == pytest.approx(4200 + 180 + 35)  # 40HQ contract rate + THC per box + DOC per shipment
    assert _rail_leg(theirs)["tariff_source"] == "public"
    assert _rail_leg(theirs)["cost"] != leg["cost"]
    anonymous = client.post("/v1/quotes", json=BIG).json()
    assert all(leg["tariff_source"] == "public" for o in anonymous["options"] for leg in o["legs"])
    # legs the sheet does not cover fall back to the public tariffs, saying so
    assert any(leg["tariff_source"] == "public" for o in mine["options"] for leg in o["legs"])


def test_a_bad_sheet_names_every_row_and_column_and_stores_nothing(world):
    _, _, client, a, _ = world
    before = client.get("/v1/rate-sheets", headers=a.headers).json()
    bad = (HEADER + "CRE_CD_LODX,,,,40HQ,0,4200,per_container,0,,USD,2026-11-01,2027-01-31\n"
                    "CRE_CD_LODZ,,,,53HC,0,abc,per_box,0,BAF,CHF,2026-13-01,2027-01-31\n"
                    ",TFU,,air,air,0,20,per_kg,0,,CNY,2026-11-01,2026-10-01\n")
    r = _upload(client, a, "contract", bad.encode())
    assert r.status_code == 422, r.text
    p = r.json()
    got = {(e["row"], e["field"]) for e in p["errors"]}
    assert {(2, "service"), (3, "equipment"), (3, "rate"), (3, "basis"), (3, "surcharges"), (3, "currency"),
            (3, "valid_from"), (4, "service")} <= got
    assert "did you mean CRE_CD_LODZ" in p["detail"] and "row 2, service" in p["detail"]
    assert client.get("/v1/rate-sheets", headers=a.headers).json() == before  # nothing stored, nothing changed


@pytest.mark.parametrize(("body", "needle"), [
    (b"", "empty"),
    (b"service,equipment\nCRE_CD_LODZ,40HQ\n", "missing column(s) rate"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    ((HEADER + "CRE_CD_LODZ,,,,40HQ,0,1,per_container,0,,USD,2026-01-01,2026-12-31\n").replace("valid_to", "valid_until").encode(),
     "unknown column(s) valid_until"),
])
def test_unreadable_files_are_one_clear_problem(world, body, needle):
    _, _, client, a, _ = world
    r = _upload(client, a, "broken", body)
    assert r.status_code == 422 and needle in r.json()["detail"], r.text


def test_uploading_a_name_again_makes_a_new_version_and_retire_ends_it(world):
    _, _, client, a, _ = world
    v1 = HEADER + "CRE_CD_LODZ,,,,40HQ,0,3900,per_container,0,,USD,2026-11-01,2027-01-31\n"
    v2 = HEADER + "CRE_CD_LODZ,,,,40HQ,0,3700,per_container,0,,USD,2026-11-01,2027-01-31\n"
    assert _upload(client, a, "spot", v1.encode()).json()["version"] == 1
    assert _upload(client, a, "spot", v2.encode()).json()["version"] == 2
    assert client.get("/v1/rate-sheets/spot?version=1", headers=a.headers).json()["status"] == "superseded"
    shown = client.get("/v1/rate-sheets/spot", headers=a.headers).json()
    assert shown["version"] == 2 and shown["lines"][0]["rate"] == 3700
    listed = {s["name"]: s for s in client.get("/v1/rate-sheets", headers=a.headers).json()["sheets"]}
    assert listed["spot"]["version"] == 2 and listed["spot"]["lines"] is None
    leg = _rail_leg(client.post("/v1/quotes", json=BIG, headers=a.headers).json())
    assert leg["tariff_source"] == "rate sheet spot v2" and leg["cost"] == pytest.approx(3700)  # the newest sheet wins
    r = client.post("/v1/rate-sheets/spot/retire", headers=a.admin_headers)
    assert r.status_code == 200 and r.json()["status"] == "retired" and r.json()["retired_at"]
    leg = _rail_leg(client.post("/v1/quotes", json=BIG, headers=a.headers).json())
    assert leg["tariff_source"] != "rate sheet spot v2"
    assert client.post("/v1/rate-sheets/spot/retire", headers=a.admin_headers).status_code == 200  # already retired: same answer


def test_an_xlsx_workbook_is_read_like_the_csv(world):
    import openpyxl

    _, _, client, a, _ = world
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["CRE_CD_LODZ", None, None, None, "20GP", 0, 2800, "per_container", 0, "THC=100/per_container", "EUR",
               date(2026, 11, 1), date(2027, 1, 31)])
    buf = io.BytesIO()
    wb.save(buf)
    r = _upload(client, a, "xlsx-sheet", buf.getvalue(), XLSX)
    assert r.status_code == 201, r.text
    line = r.json()["lines"][0]
    assert line["equipment"] == "20GP" and line["currency"] == "EUR" and line["valid_from"] == "2026-11-01"
    assert line["surcharges"] == [{"code": "THC", "amount": 100.0, "basis": "per_container"}]


def test_tenancy_and_roles(world):
    _, _, client, a, b = world
    _upload(client, a, "private", (HEADER + "CRE_CD_LODZ,,,,40HQ,0,4000,per_container,0,,USD,2026-11-01,2027-01-31\n").encode())
    theirs = client.get("/v1/rate-sheets/private", headers=b.headers)
    nobody = client.get("/v1/rate-sheets/nosuchsheet", headers=b.headers)
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json()["detail"].replace("private", "nosuchsheet") == nobody.json()["detail"]
    assert "private" not in json.dumps(client.get("/v1/rate-sheets", headers=b.headers).json())
    assert client.post("/v1/rate-sheets/private/retire", headers=b.admin_headers).status_code == 404
    member = client.post("/v1/rate-sheets/x", content=b"a", headers={**a.headers, **CSV})
    assert member.status_code == 403  # members read; admins upload and retire
    assert client.get("/v1/rate-sheets").status_code == 401
    assert client.post("/v1/rate-sheets/x", content=b"{}", headers={**a.admin_headers, "content-type": "application/json"}).status_code == 415


def test_cli_rates_upload_list_show_retire(world, tmp_path):
    _, url, _, a, _ = world
    runner = CliRunner()
    env = {"CBEC_API_URL": None, "COLUMNS": "200"}
    f = tmp_path / "cli-sheet.csv"
    f.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    res = runner.invoke(cli, ["rates", "upload", str(f), "--db", url, "--org", a.name], env=env)
    assert res.exit_code == 0 and "rate sheet cli-sheet v1: 8 rates" in res.output, res.output
    res = runner.invoke(cli, ["rates", "list", "--db", url, "--org", a.name, "--json"], env=env)
    assert "cli-sheet" in {s["name"] for s in json.loads(res.output)["sheets"]}
    res = runner.invoke(cli, ["rates", "show", "cli-sheet", "--db", url, "--org", a.name], env=env)
    assert res.exit_code == 0 and "TFU->FRA (air)" in res.output and "CRE_CD_LODZ" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "NOPE,,,,40HQ,0,1,per_container,0,,USD,2026-11-01,2027-01-31\n", encoding="utf-8")
    res = runner.invoke(cli, ["rates", "upload", str(bad), "--db", url, "--org", a.name], env=env)
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "row 2, service: unknown service 'NOPE'" in lines[0]
    res = runner.invoke(cli, ["rates", "retire", "cli-sheet", "--db", url, "--org", a.name], env=env)
    assert res.exit_code == 0 and "retired" in res.output


# --- the pure pricing rules ---------------------------------------------------------------------------------
def _line(**kw) -> SheetLine:
    base = dict(service="AIR_TFU_FRA_P", origin=None, destination=None, mode=None, equipment="air", min_kg=0.0,
                rate=3.0, basis="per_kg", min_charge=0.0, surcharges=(), currency="USD",
                valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31))
    base.update(kw)
    return SheetLine(**base)


def test_weight_breaks_minimum_and_surcharges(net):
    svc = net.services["AIR_TFU_FRA_P"]
    lines = (_line(min_kg=45, rate=3.4), _line(min_kg=100, rate=3.0, min_charge=100,
                                                 surcharges=(SheetSurcharge("FSC", 0.1, "pct_freight"),
                                                             SheetSurcharge("AWB", 35, "per_shipment"))),
             _line(min_kg=300, rate=2.6))
    book = RateBook.build([RateSheet("s", 3, lines)], [svc], date(2026, 12, 1))
    ef = net.emission_factor(svc)
    p = book.price_leg(svc, Cargo(150.0, 0.5), net.containers, ef)  # 150 kg actual, 0.5 m3 = 83 kg: the 100 break
    assert p.lines[0].amount == pytest.approx(450.0) and p.total == pytest.approx(450 + 45 + 35)
    assert book.price_leg(svc, Cargo(20.0, 0.05), net.containers, ef).lines[0].amount == pytest.approx(68.0)  # lowest break
    assert book.price_leg(svc, Cargo(100.0, 3.0), net.containers, ef).chargeable_kg == pytest.approx(500.0)  # volumetric
    assert book.source("AIR_TFU_FRA_P") == "rate sheet s v3" and book.source("CRE_CD_LODZ") == "public"
    assert book.price_leg(net.services["CRE_CD_LODZ"], Cargo(150.0, 0.5), net.containers, ef) is None
    late = RateBook.build([RateSheet("s", 3, lines)], [svc], date(2027, 1, 5))  # outside the lines' validity
    assert not late and late.price_leg(svc, Cargo(150.0, 0.5), net.containers, ef) is None


def test_a_lane_line_matches_by_nodes_and_mode_and_converts_currency(net):
    svc = net.services["CRE_CD_LODZ"]
    rate = load_rates().rate("CNY", "USD", date(2026, 11, 30)).rate
    line = _line(service=None, origin="CD_RAILPORT", destination="LODZ", mode="rail", equipment="40HQ",
                 rate=30000, basis="per_container", currency="CNY").scaled(rate, "USD")
    wrong_mode = _line(service=None, origin="CD_RAILPORT", destination="LODZ", mode="sea", equipment="40HQ",
                       rate=1, basis="per_container")
    book = RateBook.build([RateSheet("lanes", 1, (wrong_mode,)), RateSheet("cny", 1, (line,))], [svc], date(2026, 12, 1))
    p = book.price_leg(svc, Cargo(30000.0, 70.0), net.containers, net.emission_factor(svc))
    assert p.equipment == "2x40HQ" and p.total == pytest.approx(2 * 30000 * rate) and book.source(svc.id) == "rate sheet cny v1"


def test_the_documented_format_matches_the_reader():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "rate_sheets.md").read_text(encoding="utf-8")
    from quotations.rate_sheets import COLUMNS

    for col in COLUMNS:
        assert f"`{col}`" in doc, col
