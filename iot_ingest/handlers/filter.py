"""Plausibility filters (as Traccar's FilterHandler): a reading that cannot be true is not believed.

It is dead-lettered with its reason (the raw message is kept, so an operator can look and replay),
counted as ``implausible`` (and its message as ``dead_lettered``), and never reaches the device's
state, a shipment's milestones or an alert. What was accepted before is untouched. The chain runs
validate -> **filter** -> bind -> dedup -> order -> ...: before bind, so that a reading of a device
not registered yet is filtered before it waits in quarantine.

The filters, first match wins (the figures are :class:`FilterConfig`'s defaults):

``future``
    event time more than 10 min after the reading was received. Trackers take their clock from
    GNSS (exact) or NTP; 10 min leaves room for a gateway's skew and queueing, while a fix dated
    ahead would become the device's state and shadow every true fix until its time comes
    (Traccar's ``filter.future`` compares with the server's clock the same way).
``zero``
    lat = lon = 0 exactly: the "null island" a GPS module reports without a fix (Traccar
    ``filter.zero``); no route of the network passes there.
``before ready``
    a reading of a device bound to a shipment, dated more than 24 h before the shipment's ready
    time (the quote's ``ready``: 09:00 local on the ready date when only a date was given). The
    tracker is attached when the cargo is ready; a day of grace covers it being switched on while
    the truck is loaded the evening before. Reproduction: a fix a year before the ready date moved
    a shipment to ``at:ALA_CN`` with a delay of -8,736 h.
``duplicate position``
    a fix with the same event time and the same position as the device's last accepted fix, under
    another ``seq`` (Traccar ``filter.duplicate``; the same key is a redelivery and the dedup step
    counts it as a duplicate, not as a dead letter).
``speed``
    a fix that would need an impossible ground speed from the device's last accepted fix: the
    great-circle distance less both fixes' uncertainty, over the time between them (at the same
    instant: any distance beyond the uncertainty). The limit is per mode of transport, taken over
    the modes of the shipment's chosen option plus road (the first and last mile are by truck
    whatever the plan says):

    ====  =========  ================================================================================
    mode  km/h       why
    ====  =========  ================================================================================
    road  200        trucks are governed to 90-100 km/h (EU, CN); a courier van on an unrestricted
                     Autobahn stays under ~180
    rail  200        China-Europe Railway Express runs at <= 120 km/h; China's express freight trains
                     160 km/h, plus 25 %
    sea   100        container ships <= 25 kn (46 km/h), fast ro-ro ferries ~40 kn (74 km/h)
    air   1,350      a freighter's true airspeed (~950 km/h at M0.85-0.9) plus the strongest jet
                     stream: the record subsonic ground speed is 1,327 km/h (BA 747, Feb 2020)
    ====  =========  ================================================================================

    A device not bound to a shipment is held to the fastest of all (1,350 km/h, "any mode"). The
    uncertainty of a fix is its ``accuracy_m`` when it reports one (at most 10 km), else 250 m
    (multipath in ports and rail yards). Only fixes at or after the device's state are checked:
    a late fix is history and cannot move the state, milestones or alerts, and comparing it with
    the fix before it would need a query per late reading. Warehouse sensors (``sensor`` readings)
    do not travel and are not checked.

    A fix the reference cannot explain is not always the liar: when the reference itself was wrong
    (a spoofed or glitched fix accepted first), every true fix after it would look impossible until
    enough time had passed. So ``jump_confirm`` (3) consecutive rejected fixes that are plausible
    from one another re-anchor the device: the third is accepted (the two before it stay in the
    dead-letter table). Until then the candidate is kept in the device state (``extra.jump``).

Cost: a few comparisons per reading and a distance only when a cheap upper bound (degrees of
latitude plus longitude) does not already clear the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter

from iot_ingest.handlers.base import Context
from iot_ingest.reading import Kind, Reading

MIN_MS = 60_000
H_MS = 3_600_000
FUTURE_MS = 10 * MIN_MS
READY_GRACE_MS = 24 * H_MS
MODE_MAX_KMH = {"road": 200.0, "rail": 200.0, "sea": 100.0, "air": 1_350.0}
ANY_MODE_KMH = max(MODE_MAX_KMH.values())
FIRST_MILE_MODE = "road"
DEFAULT_ACCURACY_M = 250.0
MAX_ACCURACY_M = 10_000.0
JUMP_CONFIRM = 3

_R_KM = 6371.0088  # mean Earth radius (IUGG)
_KM_PER_DEG = math.pi * _R_KM / 180.0
_RAD = math.pi / 180.0


@dataclass(frozen=True)
class FilterConfig:
    """The filters' limits (defaults: the module's constants, reasons in its docstring)."""

    future_ms: int = FUTURE_MS
    ready_grace_ms: int = READY_GRACE_MS
    mode_max_kmh: dict[str, float] = field(default_factory=lambda: dict(MODE_MAX_KMH))
    any_mode_kmh: float = ANY_MODE_KMH
    first_mile_mode: str = FIRST_MILE_MODE
    default_accuracy_m: float = DEFAULT_ACCURACY_M
    max_accuracy_m: float = MAX_ACCURACY_M
    jump_confirm: int = JUMP_CONFIRM


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = lat1 * _RAD, lat2 * _RAD
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((lon2 - lon1) * _RAD / 2) ** 2
    return 2 * _R_KM * math.asin(min(1.0, math.sqrt(a)))


def _when(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return f"{ms} ms"


def _span(ms: int) -> str:
    s = ms / 1000
    if s < 120:
        return f"{s:g} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:,.1f} h"


@dataclass(frozen=True, slots=True)
class _ShipmentLimits:
    not_before_ms: int | None  # readings before this are dated before the shipment was ready
    ready_ms: int | None
    max_kmh: float
    why: str  # which modes set max_kmh


_order = attrgetter("device_id", "ts_ms", "seq")
_NEVER = -(2**63)


class FilterHandler:
    def __init__(self, config: FilterConfig | None = None) -> None:
        self.config = config or FilterConfig()
        self._limits: dict[str, _ShipmentLimits] = {}  # per shipment id (a shipment's option never changes)
        self._any = _ShipmentLimits(None, None, self.config.any_mode_kmh, "any mode")

    def shipment_limits(self, ctx: Context, shipment_id: str) -> _ShipmentLimits:
        lim = self._limits.get(shipment_id)
        if lim is not None:
            return lim
        shp = ctx.shipment(shipment_id)
        if shp is None:
            return self._any  # not cached: the shipment may be created later
        cfg = self.config
        opt = shp.option
        ready_ms = None
        try:
            ready_ms = int(datetime.fromisoformat(opt["ready"]).timestamp() * 1000)
        except (KeyError, TypeError, ValueError):
            first = shp.milestones[0] if shp.milestones else {}
            ready_ms = first.get("planned_depart")
        planned = set(opt.get("modes") or (leg.get("mode") for leg in opt.get("legs", ())))
        planned.discard(None)
        modes = planned | {cfg.first_mile_mode}
        # the plan's own mode names the limit on a tie with the first mile
        fastest = max([*sorted(planned), cfg.first_mile_mode], key=lambda m: cfg.mode_max_kmh.get(m, cfg.any_mode_kmh))
        max_kmh = cfg.mode_max_kmh.get(fastest, cfg.any_mode_kmh)
        lim = _ShipmentLimits(None if ready_ms is None else ready_ms - cfg.ready_grace_ms, ready_ms, max_kmh,
                              f"{fastest}, the fastest mode of shipment {shipment_id}'s plan ({'/'.join(sorted(modes))})")
        if len(self._limits) >= 100_000:
            self._limits.clear()
        self._limits[shipment_id] = lim
        return lim

    def handle(self, readings: list[Reading], ctx: Context) -> list[Reading]:
        if not readings:
            return readings
        cfg = self.config
        devices = ctx.devices
        ctx.load_states({d for d in {r.device_id for r in readings} if devices.get(d) is not None})
        readings.sort(key=_order)  # each device's fixes in event-time order, as the order step will see them
        states = ctx.states
        future_ms = cfg.future_ms
        default_acc, max_acc = cfg.default_accuracy_m, cfg.max_accuracy_m
        position = Kind.POSITION
        out: list[Reading] = []
        append = out.append
        bad: dict[int, str] = {}
        cur: str | None = None
        dev = st = None
        lim = self._any
        not_before = _NEVER
        km_per_ms = 0.0
        ref_lat = ref_lon = None
        ref_slack_km = 0.0
        ref_ts = ref_seq = 0
        for r in readings:
            ts = r.ts_ms
            if ts > r.received_ms + future_ms:
                bad.setdefault(r.msg_index, f"implausible: event time {_when(ts)} is {_span(ts - r.received_ms)} after "
                                            f"its receipt at {_when(r.received_ms)} (future: more than "
                                            f"{_span(future_ms)} ahead)")
                continue
            lat = r.lat
            if lat == 0.0 and r.lon == 0.0:
                bad.setdefault(r.msg_index, "implausible: position 0, 0 (null island: a receiver without a fix)")
                continue
            if r.device_id != cur:
                cur = r.device_id
                dev = devices.get(cur)
                if dev is not None:
                    st = states[cur]
                    ref_lat, ref_lon, ref_ts, ref_seq = st.lat, st.lon, st.last_ts_ms, st.last_seq
                    acc = st.accuracy_m
                    ref_slack_km = (default_acc if acc is None else min(acc, max_acc)) / 1000
                    sid = dev.shipment_id
                    lim = self._any if sid is None else (self._limits.get(sid) or self.shipment_limits(ctx, sid))
                    not_before = _NEVER if lim.not_before_ms is None else lim.not_before_ms
                    km_per_ms = lim.max_kmh / H_MS
            if dev is None:  # unknown device: quarantined by the bind step; the state filters need a device
                append(r)
                continue
            if ts < not_before:
                bad.setdefault(r.msg_index, f"implausible: event time {_when(ts)} is before shipment "
                                            f"{dev.shipment_id}'s ready time {_when(lim.ready_ms)} by "
                                            f"{_span(lim.ready_ms - ts)} (more than {_span(cfg.ready_grace_ms)} of grace)")
                continue
            if lat is None or r.kind is not position or ts < ref_ts:
                append(r)  # not a fix, a sensor, or late (history): nothing to compare
                continue
            acc = r.accuracy_m
            slack_km = (default_acc if acc is None else min(acc, max_acc)) / 1000
            if ref_lat is not None:
                if ts == ref_ts:
                    if r.seq == ref_seq:
                        append(r)  # the same key: a redelivery, which the dedup step counts
                        continue
                    if lat == ref_lat and r.lon == ref_lon:
                        bad.setdefault(r.msg_index, f"implausible: duplicate position: the same time ({_when(ts)}) "
                                                    f"and position as the device's last fix")
                        continue
                dlon = abs(r.lon - ref_lon)
                if dlon > 180.0:
                    dlon = 360.0 - dlon
                # an upper bound of the distance (along the meridian, then the parallel) clears most fixes
                if (abs(lat - ref_lat) + dlon) * _KM_PER_DEG - ref_slack_km - slack_km > km_per_ms * (ts - ref_ts):
                    reason = self._speed(r, ref_lat, ref_lon, ref_slack_km + slack_km, ref_ts, lim)
                    if reason is not None:
                        if not self._confirmed(r, st, lim, ctx):
                            bad.setdefault(r.msg_index, reason)
                            continue
                if st.extra and "jump" in st.extra:
                    del st.extra["jump"]  # a believed fix: forget the jump candidate
                    ctx.dirty.add(cur)
            ref_lat, ref_lon, ref_slack_km, ref_ts, ref_seq = lat, r.lon, slack_km, ts, r.seq
            append(r)
        if bad:  # one bad reading spoils its whole message (as in the validate step)
            out = [r for r in out if r.msg_index not in bad]
            ctx.dead.extend(bad.items())
            ctx.counts["implausible"] += len(bad)
        return out

    def _speed(self, r: Reading, lat0: float, lon0: float, slack_km: float, ts0: int,
               lim: _ShipmentLimits) -> str | None:
        """Why ``r`` cannot follow the fix (lat0, lon0) at ts0 given both fixes' uncertainty, or None."""
        dt_ms = r.ts_ms - ts0
        allowed_km = lim.max_kmh * dt_ms / H_MS
        km = distance_km(lat0, lon0, r.lat, r.lon)
        if km - slack_km <= allowed_km:
            return None
        if dt_ms <= 0:
            how = f"{km:,.1f} km from the device's last fix at the same time"
        else:
            how = (f"{km:,.1f} km from the device's last fix in {_span(dt_ms)} "
                   f"({(km - slack_km) / (dt_ms / H_MS):,.0f} km/h beyond the fixes' uncertainty)")
        return f"implausible: speed: {how}; at most {lim.max_kmh:,.0f} km/h ({lim.why})"

    def _confirmed(self, r: Reading, st, lim: _ShipmentLimits, ctx: Context) -> bool:
        """Count ``r`` as a jump candidate; True when enough consecutive candidates agree (re-anchor)."""
        cfg = self.config
        cand = st.extra.get("jump")
        n = 1
        if isinstance(cand, list) and len(cand) == 4 and r.ts_ms > cand[2]:
            slack_km = 2 * cfg.default_accuracy_m / 1000
            if self._speed(r, cand[0], cand[1], slack_km, cand[2], lim) is None:
                n = int(cand[3]) + 1
        ctx.dirty.add(r.device_id)
        if n >= cfg.jump_confirm:
            st.extra.pop("jump", None)
            return True
        st.extra["jump"] = [r.lat, r.lon, r.ts_ms, n]
        return False
