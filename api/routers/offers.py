"""Routes: shared-warehouse capacity offers (``/v1/offers``): publish, list, show, withdraw, availability per
day beside the sensors' free space, the operator's partner list, and recommendations of what to book.

Every route takes an organisation's member. An offer is seen by its operator and by those who may book it;
for anyone else its id answers 404 exactly like an unknown id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from accounts.principal import Principal
from api.auth import AUTH_ERRORS, MemberDep, require
from api.deps import IngestDbDep, NetworkDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.sharing import (
    OFFER_ID_RE,
    AuditOut,
    AvailabilityOut,
    Day,
    OfferIn,
    OfferListOut,
    OfferOut,
    PartnersIn,
    PartnersOut,
    RecommendIn,
    RecommendOut,
)
from optimizer.timefmt import iso_ms
from sharing.audit import Actor, trail
from sharing.model import Offer, OfferSpec, Terms, parse_day
from sharing.offers import PAGE_MAX, availability, create_offer, get_offer, list_offers, own_offer, withdraw_offer
from sharing.profiles import Partner, partner_details, set_partners
from sharing.recommend import recommend
from trade.demand import expected_demand

BODY = {"400": "malformed JSON body"}
router = APIRouter(route_class=JsonRoute, prefix="/v1/offers", tags=["shared warehouses"])
OfferId = Annotated[str, Path(pattern=f"^{OFFER_ID_RE}$", description="the offer's id")]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]
WriterDep = Annotated[Principal, Depends(require("member", "admin"))]
UNKNOWN = {"404": "unknown offer (or one this organisation may neither book nor operates)"}


def offer_out(offer: Offer, org: str | None) -> dict[str, Any]:
    d = offer.to_dict()
    if org is not None and org != offer.org_id:
        d["allowed_orgs"] = []  # the operator's list is its own business
    return d


@router.post("", status_code=201, response_model=OfferOut, summary="Publish a capacity offer (warehouse operators)",
             responses=problems(**AUTH_ERRORS, **BODY, **{"404": "unknown warehouse node",
                                                  "422": "invalid offer (the field says which)"}))
def post_offer(body: OfferIn, principal: WriterDep, db: IngestDbDep, net: NetworkDep, response: Response) -> dict[str, Any]:
    t = body.terms
    spec = OfferSpec(body.warehouse.upper(), parse_day(body.start_day, "start_day"), parse_day(body.end_day, "end_day"), body.storage_capacity, body.inbound_m3_per_day,
                     body.price_storage, body.price_inbound, body.storage_unit, body.currency, tuple(body.cargo_classes),
                     tuple(body.customs_modes), body.who_may_book, tuple(body.allowed_orgs),
                     Terms(t.notice_days, t.cancel_fee_share, t.settle_on, t.booked_share, t.hold_hours))
    offer = create_offer(db, net, principal.org_id, spec, Actor.of(principal))
    response.headers["Location"] = f"/v1/offers/{offer.offer_id}"
    return offer_out(offer, principal.org_id)


@router.get("", response_model=OfferListOut, summary="Offers this organisation may book, or operates (newest first)",
            responses=problems(**AUTH_ERRORS, **{"422": "invalid filter"}))
def get_offers(principal: MemberDep, db: IngestDbDep,
               warehouse: Annotated[str | None, Query(max_length=64, description="one warehouse")] = None,
               mine: Annotated[bool, Query(description="only the offers this organisation operates")] = False,
               include_withdrawn: bool = False, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    items, total = list_offers(db, org=principal.org_id, warehouse=warehouse.upper() if warehouse else None, mine=mine,
                               include_withdrawn=include_withdrawn, limit=limit, offset=offset)
    return {"items": [offer_out(o, principal.org_id) for o in items], "total": total, "limit": limit, "offset": offset}


@router.get("/partners", response_model=PartnersOut, summary="The operator's partners (who may book 'partners' offers)",
            responses=problems(**AUTH_ERRORS))
def get_partners(principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return _partners_out(partner_details(db, principal.org_id))


@router.put("/partners", response_model=PartnersOut, summary="Replace the operator's partner list",
            responses=problems(**AUTH_ERRORS, **BODY, **{"404": "unknown organisation", "422": "invalid list"}))
def put_partners(body: PartnersIn, principal: Annotated[Principal, Depends(require("admin"))],
                 db: IngestDbDep) -> dict[str, Any]:
    return _partners_out(set_partners(db, principal.org_id, set(body.partners), Actor.of(principal)))


def _partners_out(partners: list[Partner]) -> dict[str, Any]:
    return {"partners": [p.org_id for p in partners],
            "organisations": [{"id": p.org_id, "name": p.name, "since": iso_ms(p.since_ms)} for p in partners]}


@router.post("/recommendations", response_model=RecommendOut, summary="Which offers to book for an expected demand",
             responses=problems(**AUTH_ERRORS, **BODY, **{"404": "unknown market", "422": "invalid demand, or the offers "
                                                                                   "cannot hold it"}))
async def post_recommendation(body: RecommendIn, principal: MemberDep, db: IngestDbDep,
                              net: NetworkDep) -> dict[str, Any]:
    """The cheapest set of open offers (at their free space over the period) holding the demand at the fill-rate
    target, and the saving against booking the warehouse nearest each market. The demand: the rows given, else
    the organisation's own 9610/9810 orders of the ``lookback_days`` before the period, else the bundled sample
    (``demand.source`` says which). Answers inline (a second or so for one exporter)."""
    given = None if body.demand is None else [r.model_dump(exclude_none=True) for r in body.demand]
    start, end = parse_day(body.start_day, "start_day"), parse_day(body.end_day, "end_day")

    def answer() -> dict[str, Any]:
        expected = expected_demand(db, net, principal.org_id, start, given, days=body.lookback_days)
        return recommend(db, net, principal.org_id, start, end, demand=expected.rows, demand_source=expected.source,
                         fill_rate=body.fill_rate, review_days=body.review_days, max_days=body.max_days)

    return await run_in_threadpool(answer)


@router.get("/{offer_id:offer_id}", response_model=OfferOut, summary="One offer",
            responses=problems(**AUTH_ERRORS, **UNKNOWN))
def get_one(offer_id: OfferId, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return offer_out(get_offer(db, offer_id, org=principal.org_id), principal.org_id)


@router.delete("/{offer_id:offer_id}", response_model=OfferOut, summary="Withdraw an offer (bookings made stand)",
               responses=problems(**AUTH_ERRORS, **UNKNOWN))
def delete_offer(offer_id: OfferId, principal: WriterDep, db: IngestDbDep) -> dict[str, Any]:
    get_offer(db, offer_id, org=principal.org_id)  # 404 as unknown for those who cannot see it
    return offer_out(withdraw_offer(db, offer_id, principal.org_id, Actor.of(principal)), principal.org_id)


@router.get("/{offer_id:offer_id}/audit", response_model=AuditOut, summary="Every change to an offer (its operator)",
            responses=problems(**AUTH_ERRORS, **UNKNOWN))
def get_audit(offer_id: OfferId, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    """Who published, changed or withdrew the offer, and when (the operator's; a booker gets 404 as for an
    unknown offer: the bookings' own trails are under /v1/bookings/{id}/audit)."""
    own_offer(db, offer_id, principal.org_id)
    return {"items": [e.to_dict() for e in trail(db, "offer", offer_id, org=principal.org_id)]}


@router.get("/{offer_id:offer_id}/availability", response_model=AvailabilityOut,
            summary="Booked against offered capacity per day, beside the sensors' free space",
            responses=problems(**AUTH_ERRORS, **UNKNOWN, **{"422": "invalid days"}))
def get_availability(offer_id: OfferId, principal: MemberDep, db: IngestDbDep, net: NetworkDep,
                     start: Annotated[Day | None, Query(description="first day (default the offer's)")] = None,
                     end: Annotated[Day | None, Query(description="last day (default 92 days on)")] = None) -> dict[str, Any]:
    return availability(db, net, offer_id, org=principal.org_id, start=start and parse_day(start, "start"),
                        end=end and parse_day(end, "end"))
