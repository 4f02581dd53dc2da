"""schemathesis over the whole OpenAPI document, in-process (issue 15): no server errors, no response
that breaks its schema, no undocumented status or content type.

Read-only and synchronous operations get generated requests (valid and invalid); the operations
that start background work (plans, designs, pickup plans, simulations) get their documented
examples only, so that the fuzzer cannot queue minutes of solver time. Run against a live server:
``schemathesis run http://127.0.0.1:8000/openapi.json --max-examples 50`` (README, "Hardening").
"""

from __future__ import annotations

import tempfile

import pytest
from hypothesis import HealthCheck, Phase, settings

import schemathesis  # noqa: E402  (a dev dependency: the fuzzing must run in CI, never skip)

from api.app import create_app  # noqa: E402
from storage.db import open_db  # noqa: E402
from optimizer.settings import Settings  # noqa: E402

JOBS = r"^/v1/(plans|warehouse-designs|pickup-plans|simulations|stock-policies)$"
EXAMPLES = 25  # per operation: with ~20 operations the whole run stays within a few minutes on 2 cores


# Built at import (schemathesis' fixture-based loader does not work with pytest 9): a migrated
# database in a temporary folder, removed at exit.
_VAR = tempfile.TemporaryDirectory(prefix="cbec-fuzz-")
_URL = f"sqlite:///{_VAR.name}/fuzz.sqlite3"
open_db(_URL, migrate=True).dispose()
APP = create_app(settings=Settings(var_dir=_VAR.name, database_url=_URL))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


def schema_states_its_rules(ctx, response, case):
    """A schema-valid request may be refused for a domain reason (no route, customs mode vs destination:
    rules no schema can state), never by request validation: that would be a rule the schema hides."""
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = response.json()
    assert body.get("title") != "Invalid request", f"schema-valid request failed validation: {body.get('detail')}"
    return None


def _validate(case) -> None:
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    case.call_and_validate(excluded_checks=[positive_data_acceptance], additional_checks=[schema_states_its_rules])


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs():
    yield
    APP.state.jobs.shutdown()


@schema.exclude(path_regex=JOBS, method="POST").parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_operations_conform(case):
    _validate(case)


@schema.include(path_regex=JOBS, method="POST").parametrize()
@settings(max_examples=5, deadline=None, phases=[Phase.explicit], suppress_health_check=list(HealthCheck))
def test_job_operations_conform_on_their_examples(case):
    _validate(case)
