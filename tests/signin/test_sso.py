"""Single sign-on with OpenID Connect, driven end to end against a local provider: accounts made
on the first sign-in, groups to audience grants set again at every sign-in, and refusals of
tokens that are not for us, of people without access, and of callbacks we did not start."""

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client

from audiences.models import AudienceGrant, AuditAction, AuditLog, Role
from audiences.services import grant_set
from tests.factories import make_audience
from tests.signin.conftest import sso_sign_in
from xmplatform.sso.models import SsoIdentity

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def audiences():  # noqa: ANN201
    return {
        "employees": make_audience("employees", kind="employee"),
        "customers": make_audience("customers"),
        "partners": make_audience("partners"),
    }


def grants(user) -> dict[str, int]:  # noqa: ANN001
    return dict(
        AudienceGrant.objects.filter(user=user).values_list("audience__slug", "role").order_by()
    )


def messages_of(response) -> list[str]:  # noqa: ANN001
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_off_by_default_no_button_and_no_pages(client: Client) -> None:
    page = client.get("/admin/login/")

    assert page.status_code == 200
    assert 'id="xm-sso"' not in page.content.decode()
    assert client.get("/admin/sign-in/sso/").status_code == 404
    assert client.get("/admin/sign-in/sso/callback/?code=x&state=y").status_code == 404


def test_login_page_offers_the_provider_with_next(client: Client, sso) -> None:  # noqa: ANN001
    page = client.get("/admin/login/?next=/admin/surveys/survey/").content.decode()

    assert "Sign in with Acme ID" in page
    assert 'href="/admin/sign-in/sso/?next=/admin/surveys/survey/"' in page
    assert 'id="login-form"' in page  # password accounts still log in beside it


def test_first_sign_in_makes_a_staff_account_with_the_groups_grants(
    client: Client, sso, audiences
) -> None:  # noqa: ANN001
    done = sso_sign_in(client, sso, "/admin/surveys/survey/")

    assert (done.status_code, done["Location"]) == (302, "/admin/surveys/survey/")
    user = User.objects.get(username="ayse.yilmaz")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert (user.is_staff, user.is_superuser, user.has_usable_password()) == (True, False, False)
    assert (user.email, user.first_name, user.last_name) == (
        "ayse.yilmaz@acme.example",
        "Ayşe",
        "Yılmaz",
    )
    identity = SsoIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject, identity.groups) == (
        sso.url,
        "acme-0001",
        ["everyone", "xm-hr"],
    )
    assert grants(user) == {"employees": Role.MANAGER}
    entry = AuditLog.objects.get(action=AuditAction.GRANT_ADDED, target="user ayse.yilmaz")
    assert (entry.actor, entry.actor_username) == (None, "single sign-on")
    # The admin opens with what the grant allows.
    assert client.get("/admin/audiences/audience/").status_code == 200


def test_grants_follow_the_groups_at_every_sign_in(client: Client, sso, audiences) -> None:  # noqa: ANN001
    sso_sign_in(client, sso)
    user = User.objects.get(username="ayse.yilmaz")
    # Given by hand in the admin, on an audience the provider does not manage: kept.
    grant_set(user=user, audience=audiences["partners"], role=Role.VIEWER, actor=None)

    client.logout()
    sso.person["groups"] = ["xm-cx", "xm-cx-leads"]
    done = sso_sign_in(client, sso)

    assert done.status_code == 302
    assert grants(user) == {"customers": Role.ANALYST, "partners": Role.VIEWER}
    assert AuditLog.objects.filter(
        action=AuditAction.GRANT_REMOVED, actor_username="single sign-on"
    ).exists()
    assert User.objects.count() == 1 + 3  # the three audiences' owners

    client.logout()
    sso.person.update(groups=["xm-cx"], email="ayse@acme.example")
    sso_sign_in(client, sso)
    user.refresh_from_db()
    assert grants(user) == {"customers": Role.VIEWER, "partners": Role.VIEWER}
    assert user.email == "ayse@acme.example"


def test_no_mapped_group_makes_no_account(client: Client, sso, audiences) -> None:  # noqa: ANN001
    sso.person["groups"] = ["everyone"]

    done = sso_sign_in(client, sso)

    assert (done.status_code, done["Location"]) == (302, "/admin/login/")
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="ayse.yilmaz").exists()
    page = client.get("/admin/login/").content.decode()
    assert "gives no access to xmplatform" in page


def test_leaving_every_group_withdraws_the_grants_and_refuses(
    client: Client, sso, audiences
) -> None:  # noqa: ANN001
    sso_sign_in(client, sso)
    client.logout()
    sso.person["groups"] = []

    done = sso_sign_in(client, sso)

    assert done["Location"] == "/admin/login/"
    assert "_auth_user_id" not in client.session
    assert grants(User.objects.get(username="ayse.yilmaz")) == {}


def test_a_password_account_with_the_same_e_mail_is_not_taken_over(
    client: Client, sso, audiences, django_user_model
) -> None:  # noqa: ANN001
    existing = django_user_model.objects.create_superuser(
        "ayse.yilmaz", "ayse.yilmaz@acme.example", "correct-horse-battery"
    )

    sso_sign_in(client, sso)

    assert client.session["_auth_user_id"] != str(existing.pk)
    made = User.objects.get(pk=client.session["_auth_user_id"])
    assert (made.username, made.is_superuser) == ("ayse.yilmaz-2", False)


@pytest.mark.parametrize(
    "tamper",
    [
        {"aud": "another-client"},
        {"iss": "https://impostor.example"},
        {"key": "other"},  # signed with a key the provider's JWKS does not hold
        {"exp": 1_000_000_000},
        {"nonce": "not-this-sign-in"},
    ],
    ids=["audience", "issuer", "signature", "expired", "nonce"],
)
def test_tokens_not_for_this_sign_in_are_refused(client: Client, sso, audiences, tamper) -> None:  # noqa: ANN001
    sso.tamper = tamper

    done = sso_sign_in(client, sso)

    assert (done.status_code, done["Location"]) == (302, "/admin/login/")
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="ayse.yilmaz").exists()
    assert "The sign-in could not be verified." in " ".join(messages_of(done))


def test_a_callback_this_browser_did_not_start_goes_back_to_the_login_page(
    client: Client, sso, audiences
) -> None:  # noqa: ANN001
    start = client.get("/admin/sign-in/sso/")
    back = requests.get(start["Location"], allow_redirects=False, timeout=5)
    code = back.headers["Location"].split("code=")[1].split("&")[0]

    forged = client.get(f"/admin/sign-in/sso/callback/?code={code}&state=forged")
    cancelled = client.get("/admin/sign-in/sso/callback/?error=access_denied&state=x")
    stranger = Client().get(back.headers["Location"].replace("http://testserver", ""))

    for response in (forged, cancelled, stranger):
        assert (response.status_code, response["Location"]) == (302, "/admin/login/")
    assert "cancelled or refused" in " ".join(messages_of(cancelled))
    assert "_auth_user_id" not in client.session


def test_a_provider_that_cannot_be_reached_is_a_message_not_an_error(
    client: Client, sso, settings
) -> None:  # noqa: ANN001
    settings.OIDC_OP_DISCOVERY_ENDPOINT = "http://127.0.0.1:9/"

    start = client.get("/admin/sign-in/sso/?next=/admin/")

    assert start.status_code == 302
    assert start["Location"] == "/admin/login/?next=%2Fadmin%2F"
    assert "could not be reached" in " ".join(messages_of(start))


def test_an_unsafe_next_is_not_followed(client: Client, sso, audiences) -> None:  # noqa: ANN001
    done = sso_sign_in(client, sso, "https://evil.example/")

    assert done["Location"] == "/admin/"


def test_password_log_in_is_not_sent_to_the_provider(client: Client, sso, xm_manager) -> None:  # noqa: ANN001
    before = len(sso.requests)
    done = client.post(
        "/admin/login/?next=/admin/",
        {"username": "xm.manager", "password": "correct-horse-battery", "next": "/admin/"},
    )

    assert (done.status_code, done["Location"]) == (302, "/admin/")
    assert len(sso.requests) == before


def test_superusers_see_who_signed_in_through_the_provider(
    client: Client, sso, audiences, xm_manager
) -> None:  # noqa: ANN001
    sso_sign_in(client, sso)
    assert client.get("/admin/sso/ssoidentity/").status_code == 403  # staff, not superuser

    client.force_login(xm_manager)
    listing = client.get("/admin/sso/ssoidentity/")

    assert listing.status_code == 200
    assert "acme-0001" in listing.content.decode()
