"""The exchange records (issue 18, parts 1 and 5): credit codes with their check character, validation
with field paths, the published JSON Schema files, and the synthetic year."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from pydantic import ValidationError

from trade import credit_code
from trade.generator import PRODUCTS, generate, generate_lines
from trade.json_schema import SCHEMA_DIR, file_name, render
from trade.records import RECORD_MODELS, Enterprise, Order
from trade.store import validate_record

REAL_CODES = ["914403001922038216", "91110000600037341L", "91350100M000100Y43"]
"""Published codes (an enterprise's filing, and the example of the standard's explanatory material)."""


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass_and_their_check_character_is_recomputed(code):
    assert credit_code.is_valid(code)
    assert credit_code.check_character(code[:17]) == code[17]


def test_weights_are_powers_of_three_mod_31_and_the_alphabet_skips_ioszv():
    assert credit_code.WEIGHTS[:6] == (1, 3, 9, 27, 19, 26)
    assert credit_code.WEIGHTS[-1] == 28
    assert len(credit_code.ALPHABET) == 31 and not set("IOZSV") & set(credit_code.ALPHABET)


def test_every_single_substitution_and_adjacent_swap_is_caught():
    code = REAL_CODES[0]
    for i in range(18):
        for c in credit_code.ALPHABET:
            if c != code[i] and (i not in range(2, 8) or c.isdigit()):
                assert not credit_code.is_valid(code[:i] + c + code[i + 1:]), (i, c)
    for i in range(17):
        if code[i] != code[i + 1]:
            assert not credit_code.is_valid(code[:i] + code[i + 1] + code[i] + code[i + 2:]), i


@pytest.mark.parametrize("code, reason", [
    ("91440300192203821", "18 characters"), ("9144030019220382I6", "not allowed"),
    ("91AB03001922038216", "division code"), ("914403001922038217", "check character"),
])
def test_bad_codes_say_what_is_wrong(code, reason):
    with pytest.raises(credit_code.CreditCodeError, match=reason):
        credit_code.validate(code)


def _order(**changes) -> dict:
    doc = json.loads(json.dumps(Order.model_config["json_schema_extra"]["examples"][0]))
    doc.update(changes)
    return doc


def test_errors_carry_field_paths_inside_the_record():
    doc = _order(lines=[_order()["lines"][0], {**_order()["lines"][0], "hs_code": "61AB"}], customs_mode="0110",
                 colour="red")
    errors = validate_record("orders", doc)
    fields = {e.field for e in errors}
    assert {"lines[1].hs_code", "customs_mode", "colour"} <= fields
    bad_code = validate_record("orders", _order(enterprise_code="914403001922038217"))
    assert [e.field for e in bad_code] == ["enterprise_code"] and "check character" in bad_code[0].message
    assert validate_record("orders", ["not", "an", "object"])[0].field == "(record)"


def test_times_without_offset_are_china_time_and_versions_are_checked():
    order = Order.model_validate(_order(ordered_at="2026-03-14T10:20:00"))
    assert order.ordered_at.utcoffset() == timedelta(hours=8)
    with pytest.raises(ValidationError) as exc:
        Order.model_validate(_order(schema_version="2.0"))
    assert exc.value.errors()[0]["loc"] == ("schema_version",)


def test_amount_due_and_net_weight_of_an_order():
    order = Order.model_validate(_order())
    assert str(order.amount_due) == "30.30" and str(order.net_weight_kg) == "0.40"
    no_weight = Order.model_validate(_order(lines=[{k: v for k, v in _order()["lines"][0].items()
                                                    if k != "net_weight_kg"}]))
    assert no_weight.net_weight_kg is None


@pytest.mark.parametrize("kind", list(RECORD_MODELS))
def test_published_schema_files_equal_the_models(kind):
    """Rewrite with `python -m trade.json_schema` after changing a record model."""
    path = SCHEMA_DIR / file_name(kind)
    assert path.read_text(encoding="utf-8") == render(kind)
    schema = json.loads(render(kind))
    assert schema["x-schema-version"] == "1.0" and schema["additionalProperties"] is False


@pytest.mark.parametrize("kind", list(RECORD_MODELS))
def test_each_models_example_is_valid(kind):
    model = RECORD_MODELS[kind]
    assert model.model_validate(model.model_config["json_schema_extra"]["examples"][0]).key


def test_the_openapi_document_carries_the_record_schemas():
    from api.app import create_app

    spec = create_app().openapi()
    for name in ("Order", "Payment", "Waybill", "Enterprise", "StockMovement", "GoodsLine"):
        assert name in spec["components"]["schemas"], name
    body = spec["paths"]["/v1/records/orders:batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("OrdersBatchIn")


# --- the synthetic year -------------------------------------------------------------------------------------
def test_the_sample_is_deterministic_valid_and_seasonal():
    a, b = generate(400, seed=7), generate(400, seed=7)
    assert [o.model_dump() for o in a.orders] == [o.model_dump() for o in b.orders]
    assert [o.order_no for o in generate(400, seed=8).orders] == [o.order_no for o in a.orders]
    assert [o.model_dump() for o in generate(400, seed=8).orders] != [o.model_dump() for o in a.orders]
    assert all(credit_code.is_valid(e.credit_code) for e in a.enterprises)
    assert len({e.credit_code for e in a.enterprises}) == len(a.enterprises)
    assert {e.role for e in a.enterprises} == {"ecommerce", "platform", "logistics", "warehouse", "payment"}
    assert Counter(e.city for e in a.enterprises if e.role == "ecommerce").most_common(1)[0][0] == "Mianyang"
    modes = Counter(o.customs_mode for o in a.orders)
    assert modes["9610"] > modes["9710"] > 0 and modes["9810"] > 0 and modes["1210"] > 0
    assert any(m.kind == "inbound" for m in a.stock_movements) and any(m.kind == "sales_out" for m in a.stock_movements)
    assert a.planted and a.orders[0].order_no.startswith("MY2026")
    assert "synthetic" in a.note.lower()


def test_generated_lines_are_columns_of_the_asked_length_with_the_year_shape():
    df = generate_lines(200_000, seed=3)
    assert len(df) == 200_000
    assert df.equals(generate_lines(200_000, seed=3))
    months = (df.assign(m=(df.ordered_ms // 1000).astype("datetime64[s]").dt.month).groupby("m").size())
    assert months[11] > 1.4 * months[3] and months[2] < months[3]  # Double 11 / Black Friday; Spring Festival
    chapters = df.hs_chapter.value_counts()
    assert chapters.index[0] == "85" and set(chapters.index) == {p[0][:2] for p in PRODUCTS}
    assert df.groupby("order_id").line_no.min().eq(1).all()
    per_order = df.groupby("order_id")[["customs_mode", "destination_country", "currency"]].nunique()
    assert (per_order == 1).all().all()
    assert set(df.customs_mode.cat.categories) == {"9610", "9710", "9810", "1210"}
    assert all(credit_code.is_valid(c) for c in df.enterprise_code.cat.categories)


def test_enterprises_of_lines_and_records_are_the_same_firms():
    firms = {e.credit_code for e in generate(50, seed=11).enterprises if e.role == "ecommerce"}
    assert set(generate_lines(5_000, seed=11).enterprise_code.cat.categories) == firms
    assert Enterprise.model_validate(generate(5, seed=11).enterprises[0].model_dump())
