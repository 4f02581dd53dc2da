"""How fast this machine runs Python today, for the few tests that bound an answer's time.

The shared CI machines' speed varies several-fold between days (the same pure-Python loop took 0.5 s of CPU
on one and 1.6 s on another). A bound written for the reference machine is scaled by
:func:`slowness` (never below 1), so the test still fails when an answer is slow *relative to the machine*
(a request that hangs, a quadratic blow-up) and not because the whole machine is slower today.
"""

from __future__ import annotations

import time

REFERENCE_LOOP_S = 0.05
"""CPU seconds of :func:`_loop` (1 M additions) on the machine the bounds were written on."""


def _loop() -> float:
    c0, total = time.process_time(), 0
    for i in range(1_000_000):
        total += i
    return time.process_time() - c0


def slowness() -> float:
    """This machine's CPU time for the reference loop over the reference machine's (best of 3, measured now:
    the speed changes within a run), at least 1."""
    return max(1.0, min(_loop() for _ in range(3)) / REFERENCE_LOOP_S)


def scaled(bound_s: float) -> float:
    """``bound_s`` (seconds on the reference machine) on this machine, now (call it when the answer is in)."""
    return bound_s * slowness()
