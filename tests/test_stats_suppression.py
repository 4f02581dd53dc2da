"""Disclosure control of zone-wide cubes (trade.suppression): every cell with fewer than three
enterprises is withheld, and no withheld cell can be recovered from the published totals minus the
shown cells — checked by an attacker that solves the whole linear system, not by the rule itself."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from trade.suppression import TOTAL, suppress


def _cube(records: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """Every cell and margin (pandas, independently of DuckDB): value sum and distinct enterprises."""
    parts = []
    for keep in itertools.product([True, False], repeat=len(dims)):
        by = [d for d, k in zip(dims, keep) if k]
        if by:
            g = records.groupby(by).agg(value=("value", "sum"), enterprises=("enterprise", "nunique")).reset_index()
        else:
            g = pd.DataFrame({"value": [records["value"].sum()], "enterprises": [records["enterprise"].nunique()]})
        for d, k in zip(dims, keep):
            if not k:
                g[d] = TOTAL
        parts.append(g[dims + ["value", "enterprises"]])
    return pd.concat(parts, ignore_index=True)


def _records(seed: int, shape=(5, 4, 3), n=60, enterprises=12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dims = ["a", "b", "c"][: len(shape)]
    data = {d: [f"{d}{v}" for v in rng.integers(0, k, n)] for d, k in zip(dims, shape)}
    # a few big enterprises everywhere and many small ones in few cells: some cells have 1-2 enterprises
    data["enterprise"] = [f"E{int(x)}" for x in np.minimum(rng.zipf(1.6, n), enterprises)]
    data["value"] = rng.integers(1, 1000, n).astype(float)
    return pd.DataFrame(data)


def _recoverable(cube: pd.DataFrame, dims: list[str], withheld: pd.Series) -> list[int]:
    """The attacker: every published relation "a line's cells add up to its total" with the shown values
    known; a withheld cell is recovered when its unit vector lies in the row space of the system over the
    withheld cells (rank test)."""
    unknown = [i for i in cube.index if withheld[i]]
    col = {i: j for j, i in enumerate(unknown)}
    keyed = {tuple(cube.loc[i, dims]): i for i in cube.index}
    rows = []
    for axis, d in enumerate(dims):
        others = [x for x in dims if x != d]
        for _, line in cube.groupby(others):
            total = line[line[d] == TOTAL]
            members = line[line[d] != TOTAL]
            if total.empty:
                continue
            r = np.zeros(len(unknown))
            for i in members.index:
                if i in col:
                    r[col[i]] += 1
            t = total.index[0]
            if t in col:
                r[col[t]] -= 1
            if r.any():
                rows.append(r)
    if not unknown:
        return []
    a = np.array(rows) if rows else np.zeros((0, len(unknown)))
    # e_j lies in the row space of a iff the orthogonal projection onto it, pinv(a) @ a, keeps e_j: P[j, j] = 1
    projection = np.linalg.pinv(a) @ a if len(rows) else np.zeros((len(unknown), len(unknown)))
    out = [i for j, i in enumerate(unknown) if abs(projection[j, j] - 1.0) < 1e-8]
    assert keyed  # the cube is indexed by its keys
    return out


@pytest.mark.parametrize("seed", range(12))
def test_no_withheld_cell_is_recoverable(seed):
    dims = ["a", "b", "c"]
    cube = _cube(_records(seed), dims)
    result = suppress(cube, dims, cost="value")
    status = result.status
    few = (cube["enterprises"] > 0) & (cube["enterprises"] < 3)
    assert few.any(), "the data must have sensitive cells, or the test proves nothing"
    assert (status[few] == "primary").all()
    assert (status[~few] != "primary").all()
    withheld = status != "shown"
    assert _recoverable(cube, dims, withheld) == []
    # and the naive attack, line by line, gets nothing either: no line has exactly one withheld cell
    for d in dims:
        others = [x for x in dims if x != d]
        for _, line in cube.assign(w=withheld).groupby(others):
            assert line["w"].sum() != 1
    assert result.audited


def test_without_secondary_suppression_the_attacker_would_win():
    """The attacker of the test above finds a cell when only the primary cells are withheld (it can fail)."""
    dims = ["a", "b", "c"]
    for seed in range(12):
        cube = _cube(_records(seed), dims)
        primary = (cube["enterprises"] > 0) & (cube["enterprises"] < 3)
        if _recoverable(cube, dims, primary):
            return
    pytest.fail("primary suppression alone never exposed a cell: the attacker is too weak to test anything")


def test_two_rings_joined_by_one_cell_get_one_more_complement():
    """Rows r1..r4 x columns c1..c4: two 2x2 rings of withheld cells joined by one cell satisfy the line
    rule, yet that cell is determined; the audit finds it and adds a complement."""
    rows, cols = [f"r{i}" for i in range(1, 6)], [f"c{i}" for i in range(1, 6)]
    sensitive = {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"), ("r3", "c3"), ("r3", "c4"), ("r4", "c3"),
                 ("r4", "c4"), ("r2", "c3")}
    recs = []
    for r in rows:
        for c in cols:
            n = 1 if (r, c) in sensitive else 5
            recs += [{"a": r, "b": c, "enterprise": f"E{(hash((r, c)) % 50)}_{k}", "value": 10.0 + k} for k in range(n)]
    cube = _cube(pd.DataFrame(recs), ["a", "b"])
    result = suppress(cube, ["a", "b"], cost="value")
    assert result.primary == 9
    assert _recoverable(cube, ["a", "b"], result.status != "shown") == []


def test_a_lone_cell_in_its_line_takes_the_total_with_it():
    recs = [{"a": "x", "b": "p", "enterprise": "E1", "value": 5.0}]
    recs += [{"a": "y", "b": b, "enterprise": f"E{k}{b}", "value": 3.0} for b in ("p", "q") for k in range(4)]
    cube = _cube(pd.DataFrame(recs), ["a", "b"])
    result = suppress(cube, ["a", "b"], cost="value")
    status = dict(zip(zip(cube["a"], cube["b"]), result.status))
    assert status[("x", "p")] == "primary"
    assert status[("x", TOTAL)] != "shown"  # row x has one cell: its total would give it away
    assert _recoverable(cube, ["a", "b"], result.status != "shown") == []
    assert "fewer than 3 enterprises" in result.note
