"""HTTP cost of the service: POST /v1/quotes and GET /v1/network against a real `cbec serve`.

Starts `cbec serve --no-ingest` (uvicorn, one process) on a free port and drives it from this
process with asyncio keep-alive connections (raw HTTP/1.1: the client's own cost stays small):

- sequential quotes (one client): p50 latency minus the in-process cost of the same quotes
  (build_request + quote + serialisation, measured here in the same run) = what the HTTP layer adds;
- quotes and the network at 16 and 64 concurrent clients: requests/s, p50, p99;
- the network GeoJSON: full 200 responses and conditional ones (If-None-Match -> 304), against the
  in-process cost of building it (what every request paid before it was cached; 52 req/s measured
  at 16 clients then).

    python bench/http_bench.py [--seconds 5] [--repeats 3]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUOTES = [
    {"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6, "ready": "2026-12-01"},
    {"from": "MY_CITY", "to": "DUISBURG", "weight_kg": 800, "volume_m3": 4, "ready": "2026-12-02"},
    {"from": "MY_HTZ", "to": "WH_JAKARTA", "weight_kg": 8000, "volume_m3": 30, "pieces": 40, "customs_mode": "9810",
     "ready": "2026-12-03"},
    {"from": "MY_CITY", "to": "BUDAPEST", "weight_kg": 300, "volume_m3": 2, "ready": "2026-12-04"},
    {"from": "MY_CBZ", "to": "HAMBURG", "weight_kg": 20000, "volume_m3": 60, "ready": "2026-12-05"},
    {"from": "MY_CITY", "to": "MOSCOW", "weight_kg": 5000, "volume_m3": 20, "ready": "2026-12-06"},
]
BASELINE_NETWORK_RPS = 52.0  # GET /v1/network at 16 clients before caching (issue 15's measurement)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _client(port: int, requests: list[bytes], until: float, lat: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.perf_counter() < until:
            req = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            writer.write(req)
            status, _ = await _read_response(reader)
            lat.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], clients: int, seconds: float) -> dict:
    lat: list[float] = []
    statuses: dict[int, int] = {}
    until = time.perf_counter() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(port, requests, until, lat, statuses) for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    lat.sort()
    return {"rps": round(len(lat) / elapsed, 1), "p50_ms": round(1000 * lat[len(lat) // 2], 2),
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2), "requests": len(lat),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def _in_process_quote_ms(repeats: int) -> float:
    from optimizer.network import load_network
    from optimizer.network.serialize import quote_to_dict
    from optimizer.quotes.quote import build_request, quote

    net = load_network()
    times = []
    for _ in range(repeats):
        for q in QUOTES:
            t0 = time.perf_counter()
            req = build_request(net, q["from"], q["to"], q["weight_kg"], q["volume_m3"], ready=q["ready"],
                                pieces=q.get("pieces", 1), customs_mode=q.get("customs_mode"))
            json.dumps(quote_to_dict(net, req, quote(net, req)))
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _in_process_network_ms(repeats: int) -> float:
    from optimizer.network import load_network
    from optimizer.network.geojson import network_geojson_dict

    net = load_network()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        json.dumps(network_geojson_dict(net, include_planned=False))
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="per load phase")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each phase (median reported)")
    args = ap.parse_args()

    port = _free_port()
    var = tempfile.mkdtemp(prefix="cbec-http-bench-")
    env = {**os.environ, "CBEC_VAR_DIR": var, "CBEC_LOG_LEVEL": "warning", "CBEC_LOG_FORMAT": "text",
           "CBEC_ANON_QUOTES_PER_MIN": "0",  # the bench measures the HTTP layer, not the public rate limit
           "PYTHONPATH": str(ROOT)}
    env.pop("CBEC_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-ingest", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=var)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("cbec serve did not start") from None
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/network", timeout=10) as r:
            etag = r.headers.get("ETag")
            size = len(r.read())
        quote_reqs = [_request("POST", "/v1/quotes", json.dumps(q).encode()) for q in QUOTES]
        net_full = [_request("GET", "/v1/network")]
        net_cond = [_request("GET", "/v1/network", headers={"If-None-Match": etag})] if etag else net_full

        def phase(reqs: list[bytes], clients: int) -> dict:
            runs = [asyncio.run(_load(port, reqs, clients, args.seconds)) for _ in range(args.repeats)]
            runs.sort(key=lambda r: r["rps"])
            return runs[len(runs) // 2]

        in_quote = _in_process_quote_ms(20)
        seq = phase(quote_reqs, 1)
        in_quote_after = _in_process_quote_ms(20)  # again: the machine's load moves between phases
        in_quote = min(in_quote, in_quote_after)
        results = {
            "quotes_sequential": seq,
            "quotes_16": phase(quote_reqs, 16),
            "quotes_64": phase(quote_reqs, 64),
            "network_200_16": phase(net_full, 16),
            "network_200_64": phase(net_full, 64),
            "network_304_16": phase(net_cond, 16),
            "network_304_64": phase(net_cond, 64),
        }
        in_net = _in_process_network_ms(10)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    for name, r in results.items():
        print(f"{name:18s} {r['rps']:>9.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  {r['statuses']}")
    overhead = results["quotes_sequential"]["p50_ms"] - in_quote
    print(f"quote in-process {in_quote:.2f} ms; HTTP adds {overhead:.2f} ms at p50 (target <= 2 ms)")
    print(f"network GeoJSON {size} bytes, built in-process in {in_net:.1f} ms; served {results['network_200_16']['rps']:.0f} "
          f"req/s at 16 clients = {results['network_200_16']['rps'] / BASELINE_NETWORK_RPS:.0f}x the uncached 52 req/s")
    out = {
        "bench": "http_bench", "seconds": args.seconds, "repeats": args.repeats, "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "quote_in_process_ms": round(in_quote, 3), "quote_http_overhead_p50_ms": round(overhead, 3),
        "network_bytes": size, "network_build_in_process_ms": round(in_net, 2),
        "network_rps_16_vs_uncached_52": round(results["network_200_16"]["rps"] / BASELINE_NETWORK_RPS, 1),
        **{k: v for k, v in results.items()},
        "targets": {"quote_http_overhead_p50_ms": "<= 2", "network_rps_16_vs_uncached_52": ">= 10"},
        "met": {"quote_http_overhead_p50_ms": overhead <= 2.0,
                "network_rps_16_vs_uncached_52": results["network_200_16"]["rps"] / BASELINE_NETWORK_RPS >= 10},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
