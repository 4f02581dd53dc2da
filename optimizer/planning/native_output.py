"""Keep native solver chatter off standard output.

HiGHS (inside OR-Tools) prints a few diagnostic lines with C ``printf`` during some sub-MIP
heuristics, whatever its own output option says. Where standard output carries data (``cbec plan
--json``, a benchmark's JSON line), the solve runs inside :func:`native_stdout_to_stderr`, which
points file descriptor 1 at standard error for its duration.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["native_stdout_to_stderr"]


@contextmanager
def native_stdout_to_stderr() -> Iterator[None]:
    """Redirect file descriptor 1 to descriptor 2 inside the block (Python and native writes alike)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured or replaced stdout: nothing native to catch
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno(), fd)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)
