"""Scenario files: bundled scenarios validate; bad files are rejected naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.errors import InvalidInput
from simulation.scenario import build_network, bundled_scenarios, load_scenario

BASE = Path(__file__).resolve().parent.parent / "simulation" / "scenarios" / "baseline.yaml"


def test_bundled_scenarios_validate_against_the_network(net):
    names = bundled_scenarios()
    for required in ("baseline", "mianyang_railport", "more_trains", "alashankou_congestion", "peak_season"):
        assert required in names
    for name in names:
        sc = load_scenario(name, net)
        assert sc.horizon_days > sc.warmup_days
        build_network(sc, net)


def test_extends_merges_and_overrides(net):
    sc = load_scenario("more_trains", net)
    base = load_scenario("baseline", net)
    assert sc.name == "more_trains" and sc.demand == base.demand
    v = build_network(sc, net)
    assert v.services["CRE_CD_DUISBURG"].schedule.weekdays == (0, 1, 2, 4, 5)
    assert net.services["CRE_CD_DUISBURG"].schedule.weekdays == (1, 4)  # the shared network is untouched
    rail = build_network(load_scenario("mianyang_railport", net), net)
    assert not rail.services["CRE_MY_LODZ"].planned and net.services["CRE_MY_LODZ"].planned


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(f"extends: {BASE}\n{body}", encoding="utf-8")
    return p


@pytest.mark.parametrize("body, field", [
    ("horizon_days: -5\n", "horizon_days"),
    ("warmup_days: 400\n", "scenario"),
    ("demand_multiplier: lots\n", "demand_multiplier"),
    ("resources: {customs_lanes: {default: two}}\n", "resources.customs_lanes.default"),
    ("disruptions: [{kind: border_closure, node: ALA_CN, from_day: 3}]\n", "disruptions[0].to_day"),
    ("disruptions: [{kind: meteor, node: ALA_CN}]\n", "disruptions[0]"),
    ("services: {CRE_CD_LODZ: {times: ['25:00']}}\n", "services.CRE_CD_LODZ.times"),
    ("colour: blue\n", "colour"),
])
def test_bad_values_name_file_and_field(tmp_path, body, field):
    p = _write(tmp_path, body)
    with pytest.raises(InvalidInput) as err:
        load_scenario(p)
    assert str(p) in err.value.detail
    assert f"field '{field}'" in err.value.detail
    assert err.value.field == field


@pytest.mark.parametrize("body, field, text", [
    ("disruptions: [{kind: border_closure, node: ALA_XX, from_day: 3, to_day: 5}]\n", "disruptions[0].node", "ALA_XX"),
    ("services: {CRE_XX: {weekdays: [1]}}\n", "services.CRE_XX", "CRE_XX"),
    ("warehouses: {LODZ: {docks: 3}}\n", "warehouses.LODZ", "not an overseas warehouse"),
])
def test_unknown_ids_are_rejected(tmp_path, net, body, field, text):
    p = _write(tmp_path, body)
    with pytest.raises(InvalidInput) as err:
        load_scenario(p, net)
    assert f"field '{field}'" in err.value.detail and text in err.value.detail


def test_flow_errors_name_the_flow(tmp_path, net):
    p = tmp_path / "flow.yaml"
    p.write_text("name: x\ndemand:\n  - {name: a, origin: MY_CITY, destination: NOWHERE, customs_mode: '9810', "
                 "lots_per_day: 1, lot: {weight_kg: 10, volume_m3: 1}}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"field 'demand\[0\]\.destination': unknown node 'NOWHERE'"):
        load_scenario(p, net)
    p.write_text("name: x\ndemand:\n  - {name: a, origin: MY_CITY, destination: LODZ, customs_mode: '9999', "
                 "lots_per_day: 1, lot: {weight_kg: 10, volume_m3: 1}}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"field 'demand\[0\]\.customs_mode'"):
        load_scenario(p, net)


def test_not_yaml_and_missing_file(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_scenario(p)
    with pytest.raises(InvalidInput, match="not found"):
        load_scenario(tmp_path / "nope.yaml")
