"""One decoder per payload format, each turning a message into normalised :class:`Reading` s.

Topics (MQTT, and the ``topic`` of ``POST /v1/telemetry``):

=============================================  ==============================================
``cbec/v1/devices/{device_id}/position``       our JSON: ts, lat, lon, [speed_kmh, heading,
                                               accuracy_m, battery_pct, seq, temperature_c]
``owntracks/{user}/{device}``                  OwnTracks ``_type: location`` (device id
                                               ``{user}-{device}``); other ``_type`` ignored
``cbec/v1/warehouses/{wh}/sensors/{sensor}``   SenML pack (RFC 8428, JSON array) or our JSON:
                                               ts, the sensor measurements of Reading
                                               (temperature_c, humidity_pct, door_open,
                                               occupied_positions), [seq, battery_pct]
=============================================  ==============================================

A decoder raises :class:`DecodeError` (-> dead letter) for anything it cannot turn into a reading
and :class:`Ignored` for well-formed messages that carry no reading (OwnTracks ``lwt``, ...).
Range checks (coordinates, temperatures, time window) are the validate handler's job, plausibility
(future, before the shipment was ready, impossible speed) the filter handler's. Ids in topics follow
``iot_ingest.limits`` (a topic outside them is a dead letter with the reason).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime, timezone

from iot_ingest.limits import ID_MAX, ID_RE, ID_RULE, TOPIC_MAX
from iot_ingest.reading import MEASUREMENTS, NO_SEQ, Kind, Reading

MAX_PAYLOAD = 64 * 1024  # bytes; a SenML pack of a day of minute readings is ~40 KiB
SENML_RELATIVE_LIMIT = 2**28  # RFC 8428 §4.5.3: smaller times are relative to "now"


class DecodeError(ValueError):
    """The message cannot be decoded; ``reason`` goes to the dead-letter table."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Ignored(Exception):
    """A well-formed message that carries no reading (counted, not stored)."""


def _reject_constant(name: str) -> float:
    raise DecodeError(f"non-finite number {name} in JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # built once: json.loads(..., parse_constant=)
_scan_once = _DECODER.scan_once  # would build a new decoder per message; the C scanner itself


def loads(payload: bytes) -> object:
    """Strict JSON: NaN/Infinity, invalid UTF-8 and oversize payloads are decode errors."""
    if len(payload) > MAX_PAYLOAD:
        raise DecodeError(f"payload too large ({len(payload)} bytes > {MAX_PAYLOAD})")
    try:
        if payload[:1] in (b"{", b"["):  # plain UTF-8 (no BOM, no UTF-16/32): skip json's encoding sniffing
            s = payload.decode("utf-8")
            try:
                obj, end = _scan_once(s, 0)
            except StopIteration:
                obj, end = None, -1
            if end == len(s) or (end > 0 and not s[end:].strip(" \t\n\r")):
                return obj
            return _DECODER.decode(s)  # not one JSON value: let json phrase the error
        return json.loads(payload, parse_constant=_reject_constant)
    except DecodeError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise DecodeError(f"bad JSON: {str(exc)[:120]}") from None


def _num(doc: dict, key: str, *, required: bool = False) -> float | None:
    v = doc.get(key)
    tv = type(v)
    if tv is float:
        if v - v == 0.0:  # finite (inf - inf is nan); 1e999 parses to inf
            return v
        raise DecodeError(f"field '{key}' is not finite")
    if tv is int:
        return float(v)
    if v is None:
        if required:
            raise DecodeError(f"missing field '{key}'")
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DecodeError(f"field '{key}' must be a number (got {type(v).__name__})")
    if not math.isfinite(v):
        raise DecodeError(f"field '{key}' is not finite")
    return float(v)


def _int(doc: dict, key: str) -> int | None:
    v = doc.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise DecodeError(f"field '{key}' must be an integer (got {type(v).__name__})")
    return v


def _bool(doc: dict, key: str) -> bool | None:
    v = doc.get(key)
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if v in (0, 1):
        return bool(v)
    raise DecodeError(f"field '{key}' must be a boolean (got {type(v).__name__})")


def _ts_ms(value: object, key: str = "ts") -> int:
    """Epoch seconds (int/float; values above 1e11 are taken as ms) or an ISO 8601 string with offset."""
    tv = type(value)
    if tv is float or tv is int:  # the common case (bool is not int here: type() is exact)
        if value - value == 0:
            return int(value) if abs(value) > 1e11 else int(round(value * 1000))
        raise DecodeError(f"field '{key}' is not finite")
    if isinstance(value, bool) or value is None:
        raise DecodeError(f"field '{key}' must be epoch seconds or ISO 8601 (got {value!r})")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise DecodeError(f"field '{key}' is not finite")
        return int(value) if abs(value) > 1e11 else int(round(value * 1000))
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise DecodeError(f"field '{key}' is not ISO 8601: {value[:40]!r}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return int(dt.timestamp() * 1000)
    raise DecodeError(f"field '{key}' must be epoch seconds or ISO 8601 (got {type(value).__name__})")


def _obj(doc: object) -> dict:
    if not isinstance(doc, dict):
        raise DecodeError(f"expected a JSON object (got {type(doc).__name__})")
    return doc


def _seq(doc: dict) -> int:
    s = doc.get("seq")
    if type(s) is int and 0 <= s <= 2**62:  # the common case
        return s
    s = _int(doc, "seq")
    if s is None:
        return NO_SEQ
    if s < 0 or s > 2**62:
        raise DecodeError("field 'seq' out of range")
    return s


# --- formats -------------------------------------------------------------------------------------
# decode_cbec_position passes these measurements positionally, after seq (the hot path: keywords
# cost ~0.4 µs a message); a measurement inserted among them in Reading must not shift them silently
_POSITION_ARGS = ("lat", "lon", "speed_kmh", "heading", "accuracy_m", "battery_pct", "temperature_c")
if tuple(f.name for f in fields(Reading))[7:7 + len(_POSITION_ARGS)] != _POSITION_ARGS:
    raise TypeError("Reading's fields after seq changed: update decode_cbec_position")


def decode_cbec_position(device_id: str, topic: str, payload: bytes, received_ms: int) -> list[Reading]:
    """Our tracker JSON: ``{"ts": 1760000000, "lat": .., "lon": .., "speed_kmh": .., "seq": 7}``."""
    d = _obj(loads(payload))
    if "ts" not in d:
        raise DecodeError("missing field 'ts'")
    return [Reading(device_id, Kind.POSITION, _ts_ms(d["ts"]), received_ms, "cbec-json", topic, _seq(d),
                    _num(d, "lat", required=True), _num(d, "lon", required=True), _num(d, "speed_kmh"),
                    _num(d, "heading"), _num(d, "accuracy_m"), _num(d, "battery_pct"), _num(d, "temperature_c"))]


def decode_owntracks(device_id: str, topic: str, payload: bytes, received_ms: int) -> list[Reading]:
    """OwnTracks ``_type: location`` (tst epoch s, lat, lon, vel km/h, cog, acc, batt)."""
    d = _obj(loads(payload))
    t = d.get("_type")
    if t != "location":
        if isinstance(t, str) and t in {"lwt", "transition", "waypoint", "waypoints", "card", "cmd", "status",
                                        "configuration", "beacon", "steps", "dump", "request"}:
            raise Ignored(f"owntracks _type {t}")
        raise DecodeError(f"owntracks: unsupported _type {t!r}")
    tst = _int(d, "tst")
    if tst is None:
        raise DecodeError("missing field 'tst'")
    return [Reading(device_id, Kind.POSITION, tst * 1000, received_ms, "owntracks", topic, NO_SEQ,
                    lat=_num(d, "lat", required=True), lon=_num(d, "lon", required=True),
                    speed_kmh=_num(d, "vel"), heading=_num(d, "cog"), accuracy_m=_num(d, "acc"),
                    battery_pct=_num(d, "batt"))]


_CONVERT = {float: _num, int: _int, bool: _bool}
_SENSOR_FIELDS = tuple((m.name, _CONVERT[m.type]) for m in MEASUREMENTS if m.sensor)
_NO_MEASUREMENT = f"sensor message has no measurement ({', '.join(name for name, _ in _SENSOR_FIELDS)})"


def decode_sensor_json(device_id: str, warehouse: str, topic: str, payload: bytes, received_ms: int) -> list[Reading]:
    """Our warehouse sensor JSON: ts, [seq, battery_pct] and the sensor measurements of
    :class:`Reading` under their own names (temperature_c, humidity_pct, door_open, occupied_positions)."""
    d = _obj(loads(payload))
    if "ts" not in d:
        raise DecodeError("missing field 'ts'")
    r = Reading(device_id, Kind.SENSOR, _ts_ms(d["ts"]), received_ms, "cbec-sensor-json", topic, _seq(d),
                warehouse_hint=warehouse)
    measured = False
    for name, convert in _SENSOR_FIELDS:
        v = convert(d, name)
        if v is not None:
            setattr(r, name, v)
            measured = True
    r.battery_pct = _num(d, "battery_pct")
    if not measured:
        raise DecodeError(_NO_MEASUREMENT)
    return [r]


# SenML: which resolved (name suffix, unit) carries which Reading field
_SENML_UNITS = {"Cel": "temperature_c", "%RH": "humidity_pct", "lat": "lat", "lon": "lon", "%EL": "battery_pct", "/": None}
_SENML_NAMES = {"temperature": "temperature_c", "temp": "temperature_c", "5700": "temperature_c",
                "humidity": "humidity_pct", "door": "door_open", "door_open": "door_open",
                "occupied_positions": "occupied_positions", "occupancy": "occupied_positions",
                "battery": "battery_pct", "lat": "lat", "lon": "lon", "latitude": "lat", "longitude": "lon"}
_TYPES = {m.name: m.type for m in MEASUREMENTS}


def decode_senml(device_id: str, warehouse: str, topic: str, payload: bytes, received_ms: int) -> list[Reading]:
    """A SenML pack (RFC 8428 JSON): base fields resolved, one reading per distinct resolved time."""
    pack = loads(payload)
    if not isinstance(pack, list) or not pack:
        raise DecodeError("senml: a pack must be a non-empty JSON array")
    bn, bt, bu, bv = "", 0.0, None, 0.0
    by_time: dict[int, Reading] = {}
    ut: float | None = None
    for i, rec in enumerate(pack):
        if not isinstance(rec, dict):
            raise DecodeError(f"senml: record {i} is not an object")
        if "bn" in rec:
            if not isinstance(rec["bn"], str):
                raise DecodeError(f"senml: record {i}: bn must be a string")
            bn = rec["bn"]
        if "bt" in rec:
            bt = _num(rec, "bt") or 0.0
        if "bu" in rec:
            bu = rec["bu"] if isinstance(rec["bu"], str) else None
        if "bv" in rec:
            bv = _num(rec, "bv") or 0.0
        name = bn + (rec.get("n") if isinstance(rec.get("n"), str) else "")
        unit = rec.get("u") if isinstance(rec.get("u"), str) else bu
        t = bt + (_num(rec, "t") or 0.0)
        if "ut" in rec:
            ut = _num(rec, "ut")
        if abs(t) < SENML_RELATIVE_LIMIT:  # relative to now (the receipt time)
            t = received_ms / 1000.0 + t
        fieldname = None
        short = re.split(r"[/:]", name.rstrip("/:"))[-1].lower() if name else ""
        if short in _SENML_NAMES:
            fieldname = _SENML_NAMES[short]
        elif unit in _SENML_UNITS:
            fieldname = _SENML_UNITS[unit]
        if fieldname is None:
            continue  # a measurement we do not track (voltage, current, ...)
        typ = _TYPES[fieldname]
        if typ is bool:
            value: object = _bool(rec, "vb") if "vb" in rec else (_num(rec, "v") or 0.0) + bv != 0
        else:
            if "v" not in rec:
                continue  # e.g. the LwM2M object-type record {"vs": "urn:oma:lwm2m:ext:3303"}
            v = _num(rec, "v")
            value = (v or 0.0) + bv
            if typ is int:
                if not float(value).is_integer():
                    raise DecodeError(f"senml: record {i}: {fieldname} must be an integer")
                value = int(value)
        ts_ms = _ts_ms(t, "t")
        r = by_time.get(ts_ms)
        if r is None:
            r = by_time[ts_ms] = Reading(device_id, Kind.SENSOR, ts_ms, received_ms, "senml", topic, NO_SEQ,
                                         warehouse_hint=warehouse)
        setattr(r, fieldname, value)
    if not by_time:
        raise DecodeError("senml: pack has no known measurement (Cel, %RH, lat/lon, door, occupancy)")
    out = sorted(by_time.values(), key=lambda r: r.ts_ms)
    for r in out:
        r.update_interval_s = ut
        if (r.lat is None) != (r.lon is None):
            raise DecodeError("senml: lat without lon (or lon without lat) at the same time")
    return out


# --- topic routing -------------------------------------------------------------------------------
Decoder = Callable[[str, bytes, int], list[Reading]]

SUBSCRIPTIONS = ("cbec/v1/devices/+/position", "owntracks/+/+", "cbec/v1/warehouses/+/sensors/+")


def _check_id(value: str, what: str) -> str:
    if ID_RE.fullmatch(value) is None:  # fullmatch: "$" alone would let a trailing newline through
        raise DecodeError(f"bad {what} in topic: {value[:70]!r} (an id is {ID_RULE})")
    return value


_POSITION_TOPICS: dict[str, str] = {}  # valid position topic -> device id (the common case, parsed once)


def decode(topic: str, payload: bytes, received_ms: int) -> list[Reading]:
    """Route by topic to the right decoder; raises DecodeError / Ignored."""
    if not isinstance(payload, (bytes, bytearray)):
        raise DecodeError("payload is not bytes")
    dev = _POSITION_TOPICS.get(topic)
    if dev is not None:
        return decode_cbec_position(dev, topic, bytes(payload), received_ms)
    if not isinstance(topic, str):
        raise DecodeError("topic is not text")
    if len(topic) > TOPIC_MAX:
        raise DecodeError(f"topic longer than {TOPIC_MAX} characters ({len(topic):,}): {topic[:60]!r}")
    parts = topic.split("/")
    if len(parts) == 5 and parts[:3] == ["cbec", "v1", "devices"] and parts[4] == "position":
        dev = _check_id(parts[3], "device id")
        if len(_POSITION_TOPICS) >= 1_000_000:
            _POSITION_TOPICS.clear()
        _POSITION_TOPICS[topic] = dev
        return decode_cbec_position(dev, topic, bytes(payload), received_ms)
    if len(parts) == 3 and parts[0] == "owntracks":
        dev = f"{_check_id(parts[1], 'owntracks user')}-{_check_id(parts[2], 'owntracks device')}"
        if len(dev) > ID_MAX:
            raise DecodeError(f"owntracks device id USER-DEVICE longer than {ID_MAX} characters ({len(dev)})")
        return decode_owntracks(dev, topic, bytes(payload), received_ms)
    if len(parts) == 6 and parts[:3] == ["cbec", "v1", "warehouses"] and parts[4] == "sensors":
        wh, sensor = _check_id(parts[3], "warehouse id"), _check_id(parts[5], "sensor id")
        body = bytes(payload).lstrip()
        if body.startswith(b"["):
            return decode_senml(sensor, wh, topic, body, received_ms)
        return decode_sensor_json(sensor, wh, topic, body, received_ms)
    raise DecodeError(f"unknown topic format: {topic[:120]!r}")
