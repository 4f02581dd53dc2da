"""Statistics of the pilot zone (issue 18): order ingest through the batch endpoint, and the month x customs
mode x country x HS chapter cube over ten million order lines, DuckDB against pandas in the same run.

1. Ingest: a real `cbec serve --no-ingest` process (uvicorn, SQLite in a fresh CBEC_VAR_DIR) and one
   keep-alive HTTP client posting ``POST /v1/records/orders:batch`` bodies of ``--batch`` generated orders
   (``trade.generator.generate``; each with its goods lines; every order new: a fresh organisation per
   run). Records/s = orders acknowledged / wall time of the posts (JSON bodies built before the clock
   starts). Once with one API process and one client, once with two processes (``--workers 2``) and two
   concurrent clients. The clients share the 2 cores with the server.
2. Cube: ``--lines`` order lines (``trade.generator.generate_lines``) loaded into the statistics' columnar
   copy (DuckDB, in memory) and its monthly rollup built (``trade.columnar.rebuild_rollup``, as a refresh
   does; its time reported apart), then the full cube ``compute_cube(period=month, customs_mode, country,
   hs_chapter)`` with every measure — orders, parcels, goods value CNY and USD, gross weight, tracked
   shipments, lead time p50/p90, on-time rate, CO2e, distinct enterprises — timed as the service runs it
   (from the rollup) and straight from the ten million lines (``rollup=False``); and pandas on the same
   lines (categorical columns, the month precomputed: pandas gets the easier job) computing the measures
   it can: orders, parcels, values, weight, distinct enterprises (``groupby(..., observed=True).agg``).
   The three results are compared cell by cell before any time is reported.

    python bench/stats_bench.py [--lines 10000000] [--repeats 3] [--orders 20000] [--batch 2000]

Prints one JSON object as its last line (medians of ``--repeats`` runs).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics as st
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from http_bench import _free_port  # noqa: E402

CUBE_DIMS = ("period", "customs_mode", "country", "hs_chapter")


# --- 1. ingest through the batch endpoint --------------------------------------------------------------
def _serve(env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-ingest", "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("cbec serve did not start")
        time.sleep(0.3)


def _post_all(port: int, key: str, bodies: list[bytes], clients: int) -> tuple[int, float]:
    """Post every body with ``clients`` concurrent keep-alive clients; orders created and seconds."""
    from concurrent.futures import ThreadPoolExecutor

    def one(part: list[bytes]) -> int:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300,
                          headers={"X-API-Key": key, "content-type": "application/json"}) as client:
            client.get("/v1/stats/catalog")  # connected, and the key verified and cached (untimed below)
            barrier.wait()
            created = 0
            for body in part:
                r = client.post("/v1/records/orders:batch", content=body)
                r.raise_for_status()
                created += r.json()["counts"]["created"]
            return created

    import threading

    barrier = threading.Barrier(clients + 1)
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(one, bodies[i::clients]) for i in range(clients)]
        barrier.wait()
        t0 = time.perf_counter()
        created = sum(f.result() for f in futures)
        return created, time.perf_counter() - t0


def ingest(orders: int, batch: int, repeats: int, workers: int = 1, clients: int = 1) -> dict:
    from accounts.store import create_key, create_org
    from storage.db import open_db
    from trade.generator import generate

    var = Path(tempfile.mkdtemp(prefix="cbec-stats-bench-"))
    url = f"sqlite:///{var}/cbec.sqlite3"
    db = open_db(url, migrate=True)
    sample = generate(orders=orders, seed=7)
    records = [o.model_dump(mode="json") for o in sample.orders]
    bodies = [json.dumps({"records": records[i:i + batch]}).encode() for i in range(0, len(records), batch)]
    lines = sum(len(o.lines) for o in sample.orders)
    env = {**os.environ, "CBEC_VAR_DIR": str(var), "CBEC_DATABASE_URL": url, "CBEC_JOB_WORKERS": "0",
           "CBEC_MAX_BODY_BYTES": str(max(len(b) for b in bodies) + 1024), "CBEC_LOG_LEVEL": "warning"}
    proc, port = _serve(env, workers)
    rates = []
    try:
        for run in range(repeats):
            org, *_ = create_org(db, f"bench exporter {workers}x{clients} {run}", "forwarder")
            _, key = create_key(db, org.org_id, "bench", "member")
            created, elapsed = _post_all(port, key, bodies, clients)
            if created != orders:
                raise SystemExit(f"run {run}: {created} of {orders} orders created")
            rates.append(orders / elapsed)
    finally:
        proc.terminate()
        proc.wait(30)
        db.dispose()
    return {"orders_per_s": round(st.median(rates)), "runs_orders_per_s": [round(r) for r in rates],
            "orders_per_run": orders, "lines_per_run": lines, "batch": batch,
            "how": f"cbec serve --no-ingest --workers {workers} (uvicorn subprocesses, SQLite), {clients} keep-alive "
                   "httpx clients"}


# --- 2. the cube, DuckDB and pandas ------------------------------------------------------------------
LOAD = """
SELECT 'bench' AS org_id, 'MY' || CAST(order_id AS VARCHAR) AS order_no, line_no, enterprise_code AS enterprise, city,
       CAST(epoch_ms(ordered_ms + 8 * 3600 * 1000) AS DATE) AS day, customs_mode,
       CASE WHEN customs_mode = '9810' THEN 'stock_up_9810' ELSE 'direct' END AS flow,
       destination_country AS country, coalesce(g.region, 'Other') AS region, hs_chapter, channel,
       CASE WHEN channel = 'freight' THEN 'freight' ELSE 'parcel' END AS consignment, mode AS waybill_mode,
       NULL AS shipment_id, principal, CASE WHEN principal THEN 1 ELSE 0 END AS orders,
       CASE WHEN principal THEN 1 ELSE 0 END AS parcels,
       CASE WHEN principal THEN net_weight_kg * 1.15 ELSE 0 END AS gross_kg,
       value, currency, value_usd * 7.1 AS value_cny, value_usd,
       NULL AS tracked_shipment, 'untracked' AS corridor, mode AS transport_mode, NULL AS lead_days, NULL AS on_time,
       NULL AS co2e_kg
FROM (SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY value_usd DESC, line_no) = 1 AS principal,
             CASE WHEN customs_mode IN ('9710', '9810') THEN 'freight' ELSE 'postal' END AS channel,
             CASE WHEN customs_mode IN ('9710', '9810') THEN 'rail' ELSE 'air' END AS mode FROM gen) l
LEFT JOIN regions g ON g.country = l.destination_country
"""
"""The generated lines as the copy's facts (the waybill side drawn simply: B2B freight by rail, parcels by air;
values in CNY at one rate: the bench times the cube, not the conversion)."""


def build(lines: int):
    from trade.columnar import ColumnarCopy, insert_facts, rebuild_rollup
    from trade.generator import generate_lines
    from trade.regions import REGION_OF

    t0 = time.perf_counter()
    gen = generate_lines(lines, seed=2026)
    t_gen = time.perf_counter() - t0
    copy = ColumnarCopy(None)
    regions = pd.DataFrame({"country": list(REGION_OF), "region": list(REGION_OF.values())})
    t0 = time.perf_counter()
    copy.con.register("gen", gen)
    copy.con.register("regions", regions)
    insert_facts(copy.con, LOAD)
    copy.con.unregister("gen")
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    rebuild_rollup(copy.con)
    t_rollup = time.perf_counter() - t0
    rollup_rows = copy.con.execute("SELECT count(*) FROM rollup").fetchall()[0][0]
    del gen
    gc.collect()
    # pandas gets the same lines, categorical, with the month precomputed
    frame = copy.con.execute("SELECT strftime(day, '%Y-%m') AS month, customs_mode, country, hs_chapter, enterprise, "
                             "CAST(principal AS INTEGER) AS orders, parcels, value_cny, value_usd, gross_kg FROM facts"
                             ).df()
    for c in ("month", "customs_mode", "country", "hs_chapter", "enterprise"):
        frame[c] = frame[c].astype("category")
    return copy, frame, {"generate_s": round(t_gen, 2), "load_s": round(t_load, 2), "rollup_build_s": round(t_rollup, 2),
                         "rollup_rows": rollup_rows}


def pandas_cube(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby(["month", "customs_mode", "country", "hs_chapter"], observed=True, sort=True).agg(
        orders=("orders", "sum"), parcels=("parcels", "sum"), goods_value_cny=("value_cny", "sum"),
        goods_value_usd=("value_usd", "sum"), gross_weight_kg=("gross_kg", "sum"),
        enterprises=("enterprise", "nunique")).reset_index()


def cube(lines: int, repeats: int) -> dict:
    from trade.cube import MEASURES, CubeSpec, compute_cube

    copy, frame, prep = build(lines)
    spec = CubeSpec(CUBE_DIMS, "month", tuple(MEASURES))
    duck, lines_only, pand = [], [], []
    ours = theirs = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours = compute_cube(copy, spec)
        duck.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        from_lines = compute_cube(copy, spec, rollup=False)
        lines_only.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs = pandas_cube(frame)
        pand.append(time.perf_counter() - t0)
    # the same cells and figures, or no time is worth reporting
    pd.testing.assert_frame_equal(ours, from_lines, check_exact=False, rtol=1e-9, atol=0.05)
    ours = ours.rename(columns={"period": "month"})
    for c in ("month", "customs_mode", "country", "hs_chapter"):
        theirs[c] = theirs[c].astype(str)
    merged = theirs.merge(ours, on=["month", "customs_mode", "country", "hs_chapter"], how="outer", indicator=True,
                          suffixes=("_pd", "_duck"))
    if not (merged["_merge"] == "both").all():
        raise SystemExit("DuckDB and pandas cubes have different cells")
    for c in ("orders", "parcels", "enterprises"):
        if not (merged[f"{c}_pd"] == merged[f"{c}_duck"]).all():
            raise SystemExit(f"DuckDB and pandas differ on {c}")
    for c in ("goods_value_cny", "goods_value_usd", "gross_weight_kg"):
        if not np.allclose(merged[f"{c}_pd"], merged[f"{c}_duck"], rtol=1e-9, atol=0.01):
            raise SystemExit(f"DuckDB and pandas differ on {c}")
    copy.close()
    d, p, dl = st.median(duck), st.median(pand), st.median(lines_only)
    return {"lines": lines, "cells": len(ours), "duckdb_s": round(d, 3), "pandas_s": round(p, 3),
            "speedup": round(p / d, 1), "duckdb_from_lines_s": round(dl, 3), "speedup_from_lines": round(p / dl, 1),
            "runs_duckdb_s": [round(x, 3) for x in duck], "runs_duckdb_from_lines_s": [round(x, 3) for x in lines_only],
            "runs_pandas_s": [round(x, 3) for x in pand], "measures_duckdb": len(MEASURES), "measures_pandas": 6,
            **prep}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--orders", type=int, default=20_000, help="orders posted per ingest run")
    ap.add_argument("--batch", type=int, default=2_000, help="orders per batch request")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-cube", action="store_true")
    args = ap.parse_args()
    out: dict = {"bench": "stats"}
    if not args.skip_ingest:
        out["ingest"] = ingest(args.orders, args.batch, args.repeats)
        print(json.dumps({"ingest": out["ingest"]}), flush=True)
        out["ingest_2x2"] = ingest(args.orders, args.batch, args.repeats, workers=2, clients=2)
        print(json.dumps({"ingest_2x2": out["ingest_2x2"]}), flush=True)
    out["targets"] = {"ingest_orders_per_s": 20_000, "cube_s": 3.0, "speedup": 5.0}
    out["met"] = {"ingest": max(out["ingest"]["orders_per_s"], out["ingest_2x2"]["orders_per_s"]) >= 20_000
                  } if not args.skip_ingest else {}
    if not args.skip_cube:
        out["cube"] = cube(args.lines, args.repeats)
        out["met"].update({"cube_s_from_lines": out["cube"]["duckdb_from_lines_s"] <= 3.0,
                           "cube_s": out["cube"]["duckdb_s"] <= 3.0, "speedup": out["cube"]["speedup"] >= 5.0})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
