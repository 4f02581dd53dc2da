"""schemathesis over the whole OpenAPI document, in-process (issues 15 and 16): no server errors, no response
that breaks its schema, no undocumented status or content type — as the callers the API has.

- The public operations (the network, quotes, health, sign-in, the bootstrap) are fuzzed anonymously, as
  anyone calls them (the rate limit of anonymous quotes is raised here: the fuzzer is one client sending
  hundreds of quotes; tests/test_hostile_quotes.py tests the limit).
- Every other operation is fuzzed authenticated, with the key of an organisation created at import
  (accounts' store functions): a member key, an admin key on the administration routes, a device key on
  telemetry — and anonymously too, with fewer examples (each must answer a documented 401).
- Read-only and synchronous operations get generated requests (valid and invalid); the operations that
  start background work (plans, designs, pickup plans, simulations) get their documented examples only when
  authenticated, so that the fuzzer cannot queue minutes of solver time.

Run against a live server: ``schemathesis run http://127.0.0.1:8000/openapi.json --max-examples 50 -H
"X-API-Key: $KEY"`` (README, "Hardening").
"""

from __future__ import annotations

import re
import tempfile

import pytest
from hypothesis import HealthCheck, Phase, settings

import schemathesis  # noqa: E402  (a dev dependency: the fuzzing must run in CI, never skip)

from api.app import create_app  # noqa: E402
from optimizer.settings import Settings  # noqa: E402
from storage.db import open_db  # noqa: E402
from tests.support.accounts import is_public, make_tenant  # noqa: E402

JOBS = r"^/v1/(plans|warehouse-designs|pickup-plans|simulations|stock-policies)$"
ADMIN = re.compile(r"^/v1/(users|keys|orgs)(/|$)")
EXAMPLES = 25  # per operation: with ~40 operations the whole run stays within a few minutes on 2 cores
ANONYMOUS_EXAMPLES = 5  # per protected operation, without a credential: 401 before anything is read


# Built at import (schemathesis' fixture-based loader does not work with pytest 9): a migrated
# database in a temporary folder, removed at exit, with one organisation (member, admin and device keys).
_VAR = tempfile.TemporaryDirectory(prefix="cbec-fuzz-")
_URL = f"sqlite:///{_VAR.name}/fuzz.sqlite3"
APP = create_app(settings=Settings(var_dir=_VAR.name, database_url=_URL, anon_quotes_burst=100_000))
_DB = open_db(_URL, migrate=True)
TENANT = make_tenant(_DB, "fuzzers")
TENANT.bind(_DB, APP.state.network, "FUZZ-S1", warehouse="WH_LODZ", temp_min=2, temp_max=8)
_DB.dispose()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


def schema_states_its_rules(ctx, response, case):
    """A schema-valid request may be refused for a domain reason (no route, customs mode vs destination:
    rules no schema can state), never by request validation: that would be a rule the schema hides."""
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = response.json()
    if body.get("title") == "Invalid request" and all(_generator_missed_pattern(case, e) for e in body.get("errors") or [{}]):
        return None
    assert body.get("title") != "Invalid request", f"schema-valid request failed validation: {body.get('detail')}"
    return None


_PATTERN_ERROR = re.compile(r"^String should match pattern '(?P<pattern>.*)'$", re.S)


def _generator_missed_pattern(case, error: dict) -> bool:
    """True when the refused value does not match the schema's pattern at all: the generator's regex engine
    (hypothesis-jsonschema) drew it from a long negated class imprecisely; the schema did state the rule."""
    found = _PATTERN_ERROR.match(error.get("message", ""))
    if not found or not isinstance(case.body, dict):
        return False
    value: object = case.body
    for part in str(error.get("field", "")).split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False
    return isinstance(value, str) and re.search(found["pattern"], value) is None


def credential(method: str, path: str) -> dict[str, str]:
    """The headers the operation's caller sends: none on the public operations, else the tenant's key."""
    if is_public(method, path):
        return {}
    if path == "/v1/telemetry":
        return TENANT.device_headers("FUZZ-S1")
    return TENANT.admin_headers if ADMIN.match(path) else TENANT.headers


def _validate(case, headers: dict[str, str] | None = None) -> None:
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    if headers is None:
        headers = credential(case.method, case.path)
    case.call_and_validate(headers=headers or None, excluded_checks=[positive_data_acceptance],
                           additional_checks=[schema_states_its_rules])


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs():
    yield
    APP.state.jobs.shutdown()


def test_the_tenant_is_what_the_fuzzing_assumes():
    from fastapi.testclient import TestClient

    with TestClient(APP) as client:  # its lifespan: the job runner started (schemathesis ends lifespans per test)
        r = client.get("/v1/jobs", headers=TENANT.headers)
        assert r.status_code == 200, r.text
        assert client.get("/v1/keys", headers=TENANT.admin_headers).status_code == 200
        assert client.get("/v1/jobs").status_code == 401


STREAM = "/v1/shipments/{shipment_id}/events"
"""The live feed: a schema-valid call naming the tenant's shipment is an open event stream (ten minutes), which a
generic call reads to its end — 10 s per example until the client gives up, two thirds of this file's time. Its
other answers are fuzzed below; the stream itself is checked against a real server (tests/web/test_live_feed.py)."""


@schema.exclude(path_regex=JOBS, method="POST").exclude(path=STREAM).parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_operations_conform(case):
    _validate(case)


@schema.include(path=STREAM).parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_live_feed_refusals_conform(case):
    """Unknown shipments, bad ids and bad Last-Event-ID headers: a documented problem, never an open stream (an id
    naming a shipment — the bound one, or one the other operations' fuzzing created — is replaced)."""
    from sqlalchemy import text

    sid = (case.path_parameters or {}).get("shipment_id")
    db = open_db(_URL)
    try:
        with db.engine.connect() as conn:
            known = conn.execute(text("SELECT 1 FROM iot_shipments WHERE shipment_id = :s"), {"s": sid}).first()
    finally:
        db.dispose()
    if known is not None:
        case.path_parameters["shipment_id"] = "FUZZ-NOT-A-SHIPMENT"
    _validate(case)


@schema.include(path_regex=JOBS, method="POST").parametrize()
@settings(max_examples=5, deadline=None, phases=[Phase.explicit], suppress_health_check=list(HealthCheck))
def test_job_operations_conform_on_their_examples(case):
    _validate(case)


@schema.parametrize()
@settings(max_examples=ANONYMOUS_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_protected_operations_conform_anonymously(case):
    """Without a credential (a job-starting operation included: nothing can start), every protected
    operation answers conformingly — a documented 401, or an error of the request read before it."""
    if is_public(case.method, case.path):
        return
    _validate(case, headers={})
