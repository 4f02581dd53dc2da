"""Verification against queueing theory: the chain's own Station in M/M/c and M/D/1 set-ups.

The oracles are closed forms: Erlang C for the mean wait in queue of M/M/c, and
Pollaczek-Khinchine for M/G/1 (here M/D/1). Each replication uses its own named streams, warm-up
is removed by arrival time, and the mean over replications gets a Student-t 95 % CI
(:func:`simulation.kpis.t_interval`). The tests check that the theory value lies inside the CI.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from simulation.kpis import t_interval
from simulation.stations import Station, Streams


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue Wq of M/M/c (Erlang C); requires lam < c*mu."""
    a = lam / mu
    rho = a / c
    if rho >= 1:
        raise ValueError("unstable queue: lam >= c*mu")
    s = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (s + top)
    return p_wait / (c * mu - lam)


def pollaczek_khinchine_wait(lam: float, mean_s: float, var_s: float) -> float:
    """Mean wait in queue of M/G/1: lam * E[S^2] / (2 (1 - rho))."""
    rho = lam * mean_s
    if rho >= 1:
        raise ValueError("unstable queue: rho >= 1")
    return lam * (var_s + mean_s**2) / (2 * (1 - rho))


def station_wait(lam: float, mu: float, c: int, horizon: float, warmup: float, seed: int, replication: int,
                 deterministic: bool = False) -> dict[str, float]:
    """One replication of a Poisson source feeding a :class:`Station`; mean wait, utilisation, Lq (window stats)."""
    env = simpy.Environment()
    st = Station(env, "verify", c, "verify", (warmup, horizon))
    streams = Streams(seed, replication)
    arr, svc = streams.get("arrivals"), streams.get("service")

    def customer() -> Generator[simpy.Event, Any, None]:
        yield from st.visit(1.0 / mu if deterministic else svc.expovariate(mu))

    def source() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(arr.expovariate(lam))
            env.process(customer())

    snaps: dict[str, tuple[float, float]] = {}

    def snap(at: float, key: str) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(at)
        snaps[key] = st.snapshot()

    env.process(source())
    env.process(snap(warmup, "w"))
    env.process(snap(horizon, "h"))
    env.run(until=horizon + 1e-9)
    span = horizon - warmup
    return {"wq": sum(st.waits) / len(st.waits), "util": (snaps["h"][0] - snaps["w"][0]) / span / c,
            "lq": (snaps["h"][1] - snaps["w"][1]) / span, "n": float(len(st.waits)), "events": float(next(env._eid))}


def check_station(lam: float, mu: float, c: int, *, horizon: float, warmup: float, replications: int, seed: int = 7,
                  deterministic: bool = False) -> dict[str, Any]:
    """Replications of :func:`station_wait` with the theory value and the 95 % CI of the mean wait."""
    reps = [station_wait(lam, mu, c, horizon, warmup, seed, i, deterministic) for i in range(replications)]
    theory = (pollaczek_khinchine_wait(lam, 1.0 / mu, 0.0) if deterministic else erlang_c_wait(lam, mu, c))
    ci = t_interval([r["wq"] for r in reps])
    return {"theory": theory, "wq": ci, "util": t_interval([r["util"] for r in reps]),
            "lq": t_interval([r["lq"] for r in reps]), "lambda_wq": lam * ci["mean"],
            "inside": ci["ci95"][0] <= theory <= ci["ci95"][1]}
