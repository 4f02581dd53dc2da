"""Webhook subscriptions of an organisation and their delivery log (the use cases both faces call).

Every function is scoped by ``org_id``: another organisation's subscription is unknown (404) exactly
like a missing one. The secret is returned once, at creation; it is kept (it signs every delivery).
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, func, select

from optimizer.errors import CbecError, InvalidInput
from storage.db import Database
from webhooks.events import EVENT_TYPES
from webhooks.signing import new_secret
from webhooks.tables import attempts, deliveries, events, subscriptions
from webhooks.targets import refusal

MAX_PER_ORG = 20
PAGE_MAX = 500


class UnknownSubscription(CbecError):
    status = 404
    title = "Not found"

    def __init__(self, sub_id: str) -> None:
        super().__init__(f"no webhook subscription '{sub_id[:80]}'", field="id")


@dataclass(frozen=True)
class Subscription:
    """An endpoint of an organisation and the event types it takes."""

    sub_id: str
    org_id: str
    url: str
    event_types: tuple[str, ...]
    description: str | None
    active: bool
    created_ms: int


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt of a delivery: the status code, or the error when there was no answer."""

    attempt: int
    started_ms: int
    duration_ms: int
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class Delivery:
    """One event to one endpoint, with its attempts (the delivery log)."""

    delivery_id: str
    event_id: str
    event_type: str
    status: str  # pending | delivered | failed
    attempts: int
    next_attempt_ms: int | None
    last_status_code: int | None
    last_error: str | None
    created_ms: int
    finished_ms: int | None
    log: list[Attempt] = field(default_factory=list)


def check_url(url: str, *, allow_private: bool = False) -> str:
    """``url`` if it is an absolute http(s) URL of at most 2,048 characters without credentials; a literal
    address that is not public (loopback, private, link-local, multicast, reserved, unspecified) or the name
    ``localhost`` only with ``allow_private`` (a partner's endpoint is public: the service must not be turned
    into a probe of its own network). Host names are checked again, resolved, at every delivery."""
    if not isinstance(url, str) or len(url) > 2048 or not url.isprintable():
        raise InvalidInput("url must be a printable URL of at most 2,048 characters", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url must be an absolute http:// or https:// URL", field="url")
    if parts.username or parts.password:
        raise InvalidInput("url must not carry credentials (the signature authenticates the service)", field="url")
    host = parts.hostname
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    # what can be seen here: a literal address or the name localhost. A name resolving to a private address
    # passes, and is refused when a delivery connects (webhooks.targets: the check that counts)
    local = host == "localhost" or host.endswith(".localhost") or (address is not None
                                                                  and refusal(str(address)) is not None)
    if local and not allow_private:
        raise InvalidInput(f"url points at a local or private address ({host}); partners' endpoints must be "
                           "public (CBEC_WEBHOOKS_ALLOW_PRIVATE=1 allows them, for tests and closed networks)",
                           field="url")
    return url


def check_event_types(types: list[str]) -> tuple[str, ...]:
    if not types:
        raise InvalidInput(f"event_types must name at least one of {', '.join(EVENT_TYPES)}", field="event_types")
    for i, t in enumerate(types):
        if t not in EVENT_TYPES:
            raise InvalidInput(f"unknown event type '{str(t)[:60]}' (one of {', '.join(EVENT_TYPES)})",
                               field=f"event_types[{i}]")
    return tuple(sorted(set(types)))


def _sub(r) -> Subscription:
    return Subscription(r.sub_id, r.org_id, r.url, tuple(filter(None, r.event_types.split(","))), r.description,
                        bool(r.active), r.created_ms)


def create_subscription(db: Database, org_id: str, url: str, event_types: list[str], *, description: str | None = None,
                        now_ms: int, allow_private: bool = False) -> tuple[Subscription, str]:
    """A new active subscription of ``org_id``; returns it and its secret (shown once)."""
    check_url(url, allow_private=allow_private)
    types = check_event_types(event_types)
    secret = new_secret()
    sub = Subscription("whk_" + uuid.uuid4().hex[:20], org_id, url, types, description, True, now_ms)
    with db.engine.begin() as conn:
        n = conn.execute(select(func.count()).select_from(subscriptions)
                         .where(subscriptions.c.org_id == org_id)).scalar_one()
        if n >= MAX_PER_ORG:
            raise InvalidInput(f"an organisation has at most {MAX_PER_ORG} webhook subscriptions; delete one first",
                               field="url")
        conn.execute(subscriptions.insert().values(sub_id=sub.sub_id, org_id=org_id, url=url, secret=secret,
                                                   event_types=",".join(types), description=description,
                                                   active=True, created_ms=now_ms))
    return sub, secret


def list_subscriptions(db: Database, org_id: str) -> list[Subscription]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(subscriptions).where(subscriptions.c.org_id == org_id)
                            .order_by(subscriptions.c.created_ms, subscriptions.c.sub_id))
        return [_sub(r) for r in rows]


def get_subscription(db: Database, org_id: str, sub_id: str) -> Subscription:
    with db.engine.connect() as conn:
        r = conn.execute(select(subscriptions).where(and_(subscriptions.c.org_id == org_id,
                                                          subscriptions.c.sub_id == sub_id))).first()
    if r is None:
        raise UnknownSubscription(sub_id)
    return _sub(r)


def delete_subscription(db: Database, org_id: str, sub_id: str) -> None:
    """Remove the subscription; its pending deliveries fail ("subscription removed"), its log is kept."""
    with db.engine.begin() as conn:
        res = conn.execute(delete(subscriptions).where(and_(subscriptions.c.org_id == org_id,
                                                            subscriptions.c.sub_id == sub_id)))
        if not res.rowcount:
            raise UnknownSubscription(sub_id)


def list_deliveries(db: Database, org_id: str, sub_id: str, *, status: str | None = None, limit: int = 50,
                    offset: int = 0) -> list[Delivery]:
    """The delivery log of a subscription, newest first, each with its attempts."""
    get_subscription(db, org_id, sub_id)
    d, e = deliveries.c, events.c
    cond = [d.org_id == org_id, d.sub_id == sub_id]
    if status is not None:
        cond.append(d.status == status)
    with db.engine.connect() as conn:
        rows = conn.execute(select(d.delivery_id, d.event_id, e.event_type, d.status, d.attempts, d.next_attempt_ms,
                                   d.last_status_code, d.last_error, d.created_ms, d.finished_ms)
                            .join(events, e.event_id == d.event_id).where(and_(*cond))
                            .order_by(d.created_ms.desc(), d.delivery_id).limit(min(limit, PAGE_MAX))
                            .offset(offset)).all()
        ids = [r.delivery_id for r in rows]
        logs: dict[str, list[Attempt]] = {i: [] for i in ids}
        if ids:
            a = attempts.c
            for r in conn.execute(select(attempts).where(a.delivery_id.in_(ids)).order_by(a.delivery_id, a.attempt)):
                logs[r.delivery_id].append(Attempt(r.attempt, r.started_ms, r.duration_ms, r.status_code, r.error))
    return [Delivery(r.delivery_id, r.event_id, r.event_type, r.status, r.attempts,
                     r.next_attempt_ms if r.status == "pending" else None, r.last_status_code, r.last_error,
                     r.created_ms, r.finished_ms, logs[r.delivery_id]) for r in rows]
