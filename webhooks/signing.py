"""Signatures of webhook deliveries: HMAC-SHA256 over ``<timestamp>.<body>`` with the subscription's secret.

A delivery carries ``X-Cbec-Signature: t=<unix seconds>,v1=<hex digest>``. The receiver recomputes the
digest over the timestamp, a dot and the raw body bytes, compares in constant time and refuses a
timestamp older than a few minutes (a replayed request), as Stripe's and GitHub's webhooks do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-Cbec-Signature"
TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh subscription secret (``whsec_`` + 256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of :data:`HEADER` for ``body`` sent at ``timestamp`` (default now)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={digest(secret, ts, body)}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None, tolerance_s: int = TOLERANCE_S) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within ``tolerance_s``
    of ``now`` (what a partner's receiver does; used by the tests)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        ts = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(parts.get("v1", ""), digest(secret, ts, body))
