"""Where the public benchmark instances (../shared/bench) are: beside the checkout, or named by
``CBEC_SHARED_BENCH``, or the workplace's /work/shared/bench (CI clones the repo elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path


def shared_bench(name: str) -> Path:
    """The directory ``<bench>/<name>`` (e.g. "solomon"); the first candidate that exists, else the first."""
    candidates = []
    if os.environ.get("CBEC_SHARED_BENCH"):
        candidates.append(Path(os.environ["CBEC_SHARED_BENCH"]))
    candidates += [Path(__file__).resolve().parents[2] / "shared" / "bench", Path("/work/shared/bench")]
    for c in candidates:
        if (c / name).is_dir():
            return c / name
    return candidates[0] / name
