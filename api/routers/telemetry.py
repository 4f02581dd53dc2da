"""POST /v1/telemetry: HTTP ingest of the MQTT payload formats, for devices that cannot speak MQTT."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import PipelineDep
from api.problems import problem, problems
from api.schemas.tracking import TelemetryOut
from iot_ingest.decoders import MAX_PAYLOAD
from iot_ingest.pipeline import BatchResult, Pipeline

router = APIRouter(prefix="/v1", tags=["tracking"])


@router.post(
    "/telemetry",
    status_code=202,
    response_model=TelemetryOut,
    summary="Ingest one message in any MQTT payload format (our JSON, OwnTracks, SenML)",
    responses=problems(**{"422": "malformed message (stored in the dead-letter table)", "413": "payload too large"}),
)
async def post_telemetry(
    request: Request,
    topic: Annotated[str, Query(description="the MQTT topic the device would publish to, e.g. "
                                            "cbec/v1/devices/TRK-1/position, owntracks/alice/phone, "
                                            "cbec/v1/warehouses/WH_LODZ/sensors/T1")],
    pipeline: PipelineDep,
) -> TelemetryOut | JSONResponse:
    body = await request.body()
    if len(body) > MAX_PAYLOAD:
        res = await _run(pipeline, topic, body[: MAX_PAYLOAD + 1])
        return problem(413, "Payload too large", res.dead_reasons[0], str(request.url.path))
    res = await _run(pipeline, topic, body)
    if res.dead_lettered:
        return problem(422, "Malformed telemetry", res.dead_reasons[0], str(request.url.path),
                       note="stored in the dead-letter table")
    return TelemetryOut(received=res.received, stored=res.stored, duplicates=res.duplicates,
                        quarantined=res.quarantined, ignored=res.ignored, late=res.late)


async def _run(pipeline: Pipeline, topic: str, body: bytes) -> BatchResult:
    return await run_in_threadpool(pipeline.process_raw, [(topic, body)])
