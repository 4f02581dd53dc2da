"""The shipment's live feed below the SSE route (iot_ingest.feed): what the pipeline stored after a cursor comes
back once, in order, from any cursor (a resumed stream gets what it missed), a backlog over several polls with
none skipped, and another organisation's shipment is unknown (SQLite; PostgreSQL where it answers)."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from iot_ingest import feed
from iot_ingest.feed import FeedCursor, poll, start_cursor
from iot_ingest.pipeline import Pipeline
from iot_ingest.registry import UnknownShipment
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url

TOPIC = "cbec/v1/devices/{}/position"
BASE_S = time.time() - 20_000  # fixes 10 min apart, 1 km or so: a truck's pace (the ingest drops implausible jumps)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, net, tmp_path_factory):
    url = param_db_url(request, tmp_path_factory.mktemp('feed'))
    db = open_db(url, migrate=True)
    a, b = make_tenant(db), make_tenant(db)
    with TestClient(create_app(network=net, ingest_db=db)) as client:
        r = client.post("/v1/shipments", headers=a.headers, json={"id": "S-FEED-1", "from": "MY_CITY", "to": "LODZ", "weight_kg": 300,
                                                                  "volume_m3": 1.5, "ready": time.strftime("%Y-%m-%d", time.gmtime())})
        assert r.status_code == 201, r.text
    a.bind(db, net, "TRK-FEED-1", shipment="S-FEED-1")
    yield db, Pipeline(db, net), a, b
    db.dispose()


def _fix(seq: int, lat: float) -> tuple[str, bytes]:
    return TOPIC.format("TRK-FEED-1"), json.dumps({"ts": BASE_S + 600 * seq, "lat": lat, "lon": 104.7, "speed_kmh": 50, "seq": seq}).encode()


def test_stored_positions_come_once_in_order_and_a_resumed_cursor_gets_them_again(world):
    db, pipe, a, b = world
    cur, key = start_cursor(db, "S-FEED-1", org=a.org_id)
    assert poll(db, "S-FEED-1", cur, org=a.org_id, eta_key=key).items == []
    pipe.process_raw([_fix(1, 31.41), _fix(2, 31.42)])
    got = poll(db, "S-FEED-1", cur, org=a.org_id, eta_key=key)
    assert [(i.kind, i.data["lat"]) for i in got.items if i.kind == "position"] == [("position", 31.41), ("position", 31.42)]
    assert not [i for i in got.items if i.kind == "eta"]  # status and ETA as they were: no eta event
    assert got.cursor.received_ms > cur.received_ms and got.cursor.updated_ms >= cur.updated_ms
    assert poll(db, "S-FEED-1", got.cursor, org=a.org_id, eta_key=got.eta_key).items == []  # nothing twice
    # a client resuming from the first cursor (Last-Event-ID) gets what it missed
    again = poll(db, "S-FEED-1", FeedCursor.decode(cur.encode()), org=a.org_id)
    assert [i.data["lat"] for i in again.items if i.kind == "position"] == [31.41, 31.42]
    eta = [i.data for i in again.items if i.kind == "eta"]  # resumed: the state it may have missed, once
    assert len(eta) == 1 and eta[0]["last_seen"] and eta[0]["status"]


def test_a_backlog_comes_over_several_polls_with_none_skipped(world, monkeypatch):
    db, pipe, a, b = world
    cur, key = start_cursor(db, "S-FEED-1", org=a.org_id)
    monkeypatch.setattr(feed, "BATCH_MAX", 2)
    for batch in ([_fix(10, 31.50), _fix(11, 31.51), _fix(12, 31.52)], [_fix(13, 31.53)], [_fix(14, 31.54), _fix(15, 31.55)]):
        pipe.process_raw(batch)
    seen, polls = [], 0
    while polls < 20:
        out = poll(db, "S-FEED-1", cur, org=a.org_id, eta_key=key)
        polls += 1
        if not out.items:
            break
        seen += [i.data["lat"] for i in out.items if i.kind == "position"]
        cur, key = out.cursor, out.eta_key
    assert seen == [31.50, 31.51, 31.52, 31.53, 31.54, 31.55] and polls >= 3


def test_another_organisations_shipment_is_unknown_and_a_foreign_cursor_starts_afresh(world):
    db, pipe, a, b = world
    with pytest.raises(UnknownShipment):
        start_cursor(db, "S-FEED-1", org=b.org_id)
    cur, _ = start_cursor(db, "S-FEED-1", org=a.org_id)
    with pytest.raises(UnknownShipment):
        poll(db, "S-FEED-1", cur, org=b.org_id)
    assert FeedCursor.decode("1-2-3-4") == FeedCursor(1, 2, 3, 4)
    for bad in (None, "", "abc", "1-2-3", "1-2-3-4-5", "-1-2-3-4", "1-2-3-x"):
        assert FeedCursor.decode(bad) is None
