"""The statistics against an independent recomputation with pandas, on generated records stored through
the batch use case, on SQLite and on PostgreSQL: every cell of a month x customs mode x country cube
equal; the zone-wide view suppressed (and not recoverable), a tenant's own view not; incremental refresh."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from optimizer.network.currency import load_rates
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url
from tests.test_stats_suppression import _recoverable
from trade.columnar import ColumnarCopy, shipment_summary
from trade.cube import CubeSpec, compute_cube
from trade.generator import generate
from trade.records import CHINA_TZ
from trade.statistics import StatsQuery, refresh_copy, statistics
from trade.store import store_batch

SEEDS = (11, 12)


def _store(db, org_id: str, sample) -> None:
    for kind, records in sample.records().items():
        result = store_batch(db, org_id, kind, [r.model_dump(mode="json") for r in records])
        assert result.counts["rejected"] == 0


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    url = param_db_url(request, tmp_path_factory.mktemp('stats'))
    db = open_db(url, migrate=True)
    tenants, samples = [], []
    for seed in SEEDS:
        tenant = make_tenant(db)
        sample = generate(orders=700, seed=seed)
        _store(db, tenant.org_id, sample)
        tenants.append(tenant)
        samples.append(sample)
    copy = ColumnarCopy(None)
    report = refresh_copy(copy, db, full=True)
    assert report.orders == 2 * 700
    yield db, copy, tenants, samples
    copy.close()
    db.dispose()


def expected_orders(samples, tenants) -> pd.DataFrame:
    """One row per order, from the records as generated (not from the database): the independent side."""
    rates = load_rates()
    first, last = rates.coverage()
    rows = []
    for sample, tenant in zip(samples, tenants):
        bills: dict[str, list] = {}
        for w in sample.waybills:
            bills.setdefault(w.order_no, []).append(w)
        for o in sample.orders:
            day = o.ordered_at.astimezone(CHINA_TZ).date()
            on = min(max(day, first), last)  # the documented policy: the last fixing is carried forward
            try:
                to_cny = rates.rate(o.currency, "CNY", on).rate
            except Exception:  # a currency the table lacks: left out of the values
                to_cny = np.nan
            ws = bills.get(o.order_no, [])
            rows.append({"org": tenant.org_id, "month": day.strftime("%Y-%m"), "customs_mode": o.customs_mode,
                         "country": o.destination_country, "enterprise": o.enterprise_code,
                         "value_cny": float(sum(line.value for line in o.lines)) * to_cny,
                         "parcels": sum(w.parcels for w in ws), "gross": sum(float(w.gross_weight_kg) for w in ws)})
    return pd.DataFrame(rows)


def pandas_cube(orders: pd.DataFrame) -> pd.DataFrame:
    return orders.groupby(["month", "customs_mode", "country"]).agg(
        orders=("enterprise", "size"), parcels=("parcels", "sum"), value_cny=("value_cny", "sum"),
        gross=("gross", "sum"), enterprises=("enterprise", "nunique")).reset_index()


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    ours = ours.rename(columns={"period": "month", "goods_value_cny": "value_cny", "gross_weight_kg": "gross"})
    merged = theirs.merge(ours, on=["month", "customs_mode", "country"], how="outer", suffixes=("_pd", "_db"),
                          indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert len(merged) > 300  # a real cube: hundreds of cells
    for c in ("orders", "parcels", "enterprises"):
        assert (merged[f"{c}_pd"].astype(int) == merged[f"{c}_db"].astype(int)).all(), c
    for c in ("value_cny", "gross"):
        assert np.allclose(merged[f"{c}_pd"].fillna(0), merged[f"{c}_db"].fillna(0), atol=0.02, rtol=1e-9), c


def test_every_cell_of_the_zone_cube_equals_pandas(world):
    db, copy, tenants, samples = world
    spec = CubeSpec(("period", "customs_mode", "country"), "month",
                    ("orders", "parcels", "goods_value_cny", "gross_weight_kg", "enterprises"))
    _compare(compute_cube(copy, spec), pandas_cube(expected_orders(samples, tenants)))


def test_a_tenant_sees_its_own_cube_unsuppressed_and_equal_to_pandas(world):
    db, copy, tenants, samples = world
    q = StatsQuery(dims=("period", "customs_mode", "country"), scope="own", change=False)
    result = statistics(copy, q, org_id=tenants[0].org_id)
    assert (result.table["status"] == "shown").all()
    assert (result.table["enterprises"] < 3).any()  # small cells are there, shown
    theirs = pandas_cube(expected_orders(samples[:1], tenants[:1]))
    _compare(result.table, theirs)


def test_the_zone_view_suppresses_and_nothing_is_recoverable(world):
    db, copy, tenants, samples = world
    dims = ("period", "customs_mode", "region")
    result = statistics(copy, StatsQuery(dims=dims, scope="zone", change=False), org_id=None)
    t = result.table
    assert result.suppressed["primary"] > 0 and result.suppressed["secondary"] > 0
    assert (t.loc[t["status"] == "primary", "goods_value_cny"].isna()).all()
    # the attacker knows the shown cells and every published margin, and still recovers no withheld cell
    cube = t.assign(enterprises=compute_cube(copy, CubeSpec(dims, "month", ("enterprises",), margins=True))
                    .set_index(list(dims)).loc[list(map(tuple, t[list(dims)].to_numpy()))]["enterprises"].to_numpy())
    assert (cube.loc[cube["status"] == "primary", "enterprises"] < 3).all()
    assert (cube.loc[cube["enterprises"] < 3, "status"] == "primary").all()
    assert _recoverable(cube, list(dims), cube["status"] != "shown") == []
    assert any("fewer than 3 enterprises" in n for n in result.notes)


def test_change_year_on_year_and_month_on_month(world):
    db, copy, tenants, samples = world
    q = StatsQuery(dims=("period",), scope="own", date_from=date(2026, 2, 1), date_to=date(2026, 4, 30))
    t = statistics(copy, q, org_id=tenants[0].org_id).table.set_index("period")
    full = statistics(copy, StatsQuery(dims=("period",), scope="own", change=False), org_id=tenants[0].org_id).table
    by_month = full.set_index("period")["orders"]
    assert t.loc["2026-03", "orders_mom_pct"] == pytest.approx(
        round((by_month["2026-03"] - by_month["2026-02"]) / by_month["2026-02"] * 100, 2))
    assert np.isnan(t.loc["2026-03", "orders_yoy_pct"])  # the generated year has no 2025 to compare with


def test_incremental_refresh_follows_a_changed_order_and_a_tracked_shipment(world, net):
    db, copy, tenants, samples = world
    from iot_ingest.milestones import create_shipment

    tenant, sample = tenants[1], samples[1]
    copy.overlap_ms = 0  # writers here commit at once: no overlap needed to see that only changes are read
    refresh_copy(copy, db)
    order = next(o for o in sample.orders if o.customs_mode == "9710")
    bill = next(w for w in sample.waybills if w.order_no == order.order_no)
    shipment = create_shipment(db, net, f"S-STATS-{tenant.org_id[:8]}", "MY_CITY", "LODZ", 800, 3, "2026-12-01",
                               org=tenant.org_id)
    # the order is resent with a tenfold first line (a new version), the waybill now names the shipment
    changed = order.model_copy(update={"lines": [order.lines[0].model_copy(update={"value": order.lines[0].value * 10}),
                                                 *order.lines[1:]]})
    store_batch(db, tenant.org_id, "orders", [changed.model_dump(mode="json")])
    store_batch(db, tenant.org_id, "waybills", [bill.model_copy(update={"shipment_id": shipment.shipment_id})
                                                .model_dump(mode="json")])
    # the shipment arrives one day after its first planned departure
    ms = json.loads(shipment.row()["milestones_json"])
    ms[-1]["actual_arrive"] = ms[0]["planned_depart"] + 86_400_000
    with db.engine.begin() as c:
        c.execute(text("UPDATE iot_shipments SET milestones_json = :m, updated_ms = updated_ms + 1 "
                       "WHERE shipment_id = :s"), {"m": json.dumps(ms), "s": shipment.shipment_id})
    report = refresh_copy(copy, db)
    assert not report.full and 1 <= report.orders < 50  # only what changed was copied again
    with copy.lock:
        value = copy.con.execute("SELECT sum(value) FROM facts WHERE org_id = ? AND order_no = ?",
                                 [tenant.org_id, order.order_no]).fetchone()[0]
    assert value == pytest.approx(float(changed.goods_value))
    q = StatsQuery(dims=("corridor",), scope="own", filters={"customs_mode": ("9710",)}, change=False, margins=False)
    t = statistics(copy, q, org_id=tenant.org_id).table.set_index("corridor")
    tracked = t.drop(index="untracked")
    assert tracked["shipments"].sum() == 1 and tracked["orders"].sum() == 1
    assert tracked["lead_time_p50_days"].iloc[0] == pytest.approx(1.0, abs=0.01)
    assert tracked["on_time_rate"].iloc[0] == 1.0
    assert tracked["co2e_kg"].iloc[0] == pytest.approx(shipment.option["co2e_kg"], rel=1e-6)  # one order: all of it


def test_the_monthly_rollup_answers_as_the_lines_do_after_incremental_refreshes(world):
    """Runs after the incremental refresh above: the rollup's slices were recomputed, not rebuilt."""
    db, copy, tenants, samples = world
    for dims in (("period", "customs_mode", "country", "hs_chapter"), ("period", "enterprise", "transport_mode")):
        for period in ("month", "quarter"):
            spec = CubeSpec(dims, period, ("orders", "parcels", "goods_value_cny", "gross_weight_kg", "enterprises"),
                            margins=True, filters={"flow": ("direct", "stock_up_9810")})
            fast, slow = compute_cube(copy, spec), compute_cube(copy, spec, rollup=False)
            pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-9, atol=0.05)  # sums rounded to 0.01
    assert not compute_cube(copy, CubeSpec(("period",), "day")).empty  # days read the lines
    # the tracked lines kept apart are exactly the principal tracked lines, figures included
    cols = "org_id, order_no, line_no, month, customs_mode_c, corridor_c, tracked_shipment_c, lead_days, on_time, co2e_kg"
    with copy.lock:
        kept = copy.con.execute(f"SELECT {cols} FROM tracked_lines ORDER BY ALL").fetchall()
        lines = copy.con.execute(f"SELECT {cols} FROM facts WHERE principal AND tracked_shipment_c IS NOT NULL "
                                 "ORDER BY ALL").fetchall()
    assert kept and kept == lines


def test_shipment_summary_takes_the_longest_leg_and_the_quoted_p90():
    option = {"co2e_kg": 12.5, "arrive_p90": "2026-12-20T13:00+01:00",
              "legs": [{"from": "MY_CITY", "to": "CD_RAILPORT", "mode": "road", "distance_km": 150},
                       {"from": "CD_RAILPORT", "to": "LODZ", "mode": "rail", "distance_km": 9826}]}
    depart = 1_764_000_000_000
    late = int(pd.Timestamp("2026-12-21T12:00+01:00").timestamp() * 1000)
    s = shipment_summary(option, [{"planned_depart": depart, "actual_depart": None},
                                  {"actual_arrive": late}])
    assert s["corridor"] == "CD_RAILPORT-LODZ" and s["mode"] == "rail" and s["on_time"] is False
    assert s["lead_days"] == pytest.approx((late - depart) / 86_400_000, abs=1e-3)
    assert shipment_summary(option, [{"planned_depart": depart}, {"actual_arrive": None}])["lead_days"] is None


def test_a_bad_query_names_its_field(world):
    from optimizer.errors import InvalidInput

    db, copy, tenants, samples = world
    with pytest.raises(InvalidInput) as e:
        statistics(copy, StatsQuery(dims=("month",)), org_id=tenants[0].org_id)
    assert e.value.field == "dims"
    with pytest.raises(InvalidInput) as e:
        statistics(copy, StatsQuery(measures=("profit",)), org_id=tenants[0].org_id)
    assert e.value.field == "measures"


def test_9810_stock_movements_equal_pandas_and_the_zone_is_suppressed(world):
    from trade.stock_stats import stock_statistics

    db, copy, tenants, samples = world
    rates = load_rates()
    first, last = rates.coverage()
    rows = []
    for m in samples[0].stock_movements:
        day = m.moved_at.astimezone(CHINA_TZ).date()
        try:
            to_cny = rates.rate(m.currency, "CNY", min(max(day, first), last)).rate
        except Exception:
            to_cny = np.nan
        rows.append({"month": day.strftime("%Y-%m"), "kind": m.kind, "warehouse_country": m.warehouse_country,
                     "value_cny": float(m.value) * to_cny, "enterprise": m.enterprise_code})
    theirs = pd.DataFrame(rows).groupby(["month", "kind", "warehouse_country"]).agg(
        movements=("enterprise", "size"), value_cny=("value_cny", "sum"), enterprises=("enterprise", "nunique")
    ).reset_index()
    own = stock_statistics(copy, ("period", "kind", "warehouse_country"), org_id=tenants[0].org_id)
    ours = own.table.rename(columns={"period": "month"})
    merged = theirs.merge(ours, on=["month", "kind", "warehouse_country"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) > 50
    assert (merged["movements_x"] == merged["movements_y"]).all()
    assert np.allclose(merged["value_cny_x"], merged["value_cny_y"].fillna(0), atol=0.02)
    assert (own.table["status"] == "shown").all()
    zone = stock_statistics(copy, ("period", "kind", "warehouse_country"), zone=True)
    t = zone.table
    assert zone.suppressed["primary"] > 0
    assert (t.loc[t["status"] != "shown", "value_cny"].isna()).all()
    assert t.iloc[-1][["period", "kind", "warehouse_country"]].tolist() == ["_total"] * 3


_GENERATED_FACTS = """
WITH l AS (SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY value_usd DESC, line_no) = 1 AS principal
           FROM gen),
t AS (SELECT o.order_id, s.* FROM tracked_orders o JOIN tracked_ships s USING (shipment)),
w AS (SELECT t.shipment, sum(l.net_weight_kg) AS kg FROM l JOIN t USING (order_id) WHERE l.principal GROUP BY 1)
SELECT 'org' AS org_id, CAST(l.order_id AS VARCHAR) AS order_no, line_no, enterprise_code AS enterprise, city,
       CAST(epoch_ms(ordered_ms + 8 * 3600 * 1000) AS DATE) AS day, customs_mode, 'direct' AS flow,
       destination_country AS country, 'Other' AS region, hs_chapter, 'postal' AS channel, 'parcel' AS consignment,
       'air' AS waybill_mode, t.shipment_id, principal, CAST(principal AS INTEGER) AS orders,
       CAST(principal AS INTEGER) AS parcels, CASE WHEN principal THEN net_weight_kg ELSE 0 END AS gross_kg,
       value, currency, value_usd * 7 AS value_cny, value_usd, t.shipment_id AS tracked_shipment,
       coalesce(t.corridor, 'untracked') AS corridor, coalesce(t.mode, 'air') AS transport_mode,
       CASE WHEN principal THEN t.lead_days END AS lead_days, CASE WHEN principal THEN t.on_time END AS on_time,
       CASE WHEN principal THEN t.co2e_kg * net_weight_kg / w.kg END AS co2e_kg
FROM l LEFT JOIN t ON t.order_id = l.order_id LEFT JOIN w ON w.shipment = t.shipment
"""


def test_the_shipment_measures_of_generated_lines_equal_pandas():
    """Distinct shipments, lead time p50/p90 (linear interpolation), on-time rate and CO2e of every cell, on
    generated lines with tracked shipments (``trade.generator.tracked_shipments``), against pandas computing them
    from the generator's own frames (the principal line and the CO2e allocation redone here)."""
    from trade.columnar import insert_facts, rebuild_tracked
    from trade.cube import SHIPMENT_MEASURES
    from trade.generator import generate_lines, tracked_shipments

    gen = generate_lines(30_000, seed=5)
    tracked = tracked_shipments(gen, seed=5)
    assert 0.2 < len(tracked.orders) / gen["order_id"].nunique() < 0.6
    copy = ColumnarCopy(None)
    try:
        for name, table in (("gen", gen), ("tracked_orders", tracked.orders), ("tracked_ships", tracked.shipments)):
            copy.con.register(name, table)
        insert_facts(copy.con, _GENERATED_FACTS)
        rebuild_tracked(copy.con)  # as a refresh does: the shipment measures read the tracked lines
        dims = ("period", "customs_mode", "country", "hs_chapter")
        ours = compute_cube(copy, CubeSpec(dims, "month", ("orders", *SHIPMENT_MEASURES)), rollup=False)
    finally:
        copy.close()
    lines = gen.assign(month=pd.to_datetime(gen["ordered_ms"] + 8 * 3_600_000, unit="ms").dt.strftime("%Y-%m"))
    principal = (lines.sort_values(["order_id", "value_usd", "line_no"], ascending=[True, False, True])
                 .drop_duplicates("order_id"))
    p = (principal.merge(tracked.orders, on="order_id").merge(tracked.shipments, on="shipment")
         .astype({"customs_mode": str, "destination_country": str, "hs_chapter": str}))
    p["co2e"] = p["co2e_kg"] * p["net_weight_kg"] / p.groupby("shipment")["net_weight_kg"].transform("sum")
    p["on_time"] = p["on_time"].astype("Float64").astype(float)
    g = p.groupby(["month", "customs_mode", "destination_country", "hs_chapter"])
    theirs = pd.DataFrame({"shipments": g["shipment"].nunique(), "p50": g["lead_days"].quantile(0.5),
                           "p90": g["lead_days"].quantile(0.9), "on_time": g["on_time"].mean(),
                           "co2e": g["co2e"].sum(min_count=1)}).reset_index()
    merged = ours.merge(theirs, left_on=list(dims), right_on=["month", "customs_mode", "destination_country",
                                                              "hs_chapter"], how="left")
    tracked_cells = merged["shipments_y"].notna()
    assert tracked_cells.sum() > 300 and (merged.loc[~tracked_cells, "shipments_x"] == 0).all()
    m = merged[tracked_cells]
    assert (m["shipments_x"] == m["shipments_y"]).all()
    for ours_c, theirs_c, atol in (("lead_time_p50_days", "p50", 0.006), ("lead_time_p90_days", "p90", 0.006),
                                   ("on_time_rate", "on_time", 6e-5), ("co2e_kg", "co2e", 0.006)):
        assert np.allclose(m[ours_c].astype(float), m[theirs_c], atol=atol, equal_nan=True), ours_c
