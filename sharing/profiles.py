"""Sharing profiles: an organisation's home city (settlements between cities) and an operator's partners
(offers that only partners may book)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from accounts import tables as acc
from accounts.errors import NotFound
from accounts.store import get_org
from optimizer.errors import InvalidInput
from sharing import tables as t
from sharing.audit import Actor, now_ms, record
from storage.db import Database

MAX_CITY = 64
UNKNOWN_CITY = "(no city)"


def _check_city(city: str) -> str:
    city = city.strip() if isinstance(city, str) else ""
    if not city or len(city) > MAX_CITY or not city.isprintable():
        raise InvalidInput(f"city must be 1..{MAX_CITY} printable characters, e.g. Mianyang or Chengdu", field="city")
    return city


def set_city(db: Database, org_id: str, city: str, actor: Actor) -> str:
    """Set ``org_id``'s home city; returns it."""
    city = _check_city(city)
    get_org(db, org_id)
    with db.engine.begin() as conn:
        had = conn.execute(select(t.profiles.c.city).where(t.profiles.c.org_id == org_id)).scalar_one_or_none()
        if had is None:
            conn.execute(t.profiles.insert().values(org_id=org_id, city=city, updated_ms=now_ms()))
        else:
            conn.execute(t.profiles.update().where(t.profiles.c.org_id == org_id).values(city=city, updated_ms=now_ms()))
        record(conn, actor, "profile", org_id, "city", {"from": had, "to": city}, owner_org=org_id)
    return city


def cities(db: Database) -> dict[str, str]:
    """Organisation id -> home city, for every organisation that set one."""
    with db.engine.connect() as conn:
        return {r.org_id: r.city for r in conn.execute(select(t.profiles))}


def city_of(db: Database, org_id: str) -> str:
    return cities(db).get(org_id, UNKNOWN_CITY)


def partners_of(conn, operator_org_id: str) -> set[str]:
    return set(conn.execute(select(t.partners.c.partner_org_id)
                            .where(t.partners.c.operator_org_id == operator_org_id)).scalars())


@dataclass(frozen=True)
class Partner:
    """An organisation on an operator's partner list, with its display name and since when."""

    org_id: str
    name: str
    since_ms: int


def partner_details(db: Database, operator_org_id: str) -> list[Partner]:
    """The operator's partners with their names (one join), in id order."""
    q = (select(t.partners.c.partner_org_id, acc.orgs.c.name, t.partners.c.created_ms)
         .join(acc.orgs, acc.orgs.c.org_id == t.partners.c.partner_org_id)
         .where(t.partners.c.operator_org_id == operator_org_id).order_by(t.partners.c.partner_org_id))
    with db.engine.connect() as conn:
        return [Partner(r.partner_org_id, r.name, r.created_ms) for r in conn.execute(q)]


def set_partners(db: Database, operator_org_id: str, want: set[str], actor: Actor) -> list[Partner]:
    """Make the operator's partner list exactly ``want`` (each addition and removal audited); the new list."""
    with db.engine.connect() as conn:
        have = partners_of(conn, operator_org_id)
    for org in sorted(want - have):
        add_partner(db, operator_org_id, org, actor)
    for org in sorted(have - want):
        remove_partner(db, operator_org_id, org, actor)
    return partner_details(db, operator_org_id)


def add_partner(db: Database, operator_org_id: str, partner_org_id: str, actor: Actor) -> None:
    """Add a partner to the operator's list (idempotent; :func:`partner_details` reads the list)."""
    if partner_org_id == operator_org_id:
        raise InvalidInput("an organisation is not its own partner", field="partner")
    try:
        get_org(db, partner_org_id)
    except NotFound:
        raise NotFound(f"no organisation '{partner_org_id}'", field="partner") from None
    with db.engine.begin() as conn:
        if partner_org_id not in partners_of(conn, operator_org_id):
            conn.execute(t.partners.insert().values(operator_org_id=operator_org_id, partner_org_id=partner_org_id,
                                                    created_ms=now_ms()))
            record(conn, actor, "partner", operator_org_id, "add", {"partner": partner_org_id}, owner_org=operator_org_id)


def remove_partner(db: Database, operator_org_id: str, partner_org_id: str, actor: Actor) -> None:
    """Take a partner off the operator's list; NotFound when it is not on it."""
    with db.engine.begin() as conn:
        gone = conn.execute(delete(t.partners).where(t.partners.c.operator_org_id == operator_org_id,
                                                     t.partners.c.partner_org_id == partner_org_id)).rowcount
        if not gone:
            raise NotFound(f"'{partner_org_id}' is not a partner", field="partner")
        record(conn, actor, "partner", operator_org_id, "remove", {"partner": partner_org_id}, owner_org=operator_org_id)
