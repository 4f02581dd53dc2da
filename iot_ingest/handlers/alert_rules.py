"""Alert rules, applied by the alerts handler (``handlers/alerts.py``) to each live reading, and
:func:`sweep`, the time-driven ones the pipeline runs on a timer. Each alert is raised once when its
condition starts and closed when it ends (an open row in ``iot_alerts`` with ``ended_ms`` NULL),
never once per reading.

* ``temperature_high`` / ``temperature_low``: out of the device's range for ``excursion_minutes``
  (COLDWATCH-style, e.g. > 8 °C for 15 min); closes only ``hysteresis_c`` back inside the range.
* ``door_open``: open longer than ``door_open_max_minutes``; closes when the door closes.
* ``silent``: nothing received for ``SILENT_FACTOR`` x the expected interval (SenML ``ut`` when the
  device sends it, else the registry's ``expected_interval_s``); closes on the next reading.
* ``border_dwell``: inside a border-crossing fence longer than its usual delay (the plan's dwell
  there, else the longest dwell of any service stopping there) plus ``BORDER_MARGIN``.
"""

from __future__ import annotations

from functools import lru_cache

from iot_ingest.handlers.base import Context, DeviceState
from iot_ingest.reading import Reading
from iot_ingest.registry import Device
from optimizer.network import Network
from optimizer.network.model import NodeKind

MIN_MS = 60_000
H_MS = 3_600_000
SILENT_FACTOR = 3.0
BORDER_MARGIN = 0.5  # x the usual dwell, at least BORDER_MIN_MARGIN_H
BORDER_MIN_MARGIN_H = 6.0
DEFAULT_BORDER_DWELL_H = 24.0


@lru_cache(maxsize=8)
def usual_border_dwell_h(net: Network) -> dict[str, float]:
    """Longest scheduled dwell (gauge change, checks) per border node over all services."""
    out: dict[str, float] = {}
    for s in net.services.values():
        for st in s.stops:
            out[st.node] = max(out.get(st.node, 0.0), st.dwell_hours)
    return out


def border_limit_ms(net: Network, node: str, planned_dwell_ms: int | None) -> int:
    usual_h = planned_dwell_ms / H_MS if planned_dwell_ms else usual_border_dwell_h(net).get(node, DEFAULT_BORDER_DWELL_H)
    return int((usual_h + max(usual_h * BORDER_MARGIN, BORDER_MIN_MARGIN_H)) * H_MS)


def temperature(dev: Device, st: DeviceState, r: Reading, ctx: Context) -> None:
    temp = r.temperature_c
    if temp is None:
        return
    exc = st.extra.get("exc")  # {"kind", "since", "open", "peak"}
    hi, lo = dev.temp_max, dev.temp_min
    kind = "temperature_high" if hi is not None and temp > hi else "temperature_low" if lo is not None and temp < lo else None
    if exc and exc["open"]:
        worse = temp > exc["peak"] if exc["kind"] == "temperature_high" else temp < exc["peak"]
        if worse:
            exc["peak"] = temp
        back = (exc["kind"] == "temperature_high" and temp <= hi - dev.hysteresis_c) or \
               (exc["kind"] == "temperature_low" and temp >= lo + dev.hysteresis_c)
        if back:
            ctx.close_alert(dev.device_id, exc["kind"], r.ts_ms)
            st.extra.pop("exc")
        return
    if kind is None:
        st.extra.pop("exc", None)
        return
    if not exc or exc["kind"] != kind:
        exc = st.extra["exc"] = {"kind": kind, "since": r.ts_ms, "open": False, "peak": temp}
    exc["peak"] = max(exc["peak"], temp) if kind == "temperature_high" else min(exc["peak"], temp)
    if r.ts_ms - exc["since"] >= dev.excursion_minutes * MIN_MS:
        exc["open"] = True
        limit = hi if kind == "temperature_high" else lo
        ctx.open_alert(dev, kind, exc["since"], exc["peak"],
                       f"{temp:.1f} °C, outside the limit {limit:g} °C for {(r.ts_ms - exc['since']) / MIN_MS:.0f} min")
        ctx.counts["alerts"] += 1


def door(dev: Device, st: DeviceState, r: Reading, ctx: Context) -> None:
    if r.door_open is None:
        return
    if r.door_open:
        st.extra.setdefault("door_since", r.ts_ms)
        _door_check(dev, st, r.ts_ms, ctx)
    else:
        st.extra.pop("door_since", None)
        if st.extra.pop("door_alert", False):
            ctx.close_alert(dev.device_id, "door_open", r.ts_ms)


def _door_check(dev: Device, st: DeviceState, at_ms: int, ctx: Context) -> None:
    since = st.extra.get("door_since")
    if since is not None and not st.extra.get("door_alert") and at_ms - since >= dev.door_open_max_minutes * MIN_MS:
        st.extra["door_alert"] = True
        ctx.open_alert(dev, "door_open", since, (at_ms - since) / MIN_MS,
                       f"door open for {(at_ms - since) / MIN_MS:.0f} min (limit {dev.door_open_max_minutes:g} min)")
        ctx.counts["alerts"] += 1


def border(dev: Device, st: DeviceState, r: Reading, ctx: Context) -> None:
    flagged: list[str] = st.extra.get("border_alert", [])
    for node in list(flagged):
        if node not in st.fences:
            flagged.remove(node)
            ctx.close_alert(dev.device_id, "border_dwell", r.ts_ms)
    since_map = st.extra.get("fence_since", {})
    for node in st.fences:
        n = ctx.net.nodes.get(node)
        if n is None or n.kind is not NodeKind.BORDER_CROSSING or node in flagged or node not in since_map:
            continue
        planned = None
        shp = ctx.shipment(dev.shipment_id) if dev.shipment_id else None
        if shp is not None:
            for m in shp.milestones:
                if m["node"] == node and m["planned_arrive"] and m["planned_depart"]:
                    planned = m["planned_depart"] - m["planned_arrive"]
        limit = border_limit_ms(ctx.net, node, planned)
        dwell = r.ts_ms - since_map[node]
        if dwell > limit:
            flagged.append(node)
            ctx.open_alert(dev, "border_dwell", since_map[node], dwell / H_MS,
                           f"at {n.name} for {dwell / H_MS:.0f} h (usual limit {limit / H_MS:.0f} h)")
            ctx.counts["alerts"] += 1
    if flagged:
        st.extra["border_alert"] = flagged
    else:
        st.extra.pop("border_alert", None)


def apply(dev: Device, st: DeviceState, r: Reading, ctx: Context) -> None:
    """All rules for one live reading, in event-time order."""
    temperature(dev, st, r, ctx)
    door(dev, st, r, ctx)
    if r.lat is not None or st.extra.get("border_alert"):
        border(dev, st, r, ctx)


def sweep(ctx: Context) -> int:
    """Time-driven checks (no reading arrives from a silent device): silent and door-open-too-long.
    Returns the number of alerts raised."""
    before = len(ctx.alerts_opened)
    ctx.load_states(set(ctx.devices))
    for dev_id, dev in ctx.devices.items():
        st = ctx.states[dev_id]
        if st.is_new:
            continue  # never heard of: not silent, just not started
        interval_s = st.extra.get("ut") or dev.expected_interval_s
        deadline = st.last_received_ms + int(SILENT_FACTOR * interval_s * 1000)
        if ctx.now_ms > deadline and not st.extra.get("silent"):
            st.extra["silent"] = True
            ctx.open_alert(dev, "silent", deadline, (ctx.now_ms - st.last_received_ms) / 1000.0,
                           f"no reading for {(ctx.now_ms - st.last_received_ms) / 60000:.0f} min "
                           f"(expected every {interval_s:g} s)")
            ctx.dirty.add(dev_id)
        if "door_since" in st.extra and not st.extra.get("door_alert"):
            _door_check(dev, st, ctx.now_ms, ctx)
            if st.extra.get("door_alert"):
                ctx.dirty.add(dev_id)
    ctx.counts["alerts"] += len(ctx.alerts_opened) - before
    return len(ctx.alerts_opened) - before
