"""Routes: webhook subscriptions of the caller's organisation and their delivery log.

Events (``shipment.milestone``, ``shipment.eta_changed``, ``shipment.alert``, ``check.result``) are POSTed
to the subscribed URL as JSON, signed with ``X-Cbec-Signature: t=...,v1=...`` (HMAC-SHA256 of
``<t>.<body>`` with the subscription's secret), retried with exponential back-off; see
:mod:`webhooks.delivery`. Another organisation's subscription answers 404 like an unknown id.
A literal private address or ``localhost`` is refused here (422); a host name is resolved and checked at
every delivery (:mod:`webhooks.targets`), and a refused one shows in the delivery log with the reason.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth import AUTH_ERRORS, MemberDep, Principal, require
from api.deps import IngestDbDep, SettingsDep
from api.problems import problems
from api.routers.trade import iso
from api.routing import JsonRoute
from api.schemas.webhooks import (
    DeliveryListOut,
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionListOut,
    SubscriptionOut,
)
from webhooks.subscriptions import (
    PAGE_MAX,
    Delivery,
    Subscription,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_deliveries,
    list_subscriptions,
)

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["webhooks"])
WriterDep = Annotated[Principal, Depends(require("member", "admin"))]
SubId = Annotated[str, Path(min_length=1, max_length=64, description="the subscription's id (whk_...)")]


def sub_out(s: Subscription) -> dict[str, Any]:
    return {"id": s.sub_id, "url": s.url, "event_types": list(s.event_types), "description": s.description,
            "active": s.active, "created_at": iso(s.created_ms)}


def delivery_out(d: Delivery) -> dict[str, Any]:
    return {"id": d.delivery_id, "event_id": d.event_id, "event_type": d.event_type, "status": d.status,
            "attempts": d.attempts, "next_attempt_at": iso(d.next_attempt_ms), "last_status_code": d.last_status_code,
            "last_error": d.last_error, "created_at": iso(d.created_ms), "finished_at": iso(d.finished_ms),
            "log": [{"attempt": a.attempt, "started_at": iso(a.started_ms), "duration_ms": a.duration_ms,
                     "status_code": a.status_code, "error": a.error} for a in d.log]}


@router.post("/webhooks", status_code=201, response_model=SubscriptionCreatedOut, summary="Subscribe an endpoint",
             responses=problems(**AUTH_ERRORS, **{"400": "the body is not parseable JSON",
                                                  "422": "not an http(s) URL, a private address, or an unknown "
                                                         "event type"}))
def post_webhook(body: SubscriptionIn, principal: WriterDep, db: IngestDbDep, settings: SettingsDep,
                 response: Response) -> dict[str, Any]:
    """The answer carries the signing secret, once: keep it to verify ``X-Cbec-Signature``."""
    sub, secret = create_subscription(db, principal.org_id, body.url, list(body.event_types),
                                      description=body.description, now_ms=int(time.time() * 1000),
                                      allow_private=settings.webhooks_allow_private)
    response.headers["Location"] = f"/v1/webhooks/{sub.sub_id}"
    return sub_out(sub) | {"secret": secret}


@router.get("/webhooks", response_model=SubscriptionListOut, summary="The organisation's subscriptions",
            responses=problems(**AUTH_ERRORS))
def get_webhooks(principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return {"items": [sub_out(s) for s in list_subscriptions(db, principal.org_id)]}


@router.get("/webhooks/{sub_id}", response_model=SubscriptionOut, summary="One subscription",
            responses=problems(**AUTH_ERRORS, **{"404": "no such subscription in the organisation"}))
def get_webhook(sub_id: SubId, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return sub_out(get_subscription(db, principal.org_id, sub_id))


@router.delete("/webhooks/{sub_id}", status_code=204, response_class=Response, summary="Unsubscribe",
               responses=problems(**AUTH_ERRORS, **{"404": "no such subscription in the organisation"}))
def delete_webhook(sub_id: SubId, principal: WriterDep, db: IngestDbDep) -> Response:
    """Pending deliveries to it fail ("subscription removed"); the log is kept."""
    delete_subscription(db, principal.org_id, sub_id)
    return Response(status_code=204)


@router.get("/webhooks/{sub_id}/deliveries", response_model=DeliveryListOut, summary="The delivery log",
            responses=problems(**AUTH_ERRORS, **{"404": "no such subscription in the organisation"}))
def get_deliveries(sub_id: SubId, principal: MemberDep, db: IngestDbDep,
                   status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
                   limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
                   offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> dict[str, Any]:
    """Newest first, each delivery with every attempt (status code or error, duration)."""
    return {"items": [delivery_out(d) for d in list_deliveries(db, principal.org_id, sub_id, status=status,
                                                               limit=limit, offset=offset)],
            "limit": limit, "offset": offset}
