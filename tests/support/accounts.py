"""Shared by the tests of the tracking routes: an organisation (tenant) with an admin key, a member key and
device credentials, and an ``httpx.Auth`` that signs each request as the tenant would.

    tenant = make_tenant(db)                         # operator-made, as `cbec orgs create` does
    tenant.bind(db, net, "TRK1", shipment="S1")      # binds in the tenant's organisation, issues its key
    client.auth = tenant.auth()                      # member key on every route, the topic's device key on telemetry
"""

from __future__ import annotations

import uuid
from collections.abc import Generator
from dataclasses import dataclass, field

import httpx

from accounts import devices as device_credentials
from accounts.store import create_key, create_org
from iot_ingest.registry import bind_device, topic_device

AUTH_HEADERS = ("authorization", "x-api-key", "x-device-key")


@dataclass
class Tenant:
    org_id: str
    name: str
    admin_key: str
    member_key: str
    device_keys: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """A member's API key."""
        return {"X-API-Key": self.member_key}

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.admin_key}

    def device_headers(self, device_id: str) -> dict[str, str]:
        return {"X-Device-Key": self.device_keys[device_id]}

    def basic(self, device_id: str) -> httpx.BasicAuth:
        return httpx.BasicAuth(device_id, self.device_keys[device_id])

    def issue(self, db, device_id: str) -> str:
        """A (new) credential for one of the tenant's devices."""
        self.device_keys[device_id] = device_credentials.issue(db, device_id, org_id=self.org_id)[1]
        return self.device_keys[device_id]

    def bind(self, db, net, device_id: str, **binding) -> str:
        """Bind a device in the tenant's organisation (``shipment=`` or ``warehouse=``, thresholds) and
        issue its credential; returns the device key."""
        bind_device(db, net, device_id, org=self.org_id, **binding)
        return self.issue(db, device_id)

    def auth(self) -> "TenantAuth":
        return TenantAuth(self)


def make_tenant(db, name: str | None = None, kind: str = "forwarder") -> Tenant:
    """A new organisation with an admin key and a member key (an operator creates it: no bootstrap rule)."""
    name = name or f"tenant-{uuid.uuid4().hex[:8]}"
    org, admin_key, _, _ = create_org(db, name, kind)
    _, member_key = create_key(db, org.org_id, "tests", "member")
    return Tenant(org.org_id, org.name, admin_key, member_key)


class TenantAuth(httpx.Auth):
    """Adds the tenant's credential to a request that carries none: on ``POST /v1/telemetry`` the key of
    the device the topic names (else the tenant's first device: the request must get past
    authentication to meet the check it is testing), elsewhere the member key."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not any(h in request.headers for h in AUTH_HEADERS):
            if request.url.path == "/v1/telemetry":
                keys = self.tenant.device_keys
                device = topic_device(request.url.params.get("topic") or "")
                key = keys.get(device) if device else None
                if key is None and keys:
                    key = next(iter(keys.values()))
                if key is not None:
                    request.headers["X-Device-Key"] = key
            else:
                request.headers["X-API-Key"] = self.tenant.member_key
        yield request


def database_of(app_or_settings):
    """The database an app (or settings) reads, migrated: ``app.state.ingest_db`` when the app was given one,
    else opened from the settings' ``database_url`` (created on first use, like the embedded default)."""
    from storage.db import open_db

    state = getattr(app_or_settings, "state", None)
    if state is not None:
        db = getattr(state, "ingest_db", None)
        if db is not None:
            return db, False
        app_or_settings = state.settings
    return open_db(app_or_settings.database_url, migrate=True), True


def app_tenant(app_or_settings, name: str | None = None, kind: str = "forwarder") -> Tenant:
    """A new tenant in the database ``app_or_settings`` reads (an app, or its ``Settings``): the routes of
    an organisation's records (plans, designs, simulations, jobs, tracking) then take ``tenant.headers``."""
    db, opened = database_of(app_or_settings)
    try:
        return make_tenant(db, name, kind)
    finally:
        if opened:
            db.dispose()


def member_client(client, tenant: Tenant):
    """``client`` (a TestClient or httpx.Client) sending ``tenant``'s member key on every request that
    carries no credential of its own; returns the client."""
    client.auth = tenant.auth()
    return client


PUBLIC = frozenset({("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/"), ("GET", "/openapi.json"),
                    ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"), ("GET", "/v1/network"),
                    ("GET", "/v1/nodes"), ("POST", "/v1/quotes"), ("POST", "/v1/token"), ("POST", "/v1/orgs")})
"""The operations open to anonymous callers (issue 16: the network, quotes, health, sign-in, the bootstrap);
every other operation of the API requires a credential."""


def is_public(method: str, path: str) -> bool:
    return (method.upper(), path) in PUBLIC


class MemberAuth(TenantAuth):
    """As :class:`TenantAuth`, but the public operations (:data:`PUBLIC`) stay anonymous: a hostile or fuzzed
    quote is sent as an anonymous client would send it (rate-limited), everything else as the tenant's member."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if is_public(request.method, request.url.path):
            yield request
            return
        yield from super().auth_flow(request)
