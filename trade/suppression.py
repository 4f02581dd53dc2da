"""Statistical disclosure control of published zone-wide cubes: primary and secondary cell suppression.

A statistics office publishes a cube *with its margins* (every total along every dimension and their
combinations, :data:`TOTAL` in a dimension column). A cell is **sensitive** when fewer than
:data:`MIN_ENTERPRISES` enterprises contribute to it (the threshold rule statistics offices use): its
figures are withheld (*primary* suppression). Withholding it is not enough when a published total
minus the other shown cells of the same line gives it back, so **complementary** cells are withheld
too (*secondary* suppression):

1. *line rule* — along every dimension, every line (the cells that differ only in that dimension,
   with their total) holds either no withheld cell or at least two. A line with exactly one gets a
   complement: its shown non-empty cell of least value (least information lost); its total when it
   has no such cell (the total then propagates to the lines of the next margin up);
2. *audit* — the line rule is not sufficient in general (two rings of withheld cells joined by one
   cell leave that cell determined). The withheld cells are the unknowns of the linear system of all
   published additive relations (each line: sum of its cells = its total); a withheld cell can be
   recovered exactly iff its unit vector lies in the row space of that system, i.e. its row of the
   null-space basis is zero. Each connected group of withheld cells is checked with one SVD; a
   recoverable cell gets one more complement and the line rule runs again, until nothing is
   recoverable.

Empty cells (no enterprise) are published as empty: they reveal nothing and are never used as
complements. What is *not* claimed: bounds an attacker gets from non-negativity (an interval, not a
value), and distinct counts (orders, enterprises), which do not add up along lines anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_ENTERPRISES = 3
"""A published cell needs at least this many contributing enterprises."""
TOTAL = "_total"
"""The member of a dimension that stands for its total (the margin)."""
_AUDIT_MAX_UNKNOWNS = 4000  # one group's SVD beyond this would take too long: its cells get the line rule only


@dataclass(frozen=True, slots=True)
class Suppression:
    """Which cells of a cube are withheld and why.

    ``status`` has one entry per row of the cube given to :func:`suppress`: ``shown``, ``primary``
    (fewer than ``threshold`` enterprises) or ``secondary`` (withheld so that no primary cell can be
    recovered from totals minus shown cells)."""

    status: pd.Series
    threshold: int
    rounds: int  # line-rule / audit rounds until nothing was recoverable
    audited: bool  # every group of withheld cells passed the exact audit (False: a group was too large)

    @property
    def primary(self) -> int:
        return int((self.status == "primary").sum())

    @property
    def secondary(self) -> int:
        return int((self.status == "secondary").sum())

    @property
    def note(self) -> str:
        """The sentence a published table carries."""
        return (f"Cells with fewer than {self.threshold} enterprises are suppressed ({self.primary} cells), and "
                f"{self.secondary} further cells are suppressed so that no suppressed cell can be derived from the "
                "published totals; suppressed figures are shown as empty with status 'primary' or 'secondary'.")


def suppress(cube: pd.DataFrame, dims: list[str], *, enterprises: str = "enterprises", cost: str | None = None,
             threshold: int = MIN_ENTERPRISES) -> Suppression:
    """Primary and secondary suppression of ``cube``: one row per cell *and margin* (``TOTAL`` in the
    dimensions rolled up, as :func:`trade.cube.compute_cube` gives with ``margins=True``).

    ``enterprises`` names the column of distinct contributing enterprises; ``cost`` the column whose
    smallest values are preferred as complements (default: the enterprise count)."""
    if cube.empty:
        return Suppression(pd.Series([], dtype=object, index=cube.index), threshold, 0, True)
    grid = _Grid(cube, dims)
    ent = grid.dense(cube[enterprises].fillna(0).to_numpy(dtype=float), 0.0)
    weight = grid.dense(cube[cost or enterprises].fillna(0).to_numpy(dtype=float), 0.0)
    present = ent > 0
    primary = present & (ent < threshold)
    withheld = primary.copy()
    rounds, audited = 0, True
    while True:
        rounds += 1
        _line_rule(withheld, present, weight)
        exposed, complete = _audit(withheld, present)
        audited = audited and complete
        if not exposed:
            break
        if not any([_complement(cell, withheld, present, weight) for cell in exposed]):
            audited = False  # nothing left to withhold beside them (cannot happen with published totals)
            break
    status = np.where(primary, "primary", np.where(withheld, "secondary", "shown"))
    return Suppression(pd.Series(status[grid.index], index=cube.index, dtype=object), threshold, rounds, audited)


class _Grid:
    """The cube as a dense array: dimension d has its members at 0..n_d-1 and its total at n_d."""

    def __init__(self, cube: pd.DataFrame, dims: list[str]) -> None:
        codes, shape = [], []
        for d in dims:
            values = cube[d].astype(str)
            members = sorted(set(values) - {TOTAL})
            lookup = {m: i for i, m in enumerate(members)}
            lookup[TOTAL] = len(members)
            codes.append(values.map(lookup).to_numpy(dtype=np.int64))
            shape.append(len(members) + 1)
        self.shape = tuple(shape)
        self.index = tuple(codes)

    def dense(self, values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full(self.shape, fill)
        out[self.index] = values
        return out


def _line_rule(withheld: np.ndarray, present: np.ndarray, weight: np.ndarray) -> None:
    """Until stable: every line along every axis with exactly one withheld cell gets a complement."""
    changed = True
    while changed:
        changed = False
        for axis in range(withheld.ndim):
            n = withheld.shape[axis]
            w_lines = np.moveaxis(withheld, axis, -1).reshape(-1, n)  # one row per line, its total last
            lone = w_lines.sum(axis=1) == 1
            if not lone.any():
                continue
            candidates = np.moveaxis(present, axis, -1).reshape(-1, n) & ~w_lines
            cost = np.where(candidates, np.moveaxis(weight, axis, -1).reshape(-1, n), np.inf)
            cost[:, -1] = np.where(candidates[:, -1], np.finfo(float).max, np.inf)  # the total only when nothing else
            rows = np.nonzero(lone & np.isfinite(cost.min(axis=1)))[0]
            if rows.size == 0:
                continue
            w_lines = w_lines.copy()
            w_lines[rows, cost[rows].argmin(axis=1)] = True
            moved = np.moveaxis(withheld, axis, -1)
            moved[...] = w_lines.reshape(moved.shape)  # a view: writes through to ``withheld``
            changed = True


def _lines_of(cell: tuple[int, ...], shape: tuple[int, ...]) -> list[tuple[int, tuple]]:
    """The lines through ``cell``: (axis, index of the line with ``slice`` at ``axis``)."""
    out = []
    for axis in range(len(shape)):
        idx = list(cell)
        idx[axis] = slice(None)
        out.append((axis, tuple(idx)))
    return out


def _audit(withheld: np.ndarray, present: np.ndarray) -> tuple[list[tuple[int, ...]], bool]:
    """Withheld cells that the published lines determine exactly, and whether every group was audited."""
    cells = [tuple(int(x) for x in c) for c in zip(*np.nonzero(withheld))]
    if not cells:
        return [], True
    number = {c: i for i, c in enumerate(cells)}
    # every line holding a withheld cell is one equation over the withheld cells it holds
    equations: dict[tuple, list[tuple[int, float]]] = {}
    for c in cells:
        for axis, line in _lines_of(c, withheld.shape):
            key = (axis, tuple(-1 if isinstance(x, slice) else x for x in line))
            if key in equations:
                continue
            members = np.nonzero(withheld[line])[0]
            unknowns = []
            for m in members:
                cc = list(c)
                cc[axis] = int(m)
                # sum of the line's members - its total = 0: the total's coefficient is -1
                unknowns.append((number[tuple(cc)], -1.0 if m == withheld.shape[axis] - 1 else 1.0))
            equations[key] = unknowns
    # connected groups of withheld cells (sharing an equation)
    parent = list(range(len(cells)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for unknowns in equations.values():
        for u, _ in unknowns[1:]:
            a, b = find(unknowns[0][0]), find(u)
            if a != b:
                parent[a] = b
    groups: dict[int, list[int]] = {}
    for i in range(len(cells)):
        groups.setdefault(find(i), []).append(i)
    eq_by_group: dict[int, list[list[tuple[int, float]]]] = {}
    for unknowns in equations.values():
        eq_by_group.setdefault(find(unknowns[0][0]), []).append(unknowns)
    exposed, complete = [], True
    for root, members in groups.items():
        if len(members) > _AUDIT_MAX_UNKNOWNS:
            complete = False
            continue
        col = {u: j for j, u in enumerate(members)}
        rows = eq_by_group.get(root, [])
        a = np.zeros((len(rows), len(members)))
        for r, unknowns in enumerate(rows):
            for u, coef in unknowns:
                a[r, col[u]] = coef
        for j in np.nonzero(determined(a))[0]:
            exposed.append(cells[members[j]])
    return exposed, complete


def determined(a: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """For the linear system ``a @ x = b`` (b known), which unknowns x_j it fixes exactly: those whose
    row of the null-space basis of ``a`` is zero."""
    n = a.shape[1]
    if a.shape[0] == 0:
        return np.zeros(n, dtype=bool)
    _, s, vt = np.linalg.svd(a)
    rank = int((s > tol * max(a.shape) * (s[0] if s.size else 1)).sum())
    null = vt[rank:].T  # n x (n - rank)
    if null.shape[1] == 0:
        return np.ones(n, dtype=bool)
    return np.abs(null).max(axis=1) < 1e-7


def _complement(cell: tuple[int, ...], withheld: np.ndarray, present: np.ndarray, weight: np.ndarray) -> bool:
    """One more withheld cell near an exposed one: the shown non-empty cell of least weight (interior cells
    before totals) on a line through it; when all of those are withheld already, on a line through the
    withheld cells reached from it (breadth first), so that its group gains a degree of freedom."""
    seen, frontier = {cell}, [cell]
    while frontier:
        best: tuple[float, tuple[int, ...]] | None = None
        following: list[tuple[int, ...]] = []
        for c in frontier:
            for axis, line in _lines_of(c, withheld.shape):
                for m in np.nonzero(present[line])[0]:
                    cc = list(c)
                    cc[axis] = int(m)
                    other = tuple(cc)
                    if withheld[other]:
                        if other not in seen:
                            seen.add(other)
                            following.append(other)
                        continue
                    w = float(weight[other]) + (1e300 if m == withheld.shape[axis] - 1 else 0.0)
                    if best is None or w < best[0]:
                        best = (w, other)
        if best is not None:
            withheld[best[1]] = True
            return True
        frontier = following
    return False
