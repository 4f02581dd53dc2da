"""POST /v1/quotes (open to anyone; anonymous callers rate-limited per client address) and GET /v1/quotes/{id}.

Without a credential a client address may send ``CBEC_ANON_QUOTES_BURST`` quotes at once, then
``CBEC_ANON_QUOTES_PER_MIN`` a minute (a token bucket per API process, :func:`api.auth.anonymous_rate_limit`);
beyond, a 429 problem with ``Retry-After``. A caller with an API key or bearer token is not limited; a
malformed, unknown or revoked credential is a 401 (never silently anonymous).

A signed-in organisation's quote is saved (``quotations.service``) under an unguessable id: GET returns the
same prices until ``valid_until``, then a 410 problem; another organisation's id answers 404 like an
unknown one. Anonymous quotes are answered but not saved (``saved: false``): the open endpoint writes nothing.
"""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.auth import AUTH_ERRORS, RATE_LIMITED, AnonQuoteLimitDep, MemberDep
from api.deps import IngestDbDep, NetworkDep, get_ingest_db
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.quotes import QuoteIn, QuoteOut, SavedQuoteListOut
from optimizer.errors import ServiceUnavailable
from optimizer.quotes.quote import build_request
from optimizer.network.model import DutyRate
from quotations.service import LIST_MAX, DeclaredGoods, QuoteTerms, fetch_quote, issue_quote, saved_quotes
from storage.db import Database

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["quotes"])
RESPONSES = problems(**RATE_LIMITED, **{
    "400": "the body is not parseable JSON (e.g. nested too deeply)",
    "401": "a malformed, unknown, expired or revoked credential (none at all is fine)",
    "404": "unknown node (well-formed id; the problem lists suggestions)",
    "422": "invalid input (a bound of the schema, a customs or parcel rule, the same origin and destination), no "
           "route, a ready date needing tariffs or timetables outside their validity (the problem names them), "
           "or no exchange rate for the currency on the day"})
RESPONSES[429]["headers"] = {"Retry-After": {"description": "seconds until this client may quote again",
                                             "schema": {"type": "integer"}}}
QUOTE_SLOTS = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
"""Quotes computed at once per API process (the others wait their turn on the event loop): a quote is pure
CPU under the GIL, so more threads only add switching, and with the 40 of the default thread pool busy on
worst-case quotes the event loop waited its turn behind all of them (/healthz took 1.4 s)."""
NO_DB_RETRY_S = 30.0  # without a database, quotes are answered unsaved; look for one again after this


def quote_db(request: Request) -> Database | None:
    """The database quotes are saved in, or None when there is none (quotes still answer, ``saved: false``)."""
    state = request.app.state
    if getattr(state, "ingest_db", None) is None and getattr(state, "quote_db_missing_until", 0.0) > time.monotonic():
        return None
    try:
        return get_ingest_db(request)
    except ServiceUnavailable:
        state.quote_db_missing_until = time.monotonic() + NO_DB_RETRY_S
        return None


@router.post(
    "/quotes",
    response_model=QuoteOut,
    response_model_by_alias=True,
    summary="Pareto-optimal route options (cost, transit time, CO2e), saved with an id and a validity",
    responses=RESPONSES,
)
async def post_quote(body: QuoteIn, net: NetworkDep, caller: AnonQuoteLimitDep, request: Request) -> JSONResponse:
    def work() -> JSONResponse:
        req = build_request(net, body.origin, body.destination, body.weight_kg, body.volume_m3, body.ready,
                            pieces=body.pieces, cargo_class=body.cargo_class, customs_mode=body.customs_mode,
                            include_planned=body.include_planned)
        goods = DeclaredGoods(body.goods_value, body.hs_code, body.value_of_time_per_day,
                              tuple(DutyRate(r.hs_code, r.country.upper(), r.rate_pct, r.note) for r in body.duty_rates or ()))
        doc = issue_quote(net, req, QuoteTerms(body.currency, body.allow_extrapolation), db=quote_db(request),
                          org_id=caller.org_id, goods=goods)
        # Serialised directly: the document is built by the one serialiser (optimizer.network.serialize) whose
        # shape QuoteOut documents; re-validating it per request cost ~4x the HTTP layer's own time
        # (bench/http_bench.py), and tests/test_api_fuzz.py checks every response against the schema.
        return JSONResponse(doc, headers={"Location": f"/v1/quotes/{doc['quote_id']}"} if doc["saved"] else None)

    return await anyio.to_thread.run_sync(work, limiter=QUOTE_SLOTS)


@router.get(
    "/quotes",
    response_model=SavedQuoteListOut,
    response_model_by_alias=True,
    summary="The organisation's saved quotes, newest first",
    responses=problems(**AUTH_ERRORS),
)
def get_quotes(principal: MemberDep, db: IngestDbDep,
               limit: Annotated[int, Query(ge=1, le=LIST_MAX, description="items per page")] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")] = 0) -> Any:
    items, total = saved_quotes(db, principal.org_id, limit=limit, offset=offset)
    return {"quotes": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/quotes/{quote_id}",
    response_model=QuoteOut,
    response_model_by_alias=True,
    summary="A saved quote at the prices it was given, until its valid_until",
    responses=problems(**AUTH_ERRORS, **{"404": "no such quote, or another organisation's",
                          "410": "the quote has expired (valid_until passed): ask for a new one",
                          "503": "no database"}),
)
async def get_quote(principal: MemberDep, request: Request,
                    quote_id: str = Path(max_length=64, description="the quote_id POST /v1/quotes answered")) -> JSONResponse:
    def load():
        return fetch_quote(get_ingest_db(request), quote_id, principal.org_id)

    return JSONResponse(await run_in_threadpool(load))
