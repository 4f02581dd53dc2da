"""Schemas of the accounts: organisations, users, API keys, tokens (``accounts/``).

Times are ISO 8601 UTC strings. A key or device key is in a response once, when it is created.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from accounts.credentials import EMAIL_MAX, EMAIL_PATTERN, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN
from accounts.store import KEY_DAYS_MAX

OrgKind = Literal["forwarder", "warehouse_operator", "office", "partner"]
Role = Literal["member", "admin", "analyst"]
NAME = {"min_length": 1, "max_length": NAME_MAX, "pattern": r"^[^\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069<>]*\S[^\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069<>]*$"}
"""A display name (organisation, user, key) as ``Field`` keywords: printable, no bidi controls, no '<' '>'."""
EMAIL = {"min_length": 3, "max_length": EMAIL_MAX, "pattern": EMAIL_PATTERN}
PASSWORD = {"min_length": PASSWORD_MIN, "max_length": PASSWORD_MAX}


class OrgIn(BaseModel):
    """A new organisation (tenant). The first one may be created by anyone (the bootstrap); after
    that only an admin of the pilot-zone office may create organisations (operators: ``cbec orgs
    create``). It gets an admin API key, and an admin user when ``admin_email`` and
    ``admin_password`` are given."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"name": "Mianyang Forwarding Co.", "kind": "forwarder", "admin_email": "ops@myfwd.example",
         "admin_name": "Ops desk", "admin_password": "correct horse battery"}]})

    name: str = Field(description="unique (case-insensitive)", **NAME)
    kind: OrgKind = Field(description="forwarder (or exporter) | warehouse_operator | office (the pilot-zone "
                                      "office) | partner (a partner platform)")
    admin_email: str | None = Field(None, description="e-mail of the organisation's first admin user", **EMAIL)
    admin_name: str | None = Field(None, **NAME)
    admin_password: str | None = Field(None, description=f"{PASSWORD_MIN}-{PASSWORD_MAX} characters", **PASSWORD)
    key_name: str = Field("admin", description="name of the admin API key created with it", **NAME)


class OrgOut(BaseModel):
    id: str
    name: str
    kind: OrgKind
    created: str


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    created: str
    disabled: str | None = Field(description="when the user was disabled (None: active)")


class KeyOut(BaseModel):
    """An API key's record (never the key itself)."""

    id: str = Field(description="the public part of the key (cbk_<id>_...)")
    name: str
    role: Role
    state: Literal["active", "expired", "revoked"]
    created: str
    created_by: str | None = Field(description="the user or key that created it (None: an operator)")
    last_used: str | None = Field(description="to about a minute (recorded once per cache period)")
    expires: str | None
    revoked: str | None


class KeyCreatedOut(KeyOut):
    key: str = Field(description="the API key: shown this once, stored only as a hash. Send it as "
                                 "X-API-Key or Authorization: Bearer")


class OrgCreatedOut(BaseModel):
    """The new organisation, its admin key (shown once) and admin user (when one was asked for)."""

    org: OrgOut
    admin_key: KeyCreatedOut
    admin_user: UserOut | None


class MeOut(BaseModel):
    """The caller's organisation and credential."""

    org: OrgOut
    role: Role
    user_id: str | None
    key_id: str | None
    expires: str | None = Field(description="when this credential ends (a token's expiry, a key's)")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"email": "lin@myfwd.example", "name": "Lin", "role": "member", "password": "a long passphrase"}]})

    email: str = Field(description="sign-in name (case-insensitive, unique in the service)", **EMAIL)
    name: str = Field(**NAME)
    role: Role = Field("member", description="member | admin | analyst (office organisations only)")
    password: str = Field(description=f"{PASSWORD_MIN}-{PASSWORD_MAX} characters", **PASSWORD)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"name": "ERP integration", "role": "member", "expires_days": 365}]})

    name: str = Field(**NAME)
    role: Role = Field("member", description="member | admin | analyst (office organisations only)")
    expires_days: float | None = Field(None, gt=0, le=KEY_DAYS_MAX, allow_inf_nan=False,
                                       description="the key stops working this many days after creation (None: "
                                                   "never; rotate by creating a new key and revoking the old one)")


class _Page(BaseModel):
    total: int = Field(description="items matching, over every page")
    limit: int
    offset: int


class UserListOut(_Page):
    items: list[UserOut]


class KeyListOut(_Page):
    items: list[KeyOut]


class TokenOut(BaseModel):
    """An OAuth2 access token (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds")
