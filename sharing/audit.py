"""The audit trail of shared-warehouse capacity: every change to an offer, booking, profile, partner list
or stock movement, with who made it, when and what changed. Written in the same transaction as the change."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from accounts.principal import Principal
from sharing import tables as t
from storage.db import Database


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: an organisation's user or key, an operator at the CLI, or the system."""

    org_id: str | None
    name: str  # user id, key id, "cli" or "system"

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.org_id, principal.user_id or principal.key_id or "unknown")


SYSTEM = Actor(None, "system")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at_ms: int
    actor_org: str | None
    actor: str | None
    subject: str
    subject_id: str
    action: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"at_ms": self.at_ms, "actor_org": self.actor_org, "actor": self.actor, "subject": self.subject,
                "subject_id": self.subject_id, "action": self.action, "detail": self.detail}


def now_ms() -> int:
    return int(time.time() * 1000)


def record(conn, actor: Actor, subject: str, subject_id: str, action: str, detail: dict[str, Any], *,
           owner_org: str | None = None, operator_org: str | None = None, at_ms: int | None = None) -> None:
    """Append one entry in ``conn``'s open transaction."""
    conn.execute(t.audit.insert().values(
        at_ms=at_ms or now_ms(), actor_org=actor.org_id, actor=actor.name[:100], subject=subject, subject_id=subject_id,
        action=action, detail=json.dumps(detail, default=str, sort_keys=True), owner_org=owner_org,
        operator_org=operator_org))


def trail(db: Database, subject: str, subject_id: str, *, org: str | None = None) -> list[AuditEntry]:
    """The entries of one subject, oldest first; ``org`` (None: every entry) sees the entries of records it
    owns or operates."""
    a = t.audit
    q = select(a).where(a.c.subject == subject, a.c.subject_id == subject_id)
    if org is not None:
        q = q.where(or_(a.c.owner_org == org, a.c.operator_org == org))
    with db.engine.connect() as conn:
        rows = conn.execute(q.order_by(a.c.audit_id)).mappings().all()
    return [AuditEntry(r["at_ms"], r["actor_org"], r["actor"], r["subject"], r["subject_id"], r["action"],
                       json.loads(r["detail"])) for r in rows]
