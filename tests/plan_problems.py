"""Small synthetic planning problems shared by the LNS and bound tests."""

from __future__ import annotations

import random

from optimizer.planning.problem import BoxType, Choice, PlanProblem, Pool, Resource

B40 = BoxType("40HQ", 5150.0, 26000.0, 66.0, 2)
B20 = BoxType("20GP", 3550.0, 21000.0, 28.0, 1)


def weekly_problem(rng: random.Random, items: int, departures: int = 4, teu: int = 6) -> PlanProblem:
    """A service with ``departures`` weekly departures (TEU rows, one pool each); each item may take
    its ready week's or the next two departures consolidated (later ones cost lateness), own LCL on
    its ready week, or air."""
    resources = [Resource(f"D{d}|teu", float(teu)) for d in range(departures)]
    pools = [Pool(f"D{d}#general", d, (B40, B20)) for d in range(departures)]
    choices = []
    for _ in range(items):
        kg, m3 = rng.uniform(300, 6000), rng.uniform(1, 30)
        week = rng.randrange(departures)
        row = []
        for k, d in enumerate(range(week, min(departures, week + 3))):
            row.append(Choice(rng.uniform(80, 200) + 150 * k, (), ((d, kg, m3),)))
        share = 2 * max(kg / 26000, m3 / 66)
        row.append(Choice(rng.uniform(1500, 4000), ((week, share),)))
        row.append(Choice(rng.uniform(6000, 12000)))
        choices.append(row)
    return PlanProblem(resources, pools, choices, [40_000.0] * items)
