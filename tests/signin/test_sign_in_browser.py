"""The sign-in pages in a real browser, in Turkish and English, on a phone and a desktop.

With single sign-on on (the local provider) and two-step verification required: the log-in page
with its "Sign in with …" button, the whole single sign-on round trip by clicking it, a password
log-in that continues with the code page, and the set-up page with its QR code for an account
without an app. Saved as signin-<page>-<lang>-<device>.png under $SCREENSHOT_DIR.
"""

from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import make_audience
from tests.support.browser import DEVICES, LOCALES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
WORDS = {
    "tr": {"sso": "Acme ID ile oturum açın", "code": "İki adımlı doğrulama"},
    "en": {"sso": "Sign in with Acme ID", "code": "Two-step verification"},
}


def password_log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")


def test_sign_in_pages(  # noqa: PLR0915
    live_server, open_page, shots: Path, sso, settings, django_user_model
) -> None:  # noqa: ANN001
    settings.XM_2FA = "required"
    make_audience("employees", kind="employee")
    manager = django_user_model.objects.create_superuser("xm.manager", "xm@example.com", PASSWORD)
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    django_user_model.objects.create_superuser("new.manager", "new@example.com", PASSWORD)
    base = live_server.url

    for lang in LOCALES:
        for name in DEVICES:
            words, tag = WORDS[lang], f"{lang}-{name}"

            page = open_page(lang, name)
            page.goto(f"{base}/admin/login/?next=/admin/")
            button = page.locator("#xm-sso")
            assert button.inner_text().strip() == words["sso"]
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
            page.screenshot(path=str(shots / f"signin-login-{tag}.png"), full_page=True)
            # The whole round trip: our start page, the provider, our callback, the admin.
            button.click()
            page.wait_for_url(f"{base}/admin/")
            expect(page.locator("#user-tools, #xm-nav").first).to_be_attached()

            page = open_page(lang, name)
            password_log_in(page, base, "xm.manager")
            page.wait_for_url(f"{base}/admin/sign-in/code/**")
            assert page.locator(".xm-sign-in-title").inner_text().strip() == words["code"]
            page.screenshot(path=str(shots / f"signin-code-{tag}.png"), full_page=True)
            page.fill("#id_code", "000000" if totp(device.bin_key) else "111111")
            page.click("#xm-code-form input[type=submit]")
            # The click only starts the post: wait for the answered page, not the one it left.
            expect(page.locator(".errornote, .errorlist").first).to_be_visible()
            page.screenshot(path=str(shots / f"signin-code-wrong-{tag}.png"), full_page=True)
            # Each loop uses a code again: as if it were a new one, and no delay to wait out.
            TOTPDevice.objects.filter(pk=device.pk).update(
                last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
            )
            page.fill("#id_code", f"{totp(device.bin_key):06d}")
            page.click("#xm-code-form input[type=submit]")
            page.wait_for_url(f"{base}/admin/")

            page = open_page(lang, name)
            password_log_in(page, base, "new.manager")
            page.wait_for_url(f"{base}/admin/sign-in/set-up/**")
            assert page.locator("svg.xm-qr").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
            page.screenshot(path=str(shots / f"signin-set-up-{tag}.png"), full_page=True)
