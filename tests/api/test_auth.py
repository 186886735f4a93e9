"""Bearer keys: hashed at rest, revocable, read-only, throttled per key; the command prints once."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from tests.api.conftest import client_for
from xmplatform.api import keys
from xmplatform.api.models import ApiKey
from xmplatform.api.services import api_key_create, api_key_revoke
from xmplatform.core import ratelimit

pytestmark = pytest.mark.django_db


def test_request_without_key_is_401_with_bearer_challenge(world):
    response = APIClient().get("/api/v1/audiences/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_unknown_key_is_401(world):
    response = client_for("xm_deadbeef_not-a-real-key").get("/api/v1/audiences/")
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key is not valid."}


def test_wrong_scheme_is_401_saying_how_to_send_the_key(world, full_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {full_key}")
    response = client.get("/api/v1/audiences/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Send the API key as: Authorization: Bearer <key>."}


def test_only_the_hash_of_the_key_is_stored(world):
    api_key, plain = api_key_create(name="CRM")
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.key_hash == keys.key_hash(plain)
    assert plain not in {stored.prefix, stored.key_hash, stored.name}
    assert plain.startswith(f"xm_{stored.prefix}_")


def test_revoked_key_is_refused(world):
    api_key, plain = api_key_create(name="old")
    api_key_revoke(api_key=api_key)
    response = client_for(plain).get("/api/v1/audiences/")
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has been revoked."}


def test_use_is_recorded_once_a_minute(world, full_key, django_assert_num_queries):
    client = client_for(full_key)
    client.get("/api/v1/surveys/")
    assert ApiKey.objects.get().last_used_at is not None
    # key by prefix, its audiences, the surveys (no write: used less than a minute ago)
    with django_assert_num_queries(3):
        assert client.get("/api/v1/surveys/").status_code == 200


def test_read_only_key_reads_but_cannot_write(world, read_only_key):
    client = client_for(read_only_key)
    assert client.get("/api/v1/people/c-1/").status_code == 200
    response = client.post("/api/v1/people/", [{"external_id": "x-1"}], format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "This API key is read-only; use a key that may write."}
    assert client.delete("/api/v1/people/c-1/").status_code == 403


@pytest.fixture
def fixed_clock(monkeypatch):  # noqa: ANN001, ANN201
    """Ten seconds into a minute, so a test's requests never straddle two windows."""
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_010.0)


def test_key_over_its_rate_gets_429_with_retry_after(world, fixed_clock):
    _key, plain = api_key_create(name="chatty", rate_per_minute=2)
    client = client_for(plain)
    assert client.get("/api/v1/surveys/").status_code == 200
    assert client.get("/api/v1/surveys/").status_code == 200
    response = client.get("/api/v1/surveys/")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "50"


def test_throttle_counts_per_key(world, full_key, fixed_clock):
    _key, plain = api_key_create(name="chatty", rate_per_minute=1)
    assert client_for(plain).get("/api/v1/surveys/").status_code == 200
    assert client_for(plain).get("/api/v1/surveys/").status_code == 429
    assert client_for(full_key).get("/api/v1/surveys/").status_code == 200


def test_create_api_key_command_prints_the_key_once_and_scopes_it(world):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_key",
        "HR sync",
        "--audience",
        "employees",
        "--read-only",
        stdout=out,
        stderr=err,
    )
    plain = out.getvalue().strip()
    api_key = ApiKey.objects.get(name="HR sync")
    assert keys.key_matches(plain, api_key.key_hash)
    assert api_key.read_only is True
    assert list(api_key.audiences.values_list("slug", flat=True)) == ["employees"]
    assert "shown only this once" in err.getvalue()


def test_create_api_key_command_refuses_an_unknown_audience(world):
    with pytest.raises(CommandError, match="Unknown audience\\(s\\): fans. Known audiences"):
        call_command("create_api_key", "x", "--audience", "fans", stdout=io.StringIO())
    assert not ApiKey.objects.filter(name="x").exists()
