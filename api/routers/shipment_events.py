"""Route: a shipment's live feed as server-sent events (``GET /v1/shipments/{id}/events``, text/event-stream).

Authenticated like every route (``Authorization: Bearer`` or ``X-API-Key``): a browser's ``EventSource`` cannot
send headers, so the web application reads the stream with ``fetch()`` (the credential stays out of URLs, logs
and cookies). The server polls the database about once a second (:mod:`iot_ingest.feed`; any ingest process's
writes are seen) and sends ``position``, ``milestone``, ``eta`` and ``alert`` events as they are stored, a
``ready`` event first, and a comment every 15 s when idle (proxies keep the connection). The event id is the
feed's cursor: reconnecting with ``Last-Event-ID`` resumes after it. Bounded: a stream ends after
``MAX_STREAM_S`` (the client reconnects, which also re-checks its credential) and at most ``MAX_STREAMS`` are
open in one process (503 with ``Retry-After`` beyond); a closed connection stops its poller at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.auth import AUTH_ERRORS, MemberDep
from api.deps import IngestDbDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.tracking import SHIPMENT_ID
from iot_ingest.feed import FeedCursor, poll, start_cursor
from iot_ingest.registry import UnknownShipment

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["tracking"])
ShipmentId = Annotated[str, Path(description="the shipment's id", **SHIPMENT_ID)]
POLL_S = 1.0
HEARTBEAT_S = 15.0
MAX_STREAM_S = 600.0  # then the client reconnects with Last-Event-ID (and its credential is checked again)
MAX_STREAMS = 200
RETRY_MS = 3000
_open = 0


def sse(kind: str, data: dict[str, Any], event_id: str | None = None) -> str:
    """One event in the text/event-stream format (data is one JSON line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'), allow_nan=False)}\n\n"


@router.get("/shipments/{shipment_id}/events", response_class=StreamingResponse,
            summary="The shipment's live feed (server-sent events): positions, milestones, ETA, alerts",
            responses={200: {"description": "text/event-stream: `ready`, then `position`, `milestone`, `eta`, `alert` "
                                            "events (JSON data); the id is a cursor for Last-Event-ID",
                             "content": {"text/event-stream": {}}},
                       **problems(**AUTH_ERRORS, **{"404": "unknown shipment", "422": "not a shipment id",
                                                    "503": "too many open streams (Retry-After)"})})
async def get_shipment_events(shipment_id: ShipmentId, principal: MemberDep, db: IngestDbDep, request: Request,
                              last_event_id: Annotated[str | None, Header(max_length=80)] = None) -> StreamingResponse:
    global _open
    org = principal.org_id
    fresh, eta_key = await run_in_threadpool(start_cursor, db, shipment_id, org=org)  # 404 before the stream starts
    resumed = FeedCursor.decode(last_event_id)
    cursor = resumed or fresh
    if _open >= MAX_STREAMS:
        raise HTTPException(503, f"{MAX_STREAMS} live feeds are open: poll GET /v1/shipments/{shipment_id} instead, "
                                 "or retry later", headers={"Retry-After": "30"})

    async def stream() -> AsyncIterator[str]:
        global _open
        nonlocal cursor
        key = None if resumed else eta_key
        _open += 1  # counted while the generator runs (one never started holds nothing)
        try:
            yield f"retry: {RETRY_MS}\n" + sse("ready", {"shipment": shipment_id, "resumed": resumed is not None},
                                               cursor.encode())
            started = last_sent = time.monotonic()
            while time.monotonic() - started < MAX_STREAM_S:
                await asyncio.sleep(POLL_S)
                if await request.is_disconnected():
                    return
                try:
                    batch = await run_in_threadpool(poll, db, shipment_id, cursor, org=org, eta_key=key)
                except UnknownShipment:
                    yield sse("gone", {"shipment": shipment_id})
                    return
                cursor, key = batch.cursor, batch.eta_key
                if batch.items:
                    last = len(batch.items) - 1
                    yield "".join(sse(it.kind, it.data, cursor.encode() if i == last else None)
                                  for i, it in enumerate(batch.items))
                    last_sent = time.monotonic()
                elif time.monotonic() - last_sent >= HEARTBEAT_S:
                    yield ": heartbeat\n\n"
                    last_sent = time.monotonic()
        finally:
            _open -= 1

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
