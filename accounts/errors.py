"""Errors of the accounts: 401 (who are you?), 403 (not allowed), 404 (unknown here), 409 (taken)."""

from __future__ import annotations

from optimizer.errors import CbecError, InvalidInput


class Unauthenticated(CbecError):
    """Missing, malformed, unknown, expired or revoked credentials (HTTP 401 with ``WWW-Authenticate``)."""

    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str, *, scheme: str = "Bearer", error: str | None = "invalid_token") -> None:
        super().__init__(detail, field="authorization")
        self.scheme = scheme
        self.error = error

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value (RFC 6750 §3 for Bearer, RFC 7617 for Basic)."""
        realm = 'realm="cbec-devices"' if self.scheme == "Basic" else 'realm="cbec"'
        if self.error and self.scheme == "Bearer":
            return f'Bearer {realm}, error="{self.error}"'
        return f"{self.scheme} {realm}"


class Forbidden(CbecError):
    status = 403
    title = "Forbidden"


class NotFound(InvalidInput):
    status = 404
    title = "Not found"


class Conflict(InvalidInput):
    status = 409
    title = "Conflict"


__all__ = ["Conflict", "Forbidden", "NotFound", "Unauthenticated"]
