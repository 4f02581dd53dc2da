"""Time helpers: the search loops work in integer minutes since the Unix epoch (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_minutes(dt: datetime) -> int:
    """Minutes since the epoch; naive datetimes are taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int((dt - EPOCH).total_seconds() // 60)


def from_minutes(minutes: float) -> datetime:
    return EPOCH + timedelta(minutes=minutes)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_iso(dt: datetime, tz: str) -> str:
    """ISO 8601 in the node's local time with its UTC offset, to the minute."""
    return dt.astimezone(zone(tz)).isoformat(timespec="minutes")


def parse_ready(value: str | date | datetime, tz: str, default_hour: int = 9) -> datetime:
    """A ready date/time as UTC. A bare date means ``default_hour``:00 local time at the origin.

    Raises ValueError with a readable message on a malformed value.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time(default_hour))
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                dt = datetime.combine(date.fromisoformat(text), time(default_hour))
            else:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"'{value}' is not an ISO 8601 date (YYYY-MM-DD) or date-time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(tz))
    return dt.astimezone(UTC)
