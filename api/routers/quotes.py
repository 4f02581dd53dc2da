"""POST /v1/quotes."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import get_network
from api.schemas.quotes import QuoteIn, QuoteOut
from optimizer.network import Network
from optimizer.quotes.quote import build_request, quote
from optimizer.network.serialize import quote_to_dict

router = APIRouter(prefix="/v1", tags=["quotes"])

_PROBLEM = {"content": {"application/problem+json": {}}}


@router.post(
    "/quotes",
    response_model=QuoteOut,
    response_model_by_alias=True,
    summary="Pareto-optimal route options (cost, transit time, CO2e)",
    responses={404: {"description": "unknown node", **_PROBLEM}, 422: {"description": "invalid input or no route", **_PROBLEM}},
)
def post_quote(body: QuoteIn, net: Network = Depends(get_network)) -> dict:
    req = build_request(net, body.origin, body.destination, body.weight_kg, body.volume_m3, body.ready,
                        pieces=body.pieces, cargo_class=body.cargo_class, customs_mode=body.customs_mode,
                        include_planned=body.include_planned)
    return quote_to_dict(net, req, quote(net, req))
