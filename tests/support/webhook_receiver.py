"""A partner's webhook endpoint for the tests: a real HTTP server on 127.0.0.1 in a thread that records each POST."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A partner's endpoint: records each request; ``script`` gives the status of each call (then 200), ``delay_s``
    makes it slow."""

    def __init__(self, script: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.requests: list[tuple[dict[str, str], bytes, float]] = []
        self.script = list(script or [])
        self.delay_s = delay_s
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
