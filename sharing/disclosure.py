"""Disclosure control of the office's totals between cities (the statistics office's rule): a figure is
shown only when at least ``MIN_ORGS`` distinct organisations stand on each side of it (bookers and
operators: the smaller side counts), so no total identifies a company.

*Primary* suppression hides every flow (and margin) with fewer organisations on its smaller side.
*Secondary* suppression then hides more figures so that no hidden one can be worked out from those shown:
each line of the table (a city's row or column and its total, the totals per city and the grand total) is
an equation ``total = sum of members``; a line with exactly one hidden figure would give it away, so the
smallest shown figure of that line is hidden too, until no line has exactly one. Finally an exact audit
checks, by linear algebra over every line at once, that no hidden figure is determined by the shown ones
(rank of the hidden unknowns' equations with and without that figure), hiding more where one is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

MIN_ORGS = 3
RULE = (f"a figure is shown only when at least {MIN_ORGS} distinct organisations stand on its smaller side "
        "(bookers or operators); figures that would let a hidden one be worked out from the shown totals are "
        "hidden too (secondary suppression)")

Key = tuple[str, str | None, str | None, str]  # (level, booker_city | None, operator_city | None, currency)


@dataclass
class Cell:
    """A flow or a margin: its organisations on each side and its figures."""

    bookers: set[str] = field(default_factory=set)
    operators: set[str] = field(default_factory=set)
    figures: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, other: Cell) -> None:
        self.bookers |= other.bookers
        self.operators |= other.operators
        for k, v in other.figures.items():
            self.figures[k] += v

    @property
    def smaller_side(self) -> int:
        return min(len(self.bookers), len(self.operators))


@dataclass(frozen=True)
class Protected:
    """Every flow and margin with why it is hidden (None: shown; ``primary`` / ``secondary``)."""

    cells: dict[Key, Cell]
    hidden: dict[Key, str]


def _lines(keys: set[Key]) -> list[tuple[Key, list[Key]]]:
    """(total, members) of every equation the table holds."""
    rows, cols, by_row, by_col = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for k in keys:
        level, b, o, cur = k
        if level == "flow":
            rows[("booker", b, None, cur)].append(k)
            cols[("operator", None, o, cur)].append(k)
        elif level == "booker":
            by_row[("all", None, None, cur)].append(k)
        elif level == "operator":
            by_col[("all", None, None, cur)].append(k)
    return [(t, sorted(m, key=str)) for group in (rows, cols, by_row, by_col) for t, m in sorted(group.items(), key=str)]


def _determined(keys: list[Key], lines: list[tuple[Key, list[Key]]], hidden: set[Key]) -> Key | None:
    """A hidden figure the shown ones determine exactly, or None."""
    unknown = sorted(hidden, key=str)
    if not unknown:
        return None
    col = {k: i for i, k in enumerate(unknown)}
    a = np.zeros((len(lines), len(unknown)))
    for r, (total, members) in enumerate(lines):
        for k, sign in [(total, 1.0)] + [(m, -1.0) for m in members]:
            if k in col:
                a[r, col[k]] += sign
    rank = np.linalg.matrix_rank(a) if a.size else 0
    for k in unknown:
        e = np.zeros((1, len(unknown)))
        e[0, col[k]] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            return k
    return None


def protect(flows: Mapping[tuple[str, str, str], Cell], *, value: str = "total") -> Protected:
    """Flows (booker city, operator city, currency) -> Cell, with their margins, and what to hide (see the
    module doc; ``value``: the figure whose smallest shown cell is hidden first)."""
    cells: dict[Key, Cell] = {}
    for (b, o, cur), c in flows.items():
        cells[("flow", b, o, cur)] = c
        for k in (("booker", b, None, cur), ("operator", None, o, cur), ("all", None, None, cur)):
            cells.setdefault(k, Cell()).add(c)
    hidden: dict[Key, str] = {k: "primary" for k, c in cells.items() if c.smaller_side < MIN_ORGS}
    lines = _lines(set(cells))

    def hide_smallest(total: Key, members: list[Key]) -> bool:
        shown = [m for m in members if m not in hidden] or ([total] if total not in hidden else [])
        if not shown:
            return False
        pick = min(shown, key=lambda m: (abs(cells[m].figures.get(value, 0.0)), str(m)))
        hidden[pick] = "secondary"
        return True

    while True:
        changed = True
        while changed:
            changed = False
            for total, members in lines:
                if sum(k in hidden for k in [total, *members]) == 1 and hide_smallest(total, members):
                    changed = True
        leak = _determined(sorted(cells, key=str), lines, set(hidden))
        if leak is None:
            return Protected(cells, hidden)
        line = next((t, m) for t, m in lines if leak == t or leak in m)
        if not hide_smallest(*line):  # every figure of its line is hidden already: hide anything still shown
            rest = [k for k in cells if k not in hidden]
            if not rest:
                return Protected(cells, hidden)
            hidden[min(rest, key=str)] = "secondary"
