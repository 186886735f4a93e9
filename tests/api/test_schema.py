"""The OpenAPI schema is complete, the docs page serves, and schemathesis finds no 5xx and no
response that breaks the schema (bounded examples, deterministic)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from surveys.services import invitation_create
from xmplatform.api import keys
from xmplatform.api.models import ApiKey
from xmplatform.wsgi import application

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12


def test_schema_is_openapi_3_with_every_body_typed(world):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiKey"]["description"],
    }
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/v1/")
    ]
    assert len(operations) == 23
    descriptions = [op.get("description", "") for _path, _method, op in operations]
    assert all(descriptions), "every operation says what it does"
    assert len(set(descriptions)) == 23, "no operation shows another's (or the base view's) text"
    for path, method, op in operations:
        if method in ("post", "put", "patch"):
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert body, (path, method)
        for code, response in op["responses"].items():
            if code != "204":
                assert response["content"]["application/json"]["schema"], (path, method, code)


def test_docs_page_is_served_from_our_own_static_files_without_inline_scripts(world):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert (
        b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in response.content
    )
    assert b'<script src="/api/docs/?script="></script>' in response.content
    assert b"cdn.jsdelivr.net" not in response.content
    # The Content-Security-Policy forbids inline scripts and styles.
    assert b"<script>" not in response.content
    assert b"<style" not in response.content
    assert b'<link rel="stylesheet" href="/static/api/docs.css">' in response.content


KEY = "xm_5c4e3a70_schemathesis-generated-requests-key-0000000000"

# The schema is read through the WSGI app once, at import; each generated request goes
# through the same app, against the test database with the cast below.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex="^/api/v1/")


@pytest.fixture
def cast(world):
    """The data generated requests meet, and Django's test-client treatment of connections."""
    # Raw WSGI calls would close the test's connection after each request (its transaction
    # with it); Django's test client detaches this handler the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield _cast(world)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _cast(world):
    api_key = ApiKey.objects.create(
        name="schemathesis", prefix="5c4e3a70", key_hash=keys.key_hash(KEY), rate_per_minute=10**6
    )
    invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    return api_key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_without_5xx_and_within_its_schema(case, cast):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
