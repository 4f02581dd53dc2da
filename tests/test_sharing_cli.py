"""`cbec offers|bookings|settlements` (issue 19): the tour of the README on a fresh SQLite database, and bad
input as one line with exit code 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from tests.sharing_world import day


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CBEC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("CBEC_DATABASE_URL", f"sqlite:///{tmp_path}/c.sqlite3")
    monkeypatch.setenv("COLUMNS", "200")
    from optimizer.settings import get_settings

    get_settings.cache_clear()  # this test's database and var dir (the signing key's secret is under it)
    runner = CliRunner()

    def go(*args: str, code: int = 0):
        r = runner.invoke(cli, list(args))
        assert r.exit_code == code, r.output
        return r.output

    go("db", "upgrade")
    for name, kind in (("Lodz Warehousing", "warehouse_operator"), ("Mianyang Exporter", "forwarder")):
        go("orgs", "create", name, "--kind", kind)
    yield go
    get_settings.cache_clear()


def test_the_tour(run, tmp_path):
    run("settlements", "city", "--org", "Lodz Warehousing", "Chengdu")
    out = run("offers", "create", "--org", "Lodz Warehousing", "--warehouse", "wh_lodz", "--start", str(day(20)),
              "--end", str(day(90)), "--storage", "100", "--inbound", "20", "--price-storage", "0.5",
              "--price-inbound", "4", "--json")
    oid = json.loads(out)["id"]
    assert "confirmed" in run("bookings", "request", "--org", "Mianyang Exporter", "--offer", oid, "--quantity", "80",
                              "--start", str(day(25)), "--end", str(day(30)))
    assert "waitlisted (storage capacity is full" in run("bookings", "request", "--org", "Mianyang Exporter", "--offer",
                                                         oid, "--quantity", "30", "--start", str(day(25)),
                                                         "--end", str(day(26)))
    assert "drew on booking" not in run("bookings", "use", "--org", "Mianyang Exporter", "--warehouse", "WH_LODZ",
                                        "--day", str(day(25)), "--m3", "5", "--ref", "A1")  # storage only: in the offer
    listing = json.loads(run("bookings", "list", "--org", "Lodz Warehousing", "--role", "operator", "--json"))
    assert sorted(b["status"] for b in listing["items"]) == ["confirmed", "waitlisted"]
    month = str(day(25))[:7]
    assert "Lodz Warehousing" in run("settlements", "show", month)
    run("settlements", "statement", month, "--org", "Mianyang Exporter", "-o", str(tmp_path / "st.json"))
    assert "valid" in run("settlements", "verify", str(tmp_path / "st.json"))
    doc = json.loads((tmp_path / "st.json").read_text())
    doc["lines"][0]["total"] += 1
    (tmp_path / "st.json").write_text(json.dumps(doc))
    assert "changed after it was signed" in run("settlements", "verify", str(tmp_path / "st.json"), code=1)
    run("settlements", "export", month, "--org", "Mianyang Exporter", "--format", "xlsx", "-o", str(tmp_path / "s.xlsx"))
    assert (tmp_path / "s.xlsx").read_bytes()[:2] == b"PK"


def test_bad_input_is_one_line_and_exit_2(run):
    out = run("offers", "create", "--org", "Lodz Warehousing", "--warehouse", "LODZ", "--start", str(day(20)),
              "--end", str(day(90)), "--storage", "100", "--inbound", "20", "--price-storage", "0.5",
              "--price-inbound", "4", code=2)
    assert "not an overseas warehouse" in out and len(out.strip().splitlines()) == 1
    out = run("offers", "create", "--org", "Mianyang Exporter", "--warehouse", "WH_LODZ", "--start", str(day(20)),
              "--end", str(day(90)), "--storage", "100", "--inbound", "20", "--price-storage", "0.5",
              "--price-inbound", "4", code=2)
    assert "only a warehouse operator publishes" in out
    assert "--end: expected a day" in run("bookings", "request", "--org", "Mianyang Exporter", "--offer", "off_x",
                                          "--quantity", "1", "--start", str(day(20)), "--end", "soon", code=2)
    assert "no offer 'off_x'" in run("bookings", "request", "--org", "Mianyang Exporter", "--offer", "off_x",
                                     "--quantity", "1", "--start", str(day(20)), "--end", str(day(21)), code=2)


# --- remote mode: CBEC_API_URL and CBEC_API_KEY ---------------------------------------------------------------
@pytest.fixture(scope="module")
def service(net, tmp_path_factory):
    """(url, database, operator, exporter, offer id) of the app on a real uvicorn (a thread, a free port)."""
    import socket
    import threading
    import time

    import uvicorn

    from api.app import create_app
    from optimizer.settings import Settings
    from storage.db import open_db
    from tests.sharing_world import publish
    from tests.support.accounts import make_tenant

    var = tmp_path_factory.mktemp("sharing_remote")
    url = f"sqlite:///{var}/r.sqlite3"
    db = open_db(url, migrate=True)
    op, ex = make_tenant(db, kind="warehouse_operator"), make_tenant(db)
    offer = publish(db, net, op)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(network=net, settings=Settings(var_dir=var, database_url=url, job_workers=1), ingest_db=db)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", db, op, ex, offer.offer_id
    srv.should_exit = True
    thread.join(15)
    db.dispose()


def remote(service, tenant, *args: str, code: int = 0):
    url = service[0]
    r = CliRunner().invoke(cli, list(args), env={"CBEC_API_URL": url, "CBEC_API_KEY": tenant.member_key, "COLUMNS": "200"})
    assert r.exit_code == code, r.output
    return r


def test_bookings_and_settlements_in_remote_mode(service):
    from sharing.settlement import Month, settlement

    _, db, op, ex, oid = service
    booked = remote(service, ex, "bookings", "request", "--offer", oid, "--quantity", "40", "--start", str(day(25)),
                    "--end", str(day(30)), "--json")
    kept = json.loads(booked.stdout)
    assert kept["status"] == "confirmed" and kept["org"] == ex.org_id  # the key's organisation booked it
    other = remote(service, ex, "bookings", "request", "--offer", oid, "--quantity", "5", "--start", str(day(40)),
                   "--end", str(day(41))).stdout
    assert other.startswith("booking bkg") and ": confirmed — storage 5 on" in other
    bid = other.split()[1].rstrip(":")
    listing = json.loads(remote(service, op, "bookings", "list", "--role", "operator", "--json").stdout)
    assert {b["id"] for b in listing["items"]} == {kept["id"], bid} and listing["total"] == 2
    out = remote(service, op, "bookings", "refuse", bid, "--reason", "dock closed that week").stdout
    assert "cancelled (cancelled by the operator: dock closed that week)" in out
    line = remote(service, ex, "bookings", "refuse", kept["id"], "--reason", "no", code=2).stderr.strip()
    assert line.startswith("error:") and "only the operator" in line and len(line.splitlines()) == 1
    month = str(day(25))[:7]
    shown = json.loads(remote(service, ex, "settlements", "show", month, "--json").stdout)
    assert shown == settlement(db, Month.parse(month), org=ex.org_id)  # what the use case says, over HTTP
    err = remote(service, ex, "settlements", "show", month, "--org", "x", code=2).stderr
    assert "--org does not apply in remote mode" in err
    assert "pilot-zone office" in remote(service, ex, "settlements", "cities", month, code=2).stderr
    assert "month must be YYYY-MM" in remote(service, ex, "settlements", "show", "2027-13", code=2).stderr


def test_remote_export_and_statement(service, tmp_path):
    _, db, op, ex, oid = service
    month = str(day(25))[:7]
    remote(service, op, "settlements", "export", month, "--format", "csv", "-o", str(tmp_path / "s.csv"))
    assert (tmp_path / "s.csv").read_text().startswith("booker,operator,offer")
    remote(service, op, "settlements", "statement", month, "-o", str(tmp_path / "st.json"))
    assert json.loads((tmp_path / "st.json").read_text())["signature"]["value"]
