"""Signed settlement statements: HMAC-SHA256 over the statement's canonical JSON.

The signing key is derived from the deployment's ``CBEC_SECRET_KEY`` (HMAC-SHA256 of it with the label
``cbec-sharing-statement-v1``), so every API process and the CLI on the same deployment sign alike and
a statement is verified by the service that issued it: ``POST /v1/settlements/verify`` or
``cbec settlements verify FILE`` recompute the MAC over the statement without its ``signature`` member
(JSON with sorted keys, no spaces, UTF-8, integral numbers written as integers) and compare in constant time. ``key_id`` (the first 16 hex
digits of SHA-256 of the key) says which key signed, so a changed secret is told apart from a changed
statement. (HMAC rather than Ed25519: no public-key library is installed, and both parties verify
through the platform that holds their settlement anyway.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from accounts.tokens import secret_key
from optimizer.settings import Settings, get_settings

ALG = "HMAC-SHA256"
LABEL = b"cbec-sharing-statement-v1"


def signing_key(settings: Settings | None = None) -> bytes:
    return hmac.new(secret_key(settings or get_settings()).encode(), LABEL, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def _normal(value: Any) -> Any:
    """Numbers as JSON readers see them: an integral float is the integer (``120.0`` and ``120`` sign alike)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def canonical(doc: dict[str, Any]) -> bytes:
    """The signed bytes: the statement without ``signature``, integral numbers as integers, sorted keys, no
    spaces, UTF-8."""
    body = _normal({k: v for k, v in doc.items() if k != "signature"})
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sign(doc: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """``doc`` with a ``signature`` member (alg, key_id, signed_at, value)."""
    key = signing_key(settings)
    body = {**{k: v for k, v in doc.items() if k != "signature"},
            "signed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    mac = hmac.new(key, canonical(body), hashlib.sha256).hexdigest()
    return {**body, "signature": {"alg": ALG, "key_id": key_id(key), "value": mac}}


def verify(doc: dict[str, Any], settings: Settings | None = None) -> tuple[bool, str]:
    """(valid, why): whether ``doc``'s signature is this deployment's over exactly its content."""
    sig = doc.get("signature") if isinstance(doc, dict) else None
    if not isinstance(sig, dict) or sig.get("alg") != ALG or not isinstance(sig.get("value"), str):
        return False, f"no {ALG} signature member"
    key = signing_key(settings)
    if sig.get("key_id") != key_id(key):
        return False, "signed with another key (another deployment, or CBEC_SECRET_KEY changed)"
    good = hmac.new(key, canonical(doc), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(good, sig["value"]):
        return False, "the statement was changed after it was signed"
    return True, "valid"
