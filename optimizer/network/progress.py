"""The one progress-callback type of long work (plans, designs, simulations, pickups, jobs)."""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[float, str], None]
"""``progress(fraction, message)``: fraction in [0, 1]; the CLI draws a bar, a job stores it."""


def no_progress(fraction: float, message: str = "") -> None:
    """A :data:`ProgressFn` that reports nowhere."""
