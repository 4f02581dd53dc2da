"""Validity of tariffs and timetables (issue 20, part 4): the loader's file-level defaults and per-entry
overrides, a ready date outside them (422 naming the figures, or warnings on request), ``valid_until``
from the data, and prices in USD, CNY or EUR at the dated exchange-rate table."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from optimizer.errors import DataError
from optimizer.network import load_network_from
from optimizer.network.currency import load_rates
from optimizer.network.validity import check_options, figures_used
from optimizer.quotes.quote import build_request, quote
from optimizer.settings import BUNDLED_DATA_DIR
from quotations.errors import OutsideValidity
from quotations.service import QuoteTerms, issue_quote

LODZ = {"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6}


@pytest.fixture(scope="module")
def client(net):
    with TestClient(create_app(network=net)) as c:
        yield c


def _data(tmp_path, tariffs_validity: str | None = None, extra: tuple[str, str] | None = None):
    """A copy of the bundled data with the tariffs' file-level validity replaced and ``extra`` = (after, insert)."""
    d = tmp_path / "data"
    shutil.copytree(BUNDLED_DATA_DIR, d, ignore=shutil.ignore_patterns("samples", "__pycache__", "*.py"))
    text = (d / "tariffs.yaml").read_text(encoding="utf-8")
    if tariffs_validity is not None:
        old = next(line for line in text.splitlines() if line.startswith("validity:"))
        text = text.replace(old, f"validity: {tariffs_validity}")
    if extra is not None:
        text = text.replace(extra[0], extra[0] + extra[1], 1)
    (d / "tariffs.yaml").write_text(text, encoding="utf-8")
    return d


def test_bundled_figures_carry_the_file_level_validity(net):
    s = net.services["CRE_CD_LODZ"]
    assert s.tariff.validity.valid_from == date(2026, 1, 1) and s.tariff.validity.valid_to == date(2027, 3, 31)
    assert s.schedule.validity.valid_to == date(2027, 3, 27)
    road = next(x for x in net.services.values() if x.schedule.continuous)
    opt = quote(net, build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-01"))[0]
    kinds = {(f.kind, f.service) for f in figures_used(net, opt)}
    assert ("timetable", road.id) not in kinds  # a road lane has no timetable
    assert any(k == "tariff" for k, _ in kinds) and all(f.valid for f in figures_used(net, opt))


def test_a_per_entry_validity_overrides_the_file_default(tmp_path):
    d = _data(tmp_path, extra=("road_cn:\n", "  valid_to: 2026-12-04\n"))
    net = load_network_from(d)
    road = next(s for s in net.services.values() if s.tariff.id == "road_cn")
    assert road.tariff.validity.valid_from == date(2026, 1, 1) and road.tariff.validity.valid_to == date(2026, 12, 4)
    rail = net.services["CRE_CD_LODZ"]
    assert rail.tariff.validity.valid_to == date(2027, 3, 31)


def test_a_period_that_ends_before_it_starts_names_the_entry(tmp_path):
    d = _data(tmp_path, extra=("road_cn:\n", "  valid_to: 2025-06-30\n"))
    with pytest.raises(DataError, match=r"tariffs.yaml.*road_cn.*valid_to.*before valid_from 2026-01-01"):
        load_network_from(d)
    d2 = _data(tmp_path / "b", tariffs_validity="{valid_from: 2026-05-01, valid_to: 2026-04-01}")
    with pytest.raises(DataError, match=r"tariffs.yaml, row validity"):
        load_network_from(d2)


def test_a_ready_date_outside_the_validity_is_a_422_naming_the_figures(client):
    r = client.post("/v1/quotes", json={**LODZ, "ready": "2025-03-03"})
    assert r.status_code == 422, r.text
    p = r.json()
    assert p["title"] == "Outside the data's validity" and p["field"] == "ready"
    assert "tariff road_cn (ROAD_MY_CITY_CD_RAILPORT, 2025-03-03): valid 2026-01-01 to 2027-03-31" in p["detail"]
    assert "allow_extrapolation" in p["detail"]
    assert any(f.startswith("timetable CRE_CD_LODZ (2025-03-") for f in p["figures"])


def test_extrapolation_on_request_quotes_with_a_warning_per_figure(client):
    r = client.post("/v1/quotes", json={**LODZ, "ready": "2025-03-03", "allow_extrapolation": True})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["options"] and any(w.startswith("extrapolated: tariff road_cn") for w in doc["warnings"])
    ok = client.post("/v1/quotes", json={**LODZ, "ready": "2026-12-01"}).json()
    assert not any(w.startswith("extrapolated") for w in ok["warnings"])


def test_late_legs_past_the_timetable_end_are_caught(net):
    # ready a week before the timetables end: some sea legs of the quote depart after 2027-03-27
    opts = quote(net, build_request(net, "MY_CITY", "LODZ", 1200, 6, "2027-03-26"))
    bad = check_options(net, opts)
    assert bad and all(f.kind == "timetable" and f.day > date(2027, 3, 27) for f in bad), [f.describe() for f in bad]


def test_valid_until_is_the_earliest_valid_to_used_within_the_cap(tmp_path):
    net = load_network_from(_data(tmp_path, extra=("road_cn:\n", "  valid_to: 2026-12-04\n")))
    req = build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-02")
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    doc = issue_quote(net, req, QuoteTerms(), db=None, org_id=None, now=now)
    assert doc["valid_until"] == "2026-12-04T23:59:59+00:00"  # road_cn's own valid_to, before the 7-day cap
    later = build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-02")
    assert issue_quote(net, later, QuoteTerms(), db=None, org_id=None,
                       now=datetime(2026, 11, 1, tzinfo=UTC))["valid_until"] == "2026-11-08T00:00:00+00:00"  # the cap
    with pytest.raises(OutsideValidity):
        issue_quote(net, build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-06"), QuoteTerms(),
                    db=None, org_id=None, now=now)


@pytest.mark.parametrize("currency", ["CNY", "EUR"])
def test_prices_in_another_currency_at_the_dated_table(client, currency):
    usd = client.post("/v1/quotes", json={**LODZ, "ready": "2026-12-01"}).json()
    other = client.post("/v1/quotes", json={**LODZ, "ready": "2026-12-01", "currency": currency}).json()
    fx = other["exchange_rate"]
    expected = load_rates().rate("USD", currency, date.fromisoformat(other["created_at"][:10]))
    assert other["currency"] == currency and fx["to"] == currency and fx["date"] == expected.date.isoformat()
    assert "CFETS" in fx["source"] and fx["rate"] == pytest.approx(expected.rate, rel=1e-6)
    for a, b in zip(usd["options"], other["options"], strict=True):
        assert b["cost"]["currency"] == currency
        assert b["cost"]["total"] == pytest.approx(a["cost"]["total"] * fx["rate"], abs=0.02)
        assert sum(x["amount"] for x in b["cost"]["breakdown"]) == pytest.approx(b["cost"]["total"], abs=0.05 * len(b["cost"]["breakdown"]))
        assert b["legs"][0]["cost"] == pytest.approx(a["legs"][0]["cost"] * fx["rate"], abs=0.02)
    assert usd["currency"] == "USD" and usd["exchange_rate"]["rate"] == 1.0


def test_an_unknown_currency_is_refused_by_the_schema(client):
    r = client.post("/v1/quotes", json={**LODZ, "ready": "2026-12-01", "currency": "GBP"})
    assert r.status_code == 422 and "currency" in r.text


def test_a_day_the_rate_table_does_not_cover_is_a_clear_error(net):
    req = build_request(net, "MY_CITY", "LODZ", 1200, 6, "2026-12-01")
    with pytest.raises(Exception, match=r"no USD/EUR exchange rate for 2027-06-01: exchange_rates.csv covers"):
        issue_quote(net, req, QuoteTerms("EUR"), db=None, org_id=None, now=datetime(2027, 6, 1, tzinfo=UTC))


def test_cli_currency_and_extrapolation_flags():
    from typer.testing import CliRunner

    from api.cli.app import app

    base = ["quote", "--from", "MY_CITY", "--to", "LODZ", "--weight", "1200", "--volume", "6"]
    runner = CliRunner()
    res = runner.invoke(app, base + ["--ready", "2025-03-03"], env={"CBEC_API_URL": None})
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "validity" in lines[0] and "--extrapolate" in lines[0], res.output
    res = runner.invoke(app, base + ["--ready", "2025-03-03", "--extrapolate", "--currency", "EUR", "--json"],
                        env={"CBEC_API_URL": None})
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(res.output)
    assert doc["currency"] == "EUR" and doc["warnings"] and doc["options"][0]["cost"]["currency"] == "EUR"
