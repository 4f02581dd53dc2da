"""The route class of every router: JSON bodies parsed so that they mean what their schema says.

JSON Schema counts ``28.0`` as an integer; pydantic's strict mode (used by the request models so
that ``"12"`` is not a number and ``0`` not a boolean) would refuse it. Parsing integral numbers
written with a fraction as ints makes the server accept exactly what the OpenAPI document states.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

_EXACT = 2**53  # beyond this a float no longer holds every integer


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) <= _EXACT else value


class JsonRequest(Request):
    """A request whose ``json()`` reads integral numbers (``28.0``, ``1e3``) as ints."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=_number)
        return self._json


_METHODS: dict[str, set[str]] = defaultdict(set)  # path template -> every method any route serves there


class JsonRoute(APIRoute):
    """``APIRouter(route_class=JsonRoute)``: handlers see a :class:`JsonRequest`, and a 405 names in
    ``Allow`` every method of the path (Starlette answers from the first route of a path and names its
    methods only, wrong where GET and POST of one path are two routes)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        _METHODS[self.path_format] |= set(self.methods or ())

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(_METHODS[self.path_format]))})
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            return await handler(JsonRequest(request.scope, request.receive))

        return route_handler
