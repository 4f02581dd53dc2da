"""Disclosure control of the office's totals between cities (issue 19, item 4; sharing.disclosure): no shown
figure has fewer than three organisations on its smaller side, and no hidden flow can be worked out from the
shown ones — checked here independently of the implementation: the figures recounted from the pairs, and
recoverability tested by solving for a change of the hidden figures that keeps every shown figure."""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np
import pytest

from sharing.disclosure import MIN_ORGS, Cell, protect


def table(pairs):
    """pairs: (booker, booker city, operator, operator city, currency, total) -> flows."""
    flows: dict = {}
    for b, bc, o, oc, cur, total in pairs:
        c = flows.setdefault((bc, oc, cur), Cell())
        c.bookers.add(b)
        c.operators.add(o)
        c.figures["total"] += total
    return flows


def recoverable(prot, key) -> bool:
    """Whether the hidden ``key`` is fixed by the shown figures: is there a change of the hidden figures, zero on
    every line's balance, that moves ``key``? (least squares on [lines; e_key] d = [0; 1])."""
    hidden = sorted(prot.hidden, key=str)
    idx = {k: i for i, k in enumerate(hidden)}
    eqs = []
    groups = defaultdict(list)
    for k in prot.cells:
        level, b, o, cur = k
        if level == "flow":
            groups[("booker", b, None, cur)].append(k)
            groups[("operator", None, o, cur)].append(k)
        else:
            if level != "all":
                groups[("all", None, None, cur, level)].append(k)
    for total, members in groups.items():
        total = total[:4]
        row = np.zeros(len(hidden))
        for k, s in [(total, 1.0)] + [(m, -1.0) for m in members]:
            if k in idx:
                row[idx[k]] += s
        eqs.append(row)
    e = np.zeros(len(hidden))
    e[idx[key]] = 1.0
    a = np.vstack(eqs + [e])
    rhs = np.zeros(len(eqs) + 1)
    rhs[-1] = 1.0
    d, *_ = np.linalg.lstsq(a, rhs, rcond=None)
    return not np.allclose(a @ d, rhs, atol=1e-8)


def check(pairs):
    prot = protect(table(pairs))
    recount = defaultdict(lambda: [set(), set(), 0.0])
    for b, bc, o, oc, cur, total in pairs:
        for k in (("flow", bc, oc, cur), ("booker", bc, None, cur), ("operator", None, oc, cur), ("all", None, None, cur)):
            recount[k][0].add(b)
            recount[k][1].add(o)
            recount[k][2] += total
    assert set(recount) == set(prot.cells)
    for k, (bs, os_, total) in recount.items():
        if min(len(bs), len(os_)) < MIN_ORGS:
            assert prot.hidden.get(k) == "primary", k
        if k not in prot.hidden:
            assert prot.cells[k].figures["total"] == pytest.approx(total)
    for k in prot.hidden:
        assert not recoverable(prot, k), (k, prot.hidden)
    return prot


def test_a_small_flow_and_the_figure_that_would_reveal_it_are_hidden():
    big = [(f"b{i}", "Mianyang", f"o{i}", "Chengdu", "USD", 100.0 + i) for i in range(4)]
    small = [("b9", "Mianyang", "o9", "Deyang", "USD", 40.0)]
    prot = check(big + small)
    assert prot.hidden[("flow", "Mianyang", "Deyang", "USD")] == "primary"
    # Mianyang's row total is shown (5 bookers, 5 operators): with Chengdu shown it would give Deyang away
    assert ("booker", "Mianyang", None, "USD") not in prot.hidden
    assert prot.hidden[("flow", "Mianyang", "Chengdu", "USD")] == "secondary"


def test_a_table_with_no_small_flow_is_shown_whole():
    """Every flow with three bookers and three operators of its own: nothing hidden, every total shown."""
    pairs = [(f"b-{bc}-{oc}-{k}", bc, f"o-{bc}-{oc}-{k}", oc, "USD", 10.0 + k)
             for bc in ("Mianyang", "Chengdu") for oc in ("Chengdu", "Deyang") for k in range(3)]
    prot = check(pairs)
    assert not prot.hidden and len(prot.cells) == 4 + 2 + 2 + 1


@pytest.mark.parametrize("seed", range(25))
def test_random_tables_never_disclose(seed):
    rnd = random.Random(seed)
    cities = ["Mianyang", "Chengdu", "Deyang", "Leshan"]
    pairs = [(f"b{rnd.randrange(12)}", rnd.choice(cities), f"o{rnd.randrange(8)}", rnd.choice(cities),
              rnd.choice(["USD", "USD", "EUR"]), round(rnd.uniform(1, 500), 2)) for _ in range(rnd.randrange(3, 40))]
    check(pairs)
