"""The shipment's live feed (``GET /v1/shipments/{id}/events``, server-sent events) against a real `cbec serve`
with its embedded broker: a reading published over MQTT arrives as a ``position`` event, ``Last-Event-ID``
resumes after what was seen, another organisation's shipment answers 404. No browser needed."""

from __future__ import annotations

import json
import time

import pytest

from tests.web.served import start_serve

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s = start_serve(tmp_path_factory.mktemp("feed-serve"))
    yield s
    s.stop()


# --- the shipment's live feed over HTTP: events as stored, Last-Event-ID resume, tenant scope --------------------
def _sse_events(resp, want: int) -> list[dict]:
    """Read events from an open text/event-stream response until ``want`` non-ready events arrived (at least one event)."""
    events, cur = [], {"data": []}
    # a batch ends with the event that carries the id: read to the end of one
    while not events or len([e for e in events if e["event"] != "ready"]) < want or not events[-1]["id"]:
        line = resp.readline().decode()
        if line == "":
            break
        line = line.rstrip("\n")
        if line == "":
            if cur["data"]:
                events.append({"event": cur.get("event", "message"), "id": cur.get("id"), "data": json.loads("\n".join(cur["data"]))})
            cur = {"data": []}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                cur["data"].append(value)
            elif name in ("event", "id"):
                cur[name] = value
    return events


def _open_feed(served, shipment: str, key: str | None = None, last_id: str | None = None):
    import http.client
    from urllib.parse import urlparse

    u = urlparse(served.base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)  # a guard against a hang, not a timing
    headers = {"X-API-Key": key or served.key, "Accept": "text/event-stream"}
    if last_id:
        headers["Last-Event-ID"] = last_id
    conn.request("GET", f"/v1/shipments/{shipment}/events", headers=headers)
    return conn, conn.getresponse()


def test_shipment_feed_sends_stored_readings_and_resumes_after_last_event_id(served):
    from tests.support.ingest_testing import Publisher

    served.api("POST", "/v1/shipments", {"id": "S-SSE-1", "from": "MY_CITY", "to": "LODZ", "weight_kg": 400, "volume_m3": 2,
                                         "ready": time.strftime("%Y-%m-%d", time.gmtime())})
    bound = served.api("POST", "/v1/devices", {"id": "TRK-SSE-1", "shipment": "S-SSE-1"})
    conn, resp = _open_feed(served, "S-SSE-1")
    assert resp.status == 200 and resp.getheader("content-type").startswith("text/event-stream")
    ready = _sse_events(resp, 0)
    assert ready and ready[0]["event"] == "ready" and ready[0]["data"]["resumed"] is False
    pub = Publisher(served.broker, credentials={"TRK-SSE-1": bound["credential"]["key"]})
    pub.publish("cbec/v1/devices/TRK-SSE-1/position",
                json.dumps({"ts": time.time(), "lat": 31.47, "lon": 104.68, "speed_kmh": 40, "seq": 1}).encode())
    pub.wait(30)
    got = _sse_events(resp, 1)
    pos = [e for e in got if e["event"] == "position"]
    assert pos and pos[0]["data"]["device"] == "TRK-SSE-1" and pos[0]["data"]["lat"] == 31.47
    last_id = [e["id"] for e in got if e["id"]][-1]
    conn.close()
    # resumed from the ready event's id: the position stored after it is sent again; from the last id: not
    conn, resp = _open_feed(served, "S-SSE-1", last_id=ready[0]["id"])
    again = _sse_events(resp, 1)
    assert again[0]["data"]["resumed"] is True
    assert any(e["event"] == "position" and e["data"]["lat"] == 31.47 for e in again)
    conn.close()
    pub.publish("cbec/v1/devices/TRK-SSE-1/position",
                json.dumps({"ts": time.time() + 60, "lat": 31.5, "lon": 104.7, "speed_kmh": 41, "seq": 2}).encode())
    pub.wait(30)
    pub.close()
    conn, resp = _open_feed(served, "S-SSE-1", last_id=last_id)
    later = [e for e in _sse_events(resp, 1) if e["event"] == "position"]
    assert [e["data"]["lat"] for e in later] == [31.5]
    conn.close()
    # another organisation's shipment is unknown, as an unknown id (before any stream starts)
    other = served.create_org("SSE Other Forwarder", "forwarder")
    conn, resp = _open_feed(served, "S-SSE-1", key=other)
    assert resp.status == 404 and resp.getheader("content-type").startswith("application/problem+json")
    conn.close()
