"""Departure tables: when does a scheduled service leave, given when the cargo is ready?"""

from __future__ import annotations

import threading
from bisect import bisect_left
from datetime import date, datetime, time, timedelta

from optimizer.network.model import Departure, Service
from optimizer.network.timeutil import from_minutes, to_minutes, zone


class DepartureTable:
    """Sorted departure minutes of one scheduled service, extended lazily in 8-week blocks.

    Schedules are in the origin node's local time (so a Europe departure follows DST); the table
    stores UTC minutes so the search only does a bisect.
    """

    __slots__ = ("service", "tz", "_minutes", "_first", "_last", "_cutoff", "_lock")

    BLOCK_DAYS = 56

    def __init__(self, service: Service, tz: str) -> None:
        if service.schedule.continuous:
            raise ValueError(f"service {service.id} is continuous; it has no departure table")
        self.service = service
        self.tz = tz
        self._minutes: list[int] = []
        self._first: date | None = None
        self._last: date | None = None
        self._cutoff = int(round(service.schedule.cutoff_hours * 60))
        self._lock = threading.Lock()  # API worker threads share one network; extensions must not interleave

    def _fill(self, start: date, end: date) -> list[int]:
        sched = self.service.schedule
        tzinfo = zone(self.tz)
        times = [time.fromisoformat(t) for t in sched.times]
        out: list[int] = []
        day = start
        while day < end:
            if day.weekday() in sched.weekdays:
                for t in times:
                    out.append(to_minutes(datetime.combine(day, t, tzinfo=tzinfo)))
            day += timedelta(days=1)
        return out

    def _ensure(self, minute: int) -> None:
        day = from_minutes(minute).date()
        if self._first is not None and self._first <= day - timedelta(days=2) and day + timedelta(days=14) < self._last:
            return
        with self._lock:
            self._extend(day)

    def _extend(self, day: date) -> None:
        if self._first is None:
            self._first = day - timedelta(days=7)
            self._last = self._first
        if day - timedelta(days=2) < self._first:
            start = day - timedelta(days=9)
            self._minutes = self._fill(start, self._first) + self._minutes
            self._first = start
        while self._last <= day + timedelta(days=14):
            end = self._last + timedelta(days=self.BLOCK_DAYS)
            self._minutes.extend(self._fill(self._last, end))
            self._last = end

    def next_departure(self, ready_minute: int) -> int:
        """First departure whose cut-off is at or after ``ready_minute`` (UTC minutes)."""
        earliest = ready_minute + self._cutoff
        self._ensure(earliest)
        i = bisect_left(self._minutes, earliest)
        while i >= len(self._minutes):
            self._ensure(self._minutes[-1] + 7 * 1440 if self._minutes else earliest + 7 * 1440)
            i = bisect_left(self._minutes, earliest)
        return self._minutes[i]

    def between(self, start_minute: int, end_minute: int) -> list[int]:
        """Departures in [start, end) (UTC minutes)."""
        self._ensure(start_minute)
        self._ensure(end_minute)
        lo = bisect_left(self._minutes, start_minute)
        hi = bisect_left(self._minutes, end_minute)
        return self._minutes[lo:hi]

    @property
    def cutoff_minutes(self) -> int:
        return self._cutoff


def make_departure(service: Service, depart_minute: int) -> Departure:
    """The Departure record of ``service`` leaving at ``depart_minute``, arriving at its p50."""
    cutoff = depart_minute - int(round(service.schedule.cutoff_hours * 60))
    return Departure(
        service_id=service.id,
        depart=from_minutes(depart_minute),
        cutoff=from_minutes(cutoff),
        arrive=from_minutes(depart_minute + round(service.transit.p50_hours * 60)),
    )
