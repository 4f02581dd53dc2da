"""Device credentials: each device has its own key (``cbd_<id>_<secret>``), shown once, stored as its
SHA-256. ``POST /v1/telemetry`` takes it as HTTP Basic ``DEVICE_ID:KEY`` or as ``X-Device-Key: KEY``,
and a device publishes on its own topics only (``iot_ingest.registry.topic_device``).

A credential belongs to the device's organisation; re-binding the device keeps it, rotating replaces
it (the old one stops at once in this process, within ``authenticate.POLL_S`` in the others), removing
the device removes it. A device whose registry row moved to another organisation (or went away) is
refused even with its old key.

MQTT (``iot_ingest.broker`` has the policy: user name = device id, password = device key, a device
publishes on its own topics only, the ingest user ``cbec-ingest`` reads them all):

* the embedded broker checks logins with :class:`DeviceLogins` (the SHA-256, as HTTP does, with the same
  cache and revocation counter);
* for Mosquitto, :func:`sync_broker_files` (``cbec mqtt sync``) writes its password file and ACL from this
  table and the registry. Mosquitto needs the clear key or a hash of its own, so :func:`issue` also keeps
  the key's Mosquitto hash (``broker_hash``: PBKDF2-SHA512, ``$7$``, as ``mosquitto_passwd`` writes). Keys
  issued before that column existed (migration 0004) have none and are left out of the password file
  until rotated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, insert, select

from accounts import tables as t
from accounts.credentials import DEVICE_KEY_PREFIX, key_hash, new_key, parse_key, same_hash
from accounts.errors import NotFound
from accounts.store import bump_revocations, now_ms, revocations
from iot_ingest import tables as it
from iot_ingest.broker import INGEST_USER, RESERVED_PREFIX, device_topic_filters, ingest_topic_filters, reserved
from iot_ingest.limits import check_ingest_id
from optimizer.errors import InvalidInput
from storage.db import Database


def issue(db: Database, device_id: str, *, org_id: str | None = None) -> tuple[str, str]:
    """A new credential for the device (replacing any it had): (key id, the key to show once).

    ``org_id`` scopes the lookup (another organisation's device is unknown); None: an operator."""
    check_ingest_id(device_id, "device")
    if reserved(device_id):
        raise InvalidInput(f"device ids starting with '{RESERVED_PREFIX}' are reserved for the ingest's MQTT user: "
                           f"rename device '{device_id}'", field="device")
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
        broker = mosquitto_hash(key)
        replaced = conn.execute(delete(t.device_credentials).where(t.device_credentials.c.device_id == device_id)).rowcount
        conn.execute(insert(t.device_credentials).values(device_id=device_id, key_id=key_id, org_id=row.org_id,
                                                         secret_hash=digest, created_ms=now_ms(),
                                                         broker_hash=broker))
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


# --- MQTT: Mosquitto's hashes ------------------------------------------------------------------------------
MOSQUITTO_ITERATIONS = 101  # what mosquitto_passwd 2.0 writes; a device key has 256 random bits, stretching adds nothing
INGEST_ITERATIONS = 10_000  # the ingest's password is configured by a person: stretched more (once per connect)
_SALT_BYTES = 12  # as mosquitto_passwd


def mosquitto_hash(secret: str, *, iterations: int = MOSQUITTO_ITERATIONS, salt: bytes | None = None) -> str:
    """``$7$<iterations>$<salt>$<hash>``: PBKDF2-HMAC-SHA512, base64, exactly as ``mosquitto_passwd`` (2.0) writes
    a password file line after ``user:``."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    dk = hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(dk).decode()}"


def mosquitto_verify(secret: str, hashed: str) -> bool:
    """True when ``hashed`` (a ``$7$`` line of a Mosquitto password file) is the hash of ``secret``."""
    try:
        _, kind, iterations, salt, dk = hashed.split("$")
        if kind != "7" or not 1 <= int(iterations) <= 10_000_000:
            return False
        want = base64.b64decode(dk, validate=True)
        got = hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), base64.b64decode(salt, validate=True),
                                  int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(got, want)


# --- MQTT: device logins of the embedded broker ------------------------------------------------------------
class DeviceLogins:
    """MQTT logins (user name = device id, password = device key) checked against this table, for the
    embedded broker (``iot_ingest.broker.DEVICE_LOGINS``): the same rules as HTTP (the key's SHA-256, the
    device still in the key's organisation) and the same cache as ``accounts.authenticate`` - a verified
    key is kept ``ttl_s``; the revocation counter is read at most every ``poll_s`` and a change empties the
    cache, so a rotated or removed key stops logging in within ``poll_s``. Failures are not cached."""

    def __init__(self, db: Database, *, ttl_s: float = 60.0, poll_s: float = 5.0) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.poll_s = poll_s
        self._cache: dict[str, tuple[str, float]] = {}  # sha256(key) -> (device id, valid until)
        self._lock = threading.Lock()
        self._seen: int | None = None
        self._next_poll = 0.0

    @classmethod
    def from_url(cls, url: str) -> "DeviceLogins":
        from storage.db import open_db

        return cls(open_db(url))

    def cached(self, device_id: str, key: str) -> bool | None:
        """From memory only: True (valid), or None (not known, or the revocation counter is due: ask
        :meth:`check`). Costs a SHA-256 and a dict look-up."""
        if time.monotonic() >= self._next_poll:
            return None
        hit = self._cache.get(key_hash(key))
        if hit is None or hit[1] <= time.monotonic() or hit[0] != device_id:
            return None
        return True

    def check(self, device_id: str, key: str) -> bool:
        """True when ``key`` is the current credential of ``device_id`` (may query the database)."""
        parsed = parse_key(key)
        if parsed is None or parsed[0] != DEVICE_KEY_PREFIX or reserved(device_id):
            return False
        self._poll()
        digest = key_hash(key)
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0] == device_id
        try:
            with self.db.engine.connect() as conn:
                row = credential_row(conn, parsed[1])
        except Exception as exc:  # noqa: BLE001 - the database is down: refuse (fail closed), say why
            log.warning("device login of '%s' refused: cannot read the credentials (%s)", device_id, exc)
            return False
        ok = (row is not None and same_hash(row.secret_hash, digest) and row.device_id == device_id
              and row.device_org == row.org_id)
        if ok:
            if len(self._cache) >= 50_000:
                self._cache.clear()
            self._cache[digest] = (device_id, time.monotonic() + self.ttl_s)
        return ok

    def _poll(self) -> None:
        now = time.monotonic()
        if now < self._next_poll:
            return
        with self._lock:
            if now < self._next_poll:
                return
            try:
                with self.db.engine.connect() as conn:
                    seen = revocations(conn)
            except Exception:  # noqa: BLE001 - unreadable: drop what is cached (fail closed), retry next time
                self._cache.clear()
                return
            self._next_poll = now + self.poll_s
            if seen != self._seen:
                self._cache.clear()
                self._seen = seen


# --- MQTT: Mosquitto's password file and ACL ---------------------------------------------------------------
log = logging.getLogger("accounts.devices")

ACL_HEADER = """\
# Generated by `cbec mqtt sync` from the device registry and the device credentials: every run rewrites
# it (edit deploy/mosquitto/acl, the fallback for a hand-made password file, or the policy in
# iot_ingest/broker.py instead). User name = device id. A device may publish on its own topics only and
# reads nothing; the ingest user reads every device topic and publishes nothing; anyone else: nothing.
# OwnTracks: device id USER-DEVICE publishes on owntracks/USER/DEVICE.
"""


@dataclass(frozen=True)
class BrokerFiles:
    """What :func:`broker_files` produced: the two files' text and who is in them (or left out, and why)."""

    passwd: str
    acl: str
    ingest_user: str
    devices: list[str] = field(default_factory=list)  # device ids that can log in
    without_hash: list[str] = field(default_factory=list)  # keys issued before migration 0004: rotate them
    reserved: list[str] = field(default_factory=list)  # ids clashing with the ingest's user name


def broker_accounts(db: Database) -> list[tuple[str, str | None]]:
    """(device id, Mosquitto hash or None) of every credential whose device is still registered in the
    key's organisation (the HTTP and embedded-broker rule), by device id."""
    c, d = t.device_credentials, it.devices
    with db.engine.connect() as conn:
        rows = conn.execute(select(c.c.device_id, c.c.broker_hash).join(d, d.c.device_id == c.c.device_id)
                            .where(d.c.org_id == c.c.org_id).order_by(c.c.device_id)).all()
    return [(r.device_id, r.broker_hash) for r in rows]


def broker_files(db: Database, *, ingest_password: str, ingest_user: str = INGEST_USER,
                 ingest_hash: str | None = None) -> BrokerFiles:
    """Mosquitto's password file and ACL for the registry as it is now. ``ingest_hash``: the ingest user's
    current hash, kept when it matches ``ingest_password`` (so an unchanged registry gives unchanged files)."""
    if not ingest_password:
        raise InvalidInput("the ingest user needs a password: set CBEC_MQTT_INGEST_PASSWORD (or give it in "
                           "CBEC_MQTT_URL)", field="ingest_password")
    if ":" in ingest_user or not ingest_user.strip() or not ingest_user.isprintable():
        raise InvalidInput(f"'{ingest_user}' cannot be a Mosquitto user name", field="ingest_user")
    if ingest_hash is None or not mosquitto_verify(ingest_password, ingest_hash):
        ingest_hash = mosquitto_hash(ingest_password, iterations=INGEST_ITERATIONS)
    passwd = [f"{ingest_user}:{ingest_hash}"]
    # shared subscriptions ($share/GROUP/..., several ingest workers) are checked against these same topics
    acl = [ACL_HEADER, f"user {ingest_user}"] + [f"topic read {f}" for f in ingest_topic_filters()]
    devices, without_hash, clashing = [], [], []
    for device_id, hashed in broker_accounts(db):
        if device_id == ingest_user or reserved(device_id):
            clashing.append(device_id)
        elif not hashed:
            without_hash.append(device_id)
        else:
            devices.append(device_id)
            passwd.append(f"{device_id}:{hashed}")
            acl += ["", f"user {device_id}"] + [f"topic write {f}" for f in device_topic_filters(device_id)]
    return BrokerFiles("\n".join(passwd) + "\n", "\n".join(acl) + "\n", ingest_user, devices, without_hash, clashing)


def _current_hash(passwd: Path, user: str) -> str | None:
    try:
        for line in passwd.read_text(encoding="utf-8").splitlines():
            name, sep, hashed = line.partition(":")
            if sep and name == user:
                return hashed.strip()
    except (OSError, UnicodeDecodeError):
        pass
    return None


def write_atomically(path: Path, text: str, *, mode: int) -> bool:
    """Replace ``path`` by ``text`` in one step (a temporary file in the same folder, fsync, rename), so that
    Mosquitto never reads half a file; keeps an existing file's mode and (when allowed) owner, else
    ``mode``. False (nothing written) when the file already holds exactly ``text``."""
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, st.st_mode & 0o7777 if st else mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:
                log.warning("%s: cannot keep its owner %d:%d (not allowed); Mosquitto must still be able to read it",
                            path, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return True


def sync_broker_files(db: Database, passwd: Path, acl: Path, *, ingest_password: str,
                      ingest_user: str = INGEST_USER) -> tuple[BrokerFiles, bool]:
    """Write Mosquitto's password file (mode 0600 when new) and ACL (0644 when new) from the registry, each
    atomically and only when it changed; returns what was written and whether anything changed (then
    Mosquitto must reload: SIGHUP)."""
    passwd, acl = Path(passwd), Path(acl)
    for p, what in ((passwd, "--passwd"), (acl, "--acl")):
        if not p.parent.is_dir():
            raise InvalidInput(f"{what}: folder {p.parent} does not exist", field=what.strip("-"))
        if p.is_dir():
            raise InvalidInput(f"{what}: {p} is a folder, not a file", field=what.strip("-"))
    files = broker_files(db, ingest_password=ingest_password, ingest_user=ingest_user,
                         ingest_hash=_current_hash(passwd, ingest_user))
    # the password file first: a device added appears in the ACL only once it can log in
    changed = write_atomically(passwd, files.passwd, mode=0o600)
    changed = write_atomically(acl, files.acl, mode=0o644) or changed
    return files, changed


__all__ = ["BrokerFiles", "DeviceLogins", "broker_accounts", "broker_files", "credential_row", "has_credential",
           "issue", "mosquitto_hash", "mosquitto_verify", "remove", "sync_broker_files", "write_atomically"]
