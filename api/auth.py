"""Who is calling: the principal every router reads (``PrincipalDep``).

The interface is fixed here so that routers and jobs can carry an owner; the accounts work
replaces :func:`get_principal` with API-key / bearer-token authentication.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its organisation (the tenant), user or key, and role."""

    org_id: str | None  # None: anonymous
    user_id: str | None = None
    key_id: str | None = None
    role: str = "anonymous"  # anonymous | member | admin | analyst | device

    @property
    def anonymous(self) -> bool:
        return self.org_id is None


ANONYMOUS = Principal(org_id=None)


def get_principal(request: Request) -> Principal:
    """The caller of this request."""
    return ANONYMOUS


PrincipalDep = Annotated[Principal, Depends(get_principal)]
