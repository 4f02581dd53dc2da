"""POST /v1/quotes with an API key through real `cbec serve` processes: the cost of authentication
and what a second API process adds (issue 16).

Creates an organisation and a member key in a fresh SQLite database, then for one and for two API
processes (`cbec serve --no-ingest --workers N`): quotes with the key at 16 and 64 concurrent
keep-alive clients; and, with one process and one client, the p50 with the key minus the p50 without
one (anonymous quotes are public) = what authentication adds. The in-process quote time is measured
in the same run. The load generator shares the 2 cores with the servers: its CPU time is reported.

    python bench/api_bench.py [--seconds 5] [--repeats 3]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_bench import QUOTES, _free_port, _in_process_quote_ms, _load, _request  # noqa: E402


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _serve(workers: int, env: dict[str, str], cwd: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-ingest", "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).read()
            return proc, port
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit(f"cbec serve --workers {workers} did not start") from None
            time.sleep(0.3)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    var = tempfile.mkdtemp(prefix="cbec-api-bench-")
    url = f"sqlite:///{var}/api.sqlite3"
    env = {**os.environ, "CBEC_VAR_DIR": var, "CBEC_DATABASE_URL": url, "CBEC_LOG_LEVEL": "warning",
           "CBEC_LOG_FORMAT": "text", "CBEC_JOB_WORKERS": "0", "PYTHONPATH": str(ROOT),
           "CBEC_ANON_QUOTES_PER_MIN": "1000000"}  # the anonymous baseline must not meet the public rate limit
    env.pop("CBEC_DASK_SCHEDULER", None)
    from accounts.store import create_key, create_org
    from storage.db import open_db

    db = open_db(url, migrate=True)
    org, *_ = create_org(db, "bench forwarder", "forwarder")
    _, key = create_key(db, org.org_id, "bench", "member")
    db.dispose()

    keyed = [_request("POST", "/v1/quotes", json.dumps(q).encode(), {"X-API-Key": key}) for q in QUOTES]
    anonymous = [_request("POST", "/v1/quotes", json.dumps(q).encode()) for q in QUOTES]

    def phase(port: int, reqs: list[bytes], clients: int) -> dict:
        runs = []
        for _ in range(args.repeats):
            c0, t0 = _cpu_s(), time.perf_counter()
            r = asyncio.run(_load(port, reqs, clients, args.seconds))
            r["client_cpu_share"] = round((_cpu_s() - c0) / (time.perf_counter() - t0), 3)
            runs.append(r)
        runs.sort(key=lambda r: r["rps"])
        return runs[len(runs) // 2]

    results: dict[str, dict] = {}
    in_quote = _in_process_quote_ms(20)
    for workers in (1, 2):
        proc, port = _serve(workers, env, var)
        try:
            for q in keyed[:2]:  # warm the key cache and the quote paths
                asyncio.run(_load(port, [q], 1, 0.5))
            if workers == 1:
                results["key_sequential"] = phase(port, keyed, 1)
                results["anonymous_sequential"] = phase(port, anonymous, 1)
            results[f"key_16_{workers}p"] = phase(port, keyed, 16)
            results[f"key_64_{workers}p"] = phase(port, keyed, 64)
        finally:
            _stop(proc)
    in_quote = min(in_quote, _in_process_quote_ms(20))
    auth_ms = results["key_sequential"]["p50_ms"] - results["anonymous_sequential"]["p50_ms"]
    scale16 = results["key_16_2p"]["rps"] / results["key_16_1p"]["rps"]
    scale64 = results["key_64_2p"]["rps"] / results["key_64_1p"]["rps"]
    for name, r in results.items():
        print(f"{name:22s} {r['rps']:>8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
              f"client CPU {r['client_cpu_share']:.2f}  {r['statuses']}")
    print(f"quote in-process {in_quote:.2f} ms; the API key adds {auth_ms:.2f} ms at p50 (target <= 0.5); "
          f"two processes serve {scale16:.2f}x / {scale64:.2f}x one at 16 / 64 clients (target >= 1.3)")
    out = {
        "bench": "api_bench", "seconds": args.seconds, "repeats": args.repeats, "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()], "quote_in_process_ms": round(in_quote, 3),
        "auth_overhead_p50_ms": round(auth_ms, 3), "two_vs_one_16": round(scale16, 2), "two_vs_one_64": round(scale64, 2),
        **results,
        "targets": {"auth_overhead_p50_ms": "<= 0.5", "two_vs_one": ">= 1.3"},
        "met": {"auth_overhead_p50_ms": auth_ms <= 0.5, "two_vs_one": max(scale16, scale64) >= 1.3},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
