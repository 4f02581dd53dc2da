"""Which figures an option relies on and whether they hold on the days it uses them.

A tariff (tariffs.yaml) and a timetable (a scheduled service in services.yaml) each carry a
:class:`~optimizer.network.model.Validity`. An option uses, per leg, the tariff of its service and (unless
the service is continuous road) its timetable, on the leg's departure day. :func:`check_options` lists the
figures used outside their validity; :func:`earliest_valid_to` is the day the data of a quote expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from optimizer.network.model import Option, Validity
from optimizer.network.network import Network


@dataclass(frozen=True)
class FigureUse:
    """One figure an option uses: ``kind`` tariff | timetable, its id, the service and the day it is used on."""

    kind: str
    figure: str
    service: str
    day: date
    validity: Validity

    @property
    def valid(self) -> bool:
        return self.validity.covers(self.day)

    def describe(self) -> str:
        """``tariff rail_cre_pl (CRE_CD_LODZ, 2019-03-04): valid 2026-01-01 to 2027-03-31``."""
        used = self.day.isoformat() if self.kind == "timetable" else f"{self.service}, {self.day.isoformat()}"
        return f"{self.kind} {self.figure} ({used}): {self.validity.describe()}"


def figures_used(net: Network, option: Option) -> list[FigureUse]:
    """The tariffs and timetables ``option`` uses, each with the (UTC) day of the leg's departure."""
    out: list[FigureUse] = []
    for leg in option.legs:
        s = net.services[leg.service_id]
        day = leg.departure.depart.date()
        out.append(FigureUse("tariff", s.tariff.id, s.id, day, s.tariff.validity))
        if not s.schedule.continuous:
            out.append(FigureUse("timetable", s.id, s.id, day, s.schedule.validity))
    return out


def check_options(net: Network, options: Iterable[Option]) -> list[FigureUse]:
    """The figures the options use outside their validity (each figure once, first use)."""
    seen: set[tuple[str, str]] = set()
    bad: list[FigureUse] = []
    for o in options:
        for f in figures_used(net, o):
            if not f.valid and (f.kind, f.figure) not in seen:
                seen.add((f.kind, f.figure))
                bad.append(f)
    return bad


def earliest_valid_to(net: Network, options: Iterable[Option]) -> date | None:
    """The earliest ``valid_to`` among the tariffs and timetables the options use (None: all open-ended)."""
    ends = [f.validity.valid_to for o in options for f in figures_used(net, o) if f.validity.valid_to is not None]
    return min(ends) if ends else None
