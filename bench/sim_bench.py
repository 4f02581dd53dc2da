"""Benchmark of the simulation: event rate against bare SimPy, a simulated year, parallel speed-up.

    .venv/bin/python bench/sim_bench.py [--repeats 3] [--replications 8]

Measures, in one run and on this machine:
- events/s of the chain model (one simulated year of the baseline scenario, SimPy events counted
  from the environment's event id counter; route quotes already cached) and, interleaved with it,
  of a bare SimPy M/M/3 model (simpy.Resource, rho = 0.8), counted the same way;
- wall time of one simulated year per replication (a full task: scenario, network, model, KPIs),
  with a cold route cache (first task in a process: ~250 quotes) and warm;
- speed-up of 8 replications on a 2-process pool against a 1-process pool (both fresh pools), as
  measured wall time and, because the machine is shared, also from CPU time (serial CPU / CPU of the
  busiest of the two workers): the speed-up two idle cores would give;
- the price of isolation (issue 15: a server never simulates in its own process): wall time of one
  short replication through :func:`simulation.runner.run_replications` in a fresh worker process
  (route quotes there too) against the same run in this process, and the caller's RSS growth
  during an isolated run of a full year (it should stay flat).
Medians over ``--repeats`` runs. The last line is one JSON object with the figures and targets
(chain >= 0.5x bare SimPy, year < 10 s, speed-up >= 1.7x on two idle cores) and the load seen.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import simpy  # noqa: E402


def bare_mmc(horizon: float = 20_000.0, lam: float = 2.4, mu: float = 1.0, c: int = 3, seed: int = 1) -> tuple[int, float]:
    """The reference bare SimPy M/M/c (simpy.Resource): (events, seconds)."""
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=c)
    ra, rs = random.Random(seed), random.Random(seed + 1)
    waits: list[float] = []

    def customer():
        t = env.now
        with res.request() as req:
            yield req
            waits.append(env.now - t)
            yield env.timeout(rs.expovariate(mu))

    def source():
        while True:
            yield env.timeout(ra.expovariate(lam))
            env.process(customer())

    env.process(source())
    t = time.perf_counter()
    env.run(until=horizon)
    return next(env._eid), time.perf_counter() - t


def chain_year(doc: dict, replication: int) -> tuple[int, float, float]:
    """(events, seconds in env.run, seconds for the whole task) of one simulated year."""
    from simulation.chain import ChainModel
    from simulation.kpis import replication_result
    from simulation.runner import scenario_network
    from simulation.scenario import parse_scenario

    t_all = time.perf_counter()
    sc = parse_scenario(doc, "baseline")
    m = ChainModel(sc, scenario_network(sc), replication)
    m.prepare()
    env = m.env
    for fi in range(len(sc.demand)):
        env.process(m.demand(fi))
    times = sorted({*(float(d * 24) for d in range(int(m.end // 24) + 1)), m.W, m.H})
    env.process(m.sampler([x for x in times if x <= m.end]))
    t = time.perf_counter()
    env.run(until=m.end)
    run_s = time.perf_counter() - t
    m.events = next(env._eid)
    replication_result(m)
    return m.events, run_s, time.perf_counter() - t_all


def _task(doc: dict, i: int, routes: list) -> tuple[int, float]:
    from simulation.runner import replicate

    c = time.process_time()
    replicate(doc, i, None, routes)
    return os.getpid(), time.process_time() - c


def pool_time(doc: dict, n: int, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the busiest worker) for ``n`` replications on a fresh pool."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["simulation.runner"])
    from simulation import route_choice
    from simulation.route_choice import route_table
    from simulation.runner import scenario_network

    route_choice._CACHE.clear()  # the parent quotes afresh for every pool, as a new `cbec simulate` would
    from simulation.scenario import parse_scenario

    t = time.perf_counter()
    c = time.process_time()
    sc = parse_scenario(doc, "baseline")
    routes = route_table(scenario_network(sc), sc)  # as simulation.runner does: quote once, ship to workers
    parent_cpu = time.process_time() - c
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        done = list(pool.map(_task, [doc] * n, range(n), [routes] * n))
    wall = time.perf_counter() - t
    per_worker: dict[int, float] = {}
    for pid, cpu in done:
        per_worker[pid] = per_worker.get(pid, 0.0) + cpu
    return wall, parent_cpu + max(per_worker.values())


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def isolation(doc: dict, repeats: int) -> dict:
    """Wall time of one short replication isolated (fresh worker process) vs in this process, and the
    caller's RSS growth over an isolated full-year replication."""
    from simulation import route_choice
    from simulation.runner import run_replications
    from simulation.scenario import parse_scenario

    short = parse_scenario({**doc, "horizon_days": 30.0, "warmup_days": 5.0, "drain_days": 20.0}, "short")
    run_replications(short, 1, isolate=True)  # start the fork server once (as a server does at its first run)
    iso, local = [], []
    for _ in range(repeats):
        route_choice._CACHE.clear()  # both quote their routes afresh
        t = time.perf_counter()
        run_replications(short, 1, isolate=True)
        iso.append(time.perf_counter() - t)
        route_choice._CACHE.clear()
        t = time.perf_counter()
        run_replications(short, 1, workers=1, isolate=False)
        local.append(time.perf_counter() - t)
    year = parse_scenario(doc, "baseline")
    before = _rss_mb()
    run_replications(year, 1, isolate=True)
    return {"isolated_s": round(statistics.median(iso), 3), "in_process_s": round(statistics.median(local), 3),
            "overhead_s": round(statistics.median(iso) - statistics.median(local), 3),
            "caller_rss_growth_mb_year_isolated": round(_rss_mb() - before, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--replications", type=int, default=8)
    args = ap.parse_args()

    from simulation.scenario import load_scenario

    sc = load_scenario("baseline")
    doc = sc.to_doc()
    load_before = os.getloadavg()

    # cold: the first year in this process quotes every route bucket
    t = time.perf_counter()
    chain_year(doc, 100)
    cold_s = time.perf_counter() - t

    chain_rates, bare_rates, run_s, task_s, chain_events, bare_events = [], [], [], [], 0, 0
    for r in range(args.repeats):
        ev, s = bare_mmc(seed=r)
        bare_rates.append(ev / s)
        bare_events = ev
        ev, rs, ts = chain_year(doc, r)
        chain_rates.append(ev / rs)
        run_s.append(rs)
        task_s.append(ts)
        chain_events = ev
        print(f"repeat {r + 1}: bare SimPy {bare_rates[-1]:,.0f} ev/s | chain {chain_rates[-1]:,.0f} ev/s, "
              f"{ev:,} events, year {ts:.2f} s (env.run {rs:.2f} s)", flush=True)

    one, two, cpu_one, cpu_two = [], [], [], []
    for r in range(max(1, args.repeats - 1)):
        w, c = pool_time(doc, args.replications, 1)
        one.append(w)
        cpu_one.append(c)
        w, c = pool_time(doc, args.replications, 2)
        two.append(w)
        cpu_two.append(c)
        print(f"pool repeat {r + 1}: {args.replications} replications on 1 worker {one[-1]:.2f} s "
              f"(CPU {cpu_one[-1]:.2f} s), on 2 workers {two[-1]:.2f} s (busiest worker CPU {cpu_two[-1]:.2f} s): "
              f"x{one[-1] / two[-1]:.2f} measured, x{cpu_one[-1] / cpu_two[-1]:.2f} by CPU time", flush=True)
    iso = isolation(doc, max(1, args.repeats))
    print(f"isolation: one short replication in a worker {iso['isolated_s']:.2f} s, in this process "
          f"{iso['in_process_s']:.2f} s; caller RSS +{iso['caller_rss_growth_mb_year_isolated']} MB over an isolated year",
          flush=True)
    load_after = os.getloadavg()

    chain = statistics.median(chain_rates)
    bare = statistics.median(bare_rates)
    year = statistics.median(task_s)
    speedup = statistics.median(one) / statistics.median(two)
    out = {
        "bench": "sim_bench",
        "chain_events_per_s": round(chain),
        "bare_simpy_mmc_events_per_s": round(bare),
        "chain_vs_bare": round(chain / bare, 3),
        "chain_events_per_year": chain_events,
        "bare_events": bare_events,
        "year_s_per_replication": round(year, 3),
        "year_s_env_run": round(statistics.median(run_s), 3),
        "year_s_cold_route_cache": round(cold_s, 3),
        "replications": args.replications,
        "pool_1_worker_s": round(statistics.median(one), 3),
        "pool_2_workers_s": round(statistics.median(two), 3),
        "speedup_2_vs_1": round(speedup, 3),
        # what two idle cores would give: serial CPU / busiest worker's CPU (contention removed, overheads kept)
        "speedup_2_vs_1_cpu_time": round(statistics.median(cpu_one) / statistics.median(cpu_two), 3),
        "isolation": iso,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "targets": {"chain_vs_bare": ">= 0.5", "year_s_per_replication": "< 10", "speedup_2_vs_1": ">= 1.7 on 2 idle cores"},
        "met": {"chain_vs_bare": chain / bare >= 0.5, "year_s_per_replication": year < 10, "speedup_2_vs_1": speedup >= 1.7},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
