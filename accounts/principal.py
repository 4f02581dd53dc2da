"""Who is calling: a :class:`Principal` (organisation, user or key or device, role); roles and kinds."""

from __future__ import annotations

from dataclasses import dataclass

ORG_KINDS = ("forwarder", "warehouse_operator", "office", "partner")
"""forwarder / exporter, shared-warehouse operator, pilot-zone office, partner platform."""
ROLES = ("member", "admin", "analyst")
"""member: the organisation's own records; admin: also its users and keys; analyst (office organisations
only): the office's records and zone-wide aggregates, never another tenant's raw records."""
DEVICE_ROLE = "device"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: its organisation (the tenant), user, key or device, and role."""

    org_id: str | None  # None: anonymous
    user_id: str | None = None
    key_id: str | None = None
    role: str = "anonymous"  # anonymous | member | admin | analyst | device
    org_kind: str | None = None  # forwarder | warehouse_operator | office | partner
    device_id: str | None = None  # a device's own credential (role "device")
    expires_ms: int | None = None  # the credential's own end (a token's exp, a key's expiry)

    @property
    def anonymous(self) -> bool:
        return self.org_id is None

    @property
    def is_device(self) -> bool:
        return self.role == DEVICE_ROLE

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_office_admin(self) -> bool:
        return self.role == "admin" and self.org_kind == "office"

    @property
    def zone_wide(self) -> bool:
        """May read zone-wide aggregates (an office analyst or admin), never other tenants' raw records."""
        return self.org_kind == "office" and self.role in ("analyst", "admin")


ANONYMOUS = Principal(org_id=None)

__all__ = ["ANONYMOUS", "DEVICE_ROLE", "ORG_KINDS", "Principal", "ROLES"]
