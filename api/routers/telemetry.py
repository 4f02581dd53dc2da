"""POST /v1/telemetry: HTTP ingest of the MQTT payload formats, for devices that cannot speak MQTT.

JSON only: ``application/json`` (our JSON, OwnTracks' HTTP mode) or ``application/senml+json``
(RFC 8428). Any other content type (``text/plain``, the form types, none at all) is a 415 before
the body is read: those are what a browser may send cross-site without a CORS preflight (a "simple
request"), so accepting them would let any web page post telemetry from its visitors' browsers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import DEVICE_AUTH_ERRORS, DeviceDep
from api.deps import PipelineDep
from api.problems import problem, problems
from api.routing import JsonRoute
from api.schemas.tracking import TelemetryOut
from iot_ingest.decoders import MAX_PAYLOAD
from iot_ingest.limits import TOPIC_MAX, TOPIC_PATTERN, TOPIC_RULE
from iot_ingest.pipeline import BatchResult, Pipeline
from iot_ingest.registry import topic_device

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["tracking"])

TELEMETRY_TYPES = ("application/json", "application/senml+json")
_BODY_DOC = {
    "required": True,
    "description": f"one message as a device would publish it (at most {MAX_PAYLOAD:,} bytes): our JSON, "
                   "OwnTracks `_type: location` or a SenML pack (RFC 8428)",
    "content": {
        "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array"}]},
                             "examples": {"position": {"value": {"ts": 1760000000, "lat": 45.17, "lon": 82.57,
                                                                  "speed_kmh": 60, "seq": 7}}}},
        "application/senml+json": {"schema": {"type": "array", "items": {"type": "object"}},
                                   "examples": {"temperature": {"value": [{"bn": "T1:", "n": "temperature",
                                                                           "u": "Cel", "v": 4.5}]}}},
    },
}


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@router.post(
    "/telemetry",
    status_code=202,
    response_model=TelemetryOut,
    summary="Ingest one message in any MQTT payload format (our JSON, OwnTracks, SenML)",
    responses=problems(**DEVICE_AUTH_ERRORS, **{"413": "payload too large (stored in the dead-letter table)",
                          "415": "not JSON: the body must be application/json or application/senml+json",
                          "422": "an invalid topic, or a malformed or implausible message (stored in the dead-letter "
                                 "table, with its reason)"}),
    openapi_extra={"requestBody": _BODY_DOC},
)
async def post_telemetry(
    request: Request,
    topic: Annotated[str, Query(description="the MQTT topic the device would publish to, e.g. "
                                            "cbec/v1/devices/TRK-1/position, owntracks/alice/phone, "
                                            f"cbec/v1/warehouses/WH_LODZ/sensors/T1 ({TOPIC_RULE})",
                                min_length=1, max_length=TOPIC_MAX, pattern=TOPIC_PATTERN)],
    device: DeviceDep,  # first: an unauthenticated request opens nothing
    pipeline: PipelineDep,
) -> TelemetryOut | JSONResponse:
    if media_type(request) not in TELEMETRY_TYPES:
        return problem(415, "Unsupported media type",
                       f"content-type must be {' or '.join(TELEMETRY_TYPES)} (got "
                       f"'{media_type(request)[:60] or 'none'}'); telemetry is JSON only",
                       str(request.url.path), headers={"Accept": ", ".join(TELEMETRY_TYPES)}, field="content-type")
    owner = topic_device(topic)
    if owner is not None and owner != device.device_id:
        return problem(403, "Forbidden", f"device '{device.device_id}' may publish on its own topics only; the "
                                         f"topic names device '{owner}'; nothing was stored", str(request.url.path), field="topic")
    body = await request.body()
    if len(body) > MAX_PAYLOAD:
        res = await _run(pipeline, topic, body[: MAX_PAYLOAD + 1])
        return problem(413, "Payload too large", res.dead_reasons[0], str(request.url.path), field="body")
    res = await _run(pipeline, topic, body)
    if res.dead_lettered:
        return problem(422, "Implausible telemetry" if res.implausible else "Malformed telemetry", res.dead_reasons[0],
                       str(request.url.path), note="stored in the dead-letter table")
    return TelemetryOut(received=res.received, stored=res.stored, duplicates=res.duplicates,
                        quarantined=res.quarantined, ignored=res.ignored, late=res.late)


async def _run(pipeline: Pipeline, topic: str, body: bytes) -> BatchResult:
    return await run_in_threadpool(pipeline.process_raw, [(topic, body)])
