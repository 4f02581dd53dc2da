"""Tables of the accounts (SQLAlchemy Core); created by migration 0003_accounts.

Times are BigInteger milliseconds since the epoch (UTC), as in the ingest's tables. Secrets are never
stored: keys as their SHA-256 (``credentials``), passwords as argon2id hashes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, MetaData, String, Table, Text

metadata = MetaData()

ID = String(64)

orgs = Table(
    "acc_orgs", metadata,
    Column("org_id", ID, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),  # forwarder | warehouse_operator | office | partner
    Column("created_ms", BigInteger, nullable=False),
)

users = Table(
    "acc_users", metadata,
    Column("user_id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("acc_orgs.org_id"), nullable=False),
    Column("email", String(254), nullable=False, unique=True),  # lower-cased
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),  # member | admin | analyst
    Column("password_hash", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("disabled_ms", BigInteger),
)
Index("ix_acc_users_org", users.c.org_id)

api_keys = Table(
    "acc_api_keys", metadata,
    Column("key_id", ID, primary_key=True),  # the public part of the key: cbk_<key_id>_<secret>
    Column("org_id", ID, ForeignKey("acc_orgs.org_id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # sha256 of the whole key
    Column("created_ms", BigInteger, nullable=False),
    Column("created_by", ID),  # the user or key that created it (None: an operator, CLI)
    Column("last_used_ms", BigInteger),
    Column("expires_ms", BigInteger),
    Column("revoked_ms", BigInteger),
)
Index("ix_acc_api_keys_org", api_keys.c.org_id)

device_credentials = Table(
    "acc_device_credentials", metadata,
    Column("device_id", ID, primary_key=True),  # iot_devices.device_id (one credential per device)
    Column("key_id", ID, nullable=False, unique=True),  # cbd_<key_id>_<secret>
    Column("org_id", ID, ForeignKey("acc_orgs.org_id"), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    # the same key hashed for Mosquitto's password file (PBKDF2-SHA512, "$7$..." as mosquitto_passwd writes),
    # computed when the key is issued; None: issued before migration 0004 (rotate it to use MQTT)
    Column("broker_hash", String(160)),
)

counters = Table(
    "acc_counters", metadata,
    Column("name", String(48), primary_key=True), Column("value", BigInteger, nullable=False),
)
"""``revocations``: bumped by every revocation, user change and credential rotation, so that other
processes drop their cached credentials within ``authenticate.POLL_S`` seconds."""
