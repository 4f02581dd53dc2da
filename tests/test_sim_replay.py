"""IoT replay: a simulated run publishes GPS fixes and warehouse readings to a real MQTT broker."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import datetime

import pytest

from simulation.replay import build_messages, parse_broker, publish, run_traced
from simulation.runner import scenario_network
from simulation.scenario import load_scenario, parse_scenario

BROKER = os.environ.get("CBEC_TEST_MQTT", "mqtt://127.0.0.1:1883")


def _reachable(url: str) -> bool:
    host, port = parse_broker(url)
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def traced():
    sc = load_scenario("baseline")
    sc = parse_scenario({**sc.to_doc(), "horizon_days": 20.0, "warmup_days": 2.0, "drain_days": 25.0}, "replay")
    return run_traced(sc, scenario_network(sc), 0)


def test_messages_follow_the_ingest_formats(traced):
    msgs = build_messages(traced, interval_hours=6.0, until_day=20)
    assert msgs == sorted(msgs, key=lambda m: m[0])
    pos = [m for m in msgs if m[1].endswith("/position")]
    sens = [m for m in msgs if "/sensors/" in m[1]]
    assert pos and sens
    trains = {m[1] for m in pos if "CRE_" in m[1]}
    assert trains, "a China-Europe train should be under way in 20 days"
    last_seq: dict[str, int] = {}
    for t, topic, p in pos:
        parts = topic.split("/")
        assert parts[:3] == ["cbec", "v1", "devices"] and parts[4] == "position"
        assert -90 <= p["lat"] <= 90 and -180 <= p["lon"] <= 180
        datetime.fromisoformat(p["ts"].replace("Z", "+00:00"))
        assert p["seq"] > last_seq.get(parts[3], 0)
        last_seq[parts[3]] = p["seq"]
    for t, topic, p in sens:
        parts = topic.split("/")
        assert parts[:3] == ["cbec", "v1", "warehouses"] and parts[4] == "sensors"
        assert set(p) <= {"ts", "temperature_c", "humidity_pct", "door_open", "occupied_positions"}
        assert p["occupied_positions"] >= 0 and isinstance(p["door_open"], bool)
    # a train passes its border stations: some fix lies near Alashankou
    assert any(abs(p["lat"] - 45.17) < 1.5 and abs(p["lon"] - 82.57) < 3 for _, topic, p in pos if "CRE_" in topic)


@pytest.mark.integration
def test_replay_over_a_real_broker(traced):
    if not _reachable(BROKER):
        pytest.skip(f"no MQTT broker at {BROKER}")
    import paho.mqtt.client as mqtt

    prefix = f"simtest{os.getpid()}"
    msgs = build_messages(traced, interval_hours=12.0, until_day=10, prefix=prefix)
    got: list[tuple[str, dict]] = []
    subscribed = threading.Event()
    host, port = parse_broker(BROKER)
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-sub")
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe([("cbec/v1/devices/+/position", 1), ("cbec/v1/warehouses/+/sensors/+", 1)])
    sub.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    sub.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload))) if prefix in m.topic else None
    sub.connect(host, port)
    sub.loop_start()
    try:
        assert subscribed.wait(5)
        t = time.monotonic()
        acked = publish(msgs, BROKER, speed=1e9)
        assert acked == len(msgs)
        deadline = time.monotonic() + 10
        while len(got) < len(msgs) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert len(got) == len(msgs)
    assert {topic for topic, _ in got} == {m[1] for m in msgs}
    sent: dict[str, set[str]] = {}
    for _, topic, payload in msgs:
        sent.setdefault(topic, set()).add(json.dumps(payload, sort_keys=True))
    for topic, payload in got:
        assert json.dumps(payload, sort_keys=True) in sent[topic]
    assert time.monotonic() - t < 30


def test_publish_paces_by_speed(traced):
    """At 3600x, 10 simulated hours take 10 s: check the pacing with a fake clock-free sleep."""
    if not _reachable(BROKER):
        pytest.skip(f"no MQTT broker at {BROKER}")
    msgs = [(0.0, "cbec/v1/devices/simpace/position", {"ts": "2027-01-04T00:00:00Z", "lat": 1.0, "lon": 2.0}),
            (10.0, "cbec/v1/devices/simpace/position", {"ts": "2027-01-04T10:00:00Z", "lat": 1.0, "lon": 2.0})]
    slept: list[float] = []
    assert publish(msgs, BROKER, speed=3600.0, sleep=slept.append) == 2
    assert slept and 9.5 < sum(slept) <= 10.0


def test_bad_broker_url():
    from optimizer.errors import InvalidInput

    with pytest.raises(InvalidInput, match="mqtt://"):
        parse_broker("http://example.org")
