"""POST /v1/quotes: open to anyone; anonymous callers are rate-limited per client address.

Without a credential a client address may send ``CBEC_ANON_QUOTES_BURST`` quotes at once, then
``CBEC_ANON_QUOTES_PER_MIN`` a minute (a token bucket per API process, :func:`api.auth.anonymous_rate_limit`);
beyond, a 429 problem with ``Retry-After``. A caller with an API key or bearer token is not limited; a
malformed, unknown or revoked credential is a 401 (never silently anonymous).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.auth import RATE_LIMITED, AnonQuoteLimitDep
from api.deps import NetworkDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.quotes import QuoteIn, QuoteOut
from optimizer.network.serialize import quote_to_dict
from optimizer.quotes.quote import build_request, quote

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["quotes"])
RESPONSES = problems(**RATE_LIMITED, **{
    "400": "the body is not parseable JSON (e.g. nested too deeply)",
    "401": "a malformed, unknown, expired or revoked credential (none at all is fine)",
    "404": "unknown node (well-formed id; the problem lists suggestions)",
    "422": "invalid input (a bound of the schema, a customs or parcel rule, the same origin and destination) or no route"})
RESPONSES[429]["headers"] = {"Retry-After": {"description": "seconds until this client may quote again",
                                             "schema": {"type": "integer"}}}


@router.post(
    "/quotes",
    response_model=QuoteOut,
    response_model_by_alias=True,
    summary="Pareto-optimal route options (cost, transit time, CO2e)",
    responses=RESPONSES,
)
def post_quote(body: QuoteIn, net: NetworkDep, _caller: AnonQuoteLimitDep) -> JSONResponse:
    req = build_request(net, body.origin, body.destination, body.weight_kg, body.volume_m3, body.ready,
                        pieces=body.pieces, cargo_class=body.cargo_class, customs_mode=body.customs_mode,
                        include_planned=body.include_planned)
    # Serialised directly: the document is built by the one serialiser (optimizer.network.serialize) whose
    # shape QuoteOut documents; re-validating it per request cost ~4x the HTTP layer's own time
    # (bench/http_bench.py), and tests/test_api_fuzz.py checks every response against the schema.
    return JSONResponse(quote_to_dict(net, req, quote(net, req)))
