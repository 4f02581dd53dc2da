"""RFC 9457 problem details for every error the API returns, declared once for OpenAPI too."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas.common import Problem
from optimizer.errors import CbecError

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, instance: str | None = None, **extra: object) -> JSONResponse:
    """A problem-details response; ``extra`` members with a ``None`` value are left out."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def problems(**by_status: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, each a problem-details body:
    ``responses=problems(**{"404": "unknown node", "422": "invalid input"})``."""
    return {int(status): {"description": description, "model": Problem, "content": {PROBLEM_JSON: {}}}
            for status, description in by_status.items()}


def install(app: FastAPI) -> None:
    """Map domain errors, validation errors and HTTP errors to problem details."""

    @app.exception_handler(CbecError)
    async def _domain(request: Request, exc: CbecError) -> JSONResponse:
        extra = {k: v for k, v in exc.extra.items() if isinstance(v, (str, int, float, list, type(None)))}
        return problem(exc.status, exc.title, exc.detail, str(request.url.path), field=exc.field, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return problem(422, "Invalid request", detail, str(request.url.path), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail), str(request.url.path))
