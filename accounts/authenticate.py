"""Credentials -> :class:`~accounts.principal.Principal`, with a short in-memory cache.

A verified API key, device key or token user is kept ``TTL_S`` (60 s) in this process's memory, keyed
by the SHA-256 of the key (never the key itself): a cached request costs a hash and a dict look-up,
no database. What ends a credential:

* in this process, at once: revocation through this :class:`Authenticator` (``DELETE /v1/keys/{id}``,
  a device key rotation) drops the cached entries;
* in other processes (other API workers, the CLI): every revocation bumps ``acc_counters.revocations``
  and each process reads that counter at most every ``POLL_S`` (5 s) and then drops its whole cache.
  So a key revoked elsewhere stops working within ``POLL_S`` seconds, and ``TTL_S`` bounds it even if
  the counter could not be read;
* an expiry time (a key's ``expires``, a token's ``exp``) is checked on every request, cached or not.

``last_used`` of a key is written when the key is verified against the database (at most once per
``TTL_S`` per process, in a background thread): it is accurate to about a minute.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import threading
import time

from accounts import devices as dev_store
from accounts import store, tokens
from accounts.credentials import API_KEY_PREFIX, DEVICE_KEY_PREFIX, key_hash, parse_key, same_hash
from accounts.errors import Unauthenticated
from accounts.principal import DEVICE_ROLE, Principal
from optimizer.settings import Settings
from storage.db import Database

TTL_S = 60.0
POLL_S = 5.0
CACHE_MAX = 50_000
log = logging.getLogger("accounts.auth")


class Authenticator:
    """One per API process and database (``app.state``); thread-safe."""

    def __init__(self, db: Database, settings: Settings, *, ttl_s: float = TTL_S, poll_s: float = POLL_S) -> None:
        self.db = db
        self.settings = settings
        self.ttl_s = ttl_s
        self.poll_s = poll_s
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        self._seen_revocations: int | None = None
        self._next_poll = 0.0
        self._secret: str | None = None

    # --- the secret key and tokens --------------------------------------------------------------------
    @property
    def secret(self) -> str:
        if self._secret is None:
            self._secret = tokens.secret_key(self.settings)
        return self._secret

    def issue_token(self, email: str, password: str, *, now: float | None = None,
                    minutes: float = tokens.TOKEN_MINUTES) -> tuple[str, int]:
        """The OAuth2 password flow: (access token, lifetime in seconds) or :class:`Unauthenticated`."""
        user = store.login(self.db, email, password)
        return tokens.issue(self.secret, user_id=user.user_id, org_id=user.org_id, role=user.role, now=now,
                            minutes=minutes)

    # --- the cache ------------------------------------------------------------------------------------
    def _poll(self) -> None:
        now = time.monotonic()
        if now < self._next_poll:
            return
        with self._lock:
            if now < self._next_poll:
                return
            self._next_poll = now + self.poll_s
            try:
                with self.db.engine.connect() as conn:
                    seen = store.revocations(conn)
            except Exception:  # noqa: BLE001 - unreadable: the TTL still bounds what the cache keeps
                log.warning("cannot read the revocation counter; cached credentials live at most %.0f s", self.ttl_s)
                return
            if seen != self._seen_revocations:
                if self._seen_revocations is not None:
                    self._cache.clear()
                self._seen_revocations = seen

    def _cached(self, slot: str) -> Principal | None:
        hit = self._cache.get(slot)
        if hit is None:
            return None
        if hit[1] <= time.monotonic():
            self._cache.pop(slot, None)
            return None
        return hit[0]

    def _keep(self, slot: str, principal: Principal) -> None:
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[slot] = (principal, time.monotonic() + self.ttl_s)

    def forget(self, *, key_id: str | None = None, device_id: str | None = None, user_id: str | None = None) -> None:
        """Drop cached credentials at once (after a revocation, rotation or disabling in this process)."""
        for slot, (p, _) in list(self._cache.items()):
            if (key_id is not None and p.key_id == key_id) or (device_id is not None and p.device_id == device_id) \
                    or (user_id is not None and p.user_id == user_id):
                self._cache.pop(slot, None)

    def clear(self) -> None:
        self._cache.clear()

    # --- the credentials ------------------------------------------------------------------------------
    def authenticate(self, *, authorization: str | None = None, api_key: str | None = None,
                     device_key: str | None = None) -> Principal | None:
        """The principal of a request's headers (``Authorization``, ``X-API-Key``, ``X-Device-Key``);
        None when it carries none; :class:`Unauthenticated` when what it carries is not valid."""
        return self._authenticate(authorization, api_key, device_key, cache_only=False)

    def peek(self, *, authorization: str | None = None, api_key: str | None = None,
             device_key: str | None = None) -> Principal | None:
        """:meth:`authenticate` from the cache only, without the database (for the event loop): None
        when the credential is not cached or the revocation counter is due to be read."""
        if time.monotonic() >= self._next_poll:
            return None
        return self._authenticate(authorization, api_key, device_key, cache_only=True)

    def _authenticate(self, authorization: str | None, api_key: str | None, device_key: str | None, *,
                      cache_only: bool) -> Principal | None:
        given = [h for h in (authorization, api_key, device_key) if h is not None]
        if not given:
            return None
        if not given[0].strip():
            raise Unauthenticated("the credential header is empty")
        if len(given) > 1:
            raise Unauthenticated("send one credential: Authorization, X-API-Key or X-Device-Key, not several")
        if not cache_only:
            self._poll()  # first: a revocation elsewhere empties the cache before it is read
        if api_key:
            return self.api_key(api_key.strip(), cache_only=cache_only)
        if device_key:
            return self.device_key(device_key.strip(), cache_only=cache_only)
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            if value.startswith(API_KEY_PREFIX):
                return self.api_key(value, cache_only=cache_only)
            return self.token(value, cache_only=cache_only)
        if scheme.lower() == "basic" and value:
            device_id, key = _basic(value)
            return self.device_key(key, device_id=device_id, cache_only=cache_only)
        raise Unauthenticated("the Authorization header must be 'Bearer <token or API key>' (or, for a device, "
                              "'Basic <device id:key>')")

    def api_key(self, key: str, *, cache_only: bool = False) -> Principal | None:
        parsed = parse_key(key)
        if parsed is None or parsed[0] != API_KEY_PREFIX:
            raise Unauthenticated("malformed API key (cbk_<id>_<secret>, as shown when it was created)")
        digest = key_hash(key)
        slot = "k" + digest
        p = self._cached(slot)
        now = store.now_ms()
        if p is None:
            if cache_only:
                return None
            with self.db.engine.connect() as conn:
                row = store.key_row(conn, parsed[1])
            if row is None or not same_hash(row.secret_hash, digest):
                raise Unauthenticated("invalid API key")
            if row.revoked_ms is not None:
                raise Unauthenticated(f"the API key {row.key_id} was revoked")
            p = Principal(org_id=row.org_id, key_id=row.key_id, role=row.role, org_kind=row.org_kind,
                          expires_ms=row.expires_ms)
            if p.expires_ms is None or p.expires_ms > now:
                self._keep(slot, p)
                threading.Thread(target=self._touch, args=(row.key_id, now), daemon=True).start()
        if p.expires_ms is not None and p.expires_ms <= now:
            raise Unauthenticated(f"the API key {p.key_id} has expired")
        return p

    def _touch(self, key_id: str, at_ms: int) -> None:
        try:
            store.touch_key(self.db, key_id, at_ms)
        except Exception:  # noqa: BLE001 - last_used is informational: never fail a request for it
            log.debug("could not record the use of key %s", key_id, exc_info=True)

    def token(self, token: str, *, cache_only: bool = False) -> Principal | None:
        if len(token) > 4096:
            raise Unauthenticated("the bearer token is invalid (too long)")
        if cache_only and self._secret is None:
            return None  # reading the key file is no work for the event loop
        claims = tokens.verify(self.secret, token)
        slot = "u" + claims["sub"]
        p = self._cached(slot)
        if p is None:
            if cache_only:
                return None
            with self.db.engine.connect() as conn:
                row = store.get_user(conn, claims["sub"])
            if row is None or row.org_id != claims["org"]:
                raise Unauthenticated("the bearer token's user does not exist")
            if row.disabled_ms is not None:
                raise Unauthenticated("the bearer token's user is disabled")
            p = Principal(org_id=row.org_id, user_id=row.user_id, role=row.role, org_kind=row.org_kind)
            self._keep(slot, p)
        return dataclasses.replace(p, expires_ms=int(claims["exp"]) * 1000)

    def device_key(self, key: str, *, device_id: str | None = None, cache_only: bool = False) -> Principal | None:
        parsed = parse_key(key)
        if parsed is None or parsed[0] != DEVICE_KEY_PREFIX:
            raise Unauthenticated("malformed device key (cbd_<id>_<secret>, as shown when it was issued)",
                                  scheme="Basic", error=None)
        digest = key_hash(key)
        slot = "d" + digest
        p = self._cached(slot)
        if p is None:
            if cache_only:
                return None
            with self.db.engine.connect() as conn:
                row = dev_store.credential_row(conn, parsed[1])
            if row is None or not same_hash(row.secret_hash, digest):
                raise Unauthenticated("invalid device key", scheme="Basic", error=None)
            if row.device_org != row.org_id:
                raise Unauthenticated(f"device '{row.device_id}' is no longer registered to the key's organisation",
                                      scheme="Basic", error=None)
            p = Principal(org_id=row.org_id, role=DEVICE_ROLE, org_kind=row.org_kind, device_id=row.device_id,
                          key_id=row.key_id)
            self._keep(slot, p)
        if device_id is not None and device_id != p.device_id:
            raise Unauthenticated("the user name of Basic authentication must be the device id its key belongs to",
                                  scheme="Basic", error=None)
        return p


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthenticated("Basic credentials must be base64 of 'device id:key'", scheme="Basic",
                              error=None) from None
    device_id, sep, key = decoded.partition(":")
    if not sep or not device_id or not key:
        raise Unauthenticated("Basic credentials must be base64 of 'device id:key'", scheme="Basic", error=None)
    return device_id, key


__all__ = ["Authenticator", "POLL_S", "TTL_S"]
