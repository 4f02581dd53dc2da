"""Quote latency and speed-up against brute-force enumeration.

Runs 1,000 varied quotes in-process (origins, destinations, sizes, classes, customs modes, ready
times; a third with space already held on departures, 9610 parcel consignments that choose among the
parcel products, declared goods values for the door-to-door taxes; cargo up to 60 t, so that some
legs are split over departures), reports median and p99 latency; then on a subset runs the brute-force baseline (every simple
route of at most 6 legs with every departure within 14 days of the earliest, then the Pareto filter)
on the same queries, checks that both Pareto sets are identical, and reports the speed-up of the
medians. Last line: one JSON object.

    .venv/bin/python bench/quote_bench.py [--queries 1000] [--brute 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.bruteforce import brute_force_vectors  # noqa: E402
from optimizer.errors import CbecError  # noqa: E402
from optimizer.network.model import HeldSpace, NodeKind  # noqa: E402
from optimizer.network import load_network  # noqa: E402
from optimizer.quotes.quote import build_request, quote, search  # noqa: E402


def make_queries(net, n: int, seed: int):
    rng = random.Random(seed)
    origins = ["MY_CITY", "MY_HTZ", "MY_ETDZ", "MY_CBZ"]
    markets = [x.id for x in net.nodes.values() if x.country != "CN" and x.kind in (NodeKind.MARKET, NodeKind.AIRPORT, NodeKind.SEAPORT)]
    warehouses = [w.id for w in net.warehouses()]
    classes = ["general"] * 6 + ["lithium_batteries", "temperature_controlled", "dangerous_goods"]
    limited = sorted((s for s in net.services.values() if not s.schedule.continuous and s.capacity.kg), key=lambda s: s.id)
    out = []
    while len(out) < n:
        to_wh = rng.random() < 0.3
        dest = rng.choice(warehouses if to_wh else markets)
        weight = round(min(60_000.0, rng.lognormvariate(6.5, 1.6)), 1)
        volume = round(max(0.05, weight / rng.uniform(120, 450)), 2)
        mode = "9810" if to_wh else rng.choice(["9710", "9710", "1210", "9610"])
        pieces = max(1, int(weight / rng.uniform(0.5, 20)) + 1) if mode == "9610" else rng.randint(1, 60)
        ready = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 28 * 1440))
        try:
            req = build_request(net, rng.choice(origins), dest, weight, volume, ready, pieces=pieces,
                                cargo_class=rng.choice(classes), customs_mode=mode,
                                goods_value=round(weight * rng.uniform(5, 60), 2) if rng.random() < 0.5 else None)
        except CbecError:
            continue
        if rng.random() < 0.33:  # space already held on some departures of capacity-limited services
            held = []
            for s in rng.sample(limited, 12):
                for d in range(0, 35, rng.choice((1, 2, 3))):
                    cap = s.capacity.kg or 0.0
                    held.append(HeldSpace(s.id, (ready + timedelta(days=d)).date(), cap * rng.uniform(0.3, 1.0)))
            req = dataclasses.replace(req, held=tuple(held))
        out.append(req)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--brute", type=int, default=60, help="queries also run by brute force")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    net = load_network()
    queries = make_queries(net, args.queries, args.seed)
    for req in queries[:20]:  # warm caches (departure tables, imports)
        try:
            quote(net, req)
        except CbecError:
            pass
    lat, no_route, n_opts, splits = [], 0, [], 0
    for req in queries:
        t0 = time.perf_counter()
        try:
            opts = quote(net, req)
        except CbecError:
            no_route += 1
            opts = []
        lat.append((time.perf_counter() - t0) * 1000)
        if opts:
            n_opts.append(len(opts))
            splits += sum(1 for o in opts for leg in o.legs if leg.parts > 1)
    lat.sort()
    parcels = sum(1 for r in queries if r.cargo.customs_mode.value == "9610")
    print(f"queries: {sum(1 for r in queries if r.held)} with held space, {parcels} parcel consignments (9610), "
          f"{sum(1 for r in queries if r.goods_value is not None)} with a declared value; network {len(net.services)} services "
          f"({sum(1 for s in net.services.values() if s.door)} parcel-product lanes)")
    print(f"{len(queries)} quotes: median {statistics.median(lat):.2f} ms, p99 {lat[int(0.99 * len(lat)) - 1]:.2f} ms, "
          f"no route {no_route}, options per quote mean {statistics.mean(n_opts):.2f} max {max(n_opts)}")

    fast_t, brute_t, mismatches = [], [], 0
    step = max(1, len(queries) // args.brute)
    subset = queries[::step][: args.brute]
    for req in subset:
        t0 = time.perf_counter()
        _, labels = search(net, req)
        fast_t.append(time.perf_counter() - t0)
        got = sorted((lab.time, lab.cost, lab.co2) for lab in labels)
        t0 = time.perf_counter()
        want = brute_force_vectors(net, req, max_legs=6, window_days=14)
        brute_t.append(time.perf_counter() - t0)
        same = len(got) == len(want) and all(
            g[0] == w[0] and abs(g[1] - w[1]) < 1e-6 and abs(g[2] - w[2]) < 1e-6 for g, w in zip(got, want))
        mismatches += not same
    speedup = statistics.median(brute_t) / statistics.median(fast_t)
    print(f"brute force on {len(subset)} queries: median {statistics.median(brute_t) * 1000:.1f} ms vs label search "
          f"{statistics.median(fast_t) * 1000:.2f} ms -> {speedup:.0f}x; identical Pareto sets: {len(subset) - mismatches}/{len(subset)}")
    print(json.dumps({
        "queries": len(queries),
        "median_ms": round(statistics.median(lat), 3),
        "p99_ms": round(lat[int(0.99 * len(lat)) - 1], 3),
        "no_route": no_route,
        "options_mean": round(statistics.mean(n_opts), 2),
        "brute_force_queries": len(subset),
        "brute_force_median_ms": round(statistics.median(brute_t) * 1000, 2),
        "label_search_median_ms": round(statistics.median(fast_t) * 1000, 3),
        "speedup_vs_brute_force": round(speedup, 1),
        "identical_pareto_sets": len(subset) - mismatches,
        "queries_with_held_space": sum(1 for r in queries if r.held),
        "parcel_queries": parcels,
        "split_legs": splits,
        "load_avg_1m": float(Path("/proc/loadavg").read_text().split()[0]) if Path("/proc/loadavg").exists() else None,
    }))


if __name__ == "__main__":
    main()
