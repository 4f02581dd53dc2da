"""Secrets and their hashes.

* **API keys** (``cbk_<id>_<secret>``) and **device keys** (``cbd_<id>_<secret>``): ``id`` is 10
  characters of ``a-z2-9``, public (listed, used to find the row: an index lookup, never a scan);
  ``secret`` is 32 random bytes (``secrets.token_urlsafe``, 43 characters). Only the SHA-256 of the
  whole key is stored. A key carries 256 bits of entropy, so a fast hash is enough (as for GitHub or
  Stripe tokens): argon2 exists to slow down guessing *low-entropy* passwords, and on a key it would
  cost ~150 ms of CPU and 64 MiB per verification, which anyone holding a key id could make the
  server pay with wrong secrets.
* **Passwords**: argon2id through pwdlib (its recommended parameters), verified in constant time
  also for unknown e-mails (a dummy hash), so that timing does not tell which e-mails exist.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import lru_cache

from optimizer.errors import InvalidInput

API_KEY_PREFIX = "cbk_"
DEVICE_KEY_PREFIX = "cbd_"
ID_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789"  # no l, 0, 1: read aloud or off a screen without doubt
ID_LEN = 10
SECRET_BYTES = 32
KEY_RE = re.compile(rf"^(cb[kd])_([{ID_ALPHABET}]{{{ID_LEN}}})_([A-Za-z0-9_-]{{43}})$")
KEY_LEN = 4 + ID_LEN + 1 + 43

PASSWORD_MIN, PASSWORD_MAX = 10, 256
EMAIL_MAX = 254
NAME_MAX = 100
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
EMAIL_PATTERN = _EMAIL_RE.pattern
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069<>]")


def new_id(prefix: str = "") -> str:
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LEN))


def new_key(kind: str = API_KEY_PREFIX) -> tuple[str, str, str]:
    """A fresh key: (key id, the whole key to show once, its hash to store)."""
    key_id = new_id()
    key = f"{kind}{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return key_id, key, key_hash(key)


def parse_key(value: str) -> tuple[str, str] | None:
    """(kind prefix, key id) of a well-formed key, else None."""
    if len(value) != KEY_LEN:
        return None
    m = KEY_RE.match(value)
    return (m.group(1) + "_", m.group(2)) if m else None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii", "replace")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


# --- passwords -------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _hasher():
    from pwdlib import PasswordHash

    return PasswordHash.recommended()  # argon2id


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def check_password(password: object) -> str:
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters", field="password")
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(check_password(password))


def verify_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches ``hashed``; None (unknown user) takes as long and is False."""
    if not isinstance(password, str) or len(password) > PASSWORD_MAX:
        return False
    if hashed is None:
        _hasher().verify(password, _dummy_hash())
        return False
    try:
        return _hasher().verify(password, hashed)
    except Exception:  # noqa: BLE001 - a damaged hash is a failed verification, never a 500
        return False


# --- other inputs ----------------------------------------------------------------------------------
def check_email(email: object) -> str:
    """The e-mail, lower-cased (one address = one user, whatever its case)."""
    if not isinstance(email, str) or not 3 <= len(email) <= EMAIL_MAX or _EMAIL_RE.fullmatch(email) is None:
        raise InvalidInput("email must be an address like name@example.com (ASCII, at most 254 characters)",
                           field="email")
    return email.lower()


def check_name(name: object, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise InvalidInput(f"{field} must be 1-{NAME_MAX} characters", field=field)
    if _UNSAFE_NAME.search(name):
        raise InvalidInput(f"{field} must not contain control, bidirectional or '<' '>' characters", field=field)
    return name.strip()


__all__ = ["API_KEY_PREFIX", "DEVICE_KEY_PREFIX", "check_email", "check_name", "check_password", "hash_password",
           "key_hash", "new_id", "new_key", "parse_key", "same_hash", "verify_password"]
