"""Bounds on the identifiers the ingest accepts: one definition for the decoders (MQTT topics), the
registry, shipments, the read side, the HTTP schemas (``pattern`` / ``maxLength`` in the OpenAPI)
and the CLI.

* Device and shipment ids: 1-64 characters of ``A-Z a-z 0-9 _ . : -``. 64 is the width of the id
  columns (``VARCHAR(64)``: a longer id is an error on PostgreSQL, not just a long string). The
  characters are those a device id can have in an MQTT topic segment: no ``/``, no wildcard
  (``+``, ``#``), no space; and nothing that can hurt a reader or a database: no control
  characters (NUL is an error in PostgreSQL text), no bidirectional overrides (U+202E makes
  ``TRK-1`` read as something else), no HTML (``<``, ``>``, quotes). An OwnTracks device id is
  ``USER-DEVICE`` and is held to the same 64.
* Topics (``POST /v1/telemetry?topic=``): segments of those characters joined by ``/``, at most
  ``TOPIC_MAX`` characters. The longest valid topic is
  ``cbec/v1/warehouses/{64}/sensors/{64}`` (156 characters). From MQTT, a topic outside these
  rules is a dead letter with the reason (``decoders.decode``); over HTTP it is a 422 before
  anything is read or stored.
* Warehouse ids are node ids (``optimizer.quotes.limits.check_id``: ``[A-Za-z0-9_]{1,64}``,
  case-insensitive).
"""

from __future__ import annotations

import re

from optimizer.errors import InvalidInput

ID_MAX = 64
ID_CHARS = "A-Za-z0-9_.:\\-"
ID_PATTERN = rf"^[{ID_CHARS}]{{1,{ID_MAX}}}$"
ID_RE = re.compile(ID_PATTERN)
ID_RULE = f"1-{ID_MAX} characters of letters, digits, '_', '.', ':' or '-'"

TOPIC_MAX = 200
TOPIC_PATTERN = rf"^[{ID_CHARS}]+(?:/[{ID_CHARS}]+)*$"
TOPIC_RE = re.compile(TOPIC_PATTERN)
TOPIC_RULE = (f"segments of letters, digits, '_', '.', ':' or '-' separated by '/', at most {TOPIC_MAX} "
              "characters")


def id_problem(value: object) -> str | None:
    """Why ``value`` is not a valid device or shipment id, or None."""
    if not isinstance(value, str):
        return f"must be a string (got {type(value).__name__})"
    if not value:
        return f"is empty; give {ID_RULE}"
    if len(value) > ID_MAX:
        return f"is longer than {ID_MAX} characters ({len(value):,})"
    if ID_RE.fullmatch(value) is None:
        return f"must be {ID_RULE} (got {_first_bad(value)})"
    return None


_ID_CHAR = re.compile(f"[{ID_CHARS}]")


def _first_bad(value: str) -> str:
    """Where ``value`` breaks the rule, without echoing it: "U+202E at character 1", "'<' at character 3"."""
    for i, c in enumerate(value):
        if _ID_CHAR.fullmatch(c) is None:
            what = f"'{c}'" if c.isprintable() and c.isascii() else f"U+{ord(c):04X}"
            return f"{what} at character {i + 1}"
    return f"{len(value)} characters"  # pragma: no cover - only reached if ID_RE and _ID_CHAR disagree


def check_ingest_id(value: object, field: str, label: str | None = None) -> str:
    """``value`` unchanged when it is a valid device/shipment id; else InvalidInput naming ``label``
    (default ``field``) and the rule; the input is never echoed (only its first offending character,
    by code point when it is not printable ASCII)."""
    problem = id_problem(value)
    if problem is not None:
        raise InvalidInput(f"{label or field} {problem}", field=field)
    return value  # type: ignore[return-value]


__all__ = ["ID_MAX", "ID_PATTERN", "ID_RULE", "TOPIC_MAX", "TOPIC_PATTERN", "TOPIC_RULE", "check_ingest_id",
           "id_problem"]
