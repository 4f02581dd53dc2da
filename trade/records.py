"""The exchange records of the pilot zone (schema version ``1.0``): enterprises, e-commerce orders with
their goods lines, payments, waybills and 9810 stock movements.

One pydantic model per record; they are the wire format of the batch endpoints and of the CSV/XLSX
imports, published as JSON Schema files (``trade/schemas/*.json``, :mod:`trade.json_schema`) and in
the OpenAPI document. Every record carries ``schema_version``: a later version that changes a field's
meaning gets a new number, and readers reject versions they do not know (say which they take).

Keys (unique per organisation): enterprise ``credit_code``, order ``order_no``, payment ``payment_no``,
waybill ``logistics_no``, stock movement ``movement_no``. Times are ISO 8601; a time without an offset
is read as China Standard Time (UTC+08:00), as the customs and platform systems of the zone write it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from trade.credit_code import CreditCodeError, validate as validate_credit_code

SCHEMA_VERSION = "1.0"
CHINA_TZ = timezone(timedelta(hours=8), "CST")

CUSTOMS_MODES = ("9610", "9710", "9810", "1210")
"""9610 B2C parcels (direct mail), 9710 B2B direct export, 9810 B2B export to an overseas warehouse, 1210 bonded."""
ENTERPRISE_ROLES = ("ecommerce", "platform", "logistics", "warehouse", "payment")
"""e-commerce company, platform, logistics firm, (overseas) warehouse operator, payment firm."""
CHANNELS = ("postal", "express", "freight")
"""How a waybill travels: postal parcel, express (courier), freight (consolidated cargo)."""
TRANSPORT_MODES = ("air", "rail", "sea", "road")
MOVEMENT_KINDS = ("inbound", "sales_out")
"""9810 stock: inbound to an overseas warehouse (the export), sales out of it (the sale abroad)."""


@lru_cache(maxsize=65_536)  # the same few thousand enterprises recur in every batch
def _credit_code(value: str) -> str:
    try:
        return validate_credit_code(value)
    except CreditCodeError as exc:
        raise ValueError(str(exc)) from None


def _china_time(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=CHINA_TZ)


CreditCode = Annotated[str, StringConstraints(min_length=18, max_length=18), AfterValidator(_credit_code),
                       Field(description="unified social credit code (GB 32100-2015, 18 characters, checked)",
                             examples=["91510700MA62586B2Y"])]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""Text fields take no control characters (PostgreSQL refuses NUL; the others hide in a terminal)."""
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, pattern=PRINTABLE),
                 Field(description="unit of quantity, e.g. pcs, kg, set, pair")]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"),
                    Field(description="ISO 3166-1 alpha-2 country code", examples=["DE"])]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"),
                     Field(description="ISO 4217 currency code", examples=["EUR"])]
HsCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6,10}$"),
                   Field(description="HS code, 6 to 10 digits (China's tariff has 10)", examples=["6109100021"])]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), max_digits=16, decimal_places=2)]
Time = Annotated[datetime, AfterValidator(_china_time),
                 Field(description="ISO 8601; without an offset read as UTC+08:00", examples=["2026-03-14T10:20:00+08:00"])]
Version = Annotated[Literal["1.0"], Field(description="version of this record's schema")]


class Record(BaseModel):
    """Base of the exchange records: unknown fields are errors (a misspelt field is never dropped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Version = SCHEMA_VERSION

    @property
    def key(self) -> str:  # pragma: no cover - each record overrides it
        raise NotImplementedError


class Enterprise(Record):
    """An enterprise's filing record (备案)."""

    model_config = ConfigDict(title="Enterprise", json_schema_extra={"examples": [{
        "schema_version": "1.0", "credit_code": "91510700MA62586B2Y", "name_zh": "绵阳跨境优品电子商务有限公司",
        "name_en": "Mianyang Cross-border Goods E-commerce Co., Ltd.", "role": "ecommerce", "city": "Mianyang"}]})
    credit_code: CreditCode
    name_zh: Text = Field(description="registered name in Chinese")
    name_en: Text | None = Field(default=None, description="name in English")
    role: Literal["ecommerce", "platform", "logistics", "warehouse", "payment"] = Field(
        description="e-commerce company, platform, logistics firm, warehouse operator, payment firm")
    city: Text = Field(description="home city, e.g. Mianyang or Chengdu")
    country: Country = "CN"

    @property
    def key(self) -> str:
        return self.credit_code


class GoodsLine(BaseModel):
    """One line of goods of an order."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="GoodsLine")
    hs_code: HsCode
    description: Text
    quantity: Decimal = Field(gt=0, le=Decimal("1e9"), max_digits=14, decimal_places=3)
    unit: Unit
    value: Money = Field(description="the line's value (quantity × unit price) in the order's currency")
    net_weight_kg: Decimal | None = Field(default=None, ge=0, le=Decimal("1e7"), max_digits=12, decimal_places=3,
                                          description="net weight of the goods (for the weight check of 9610)")


class Order(Record):
    """An e-commerce order (电子订单) under a customs mode."""

    model_config = ConfigDict(title="Order", json_schema_extra={"examples": [{
        "schema_version": "1.0", "order_no": "MY2026031400001", "enterprise_code": "91510700MA62586B2Y",
        "platform_code": "91510100MA61TBMF8H", "customs_mode": "9610", "destination_country": "DE",
        "currency": "EUR", "ordered_at": "2026-03-14T10:20:00+08:00", "buyer_name": "Anna Schmidt",
        "consignee_name": "Anna Schmidt", "freight": "4.50",
        "lines": [{"hs_code": "6109100021", "description": "cotton T-shirt", "quantity": "2", "unit": "pcs",
                   "value": "25.80", "net_weight_kg": "0.40"}]}]})
    order_no: Key
    enterprise_code: CreditCode = Field(description="credit code of the selling e-commerce company")
    platform_code: CreditCode | None = Field(default=None, description="credit code of the platform it was sold on")
    customs_mode: Literal["9610", "9710", "9810", "1210"]
    destination_country: Country
    currency: Currency
    ordered_at: Time
    buyer_name: Text | None = Field(default=None, description="who pays (compared with the payment's payer)")
    consignee_name: Text | None = Field(default=None, description="who receives (compared with the waybill's)")
    freight: Money = Field(default=Decimal("0"), description="freight charged to the buyer, in the order's currency")
    lines: list[GoodsLine] = Field(min_length=1, max_length=1000)

    @property
    def key(self) -> str:
        return self.order_no

    @property
    def goods_value(self) -> Decimal:
        return sum((line.value for line in self.lines), Decimal("0"))

    @property
    def amount_due(self) -> Decimal:
        """Goods plus freight: what the payment should carry."""
        return self.goods_value + self.freight

    @property
    def net_weight_kg(self) -> Decimal | None:
        """Declared net weight of the goods, None when a line has none."""
        weights = [line.net_weight_kg for line in self.lines]
        return None if any(w is None for w in weights) else sum(weights, Decimal("0"))  # type: ignore[arg-type]


class Payment(Record):
    """A payment (支付单) of an order."""

    model_config = ConfigDict(title="Payment", json_schema_extra={"examples": [{
        "schema_version": "1.0", "payment_no": "PAY2026031400001", "order_no": "MY2026031400001",
        "payer_name": "Anna Schmidt", "amount": "30.30", "currency": "EUR", "paid_at": "2026-03-14T10:21:00+08:00"}]})
    payment_no: Key
    order_no: Key
    payment_firm_code: CreditCode | None = Field(default=None, description="credit code of the payment firm")
    payer_name: Text | None = None
    amount: Money
    currency: Currency
    paid_at: Time

    @property
    def key(self) -> str:
        return self.payment_no


class Waybill(Record):
    """A waybill (物流运单) of an order; ``shipment_id`` links it to a shipment the project follows."""

    model_config = ConfigDict(title="Waybill", json_schema_extra={"examples": [{
        "schema_version": "1.0", "logistics_no": "YT2026031400001", "order_no": "MY2026031400001",
        "carrier": "China Post", "parcels": 1, "gross_weight_kg": "0.55", "consignee_name": "Anna Schmidt",
        "destination_country": "DE", "channel": "postal", "transport_mode": "air"}]})
    logistics_no: Key
    order_no: Key
    carrier: Text
    carrier_code: CreditCode | None = Field(default=None, description="credit code of the logistics firm")
    parcels: int = Field(ge=1, le=100_000)
    gross_weight_kg: Decimal = Field(gt=0, le=Decimal("1e7"), max_digits=12, decimal_places=3)
    consignee_name: Text | None = None
    destination_country: Country
    channel: Literal["postal", "express", "freight"] = Field(description="postal parcel, express, or freight")
    transport_mode: Literal["air", "rail", "sea", "road"]
    shipment_id: Key | None = Field(default=None, description="a shipment the project follows (POST /v1/shipments)")
    shipped_at: Time | None = None

    @property
    def key(self) -> str:
        return self.logistics_no


class StockMovement(Record):
    """A 9810 stock movement at an overseas warehouse: ``inbound`` (exported stock arrives) or ``sales_out``."""

    model_config = ConfigDict(title="StockMovement", json_schema_extra={"examples": [{
        "schema_version": "1.0", "movement_no": "MV2026031400001", "enterprise_code": "91510700MA62586B2Y",
        "warehouse_id": "WH-DUISBURG-1", "warehouse_country": "DE", "kind": "inbound",
        "moved_at": "2026-03-14T10:20:00+08:00", "hs_code": "8516601000", "description": "rice cooker",
        "quantity": "400", "unit": "pcs", "value": "12000.00", "currency": "EUR"}]})
    movement_no: Key
    enterprise_code: CreditCode
    warehouse_id: Key
    warehouse_country: Country
    kind: Literal["inbound", "sales_out"]
    moved_at: Time
    hs_code: HsCode
    description: Text | None = None
    quantity: Decimal = Field(gt=0, le=Decimal("1e9"), max_digits=14, decimal_places=3)
    unit: Unit
    value: Money
    currency: Currency
    order_no: Key | None = Field(default=None, description="the 9810 export order (inbound) or the sale abroad")
    shipment_id: Key | None = None

    @property
    def key(self) -> str:
        return self.movement_no


RECORD_MODELS: dict[str, type[Record]] = {"enterprises": Enterprise, "orders": Order, "payments": Payment,
                                          "waybills": Waybill, "stock_movements": StockMovement}
"""The record kinds by their collection name (URLs, CLI, JSON Schema file names)."""
KEY_FIELDS = {"enterprises": "credit_code", "orders": "order_no", "payments": "payment_no",
              "waybills": "logistics_no", "stock_movements": "movement_no"}

