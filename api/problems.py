"""RFC 9457 problem details for every error the API returns, declared once for OpenAPI too."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas.common import Problem
from optimizer.errors import CbecError

PROBLEM_JSON = "application/problem+json"
MAX_ECHO = 200  # characters of any client-supplied text repeated in an error
log = logging.getLogger("api.errors")


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clip(value: object, limit: int = MAX_ECHO) -> object:
    """Strings (also inside lists) cut to ``limit`` characters, control and bidirectional characters
    written as ``\\uXXXX``: errors never echo large input back, nor text that could disguise itself."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + f"… ({len(value)} characters)"
        return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if isinstance(value, list):
        return [clip(v, limit) for v in value[:20]]
    return value


def problem(status: int, title: str, detail: str, instance: str | None = None, headers: dict[str, str] | None = None,
            **extra: object) -> JSONResponse:
    """A problem-details response; ``extra`` members with a ``None`` value are left out."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status, "detail": clip(detail, 500)}
    if instance:
        body["instance"] = clip(instance)
    body.update({k: clip(v) for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problems(**by_status: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, each a problem-details body:
    ``responses=problems(**{"404": "unknown node", "422": "invalid input"})``."""
    return {int(status): {"description": description, "model": Problem, "content": {PROBLEM_JSON: {}}}
            for status, description in by_status.items()}


def _field_error(e: dict[str, Any]) -> dict[str, object]:
    """One pydantic error as ``{field, message}``; a body that is not JSON says where it breaks."""
    if e.get("type") == "json_invalid":
        position = e["loc"][-1] if e.get("loc") else "?"
        reason = (e.get("ctx") or {}).get("error") or "not valid JSON"
        return {"field": "body", "message": clip(f"invalid JSON at character {position}: {reason}")}
    return {"field": clip(".".join(str(p) for p in e["loc"] if p != "body")), "message": clip(e["msg"])}


def install(app: FastAPI) -> None:
    """Map domain errors, validation errors and HTTP errors to problem details."""

    @app.exception_handler(CbecError)
    async def _domain(request: Request, exc: CbecError) -> JSONResponse:
        extra = {k: v for k, v in exc.extra.items() if isinstance(v, (str, int, float, list, type(None)))}
        return problem(exc.status, exc.title, exc.detail, str(request.url.path), field=exc.field, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in exc.errors()[:20]]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return problem(422, "Invalid request", detail, str(request.url.path), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # headers carry e.g. ``Allow`` on 405
        try:
            title = HTTPStatus(exc.status_code).phrase  # "Unauthorized", "Not Found": the detail says which
        except ValueError:
            title = "Error"
        return problem(exc.status_code, title, str(exc.detail), str(request.url.path), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        # the detail goes to the log under the request id; the caller gets the id, nothing internal
        rid = getattr(request.state, "request_id", None)
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc,
                  extra={"request_id": rid})
        return problem(500, "Internal server error",
                       f"the server failed to answer this request; quote request id {rid} to the operator",
                       str(request.url.path), request_id=rid)


def openapi_with_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the server does with errors: every 4xx/5xx body is
    ``application/problem+json`` with the ``Problem`` schema (FastAPI would list ``application/json``
    and its own validation-error shape), and every request with a body may get 413 (body limit)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        ref = {"$ref": "#/components/schemas/Problem"}
        for ops in spec.get("paths", {}).values():
            for method, op in ops.items():
                responses = op.get("responses", {})
                for status, resp in responses.items():
                    if status.isdigit() and int(status) >= 400:
                        resp["content"] = {PROBLEM_JSON: {"schema": ref}}
                if "422" in responses:
                    responses["422"]["description"] = responses["422"].get("description") or "Invalid request"
                responses.setdefault("503", {"description": "a backing service (database, broker) is unavailable or the "
                                                    "server is shutting down; retry later",
                                             "content": {PROBLEM_JSON: {"schema": ref}}})
                if "requestBody" in op:
                    responses.setdefault("413", {"description": "request body larger than CBEC_MAX_BODY_BYTES",
                                                 "content": {PROBLEM_JSON: {"schema": ref}}})
        schemas = spec.get("components", {}).get("schemas", {})
        if "Problem" not in schemas:
            schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
