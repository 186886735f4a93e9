"""Admin log-in: failed attempts are limited per user name and client address (django-axes),
with a translated lockout page that expires."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.test import Client
from django.utils import timezone, translation
from rest_framework.test import APIClient

from xmplatform.api.services import api_key_create
from xmplatform.login import lockout_message

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN = "/admin/login/?next=/admin/"


def attempt(client: Client, password: str, *, address: str = "198.51.100.7", **extra: str):  # noqa: ANN201
    return client.post(
        LOGIN,
        {"username": "xm.manager", "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **extra,
    )


def fail(client: Client, times: int, **kwargs: str) -> list[int]:
    return [attempt(client, "wrong", **kwargs).status_code for _ in range(times)]


def test_fifth_failure_locks_the_user_out_from_that_address_even_with_the_right_password(
    client, xm_manager
) -> None:  # noqa: ANN001
    statuses = fail(client, 5)
    locked = attempt(client, PASSWORD)

    # The admin answers a wrong password with its form again (200); the fifth is the lockout.
    assert statuses == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    page = locked.content.decode()
    assert "Too many failed log-ins for this user from your address." in page
    assert "locked for 15 minutes after the last attempt" in page
    assert 'id="login-form"' in page  # the admin's log-in page, not a bare error
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_user_and_address(client, xm_manager, outsider) -> None:  # noqa: ANN001
    fail(client, 5)

    other_address = attempt(client, PASSWORD, address="198.51.100.8")
    Client().post(LOGIN, {"username": "xm.manager", "password": "x"})  # noise elsewhere
    other_user = Client().post(
        LOGIN,
        {"username": "outsider", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="198.51.100.7",
    )

    assert (other_address.status_code, other_address["Location"]) == (302, "/admin/")
    assert other_user.status_code != 429


def test_lockout_expires_after_the_cool_off(client, xm_manager) -> None:  # noqa: ANN001
    fail(client, 5)
    assert attempt(client, PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    logged_in = attempt(client, PASSWORD)

    assert (logged_in.status_code, logged_in["Location"]) == (302, "/admin/")


def test_a_successful_log_in_clears_the_failures(client, xm_manager) -> None:  # noqa: ANN001
    fail(client, 4)
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()

    assert fail(client, 4) == [200, 200, 200, 200]
    assert attempt(client, PASSWORD).status_code == 302


def test_behind_a_proxy_the_forwarded_address_is_the_one_locked(
    client, xm_manager, settings
) -> None:  # noqa: ANN001
    settings.NUM_PROXIES = 1
    proxy = {"address": "127.0.0.1"}
    # A spoofed left-most entry changes nothing: the proxy's own entry is the address counted.
    fail(client, 3, HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.9", **proxy)
    fail(client, 2, HTTP_X_FORWARDED_FOR="203.0.113.2, 198.51.100.9", **proxy)

    locked = attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy)
    neighbour = attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.10", **proxy)

    assert locked.status_code == 429
    assert neighbour.status_code == 302
    assert list(AccessAttempt.objects.values_list("username", "ip_address")) == [
        ("xm.manager", "198.51.100.9")
    ]


def test_a_forwarded_value_that_is_no_address_is_counted_without_one(
    client, xm_manager, settings
) -> None:  # noqa: ANN001
    settings.NUM_PROXIES = 1
    page = attempt(client, "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-address")

    assert page.status_code == 200
    assert list(AccessAttempt.objects.values_list("username", "ip_address")) == [
        ("xm.manager", None)
    ]


def test_lockout_message_is_translated(client, xm_manager) -> None:  # noqa: ANN001
    fail(client, 5)

    locked = attempt(client, PASSWORD, HTTP_ACCEPT_LANGUAGE="tr")

    assert locked.status_code == 429
    with translation.override("tr"):
        assert lockout_message() in locked.content.decode()
    with translation.override("en"):
        english = lockout_message()
    with translation.override("tr"):
        assert lockout_message() != english


def test_test_client_log_in_without_a_request_still_works(client, xm_manager) -> None:  # noqa: ANN001
    assert client.login(username="xm.manager", password=PASSWORD) is True
    assert authenticate(username="xm.manager", password=PASSWORD) == xm_manager
    assert authenticate(username="xm.manager", password="wrong") is None
    client.force_login(xm_manager)
    assert client.get("/admin/").status_code == 200


def test_api_keys_are_not_counted_as_log_ins() -> None:
    _key, plain = api_key_create(name="CRM")
    stranger, crm = APIClient(), APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer xm_nope_0000")
    crm.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")

    statuses = [stranger.get("/api/v1/audiences/").status_code for _ in range(6)]

    assert statuses == [401] * 6
    assert crm.get("/api/v1/audiences/").status_code == 200
    assert AccessAttempt.objects.count() == 0
