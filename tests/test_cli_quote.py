"""CLI: `cbec quote` table and JSON, one readable error line and a non-zero exit on bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli.app import app

runner = CliRunner()
BASE = ["quote", "--from", "MY_CITY", "--to", "LODZ", "--weight", "1200", "--volume", "6", "--ready", "2026-12-01"]


def test_table():
    res = runner.invoke(app, BASE)
    assert res.exit_code == 0, res.output
    assert "cheapest" in res.output and "fastest" in res.output


def test_json_shape():
    res = runner.invoke(app, BASE + ["--json"])
    assert res.exit_code == 0
    doc = json.loads(res.output)
    assert doc["options"] and all(o["legs"] for o in doc["options"])


@pytest.mark.parametrize(
    "change, needle",
    [
        (("--weight", "-3"), "weight_kg must be a positive number"),
        (("--to", "LDZ"), "unknown node 'LDZ'"),
        (("--ready", "2026-02-30"), "not an ISO 8601 date"),
        (("--class", "plutonium"), "unknown cargo class"),
    ],
)
def test_bad_input_one_line_nonzero(change, needle):
    args = list(BASE)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += list(change)
    res = runner.invoke(app, args)
    assert res.exit_code != 0
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], res.output


def test_network_geojson(tmp_path):
    out = tmp_path / "net.geojson"
    res = runner.invoke(app, ["network", "--geojson", "--output", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) > 100
