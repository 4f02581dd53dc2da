"""What a replication of the chain records, by name: finished consignments, deliveries, sampled counters.

The model (:mod:`simulation.chain`) appends these while it runs; the KPIs (:mod:`simulation.kpis`)
read them afterwards. This module sits below both, so neither imports the other for them.
Times are simulation hours from the scenario's start.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

HIST_EDGES = np.concatenate([np.arange(0, 30, 0.5), np.arange(30, 90, 2.0), [90, 120, 180, 365, 10_000]])
"""Bin edges (days) of the lead-time histograms."""
MODES = ("rail", "air", "sea", "road")
"""Main modes of a route, in the order the histograms are reported."""


class Consignment(NamedTuple):
    """One consignment that reached its destination (end of its lead time). One per lot; cheap to append."""

    ready: float  # hour it was ready at the origin
    done: float  # hour it was available at the destination (overseas warehouse received, or market hub)
    promise_hours: float  # the route's quoted p90: on time when done - ready <= promise_hours
    flow: int  # index of its flow in ``scenario.demand``
    kg: float
    mode: str  # the route's main mode, one of MODES
    cost_per_kg: float
    co2e_per_kg: float


class Delivery(NamedTuple):
    """A market-flow consignment handed to the consignee after the last mile."""

    ready: float
    delivered: float


class Window(NamedTuple):
    """Time averages over a window [a, b) of the sampled counters."""

    wip: float  # consignments in the chain
    busy: dict[str, float]  # station name -> busy servers
    queue: dict[str, float]  # station name -> customers waiting
    occupancy: dict[str, float]  # warehouse id -> m³ stored


class Snapshots:
    """Cumulative time-weighted counters sampled at day boundaries, the end of the warm-up and the horizon.

    ``wip`` (consignment-hours), ``busy``/``queue`` per station (server-hours, customer-hours) and
    ``occupancy`` per warehouse (m³-hours), each a list aligned with ``t``: the time average over
    [a, b) is the difference of the samples at b and a divided by b - a (:meth:`window`).
    """

    __slots__ = ("t", "wip", "busy", "queue", "occupancy")

    def __init__(self) -> None:
        self.t: list[float] = []
        self.wip: list[float] = []
        self.busy: dict[str, list[float]] = {}
        self.queue: dict[str, list[float]] = {}
        self.occupancy: dict[str, list[float]] = {}

    def series(self, counters: dict[str, list[float]], name: str) -> list[float]:
        """The samples of ``name`` in ``counters`` (created at zero for the earlier samples: nothing accrued yet)."""
        s = counters.get(name)
        if s is None:
            s = counters[name] = [0.0] * (len(self.t) - 1)
        return s

    def index(self, t: float) -> int:
        """Position of the sample taken at ``t`` (the model samples at the window's ends)."""
        return int(np.searchsorted(self.t, t))

    def window(self, a: float, b: float) -> Window:
        """Time averages over [a, b)."""
        i, j = self.index(a), self.index(b)
        span = b - a

        def avg(s: list[float]) -> float:
            return (s[j] - s[i]) / span

        return Window(avg(self.wip), {k: avg(s) for k, s in self.busy.items()}, {k: avg(s) for k, s in self.queue.items()},
                      {k: avg(s) for k, s in self.occupancy.items()})
