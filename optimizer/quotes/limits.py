"""Bounds on every input that drives work: one definition for the engine, the HTTP schemas and the CLI.

A :class:`Range` is a closed or half-open interval of finite numbers. ``Range.check`` raises
InvalidInput naming the field and the interval (never echoing more than a short number), and
``Range.schema()`` gives the same bounds as pydantic ``Field`` keywords, so the OpenAPI states
exactly what the engine enforces. ``check_id`` does the same for node-like ids.

Cargo limits (one consignment, not a fleet):

* ``weight_kg`` in [0.01, 1 100 000]: one full block train, 41 x 40HQ at the 26 t practical loading
  limit = 1 066 t (``services.yaml`` capacity ``train``), rounded up. A heavier consignment is several
  bookings (a batch plan), not one quote.
* ``volume_m3`` in [0.00001, 5 000]: the same train holds 2 706 m³; light cargo on a feeder sailing
  allocation goes to 4 200 m³. 5 000 m³ covers both with room, and keeps the container mix small.
* ``pieces`` in [1, 1 000 000]: 1 100 t of 1.1 kg parcels (9610); only the parcel rule reads it.
* ``ready`` between 2024-01-01 and 2030-12-31 (the date as written, local at the origin). The
  schedules are those of the bundled data (as of 2026); departure tables are filled day by day from
  the first date asked for, so a ready date decades away would make one request fill decades of
  timetable (13 s and 19 MB for 2100 measured). The window keeps that first fill under a second.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from optimizer.errors import InvalidInput

ID_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
ID_PATTERN = r"^[A-Za-z0-9_]{1,64}$"  # node, warehouse and depot ids (case-insensitive, normalised to upper case)
ID_MAX = 64
# free text (names, notes): no C0/C1 control characters, no bidirectional marks or overrides
# (U+200E/F, U+202A-E, U+2066-9), which could disguise what a record says
TEXT_PATTERN = r"^[^\x00-\x1F\x7F-\x9F\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"


def _num(x: float) -> str:
    """A bound or a value for a message: 1,100,000 / 0.95 / 1e+308 (never long)."""
    if isinstance(x, int) or (math.isfinite(x) and x == int(x) and abs(x) < 1e15):
        return f"{int(x):,}"
    return f"{x:.6g}"


@dataclass(frozen=True)
class Range:
    """Finite numbers in [lo, hi], with ``lo``/``hi`` excluded when ``lo_open``/``hi_open``."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    unit: str = ""

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` ("must be at most 1,100,000 kg"), or None when it is inside."""
        kind = "an integer" if self.integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be {kind}"
        if not math.isfinite(value):
            return "must be a finite number"
        if self.integer and value != int(value):
            return "must be an integer"
        unit = f" {self.unit}" if self.unit else ""
        if value < self.lo or (self.lo_open and value == self.lo):
            if self.lo == 0 and self.lo_open or self.lo == 1 and self.integer and not self.lo_open or value <= 0 < self.lo:
                return f"must be a positive {'integer' if self.integer else 'number'}"
            return f"must be {'greater than' if self.lo_open else 'at least'} {_num(self.lo)}{unit}"
        if value > self.hi or (self.hi_open and value == self.hi):
            return f"must be {'less than' if self.hi_open else 'at most'} {_num(self.hi)}{unit}"
        return None

    def contains(self, value: object) -> bool:
        return self.problem(value) is None

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return (f"{kind} in {'(' if self.lo_open else '['}{_num(self.lo)}, {_num(self.hi)}"
                f"{')' if self.hi_open else ']'}{unit}")

    def check(self, value: Any, field: str, label: str | None = None) -> Any:
        """``value`` unchanged when inside the range; else InvalidInput naming ``label`` (default ``field``)."""
        what = self.problem(value)
        if what is not None:
            shown = _num(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__
            raise InvalidInput(f"{label or field} {what} (got {shown})", field=field)
        return value

    def schema(self) -> dict[str, float]:
        """The bounds as pydantic ``Field`` keywords (gt/ge, lt/le)."""
        lo = int(self.lo) if self.integer else self.lo
        hi = int(self.hi) if self.integer else self.hi
        return {("gt" if self.lo_open else "ge"): lo, ("lt" if self.hi_open else "le"): hi}


def shown(value: object, limit: int = 40) -> str:
    """``value`` as it may appear in an error: at most ``limit`` characters, control characters escaped."""
    text = value if isinstance(value, str) else str(value)
    cut = text[:limit]
    cut = cut if cut.isprintable() else ascii(cut)[1:-1]
    return cut if len(text) <= limit else f"{cut}… ({len(text)} characters)"


def check_id(value: object, field: str, label: str | None = None) -> str:
    """A node-like id stripped and upper-cased; InvalidInput (not an echo of the input) when malformed."""
    text = value.strip() if isinstance(value, str) else ""
    if not ID_RE.fullmatch(text):
        size = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
        raise InvalidInput(f"{label or field} must be an id of 1-{ID_MAX} letters, digits or '_' (got {size})",
                           field=field)
    return text.upper()


# --- quotes -----------------------------------------------------------------------------------------
# Lower ends: a 10 g letter and a 10 cm³ (0.00001 m³) packet; below that tariffs' chargeable-weight
# rounding has nothing to price (a 5e-324 kg request failed inside the tariff).
WEIGHT_KG = Range(0.01, 1_100_000, unit="kg")
VOLUME_M3 = Range(0.00001, 5_000, unit="m³")
PIECES = Range(1, 1_000_000, integer=True)
HORIZON_DAYS = Range(1, 365, integer=True, unit="days")
# declared goods value and value of time (network currency): up to a block train of high-value electronics
GOODS_VALUE = Range(0, 1_000_000_000, unit="USD")
VALUE_OF_TIME = Range(0, 10_000_000, unit="USD/day")
HS_CODE_PATTERN = r"^[0-9]{2,10}$"
HS_CODE_RE = re.compile(r"[0-9]{2,10}")


def check_hs_code(value: object, field: str = "hs_code") -> str:
    """An HS code of 2-10 digits (dots and spaces removed); InvalidInput otherwise."""
    text = value.replace(".", "").replace(" ", "") if isinstance(value, str) else ""
    if not HS_CODE_RE.fullmatch(text):
        raise InvalidInput(f"{field} must be 2-10 digits, e.g. 8471 or 6402.99 (got {shown(value, 20)})", field=field)
    return text
READY_MIN = date(2024, 1, 1)
READY_MAX = date(2030, 12, 31)
_YEARS = "|".join(str(y) for y in range(READY_MIN.year, READY_MAX.year + 1))
_LEAP = "|".join(str(y) for y in range(READY_MIN.year, READY_MAX.year + 1) if y % 4 == 0 and (y % 100 or y % 400 == 0))
# the accepted text, calendar-exact: a date, or a date-time (ISO 8601 / RFC 3339; seconds and offset optional)
READY_PATTERN = (rf"^(?:(?:{_YEARS})-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
                 rf"|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:{_LEAP})-02-29)"
                 r"(?:[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::(?:[0-5][0-9]|60)(?:\.[0-9]{1,9})?)?"
                 r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?)?$")
READY_MAX_LENGTH = 35
READY_RULE = (f"a date YYYY-MM-DD (09:00 local time at the origin) or an ISO 8601 date-time "
              f"YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM], from {READY_MIN} to {READY_MAX}")
READY_RE = re.compile(READY_PATTERN)
