"""Records that belong to no organisation (stored before accounts existed, or by an operator on a
database without organisations) are visible to operators only; ``adopt`` gives them one."""

from __future__ import annotations

from sqlalchemy import func, select, update

from accounts.store import get_org
from iot_ingest import tables as it
from storage.db import Database, bump_epoch


def unowned(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {name: int(conn.execute(select(func.count()).select_from(tbl).where(tbl.c.org_id.is_(None))).scalar_one())
                for name, tbl in (("shipments", it.shipments), ("devices", it.devices))}


def adopt(db: Database, org_id: str) -> dict[str, int]:
    """Give every shipment and device without an organisation to ``org_id``; how many of each."""
    org = get_org(db, org_id)
    with db.engine.begin() as conn:
        out = {name: conn.execute(update(tbl).where(tbl.c.org_id.is_(None)).values(org_id=org.org_id)).rowcount
               for name, tbl in (("shipments", it.shipments), ("devices", it.devices))}
        bump_epoch(conn)  # running pipelines reload the registry rows they cached
    return out


__all__ = ["adopt", "unowned"]
