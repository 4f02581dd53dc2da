"""Reader for the OR-Library capacitated warehouse location format (Beasley 1988).

Format (whitespace separated, line breaks carry no meaning)::

    m n
    capacity_1 fixed_cost_1        (m lines; in capa/capb/capc the capacity is the word ``capacity``)
    ...
    demand_1  c_11 c_21 ... c_m1   (n blocks: demand, then the cost of serving ALL of this
    ...                             customer's demand from each of the m warehouses)

The optima published in OR-Library's ``capopt`` assume split (continuous) allocation.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from optimizer.errors import DataError, InvalidInput
from optimizer.quotes.limits import shown
from optimizer.warehouses.facility import FacilityProblem
from optimizer.warehouses.limits import (
    CAPACITY,
    MAX_ORLIB_CELLS,
    MAX_ORLIB_CHARS,
    MAX_ORLIB_CUSTOMERS,
    MAX_ORLIB_SITES,
)


def read_orlib_cap(path: str | Path, capacity: float | None = None) -> FacilityProblem:
    """Read an OR-Library ``cap*.txt`` file into a :class:`FacilityProblem`.

    ``capacity`` is required for files whose capacity field is the word ``capacity`` (capa, capb,
    capc) and, when given for other files, overrides every warehouse's capacity.
    Raises DataError naming the file and the record that cannot be read.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            text = fh.read(MAX_ORLIB_CHARS + 1)  # never more than one character past the limit
    except FileNotFoundError:
        raise
    except UnicodeDecodeError:
        raise DataError(path.name, None, None, "not a text file (UTF-8)") from None
    except OSError as exc:
        raise DataError(path.name, None, None, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    return parse_orlib_cap(text, path.name, capacity)


def parse_orlib_cap(text: str, name: str, capacity: float | None = None) -> FacilityProblem:
    """:func:`read_orlib_cap` on the text of a file called ``name``.

    Bounded before anything is allocated: at most ``MAX_ORLIB_CHARS`` characters, ``MAX_ORLIB_SITES``
    sites, ``MAX_ORLIB_CUSTOMERS`` customers, ``MAX_ORLIB_CELLS`` pairs, and a header that the number
    of values in the text can satisfy.
    """
    if len(text) > MAX_ORLIB_CHARS:
        raise DataError(name, None, None, f"longer than {MAX_ORLIB_CHARS:,} characters ({len(text):,})")
    tokens = text.split()
    pos = 0

    def take(what: str) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise DataError(name, None, what, "unexpected end of file")
        pos += 1
        return tokens[pos - 1]

    def number(what: str, row: int | str | None) -> float:
        tok = take(what)
        try:
            value = float(tok)
        except ValueError:
            raise DataError(name, row, what, f"expected a number, got '{shown(tok)}'") from None
        if not np.isfinite(value) or value < 0:
            raise DataError(name, row, what, f"must be a non-negative finite number (got {shown(tok)})")
        return value

    m_tok, n_tok = take("m"), take("n")
    if not (re.fullmatch(r"\d+", m_tok) and re.fullmatch(r"\d+", n_tok)) or int(m_tok) < 1 or int(n_tok) < 1:
        raise DataError(name, "header", "m n", f"expected two positive integers, got '{shown(m_tok)} {shown(n_tok)}'")
    m, n = int(m_tok), int(n_tok)
    if m > MAX_ORLIB_SITES or n > MAX_ORLIB_CUSTOMERS or m * n > MAX_ORLIB_CELLS:
        raise DataError(name, "header", "m n", f"{m} warehouses x {n} customers is larger than this service solves "
                        f"(at most {MAX_ORLIB_SITES} x {MAX_ORLIB_CUSTOMERS}, {MAX_ORLIB_CELLS:,} pairs)")
    need = 2 + 2 * m + n * (1 + m)
    if len(tokens) < need:
        raise DataError(name, None, None, f"unexpected end of file: the header declares {m} warehouses and {n} customers "
                        f"({need:,} values) but the file has {len(tokens):,}")
    if capacity is not None and (not np.isfinite(capacity) or capacity <= 0):
        raise InvalidInput(f"capacity must be a positive number (got {capacity:.6g})", field="capacity")
    if capacity is not None:
        CAPACITY.check(capacity, "capacity")
    caps = np.empty(m)
    fixed = np.empty(m)
    for i in range(m):
        row = f"warehouse {i + 1}"
        tok = tokens[pos] if pos < len(tokens) else ""
        if tok.lower() == "capacity":
            pos += 1
            if capacity is None:
                raise InvalidInput(
                    f"{name}: the capacity of {row} is the word 'capacity'; give one with --capacity "
                    "(capopt lists capa at 8000, 10000, 12000, 14000)", field="capacity")
            caps[i] = capacity
        else:
            caps[i] = number("capacity", row)
            if capacity is not None:
                caps[i] = capacity
        fixed[i] = number("fixed_cost", row)
    demand = np.empty(n)
    cost = np.empty((m, n))
    for j in range(n):
        row = f"customer {j + 1}"
        demand[j] = number("demand", row)
        for i in range(m):
            cost[i, j] = number(f"cost to warehouse {i + 1}", row)
    if pos != len(tokens):
        raise DataError(name, None, None, f"{len(tokens) - pos} unexpected values after the last customer")
    return FacilityProblem(
        name=Path(name).stem if capacity is None else f"{Path(name).stem}@{capacity:g}",
        sites=tuple(f"W{i + 1}" for i in range(m)),
        customers=tuple(f"C{j + 1}" for j in range(n)),
        capacity=caps,
        fixed_cost=fixed,
        demand=demand,
        cost=cost,
    )


def read_capopt(path: str | Path) -> dict[str, float]:
    """Optimal values from OR-Library's ``capopt``: {"cap41": 1040444.375, "capa@8000": 19240822.449, ...}."""
    out: dict[str, float] = {}
    current = ""
    for line in Path(path).read_text().splitlines():
        m = re.match(r"^\s*(cap\w*)?\s+([\d.]+)\s*(?:\(capacity\s+(\d+)\))?\s*$", line)
        if not m:
            continue
        if m.group(1):
            current = m.group(1)
        if not current:
            continue
        key = f"{current}@{m.group(3)}" if m.group(3) else current
        out[key] = float(m.group(2))
    return out
