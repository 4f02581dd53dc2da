"""What the quote service adds to the engine: validity, currency, an organisation's rate sheets, held space, saving.

In-process, one SQLite database in a temporary folder with an organisation, its sample rate sheet
(data/samples/rate_sheet_example.csv) and followed shipments holding space:

- baseline (measured in the same run): ``build_request`` + ``quote`` + ``quote_to_dict``, the engine alone;
- anonymous: ``issue_quote`` with the database (held space, validity, valid_until, USD), not saved;
- organisation, CNY: ``issue_quote`` with the organisation's rate book, held space, conversion into CNY and
  the saved document (one INSERT);
- fetch: ``fetch_quote`` of a saved quote (one SELECT and the JSON document).

Each figure is the median over ``--repeats`` runs of the per-quote median over the request mix.

    python bench/quote_service_bench.py [--repeats 5]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

READY = (date.today() + timedelta(days=1)).isoformat()
QUOTES = [("MY_CITY", "LODZ", 1200, 6), ("MY_CITY", "DUISBURG", 800, 4), ("MY_CITY", "LODZ", 12000, 40),
          ("MY_HTZ", "WH_JAKARTA", 8000, 30), ("MY_CITY", "HAMBURG", 300, 1.5)]


def _median_ms(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    from accounts.store import create_org
    from iot_ingest.milestones import create_shipment
    from optimizer.network import load_network
    from optimizer.network.serialize import quote_to_dict
    from optimizer.quotes.quote import build_request, quote
    from quotations import holds
    from quotations.rate_sheets import upload_sheet
    from quotations.service import QuoteTerms, fetch_quote, issue_quote
    from storage.db import open_db

    net = load_network()
    tmp = tempfile.mkdtemp(prefix="cbec-qs-bench-")
    db = open_db(f"sqlite:///{tmp}/b.sqlite3", migrate=True)
    org = create_org(db, "bench-forwarder", "forwarder")[0]
    sample = ROOT / "data" / "samples" / "rate_sheet_example.csv"
    upload_sheet(db, org.org_id, "contract", sample.name, sample.read_bytes(), net)
    for i in range(20):
        create_shipment(db, net, f"B{i}", "MY_CITY", "LODZ", 500 + 100 * i, 2 + i * 0.2,
                        (date.today() + timedelta(days=i % 10)).isoformat(), org=org.org_id)
    reqs = [build_request(net, o, d, w, v, READY) for o, d, w, v in QUOTES]

    def engine():
        for r in reqs:
            quote_to_dict(net, r, quote(net, r))

    def anonymous():
        for r in reqs:
            issue_quote(net, r, QuoteTerms(allow_extrapolation=True), db=db, org_id=None)

    saved: list[str] = []

    def organisation():
        for r in reqs:
            saved.append(issue_quote(net, r, QuoteTerms("CNY", True), db=db, org_id=org.org_id)["quote_id"])

    def fetch():
        for qid in saved[: len(reqs)]:
            fetch_quote(db, qid, org.org_id)

    engine(), anonymous(), organisation()  # warm caches (network, rates, held space)
    rows: dict[str, list[float]] = {"engine": [], "anonymous": [], "organisation_cny": [], "fetch": []}
    for _ in range(args.repeats):
        holds.clear_cache()  # each run pays one held-space scan, as a request every TTL_S seconds does
        rows["anonymous"].append(_median_ms(anonymous) / len(reqs))
        rows["engine"].append(_median_ms(engine) / len(reqs))
        rows["organisation_cny"].append(_median_ms(organisation) / len(reqs))
        rows["fetch"].append(_median_ms(fetch) / len(reqs))
    med = {k: round(statistics.median(v), 3) for k, v in rows.items()}
    out = {
        "bench": "quote_service",
        "quotes": len(reqs),
        "repeats": args.repeats,
        "ms_per_quote": med,
        "overhead_ms": {"anonymous": round(med["anonymous"] - med["engine"], 3),
                        "organisation_cny": round(med["organisation_cny"] - med["engine"], 3)},
        "overhead_pct": {"anonymous": round(100 * (med["anonymous"] / med["engine"] - 1), 1),
                         "organisation_cny": round(100 * (med["organisation_cny"] / med["engine"] - 1), 1)},
        "held_departures": len(holds.held_space(db, net, date.today(), date.today() + timedelta(days=120))),
    }
    db.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
