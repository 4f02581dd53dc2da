"""The bundled network loads, validates, carries its sources, and bad files are rejected precisely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from optimizer.settings import BUNDLED_DATA_DIR
from optimizer.errors import DataError
from optimizer.network.model import Mode, NodeKind
from optimizer.network import load_network_from

REQUIRED_NODES = """MY_CITY MY_HTZ MY_ETDZ MY_CBZ MY_RAILPORT CTU TFU CKG KMG KWE NNG XIY CD_RAILPORT CQ_RAILPORT
XA_PORT CNQZH ALA_CN KHG_CN ERL_CN MZL_CN BREST MALA LODZ DUISBURG HAMBURG NUREMBERG TILBURG ROTTERDAM
BUDAPEST MOSCOW FRA LGG DXB AEJEA JAKARTA SINGAPORE BANGKOK KARACHI SYDNEY ALMATY TASHKENT""".split()


def test_required_nodes_present_with_kinds(net):
    for node_id in REQUIRED_NODES:
        assert node_id in net.nodes, node_id
    assert net.node("MY_RAILPORT").planned
    assert net.node("MY_CBZ").kind is NodeKind.BONDED_ZONE
    assert net.node("ALA_CN").kind is NodeKind.BORDER_CROSSING
    assert len(net.warehouses()) >= 8
    kinds = {n.kind for n in net.nodes.values()}
    assert kinds == set(NodeKind)


def test_every_figure_has_source_and_as_of(net):
    for n in net.nodes.values():
        assert n.provenance.source and len(n.provenance.as_of) == 10, n.id
    for s in net.services.values():
        assert s.provenance.source and s.provenance.as_of, s.id
        assert s.tariff.provenance.source and s.tariff.provenance.as_of, s.tariff.id
    for f in net.emission_factors.values():
        assert f.provenance.source and f.scope == "TTW"


def test_services_cover_all_modes_and_corridors(net):
    modes = {s.mode for s in net.services.values()}
    assert modes == set(Mode)
    rail = [s for s in net.services.values() if s.mode is Mode.RAIL and s.international]
    borders = {st.node for s in rail for st in s.stops if st.gauge_change}
    assert {"ALA_CN", "KHG_CN", "ERL_CN", "MZL_CN", "MALA"} <= borders
    assert any(s.origin == "CD_RAILPORT" and s.destination == "CNQZH" for s in net.services.values())
    assert all(s.planned for s in net.services.values() if "MY_RAILPORT" in (s.origin, s.destination))
    # road is continuous, everything else scheduled with a cut-off
    for s in net.services.values():
        assert s.schedule.continuous == (s.mode is Mode.ROAD), s.id


def test_distances_are_route_lengths_not_shorter_than_geodesic(net):
    from optimizer.network.geo import geodesic_km

    for s in net.services.values():
        a, b = net.node(s.origin), net.node(s.destination)
        assert s.distance_km >= geodesic_km(a.lat, a.lon, b.lat, b.lon) * 0.999 - 1e-6, s.id
    assert net.services["CRE_CD_LODZ"].distance_km == 9826


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(BUNDLED_DATA_DIR, d)
    return d


def test_bad_node_row_names_file_row_and_field(tmp_path):
    d = _copy(tmp_path)
    lines = (d / "nodes.csv").read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6].replace("31.4281", "131.4281")  # MIG latitude out of range
    (d / "nodes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_network_from(d)
    msg = str(exc.value)
    assert "nodes.csv" in msg and "row 7" in msg and "'lat'" in msg


def test_bad_service_field_is_named(tmp_path):
    d = _copy(tmp_path)
    text = (d / "services.yaml").read_text(encoding="utf-8")
    text = text.replace("schedule: {weekdays: [0, 2, 4, 5], times: [\"20:00\"]", "schedule: {weekdays: [0, 9], times: [\"20:00\"]", 1)
    (d / "services.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_network_from(d)
    msg = str(exc.value)
    assert "services.yaml" in msg and "CRE_CD_LODZ" in msg and "schedule.weekdays" in msg


def test_unknown_node_reference_is_named(tmp_path):
    d = _copy(tmp_path)
    text = (d / "services.yaml").read_text(encoding="utf-8").replace("to: LODZ\n", "to: LODZZ\n", 1)
    (d / "services.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=r"unknown node 'LODZZ'.*did you mean LODZ"):
        load_network_from(d)


def test_missing_tariff_and_duplicate_node(tmp_path):
    d = _copy(tmp_path)
    text = (d / "services.yaml").read_text(encoding="utf-8").replace("tariff: rail_cre_pl", "tariff: rail_nowhere", 1)
    (d / "services.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="unknown tariff 'rail_nowhere'"):
        load_network_from(d)
    d2 = _copy(tmp_path / "two")
    lines = (d2 / "nodes.csv").read_text(encoding="utf-8").splitlines()
    lines.append(lines[1])
    (d2 / "nodes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row \d+, field 'id': duplicate node id 'MY_CITY'"):
        load_network_from(d2)
