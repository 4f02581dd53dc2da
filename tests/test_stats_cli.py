"""cbec stats cube | export | bulletin | refresh on a database: zone-wide by default (suppressed), --org
for a tenant's own figures; bad input is one line and exit code 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.app import app
from storage.db import open_db
from tests.support.accounts import make_tenant
from trade.generator import generate
from trade.statistics import forget_copies
from trade.store import store_batch

runner = CliRunner()


@pytest.fixture(scope="module")
def env(tmp_path_factory, monkeypatch_module):
    var = tmp_path_factory.mktemp("stats-cli")
    url = f"sqlite:///{var}/c.sqlite3"
    db = open_db(url, migrate=True)
    tenant = make_tenant(db, name="Exporter CLI")
    for kind, records in generate(orders=300, seed=31).records().items():
        store_batch(db, tenant.org_id, kind, [r.model_dump(mode="json") for r in records])
    other = make_tenant(db)
    for kind, records in generate(orders=300, seed=32).records().items():
        store_batch(db, other.org_id, kind, [r.model_dump(mode="json") for r in records])
    monkeypatch_module.setenv("CBEC_VAR_DIR", str(var))
    from optimizer.settings import get_settings

    get_settings.cache_clear()
    yield url, tenant, var
    forget_copies()
    get_settings.cache_clear()
    db.dispose()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_cube_zone_wide_and_own(env):
    url, tenant, _ = env
    r = runner.invoke(app, ["stats", "cube", "--by", "period,customs_mode", "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["scope"] == "zone" and body["suppressed"]["primary"] > 0
    total = next(c for c in body["cells"] if c["period"] == "_total" and c["customs_mode"] == "_total")
    assert total["orders"] == 600
    r = runner.invoke(app, ["stats", "cube", "--by", "period", "--org", "Exporter CLI", "--db", url, "--json"])
    own = json.loads(r.output)
    assert own["scope"] == "own" and sum(c["orders"] for c in own["cells"]) == 300
    assert all(c["status"] == "shown" for c in own["cells"])
    r = runner.invoke(app, ["stats", "cube", "--by", "period,flow", "--measures", "orders", "--no-change", "--db", url])
    assert r.exit_code == 0 and "stock_up_9810" in r.output and "suppressed" in r.output


def test_export_and_bulletin_files(env, tmp_path):
    url, tenant, _ = env
    out = tmp_path / "cube.parquet"
    r = runner.invoke(app, ["stats", "export", "--by", "region,hs_chapter", "--db", url, "-o", str(out)])
    assert r.exit_code == 0, r.output
    t = pd.read_parquet(out)
    assert set(t["status"]) >= {"shown", "primary"}
    page = tmp_path / "b.html"
    r = runner.invoke(app, ["stats", "bulletin", "--month", "2026-06", "--db", url, "-o", str(page)])
    assert r.exit_code == 0, r.output
    assert "<svg" in page.read_text(encoding="utf-8")


def test_stock_movements(env):
    url, tenant, _ = env
    r = runner.invoke(app, ["stats", "stock", "--by", "kind", "--org", "Exporter CLI", "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    cells = json.loads(r.output)["cells"]
    assert {c["kind"] for c in cells} == {"inbound", "sales_out"} and all(c["status"] == "shown" for c in cells)
    r = runner.invoke(app, ["stats", "stock", "--by", "shelf", "--db", url])
    assert r.exit_code == 2 and "unknown stock dimension 'shelf'" in r.output


def test_bad_input_is_one_line_and_exit_2(env, tmp_path):
    url, tenant, _ = env
    r = runner.invoke(app, ["stats", "cube", "--by", "month", "--db", url])
    assert r.exit_code == 2 and "unknown dimension 'month'" in r.output
    r = runner.invoke(app, ["stats", "export", "--by", "period", "--db", url, "-o", str(tmp_path / "x.pdf")])
    assert r.exit_code == 2 and "format must be one of" in r.output
    r = runner.invoke(app, ["stats", "bulletin", "--month", "2026-13", "--db", url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["stats", "refresh", "--db", url])
    assert r.exit_code == 0 and "copied" in r.output
