"""Ingest of e-commerce orders through ``POST /v1/records/orders:batch`` (issue 18: >= 20,000 records/s),
on SQLite and PostgreSQL, with 1 and 2 API processes, against the in-process use case in the same run.

For each database (a fresh SQLite file; a fresh PostgreSQL schema at ``CBEC_TEST_PG_URL`` when it answers):

1. baseline, in process: the same request bodies validated as the route does (the batch body type of
   ``api.schemas.trade.BATCH_BODY_TYPES`` from the raw bytes) and stored by ``trade.store.store_batch`` (one transaction per batch, the
   three-document check, webhook outbox): records/s and CPU microseconds per order;
2. HTTP: a real ``cbec serve --no-ingest --workers N`` (N = 1, 2) and ``--clients`` keep-alive clients
   (``http.client``, one thread each) posting the bodies (built before the clock starts; a fresh
   organisation per run, so every order is new and must come back ``created``): records/s = orders
   acknowledged / wall time, and the server processes' CPU microseconds per order (psutil, whole tree), which
   the other helpers' load on the machine does not inflate as much as wall time. ``busy_workers`` says per run
   how many API processes did the work: uvicorn's processes share one listening socket and a keep-alive
   connection stays with the process that accepted it, so two clients can land on the same one of two.

``bench/stats_bench.py`` (ingest section) runs :func:`in_process` and :func:`over_http` with 2 processes and 2
clients, ``?results=changes``.

    python bench/records_bench.py [--orders 20000] [--batch 2000] [--repeats 3] [--workers 1,2] [--clients 1,2]
                                  [--db sqlite,pg] [--results all|changes]

Prints one JSON object as its last line (medians of ``--repeats`` runs).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics as st
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402

from http_bench import _free_port  # noqa: E402

PG_URL = os.environ.get("CBEC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_schema() -> tuple[str, str] | None:
    """A fresh PostgreSQL schema (name, URL routing every table into it), or None without a server."""
    try:
        import psycopg

        name = f"cbec_records_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True,
                             connect_timeout=3) as c:
            c.execute(f'CREATE SCHEMA "{name}"')
        return name, f"{PG_URL}?options=-csearch_path%3D{name}"
    except Exception:  # noqa: BLE001 - no server: the PostgreSQL half is skipped
        return None


def _drop_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _serve(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    with log.open("w") as out:  # the server's log (an error's traceback) is shown if a batch fails
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-ingest", "--port", str(port),
                                 "--workers", str(workers)], env=env, cwd=str(ROOT), stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300  # a loaded 2-core machine has taken over 2 minutes to import and start
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("cbec serve did not start")
        time.sleep(0.3)


def _cpu(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) of the server process and its children so far."""
    return sum(_cpu_by_process(proc).values())


def _cpu_by_process(proc: subprocess.Popen) -> dict[int, float]:
    """CPU seconds (user + system) so far of the server process and of each of its children, by pid."""
    out: dict[int, float] = {}
    p = psutil.Process(proc.pid)
    for q in [p, *p.children(recursive=True)]:
        try:
            t = q.cpu_times()
            out[q.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


def _post_all(port: int, key: str, bodies: list[bytes], clients: int, results: str = "all") -> tuple[float, int]:
    """Post ``bodies`` from ``clients`` threads (keep-alive each): wall seconds, orders created.

    Each client connects and makes one small request before the clock starts, one client after the other: a
    client connects once and then keeps its connection, and connections opened in the same instant tend to be
    accepted by the same API process (asyncio accepts every pending connection at once), which a burst of
    simultaneous first requests would cause and a client's steady state does not."""
    created = [0] * clients
    failures: list[str] = []
    lock = threading.Lock()
    queue = list(range(len(bodies)))
    headers = {"X-API-Key": key, "content-type": "application/json"}
    conns = []
    for _ in range(clients):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("GET", "/v1/records/orders?limit=1", headers=headers)
        conn.getresponse().read()
        conns.append(conn)

    def client(n: int) -> None:
        conn = conns[n]
        while True:
            with lock:
                if not queue:
                    break
                i = queue.pop(0)
            conn.request("POST", f"/v1/records/orders:batch?results={results}", body=bodies[i], headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                failures.append(f"{r.status}: {data[:300]!r}")
                break
            created[n] += json.loads(data)["counts"]["created"]
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if failures:
        raise SystemExit(f"batch refused: {failures[0]}")
    return elapsed, sum(created)


def machine_loop_cpu_s() -> float:
    """CPU seconds of a fixed pure-Python loop (10 M additions, best of 3): how fast this machine runs Python
    today, to compare figures across sessions (the shared VMs' speed varies several-fold)."""
    best = float("inf")
    for _ in range(3):
        c0, total = time.process_time(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.process_time() - c0)
    return round(best, 3)


def make_bodies(orders: int, batch: int) -> tuple[list[bytes], float]:
    """``orders`` generated orders (``trade.generator.generate``, seed 7) as request bodies of ``batch`` orders each,
    and the mean goods lines per order."""
    from trade.generator import generate

    sample = generate(orders=orders, seed=7)
    records = [o.model_dump(mode="json") for o in sample.orders]
    bodies = [json.dumps({"records": records[i:i + batch]}).encode() for i in range(0, len(records), batch)]
    return bodies, sum(len(o.lines) for o in sample.orders) / orders


def in_process(url: str, bodies: list[bytes], orders: int, repeats: int) -> dict:
    """The use case without HTTP: the route's body validation (from the raw JSON) and ``store_batch``, one batch
    after the other in this process: records/s and CPU microseconds per order."""
    from accounts.store import create_org
    from pydantic import TypeAdapter

    from api.schemas.trade import BATCH_BODY_TYPES, RawJson
    from storage.db import open_db
    from trade.bulk import gc_paused
    from trade.store import store_batch

    body_type = TypeAdapter(BATCH_BODY_TYPES["orders"])  # as the route validates its body
    db = open_db(url, migrate=True)
    rates, cpus = [], []
    try:
        for run in range(repeats):
            org, *_ = create_org(db, f"bench in-process {run} {uuid.uuid4().hex[:6]}", "forwarder")
            t0, c0 = time.perf_counter(), time.process_time()
            created = 0
            for body in bodies:
                with gc_paused():  # as the batch route pauses it for the whole request (the batch freed inside)
                    records = body_type.validate_python(RawJson(body)).records
                    created += store_batch(db, org.org_id, "orders", records).counts["created"]
                    del records
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if created != orders:
                raise SystemExit(f"in process: {created} of {orders} orders created")
            rates.append(orders / wall)
            cpus.append(cpu / orders * 1e6)
    finally:
        db.dispose()
    return {"orders_per_s": round(st.median(rates)), "cpu_us_per_order": round(st.median(cpus), 1),
            "runs_orders_per_s": [round(r) for r in rates]}


def over_http(url: str, bodies: list[bytes], orders: int, repeats: int, workers: int, clients: int,
              var: Path, results: str) -> dict:
    """``cbec serve --no-ingest --workers <workers>`` on ``url`` and ``clients`` keep-alive clients posting ``bodies``
    (a fresh organisation per run): records/s, the server's CPU microseconds per order, and per run how many API
    processes did the work (``busy_workers``: uvicorn's processes share one listening socket and a keep-alive
    connection stays with the process that accepted it, so two clients may both land on one of two processes)."""
    from accounts.store import create_key, create_org
    from storage.db import open_db

    db = open_db(url, migrate=True)
    env = {**os.environ, "CBEC_VAR_DIR": str(var), "CBEC_DATABASE_URL": url, "CBEC_JOB_WORKERS": "0",
           "CBEC_MAX_BODY_BYTES": str(max(len(b) for b in bodies) + 1024), "CBEC_LOG_LEVEL": "warning"}
    log = var / f"serve-{workers}w{clients}c.log"
    proc, port = _serve(env, workers, log)
    rates, cpus, busy = [], [], []
    try:
        for run in range(repeats):
            org, *_ = create_org(db, f"bench http {workers}w{clients}c {run} {uuid.uuid4().hex[:6]}", "forwarder")
            _, key = create_key(db, org.org_id, "bench", "member")
            for _ in range(workers * 2):  # every process has verified the key before the clock starts
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("GET", "/v1/records/orders?limit=1", headers={"X-API-Key": key})
                c.getresponse().read()
            c0, per0 = _cpu(proc), _cpu_by_process(proc)
            try:
                elapsed, created = _post_all(port, key, bodies, clients, results)
            except SystemExit:
                print(log.read_text()[-4000:], file=sys.stderr)
                raise
            cpu = _cpu(proc) - c0
            per = _cpu_by_process(proc)
            spent = {pid: per[pid] - per0.get(pid, 0.0) for pid in per}
            busy.append(sum(1 for pid, s in spent.items() if pid != proc.pid and s > 0.1 * cpu))
            if created != orders:
                raise SystemExit(f"{workers} workers, run {run}: {created} of {orders} orders created")
            rates.append(orders / elapsed)
            cpus.append(cpu / orders * 1e6)
    finally:
        proc.terminate()
        proc.wait(30)
        db.dispose()
    return {"workers": workers, "clients": clients, "results": results, "orders_per_s": round(st.median(rates)),
            "server_cpu_us_per_order": round(st.median(cpus), 1), "runs_orders_per_s": [round(r) for r in rates],
            "busy_workers": busy}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=20_000, help="orders posted per run")
    ap.add_argument("--batch", type=int, default=2_000, help="orders per request")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", default="1,2", help="API processes to measure, comma-separated")
    ap.add_argument("--clients", default="1,2", help="concurrent clients to measure, comma-separated")
    ap.add_argument("--db", default="sqlite,pg", help="databases: sqlite, pg")
    ap.add_argument("--results", choices=("all", "changes"), default="all",
                    help="the batch answer: one entry per record, or only the rejected and updated ones")
    args = ap.parse_args()
    bodies, lines_per_order = make_bodies(args.orders, args.batch)
    out: dict = {"bench": "records", "orders_per_run": args.orders, "batch": args.batch,
                 "lines_per_order": round(lines_per_order, 2),
                 "body_bytes_per_order": round(sum(map(len, bodies)) / args.orders), "load_avg_1m": os.getloadavg()[0],
                 "machine_loop_cpu_s": machine_loop_cpu_s(),
                 "answer": args.results, "target_orders_per_s": 20_000, "results": {}}
    for name in args.db.split(","):
        schema = None
        var = Path(tempfile.mkdtemp(prefix="cbec-records-bench-"))
        if name == "sqlite":
            url = f"sqlite:///{var}/cbec.sqlite3"
        else:
            made = _pg_schema()
            if made is None:
                out["results"][name] = "skipped: no PostgreSQL at CBEC_TEST_PG_URL"
                continue
            schema, url = made
        try:
            res: dict = {"in_process": in_process(url, bodies, args.orders, args.repeats), "http": []}
            print(json.dumps({name: res["in_process"]}), flush=True)
            for workers in map(int, args.workers.split(",")):
                for clients in map(int, args.clients.split(",")):
                    res["http"].append(over_http(url, bodies, args.orders, args.repeats, workers, clients, var,
                                             args.results))
                    print(json.dumps({name: res["http"][-1]}), flush=True)
            out["results"][name] = res
        finally:
            if schema is not None:
                _drop_schema(schema)
    out["best_http_orders_per_s"] = max((h["orders_per_s"] for r in out["results"].values() if isinstance(r, dict)
                                         for h in r["http"]), default=0)
    out["met"] = out["best_http_orders_per_s"] >= 20_000
    print(json.dumps(out))


if __name__ == "__main__":
    main()
