"""The OpenAPI document is the API's contract: every route names its response schema, every error is
problem+json, every job-starting route answers 202 with Location (issue 14, item 5)."""

from __future__ import annotations

import pytest

from api.app import create_app
from tests.support.accounts import app_tenant, is_public


@pytest.fixture(scope="module")
def spec(net) -> dict:
    return create_app(network=net).openapi()


def _operations(spec: dict):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def _named(schema: dict) -> bool:
    """A named model ($ref), or a list of one; not FastAPI's anonymous schema for ``-> dict``."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _named(schema.get("items", {}))
    return any(_named(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


def test_every_route_declares_a_response_model(spec):
    missing = []
    for path, method, op in _operations(spec):
        ok = [r for s, r in op["responses"].items() if s.startswith("2")]
        assert ok, f"{method.upper()} {path}: no success response documented"
        for resp in ok:
            content = resp.get("content", {})
            json_schema = content.get("application/json", {}).get("schema")
            if json_schema is None:
                assert content or resp.get("description"), f"{method.upper()} {path}: empty success response"
                continue  # a non-JSON body (Prometheus text, PNG/SVG plot, GeoJSON media type) declared by type
            if not _named(json_schema):
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"routes without a named response model: {missing}"


def test_errors_are_problem_details_only(spec):
    for path, method, op in _operations(spec):
        for status, resp in op["responses"].items():
            if status.isdigit() and int(status) >= 400:
                assert list(resp.get("content", {})) == ["application/problem+json"], (method, path, status)
                assert resp["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_request_bodies_document_the_size_limit(spec):
    for path, method, op in _operations(spec):
        if "requestBody" in op:
            assert "413" in op["responses"], f"{method.upper()} {path}"


def test_job_routes_answer_202_with_location(net, tmp_path):
    """Every route documenting a 202 sets Location on it (checked on the live app with small requests).

    Besides the job-starting POSTs, the one other 202 is DELETE /v1/jobs/{id} (a running job asked to stop;
    its Location is checked live in tests/test_jobs_durable.py). Jobs are records in the database: this app
    gets a database of its own."""
    from fastapi.testclient import TestClient

    from optimizer.settings import Settings

    app = create_app(network=net, settings=Settings(var_dir=tmp_path))
    tenant = app_tenant(app)  # the jobs are an organisation's: its member key on every request
    spec = app.openapi()
    accepted = {(p, m) for p, m, op in _operations(spec) if "202" in op["responses"]}
    assert accepted, "no job-starting route documented"
    for path, method in accepted:
        assert method == "post" or (path, method) == ("/v1/jobs/{job_id}", "delete"), (path, method)
    assert "Location" in spec["paths"]["/v1/jobs/{job_id}"]["delete"]["responses"]["202"]["headers"]
    accepted.discard(("/v1/jobs/{job_id}", "delete"))
    client = TestClient(app)
    client.auth = tenant.auth()
    examples = {
        "/v1/warehouse-designs": {"orlib": "2 3\n100 10\n100 10\n5\n1 2\n5\n3 2\n5\n2 2\n"},
    }
    for path, body in examples.items():
        if (path, "post") not in accepted:
            continue
        r = client.post(path, json=body)
        assert r.status_code in (201, 202), (path, r.status_code, r.text[:300])
        assert r.headers.get("location", "").startswith(path + "/"), (path, dict(r.headers))


MEMBER_SECURITY = [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]


def test_every_protected_route_declares_its_security_and_auth_errors(spec):
    """Issue 16: every operation but the public ones (the network, quotes, health, sign-in, the bootstrap)
    names the credentials it takes and documents 401 (none, or a bad one) and 403 (a role that may not)."""
    protected = []
    for path, method, op in _operations(spec):
        if is_public(method, path):
            continue
        protected.append(f"{method.upper()} {path}")
        assert op.get("security") in (MEMBER_SECURITY, [{"DeviceBasic": []}, {"DeviceKeyHeader": []}]), (method, path)
        assert {"401", "403"} <= set(op["responses"]), (method, path)
    for path in ("/v1/plans", "/v1/warehouse-designs", "/v1/stock-policies", "/v1/pickup-plans", "/v1/simulations"):
        assert f"POST {path}" in protected and spec["paths"][path]["post"]["security"] == MEMBER_SECURITY
    for path in ("/v1/jobs", "/v1/jobs/{job_id}", "/v1/plans/{plan_id}", "/v1/simulations/{sim_id}/plots/{name}"):
        assert spec["paths"][path]["get"]["security"] == MEMBER_SECURITY, path
    assert spec["paths"]["/v1/jobs/{job_id}"]["delete"]["security"] == MEMBER_SECURITY


def test_anonymous_quotes_document_the_rate_limit(spec):
    op = spec["paths"]["/v1/quotes"]["post"]
    assert "security" not in op  # open to anyone
    assert "Retry-After" in op["responses"]["429"]["headers"] and "401" in op["responses"]
    for path in ("/v1/network", "/v1/nodes"):
        assert "security" not in spec["paths"][path]["get"]
