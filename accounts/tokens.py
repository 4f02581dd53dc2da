"""Bearer tokens for people: the OAuth2 password flow (``POST /v1/token``) gives a short-lived JWT.

HS256, signed with ``CBEC_SECRET_KEY``. Unset, a key is generated once (256 random bits) and kept in
``$CBEC_VAR_DIR/secret_key`` (mode 0600), so that a restart keeps the tokens it issued valid; several
API processes on one machine share that file (the first one creates it, atomically). Processes on
several machines must be given the same ``CBEC_SECRET_KEY``. Changing the key ends every token at once
(people sign in again; API keys are not affected).

Claims: ``sub`` (user id), ``org``, ``role`` (informational: the role in force is read from the user
row, so a demotion or a disabled user applies within the credential cache's life), ``iat``, ``exp``
(``TOKEN_MINUTES`` after issue), ``iss``, ``typ`` = ``access``. No refresh tokens: sign in again.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import jwt

from accounts.errors import Unauthenticated
from optimizer.settings import Settings

TOKEN_MINUTES = 30
ISSUER = "cbec-logistics"
ALGORITHM = "HS256"
SECRET_FILE = "secret_key"


def secret_key(settings: Settings) -> str:
    """``CBEC_SECRET_KEY``, else the key kept under ``var_dir`` (created on first use)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = Path(settings.var_dir) / SECRET_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # atomic, and never replaces a key another process wrote first
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key (delete it to generate one, or set CBEC_SECRET_KEY)")
    return key


def issue(key: str, *, user_id: str, org_id: str, role: str, now: float | None = None,
          minutes: float = TOKEN_MINUTES) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    now = time.time() if now is None else now
    life = int(minutes * 60)
    claims = {"sub": user_id, "org": org_id, "role": role, "iat": int(now), "exp": int(now) + life, "iss": ISSUER,
              "typ": "access", "jti": secrets.token_urlsafe(8)}
    return jwt.encode(claims, key, algorithm=ALGORITHM), life


def verify(key: str, token: str) -> dict:
    """The claims of a valid, unexpired token; :class:`Unauthenticated` otherwise."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["sub", "org", "exp", "iat", "iss"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the bearer token has expired: request a new one (POST /v1/token)") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the bearer token is invalid (not one this service issued, or altered)") from None
    if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str) or not isinstance(claims.get("org"), str):
        raise Unauthenticated("the bearer token is not an access token")
    return claims


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("eyJ")


__all__ = ["TOKEN_MINUTES", "issue", "looks_like_jwt", "secret_key", "verify"]
