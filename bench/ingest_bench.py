"""Ingest throughput against a real broker (our own Mosquitto process, or CBEC_MQTT_URL).

Backlog drain, as in reference/iot.md §3: a persistent QoS 1 session is primed, N messages are
published while the subscriber is offline, then it reconnects and drains. Measured in the same
run, alternating, median of RUNS:
  raw      - a bare paho 2.x subscriber (auto-ack, on_message counts) - the baseline;
  pipeline - iot_ingest.consumer: decode, validate, registry, de-duplicate, order, geofence,
             milestones, alerts, store (SQLite, executemany, one transaction per 1000), ack after commit.
             Its network loop is leaner than the baseline's (it reads the packets already in the
             socket without a select each, and sends a batch's PUBACKs in one write); the baseline
             stays the stock paho loop as in reference/iot.md §3. Process CPU per message of both
             is reported too, so the pipeline's own cost is visible apart from that.
Zero loss is checked (rows == N), and that the pipeline acknowledged everything it stored (its
session, resumed after the run, gets nothing redelivered). The order of raw and pipeline
alternates between runs; the load average of the (shared) machine is reported with each run.
Last line: one JSON object.

The broker here takes anonymous clients (tests.support.ingest_testing.MosquittoProcess's default, one
publisher for all 500 devices): the bench measures the consumer, not the logins. With `cbec mqtt sync`'s
password file and ACL, Mosquitto checks a login once per connection and the ACL per message in C;
tests/test_mqtt_acl.py covers those.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from sqlalchemy import text  # noqa: E402

from iot_ingest.consumer import Consumer, parse_mqtt_url  # noqa: E402
from storage.db import open_db  # noqa: E402
from iot_ingest.milestones import save_shipment  # noqa: E402
from iot_ingest.pipeline import Pipeline  # noqa: E402
from iot_ingest.registry import bind_device  # noqa: E402
from tests.support.ingest_testing import MosquittoProcess, Publisher, mosquitto_binary  # noqa: E402
from optimizer.network import load_network  # noqa: E402
from optimizer.quotes.quote import build_request, quote  # noqa: E402
from optimizer.network.serialize import option_to_dict  # noqa: E402

N = int(os.environ.get("BENCH_N", 40000))
RUNS = int(os.environ.get("BENCH_RUNS", 5))
DEVICES = 500


def messages(run: int) -> list[tuple[str, bytes]]:
    now = int(time.time())
    out = []
    for i in range(N):
        d = i % DEVICES
        # fixes along a line through Kazakhstan: mostly outside any fence, some inside Alashankou's.
        # Each device goes back and forth over 4 points 0.1° apart (11 km per fix, a fix every 500 s:
        # 80 km/h, a track the plausibility filter believes; the former saw-tooth jumped back 0.3° at
        # 240 km/h, which a train cannot do)
        step = (d // 100 + i // DEVICES) % 6
        lat = 45.0 + (d % 100) * 0.001 + 0.1 * (step if step < 4 else 6 - step)
        out.append((f"cbec/v1/devices/TRK-{d:05d}/position",
                    json.dumps({"ts": now - N + i + run * 0.001, "lat": lat, "lon": 82.0 + d * 0.002,
                                "speed_kmh": 55.0, "heading": 270, "battery_pct": 80, "seq": run * N + i}).encode()))
    return out


def fill(url: str, msgs) -> None:
    pub = Publisher(url)
    pub.publish_many(msgs, window=5000)
    pub.close()


def raw_drain(url: str, cid: str, msgs) -> float:
    tg = parse_mqtt_url(url)
    got = [0]
    first = [0.0]
    done = threading.Event()

    def on_message(c, u, m):
        if got[0] == 0:
            first[0] = time.perf_counter()
        got[0] += 1
        if got[0] == N:
            done.set()

    def client():
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
        c.on_message = on_message
        c.on_connect = lambda c, u, f, rc, p: c.subscribe(f"$share/{cid}/cbec/v1/devices/+/position", 1)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 600
        props.ReceiveMaximum = 2000
        c.connect(tg.host, tg.port, clean_start=False, properties=props)
        return c

    c = client()
    c.loop_start(); time.sleep(0.5); c.disconnect(); c.loop_stop()  # prime the session
    fill(url, msgs)
    c = client()
    cpu0 = time.process_time()
    c.loop_start()
    done.wait(300)
    t1 = time.perf_counter()
    cpu = time.process_time() - cpu0
    c.disconnect(); c.loop_stop()
    if got[0] != N:
        raise SystemExit(f"raw: received {got[0]} of {N}")
    redelivered(url, cid)  # drop the session: an offline subscriber would get a copy of every later run
    return N / (t1 - first[0]), cpu * 1e6 / N


def redelivered(url: str, cid: str) -> int:
    """Resume the session ``cid``, count what the broker still had un-acknowledged for it, and
    end the session (else the broker would queue every later run's messages for it too)."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    tg = parse_mqtt_url(url)
    got = [0]
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
    c.on_message = lambda c, u, m: got.__setitem__(0, got[0] + 1)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0  # and drop the session when done
    c.connect(tg.host, tg.port, clean_start=False, properties=props)
    c.loop_start(); time.sleep(1.0); c.disconnect(); c.loop_stop()
    return got[0]


def pipeline_drain(url: str, cid: str, msgs, db, net) -> tuple[float, int, int, float]:
    pipe = Pipeline(db, net)
    tg = parse_mqtt_url(url, client_id=cid)
    tg = type(tg)(tg.host, tg.port, 5, cid, cid)
    c = Consumer(pipe, tg, batch_size=1000).start()
    c.connected.wait(10); time.sleep(0.3); c.stop()
    with db.engine.begin() as conn:
        before = conn.execute(text("select count(*) from iot_readings")).scalar()
    fill(url, msgs)
    c = Consumer(pipe, tg, batch_size=1000)
    orig = pipe.process
    marks = []

    def timed(batch):
        if not marks:
            marks.append(min(m[2] for m in batch) / 1000.0)
        r = orig(batch)
        marks.append(time.time())
        return r

    pipe.process = timed
    cpu0 = time.process_time()
    c.start()
    deadline = time.time() + 300
    while c.received < N and time.time() < deadline:
        time.sleep(0.05)
    cpu = time.process_time() - cpu0
    c.stop()
    with db.engine.begin() as conn:
        stored = conn.execute(text("select count(*) from iot_readings")).scalar() - before
    return N / (marks[-1] - marks[0]), stored, redelivered(url, cid), cpu * 1e6 / N


def main() -> None:
    net = load_network()
    tmp = Path(tempfile.mkdtemp(prefix="cbec-bench-"))
    broker = None
    url = os.environ.get("CBEC_MQTT_URL")
    if not url:
        if mosquitto_binary() is None:
            raise SystemExit("needs mosquitto (or CBEC_MQTT_URL pointing at a real broker)")
        broker = MosquittoProcess(tmp / "mq", persistence=False).start()
        url = broker.url
    db = open_db(f"sqlite:///{tmp}/bench.sqlite", migrate=True)
    ready = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 20 * 86400))
    opt = [o for o in quote(net, build_request(net, "MY_CITY", "LODZ", 500, 2, ready)) if "greenest" in o.tags][0]
    save_shipment(db, net, "BENCH", option_to_dict(net, opt))
    for d in range(DEVICES):
        bind_device(db, net, f"TRK-{d:05d}", shipment="BENCH")
    with db.engine.connect() as conn:
        sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[conn.exec_driver_sql("PRAGMA synchronous").scalar()]
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    raw, pipe, lost, unacked, loads = [], [], 0, 0, [os.getloadavg()[0]]
    raw_cpu, pipe_cpu = [], []  # process CPU (all threads) per message while draining
    try:
        for run in range(RUNS):
            msgs = messages(run)
            rate = stored = None

            def do_pipe():
                nonlocal rate, stored, unacked
                rate, stored, left, cpu = pipeline_drain(url, f"bench-pipe-{os.getpid()}-{run}", msgs, db, net)
                unacked += left
                pipe_cpu.append(cpu)

            def do_raw():
                r, cpu = raw_drain(url, f"bench-raw-{os.getpid()}-{run}", msgs)  # fresh session per run
                raw.append(r)
                raw_cpu.append(cpu)

            for step in ((do_raw, do_pipe) if run % 2 == 0 else (do_pipe, do_raw)):
                step()
            pipe.append(rate)
            lost += N - stored
            loads.append(os.getloadavg()[0])
            print(f"run {run + 1}: raw {raw[-1]:,.0f} msg/s ({raw_cpu[-1]:.0f} µs CPU/msg), pipeline {rate:,.0f} msg/s "
                  f"({pipe_cpu[-1]:.0f} µs CPU/msg), ratio {rate / raw[-1]:.2f}, stored {stored}/{N}, "
                  f"load average {loads[-1]:.2f}", flush=True)
    finally:
        if broker:
            broker.stop()
    r, p = statistics.median(raw), statistics.median(pipe)
    print(json.dumps({"benchmark": "ingest_backlog_drain_qos1", "messages_per_run": N, "runs": RUNS, "devices": DEVICES,
                      "broker": "mosquitto (own process)" if broker else url,
                      "database": f"sqlite ({journal.upper()}, synchronous={sync})",
                      "raw_paho_qos1_msg_per_s": round(r), "pipeline_msg_per_s": round(p), "ratio": round(p / r, 3),
                      "target_ratio": 0.6, "lost": lost, "unacked_after_run": unacked,
                      "raw_cpu_us_per_msg": round(statistics.median(raw_cpu), 1),
                      "pipeline_cpu_us_per_msg": round(statistics.median(pipe_cpu), 1),
                      "raw_runs": [round(x) for x in raw], "pipeline_runs": [round(x) for x in pipe],
                      "run_ratios": [round(b / a, 3) for a, b in zip(raw, pipe)],
                      "load_average_1min": {"min": round(min(loads), 2), "max": round(max(loads), 2), "per_run": [round(x, 2) for x in loads]},
                      "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
