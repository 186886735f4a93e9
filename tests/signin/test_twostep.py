"""Two-step verification of password log-ins (XM_2FA): the set-up with a QR code, the code after
the password, wrong codes limited (django-axes lockout and the device's own delay), and single
sign-on accounts never asked."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import make_audience
from tests.signin.conftest import sso_sign_in

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
ADDRESS = "198.51.100.7"
CODE_PAGE = "/admin/sign-in/code/"
SET_UP_PAGE = "/admin/sign-in/set-up/"


def log_in(client: Client, username: str = "xm.manager", next_url: str = "/admin/"):  # noqa: ANN201
    return client.post(
        f"/admin/login/?next={next_url}",
        {"username": username, "password": PASSWORD, "next": next_url},
        REMOTE_ADDR=ADDRESS,
    )


def code_for(key_hex: str, *, offset: int = 0) -> str:
    return f"{totp(bytes.fromhex(key_hex), drift=offset):06d}"


def enter(client: Client, code: str, page: str = CODE_PAGE, next_url: str = "/admin/"):  # noqa: ANN201
    return client.post(page, {"code": code, "next": next_url}, REMOTE_ADDR=ADDRESS)


@pytest.fixture
def device(xm_manager) -> TOTPDevice:  # noqa: ANN001
    return TOTPDevice.objects.create(user=xm_manager, name="phone", confirmed=True)


def wait_out_the_delay() -> None:
    """As if the device's delay after the last wrong code had passed."""
    TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - dt.timedelta(hours=1))


def test_off_asks_nothing_even_with_a_device(client: Client, device) -> None:  # noqa: ANN001
    assert log_in(client)["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_required_leads_a_new_account_through_the_set_up(
    client: Client, xm_manager, settings
) -> None:  # noqa: ANN001
    settings.XM_2FA = "required"

    assert log_in(client, next_url="/admin/surveys/survey/")["Location"] == (
        "/admin/surveys/survey/"
    )
    # Every page sends the half-finished log-in to the set-up, with the page as `next`.
    for path in ("/admin/surveys/survey/", "/admin/audiences/audience/", "/api/v1/people/"):
        page = client.get(path)
        assert page.status_code == 302
        assert page["Location"].startswith(f"{SET_UP_PAGE}?next=")
    posted = client.post("/admin/audiences/audience/add/", {"slug": "x"})
    assert posted["Location"].startswith(SET_UP_PAGE)

    set_up = client.get(f"{SET_UP_PAGE}?next=/admin/surveys/survey/")
    html = set_up.content.decode()
    assert set_up.status_code == 200
    assert '<svg role="img"' in html and "xm-qr" in html
    assert "Not now" not in html  # required: no putting it off
    key = client.session["xm_two_step_key"]

    wrong = enter(client, "000000" if code_for(key) != "000000" else "111111", SET_UP_PAGE)
    assert wrong.status_code == 200
    assert "That code does not match" in wrong.content.decode()
    assert not TOTPDevice.objects.exists()
    assert enter(client, "12ab", SET_UP_PAGE).status_code == 200  # not digits: a form error

    done = enter(client, code_for(key), SET_UP_PAGE, "/admin/surveys/survey/")

    assert (done.status_code, done["Location"]) == (302, "/admin/surveys/survey/")
    device = TOTPDevice.objects.get(user=xm_manager)
    assert device.confirmed and device.key == key
    assert client.get("/admin/surveys/survey/").status_code == 200


def test_an_account_with_a_device_gives_its_code_after_the_password(
    client: Client, device, settings
) -> None:  # noqa: ANN001
    settings.XM_2FA = "optional"

    log_in(client)
    first = client.get("/admin/")
    assert first["Location"] == f"{CODE_PAGE}?next=%2Fadmin%2F"
    page = client.get(first["Location"])
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()

    code = code_for(device.key)
    done = enter(client, code)

    assert (done.status_code, done["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200

    # The same code does not open a second log-in (it was used). The code itself is reused:
    # asked for again, it could be the next 30 seconds' one.
    other = Client()
    log_in(other)
    again = enter(other, code)
    assert again.status_code == 200
    assert "That code is not right" in again.content.decode()


def test_wrong_codes_lock_the_user_out_like_wrong_passwords(
    client: Client, device, settings
) -> None:  # noqa: ANN001
    settings.XM_2FA = "required"
    wrong = "000000" if code_for(device.key) != "000000" else "111111"
    log_in(client)

    statuses = []
    for _ in range(5):
        wait_out_the_delay()
        statuses.append(enter(client, wrong).status_code)

    assert statuses == [200, 200, 200, 200, 429]
    assert AccessAttempt.objects.get(username="xm.manager").failures_since_start == 5
    assert "_auth_user_id" not in client.session  # the half-finished log-in is over
    # The password alone does not get past the lockout either.
    again = log_in(client)
    assert again.status_code == 429
    assert "Too many failed log-ins" in again.content.decode()


def test_the_device_waits_longer_after_each_wrong_code(client: Client, device, settings) -> None:  # noqa: ANN001
    settings.XM_2FA = "required"
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a minute, not a second: a slow run stays inside it
    log_in(client)
    wrong = "000000" if code_for(device.key) != "000000" else "111111"

    enter(client, wrong)
    blocked = enter(client, code_for(device.key))  # even the right code, within the delay

    assert blocked.status_code == 200
    assert "Too many wrong codes. Wait" in blocked.content.decode()
    # A new password log-in does not reset the device's delay.
    client.logout()
    log_in(client)
    assert "Too many wrong codes" in enter(client, code_for(device.key)).content.decode()
    wait_out_the_delay()
    assert enter(client, code_for(device.key))["Location"] == "/admin/"


def test_optional_offers_the_set_up_once_and_lets_it_wait(
    client: Client, xm_manager, settings
) -> None:  # noqa: ANN001
    settings.XM_2FA = "optional"
    log_in(client)

    offered = client.get("/admin/")
    assert offered["Location"].startswith(SET_UP_PAGE)
    page = client.get(offered["Location"]).content.decode()
    assert "Not now" in page

    later = client.post(SET_UP_PAGE, {"later": "1", "next": "/admin/"})

    assert later["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert not TOTPDevice.objects.exists()


def test_log_out_and_the_language_switch_stay_open(client: Client, device, settings) -> None:  # noqa: ANN001
    settings.XM_2FA = "required"
    log_in(client)

    assert client.post("/i18n/setlang/", {"language": "tr", "next": CODE_PAGE}).status_code == 302
    assert client.get(CODE_PAGE).status_code == 200
    out = client.post("/admin/logout/")
    assert out.status_code == 200
    assert "_auth_user_id" not in client.session


def test_single_sign_on_accounts_are_not_asked(client: Client, sso, settings) -> None:  # noqa: ANN001
    settings.XM_2FA = "required"
    make_audience("employees", kind="employee")

    done = sso_sign_in(client, sso)

    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert not TOTPDevice.objects.filter(user__username="ayse.yilmaz").exists()
    assert get_user_model().objects.get(username="ayse.yilmaz").is_staff
