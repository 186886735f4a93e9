"""Fixtures for sign-in tests: a local OpenID Connect provider, single sign-on switched on
against it, and two-step verification modes."""

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client

from tests.signin.fake_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider
from xmplatform.sso.conf import parse_group_grants

SSO_BACKEND = "xmplatform.sso.backend.SignInBackend"
GROUP_GRANTS = "xm-hr=employees:manager,xm-cx=customers:viewer,xm-cx-leads=customers:analyst"


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def sso(settings, provider: FakeProvider) -> FakeProvider:  # noqa: ANN001
    """Single sign-on on, against the fake provider (found by discovery)."""
    settings.SSO_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_OP_DISCOVERY_ENDPOINT = provider.url
    settings.OIDC_PROVIDER_NAME = "Acme ID"
    settings.OIDC_GRANTS_CLAIM = "groups"
    settings.OIDC_GROUP_GRANTS = parse_group_grants(GROUP_GRANTS)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, SSO_BACKEND]
    provider.person = {
        "sub": "acme-0001",
        "email": "ayse.yilmaz@acme.example",
        "preferred_username": "ayse.yilmaz",
        "given_name": "Ayşe",
        "family_name": "Yılmaz",
        "groups": ["xm-hr", "everyone"],
    }
    provider.tamper = {}
    cache.clear()
    return provider


def sso_sign_in(client: Client, provider: FakeProvider, next_url: str = "/admin/"):  # noqa: ANN201
    """Drive the whole code flow: start, the provider's authorize, the callback."""
    import requests

    start = client.get("/admin/sign-in/sso/", {"next": next_url})
    assert start.status_code == 302, start
    assert start["Location"].startswith(f"{provider.url}/authorize?")
    back = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    assert callback.path == "/admin/sign-in/sso/callback/"
    return client.get(f"{callback.path}?{callback.query}")
