"""Candidate generation on two cores: half of the lanes in a worker process, half here.

Generating candidates is pure Python (route searches per lane, pricing and re-timing per
shipment): 13-17 s for 10,000 shipments on one core, while the planner's other core waits. The
work splits cleanly by *lane* (origin, destination, cargo class, customs mode, size bucket, see
:meth:`CandidateGenerator.lane`): a lane's route search is shared by its shipments only, so two
halves of the lanes need no shared state. A worker process (``python -m
optimizer.planning.candidates_parallel``: the network, settings, generator changes and its shipments
pickled on stdin) generates one half while this process generates the other; its candidates come
back as plain tuples on stdout and its capacity registry (resources and pools) is merged into the
generator here. The result is the same as :meth:`CandidateGenerator.candidates` one by one
(tested); if the worker cannot run or fails, its half is generated here.

With ``time_budget_s`` both processes stop at the same deadline (checked before every shipment;
the worker gets it as wall-clock time): every shipment not reached by then gets
:meth:`ShipmentCandidates.timed_out` (no candidates, reason "time limit reached before candidates
were generated"). Each process takes its shipments in input order. A worker that has not answered
``WORKER_GRACE_S`` after the deadline is killed and its half counted as not reached.

    cands = generate_candidates(gen, shipments)   # one ShipmentCandidates per shipment, in order
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from optimizer.planning.candidates import (
    Candidate,
    CandidateGenerator,
    PlanSettings,
    ShipmentCandidates,
)
from optimizer.planning.child import child_env
from optimizer.planning.shipments import Shipment

__all__ = ["generate_candidates", "split_lanes"]

_FIELDS = Candidate.__slots__  # Candidate <-> tuple, in field order (a tuple pickles 2x faster than a frozen dataclass)
_USE, _POOLS = _FIELDS.index("use"), _FIELDS.index("pools")
assert _POOLS == _USE + 1
WORKER_GRACE_S = 3.0  # after the deadline: the worker's last shipment, pickling and transfer of its half


def split_lanes(gen: CandidateGenerator, shipments: Sequence[Shipment], parts: int) -> list[list[int]]:
    """Shipment indices in ``parts`` groups of whole lanes, balanced by shipment count (largest lanes first)."""
    lanes: dict[tuple, list[int]] = {}
    for i, s in enumerate(shipments):
        lanes.setdefault(gen.lane(s), []).append(i)
    groups: list[list[int]] = [[] for _ in range(parts)]
    for members in sorted(lanes.values(), key=len, reverse=True):
        min(groups, key=len).extend(members)
    return [sorted(g) for g in groups]


def generate_candidates(
    gen: CandidateGenerator,
    shipments: Sequence[Shipment],
    *,
    workers: int = 2,
    min_shipments: int = 1500,
    progress: Callable[[int], None] | None = None,
    time_budget_s: float | None = None,
) -> list[ShipmentCandidates]:
    """Candidates of every shipment (in order), half of the lanes in a worker process.

    Below ``min_shipments`` (a worker's start-up and the transfer cost ~1 s) or with ``workers``
    < 2 everything runs here. ``progress(k)`` is called as shipments of this process's half are done.
    ``time_budget_s`` (None: none): shipments not reached within it are returned timed out.
    """
    deadline = None if time_budget_s is None else time.monotonic() + max(0.0, time_budget_s)
    wall_deadline = None if time_budget_s is None else time.time() + max(0.0, time_budget_s)
    if workers < 2 or len(shipments) < min_shipments:
        return [_one(gen, s, k, progress, deadline) for k, s in enumerate(shipments)]
    out: list[ShipmentCandidates | None] = [None] * len(shipments)
    mine, theirs = split_lanes(gen, shipments, 2)
    worker = _Worker.start(gen, [shipments[i] for i in theirs], wall_deadline)
    for k, i in enumerate(mine):
        out[i] = _one(gen, shipments[i], 2 * k, progress, deadline)
    wait = None if deadline is None else max(0.0, deadline - time.monotonic()) + WORKER_GRACE_S
    result = worker.result(wait) if worker is not None else None
    if result is None:  # no worker, or it failed: its half here (within the deadline)
        for i in theirs:
            out[i] = _one(gen, shipments[i], 0, None, deadline)
    else:
        rows, resources, pools = result
        for key, info in resources.items():
            gen.resources.setdefault(key, info)
        for key, info in pools.items():
            gen.pools.setdefault(key, info)
        for i, (cands, reason, code) in zip(theirs, rows, strict=True):
            out[i] = ShipmentCandidates(shipments[i], [_candidate(gen, t) for t in cands], reason, code)
    return out  # type: ignore[return-value]


def _one(gen: CandidateGenerator, s: Shipment, k: int, progress: Callable[[int], None] | None,
         deadline: float | None = None) -> ShipmentCandidates:
    if deadline is not None and time.monotonic() >= deadline:
        return ShipmentCandidates.timed_out(s)
    if progress is not None and k % 250 == 0:
        progress(k)
    return gen.candidates(s)


def _candidate(gen: CandidateGenerator, t: tuple) -> Candidate:
    # the worker's key strings replaced by this generator's (one object per resource/pool key)
    res, pools = gen.resources, gen.pools
    use = tuple((res[k].key, a) for k, a in t[_USE])
    pooled = tuple((pools[k].key, kg, m3) for k, kg, m3 in t[_POOLS])
    return Candidate(*t[:_USE], use, pooled, *t[_POOLS + 1:])


class _Worker:
    """The worker process and a thread collecting its (pickled) output while this process works."""

    def __init__(self, proc: subprocess.Popen, payload: bytes) -> None:
        self.proc = proc
        self.data = b""
        self.thread = threading.Thread(target=self._io, args=(payload,), name="candidates-worker", daemon=True)
        self.thread.start()

    @classmethod
    def start(cls, gen: CandidateGenerator, shipments: list[Shipment], deadline: float | None = None) -> _Worker | None:
        state = {"net": gen.net, "settings": gen.settings, "cancelled": gen.cancelled, "delays": gen.delays,
                 "capacity": gen.capacity_override, "keep": gen.keep, "inbound": gen.inbound, "shipments": shipments, "deadline": deadline}
        try:
            payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
            env = child_env()
            proc = subprocess.Popen([sys.executable, "-m", "optimizer.planning.candidates_parallel"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            return None
        return cls(proc, payload)

    def _io(self, payload: bytes) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(payload)
            self.proc.stdin.close()
            self.data = self.proc.stdout.read()
        except OSError:
            self.data = b""

    def result(self, timeout: float | None = None) -> tuple[list, dict, dict] | None:
        """The worker's (rows, resources, pools), or None if it failed or did not answer within ``timeout`` s (killed)."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.proc.kill()
            self.proc.wait()
            self.thread.join()
            return None
        if self.proc.wait() != 0 or not self.data:
            return None
        try:
            return pickle.loads(self.data)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None


def _worker_main() -> None:
    state = pickle.load(sys.stdin.buffer)
    settings: PlanSettings = state["settings"]
    gen = CandidateGenerator(state["net"], settings, cancelled=state["cancelled"], delays_min=state["delays"],
                             capacity=state["capacity"], keep=state["keep"], inbound=state.get("inbound"))
    deadline = state.get("deadline")
    rows = []
    for s in state["shipments"]:
        sc = ShipmentCandidates.timed_out(s) if deadline is not None and time.time() >= deadline else gen.candidates(s)
        rows.append(([tuple(getattr(c, f) for f in _FIELDS) for c in sc.candidates], sc.reason, sc.code))
    sys.stdout.buffer.write(pickle.dumps((rows, gen.resources, gen.pools), protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _worker_main()
