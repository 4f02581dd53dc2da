"""Schemas of the shared-warehouse resources: offers, bookings, stock movements, settlements, recommendations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.convertors import Convertor, register_url_convertor

from sharing.model import DAY_PATTERN
from trade.demand import DEFAULT_LOOKBACK_DAYS, MAX_LOOKBACK_DAYS, MIN_LOOKBACK_DAYS

Day = Annotated[str, Field(min_length=10, max_length=10, pattern=DAY_PATTERN,
                           description="a calendar day, YYYY-MM-DD (2000..2100)", examples=["2027-01-15"])]
OrgId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
CargoClass = Literal["general", "lithium_batteries", "dangerous_goods", "temperature_controlled"]
CustomsMode = Literal["9610", "1210", "9710", "9810"]
Warehouse = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$",
                                 description="an overseas_warehouse node id (GET /v1/nodes)")]
Quantity = Annotated[float, Field(gt=0, le=10_000_000, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)]
Price = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
IN = ConfigDict(extra="forbid", strict=True)

OFFER_ID_RE, BOOKING_ID_RE, MONTH_RE = "off_[a-z0-9]{1,60}", "bkg_[a-z0-9]{1,60}", "[0-9]{4}-[0-9]{2}"
"""What an offer id, a booking id and a month look like in a path. Registered below as Starlette path
convertors (``/{offer_id:offer_id}``), so that ``/v1/offers/partners`` or ``/v1/settlements/verify`` is never
taken for an id (another method there answers 405, not 404); the routes state them as patterns too."""


class PathSegment(Convertor):
    """A path segment matching ``regex``, passed on as it is."""

    def __init__(self, regex: str) -> None:
        self.regex = regex

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


for _name, _regex in (("offer_id", OFFER_ID_RE), ("booking_id", BOOKING_ID_RE), ("month", MONTH_RE)):
    register_url_convertor(_name, PathSegment(_regex))  # before the routers compile their paths


# --- offers -------------------------------------------------------------------------------------------------
class TermsIn(BaseModel):
    model_config = IN
    notice_days: int = Field(14, ge=0, le=365, description="cancellations this many days before the start are free")
    cancel_fee_share: Share = Field(0.5, description="share of the booking's value charged for a later cancellation "
                                                     "(or of the value given up by a later reduction)")
    settle_on: Literal["booked", "used", "split"] = Field("booked", description="what is charged: booked quantities, "
                                                                               "used ones, or a split")
    booked_share: Share = Field(1.0, description="split: the share of the charge on booked quantities")
    hold_hours: int = Field(48, ge=1, le=720, description="how long a held booking keeps its space unconfirmed")


class OfferIn(BaseModel):
    """Capacity a warehouse operator offers at one warehouse for a period."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"warehouse": "WH_LODZ", "start_day": "2027-01-01", "end_day": "2027-03-31", "storage_capacity": 800,
         "inbound_m3_per_day": 60, "price_storage": 0.55, "price_inbound": 4.0, "cargo_classes": ["general"],
         "customs_modes": ["9810"], "who_may_book": "everyone", "terms": {"notice_days": 14, "settle_on": "booked"}}]})
    warehouse: Warehouse
    start_day: Day
    end_day: Day
    storage_capacity: Amount = Field(description="storage offered every day, in storage_unit")
    storage_unit: Literal["m3", "pallet"] = "m3"
    inbound_m3_per_day: Amount = Field(description="inbound handling offered every day, m³")
    price_storage: Price = Field(description="per storage_unit and day")
    price_inbound: Price = Field(description="per inbound m³")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    cargo_classes: list[CargoClass] = Field(["general"], min_length=1, max_length=4)
    customs_modes: list[CustomsMode] = Field(["9810"], min_length=1, max_length=4)
    who_may_book: Literal["everyone", "list", "partners"] = "everyone"
    allowed_orgs: list[OrgId] = Field([], max_length=500, description="who_may_book 'list': organisation ids")
    terms: TermsIn = Field(default_factory=TermsIn)


class TermsOut(BaseModel):
    notice_days: int
    cancel_fee_share: float
    settle_on: str
    booked_share: float
    hold_hours: int


class OfferOut(BaseModel):
    id: str
    operator: str
    status: Literal["open", "withdrawn"]
    warehouse: str
    start_day: str
    end_day: str
    storage_capacity: float
    storage_unit: str
    inbound_m3_per_day: float
    price_storage: float
    price_inbound: float
    currency: str
    cargo_classes: list[str]
    customs_modes: list[str]
    who_may_book: str
    allowed_orgs: list[str] = Field(description="shown to the operator only")
    terms: TermsOut
    created_ms: int
    updated_ms: int


class OfferListOut(BaseModel):
    items: list[OfferOut]
    total: int
    limit: int
    offset: int


class DayUseOut(BaseModel):
    day: str
    capacity: float
    confirmed: float
    held: float
    free: float


class SensorsOut(BaseModel):
    free_m3: float
    occupied_positions: int | None
    free_positions: int
    source: str


class AvailabilityOut(BaseModel):
    offer: str
    warehouse: str
    storage_unit: str
    days: dict[str, list[DayUseOut]] = Field(description="per kind (storage, inbound): booked vs offered per day")
    sensors: SensorsOut = Field(description="the warehouse's free space from its occupancy sensors (every tenant's)")


class PartnersIn(BaseModel):
    model_config = IN
    partners: list[OrgId] = Field(max_length=500, description="the whole list: organisations that may book "
                                                              "'partners' offers")


class PartnerOut(BaseModel):
    id: str
    name: str = Field(description="the organisation's display name")
    since: str = Field(description="on the list since (ISO 8601, UTC)")


class PartnersOut(BaseModel):
    partners: list[str] = Field(description="the partners' organisation ids")
    organisations: list[PartnerOut] = Field(description="the same partners with their names, in the same order")


# --- bookings -----------------------------------------------------------------------------------------------
class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"offer": "off_abc", "kind": "storage", "quantity": 40, "start_day": "2027-01-05", "end_day": "2027-02-04",
         "cargo_class": "general", "customs_mode": "9810"}]})
    offer: str = Field(min_length=1, max_length=64)
    kind: Literal["storage", "inbound"] = Field(description="storage (offer units every day) or inbound (m³ per day)")
    quantity: Quantity
    start_day: Day
    end_day: Day
    cargo_class: CargoClass = "general"
    customs_mode: CustomsMode = "9810"
    hold: bool = Field(False, description="hold the space unconfirmed for the offer's hold_hours")
    waitlist: bool = Field(True, description="wait for space (until the first day) instead of a refusal")
    request_key: str | None = Field(None, min_length=1, max_length=128,
                                    description="idempotency key: a retry with the same key gets the first answer")


class BookingChangeIn(BaseModel):
    model_config = IN
    quantity: Quantity | None = None
    start_day: Day | None = None
    end_day: Day | None = None


class RefusalIn(BaseModel):
    """The operator's refusal (or cancellation) of a booking on its offer: the booker reads the reason."""

    model_config = IN
    reason: str = Field(min_length=1, max_length=300, examples=["dock closed for repairs that week"])


class BookingOut(BaseModel):
    id: str
    org: str = Field(description="the booker's organisation id")
    offer: str
    operator: str = Field(description="the organisation id of the offer's operator")
    warehouse: str
    kind: str
    quantity: float
    start_day: str
    end_day: str
    cargo_class: str
    customs_mode: str
    status: Literal["held", "confirmed", "waitlisted", "refused", "cancelled", "expired"]
    reason: str | None = Field(description="why refused, waitlisted, expired or cancelled (and the fee)")
    expires_ms: int | None = Field(description="held: confirm before; waitlisted: waits until")
    fee: float
    request_key: str | None
    created_ms: int
    updated_ms: int
    org_name: str | None = Field(description="the booker's organisation name (null if the organisation is gone)")
    operator_name: str | None = Field(description="the operator's organisation name (null if the organisation is gone)")


class BookingListOut(BaseModel):
    items: list[BookingOut]
    total: int
    limit: int
    offset: int


class AuditEntryOut(BaseModel):
    at_ms: int
    actor_org: str | None
    actor: str | None
    subject: str
    subject_id: str
    action: str
    detail: dict[str, Any]


class AuditOut(BaseModel):
    items: list[AuditEntryOut]


# --- use ----------------------------------------------------------------------------------------------------
class MovementIn(BaseModel):
    model_config = IN
    warehouse: Warehouse
    day: Day
    direction: Literal["in", "out"]
    m3: Quantity
    ref: str = Field(min_length=1, max_length=128, description="your reference: one movement per ref")
    owner: OrgId | None = Field(None, description="an operator recording for its client: the client's organisation")


class ShipmentUseIn(BaseModel):
    model_config = IN
    shipment: str = Field(min_length=1, max_length=64, description="a tracked shipment ending at an overseas warehouse")
    m3: Quantity


class PlanUseIn(BaseModel):
    model_config = IN
    plan: str = Field(min_length=1, max_length=64, description="a finished batch plan's id (POST /v1/plans)")


class MovementOut(BaseModel):
    id: str
    org: str
    warehouse: str
    offer: str | None
    booking: str | None
    day: str
    direction: str
    m3: float
    source: str
    ref: str
    unbooked: bool


class MovementListOut(BaseModel):
    items: list[MovementOut]


class OveruseOut(BaseModel):
    org: str
    offer: str
    day: str
    kind: str
    used_m3: float
    booked_m3: float
    overuse_m3: float


class OccupancyOut(BaseModel):
    sensors_m3: float | None
    recorded_stock_m3: float
    difference_m3: float | None
    source: str


class ExpiryOut(BaseModel):
    """What an expiry run did."""

    expired: int = Field(description="holds and waits past their deadline, now expired")
    promoted: int = Field(description="waitlisted bookings confirmed or held in the room freed")


class ReconciliationOut(BaseModel):
    warehouse: str
    start: str
    end: str
    overuse: list[OveruseOut]
    unbooked_inbound: list[MovementOut]
    occupancy: OccupancyOut


# --- settlements --------------------------------------------------------------------------------------------
class SettlementLineOut(BaseModel):
    booker: str
    operator: str
    offer: str
    warehouse: str
    currency: str
    settle_on: str
    booked_share: float
    storage_unit: str
    booked_unit_days: float
    used_unit_days: float
    overuse_unit_days: float
    booked_m3_days: float
    used_m3_days: float
    booked_inbound_m3: float
    used_inbound_m3: float
    overuse_inbound_m3: float
    price_storage: float
    price_inbound: float
    storage_charge: float
    inbound_charge: float
    fees: float
    total: float


class PairTotalOut(BaseModel):
    booker: str
    operator: str
    booker_name: str | None
    operator_name: str | None
    booker_city: str
    operator_city: str
    currency: str
    booked_m3_days: float
    used_m3_days: float
    booked_inbound_m3: float
    used_inbound_m3: float
    storage_charge: float
    inbound_charge: float
    fees: float
    total: float


class SettlementOut(BaseModel):
    month: str
    org: str | None
    pairs: list[PairTotalOut]
    lines: list[SettlementLineOut]
    method: str


class SignatureOut(BaseModel):
    alg: Literal["HMAC-SHA256"]
    key_id: str
    value: str


class StatementOut(SettlementOut):
    kind: str
    signed_at: str
    signature: SignatureOut


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    signature: dict[str, Any]


class VerifyOut(BaseModel):
    valid: bool
    reason: str


class CityFlowOut(BaseModel):
    """A flow between two home cities in one currency; every figure is null when it is suppressed."""

    booker_city: str | None = Field(description="the bookers' home city (null in a total: every city)")
    operator_city: str | None = Field(description="the operators' home city (null in a total: every city)")
    currency: str
    suppressed: Literal["primary", "secondary"] | None = Field(
        description="null: shown; primary: fewer than three organisations on its smaller side; secondary: hidden so "
                    "that a primary one cannot be worked out from the shown totals")
    pairs: int | None
    booked_m3_days: float | None
    used_m3_days: float | None
    booked_inbound_m3: float | None
    used_inbound_m3: float | None
    total: float | None


class CityTotalOut(CityFlowOut):
    by: Literal["booker", "operator", "all"] = Field(description="booker: per booker city; operator: per operator "
                                                                 "city; all: every flow in the currency")


class CityFlowsOut(BaseModel):
    month: str
    rule: str = Field(description="the disclosure rule applied (the statistics office's)")
    min_organisations: int
    flows: list[CityFlowOut]
    totals: list[CityTotalOut]
    suppressed: int = Field(description="flows hidden")


class CityIn(BaseModel):
    model_config = IN
    city: str = Field(min_length=1, max_length=64, examples=["Mianyang"])


class CityOut(BaseModel):
    org: str
    city: str


# --- recommendations ----------------------------------------------------------------------------------------
class DemandRowIn(BaseModel):
    model_config = IN
    market: str = Field(min_length=1, max_length=64)
    family: str = Field(min_length=1, max_length=40)
    mean_m3_day: float = Field(gt=0, le=100_000, allow_inf_nan=False)
    sd_m3_day: float = Field(ge=0, le=100_000, allow_inf_nan=False)
    kg_per_m3: float = Field(gt=0, le=2_000, allow_inf_nan=False)
    max_days: float | None = Field(None, gt=0, le=60)


class RecommendIn(BaseModel):
    model_config = IN
    start_day: Day
    end_day: Day
    demand: list[DemandRowIn] | None = Field(None, max_length=500, description=(
        "expected demand per market and family (default: from the organisation's own 9610/9810 orders, else the "
        "bundled sample)"))
    lookback_days: int = Field(DEFAULT_LOOKBACK_DAYS, ge=MIN_LOOKBACK_DAYS, le=MAX_LOOKBACK_DAYS,
                               description="without demand rows: the days of orders before start_day the demand "
                                           "is read from")
    fill_rate: float = Field(0.95, gt=0.5, lt=1, allow_inf_nan=False)
    review_days: float = Field(7.0, ge=1, le=90, allow_inf_nan=False)
    max_days: float | None = Field(None, gt=0, le=60, description="service level: delivery days warehouse -> market")


class RecommendedBookingOut(BaseModel):
    offer: str
    warehouse: str
    storage_m3: float
    storage_quantity: float = Field(description="the storage to book, in the offer's unit (whole pallet positions)")
    storage_unit: str
    inbound_m3_per_day: float
    monthly_cost: float


class RecommendedLineOut(BaseModel):
    exporter: str
    market: str
    family: str
    offer: str
    warehouse: str
    storage_m3: float
    inbound_m3_per_day: float
    fill_rate: float
    monthly_cost: float
    nearest_offer: str | None
    nearest_cost: float | None


class NearestOut(BaseModel):
    monthly_cost: float
    unplaced: list[str] = Field(description="lines the baseline found no room for (left out of the saving)")
    method: str


class PeriodOut(BaseModel):
    start: str
    end: str


class DemandRowOut(BaseModel):
    market: str
    family: str
    mean_m3_day: float
    sd_m3_day: float
    kg_per_m3: float
    max_days: float | None


class GivenDemandOut(BaseModel):
    kind: Literal["given"] = Field(description="the rows sent with the request")
    rows: int


class OrdersWindowOut(BaseModel):
    from_: str = Field(alias="from", description="first day of orders read")
    to: str = Field(description="last day of orders read")
    days: int
    customs_modes: list[str]
    orders: int = Field(description="orders the demand was read from")
    without_weight: int = Field(description="orders left out: no waybill weight and no net weight")
    countries_without_market: dict[str, int] = Field(description="orders left out per country: no market of the "
                                                                 "network there")
    split: dict[str, list[str]] = Field(description="countries whose demand is split evenly between their markets")
    kg_per_m3: dict[str, float] = Field(description="density of each goods family")


class OrdersDemandOut(OrdersWindowOut):
    kind: Literal["orders"] = Field(description="the organisation's own 9610/9810 orders before the period")


class SampleDemandOut(OrdersWindowOut):
    kind: Literal["sample"] = Field(description="the bundled sample demand (synthetic, marked [A])")
    reason: str = Field(description="why the organisation's orders could not be used")


class DemandUsedOut(BaseModel):
    source: Annotated[GivenDemandOut | OrdersDemandOut | SampleDemandOut, Field(discriminator="kind")]
    rows: list[DemandRowOut] = Field(description="the demand the recommendation was computed for")


class RecommendOut(BaseModel):
    status: str
    fill_rate: float
    currency: str
    book: list[RecommendedBookingOut]
    lines: list[RecommendedLineOut]
    monthly_cost: float
    nearest: NearestOut
    saving: float | None = Field(description="nearest-first minus the recommendation, per month (None: nearest-first "
                                             "finds no room for some line, see nearest.unplaced)")
    saving_pct: float | None
    unserved: list[str]
    solve_seconds: float
    solver: str
    notes: list[str]
    period: PeriodOut
    offers_considered: int
    demand: DemandUsedOut
