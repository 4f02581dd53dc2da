"""Accounts (issue 16, item 1): the bootstrap, users and roles, API keys (shown once, hashed, revoked at
once in this process and within the poll period in others), the OAuth2 password flow and its JWT
(expiry, tampering, a secret key that survives restarts), the credential cache, the OpenAPI security
schemes, the operator CLI, and `cbec serve`'s demo organisation. On SQLite, and on PostgreSQL where it
answers (the bootstrap, keys and tokens).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from accounts import store, tokens
from accounts import tables as at
from accounts.authenticate import Authenticator
from accounts.credentials import key_hash
from api.app import create_app
from api.cli import app as cli
from optimizer.settings import Settings
from storage.db import open_db
from tests.support.accounts import make_tenant
from tests.support.ingest_testing import param_db_url

PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, net, tmp_path):
    """(db, app, client) on an empty database; the secret key kept under tmp_path."""
    url = param_db_url(request, tmp_path)
    db = open_db(url, migrate=True)
    app = create_app(network=net, settings=Settings(var_dir=tmp_path, database_url=url), ingest_db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield db, app, client
    db.dispose()


def key_headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bootstrap(client) -> dict:
    r = client.post("/v1/orgs", json={"name": "Pilot zone office", "kind": "office", "admin_email": "Chief@Office.example",
                                      "admin_name": "Chief", "admin_password": PASSWORD})
    assert r.status_code == 201, r.text
    return r.json()


def login(client, email: str, password: str = PASSWORD):
    return client.post("/v1/token", data={"username": email, "password": password})


# --- bootstrap and organisations -------------------------------------------------------------------------------
def test_bootstrap_then_only_the_office_admin_creates_organisations(env):
    db, app, client = env
    first = bootstrap(client)
    assert first["org"]["kind"] == "office" and first["admin_user"]["email"] == "chief@office.example"
    office_key = first["admin_key"]["key"]
    assert office_key.startswith("cbk_") and first["admin_key"]["role"] == "admin"
    with db.engine.connect() as c:  # only the hash is stored
        row = c.execute(select(at.api_keys)).one()
    assert row.secret_hash == key_hash(office_key) and office_key not in str(tuple(row))
    # no second bootstrap
    r = client.post("/v1/orgs", json={"name": "Sneaky", "kind": "office"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    # the office admin creates a forwarder; the forwarder's admin may not create organisations
    r = client.post("/v1/orgs", json={"name": "Fwd", "kind": "forwarder"}, headers=key_headers(office_key))
    assert r.status_code == 201, r.text
    fwd_key = r.json()["admin_key"]["key"]
    assert r.json()["admin_user"] is None
    r = client.post("/v1/orgs", json={"name": "Other", "kind": "forwarder"}, headers=key_headers(fwd_key))
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/v1/orgs", json={"name": "fwd", "kind": "partner"}, headers=key_headers(office_key))
    assert r.status_code == 409  # names are unique, whatever their case
    r = client.post("/v1/orgs", json={"name": "Bad", "kind": "pirate"}, headers=key_headers(office_key))
    assert r.status_code == 422
    me = client.get("/v1/orgs/me", headers=key_headers(fwd_key)).json()
    assert me["org"]["name"] == "Fwd" and me["role"] == "admin" and me["key_id"] == fwd_key[4:14]
    assert [o.name for o in store.list_orgs(db)] == ["Pilot zone office", "Fwd"]


def test_users_roles_and_the_password_flow(env):
    db, app, client = env
    office = bootstrap(client)
    admin = key_headers(office["admin_key"]["key"])
    r = client.post("/v1/users", json={"email": "lin@office.example", "name": "Lin", "password": PASSWORD}, headers=admin)
    assert r.status_code == 201 and r.json()["role"] == "member", r.text
    r = client.post("/v1/users", json={"email": "ana@office.example", "name": "Ana", "role": "analyst",
                                       "password": PASSWORD}, headers=admin)
    assert r.status_code == 201, r.text
    assert client.post("/v1/users", json={"email": "LIN@office.example", "name": "Lin 2", "password": PASSWORD},
                       headers=admin).status_code == 409
    assert client.post("/v1/users", json={"email": "x@office.example", "name": "X", "password": "short"},
                       headers=admin).status_code == 422
    listed = client.get("/v1/users", headers=admin).json()
    assert listed["total"] == 3 and "password" not in json.dumps(listed) and "argon2" not in json.dumps(listed)
    # the member signs in; admin routes are 403 for it, its own routes work
    r = login(client, "Lin@Office.example")
    assert r.status_code == 200 and r.json()["token_type"] == "bearer" and r.headers["cache-control"] == "no-store"
    assert r.json()["expires_in"] == tokens.TOKEN_MINUTES * 60
    member = bearer(r.json()["access_token"])
    me = client.get("/v1/orgs/me", headers=member).json()
    assert me["role"] == "member" and me["user_id"] and me["expires"]
    for method, path, body in (("GET", "/v1/users", None), ("POST", "/v1/users", {"email": "y@o.example", "name": "Y",
                                                                                    "password": PASSWORD}),
                               ("GET", "/v1/keys", None), ("POST", "/v1/keys", {"name": "mine"}),
                               ("DELETE", f"/v1/keys/{office['admin_key']['id']}", None)):
        r = client.request(method, path, headers=member, json=body)
        assert r.status_code == 403, (method, path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # wrong password, unknown e-mail: the same 401
    bad = [login(client, "lin@office.example", "wrong password!"), login(client, "nobody@office.example"),
           login(client, "not an email")]
    assert {r.status_code for r in bad} == {401} and len({r.json()["detail"] for r in bad}) == 1
    # another organisation's admin cannot disable the user: unknown, as an unknown id
    fwd = client.post("/v1/orgs", json={"name": "Fwd", "kind": "forwarder"}, headers=admin).json()
    theirs = client.delete(f"/v1/users/{me['user_id']}", headers=key_headers(fwd["admin_key"]["key"]))
    unknown = client.delete("/v1/users/usr_zzzzzzzzzz", headers=key_headers(fwd["admin_key"]["key"]))
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"].replace(me["user_id"], "usr_zzzzzzzzzz") == unknown.json()["detail"]
    assert client.get("/v1/orgs/me", headers=member).status_code == 200
    # a disabled user's token stops at once (it was cached), and it cannot sign in
    assert client.delete(f"/v1/users/{me['user_id']}", headers=admin).status_code == 204
    r = client.get("/v1/orgs/me", headers=member)
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
    assert login(client, "lin@office.example").status_code == 401
    assert [u["disabled"] for u in client.get("/v1/users", headers=admin).json()["items"]
            if u["id"] == me["user_id"]][0]
    # the analyst role exists in the office only
    r = client.post("/v1/users", json={"email": "z@fwd.example", "name": "Z", "role": "analyst", "password": PASSWORD},
                    headers=key_headers(fwd["admin_key"]["key"]))
    assert r.status_code == 422 and "analyst" in r.json()["detail"]


def test_keys_are_shown_once_and_revoked_at_once(env):
    db, app, client = env
    office = bootstrap(client)
    admin = key_headers(office["admin_key"]["key"])
    r = client.post("/v1/keys", json={"name": "ERP", "role": "member", "expires_days": 30}, headers=admin)
    assert r.status_code == 201 and r.headers["location"] == f"/v1/keys/{r.json()['id']}", r.text
    created = r.json()
    key = created["key"]
    assert created["state"] == "active" and created["expires"] and created["created_by"] == office["admin_key"]["id"]
    listed = client.get("/v1/keys", headers=admin).json()
    assert listed["total"] == 2 and key not in json.dumps(listed) and all("key" not in k for k in listed["items"])
    assert client.get("/v1/orgs/me", headers=key_headers(key)).status_code == 200  # now cached
    assert client.get("/v1/orgs/me", headers=bearer(key)).json()["key_id"] == created["id"]  # as a bearer token too
    # last_used is recorded (in a background thread, once per cache period)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not [k for k in store.list_keys(db, office["org"]["id"])[0]
                                               if k.key_id == created["id"] and k.last_used_ms]:
        time.sleep(0.05)
    assert [k for k in store.list_keys(db, office["org"]["id"])[0] if k.key_id == created["id"]][0].last_used_ms
    # revoke: 401 at once, though the key was cached; idempotent; the listing says so
    assert client.delete(f"/v1/keys/{created['id']}", headers=admin).status_code == 204
    r = client.get("/v1/orgs/me", headers=key_headers(key))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer realm=")
    assert client.delete(f"/v1/keys/{created['id']}", headers=admin).status_code == 204
    states = {k["id"]: k["state"] for k in client.get("/v1/keys", headers=admin).json()["items"]}
    assert states[created["id"]] == "revoked"
    assert [k["id"] for k in client.get("/v1/keys?include_revoked=false", headers=admin).json()["items"]] == \
        [office["admin_key"]["id"]]
    # another organisation's key id is unknown, exactly as an unknown id
    fwd = client.post("/v1/orgs", json={"name": "Fwd", "kind": "forwarder"}, headers=admin).json()
    fadmin = key_headers(fwd["admin_key"]["key"])
    theirs = client.delete(f"/v1/keys/{office['admin_key']['id']}", headers=fadmin)
    unknown = client.delete("/v1/keys/zzzzzzzzzz", headers=fadmin)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"].replace(office["admin_key"]["id"], "zzzzzzzzzz") == unknown.json()["detail"]
    assert client.get("/v1/orgs/me", headers=admin).status_code == 200  # still working
    # an expiring key stops when it expires (checked on every request, cached or not)
    r = client.post("/v1/keys", json={"name": "short", "expires_days": 0.5 / 86400}, headers=admin)
    short = r.json()["key"]
    assert client.get("/v1/orgs/me", headers=key_headers(short)).status_code == 200
    time.sleep(0.6)
    r = client.get("/v1/orgs/me", headers=key_headers(short))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    # garbage and several credentials
    for headers in ({"X-API-Key": "nope"}, {"X-API-Key": key[:-1] + ("A" if key[-1] != "A" else "B")},
                    {"Authorization": "Bearer not-a-token"}, {"Authorization": "Digest abc"},
                    {"Authorization": "Bearer " + "x" * 10_000}, {**admin, "Authorization": "Bearer x"},
                    {"X-API-Key": "cbk_\u00e9" * 10}):
        r = client.get("/v1/orgs/me", headers={k: v.encode("utf-8") for k, v in headers.items()})
        assert r.status_code == 401 and "www-authenticate" in r.headers, (headers, r.text)
        assert len(r.content) < 1500


def test_a_key_revoked_in_another_process_stops_within_the_poll_period(env):
    """Another API process has the key cached; the CLI revokes it: refused within POLL_S (here forced)."""
    db, app, client = env
    office = bootstrap(client)
    org_id = office["org"]["id"]
    record, key = store.create_key(db, org_id, "elsewhere")
    other = Authenticator(db, app.state.settings, poll_s=0.2)  # a second process's authenticator
    assert other.authenticate(api_key=key).key_id == record.key_id
    assert other.peek(api_key=key) is not None or time.monotonic() >= other._next_poll  # served from the cache
    r = CliRunner().invoke(cli, ["keys", "revoke", record.key_id, "--org", org_id, "--db", db.url])
    assert r.exit_code == 0 and "revoked" in r.output, r.output
    time.sleep(0.25)
    with pytest.raises(Exception, match="revoked"):
        other.authenticate(api_key=key)


def test_tokens_expire_and_cannot_be_forged(env, tmp_path):
    db, app, client = env
    bootstrap(client)
    assert login(client, "chief@office.example").status_code == 200
    auth = app.state.authenticator
    old, _ = auth.issue_token("chief@office.example", PASSWORD, now=time.time() - 3600)
    r = client.get("/v1/orgs/me", headers=bearer(old))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    fresh, life = auth.issue_token("chief@office.example", PASSWORD)
    assert client.get("/v1/orgs/me", headers=bearer(fresh)).status_code == 200
    head, payload, sig = fresh.split(".")
    forged_payload = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    for bad in (f"{head}.{forged_payload}.{sig}", tokens.issue("x" * 40, user_id="usr_x", org_id="org_x", role="admin")[0],
                fresh[:-3]):
        r = client.get("/v1/orgs/me", headers=bearer(bad))
        assert r.status_code == 401, r.text
    # a short life, then it stops
    short, life = auth.issue_token("chief@office.example", PASSWORD, minutes=1 / 60)
    assert life == 1 and client.get("/v1/orgs/me", headers=bearer(short)).status_code == 200
    time.sleep(2.1)
    assert client.get("/v1/orgs/me", headers=bearer(short)).status_code == 401


def test_the_secret_key_survives_a_restart_and_is_the_configured_one(net, tmp_path):
    settings = Settings(var_dir=tmp_path / "var", database_url="sqlite://")
    key = tokens.secret_key(settings)
    path = tmp_path / "var" / tokens.SECRET_FILE
    assert len(key) >= 32 and path.read_text().strip() == key and (path.stat().st_mode & 0o777) == 0o600
    assert tokens.secret_key(Settings(var_dir=tmp_path / "var", database_url="sqlite://")) == key  # a restart
    token, _ = tokens.issue(key, user_id="u", org_id="o", role="member")
    assert tokens.verify(tokens.secret_key(settings), token)["sub"] == "u"
    configured = Settings(var_dir=tmp_path / "other", database_url="sqlite://", secret_key="s" * 40)
    assert tokens.secret_key(configured) == "s" * 40 and not (tmp_path / "other" / tokens.SECRET_FILE).exists()
    with pytest.raises(Exception):
        Settings(secret_key="too short")


def test_a_cached_credential_costs_microseconds(env):
    """The quote bench's budget for authentication is 0.5 ms at p50; a cached key takes a hash and a look-up."""
    db, app, client = env
    office = bootstrap(client)
    key = office["admin_key"]["key"]
    auth = app.state.authenticator if hasattr(app.state, "authenticator") else Authenticator(db, app.state.settings)
    auth.authenticate(api_key=key)
    times = []
    for _ in range(2000):
        t0 = time.perf_counter()
        p = auth.peek(api_key=key) or auth.authenticate(api_key=key)
        times.append(time.perf_counter() - t0)
    assert p.org_id == office["org"]["id"]
    p50 = statistics.median(times)
    print(f"cached API key: p50 {p50 * 1e6:.1f} µs")
    assert p50 < 0.0005


def test_openapi_declares_the_security_schemes(env):
    db, app, client = env
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/v1/token"
    assert schemes["APIKeyHeader"] == {**schemes["APIKeyHeader"], "in": "header", "name": "X-API-Key"}
    assert schemes["DeviceBasic"]["scheme"] == "basic" and schemes["DeviceKeyHeader"]["name"] == "X-Device-Key"
    member = [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]
    for path, method in (("/v1/shipments", "post"), ("/v1/shipments", "get"), ("/v1/shipments/{shipment_id}", "get"),
                         ("/v1/shipments/{shipment_id}/track", "get"), ("/v1/devices", "post"), ("/v1/devices", "get"),
                         ("/v1/warehouses/{warehouse_id}", "get"), ("/v1/users", "post"), ("/v1/keys", "get"),
                         ("/v1/keys/{key_id}", "delete"), ("/v1/orgs/me", "get")):
        op = spec["paths"][path][method]
        assert op["security"] == member, (path, method)
        assert {"401", "403"} <= set(op["responses"]), (path, method)
    tele = spec["paths"]["/v1/telemetry"]["post"]
    assert tele["security"] == [{"DeviceBasic": []}, {"DeviceKeyHeader": []}] and {"401", "403"} <= set(tele["responses"])
    assert "security" not in spec["paths"]["/v1/token"]["post"]
    assert "security" not in spec["paths"]["/v1/quotes"]["post"]  # anonymous quotes stay open


# --- the operator CLI ---------------------------------------------------------------------------------------------
def test_cli_orgs_users_keys(tmp_path, net):
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    run = CliRunner().invoke
    r = run(cli, ["orgs", "list", "--db", url])
    assert r.exit_code == 2 and "cbec db upgrade" in r.output  # operator tools never create a database
    open_db(url, migrate=True).dispose()
    r = run(cli, ["orgs", "create", "Acme", "--kind", "forwarder", "--admin-email", "boss@acme.example",
                  "--password-stdin", "--db", url], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    admin_key = r.output.strip().splitlines()[-1]
    assert admin_key.startswith("cbk_") and "shown once" in r.output
    r = run(cli, ["orgs", "create", "Bad", "--kind", "pirate", "--db", url])
    assert r.exit_code == 2 and "--kind" in r.output
    r = run(cli, ["orgs", "list", "--json", "--db", url])
    (org,) = json.loads(r.output)
    assert org["name"] == "Acme" and org["kind"] == "forwarder"
    r = run(cli, ["users", "create", "lin@acme.example", "--org", "acme", "--password-stdin", "--db", url],
            input=PASSWORD + "\n")
    assert r.exit_code == 0 and "member" in r.output, r.output
    r = run(cli, ["users", "create", "short@acme.example", "--org", "acme", "--password-stdin", "--db", url],
            input="short\n")
    assert r.exit_code == 2 and "password" in r.output
    r = run(cli, ["users", "create", "ana@acme.example", "--org", "acme", "--role", "analyst", "--password-stdin",
                  "--db", url], input=PASSWORD + "\n")
    assert r.exit_code == 2 and "--role" in r.output
    r = run(cli, ["users", "list", "--org", org["id"], "--json", "--db", url])
    assert sorted(u["email"] for u in json.loads(r.output)) == ["boss@acme.example", "lin@acme.example"]
    r = run(cli, ["keys", "create", "--org", "Acme", "--name", "ERP", "--expires-days", "90", "--json", "--db", url])
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    assert created["key"].startswith("cbk_") and created["expires"]
    r = run(cli, ["keys", "create", "--org", "Acme", "--name", "x", "--expires-days", "0", "--db", url])
    assert r.exit_code == 2 and "--expires-days" in r.output
    r = run(cli, ["keys", "list", "--org", "Acme", "--json", "--db", url])
    assert r.exit_code == 0 and created["key"] not in r.output and len(json.loads(r.output)) == 2
    db = open_db(url)
    app = create_app(network=net, settings=Settings(var_dir=tmp_path, database_url=url), ingest_db=db)
    with TestClient(app) as client:
        assert client.get("/v1/orgs/me", headers=key_headers(created["key"])).status_code == 200
        r = run(cli, ["keys", "revoke", created["key"], "--db", url])  # the whole key names its id too
        assert r.exit_code == 0 and "revoked" in r.output, r.output
        app.state.authenticator._next_poll = 0  # as if POLL_S had passed
        assert client.get("/v1/orgs/me", headers=key_headers(created["key"])).status_code == 401
        assert client.get("/v1/orgs/me", headers=key_headers(admin_key)).status_code == 200
        r = client.post("/v1/token", data={"username": "lin@acme.example", "password": PASSWORD})
        assert r.status_code == 200
    r = run(cli, ["keys", "revoke", "zzzzzzzzzz", "--db", url])
    assert r.exit_code == 2 and "unknown API key" in r.output
    r = run(cli, ["users", "disable", "LIN@acme.example", "--db", url])
    assert r.exit_code == 0 and "disabled" in r.output, r.output
    with pytest.raises(Exception, match="wrong e-mail or password"):
        store.login(db, "lin@acme.example", PASSWORD)
    db.dispose()


def test_demo_organisation_only_on_an_empty_database(tmp_path):
    db = open_db(f"sqlite:///{tmp_path}/demo.sqlite3", migrate=True)
    org, key = store.ensure_demo_org(db)
    assert org.name == "demo" and key.startswith("cbk_")
    assert store.ensure_demo_org(db) is None
    make_tenant(db)
    assert len(store.list_orgs(db)) == 2
    db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_an_empty_database_prints_a_working_demo_key(tmp_path):
    """The README's two commands still give a working service: `cbec serve` creates the demo organisation
    and prints its key once; the key works; a restart prints no new key and the old one still works."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CBEC_")}
    env.update(CBEC_VAR_DIR=str(tmp_path), CBEC_LOG_FORMAT="text", CBEC_LOG_LEVEL="warning")

    def start() -> tuple[subprocess.Popen, list[str]]:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-ingest", "--port", str(port)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
        return proc, []

    def stop(proc: subprocess.Popen) -> str:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=40)
        return out

    def me(key: str) -> int:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/orgs/me", headers={"X-API-Key": key})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    proc, _ = start()
    try:
        status = me("cbk_aaaaaaaaaa_" + "A" * 43)
    finally:
        pass
    assert status == 401
    # the key is printed before uvicorn starts; read it after the stop (stdout is a pipe)
    out = stop(proc)
    keys = re.findall(r"cbk_[a-z2-9]{10}_[A-Za-z0-9_-]{43}", out)
    assert "demo organisation 'demo' created" in out and len(keys) == 1, out[-2000:]
    proc, _ = start()
    try:
        assert me(keys[0]) == 200
    finally:
        out = stop(proc)
    assert "demo organisation" not in out and not re.findall(r"cbk_[a-z2-9]{10}_", out)
