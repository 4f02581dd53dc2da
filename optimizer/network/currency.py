"""A dated exchange-rate table (``data/exchange_rates.csv``) and conversions between USD, CNY and EUR.

Each row is one published fixing: ``date``, ``base``, ``quote``, ``rate`` (units of ``quote`` per one
``base``), an optional ``valid_to``, the confidence ``tag`` and its ``source``/``as_of``. A row holds from
its date until the next row of the same pair; the last row of a pair holds until its ``valid_to``
(default: ``CARRY_DAYS`` days after its date). A pair without its own rows is crossed through a
currency both sides are quoted against (CNY in the bundled table: the CFETS central parity rates).

    >>> table = load_rates()
    >>> table.convert(100.0, "USD", "CNY", date(2025, 3, 3))  # 100 USD at the 2025-02-25 fixing
    717.26
    >>> table.rate("EUR", "USD", date(2025, 3, 3)).date
    datetime.date(2025, 2, 25)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from optimizer.errors import CbecError, DataError
from optimizer.network.csvfile import read_csv_records
from optimizer.settings import BUNDLED_DATA_DIR, get_settings

RATES_FILE = "exchange_rates.csv"
CARRY_DAYS = 31  # a pair's last fixing without valid_to holds this long
MAX_ROWS = 100_000
_COLUMNS = ("date", "base", "quote", "rate", "source")


class CurrencyError(CbecError):
    """An unknown currency, or a date the table does not cover (422: the request asks for what the data lacks)."""

    status = 422
    title = "No exchange rate"


@dataclass(frozen=True)
class Fixing:
    """One row of the table: ``rate`` units of ``quote`` per one ``base``, published on ``date``."""

    date: date
    base: str
    quote: str
    rate: float
    valid_to: date | None
    tag: str
    source: str
    as_of: str


@dataclass(frozen=True)
class Rate:
    """The rate used to convert ``frm`` into ``to`` for a day ``on``: ``rate`` units of ``to`` per ``frm``.

    ``date`` is the fixing date actually used (the older one for a cross rate), ``source`` the
    publication(s) it comes from, ``via`` the pivot currency of a cross rate, ``age_days`` how old the
    fixing is on ``on`` and ``tag`` the weakest confidence tag of the rows used (``A`` = carried forward)."""

    frm: str
    to: str
    rate: float
    on: date
    date: date
    source: str
    via: str | None = None
    tag: str = "V"
    age_days: int = 0

    def describe(self) -> str:
        """One line for a quote or a log: ``1 USD = 7.1726 CNY (2025-02-25, CFETS ...)``."""
        cross = f" via {self.via}" if self.via else ""
        return f"1 {self.frm} = {self.rate:.6g} {self.to} ({self.date.isoformat()}{cross}; {self.source})"


_TAG_ORDER = "VSICA"  # weakest last


def _weakest(*tags: str) -> str:
    return max(tags, key=lambda t: _TAG_ORDER.index(t) if t in _TAG_ORDER else len(_TAG_ORDER))


@dataclass
class _Series:
    fixings: list[Fixing] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)

    def add(self, f: Fixing) -> None:
        self.fixings.append(f)

    def freeze(self) -> None:
        self.fixings.sort(key=lambda f: f.date)
        self.dates = [f.date for f in self.fixings]

    def first(self) -> date:
        return self.dates[0]

    def last(self) -> date:
        f = self.fixings[-1]
        return f.valid_to or f.date + timedelta(days=CARRY_DAYS)

    def at(self, on: date) -> Fixing | None:
        """The fixing holding on ``on``, or None when ``on`` is before the first or after the last one's end."""
        i = bisect.bisect_right(self.dates, on) - 1
        if i < 0:
            return None
        if i == len(self.fixings) - 1 and on > self.last():
            return None
        return self.fixings[i]


class RateTable:
    """Dated fixings by currency pair; ``rate``/``convert`` pick the fixing holding on a day."""

    def __init__(self, fixings: Iterable[Fixing], *, file: str = RATES_FILE) -> None:
        self.file = file
        self._series: dict[tuple[str, str], _Series] = {}
        for f in fixings:
            self._series.setdefault((f.base, f.quote), _Series()).add(f)
        for s in self._series.values():
            s.freeze()
        self.currencies: frozenset[str] = frozenset(c for pair in self._series for c in pair)

    def coverage(self) -> tuple[date, date] | None:
        """First and last day any rate holds (None for an empty table)."""
        if not self._series:
            return None
        return min(s.first() for s in self._series.values()), max(s.last() for s in self._series.values())

    def _known(self, code: str, what: str) -> str:
        c = code.strip().upper()
        if c not in self.currencies:
            known = ", ".join(sorted(self.currencies))
            raise CurrencyError(f"unknown currency '{code}' ({what}); known: {known}", field=what,
                                currency=code, known=sorted(self.currencies))
        return c

    def _direct(self, frm: str, to: str, on: date) -> Rate | None | bool:
        """The rate from a pair's own rows (or its inverse); None when the pair has rows but none hold on ``on``;
        False when the pair has no rows at all."""
        for (b, q), inverse in (((frm, to), False), ((to, frm), True)):
            s = self._series.get((b, q))
            if s is None:
                continue
            f = s.at(on)
            if f is None:
                return None
            value = 1.0 / f.rate if inverse else f.rate
            return Rate(frm, to, value, on, f.date, f.source, None, f.tag, (on - f.date).days)
        return False

    def rate(self, frm: str, to: str, on: date) -> Rate:
        """The rate converting ``frm`` into ``to`` on day ``on``; CurrencyError for an unknown currency
        or a day the table does not cover (naming the pair, the day and the table's coverage)."""
        frm = self._known(frm, "from currency")
        to = self._known(to, "currency")
        if frm == to:
            return Rate(frm, to, 1.0, on, on, "same currency")
        direct = self._direct(frm, to, on)
        if isinstance(direct, Rate):
            return direct
        if direct is False:
            for pivot in sorted(self.currencies - {frm, to}):
                a = self._direct(frm, pivot, on)
                b = self._direct(pivot, to, on)
                if a is False or b is False:
                    continue
                if a is None or b is None:
                    break
                used = min(a.date, b.date)
                source = a.source if a.source == b.source else f"{a.source} | {b.source}"
                return Rate(frm, to, a.rate * b.rate, on, used, source, pivot, _weakest(a.tag, b.tag), (on - used).days)
        cov = self.coverage()
        span = f"{cov[0].isoformat()} to {cov[1].isoformat()}" if cov else "no dates"
        raise CurrencyError(f"no {frm}/{to} exchange rate for {on.isoformat()}: {self.file} covers {span}",
                            field="currency", on=on.isoformat(), covers=span)

    def convert(self, amount: float, frm: str, to: str, on: date) -> float:
        """``amount`` of ``frm`` in ``to`` at the fixing holding on ``on`` (rounded to 1/100 of a unit)."""
        return round(amount * self.rate(frm, to, on).rate, 2)


def _parse_date(value: str, file: str, row: int, column: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise DataError(file, row, column, f"'{value}' is not a date (YYYY-MM-DD)") from None


def read_rates(path: Path) -> RateTable:
    """Read and validate an exchange-rate CSV; DataError names the row and column of the first problem."""
    records = read_csv_records(path, _COLUMNS, MAX_ROWS, "rows")
    fixings: list[Fixing] = []
    seen: set[tuple[date, str, str]] = set()
    for n, rec in enumerate(records, start=2):
        on = _parse_date(rec["date"], path.name, n, "date")
        codes = []
        for col in ("base", "quote"):
            code = (rec.get(col) or "").strip().upper()
            if len(code) != 3 or not code.isalpha():
                raise DataError(path.name, n, col, f"'{rec.get(col)}' is not a 3-letter ISO 4217 code")
            codes.append(code)
        if codes[0] == codes[1]:
            raise DataError(path.name, n, "quote", "base and quote are the same currency")
        try:
            value = float(rec["rate"])
        except (TypeError, ValueError):
            raise DataError(path.name, n, "rate", f"'{rec['rate']}' is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise DataError(path.name, n, "rate", "must be a positive number")
        raw_to = (rec.get("valid_to") or "").strip()
        valid_to = _parse_date(raw_to, path.name, n, "valid_to") if raw_to else None
        if valid_to is not None and valid_to < on:
            raise DataError(path.name, n, "valid_to", f"{valid_to} is before the row's date {on}")
        source = (rec.get("source") or "").strip()
        if not source:
            raise DataError(path.name, n, "source", "every rate names its source")
        key = (on, codes[0], codes[1])
        if key in seen:
            raise DataError(path.name, n, "date", f"a second {codes[0]}/{codes[1]} rate for {on}")
        seen.add(key)
        fixings.append(Fixing(on, codes[0], codes[1], value, valid_to, (rec.get("tag") or "S").strip() or "S",
                              source, (rec.get("as_of") or "").strip()))
    return RateTable(fixings, file=path.name)


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> RateTable:
    return read_rates(Path(path))


def load_rates(data_dir: Path | str | None = None) -> RateTable:
    """The exchange-rate table of ``data_dir`` (default ``CBEC_DATA_DIR``); a data folder without
    ``exchange_rates.csv`` uses the bundled one. Cached per file and modification time."""
    folder = Path(data_dir) if data_dir is not None else get_settings().data_dir
    path = folder / RATES_FILE
    if not path.exists():
        path = BUNDLED_DATA_DIR / RATES_FILE
    path = path.resolve()
    return _cached(str(path), path.stat().st_mtime)
