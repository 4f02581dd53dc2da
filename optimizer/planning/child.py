"""Environment for the planner's helper processes (``python -m optimizer.planning...``).

A child must import this very copy of the package, installed or in a source tree, even when the
parent was started from elsewhere (a script that put the tree on ``sys.path``, say).
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path


def child_env() -> dict[str, str]:
    """``os.environ`` with the folder holding the ``optimizer`` package first on ``PYTHONPATH``."""
    spec = find_spec("optimizer")
    locations = list(spec.submodule_search_locations or []) if spec else []
    root = str(Path(locations[0]).parent) if locations else ""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH", "")]))}
