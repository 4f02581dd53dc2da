"""Schemas of the webhook routes: subscriptions (the secret shown once) and the delivery log."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from webhooks.events import EVENT_TYPES

EventType = Literal["shipment.milestone", "shipment.eta_changed", "shipment.alert", "check.result"]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "url": "https://partner.example/cbec/events", "event_types": ["shipment.milestone", "check.result"],
        "description": "Chengdu platform"}]})
    url: str = Field(min_length=8, max_length=2048, description="the partner's https:// endpoint (POST, JSON)")
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=200)


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: str


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(description="the HMAC-SHA256 key of X-Cbec-Signature (t=<unix s>,v1=<hex of "
                                    "HMAC(secret, '<t>.<body>')>); shown once")


class SubscriptionListOut(BaseModel):
    items: list[SubscriptionOut]


class AttemptOut(BaseModel):
    attempt: int
    started_at: str
    duration_ms: int
    status_code: int | None = Field(description="the endpoint's HTTP status; none when it did not answer")
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: str | None = Field(description="when a pending delivery is tried again")
    last_status_code: int | None
    last_error: str | None
    created_at: str
    finished_at: str | None
    log: list[AttemptOut]


class DeliveryListOut(BaseModel):
    items: list[DeliveryOut]
    limit: int
    offset: int
