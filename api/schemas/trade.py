"""Schemas of the exchange records' routes: batches and their per-record answers, listings, histories,
the three-document checks. The records themselves are :mod:`trade.records` (schema version 1.0)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, ValidationError, create_model
from pydantic_core import InitErrorDetails, core_schema

from api.schemas.common import FieldError
from trade.bulk import gc_paused
from trade.records import Enterprise, Order, Payment, StockMovement, Waybill
from trade.store import MAX_BATCH

RecordKind = Literal["enterprises", "orders", "payments", "waybills", "stock_movements"]


def _batch(model: type, name: str) -> type[BaseModel]:
    """The body of ``POST /v1/records/<kind>:batch``: records of ``model``; one that does not validate is
    answered as rejected (with its field paths), the others are stored."""
    item = Annotated[model | dict[str, Any], Field(union_mode="left_to_right")]  # type: ignore[valid-type]
    records = (list[item], Field(min_length=1, max_length=MAX_BATCH,  # type: ignore[valid-type]
                                 description=f"1 to {MAX_BATCH:,} {model.__name__} records (schema_version 1.0); "
                                             "each is validated on its own"))
    return create_model(name, __config__=ConfigDict(extra="forbid"), records=records)


EnterprisesBatchIn = _batch(Enterprise, "EnterprisesBatchIn")
OrdersBatchIn = _batch(Order, "OrdersBatchIn")
PaymentsBatchIn = _batch(Payment, "PaymentsBatchIn")
WaybillsBatchIn = _batch(Waybill, "WaybillsBatchIn")
StockMovementsBatchIn = _batch(StockMovement, "StockMovementsBatchIn")
BATCH_BODIES: dict[str, type[BaseModel]] = {"enterprises": EnterprisesBatchIn, "orders": OrdersBatchIn,
                                            "payments": PaymentsBatchIn, "waybills": WaybillsBatchIn,
                                            "stock_movements": StockMovementsBatchIn}


class RawJson(bytes):
    """A request body handed over unparsed (the batch routes' request class returns it from ``json()``)."""


def _json_error(body: bytes, model: type[BaseModel]) -> ValidationError | None:
    """The JSON syntax error of ``body`` as FastAPI reports one (``json_invalid`` at the character position);
    None when Python's parser takes it after all (e.g. ``NaN``): it is then validated from Python objects."""
    try:
        json.loads(body)
    except ValueError as exc:
        pos, msg = (exc.pos, exc.msg) if isinstance(exc, json.JSONDecodeError) else (0, str(exc))
        return ValidationError.from_exception_data(model.__name__, [InitErrorDetails(
            type="json_invalid", loc=(pos,), input={}, ctx={"error": msg})])
    return None


class OneParse:
    """``Annotated[Model, OneParse()]``: a body given as :class:`RawJson` is parsed and validated in one pass
    (``model_validate_json``: no Python dicts built first, then validated again); any other value is validated
    as usual. Its JSON Schema (OpenAPI) is the model's."""

    def __get_pydantic_core_schema__(self, source: type[BaseModel], handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        def validate(value: Any) -> BaseModel:
            if isinstance(value, RawJson):
                try:
                    with gc_paused():  # thousands of records, all alive until the batch is stored
                        return source.model_validate_json(value)
                except ValidationError as exc:
                    if exc.errors()[0]["type"] != "json_invalid":
                        raise
                    error = _json_error(value, source)
                    if error is not None:
                        raise error from None
                    value = json.loads(value)
            return source.model_validate(value)

        return core_schema.no_info_plain_validator_function(validate, json_schema_input_schema=handler(source))


BATCH_BODY_TYPES: dict[str, Any] = {kind: Annotated[model, OneParse()] for kind, model in BATCH_BODIES.items()}
"""The batch routes' body parameters: the models of :data:`BATCH_BODIES`, parsed once from the raw body."""


class RecordResultOut(BaseModel):
    index: int = Field(ge=0, description="position of the record in the batch, from 0")
    key: str | None = Field(description="the record's key (order no., payment no., ...) when it could be read")
    outcome: Literal["created", "unchanged", "updated", "rejected"]
    version: int | None = Field(default=None, description="the stored version (none when rejected)")
    errors: list[FieldError] = Field(default_factory=list, description="why it was rejected: field paths inside "
                                                                         "the record, e.g. lines[0].hs_code")


class BatchCounts(BaseModel):
    created: int
    unchanged: int
    updated: int
    rejected: int


class BatchOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "orders", "counts": {"created": 1, "unchanged": 0, "updated": 0, "rejected": 1}, "checks_changed": 1,
        "results": [{"index": 0, "key": "MY2026031400001", "outcome": "created", "version": 1, "errors": []},
                    {"index": 1, "key": "MY2026031400002", "outcome": "rejected", "version": None,
                     "errors": [{"field": "lines[0].hs_code", "message": "String should match pattern '^[0-9]{6,10}$'"}]}]}]})
    kind: RecordKind
    counts: BatchCounts
    checks_changed: int = Field(description="three-document checks whose outcome this batch changed")
    results: list[RecordResultOut] = Field(description="one entry per record, in batch order (with "
                                                       "`?results=changes`: the rejected and updated ones only)")


class StoredRecordOut(BaseModel):
    kind: RecordKind
    key: str
    version: int
    created_at: str
    updated_at: str
    record: dict[str, Any] = Field(description="the record as stored (its schema: GET /v1/schemas/{kind})")


class RecordListOut(BaseModel):
    items: list[StoredRecordOut]
    total: int
    limit: int
    offset: int


class RecordVersionOut(BaseModel):
    version: int
    digest: str = Field(description="sha256 of the version's canonical JSON")
    stored_at: str
    record: dict[str, Any]


class RecordHistoryOut(BaseModel):
    kind: RecordKind
    key: str
    versions: list[RecordVersionOut]


class MismatchOut(BaseModel):
    field: str = Field(description="amount | currency | payer | consignee | destination_country | gross_weight")
    documents: list[str] = Field(description="the documents that disagree, e.g. ['order', 'payment PAY1']")
    expected: str
    found: str


class CheckOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "order_no": "MY2026031400001", "status": "mismatch", "missing": [],
        "mismatches": [{"field": "amount", "documents": ["order", "payment PAY2026031400001"],
                        "expected": "30.30 EUR", "found": "24.24 EUR"}],
        "ordered_at": "2026-03-14T02:20:00Z", "checked_at": "2026-03-14T02:30:00Z"}]})
    order_no: str
    status: Literal["matched", "mismatch", "incomplete"]
    missing: list[str] = Field(description="documents not received: order, payment, waybill")
    mismatches: list[MismatchOut]
    ordered_at: str | None
    checked_at: str


class CheckListOut(BaseModel):
    items: list[CheckOut]
    total: int
    counts: dict[str, int] = Field(description="checks by status over the same filters (status aside)")
    limit: int
    offset: int


class JsonSchemaOut(BaseModel):
    """A record kind's JSON Schema (draft 2020-12), as the published file ``trade/schemas/<kind>.v1.0.json``."""

    model_config = ConfigDict(extra="allow")
    title: str
    type: str
    properties: dict[str, Any]
    required: list[str] = Field(default_factory=list)
