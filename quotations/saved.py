"""Saved quotes: the document as answered (prices frozen), its organisation and its validity.

An organisation's quotes are its own: another organisation's id answers exactly like an unknown one
(404). Only signed-in organisations' quotes are saved (``quotations.service``); the id is still an
unguessable 128-bit token (``secrets.token_urlsafe(16)``). After ``valid_until`` a fetch is a 410
problem naming the expiry.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from quotations.errors import QuoteExpired, QuoteNotFound
from quotations.tables import quotes
from storage.db import Database


def new_quote_id() -> str:
    """A 22-character URL-safe id carrying 128 random bits."""
    return "q_" + secrets.token_urlsafe(16)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def save_quote(db: Database, doc: dict[str, Any], org_id: str, *, created: datetime | None = None) -> None:
    """Store ``doc`` (with its ``quote_id``, ``created_at``, ``valid_until`` and ``currency``) for ``org_id``;
    ``created`` (default ``created_at``) orders the organisation's list to the millisecond."""
    with db.engine.begin() as conn:
        conn.execute(insert(quotes).values(
            quote_id=doc["quote_id"], org_id=org_id,
            created_ms=_ms(created or datetime.fromisoformat(doc["created_at"])),
            valid_until_ms=_ms(datetime.fromisoformat(doc["valid_until"])),
            currency=doc["currency"], document=json.dumps(doc, separators=(",", ":"))))


def load_quote(db: Database, quote_id: str, org_id: str | None, *, now: datetime | None = None) -> dict[str, Any]:
    """The saved document; QuoteNotFound for an unknown id or another organisation's quote, QuoteExpired
    past its ``valid_until``."""
    if not isinstance(quote_id, str) or not quote_id.startswith("q_") or len(quote_id) > 64:
        raise QuoteNotFound(str(quote_id))
    with db.engine.connect() as conn:
        row = conn.execute(select(quotes).where(quotes.c.quote_id == quote_id)).mappings().first()
    if row is None or org_id is None or row["org_id"] != org_id:
        raise QuoteNotFound(quote_id)
    doc = json.loads(row["document"])
    now = now or datetime.now(UTC)
    if _ms(now) > row["valid_until_ms"]:
        raise QuoteExpired(quote_id, doc["valid_until"])
    return doc


LIST_MAX = 500


def list_quotes(db: Database, org_id: str, *, limit: int = 50, offset: int = 0,
                now: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """The organisation's saved quotes, newest first: a summary each (id, lane, cargo, currency, cheapest
    total, created, valid_until, expired) and the total count."""
    limit, offset = max(1, min(int(limit), LIST_MAX)), max(0, int(offset))
    now_ms = _ms(now or datetime.now(UTC))
    with db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(quotes).where(quotes.c.org_id == org_id)).scalar() or 0
        rows = conn.execute(select(quotes.c.quote_id, quotes.c.valid_until_ms, quotes.c.document)
                            .where(quotes.c.org_id == org_id)
                            .order_by(quotes.c.created_ms.desc(), quotes.c.quote_id)
                            .limit(limit).offset(offset)).all()
    out = []
    for qid, until_ms, text in rows:
        doc = json.loads(text)
        r = doc.get("request", {})
        totals = [o["cost"]["total"] for o in doc.get("options", [])]
        out.append({"quote_id": qid, "from": r.get("from"), "to": r.get("to"), "weight_kg": r.get("weight_kg"),
                    "volume_m3": r.get("volume_m3"), "ready": r.get("ready"), "currency": doc.get("currency"),
                    "cheapest_total": min(totals) if totals else None, "options": len(totals),
                    "created_at": doc.get("created_at"), "valid_until": doc.get("valid_until"),
                    "expired": now_ms > until_ms})
    return out, int(total)
