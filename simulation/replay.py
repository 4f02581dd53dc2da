"""IoT replay: publish a simulated run's GPS fixes and warehouse sensor readings over MQTT.

The payloads follow the ingest formats (this package does not import iot_ingest: data flows one way):

- ``cbec/v1/devices/{device_id}/position``: ``{ts, lat, lon, speed_kmh, heading, seq}``, one
  device per train/flight/ship departure (the pilot zone's block of containers on it) and per
  truck trip;
- ``cbec/v1/warehouses/{warehouse_id}/sensors/{sensor_id}``: ``{ts, temperature_c, humidity_pct,
  door_open, occupied_positions}``.

``ts`` is the simulated time (ISO 8601, UTC). Messages are published in simulated-time order,
``speed`` times faster than real time (3600: one simulated hour per second), with QoS 1.
"""

from __future__ import annotations

import bisect
import json
import math
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.timeutil import zone
from simulation import limits as L
from simulation.chain import ChainModel
from simulation.route_choice import start_utc
from simulation.scenario import Scenario
from simulation.stations import Streams

POSITION_TOPIC = "cbec/v1/devices/{device_id}/position"
SENSOR_TOPIC = "cbec/v1/warehouses/{warehouse_id}/sensors/{sensor_id}"
M3_PER_POSITION = 1.5  # one pallet position holds about 1.5 m³

Message = tuple[float, str, dict[str, Any]]  # (simulated hour, topic, payload)


def run_traced(sc: Scenario, net: Network, replication: int = 0) -> ChainModel:
    """One replication with movements and warehouse levels recorded (identical KPIs to the untraced run)."""
    return ChainModel(sc, net, replication, trace=True).run()


def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def build_messages(model: ChainModel, interval_hours: float = 1.0, until_day: float | None = None,
                   prefix: str = "sim") -> list[Message]:
    """GPS fixes every ``interval_hours`` along each movement, and warehouse readings at the same rate.

    Device and sensor ids start with ``prefix`` (``sim-CRE_CD_LODZ-0007``, ``sim-truck-000042``, ``sim-env-01``).
    More than ``limits.MAX_REPLAY_MESSAGES`` messages (counted before any is built) is an InvalidInput.
    """
    if not (math.isfinite(interval_hours) and interval_hours >= L.MIN_REPLAY_INTERVAL_MIN / 60.0):
        raise InvalidInput(f"the replay interval must be at least {L.MIN_REPLAY_INTERVAL_MIN:g} minute(s)",
                           field="publish_interval")
    net, t0 = model.net, start_utc(model.sc)
    limit = (until_day * 24.0) if until_day is not None else math.inf
    expected = count_messages(model, interval_hours, until_day)
    if expected > L.MAX_REPLAY_MESSAGES:
        raise InvalidInput(f"the replay would publish about {expected:,} messages, over the limit of "
                           f"{L.MAX_REPLAY_MESSAGES:,}: raise the interval or replay fewer days", field="publish_interval")
    out: list[Message] = []

    def ts(h: float) -> str:
        return (t0 + timedelta(hours=h)).isoformat(timespec="seconds").replace("+00:00", "Z")

    for device, way in model.movements:
        device = prefix + device.removeprefix("sim")
        seq = 0
        for (ta, na), (tb, nb) in zip(way, way[1:]):
            a, b = net.nodes[na], net.nodes[nb]
            dur = tb - ta
            speed = _km(a.lat, a.lon, b.lat, b.lon) / dur if dur > 0 else 0.0
            heading = _bearing(a.lat, a.lon, b.lat, b.lon) if na != nb else 0.0
            steps = max(1, int(dur // interval_hours)) if dur > 0 else 1
            for k in range(steps):
                t = ta + k * interval_hours if dur > 0 else ta
                if t >= limit:
                    break
                f = (t - ta) / dur if dur > 0 else 0.0
                seq += 1
                out.append((t, POSITION_TOPIC.format(device_id=device), {
                    "ts": ts(t), "lat": round(a.lat + f * (b.lat - a.lat), 5), "lon": round(a.lon + f * (b.lon - a.lon), 5),
                    "speed_kmh": round(speed, 1), "heading": round(heading, 1), "seq": seq}))
        t_end, n_end = way[-1]
        if t_end < limit:
            seq += 1
            e = net.nodes[n_end]
            out.append((t_end, POSITION_TOPIC.format(device_id=device),
                        {"ts": ts(t_end), "lat": e.lat, "lon": e.lon, "speed_kmh": 0.0, "seq": seq}))

    rng = Streams(model.sc.seed, model.replication).get("sensors")
    by_wh: dict[str, list[tuple[float, float, bool]]] = {}
    for t, wh, occ, receiving in model.wh_trace:
        by_wh.setdefault(wh, []).append((t, occ, receiving))
    end = min(model.end, limit)
    for wh, rows in sorted(by_wh.items()):
        times = [r[0] for r in rows]
        tz = zone(net.nodes[wh].tz)
        h = 0.0
        while h < end:
            i = bisect.bisect_right(times, h) - 1
            occ = rows[i][1] if i >= 0 else 0.0
            j = bisect.bisect_left(times, h - interval_hours)
            door = any(rows[k][2] for k in range(j, i + 1)) if i >= j else False
            local_h = (t0 + timedelta(hours=h)).astimezone(tz).hour  # warm in the afternoon, local time
            temp = 19.0 + 3.0 * math.sin(2 * math.pi * (local_h - 9) / 24) + rng.gauss(0, 0.3)
            out.append((h, SENSOR_TOPIC.format(warehouse_id=wh, sensor_id=f"{prefix}-env-01"), {
                "ts": ts(h), "temperature_c": round(temp, 2), "humidity_pct": round(48 + rng.gauss(0, 2), 1),
                "door_open": bool(door), "occupied_positions": int(round(occ / M3_PER_POSITION))}))
            h += interval_hours
    out.sort(key=lambda m: m[0])
    return out


def count_messages(model: ChainModel, interval_hours: float, until_day: float | None = None) -> int:
    """An upper bound of what :func:`build_messages` makes (cheap: one pass over the movements)."""
    limit = (until_day * 24.0) if until_day is not None else math.inf
    n = 0
    for _device, way in model.movements:
        for (ta, _), (tb, _) in zip(way, way[1:]):
            if ta < limit:
                dur = tb - ta
                n += max(1, int(dur // interval_hours)) if dur > 0 else 1
        n += 1
    warehouses = len({wh for _t, wh, _o, _r in model.wh_trace})
    return n + warehouses * (int(min(model.end, limit) // interval_hours) + 1)


def parse_broker(url: str) -> tuple[str, int]:
    """``mqtt://host[:port]`` -> (host, port)."""
    shown = url if len(url) <= 100 else url[:100] + "…"
    try:
        u = urlparse(url)
        port = u.port
    except ValueError:  # a port out of range or not a number
        raise InvalidInput(f"--publish: '{shown}' is not an mqtt://host[:port] URL (bad port)", field="publish") from None
    if len(url) > 2048 or u.scheme not in ("mqtt", "tcp") or not u.hostname:
        raise InvalidInput(f"--publish: '{shown}' is not an mqtt://host[:port] URL", field="publish")
    return u.hostname, port or 1883


def publish(messages: Iterable[Message], url: str, *, speed: float = 3600.0, qos: int = 1,
            progress: Callable[[float, str], None] | None = None, total: int | None = None,
            sleep: Callable[[float], None] = time.sleep) -> int:
    """Publish in simulated-time order, ``speed`` x real time; returns the number of messages acknowledged."""
    import paho.mqtt.client as mqtt

    if speed <= 0:
        raise InvalidInput("--speed must be positive", field="speed")
    host, port = parse_broker(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"cbec-sim-replay-{time.time_ns() % 10**9}")
    client.max_queued_messages_set(0)
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise InvalidInput(f"--publish: cannot connect to the MQTT broker at {host}:{port} ({exc})", field="publish") from None
    client.loop_start()
    infos = []
    try:
        wall0, first = time.monotonic(), None
        for k, (t, topic, payload) in enumerate(messages, 1):
            if first is None:
                first = t
            due = wall0 + (t - first) * 3600.0 / speed
            delay = due - time.monotonic()
            if delay > 0:
                sleep(delay)
            infos.append(client.publish(topic, json.dumps(payload, separators=(",", ":")), qos=qos))
            if progress and total and k % 200 == 0:
                progress(k / total, f"published {k}/{total}")
        for info in infos:
            info.wait_for_publish(timeout=10)
        return sum(1 for i in infos if i.is_published())
    finally:
        client.loop_stop()
        client.disconnect()
