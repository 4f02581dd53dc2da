"""The HTTP conventions every response follows, as one pure-ASGI middleware (cheap on the hot path).

- a request id (the client's ``X-Request-ID`` when it is a short token, else a new one) on the
  response and in every log line written while serving the request;
- a body limit: a ``Content-Length`` above it, or a streamed body that grows past it, answers 413
  problem+json without reading the rest;
- security headers (CSP, nosniff, frame denial, referrer policy) on every response;
- one access-log line and one latency observation (by route template) per request.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability import Metrics, request_id_var

log = logging.getLogger("api.access")
_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    # The web page loads only its own assets; the API docs page (Swagger UI) loads its bundle from a CDN.
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline' "
                                 b"https://cdn.jsdelivr.net; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
                                 b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
]


class BodyTooLarge(Exception):
    """Raised inside ``receive`` when a streamed body passes the limit."""


def _problem(status: int, title: str, detail: str, rid: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail,
                       "request_id": rid}).encode()
    return [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())], body


class ServiceMiddleware:
    """Request id, body limit, security headers, access log and latency metrics."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics | None = None) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _RID.match(given) else uuid.uuid4().hex[:16]
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                hdrs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hdrs}
                hdrs.append((b"x-request-id", rid.encode()))
                hdrs.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                message = {**message, "headers": hdrs}
            await send(message)

        try:
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                await self._reject(send_wrapper, rid, length)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise BodyTooLarge
                return message

            try:
                await self.app(scope, limited_receive, send_wrapper)
            except BodyTooLarge:
                await self._reject(send_wrapper, rid, None)
        finally:
            elapsed = time.perf_counter() - t0
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if self.metrics is not None:
                self.metrics.http.labels(scope["method"], template, str(status_holder["status"])).observe(elapsed)
            log.info("%s %s %s", scope["method"], template, status_holder["status"],
                     extra={"method": scope["method"], "route": template, "status": status_holder["status"],
                            "ms": round(elapsed * 1000, 2), "client": (scope.get("client") or ("-",))[0]})
            request_id_var.reset(token)

    async def _reject(self, send: Any, rid: str, length: bytes | None) -> None:
        detail = (f"request body larger than the limit of {self.max_body} bytes"
                  if length is None or length.isdigit() else "invalid Content-Length header")
        status = 413 if length is None or length.isdigit() else 400
        hdrs, body = _problem(status, "Request body too large" if status == 413 else "Bad request", detail, rid)
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})
