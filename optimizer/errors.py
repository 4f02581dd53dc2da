"""Domain errors. Each carries enough context for a one-line CLI message and an RFC 9457 body."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CbecError(Exception):
    """Base class: ``status`` is the HTTP status the API maps it to, ``title`` a short summary."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class DataError(CbecError):
    """A bundled or user-supplied data file is invalid: names the file, row and field."""

    status = 422
    title = "Invalid data file"

    def __init__(self, file: str, row: int | str | None, field: str | None, message: str) -> None:
        where = file
        if row is not None:
            where += f", row {row}"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}", field=field, file=file, row=row)
        self.file, self.row = file, row


class InvalidInput(CbecError):
    status = 422
    title = "Invalid input"


class UnknownNode(CbecError):
    status = 404
    title = "Unknown node"

    def __init__(self, node_id: str, known: Iterable[str], field: str = "node") -> None:
        known = list(known)
        close = difflib.get_close_matches(node_id.upper(), known, n=3, cutoff=0.5)
        if not close:
            close = [k for k in known if node_id.upper() in k][:3]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"unknown node '{node_id}' ({field}){hint}", field=field, suggestions=close)
        self.node_id = node_id
        self.suggestions = close


class NoRoute(CbecError):
    status = 422
    title = "No route"


class ServiceUnavailable(CbecError):
    """A backing service (database, broker) cannot be reached or is not ready (HTTP 503)."""

    status = 503
    title = "Service unavailable"
