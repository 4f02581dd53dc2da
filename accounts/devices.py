"""Device credentials: each device has its own key (``cbd_<id>_<secret>``), shown once, stored as its
SHA-256. ``POST /v1/telemetry`` takes it as HTTP Basic ``DEVICE_ID:KEY`` or as ``X-Device-Key: KEY``,
and a device publishes on its own topics only (``iot_ingest.registry.topic_device``).

A credential belongs to the device's organisation; re-binding the device keeps it, rotating replaces
it (the old one stops at once in this process, within ``authenticate.POLL_S`` in the others), removing
the device removes it. A device whose registry row moved to another organisation (or went away) is
refused even with its old key.

Still to do for MQTT (the broker enforces nothing yet): generate Mosquitto's password file and ACL
from this table and the registry (``pattern write cbec/v1/devices/%u/position`` and the warehouse
sensor topics per device; ``mosquitto_passwd`` needs the clear key, so a broker hash
(PBKDF2-SHA512, ``$7$``) must be computed when the key is issued and kept in a column of its own),
reload Mosquitto on change (SIGHUP) or use its dynamic-security plugin, and the same check in the
embedded amqtt broker (an auth and a topic-check plugin reading this table).
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from accounts import tables as t
from accounts.credentials import DEVICE_KEY_PREFIX, new_key
from accounts.errors import NotFound
from accounts.store import bump_revocations, now_ms
from iot_ingest import tables as it
from iot_ingest.limits import check_ingest_id
from optimizer.errors import InvalidInput
from storage.db import Database


def issue(db: Database, device_id: str, *, org_id: str | None = None) -> tuple[str, str]:
    """A new credential for the device (replacing any it had): (key id, the key to show once).

    ``org_id`` scopes the lookup (another organisation's device is unknown); None: an operator."""
    check_ingest_id(device_id, "device")
    d = it.devices
    with db.engine.begin() as conn:
        where = [d.c.device_id == device_id] + ([d.c.org_id == org_id] if org_id is not None else [])
        row = conn.execute(select(d.c.device_id, d.c.org_id).where(*where)).first()
        if row is None:
            raise NotFound(f"unknown device '{device_id}' (bind it first)", field="device")
        if row.org_id is None:
            raise InvalidInput(f"device '{device_id}' belongs to no organisation: give it one first "
                               "(cbec orgs adopt ORG)", field="device")
        key_id, key, digest = new_key(DEVICE_KEY_PREFIX)
        replaced = conn.execute(delete(t.device_credentials).where(t.device_credentials.c.device_id == device_id)).rowcount
        conn.execute(insert(t.device_credentials).values(device_id=device_id, key_id=key_id, org_id=row.org_id,
                                                         secret_hash=digest, created_ms=now_ms()))
        if replaced:
            bump_revocations(conn)
    return key_id, key


def has_credential(db: Database, device_id: str) -> bool:
    with db.engine.connect() as conn:
        return conn.execute(select(t.device_credentials.c.key_id)
                            .where(t.device_credentials.c.device_id == device_id)).first() is not None


def remove(conn, device_id: str) -> None:
    """Drop the device's credential inside the caller's transaction (the device is being removed)."""
    if conn.execute(delete(t.device_credentials).where(t.device_credentials.c.device_id == device_id)).rowcount:
        bump_revocations(conn)


def credential_row(conn, key_id: str):
    """The credential with its device's current organisation and that organisation's kind, or None."""
    c, d, o = t.device_credentials, it.devices, t.orgs
    return conn.execute(select(c, d.c.org_id.label("device_org"), o.c.kind.label("org_kind"))
                        .join(d, d.c.device_id == c.c.device_id, isouter=True)
                        .join(o, o.c.org_id == c.c.org_id)
                        .where(c.c.key_id == key_id)).first()


__all__ = ["credential_row", "has_credential", "issue", "remove"]
