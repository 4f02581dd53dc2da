"""POST /v1/telemetry: HTTP ingest of the MQTT payload formats, for devices that cannot speak MQTT."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import get_network, get_pipeline
from api.problems import problem
from iot_ingest.db import Database, open_db
from iot_ingest.decoders import MAX_PAYLOAD
from iot_ingest.pipeline import Pipeline
from optimizer.network import Network

router = APIRouter(prefix="/v1", tags=["tracking"])
_lock = threading.Lock()
_PROBLEM = {"content": {"application/problem+json": {}}}




@router.post(
    "/telemetry",
    status_code=202,
    summary="Ingest one message in any MQTT payload format (our JSON, OwnTracks, SenML)",
    responses={422: {"description": "malformed message (stored in the dead-letter table)", **_PROBLEM},
               413: {"description": "payload too large", **_PROBLEM}},
)
async def post_telemetry(
    request: Request,
    topic: str = Query(..., description="the MQTT topic the device would publish to, e.g. "
                                        "cbec/v1/devices/TRK-1/position, owntracks/alice/phone, "
                                        "cbec/v1/warehouses/WH_LODZ/sensors/T1"),
    pipeline: Pipeline = Depends(get_pipeline),
) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_PAYLOAD:
        pipeline_result = await _run(pipeline, topic, body[: MAX_PAYLOAD + 1])
        return problem(413, "Payload too large", pipeline_result.dead_reasons[0], str(request.url.path))
    res = await _run(pipeline, topic, body)
    if res.dead_lettered:
        return problem(422, "Malformed telemetry", res.dead_reasons[0], str(request.url.path),
                       note="stored in the dead-letter table")
    return JSONResponse({"received": res.received, "stored": res.stored, "duplicates": res.duplicates,
                         "quarantined": res.quarantined, "ignored": res.ignored, "late": res.late}, status_code=202)


async def _run(pipeline: Pipeline, topic: str, body: bytes):
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(pipeline.process_raw, [(topic, body)])
