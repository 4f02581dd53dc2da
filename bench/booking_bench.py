"""Shared-warehouse bookings through the API on PostgreSQL, and the recommendation's solve time.

1. Bookings: `cbec serve --no-ingest` (uvicorn, one process) on a throw-away PostgreSQL schema; clients post
   ``POST /v1/bookings`` over keep-alive HTTP/1.1 connections against one offer (every request takes that
   offer's row lock: the worst case) at 1, 16 and 64 concurrent clients, each phase on a fresh offer sized
   so that it fills up during the phase (confirmed, waitlisted and refused answers all occur). After each
   phase the bookings are recounted from the table: on no day may the confirmed + held quantity exceed the
   capacity (``overbooked_days`` must be 0), and every request must have been answered 201.
   Baseline, same run: the same use case called in-process, one client (what HTTP and auth add).
2. Recommendation: 50 exporters x the 11 overseas warehouses (one offer each), 2-4 demand lines per
   exporter (market x family of the bundled sample, scaled), solved jointly at a 95 % fill rate; the
   inbound routes (quotes) are computed once and reported apart; median of the solves. Baseline, same
   run: nearest-first booking (line after line, the nearest offer with room left); the saving is reported.

    python bench/booking_bench.py [--seconds 4] [--repeats 3]

Needs PostgreSQL at 127.0.0.1:5432 (CBEC_TEST_PG_URL). Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_bench import _free_port, _read_response, _request  # noqa: E402  (the same keep-alive HTTP helpers)

START = date.today() + timedelta(days=30)
CAPACITY = {1: 100.0, 16: 100.0, 64: 100.0}  # storage m³ per phase's offer: full on most days within a phase


def _ask(rng: random.Random, offer: str) -> dict:
    first = rng.randint(0, 20)
    return {"offer": offer, "kind": "storage", "quantity": rng.randint(1, 8),
            "start_day": str(START + timedelta(days=first)), "end_day": str(START + timedelta(days=first + rng.randint(0, 9))),
            "waitlist": rng.random() < 0.3}


async def _client(port: int, offer: str, key: str, seed: int, until: float, lat: list, answers: dict) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(_request("POST", "/v1/bookings", json.dumps(_ask(rng, offer)).encode(), {"X-API-Key": key}))
            status, body = await _read_response(reader)
            lat.append(time.perf_counter() - t0)
            answer = json.loads(body).get("status", "?") if status == 201 else f"http {status}"
            answers[answer] = answers.get(answer, 0) + 1
    finally:
        writer.close()


async def _load(port: int, offer: str, keys: list[str], clients: int, seconds: float) -> dict:
    lat: list[float] = []
    answers: dict[str, int] = {}
    until = time.perf_counter() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(port, offer, keys[i % len(keys)], i, until, lat, answers) for i in range(clients)))
    elapsed = time.perf_counter() - t0
    lat.sort()
    return {"bookings_per_s": round(len(lat) / elapsed, 1), "p50_ms": round(1000 * lat[len(lat) // 2], 2),
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2), "requests": len(lat),
            "answers": dict(sorted(answers.items()))}


def _overbooked_days(db, offer_id: str, capacity: float) -> int:
    """Days on which the confirmed + held storage of the offer exceeds its capacity, recounted from the table."""
    from sqlalchemy import select

    from sharing import tables as t
    from sharing.model import days

    per: dict[date, float] = defaultdict(float)
    with db.engine.connect() as c:
        for r in c.execute(select(t.bookings).where(t.bookings.c.offer_id == offer_id,
                                                    t.bookings.c.status.in_(("confirmed", "held")))):
            for d in days(r.start_day, r.end_day):
                per[d] += r.quantity
    return sum(1 for v in per.values() if v > capacity + 1e-9)


def _count(db, offer_id: str) -> int:
    from sqlalchemy import func, select

    from sharing import tables as t

    with db.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(t.bookings).where(t.bookings.c.offer_id == offer_id)).scalar_one())


def bookings_phase(url: str, repeats: int, seconds: float) -> dict:
    from accounts.store import create_key, create_org
    from optimizer.network import load_network
    from sharing.audit import Actor
    from sharing.bookings import request_booking
    from sharing.model import BookingRequest, OfferSpec
    from sharing.offers import create_offer
    from storage.db import open_db

    net = load_network()
    db = open_db(url, migrate=True)
    op = create_org(db, "bench operator", "warehouse_operator")[0]
    exporters = [create_org(db, f"bench exporter {i}", "forwarder")[0] for i in range(8)]
    keys = [create_key(db, e.org_id, "bench", "member")[1] for e in exporters]

    def offer(capacity: float) -> str:
        spec = OfferSpec("WH_LODZ", START, START + timedelta(days=40), capacity, 100.0, 0.5, 4.0)
        return create_offer(db, net, op.org_id, spec, Actor(op.org_id, "bench")).offer_id

    # baseline: the use case in-process, one client
    base = []
    for r in range(repeats):
        oid, rng = offer(CAPACITY[1]), random.Random(r)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 2:
            a = _ask(rng, oid)
            request_booking(db, exporters[n % len(exporters)].org_id,
                            BookingRequest(oid, "storage", float(a["quantity"]), date.fromisoformat(a["start_day"]),
                                           date.fromisoformat(a["end_day"]), waitlist=a["waitlist"]), Actor(None, "bench"))
            n += 1
        base.append(n / (time.perf_counter() - t0))

    port = _free_port()
    var = tempfile.mkdtemp(prefix="cbec-booking-bench-")
    env = {**os.environ, "CBEC_VAR_DIR": var, "CBEC_LOG_LEVEL": "warning", "CBEC_LOG_FORMAT": "text",
           "CBEC_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-ingest", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=var)
    phases: dict[str, dict] = {}
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("cbec serve did not start") from None
                time.sleep(0.3)
        for clients in (1, 16, 64):
            runs = []
            for _ in range(repeats):
                oid = offer(CAPACITY[clients])
                run = asyncio.run(_load(port, oid, keys, clients, seconds))
                run["overbooked_days"] = _overbooked_days(db, oid, CAPACITY[clients])
                run["stored"] = _count(db, oid)
                run["unanswered"] = run["requests"] - sum(v for k, v in run["answers"].items() if not k.startswith("http"))
                runs.append(run)
            runs.sort(key=lambda x: x["bookings_per_s"])
            med = runs[len(runs) // 2]
            med["overbooked_days_all_runs"] = sum(x["overbooked_days"] for x in runs)
            med["unanswered_all_runs"] = sum(x["unanswered"] for x in runs)
            phases[f"clients_{clients}"] = med
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        db.dispose()
    return {"in_process_1_client_per_s": round(statistics.median(base), 1), **phases}


def recommendation_phase(repeats: int, exporters: int = 50, share: float = 0.05) -> dict:
    from optimizer.network import load_network
    from optimizer.warehouses.booking_choice import DemandLine, OfferCapacity, recommend_offers
    from optimizer.warehouses.design import DemandRow, demand_rows

    net = load_network()
    whs = [w for w in net.warehouses() if not w.planned]
    sample = demand_rows(net)
    rng = random.Random(50)
    demand = []
    for e in range(exporters):
        for row in rng.sample(sample, rng.randint(2, 4)):
            f = rng.uniform(0.02, 0.08)
            demand.append(DemandLine(f"exp{e:02d}", DemandRow(row.market, row.family, round(row.mean_m3_day * f, 3),
                                                               round(row.sd_m3_day * f, 3), row.kg_per_m3)))
    # each operator offers a slice (``share``) of its warehouse (the rest is let outside the platform), at its
    # own prices
    offers = [OfferCapacity(f"off_{w.id}", w.id, w.capacity_m3 * share, w.inbound_m3_per_day * share,
                            w.storage_cost_m3_day * rng.uniform(0.5, 3.0), rng.uniform(1.0, 40.0)) for w in whs]
    lanes: dict = {}
    t0 = time.perf_counter()
    first = recommend_offers(net, demand, offers, lanes=lanes)
    with_lanes = time.perf_counter() - t0
    times, solver = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = recommend_offers(net, demand, offers, lanes=lanes)
        times.append(time.perf_counter() - t0)
        solver.append(res.solve_seconds)
    return {"exporters": exporters, "warehouses": len(whs), "lines": len(demand), "offer_share": share,
            "status": first.status,
            "first_run_with_quotes_s": round(with_lanes, 3), "solve_s_median": round(statistics.median(times), 3),
            "mip_s_median": round(statistics.median(solver), 3), "monthly_cost": first.total_monthly,
            "nearest_baseline_monthly_cost": first.nearest_monthly,
            "saving": None if first.saving is None else round(first.saving, 2),
            "saving_pct": None if first.saving is None or not first.nearest_monthly
            else round(100 * first.saving / first.nearest_monthly, 2),
            "offers_booked": len(first.bookings), "nearest_unplaced_lines": len(first.nearest_unplaced),
            "unserved_lines": len(first.unserved)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="per load run")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each phase (median reported)")
    args = ap.parse_args()

    from tests.support.ingest_testing import PgSchema, pg_available

    out: dict = {"bench": "booking_bench", "seconds": args.seconds, "repeats": args.repeats, "cpus": os.cpu_count(),
                 "loadavg": [round(x, 2) for x in os.getloadavg()]}
    if not pg_available():
        raise SystemExit("booking_bench needs PostgreSQL at 127.0.0.1:5432 (CBEC_TEST_PG_URL)")
    with PgSchema() as url:
        out["bookings"] = bookings_phase(url, args.repeats, args.seconds)
    out["recommendation"] = recommendation_phase(args.repeats)  # offers with room: nearest-first places every line
    out["recommendation_tight"] = recommendation_phase(args.repeats, share=0.022)  # the nearest offers fill up
    b, r = out["bookings"], out["recommendation"]
    print(f"in-process (1 client): {b['in_process_1_client_per_s']} bookings/s")
    for c in (1, 16, 64):
        p = b[f"clients_{c}"]
        print(f"HTTP {c:>2} clients: {p['bookings_per_s']:>7.1f} bookings/s  p50 {p['p50_ms']:.1f} ms  p99 "
              f"{p['p99_ms']:.1f} ms  {p['answers']}  overbooked days {p['overbooked_days_all_runs']}")
    print(f"recommendation {r['exporters']} exporters x {r['warehouses']} warehouses ({r['lines']} lines): "
          f"{r['solve_s_median']} s (first run with quotes {r['first_run_with_quotes_s']} s); saving vs nearest first "
          f"{r['saving']} ({r['saving_pct']} %)")
    t = out["recommendation_tight"]
    print(f"  tight offers ({t['offer_share']:.1%} of each warehouse): {t['solve_s_median']} s; nearest-first leaves "
          f"{t['nearest_unplaced_lines']} line(s) without room, the recommendation places all {t['lines']}")
    out["overbookings_total"] = sum(b[f"clients_{c}"]["overbooked_days_all_runs"] for c in (1, 16, 64))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
