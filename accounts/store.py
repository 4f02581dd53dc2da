"""Organisations, users and API keys in the database (the use cases of the API and the CLI alike).

``actor`` is the :class:`~accounts.principal.Principal` asking (the API), or None for an operator
working on the database directly (the CLI): operators may do anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update

from accounts import tables as t
from accounts.credentials import (API_KEY_PREFIX, check_email, check_name, hash_password, new_id, new_key,
                                  verify_password)
from accounts.errors import Conflict, Forbidden, NotFound, Unauthenticated
from accounts.principal import ORG_KINDS, ROLES, Principal
from optimizer.errors import InvalidInput
from optimizer.quotes.limits import shown
from storage.db import Database

LIST_MAX = 500
KEY_DAYS_MAX = 3650
REVOCATIONS = "revocations"
_BUMP_SQL = ("INSERT INTO acc_counters (name, value) VALUES ('" + REVOCATIONS + "', 1) "
             "ON CONFLICT (name) DO UPDATE SET value = acc_counters.value + 1")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Org:
    org_id: str
    name: str
    kind: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    org_id: str
    email: str
    name: str
    role: str
    created_ms: int
    disabled_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    org_id: str
    name: str
    role: str
    created_ms: int
    created_by: str | None
    last_used_ms: int | None
    expires_ms: int | None
    revoked_ms: int | None

    def state(self, at_ms: int | None = None) -> str:
        """active | expired | revoked"""
        if self.revoked_ms is not None:
            return "revoked"
        if self.expires_ms is not None and self.expires_ms <= (at_ms or now_ms()):
            return "expired"
        return "active"


def _org(r) -> Org:
    return Org(r.org_id, r.name, r.kind, r.created_ms)


def _user(r) -> User:
    return User(r.user_id, r.org_id, r.email, r.name, r.role, r.created_ms, r.disabled_ms)


def _key(r) -> ApiKey:
    m = r._mapping
    return ApiKey(**{k: m[k] for k in ApiKey.__slots__})


def bump_revocations(conn) -> None:
    """Tell every process's credential cache that something was revoked (see authenticate.POLL_S)."""
    conn.exec_driver_sql(_BUMP_SQL)


def revocations(conn) -> int:
    return int(conn.execute(select(t.counters.c.value).where(t.counters.c.name == REVOCATIONS)).scalar() or 0)


def check_kind(kind: object) -> str:
    if kind not in ORG_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ORG_KINDS)} (got '{shown(kind)}')", field="kind")
    return kind  # type: ignore[return-value]


def check_role(role: object, org_kind: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)} (got '{shown(role)}')", field="role")
    if role == "analyst" and org_kind != "office":
        raise InvalidInput("the analyst role exists in the pilot-zone office's organisation only", field="role")
    return role  # type: ignore[return-value]


def _page(limit: int, offset: int) -> tuple[int, int]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_MAX:
        raise InvalidInput(f"limit must be 1-{LIST_MAX}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput("offset must be 0 or more", field="offset")
    return limit, offset


# --- organisations -----------------------------------------------------------------------------------
def create_org(db: Database, name: str, kind: str, *, actor: Principal | None = None, admin_email: str | None = None,
               admin_name: str | None = None, admin_password: str | None = None,
               key_name: str = "admin") -> tuple[Org, str, ApiKey, User | None]:
    """A new organisation with an admin API key (shown once: the returned string) and, when an e-mail
    and password are given, an admin user. Allowed to operators, to anyone while no organisation
    exists (the bootstrap), then to admins of the pilot-zone office only."""
    name = check_name(name)
    kind = check_kind(kind)
    if admin_email is not None:
        admin_email = check_email(admin_email)
        if admin_password is None:
            raise InvalidInput("an admin user needs a password", field="admin_password")
        password_hash = hash_password(admin_password)  # before the transaction: argon2 takes ~0.2 s
    elif admin_password is not None:
        raise InvalidInput("an admin password needs admin_email", field="admin_email")
    now = now_ms()
    with db.engine.begin() as conn:
        if not db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises writers
            conn.exec_driver_sql("LOCK TABLE acc_orgs IN SHARE ROW EXCLUSIVE MODE")
        if actor is not None and not actor.is_office_admin:
            if conn.execute(select(t.orgs.c.org_id).limit(1)).first() is not None:
                raise Forbidden("organisations exist already: only an admin of the pilot-zone office (or an operator "
                                "with `cbec orgs create`) may create more")
        if conn.execute(select(t.orgs.c.org_id).where(func.lower(t.orgs.c.name) == name.lower())).first():
            raise Conflict(f"an organisation named '{name}' exists already", field="name")
        org = Org(new_id("org_"), name, kind, now)
        conn.execute(insert(t.orgs).values(org_id=org.org_id, name=org.name, kind=org.kind, created_ms=now))
        user = None
        if admin_email is not None:
            _email_free(conn, admin_email)
            user = User(new_id("usr_"), org.org_id, admin_email, check_name(admin_name or admin_email.split("@")[0]),
                        "admin", now)
            conn.execute(insert(t.users).values(user_id=user.user_id, org_id=org.org_id, email=user.email,
                                                name=user.name, role="admin", password_hash=password_hash,
                                                created_ms=now))
        key, secret = _insert_key(conn, org.org_id, check_name(key_name, "key_name"), "admin", None,
                                  actor.user_id or actor.key_id if actor is not None else None)
    return org, secret, key, user


def get_org(db: Database, org_id: str) -> Org:
    with db.engine.connect() as conn:
        r = conn.execute(select(t.orgs).where(t.orgs.c.org_id == org_id)).first()
    if r is None:
        raise NotFound(f"unknown organisation '{shown(org_id)}'", field="org")
    return _org(r)


def find_org(db: Database, ref: str) -> Org:
    """An organisation by id or by name (case-insensitive): the CLI's ``--org``."""
    if not isinstance(ref, str) or not ref or len(ref) > 100:
        raise InvalidInput("--org takes an organisation id or name", field="org")
    with db.engine.connect() as conn:
        r = conn.execute(select(t.orgs).where(t.orgs.c.org_id == ref)).first() or \
            conn.execute(select(t.orgs).where(func.lower(t.orgs.c.name) == ref.lower())).first()
    if r is None:
        raise NotFound(f"unknown organisation '{shown(ref)}' (list them: cbec orgs list)", field="org")
    return _org(r)


def list_orgs(db: Database) -> list[Org]:
    with db.engine.connect() as conn:
        return [_org(r) for r in conn.execute(select(t.orgs).order_by(t.orgs.c.created_ms, t.orgs.c.org_id))]


def has_orgs(db: Database) -> bool:
    with db.engine.connect() as conn:
        return conn.execute(select(t.orgs.c.org_id).limit(1)).first() is not None


DEMO_ORG = "demo"


def ensure_demo_org(db: Database) -> tuple[Org, str] | None:
    """On a database without any organisation: the demo organisation and its admin key (to print
    once); None when organisations exist (nothing is created)."""
    if has_orgs(db):
        return None
    try:
        org, secret, _, _ = create_org(db, DEMO_ORG, "forwarder", actor=Principal(org_id=None), key_name="demo admin")
    except (Forbidden, Conflict):  # another process bootstrapped at the same moment
        return None
    return org, secret


# --- users -------------------------------------------------------------------------------------------
def _email_free(conn, email: str) -> None:
    if conn.execute(select(t.users.c.user_id).where(t.users.c.email == email)).first() is not None:
        raise Conflict(f"a user with the e-mail '{email}' exists already", field="email")


def create_user(db: Database, org_id: str, email: str, name: str, role: str, password: str) -> User:
    email = check_email(email)
    name = check_name(name)
    org = get_org(db, org_id)
    role = check_role(role, org.kind)
    password_hash = hash_password(password)
    user = User(new_id("usr_"), org.org_id, email, name, role, now_ms())
    with db.engine.begin() as conn:
        _email_free(conn, email)
        conn.execute(insert(t.users).values(user_id=user.user_id, org_id=user.org_id, email=email, name=name, role=role,
                                            password_hash=password_hash, created_ms=user.created_ms))
    return user


def list_users(db: Database, org_id: str, *, limit: int = 100, offset: int = 0) -> tuple[list[User], int]:
    limit, offset = _page(limit, offset)
    u = t.users
    with db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(u).where(u.c.org_id == org_id)).scalar_one()
        rows = conn.execute(select(u).where(u.c.org_id == org_id).order_by(u.c.created_ms, u.c.user_id)
                            .limit(limit).offset(offset)).all()
    return [_user(r) for r in rows], int(total)


def get_user(conn, user_id: str):
    """The user row joined with its organisation's kind, or None (for the authenticator)."""
    u, o = t.users, t.orgs
    return conn.execute(select(u, o.c.kind.label("org_kind")).join(o, o.c.org_id == u.c.org_id)
                        .where(u.c.user_id == user_id)).first()


def login(db: Database, email: str, password: str) -> User:
    """The user whose e-mail and password these are; :class:`Unauthenticated` otherwise (the same
    answer, and about the same time, for an unknown e-mail and a wrong password)."""
    try:
        email = check_email(email)
    except InvalidInput:
        email = None
    r = None
    if email is not None:
        with db.engine.connect() as conn:
            r = conn.execute(select(t.users).where(t.users.c.email == email)).first()
    ok = verify_password(password, r.password_hash if r is not None else None)
    if not ok or r is None or r.disabled_ms is not None:
        raise Unauthenticated("wrong e-mail or password", error=None)
    return _user(r)


def disable_user(db: Database, org_id: str | None, user_id: str) -> User:
    u = t.users
    with db.engine.begin() as conn:
        where = [u.c.user_id == user_id] + ([u.c.org_id == org_id] if org_id is not None else [])
        r = conn.execute(select(u).where(*where)).first()
        if r is None:
            raise NotFound(f"unknown user '{shown(user_id)}'", field="user_id")
        if r.disabled_ms is None:
            conn.execute(update(u).where(u.c.user_id == user_id).values(disabled_ms=now_ms()))
            bump_revocations(conn)
        r = conn.execute(select(u).where(u.c.user_id == user_id)).first()
    return _user(r)


# --- API keys ----------------------------------------------------------------------------------------
def _insert_key(conn, org_id: str, name: str, role: str, expires_ms: int | None,
                created_by: str | None) -> tuple[ApiKey, str]:
    key_id, secret, digest = new_key(API_KEY_PREFIX)
    key = ApiKey(key_id, org_id, name, role, now_ms(), created_by, None, expires_ms, None)
    conn.execute(insert(t.api_keys).values(key_id=key_id, org_id=org_id, name=name, role=role, secret_hash=digest,
                                           created_ms=key.created_ms, created_by=created_by, expires_ms=expires_ms))
    return key, secret


def create_key(db: Database, org_id: str, name: str, role: str = "member", *, expires_days: float | None = None,
               created_by: str | None = None) -> tuple[ApiKey, str]:
    """A new API key of the organisation: the record and the key itself (shown once, never stored)."""
    name = check_name(name)
    org = get_org(db, org_id)
    role = check_role(role, org.kind)
    expires_ms = None
    if expires_days is not None:
        if isinstance(expires_days, bool) or not isinstance(expires_days, (int, float)) \
                or not 0 < expires_days <= KEY_DAYS_MAX:
            raise InvalidInput(f"expires_days must be in (0, {KEY_DAYS_MAX}] (or none: no expiry)", field="expires_days")
        expires_ms = now_ms() + int(expires_days * 86_400_000)
    with db.engine.begin() as conn:
        return _insert_key(conn, org.org_id, name, role, expires_ms, created_by)


def list_keys(db: Database, org_id: str, *, include_revoked: bool = True, limit: int = 100,
              offset: int = 0) -> tuple[list[ApiKey], int]:
    limit, offset = _page(limit, offset)
    k = t.api_keys
    where = [k.c.org_id == org_id] + ([] if include_revoked else [k.c.revoked_ms.is_(None)])
    with db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(k).where(*where)).scalar_one()
        rows = conn.execute(select(k).where(*where).order_by(k.c.created_ms, k.c.key_id).limit(limit).offset(offset)).all()
    return [_key(r) for r in rows], int(total)


def revoke_key(db: Database, key_id: str, *, org_id: str | None = None) -> ApiKey:
    """Revoke a key (idempotent). ``org_id`` scopes the lookup: another organisation's key is unknown."""
    k = t.api_keys
    where = [k.c.key_id == key_id] + ([k.c.org_id == org_id] if org_id is not None else [])
    with db.engine.begin() as conn:
        r = conn.execute(select(k).where(*where)).first()
        if r is None:
            raise NotFound(f"unknown API key '{shown(key_id)}'", field="key_id")
        if r.revoked_ms is None:
            conn.execute(update(k).where(k.c.key_id == key_id).values(revoked_ms=now_ms()))
            bump_revocations(conn)
        r = conn.execute(select(k).where(k.c.key_id == key_id)).first()
    return _key(r)


def key_row(conn, key_id: str):
    """The key row joined with its organisation's kind, or None (for the authenticator)."""
    k, o = t.api_keys, t.orgs
    return conn.execute(select(k, o.c.kind.label("org_kind")).join(o, o.c.org_id == k.c.org_id)
                        .where(k.c.key_id == key_id)).first()


def touch_key(db: Database, key_id: str, at_ms: int) -> None:
    """Record a use (called at most once per cache period per process: ``last_used`` is to a minute)."""
    with db.engine.begin() as conn:
        conn.execute(update(t.api_keys).where(t.api_keys.c.key_id == key_id).values(last_used_ms=at_ms))


__all__ = ["ApiKey", "DEMO_ORG", "Org", "User", "bump_revocations", "check_kind", "check_role", "create_key",
           "create_org", "create_user", "disable_user", "ensure_demo_org", "find_org", "get_org", "has_orgs",
           "key_row", "list_keys", "list_orgs", "list_users", "login", "revocations", "revoke_key", "touch_key"]
