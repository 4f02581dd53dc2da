"""The CLI's remote mode for `cbec stats`, `cbec offers`, `cbec bookings`, `cbec settlements` and `cbec rates`:
with CBEC_API_URL and CBEC_API_KEY each command calls the deployed service's route (the one the web app uses)
and prints, or writes, what the same command prints on the database for the key's organisation; a refused
request is one line naming the option, exit code 2.

The service is the app on a real uvicorn (a thread, a free port) over its own SQLite database: an exporter and
another tenant with trade records, a warehouse operator with an offer at WH_LODZ. The local runs read the same
database (--db, --org), so both sides answer on the same data.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from optimizer.settings import BUNDLED_DATA_DIR, Settings
from storage.db import open_db
from tests.sharing_world import day, publish
from tests.support.accounts import make_tenant
from trade.generator import generate
from trade.records import Order
from trade.statistics import forget_copies
from trade.store import store_batch

SAMPLE_SHEET = BUNDLED_DATA_DIR / "samples" / "rate_sheet_example.csv"
SHEET_HEADER = "service,from,to,mode,equipment,min_kg,rate,basis,min_charge,surcharges,currency,valid_from,valid_to\n"
BIG = ["quote", "--from", "MY_CITY", "--to", "LODZ", "--weight", "12000", "--volume", "40", "--ready", "2026-12-01",
       "--json"]
ROWS = ("id,origin,destination,weight_kg,volume_m3,ready_date,due_date\n"
        f"P1,MY_HTZ,WH_LODZ,1800,9,{day(21)},{day(60)}\n"
        f"P2,MY_ETDZ,WH_LODZ,900,5,{day(22)},{day(60)}\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def world(net, tmp_path_factory):
    """(url, database URL, database, exporter, other tenant, operator, offer id) of the app served by uvicorn."""
    import uvicorn

    from optimizer.settings import get_settings

    var = tmp_path_factory.mktemp("remote-more")
    url = f"sqlite:///{var}/cbec.sqlite3"
    db = open_db(url, migrate=True)
    ex, other = make_tenant(db, "Exporter R"), make_tenant(db, "Other R")
    op = make_tenant(db, "Operator R", kind="warehouse_operator")
    for tenant, seed in ((ex, 31), (other, 32)):
        for kind, records in generate(orders=300, seed=seed).records().items():
            store_batch(db, tenant.org_id, kind, [r.model_dump(mode="json") for r in records])
    offer = publish(db, net, op)
    mp = pytest.MonkeyPatch()
    mp.setenv("CBEC_VAR_DIR", str(var))  # the local runs' columnar copy: the service's
    get_settings.cache_clear()
    app = create_app(network=net, settings=Settings(var_dir=var, database_url=url, job_workers=1), ingest_db=db)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", url, db, ex, other, op, offer.offer_id
    srv.should_exit = True
    thread.join(15)
    forget_copies()
    mp.undo()
    get_settings.cache_clear()
    db.dispose()


def run(args: list[str], env: dict[str, str] | None = None):
    """`cbec ARGS` in this process; CBEC_API_URL/KEY only as ``env`` gives them."""
    base = {"CBEC_API_URL": None, "CBEC_API_KEY": None, "COLUMNS": "200"}
    return CliRunner().invoke(cli, args, env={**base, **(env or {})})


def remote(world, tenant, *, admin: bool = False) -> dict[str, str]:
    return {"CBEC_API_URL": world[0], "CBEC_API_KEY": tenant.admin_key if admin else tenant.member_key}


def local(world, tenant) -> list[str]:
    return ["--db", world[1], "--org", tenant.org_id]


def ok(res) -> str:
    assert res.exit_code == 0, (res.exit_code, res.output)
    return res.stdout


def one_line_error(res) -> str:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    return lines[0]


def without(doc: dict, *keys: str) -> dict:
    return {k: v for k, v in doc.items() if k not in keys}


def _same_svg(html: str) -> str:
    """The page with each chart as its count of bars and lines (two renderings of one chart differ in their time
    and random element ids), the text and tables whole."""
    return re.sub(r"<svg.*?</svg>", lambda m: f"<svg {m.group(0).count('<path')} paths>", html, flags=re.S)


# --- stats ---------------------------------------------------------------------------------------------------
def test_stats_cube_and_stock_remote_are_the_local_figures_of_the_keys_organisation(world):
    ex = world[3]
    for args in (["stats", "cube", "--by", "period,customs_mode"],
                 ["stats", "cube", "--by", "region", "--measures", "orders,goods_value_usd", "--no-change"],
                 ["stats", "stock", "--by", "kind"]):
        mine, theirs = run(args + ["--json"] + local(world, ex)), run(args + ["--json"], remote(world, ex))
        assert json.loads(ok(theirs)) == json.loads(ok(mine)), args
        assert ok(run(args, remote(world, ex))) == ok(run(args + local(world, ex))), args  # the same table
    cube = json.loads(ok(run(["stats", "cube", "--by", "period", "--json"], remote(world, ex))))
    assert cube["scope"] == "own" and cube["org_id"] == ex.org_id and sum(c["orders"] for c in cube["cells"]) == 300


def test_stats_export_bulletin_and_refresh_remote_write_the_local_files(world, tmp_path):
    ex = world[3]
    for fmt in ("csv", "xlsx", "parquet"):
        here, there = tmp_path / f"local.{fmt}", tmp_path / f"remote.{fmt}"
        args = ["stats", "export", "--by", "region,hs_chapter"]
        said_here = ok(run(args + ["-o", str(here)] + local(world, ex)))
        said_there = ok(run(args + ["-o", str(there)], remote(world, ex)))
        assert said_there.replace(str(there), "F") == said_here.replace(str(here), "F"), fmt
        if fmt == "csv":
            assert there.read_bytes() == here.read_bytes()
        elif fmt == "parquet":
            pd.testing.assert_frame_equal(pd.read_parquet(there), pd.read_parquet(here))
        else:
            pd.testing.assert_frame_equal(pd.read_excel(there, sheet_name=None)["cube"],
                                          pd.read_excel(here, sheet_name=None)["cube"])
    here, there = tmp_path / "b-local.html", tmp_path / "b-remote.html"
    ok(run(["stats", "bulletin", "--month", "2026-06", "-o", str(here)] + local(world, ex)))
    said = ok(run(["stats", "bulletin", "--month", "2026-06", "-o", str(there)], remote(world, ex)))
    undated = [_same_svg(f.read_text(encoding="utf-8")) for f in (there, here)]
    assert said.startswith(f"wrote {there}") and undated[0] == undated[1]
    assert "<svg" in there.read_text(encoding="utf-8")
    done = json.loads(ok(run(["stats", "refresh", "--json"], remote(world, ex))))
    assert done["full"] is False and done["orders"] is None  # zone-wide counts are the office's to know
    assert ok(run(["stats", "refresh"], remote(world, ex))).startswith("refreshed the statistics' copy in ")


def test_stats_remote_errors_are_one_line_naming_the_option(world, tmp_path):
    ex = world[3]
    env = remote(world, ex)
    line = one_line_error(run(["stats", "cube", "--by", "month"], env))
    assert line.startswith("error: --by: query.dims.0:") and "'period'" in line  # the field path, the choices
    line = one_line_error(run(["stats", "cube", "--from", "2026-02-30"], env))
    assert line == one_line_error(run(["stats", "cube", "--from", "2026-02-30"] + local(world, ex)))  # checked here
    line = one_line_error(run(["stats", "cube", "--filter", "planet:mars"], env))
    assert line.startswith("error: --filter: filter 1 ('planet:mars') must be dimension:member")
    assert "--org" in one_line_error(run(["stats", "cube", "--org", ex.name], env))
    line = one_line_error(run(["stats", "refresh", "--full"], env))
    assert "full" in line and "pilot-zone office" in line  # the service's refusal: zone-wide work
    line = one_line_error(run(["stats", "bulletin", "--month", "2026-13", "-o", str(tmp_path / "x.html")], env))
    assert "--month must be YYYY-MM" in line and not (tmp_path / "x.html").exists()
    line = one_line_error(run(["stats", "stock", "--by", "shelf"], env))
    assert line.startswith("error: --by: query.dims.0:") and "'warehouse_id'" in line
    line = one_line_error(run(["stats", "cube"], {"CBEC_API_URL": world[0]}))  # no key
    assert "CBEC_API_KEY" in line


# --- offers --------------------------------------------------------------------------------------------------
OFFER = ["--warehouse", "wh_lodz", "--start", str(day(30)), "--end", str(day(100)), "--storage", "120", "--inbound",
         "25", "--price-storage", "0.6", "--price-inbound", "3.5", "--class", "general", "--notice-days", "10"]


def test_offers_remote_publish_list_show_withdraw_as_the_local_commands(world):
    _, _, _, ex, other, op, oid = world
    volatile = ("id", "created_ms", "updated_ms")
    here = json.loads(ok(run(["offers", "create", *OFFER, "--json"] + local(world, op))))
    there = json.loads(ok(run(["offers", "create", *OFFER, "--json"], remote(world, op))))
    assert without(there, *volatile) == without(here, *volatile) and there["operator"] == op.org_id
    said = ok(run(["offers", "create", *OFFER], remote(world, op)))
    assert said.startswith("offer off") and "WH_LODZ" in said and "everyone may book" in said
    for args in (["offers", "list", "--mine"], ["offers", "list", "--warehouse", "wh_lodz"],
                 ["offers", "show", oid, "--start", str(day(30)), "--end", str(day(33))]):
        assert json.loads(ok(run(args + ["--json"], remote(world, ex)))) == json.loads(
            ok(run(args + ["--json", "--db", world[1], "--org", ex.org_id]))), args
        assert ok(run(args, remote(world, ex))) == ok(run(args + ["--db", world[1], "--org", ex.org_id])), args
    # withdraw: another organisation's offer is as an unknown one; the operator's own is closed
    line = one_line_error(run(["offers", "withdraw", there["id"]], remote(world, ex)))
    assert there["id"] in line
    assert ok(run(["offers", "withdraw", there["id"]], remote(world, op))) == f"offer {there['id']} withdrawn\n"
    assert ok(run(["offers", "withdraw", here["id"]] + local(world, op))) == f"offer {here['id']} withdrawn\n"
    line = one_line_error(run(["offers", "show", "off_nope"], remote(world, ex)))
    assert "off_nope" in line


def test_offers_remote_refusals_name_the_option(world):
    _, _, _, ex, _, op, _ = world
    line = one_line_error(run(["offers", "create", *OFFER, "--notice-days", "999"], remote(world, op)))
    assert line.startswith("error: --notice-days:") and "terms.notice_days" in line
    line = one_line_error(run(["offers", "create", *OFFER[:2], "--start", "soon", *OFFER[4:]], remote(world, op)))
    assert line == "error: --start: expected a day YYYY-MM-DD (got 'soon')"
    line = one_line_error(run(["offers", "create", *OFFER], remote(world, ex)))  # an exporter: refused
    assert line == one_line_error(run(["offers", "create", *OFFER] + local(world, ex)))
    assert "--org does not apply in remote mode" in one_line_error(
        run(["offers", "create", *OFFER, "--org", op.name], remote(world, op)))


def test_offers_partner_remote_takes_an_admin_key(world):
    _, _, _, ex, other, op, _ = world
    line = one_line_error(run(["offers", "partner", ex.org_id], remote(world, op)))  # a member key
    assert "admin" in line.lower()
    named = {t.org_id: f"{t.name} ({t.org_id})" for t in (ex, other)}  # both modes name each partner
    assert ok(run(["offers", "partner", ex.org_id], remote(world, op, admin=True))) == f"partners: {named[ex.org_id]}\n"
    assert ok(run(["offers", "partner", other.org_id] + local(world, op))) == \
        f"partners: {', '.join(named[o] for o in sorted([ex.org_id, other.org_id]))}\n"
    assert ok(run(["offers", "partner", ex.org_id, "--remove"], remote(world, op, admin=True))) == \
        f"partners: {named[other.org_id]}\n"
    assert ok(run(["offers", "partner", other.org_id, "--remove"] + local(world, op))) == "partners: (none)\n"


def test_offers_recommend_and_design_remote_are_the_local_answers(world, tmp_path):
    ex = world[3]
    demand = tmp_path / "demand.csv"  # markets the one warehouse on offer serves; read here, sent as rows
    demand.write_text("market,family,mean_m3_day,sd_m3_day,kg_per_m3,max_days\nLODZ,electronics,2.0,0.8,180,\n"
                      "LODZ,home_goods,1.0,0.4,120,\n")
    args = ["offers", "recommend", "--start", str(day(30)), "--end", str(day(59)), "--demand", str(demand), "--json"]
    here, there = json.loads(ok(run(args + local(world, ex)))), json.loads(ok(run(args, remote(world, ex))))
    assert without(there, "solve_seconds") == without(here, "solve_seconds")
    assert there["book"] and there["book"][0]["warehouse"] == "WH_LODZ"
    args = ["offers", "design", "--start", str(day(30)), "--end", str(day(59)), "--demand", str(demand), "--json"]
    here, there = json.loads(ok(run(args + local(world, ex)))), json.loads(ok(run(args, remote(world, ex))))
    assert there["open"] == here["open"] and there["objective"] == pytest.approx(here["objective"], rel=1e-6)
    assert there["assignment"] == here["assignment"]
    said = ok(run(args[:-1], remote(world, ex)))
    assert said.startswith(f"design on offers: {here['status']}") and "WH_LODZ" in said
    line = one_line_error(run(["offers", "recommend", "--start", str(day(30)), "--end", str(day(59)), "--demand",
                               str(demand), "--fill-rate", "0.2"], remote(world, ex)))
    assert line.startswith("error: --fill-rate:")


def test_offers_recommend_without_demand_reads_the_exporters_orders_in_both_modes(world):
    db, ex = world[2], world[3]
    example = Order.model_config["json_schema_extra"]["examples"][0]
    store_batch(db, ex.org_id, "orders", [
        example | {"order_no": f"CLI-REC-{i}", "destination_country": "PL", "ordered_at": f"{day(-5 - i)}T10:00:00+08:00",
                   "lines": [example["lines"][0] | {"hs_code": "8517130000", "net_weight_kg": "30"}]} for i in range(20)])
    args = ["offers", "recommend", "--start", str(day(30)), "--end", str(day(59)), "--lookback-days", "60"]
    here, there = json.loads(ok(run(args + ["--json"] + local(world, ex)))), json.loads(ok(run(args + ["--json"], remote(world, ex))))
    assert without(there, "solve_seconds") == without(here, "solve_seconds")
    src = there["demand"]["source"]
    assert src["kind"] == "orders" and src["orders"] >= 20 and (src["from"], src["to"]) == (str(day(-30)), str(day(29)))
    said = ok(run(args, remote(world, ex)))
    assert f"from {src['orders']:,} own 9610/9810 orders {day(-30)}..{day(29)}" in said
    for mode in (remote(world, ex), local(world, ex)):  # the service's check or the local one: the option named
        line = one_line_error(run(args[:-1] + ["3"] + (mode if isinstance(mode, list) else []),
                                  mode if isinstance(mode, dict) else None))
        assert line.startswith("error: --lookback-days:") and "7" in line, line


# --- bookings ------------------------------------------------------------------------------------------------
def test_bookings_remote_confirm_change_audit_use_reconcile(world):
    _, _, _, ex, other, op, oid = world
    booked = json.loads(ok(run(["bookings", "request", "--offer", oid, "--quantity", "10", "--start", str(day(40)),
                                "--end", str(day(45)), "--hold", "--json"], remote(world, ex))))
    bid = booked["id"]
    assert booked["status"] == "held"
    said = ok(run(["bookings", "confirm", bid], remote(world, ex)))
    assert said.startswith(f"booking {bid}: confirmed — storage 10 on {oid} at WH_LODZ")
    said = ok(run(["bookings", "change", bid, "--quantity", "12", "--end", str(day(46))], remote(world, ex)))
    assert f"storage 12 on {oid}" in said and str(day(46)) in said
    line = one_line_error(run(["bookings", "change", bid, "--quantity", "12"], remote(world, other)))
    assert f"no booking '{bid}'" in line  # another organisation's: as an unknown one
    audit = ["bookings", "audit", bid]
    assert json.loads(ok(run(audit + ["--json"], remote(world, ex)))) == json.loads(
        ok(run(audit + ["--json"] + local(world, ex))))
    assert ok(run(audit, remote(world, ex))) == ok(run(audit + local(world, ex)))
    assert [e["action"] for e in json.loads(ok(run(audit + ["--json"], remote(world, ex))))["items"]][:3] == \
        ["request", "confirm", "change"]
    used = json.loads(ok(run(["bookings", "use", "--warehouse", "wh_lodz", "--day", str(day(41)), "--m3", "4",
                              "--ref", "R-1", "--json"], remote(world, ex))))
    assert used["org"] == ex.org_id and used["m3"] == 4 and used["day"] == str(day(41))
    said = ok(run(["bookings", "use", "--warehouse", "wh_lodz", "--day", str(day(41)), "--m3", "2", "--ref", "R-2",
                   "--out"], remote(world, ex)))
    assert said.startswith("movement ") and "out 2 m³ at WH_LODZ" in said
    rec = ["bookings", "reconcile", "--warehouse", "wh_lodz", "--start", str(day(40)), "--end", str(day(46))]
    assert json.loads(ok(run(rec + ["--json"], remote(world, op)))) == json.loads(
        ok(run(rec + ["--json"] + local(world, op))))
    assert ok(run(rec, remote(world, op))) == ok(run(rec + local(world, op)))
    line = one_line_error(run(["bookings", "use", "--warehouse", "wh_lodz", "--day", str(day(41)), "--m3", "-1",
                               "--ref", "R-3"], remote(world, ex)))
    assert line.startswith("error: --m3:")
    line = one_line_error(run(["bookings", "expire"], remote(world, ex)))
    assert "admin" in line.lower()  # an operator's chore: an admin key
    assert ok(run(["bookings", "expire"], remote(world, op, admin=True))) == "0 expired, 0 promoted from the waitlist\n"


def test_bookings_plan_remote_is_the_local_plan_on_the_bookings(world, tmp_path):
    ex = world[3]
    csv = tmp_path / "rows.csv"
    csv.write_text(ROWS)
    args = ["bookings", "plan", "--shipments", str(csv), "--time-limit", "10", "--json"]
    here, there = json.loads(ok(run(args + local(world, ex)))), json.loads(ok(run(args, remote(world, ex))))
    assert set(there["assignments"]) == set(here["assignments"]) == {"P1", "P2"}
    assert there["cost"]["total"] == pytest.approx(here["cost"]["total"]) and there["summary"] == here["summary"]
    said = ok(run(args[:-1], remote(world, ex)))
    assert said.startswith("rows.csv: 2 assigned, 0 unassigned")
    line = one_line_error(run(["bookings", "plan", "--shipments", str(tmp_path / "nope.csv")], remote(world, ex)))
    assert "nope.csv" in line


def test_settlements_city_and_verify_remote(world, tmp_path):
    _, _, _, ex, _, op, _ = world
    assert "admin" in one_line_error(run(["settlements", "city", "Chengdu"], remote(world, op))).lower()
    assert ok(run(["settlements", "city", "Chengdu"], remote(world, op, admin=True))) == f"{op.org_id}: Chengdu\n"
    month = str(day(41))[:7]
    ok(run(["settlements", "statement", month, "-o", str(tmp_path / "st.json")], remote(world, ex)))
    assert "valid" in ok(run(["settlements", "verify", str(tmp_path / "st.json")], remote(world, ex)))
    doc = json.loads((tmp_path / "st.json").read_text())
    doc["org"] = "someone else"
    (tmp_path / "st.json").write_text(json.dumps(doc))
    res = run(["settlements", "verify", str(tmp_path / "st.json")], remote(world, ex))
    assert res.exit_code == 1 and "changed after it was signed" in res.stdout


# --- rate sheets and quotes ----------------------------------------------------------------------------------
def _rail_leg(doc: dict) -> dict:
    return next(leg for o in doc["options"] for leg in o["legs"] if leg["service"] == "CRE_CD_LODZ")


def test_rates_remote_upload_list_show_retire_and_the_quote_uses_the_sheet(world, tmp_path):
    _, _, _, ex, other, _, _ = world
    sheet = tmp_path / "contract.csv"
    sheet.write_bytes(SAMPLE_SHEET.read_bytes())
    line = one_line_error(run(["rates", "upload", str(sheet)], remote(world, ex)))  # a member key: admins upload
    assert "admin" in line.lower()
    # the same sheet for two organisations: `other` here on the database, `ex` through the service
    here = ok(run(["rates", "upload", str(sheet)] + local(world, other)))
    there = ok(run(["rates", "upload", str(sheet)], remote(world, ex, admin=True)))
    assert there == here and there.startswith("rate sheet contract v1: 8 rates")
    volatile = ("created_at", "filename")
    for args in (["rates", "list"], ["rates", "show", "contract"], ["rates", "show", "contract", "--version", "1"]):
        mine = json.loads(ok(run(args + ["--json"], remote(world, ex))))
        theirs = json.loads(ok(run(args + ["--json"] + local(world, other))))
        if "sheets" in mine:
            mine, theirs = mine["sheets"][0], theirs["sheets"][0]
        assert without(mine, *volatile) == without(theirs, *volatile), args
    shown = ok(run(["rates", "show", "contract"], remote(world, ex)))
    assert "TFU->FRA (air)" in shown and "CRE_CD_LODZ" in shown
    # the organisation's quote through the service prices the rail leg on its sheet, as a local quote does
    quoted = json.loads(ok(run(BIG, remote(world, ex))))
    local_quote = json.loads(ok(run(BIG + ["--org", other.org_id], {"CBEC_DATABASE_URL": world[1]})))
    assert _rail_leg(quoted)["tariff_source"] == _rail_leg(local_quote)["tariff_source"] == "rate sheet contract v1"
    assert _rail_leg(quoted)["cost"] == pytest.approx(_rail_leg(local_quote)["cost"])
    # a bad sheet: the service's row and column, as the local upload names them
    bad = tmp_path / "bad.csv"
    bad.write_text(SHEET_HEADER + "NOPE,,,,40HQ,0,1,per_container,0,,USD,2026-11-01,2027-01-31\n", encoding="utf-8")
    line = one_line_error(run(["rates", "upload", str(bad)], remote(world, ex, admin=True)))
    assert "row 2, service: unknown service 'NOPE'" in line
    assert "row 2, service: unknown service 'NOPE'" in one_line_error(run(["rates", "upload", str(bad)] +
                                                                          local(world, other)))
    line = one_line_error(run(["rates", "show", "nope"], remote(world, ex)))
    assert "nope" in line
    line = one_line_error(run(["rates", "upload", str(sheet), "--name", "bad name!"], remote(world, ex, admin=True)))
    assert line.startswith("error: --name:")
    said = ok(run(["rates", "retire", "contract"], remote(world, ex, admin=True)))
    assert said.startswith("rate sheet contract v1: retired at ")
    assert _rail_leg(json.loads(ok(run(BIG, remote(world, ex)))))["tariff_source"] == "public"
