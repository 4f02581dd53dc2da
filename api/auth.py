"""Who is calling: the principal every router reads (``PrincipalDep``), and the role checks.

Credentials (``accounts/README.md``):

* people: ``Authorization: Bearer <JWT>`` from the OAuth2 password flow (``POST /v1/token``);
* machines: an API key, as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``;
* devices (``POST /v1/telemetry`` only): their own key, as HTTP Basic ``DEVICE_ID:KEY`` or
  ``X-Device-Key: <key>``.

:func:`get_principal` gives the anonymous principal when a request carries no credential, and a 401
problem with ``WWW-Authenticate`` when it carries one that is malformed, unknown, expired or revoked
(also on routes open to anonymous callers: a bad credential is never silently ignored). The routes
of an organisation's records take :data:`MemberDep` (401 without a credential, 403 for a device key),
the administration routes :data:`AdminDep` (403 for other roles), telemetry :data:`DeviceDep`. Each
declares its security schemes in the OpenAPI document; :data:`AUTH_ERRORS` documents their 401/403.

Verified credentials are cached in memory (``accounts.authenticate``): on a cached request the
dependency costs a SHA-256 and a dict look-up on the event loop; only a miss goes to a thread and the
database.

Anonymous callers of the open routes that cost CPU (``POST /v1/quotes``) are rate-limited per client
address by :func:`anonymous_rate_limit` (a token bucket per address in each API process, settings
``CBEC_ANON_QUOTES_PER_MIN`` and ``CBEC_ANON_QUOTES_BURST``; 429 with ``Retry-After`` beyond); a caller with
a credential is not limited. The check costs a few microseconds on the event loop.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPBasic, OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from accounts.authenticate import Authenticator
from accounts.errors import Unauthenticated
from accounts.principal import ANONYMOUS, Principal

__all__ = ["ANONYMOUS", "AUTH_ERRORS", "AdminDep", "AnonQuoteLimitDep", "AuthenticatorDep", "DEVICE_AUTH_ERRORS",
           "DeviceDep", "MemberDep", "Principal", "PrincipalDep", "RATE_LIMITED", "TokenBuckets",
           "anonymous_rate_limit", "authenticator", "client_key", "get_principal", "limit_anonymous_quotes", "require",
           "require_admin", "require_device", "require_member"]

_lock = threading.Lock()
BEARER_CHALLENGE = 'Bearer realm="cbec"'
DEVICE_CHALLENGE = 'Basic realm="cbec-devices"'


# --- the security schemes, as the OpenAPI document states them ---------------------------------------
# Documentation only (``__call__`` returns None): get_principal reads the headers itself, once.
class _Bearer(OAuth2PasswordBearer):
    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


class _Header(APIKeyHeader):
    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


class _Basic(HTTPBasic):
    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


bearer_scheme = _Bearer(tokenUrl="/v1/token", scheme_name="OAuth2PasswordBearer", auto_error=False,
                        description="a person's access token (OAuth2 password flow, POST /v1/token); an API key "
                                    "is accepted as a bearer token too")
api_key_scheme = _Header(name="X-API-Key", scheme_name="APIKeyHeader", auto_error=False,
                         description="an organisation's API key (cbk_...), created with POST /v1/keys")
device_basic_scheme = _Basic(scheme_name="DeviceBasic", realm="cbec-devices", auto_error=False,
                             description="a device's own credential: user name = device id, password = device key")
device_key_scheme = _Header(name="X-Device-Key", scheme_name="DeviceKeyHeader", auto_error=False,
                            description="a device's own key (cbd_...), issued with the binding")


AUTH_ERRORS = {"401": "no credential, or a malformed, unknown, expired or revoked one (WWW-Authenticate says "
                      "which scheme)",
               "403": "the credential's role may not do this (a device key, or not an admin)"}
"""``responses=problems(**AUTH_ERRORS, ...)`` on every route that takes MemberDep or AdminDep."""
DEVICE_AUTH_ERRORS = {"401": "no device credential, or a wrong one (WWW-Authenticate: Basic)",
                      "403": "not a device key, or the topic is another device's"}


# --- the principal ------------------------------------------------------------------------------------
def authenticator(request: Request) -> Authenticator:
    """This app's :class:`Authenticator` (one per app and database, on ``app.state``)."""
    state = request.app.state
    auth = getattr(state, "authenticator", None)
    if auth is None:
        with _lock:
            auth = getattr(state, "authenticator", None)
            if auth is None:
                auth = state.authenticator = Authenticator(_database(state), state.settings)
    return auth


def _database(state):
    """The app's database, as ``api.deps.get_ingest_db`` finds it (api.deps imports this module, so
    this one cannot import it): the ingest's under ``cbec serve``, else opened from the settings."""
    db = getattr(state, "ingest_db", None)
    if db is None:
        pipe = getattr(state, "ingest_pipeline", None)
        if pipe is not None:
            return pipe.db
        from storage.db import open_db

        db = state.ingest_db = open_db(state.settings.database_url)
    return db


AuthenticatorDep = Annotated[Authenticator, Depends(authenticator)]


def unauthorized(exc: Unauthenticated) -> HTTPException:
    return HTTPException(401, exc.detail, headers={"WWW-Authenticate": exc.challenge})


async def get_principal(request: Request) -> Principal:
    """The caller of this request (anonymous without credentials; 401 for bad ones)."""
    h = request.headers
    authorization, api_key, device_key = h.get("authorization"), h.get("x-api-key"), h.get("x-device-key")
    if authorization is None and api_key is None and device_key is None:
        return ANONYMOUS
    auth = getattr(request.app.state, "authenticator", None)
    if auth is None:
        auth = await run_in_threadpool(authenticator, request)  # may open the database
    try:
        principal = auth.peek(authorization=authorization, api_key=api_key, device_key=device_key)
        if principal is None:  # not cached (or a revocation poll is due): verify in a thread
            principal = await run_in_threadpool(lambda: auth.authenticate(
                authorization=authorization, api_key=api_key, device_key=device_key))
    except Unauthenticated as exc:
        raise unauthorized(exc) from None
    return principal or ANONYMOUS


PrincipalDep = Annotated[Principal, Depends(get_principal)]


# --- the role checks ----------------------------------------------------------------------------------
async def require_member(principal: PrincipalDep, _bearer: Annotated[None, Depends(bearer_scheme)],
                         _key: Annotated[None, Depends(api_key_scheme)]) -> Principal:
    """A person or machine of an organisation (member, admin or analyst): 401 anonymous, 403 a device."""
    if principal.anonymous:
        raise HTTPException(401, "authentication required: send an API key (X-API-Key, or Authorization: Bearer) "
                                 "or a bearer token (POST /v1/token)", headers={"WWW-Authenticate": BEARER_CHALLENGE})
    if principal.is_device:
        raise HTTPException(403, "a device key may only post its own telemetry (POST /v1/telemetry)")
    return principal


MemberDep = Annotated[Principal, Depends(require_member)]


def require(*roles: str):
    """A dependency admitting members whose role is one of ``roles`` (403 otherwise):
    ``Annotated[Principal, Depends(require("admin", "analyst"))]``."""

    async def check(principal: MemberDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"this needs the {' or '.join(roles)} role in the organisation "
                                     f"(this credential has {principal.role})")
        return principal

    check.__name__ = f"require_{'_'.join(roles)}"
    return check


require_admin = require("admin")
AdminDep = Annotated[Principal, Depends(require_admin)]


async def require_device(principal: PrincipalDep, _basic: Annotated[None, Depends(device_basic_scheme)],
                         _key: Annotated[None, Depends(device_key_scheme)]) -> Principal:
    """A device's own credential: 401 without one, 403 for an organisation's key or token."""
    if principal.anonymous:
        raise HTTPException(401, "a device credential is required: HTTP Basic DEVICE_ID:KEY or X-Device-Key",
                            headers={"WWW-Authenticate": DEVICE_CHALLENGE})
    if not principal.is_device:
        raise HTTPException(403, "telemetry takes a device's own key (issued with its binding), not an "
                                 "organisation's key or token")
    return principal


DeviceDep = Annotated[Principal, Depends(require_device)]


# --- the rate limit of anonymous callers ------------------------------------------------------------------
class TokenBuckets:
    """A token bucket per client, in this process's memory: ``burst`` requests at once, then ``per_min``
    a minute. Read and written on the event loop only (async dependencies), so it takes no lock; a
    request costs a clock read, a dict look-up and a little arithmetic.

    Memory is bounded: past ``max_clients`` buckets, those full again (their client quiet long enough)
    are dropped, then, if still too many, the least recently used half."""

    __slots__ = ("_buckets", "burst", "clock", "max_clients", "per_min", "rate")

    def __init__(self, per_min: float, burst: int, *, max_clients: int = 100_000, clock=time.monotonic) -> None:
        if per_min <= 0 or burst < 1:
            raise ValueError("a bucket needs a positive rate and a burst of at least one request")
        self.per_min, self.rate, self.burst = per_min, per_min / 60.0, float(burst)
        self.max_clients, self.clock = max_clients, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when they were counted)

    def take(self, client: str) -> float:
        """Take one token of ``client``'s bucket: 0.0 when there was one, else the seconds until there is."""
        now = self.clock()
        held = self._buckets.get(client)
        tokens = self.burst if held is None else min(self.burst, held[0] + (now - held[1]) * self.rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            if held is None and len(self._buckets) > self.max_clients:
                self._prune(now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _prune(self, now: float) -> None:
        rate, burst = self.rate, self.burst
        kept = {k: v for k, v in self._buckets.items() if v[0] + (now - v[1]) * rate < burst}
        if len(kept) > self.max_clients // 2:
            kept = dict(sorted(kept.items(), key=lambda kv: kv[1][1])[len(kept) - self.max_clients // 2:])
        self._buckets = kept


@functools.lru_cache(maxsize=4096)
def client_key(host: str) -> str:
    """The key a client is limited under: its IPv4 address, or the /64 network of an IPv6 address (one
    subscriber usually holds a whole /64); an IPv4-mapped IPv6 address counts as the IPv4 one."""
    if ":" not in host:
        return host
    try:
        addr = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return host
    if addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(ipaddress.IPv6Network((addr, 64), strict=False))


RATE_LIMITED = {"429": "too many requests without a credential from this client address (Retry-After says when to "
                       "retry; send an API key or bearer token to be not limited)"}
"""``responses=problems(**RATE_LIMITED, ...)`` on every route that takes a rate limit of anonymous callers."""


def anonymous_rate_limit(name: str, per_min_setting: str, burst_setting: str, what: str):
    """A dependency limiting anonymous callers of a route to the rate of two settings, per client address
    (the connection's peer: behind a proxy, uvicorn's ``--proxy-headers`` with ``--forwarded-allow-ips``
    (``FORWARDED_ALLOW_IPS``) must name the proxy, so that the peer is the real client). Authenticated
    callers pass unlimited; a bad credential is a 401 (never silently anonymous). The buckets are this
    process's (``app.state.rate_limits[name]``): N API processes allow up to N times the rate."""

    def buckets(state) -> TokenBuckets | None:
        limits = getattr(state, "rate_limits", None)
        if limits is None:
            limits = state.rate_limits = {}
        if name not in limits:
            per_min = getattr(state.settings, per_min_setting)
            limits[name] = TokenBuckets(per_min, getattr(state.settings, burst_setting)) if per_min > 0 else None
        return limits[name]

    async def limit(request: Request, principal: PrincipalDep) -> Principal:
        if not principal.anonymous:
            return principal
        state = request.app.state
        limits = getattr(state, "rate_limits", None)
        bucket = limits[name] if limits is not None and name in limits else buckets(state)
        if bucket is None:
            return principal
        peer = request.scope.get("client")
        wait = bucket.take(client_key(peer[0]) if peer else "unknown")
        if wait:
            retry = max(1, math.ceil(wait))
            raise HTTPException(429, f"more than {bucket.burst:g} {what} at once or {bucket.per_min:g} a minute "
                                     f"without a credential from this address: retry in {retry} s, or send an API "
                                     "key (X-API-Key) or a bearer token to be not limited",
                                headers={"Retry-After": str(retry)})
        return principal

    limit.__name__ = f"limit_anonymous_{name}"
    return limit


limit_anonymous_quotes = anonymous_rate_limit("quotes", "anon_quotes_per_min", "anon_quotes_burst", "quotes")
AnonQuoteLimitDep = Annotated[Principal, Depends(limit_anonymous_quotes)]
"""The caller of POST /v1/quotes, anonymous ones limited by ``CBEC_ANON_QUOTES_PER_MIN``/``_BURST``."""
