"""Building blocks of the chain: random streams, monitored stations and levels.

SimPy style: a visit is a plain generator used with ``yield from station.visit(...)`` inside the
consignment's own process, so a station adds no processes of its own. Time-weighted statistics
(busy servers, queue length, level) are integrated cumulatively on every change; the model takes
snapshots at day boundaries, at the end of the warm-up and at the horizon, so window statistics
are differences of snapshots and per-day series come for free.
"""

from __future__ import annotations

import random
import zlib
from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy


class Streams:
    """Independent named random streams of one replication (common random numbers by name).

    A stream's seed depends on (root seed, replication, stream name) only, so two scenarios that
    share a stream name draw the same numbers from it whatever else differs between them.
    """

    def __init__(self, root_seed: int, replication: int) -> None:
        self.root_seed = int(root_seed)
        self.replication = int(replication)
        self._streams: dict[str, random.Random] = {}

    def get(self, name: str) -> random.Random:
        rng = self._streams.get(name)
        if rng is None:
            ss = np.random.SeedSequence(entropy=[self.root_seed, self.replication], spawn_key=(zlib.crc32(name.encode()),))
            rng = self._streams[name] = random.Random(int(ss.generate_state(2, np.uint64)[0]))
        return rng


class Station:
    """A FIFO multi-server station (docks, customs lanes, tracks, pickers, trucks) with its own statistics.

    It does not use ``simpy.Resource``: a free server is taken without an event, a busy station
    parks the customer on a plain event that the releasing customer triggers (the server passes
    straight to it). Same FIFO semantics, fewer events; the Erlang-C and Pollaczek-Khinchine tests
    check it against theory.
    """

    __slots__ = ("env", "name", "kind", "capacity", "busy", "queue", "_waiting", "_last", "area_busy",
                 "area_queue", "waits", "served", "window")

    def __init__(self, env: simpy.Environment, name: str, capacity: int, kind: str, window: tuple[float, float]) -> None:
        if capacity < 1:
            raise ValueError(f"station {name} needs at least one server")
        self.env = env
        self.name = name
        self.kind = kind
        self.capacity = int(capacity)
        self.busy = 0
        self.queue = 0
        self._waiting: deque[simpy.Event] = deque()
        self._last = 0.0
        self.area_busy = 0.0
        self.area_queue = 0.0
        self.waits: list[float] = []  # waits of customers that arrived inside the statistics window
        self.served = 0
        self.window = window

    def _tick(self) -> None:
        now = self.env._now
        dt = now - self._last
        if dt:
            self.area_busy += self.busy * dt
            self.area_queue += self.queue * dt
            self._last = now

    def snapshot(self) -> tuple[float, float]:
        """Cumulative (busy-area, queue-area) up to now, without changing state."""
        dt = self.env._now - self._last
        return self.area_busy + self.busy * dt, self.area_queue + self.queue * dt

    def acquire(self) -> Generator[simpy.Event, Any, float]:
        """Queue for a server and keep it until :meth:`release`; returns the wait."""
        env = self.env
        arrived = env._now
        self._tick()
        if self.busy < self.capacity:
            self.busy += 1
            wait = 0.0
        else:
            ev = simpy.Event(env)
            self._waiting.append(ev)
            self.queue += 1
            yield ev  # the releasing customer hands its server over
            wait = env._now - arrived
        if self.window[0] <= arrived < self.window[1]:
            self.waits.append(wait)
        return wait

    def release(self) -> None:
        self._tick()
        self.served += 1
        if self._waiting:
            self.queue -= 1
            self._waiting.popleft().succeed()
        else:
            self.busy -= 1

    def visit(self, service_time: float) -> Generator[simpy.Event, Any, float]:
        """Queue for a server, hold it for ``service_time``, release it; returns the wait."""
        wait = yield from self.acquire()
        yield self.env.timeout(service_time)
        self.release()
        return wait


class Level:
    """A time-weighted level (work in progress, warehouse occupancy) with its peak inside the window."""

    __slots__ = ("env", "name", "value", "_last", "area", "peak", "window")

    def __init__(self, env: simpy.Environment, name: str, window: tuple[float, float]) -> None:
        self.env = env
        self.name = name
        self.value = 0.0
        self._last = 0.0
        self.area = 0.0
        self.peak = 0.0
        self.window = window

    def add(self, delta: float) -> None:
        now = self.env._now
        self.area += self.value * (now - self._last)
        self._last = now
        self.value += delta
        if self.value > self.peak and self.window[0] <= now < self.window[1]:
            self.peak = self.value

    def snapshot(self) -> float:
        return self.area + self.value * (self.env._now - self._last)

    def start_window(self) -> None:
        """At the end of the warm-up the peak restarts from the current level."""
        self.peak = self.value
