"""The weekly report in a real browser, in Turkish and English, on a phone and a desktop: the
"My weekly report" page (switch on, preview), the e-mail's HTML as a mail client would show it,
and the unsubscribe page. Screenshots go to $SCREENSHOT_DIR as report-<what>-<lang>-<device>.png.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from audiences.models import Role
from metrics.models import ReportSubscription
from metrics.reports import selectors as report_selectors
from metrics.reports.mail import report_message, unsubscribe_token
from metrics.reports.selectors import report_for
from tests.metrics.test_reports_support import (
    NOW,
    WEEK,
    customers_with_two_weeks,
    grant,
    overdue_cases,
    staff_user,
    staff_with_anonymous_periods,
    subscribe,
)
from tests.support.browser import VIEWS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
# Each test sets its data up once and looks at the page in every language and device
# (tests.support.browser.VIEWS).

PASSWORD = "correct-horse-battery"


@pytest.fixture
def analyst(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An analyst of the customers (drivers, topics, overdue cases) and the staff pulse."""
    customers = customers_with_two_weeks()
    overdue_cases(customers)
    staff = staff_with_anonymous_periods()
    user = staff_user("analyst")
    grant(user, customers.audience, Role.ANALYST)
    grant(user, staff.audience, Role.VIEWER)

    def drivers(survey_id: int, outcome: str, limit: int) -> list[dict[str, Any]]:
        if outcome != "nps":
            return []
        return [
            {"label": "Teslimat hızı / Delivery speed", "importance": 0.46},
            {"label": "Fiyat / Price", "importance": 0.29},
            {"label": "Destek / Support", "importance": 0.25},
        ]

    def topics(survey_id: int, limit: int) -> list[dict[str, Any]]:
        if survey_id != customers.survey.pk:
            return []
        return [
            {"label": "kargo / geç / late", "share": 0.38, "sentiment": -0.42},
            {"label": "price / fiyat / pahalı", "share": 0.21, "sentiment": -0.18},
        ]

    monkeypatch.setattr(report_selectors, "top_drivers", drivers)
    monkeypatch.setattr(report_selectors, "top_topics", topics)
    return user


def log_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def look(page: Any, shots: Path, name: str, lang: str, device: str) -> None:
    """Saves the whole page and checks that a phone never scrolls it sideways."""
    page.screenshot(path=str(shots / f"report-{name}-{lang}-{device}.png"), full_page=True)
    if device == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name


HEADING = {"tr": "Haftalık raporum", "en": "My weekly report"}
SAVED = {"tr": "Haftalık rapor açık.", "en": "The weekly report is on."}
PREVIEWED = {"tr": "önizleme", "en": "A preview covering 2 audiences"}


def test_the_opt_in_page(
    open_page: Callable[[str, str], Any], live_server: Any, shots: Path, analyst: Any
) -> None:
    for lang, device in VIEWS:
        mail.outbox.clear()
        _opt_in(open_page(lang, device), live_server, shots, analyst, lang, device)


def press(page: Any, button: str) -> None:
    """A form's button pressed from the keyboard, and the page it posts to awaited."""
    with page.expect_navigation():
        page.focus(button)
        page.keyboard.press("Enter")


def _opt_in(page: Any, live_server: Any, shots: Path, analyst: Any, lang: str, device: str) -> None:
    log_in(page, live_server, "analyst")
    page.click("#xm-my-report")
    assert page.inner_text("h1") == HEADING[lang]
    assert page.locator("#xm-report-audiences li").count() == 2
    look(page, shots, "settings", lang, device)

    page.check("#id_enabled")
    page.select_option("#id_language", lang)
    press(page, "button[value=save]")
    assert SAVED[lang] in page.inner_text(".messagelist")
    row = ReportSubscription.objects.get(user=analyst)
    assert (row.enabled, row.language) == (True, lang)
    press(page, "button[value=preview]")
    assert PREVIEWED[lang] in page.inner_text(".messagelist")
    assert len(mail.outbox) == 1
    look(page, shots, "settings-saved", lang, device)


FLAG = {"tr": "gerçek bir artış", "en": "a real rise"}


def test_the_email_as_a_mail_client_shows_it(
    open_page: Callable[[str, str], Any], shots: Path, analyst: Any
) -> None:
    for lang, device in VIEWS:
        _email_in_view(open_page, shots, analyst, lang, device)


def _email_in_view(
    open_page: Callable[[str, str], Any], shots: Path, analyst: Any, lang: str, device: str
) -> None:
    reports = report_for(analyst, language=lang, now=NOW)
    message = report_message(user=analyst, language=lang, reports=reports, week=WEEK)
    page = open_page(lang, device)

    page.set_content(message.alternatives[0][0])

    assert page.locator(".xm-audience").count() == 2
    assert page.locator(".xm-flag").count() == 1
    assert FLAG[lang] in page.inner_text(".xm-flag")
    staff = page.locator(".xm-audience").nth(1).inner_text()
    assert "n = 6" in staff and "n = 20" not in staff  # May, never the open June period
    look(page, shots, "email", lang, device)


STOP = {"tr": "Haftalık raporu durdur", "en": "Stop the weekly report"}
STOPPED = {"tr": "Haftalık rapor kapalı", "en": "The weekly report is off"}


def test_the_unsubscribe_page(
    open_page: Callable[[str, str], Any], live_server: Any, shots: Path, analyst: Any
) -> None:
    for lang, device in VIEWS:
        ReportSubscription.objects.filter(user=analyst).delete()
        subscribe(analyst, language=lang)
        _unsubscribe(open_page(lang, device), live_server, shots, analyst, lang, device)


def _unsubscribe(
    page: Any, live_server: Any, shots: Path, analyst: Any, lang: str, device: str
) -> None:

    page.goto(f"{live_server.url}/reports/unsubscribe/{unsubscribe_token(analyst.pk)}/")
    look(page, shots, "unsubscribe", lang, device)
    button = page.locator("section form button")
    assert button.inner_text() == STOP[lang]
    with page.expect_navigation():
        button.click()

    assert page.inner_text("h1") == STOPPED[lang]
    assert ReportSubscription.objects.get(user=analyst).enabled is False
    look(page, shots, "unsubscribed", lang, device)
    page.goto(f"{live_server.url}/reports/unsubscribe/x{unsubscribe_token(analyst.pk)}/")
    look(page, shots, "unsubscribe-invalid", lang, device)
