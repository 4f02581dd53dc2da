"""A stronger bound for large plans: HiGHS's root cut loop in a separate process.

Above the branch-and-bound size limit the planner proves its gap against the LP relaxation. The
root node's cutting planes lift that bound (+0.2 % at 10,000 shipments: MIR and knapsack cuts on
the box rows), but at that size HiGHS checks its time limit only between cut rounds and can run
minutes past it. So the root runs in a child process while the parent improves the plan: the
child streams HiGHS's best bound from its log as it rises, and the parent reads the latest value
and stops the child when it is done (or when the bound has not moved for ``stall_s``). The child
first solves the LP once and adds the most violated residual-capacity cuts of the consolidation
pools (optimizer.planning.cuts), so that HiGHS's root starts from a stronger relaxation (unless
``pool_cuts=False``: on mid-sized problems they held HiGHS's own cuts back).

    bound = RootBound.start(problem, 110.0)  # child: build the MIP, root node only, no heuristics
    ...                                   # the parent works on the plan meanwhile
    best = bound.stop()                   # best proven bound seen, or -inf

Run as ``python -m optimizer.planning.bound LIMIT_S [--no-pool-cuts]`` it is the child: a pickled
PlanProblem on stdin, ``BOUND <value>`` lines on stdout.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from optimizer.planning.child import child_env
from optimizer.planning.cuts import add_pool_cuts, pool_cuts
from optimizer.planning.model import build_model, solve_relaxation
from optimizer.planning.problem import PlanProblem

__all__ = ["RootBound", "parse_bound", "stall_limit"]

# a HiGHS MIP progress line: [source letter] nodes queue leaves explored% best_bound best_sol gap% ...
_LINE = re.compile(r"^\s*[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(-?\d[\d.]*(?:[eE][+-]?\d+)?|-?inf)\s+")


def parse_bound(line: str) -> float | None:
    """The best-bound column of a HiGHS MIP progress line, or None for any other line."""
    m = _LINE.match(line)
    if m is None:
        return None
    value = float(m.group(1))
    return value if math.isfinite(value) else None


def stall_limit(rises: int, round_s: float, stall_s: float) -> float | None:
    """Seconds without a rise of the bound after which the child is stopped; None: not yet.

    The cut loop at 10,000 shipments goes quiet for a minute after its productive rounds (HiGHS
    waits for its analytic centre): the core goes back to the plan search once the bound has not
    risen for three times its last round (``round_s``: rounds take 3-5 s there), at most
    ``stall_s``. Never before the first cut round (the third rise, after presolve's and the root
    LP's): on a loaded machine the root LP alone took over 12 s, and stopping there lost the cuts.
    """
    if rises < 3:
        return None
    return min(stall_s, max(4.0, 3.0 * round_s))


@dataclass
class RootBound:
    """A child process running HiGHS's root node on a plan problem, and the best bound it reported."""

    process: subprocess.Popen
    stall_s: float = 20.0
    best: float = -math.inf
    _last: float = field(default_factory=time.perf_counter)
    _gap: float = 0.0  # time between the last two rises of the bound (one cut round)
    _rises: int = 0
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, problem: PlanProblem, time_limit_s: float, *, stall_s: float = 20.0, pool_cuts: bool = True) -> RootBound:
        """Start the child on ``problem`` (pickled to its stdin) and a thread reading its bounds.

        The child ends itself ``time_limit_s`` after it starts even if nobody stops it. With
        ``pool_cuts`` it adds a round of residual-capacity cuts (optimizer.planning.cuts) to the model
        before HiGHS's root; see :func:`_child` for when they help.
        """
        env = child_env()  # the child imports this copy of the package
        args = [sys.executable, "-m", "optimizer.planning.bound", f"{time_limit_s:.1f}"] + ([] if pool_cuts else ["--no-pool-cuts"])
        proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        rb = cls(proc, stall_s)
        rb._reader = threading.Thread(target=rb._read, args=(pickle.dumps(problem, protocol=pickle.HIGHEST_PROTOCOL),),
                                      name="root-bound", daemon=True)
        rb._reader.start()
        return rb

    def _read(self, payload: bytes) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(payload)
            self.process.stdin.close()
        except OSError:  # the child died before reading: no bound
            return
        watchdog = threading.Thread(target=self._watch, name="root-bound-watchdog", daemon=True)
        watchdog.start()
        for raw in self.process.stdout:
            parts = raw.split()
            if len(parts) == 2 and parts[0] == b"BOUND":
                value = float(parts[1])
                if value > self.best + 1e-9:
                    now = time.perf_counter()
                    if self._rises:
                        self._gap = now - self._last
                    self.best, self._last, self._rises = value, now, self._rises + 1

    def _watch(self) -> None:
        while self.process.poll() is None:
            time.sleep(0.5)
            limit = stall_limit(self._rises, self._gap, self.stall_s)
            if limit is not None and time.perf_counter() - self._last > limit:
                self.process.kill()
                return

    def stop(self) -> float:
        """Stop the child (if still running) and return the best bound it reported (-inf if none)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        return self.best


def _child() -> None:
    from datetime import timedelta

    from ortools.math_opt.python import mathopt
    from ortools.math_opt.solvers import highs_pb2

    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 600.0
    with_cuts = "--no-pool-cuts" not in sys.argv[2:]
    # HiGHS may overrun its own limit at the root: the process ends itself regardless
    killer = threading.Timer(limit + 2.0, os._exit, args=(0,))
    killer.daemon = True
    killer.start()
    problem: PlanProblem = pickle.load(sys.stdin.buffer)
    built = build_model(problem)
    started = time.perf_counter()
    # one round of pool cuts on the LP first: HiGHS's root then starts from a stronger relaxation
    # and its own cuts reach further (10,000 shipments: 19.769 M after its fifth round, against
    # 19.762 M without; a second round added 1,000 more for another LP solve). Not on every
    # problem: at 1,000 shipments HiGHS's root ends at 2.0885 M with them and 2.1001 M without
    # (its cuts jump by 0.5 % in their fourth round there, which the added rows prevent).
    if with_cuts:
        lp = solve_relaxation(built, max(1.0, 0.3 * limit))
        if lp.termination.reason == mathopt.TerminationReason.OPTIMAL:
            vals = lp.variable_values()
            add_pool_cuts(built, pool_cuts(problem, [[vals[v] for v in row] for row in built.x],
                                           [[vals[v] for v in row] for row in built.n]))
        limit = max(1.0, limit - (time.perf_counter() - started))

    def on_log(lines: list[str]) -> None:
        for line in lines:
            value = parse_bound(line)
            if value is not None:
                sys.stdout.write(f"BOUND {value!r}\n")
                sys.stdout.flush()

    params = mathopt.SolveParameters(node_limit=1, time_limit=timedelta(seconds=limit),
                                     highs=highs_pb2.HighsOptionsProto(double_options={
                                         "mip_heuristic_effort": 0.0,
                                         # a progress line after every cut round, not every 5 s: the
                                         # bound of the last round before HiGHS waits for its
                                         # analytic centre (tens of seconds) reaches the parent
                                         "mip_min_logging_interval": 0.0}))
    result = mathopt.solve(built.model, mathopt.SolverType.HIGHS, params=params, msg_cb=on_log)
    dual = result.termination.objective_bounds.dual_bound
    if math.isfinite(dual):
        sys.stdout.write(f"BOUND {dual!r}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _child()
