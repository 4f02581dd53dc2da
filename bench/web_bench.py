"""The web application in headless Chromium against a real `cbec serve` (issue 17): bytes on the wire
of the first load, time from navigation to the map drawn with the network, and time from the quote
click to the first option card on screen - beside the quote API's own time measured in the same run
(the browser's resource timing of that very request, and a direct HTTP call).

Each run opens a fresh browser context (cold cache: every asset is transferred), signs in with the
demo key, loads /#/map and waits for the network to be drawn, then opens the quote page and clicks
"Get quotes" for MY_CITY -> LODZ. Targets: first load under 1.5 MB; first quote on screen within 1 s
of the click.

    python bench/web_bench.py [--runs 5]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.served import browser_available, chromium_path, start_serve  # noqa: E402

FIRST_LOAD_TARGET_BYTES = 1_500_000
QUOTE_TARGET_MS = 1000
QUOTE = {"from": "MY_CITY", "to": "LODZ", "weight_kg": 1200, "volume_m3": 6, "ready": "2026-12-01"}


def one_run(browser, served) -> dict:
    """One cold-cache run: first-load bytes and times, quote click -> cards, and that quote's API time."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script("sessionStorage.setItem('cbec.credential', " + json.dumps(json.dumps({"kind": "key", "value": served.key})) + ");")
    page = context.new_page()
    responses = []
    page.on("requestfinished", lambda r: responses.append(r))
    page.goto(served.base + "/#/map")
    page.wait_for_selector("#map[data-ready=network]", timeout=60_000)
    map_ms = float(page.get_attribute("#map", "data-ready-ms"))
    page.wait_for_load_state("networkidle")
    first = 0
    for r in list(responses):
        sizes = r.sizes()
        first += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    first_requests = len(responses)
    page.click("#nav a[data-page=quote]")
    page.wait_for_selector("#quote-submit")
    page.fill("#q-ready", QUOTE["ready"])
    page.click("#quote-submit")
    page.wait_for_selector("#quote-results[data-ms]", timeout=60_000)
    shown_ms = float(page.get_attribute("#quote-results", "data-ms"))
    api_ms = page.evaluate("""() => { const e = performance.getEntriesByType('resource').filter(r => r.name.endsWith('/v1/quotes')).pop();
                                      return e ? e.responseEnd - e.startTime : null; }""")
    context.close()
    return {"first_load_bytes": first, "first_load_requests": first_requests, "map_drawn_ms": map_ms,
            "quote_shown_ms": shown_ms, "quote_api_browser_ms": api_ms}


def direct_quote_ms(served) -> float:
    """POST /v1/quotes from Python with the same key (no browser): the API's time."""
    req = urllib.request.Request(served.base + "/v1/quotes", method="POST", data=json.dumps(QUOTE).encode(),
                                 headers={"content-type": "application/json", "X-API-Key": served.key})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
    return (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    why = browser_available()
    if why:
        print(json.dumps({"skipped": why}))
        return
    from playwright.sync_api import sync_playwright

    served = start_serve(Path(tempfile.mkdtemp(prefix="web-bench-")))
    try:
        direct_quote_ms(served)  # warm the network and quote caches once, as a running service is
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
            runs = []
            direct = []
            for i in range(args.runs):
                runs.append(one_run(browser, served))
                direct.append(direct_quote_ms(served))
                print(f"run {i + 1}: {runs[-1]} direct {direct[-1]:.0f} ms", file=sys.stderr)
            browser.close()
    finally:
        served.stop()

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in runs if r[key] is not None), 1)

    out = {
        "runs": args.runs,
        "first_load_bytes": int(med("first_load_bytes")),
        "first_load_requests": int(med("first_load_requests")),
        "map_drawn_ms": med("map_drawn_ms"),
        "quote_shown_ms": med("quote_shown_ms"),
        "quote_api_browser_ms": med("quote_api_browser_ms"),
        "quote_api_direct_ms": round(statistics.median(direct), 1),
        "targets": {"first_load_bytes": FIRST_LOAD_TARGET_BYTES, "quote_shown_ms": QUOTE_TARGET_MS},
    }
    out["met"] = {"first_load": out["first_load_bytes"] < FIRST_LOAD_TARGET_BYTES, "quote_shown": out["quote_shown_ms"] < QUOTE_TARGET_MS}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
