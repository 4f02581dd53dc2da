"""/v1/stats through the real app: a tenant's own figures unsuppressed, the office's zone-wide figures
suppressed (and refused to anybody else), the exports read back, the bulletin, the errors."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from accounts.store import create_key
from api.app import create_app
from optimizer.settings import Settings
from storage.db import open_db
from tests.support.accounts import make_tenant
from trade.generator import generate
from trade.statistics import forget_copies
from trade.store import store_batch

CUBE = "/v1/stats/cube"


@pytest.fixture(scope="module")
def world(net, tmp_path_factory):
    var = tmp_path_factory.mktemp("stats-api")
    db = open_db(f"sqlite:///{var}/s.sqlite3", migrate=True)
    tenants = []
    for seed in (21, 22):
        tenant = make_tenant(db)
        for kind, records in generate(orders=400, seed=seed).records().items():
            store_batch(db, tenant.org_id, kind, [r.model_dump(mode="json") for r in records])
        tenants.append(tenant)
    office = make_tenant(db, kind="office")
    _, analyst_key = create_key(db, office.org_id, "analyst", "analyst")
    app = create_app(network=net, settings=Settings(var_dir=var, database_url=db.url), ingest_db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tenants, {"X-API-Key": analyst_key}, office
    forget_copies()
    db.dispose()


def _cells(body) -> pd.DataFrame:
    return pd.DataFrame([{**c["members"], **c["values"], **c["change"], "status": c["status"]} for c in body["cells"]])


def test_a_tenant_gets_its_own_figures_unsuppressed(world):
    client, (a, b), analyst, _ = world
    r = client.get(CUBE, params={"dims": ["period", "customs_mode"]}, headers=a.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "own" and body["org_id"] == a.org_id
    t = _cells(body)
    assert (t["status"] == "shown").all() and (t["enterprises"] < 3).any()
    assert t["orders"].sum() == 400  # its own orders, not the other tenant's
    other = _cells(client.get(CUBE, params={"dims": "period"}, headers=b.headers).json())
    assert other["orders"].sum() == 400
    assert "orders_mom_pct" in t.columns


def test_zone_wide_figures_are_the_offices_and_suppressed(world):
    client, (a, b), analyst, office = world
    r = client.get(CUBE, params={"dims": "period", "scope": "zone"}, headers=a.headers)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    r = client.get(CUBE, params={"dims": ["period", "customs_mode", "country"]}, headers=analyst)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "zone" and body["org_id"] is None
    t = _cells(body)
    assert body["suppressed"]["primary"] > 0 and body["suppressed"]["secondary"] > 0
    withheld = t[t["status"] != "shown"]
    assert withheld["orders"].isna().all() and withheld["goods_value_cny"].isna().all()
    total = t[(t["period"] == "_total") & (t["customs_mode"] == "_total") & (t["country"] == "_total")]
    assert total["orders"].iloc[0] == 800  # both tenants
    assert any("fewer than 3 enterprises" in n for n in body["notes"])
    assert "CFETS" in body["fx"]
    # the office's admin sees the zone too; its own scope holds no records of the tenants
    own = client.get(CUBE, params={"dims": "period", "scope": "own"}, headers=office.admin_headers).json()
    assert own["cells"] == []


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_exports_read_back_as_the_cube(world, fmt):
    client, (a, b), analyst, _ = world
    params = {"dims": ["period", "flow"], "format": fmt, "measures": ["orders", "goods_value_cny"]}
    r = client.get("/v1/stats/export", params=params, headers=analyst)
    assert r.status_code == 200, r.text
    if fmt == "csv":
        assert r.text.startswith("# cbec-logistics statistics: zone-wide")
        t = pd.read_csv(io.StringIO(r.text), comment="#", dtype={"period": str})
    elif fmt == "parquet":
        pf = pq.read_table(io.BytesIO(r.content))
        assert b"fewer than 3 enterprises" in pf.schema.metadata[b"cbec.notes"]
        t = pf.to_pandas()
    else:
        t = pd.read_excel(io.BytesIO(r.content), sheet_name="cube", dtype={"period": str})
        notes = pd.read_excel(io.BytesIO(r.content), sheet_name="notes")
        assert notes["note"].str.contains("exchange rates").any()
    j = _cells(client.get(CUBE, params={k: v for k, v in params.items() if k != "format"}, headers=analyst).json())
    merged = j.merge(t, on=["period", "flow"], suffixes=("_json", "_file"))
    assert len(merged) == len(j) == len(t)
    assert (merged["orders_json"].fillna(-1) == merged["orders_file"].fillna(-1)).all()
    assert set(t["flow"]) >= {"stock_up_9810", "direct", "_total"}


def test_the_bulletin_is_html_with_charts(world):
    client, (a, b), analyst, _ = world
    r = client.get("/v1/stats/bulletin", params={"month": "2026-11"}, headers=analyst)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<svg" in r.text and "2026-11" in r.text and "9810 stock-up" in r.text and "zone-wide" in r.text
    assert "9810 overseas warehouses" in r.text
    assert client.get("/v1/stats/bulletin", params={"month": "2026-11", "scope": "zone"},
                      headers=a.headers).status_code == 403
    mine = client.get("/v1/stats/bulletin", params={"month": "2026-11"}, headers=a.headers)
    assert mine.status_code == 200 and a.org_id in mine.text


def test_bad_requests_name_the_field(world):
    client, (a, b), analyst, _ = world
    r = client.get(CUBE, params={"dims": "month"}, headers=a.headers)
    assert r.status_code == 422 and "dims" in r.text
    r = client.get(CUBE, params={"dims": "period", "filter": "mode=9610"}, headers=a.headers)
    assert r.status_code == 422 and r.json().get("field") == "filter[0]"
    r = client.get(CUBE, params={"dims": "period", "date_from": "2026-05-01", "date_to": "2026-04-01"}, headers=a.headers)
    assert r.status_code == 422 and r.json().get("field") == "date_from"
    assert client.get(CUBE, params={"dims": "period"}).status_code == 401
    assert client.get("/v1/stats/catalog", headers=a.headers).json()["min_enterprises"] == 3


def test_refresh_tells_counts_to_the_office_only(world):
    client, (a, b), analyst, _ = world
    mine = client.post("/v1/stats/refresh", headers=a.headers)
    assert mine.status_code == 200 and mine.json()["orders"] is None
    office = client.post("/v1/stats/refresh", headers=analyst)
    assert office.status_code == 200 and isinstance(office.json()["orders"], int)


def test_a_full_refresh_is_for_the_offices_admins(world):
    client, (a, b), analyst, office = world
    r = client.post("/v1/stats/refresh", params={"full": "true"}, headers=a.admin_headers)
    assert r.status_code == 403 and "pilot-zone office" in r.json()["detail"]
    assert client.post("/v1/stats/refresh", params={"full": "true"}, headers=analyst).status_code == 403
    done = client.post("/v1/stats/refresh", params={"full": "true"}, headers=office.admin_headers)
    assert done.status_code == 200, done.text
    assert done.json()["full"] is True and done.json()["orders"] == 800  # both tenants' orders copied again
    assert client.post("/v1/stats/refresh", headers=office.admin_headers).json()["full"] is False


def test_9810_stock_movements_own_and_zone(world):
    client, (a, b), analyst, _ = world
    own = client.get("/v1/stats/stock", params={"dims": ["kind"]}, headers=a.headers)
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["scope"] == "own" and {c["members"]["kind"] for c in body["cells"]} == {"inbound", "sales_out"}
    assert all(c["status"] == "shown" for c in body["cells"])
    zone = client.get("/v1/stats/stock", params={"dims": ["period", "warehouse_id"]}, headers=analyst).json()
    assert zone["scope"] == "zone" and zone["suppressed"]["primary"] > 0
    total = zone["cells"][-1]
    assert total["members"] == {"period": "_total", "warehouse_id": "_total"}
    inbound = sum(c["movements"] for c in body["cells"] if c["members"]["kind"] == "inbound")
    assert 0 < inbound < total["movements"]  # the zone holds both tenants' movements
    assert client.get("/v1/stats/stock", params={"dims": "kind", "scope": "zone"}, headers=a.headers).status_code == 403
