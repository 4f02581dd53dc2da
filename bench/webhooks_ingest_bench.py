"""bench/ingest_bench.py with partners' webhooks switched on: is the ingest slowed by them?

The same backlog drain, same options (``BENCH_N``, ``BENCH_RUNS``; short: ``BENCH_N=10000 BENCH_RUNS=3``),
with two differences: the bench shipment belongs to an organisation that has a webhook subscription to
every shipment event (so the ingest's store handler writes the outbox in its batch transactions), and a
:class:`webhooks.delivery.DeliveryWorker` — the one `cbec serve` / `cbec ingest` run — polls the same
database and delivers to a local HTTP receiver throughout. The pipeline/raw-paho ratio of this run is
to be compared with a plain ``bench/ingest_bench.py`` run (its baseline, raw paho, is measured in the
same run as always). Last line: ingest_bench's JSON object plus ``webhooks`` (events written, delivered).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest_bench  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from webhooks.delivery import DeliveryWorker  # noqa: E402
from webhooks.events import EVENT_TYPES  # noqa: E402
from webhooks.subscriptions import create_subscription  # noqa: E402
from webhooks.tables import deliveries, events  # noqa: E402

ORG = "bench-webhooks-org"
received = [0]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        received[0] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    state: dict = {}
    open_db, save_shipment = ingest_bench.open_db, ingest_bench.save_shipment

    def open_db_with_worker(*args, **kwargs):
        db = open_db(*args, **kwargs)
        create_subscription(db, ORG, url, [t for t in EVENT_TYPES if t.startswith("shipment.")],
                            now_ms=int(time.time() * 1000), allow_private=True)
        state["db"] = db
        state["worker"] = DeliveryWorker(db, allow_private=True).start()  # the receiver is on 127.0.0.1
        return db

    def save_in_org(*args, **kwargs):
        return save_shipment(*args, **kwargs, org=ORG)

    ingest_bench.open_db = open_db_with_worker
    ingest_bench.save_shipment = save_in_org
    out = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, s: str) -> int:
            out.write(s)
            return sys.__stdout__.write(s)

        def flush(self) -> None:
            sys.__stdout__.flush()

    try:
        with contextlib.redirect_stdout(Tee()):
            ingest_bench.main()
    finally:
        if "worker" in state:
            state["worker"].stop()
        server.shutdown()
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    with state["db"].engine.connect() as conn:
        written = conn.execute(select(func.count()).select_from(events)).scalar_one()
        delivered = conn.execute(select(func.count()).select_from(deliveries)
                                 .where(deliveries.c.status == "delivered")).scalar_one()
    result["benchmark"] += "+webhooks"
    result["webhooks"] = {"worker": "DeliveryWorker polling every 0.5 s", "events_written": written,
                          "delivered": delivered, "posts_received": received[0]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
