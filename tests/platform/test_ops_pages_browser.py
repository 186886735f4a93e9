"""The operator's pages in a real browser, in Turkish and English, on a phone and a desktop.

Dead letters (with their retry button), the outbox messages, the 503 page of a database that
cannot be reached (hosted and admin) and the person page (export link, erasure message).
Each page is saved as <page>-<lang>-<phone|desktop>.png under $SCREENSHOT_DIR (default: the
session's temporary directory) for a person to look at.
"""

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import SQLiteCursorWrapper
from django.utils import timezone

from audiences.models import Person
from tests.factories import make_audience, make_membership, make_person
from tests.support.browser import VIEWS
from tests.surveys.test_hosted_support import invite, make_survey
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.core.unavailable import RETRY_AFTER_SECONDS

# Every test sets its data up once and looks at its pages in both languages on both devices.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"

WEBHOOK_ERROR = """Traceback (most recent call last):
  File "/app/xmplatform/core/outbox.py", line 152, in _run
    handler(message_id=message.pk, **message.payload)
  File "/app/xmplatform/api/handlers.py", line 74, in webhook_due_handler
    services.webhook_delivery_post(delivery_id=delivery_id)
  File "/app/xmplatform/api/services/webhooks.py", line 211, in webhook_delivery_post
    raise ConnectionError("receiver refused")
ConnectionError: receiver refused"""
ERASURE_ERROR = """Traceback (most recent call last):
  File "/app/xmplatform/people.py", line 41, in person_erased_handler
    responses_erase(person_id=person_id)
django.db.utils.OperationalError: canceling statement due to statement timeout"""
ALERT_ERROR = """Traceback (most recent call last):
  File "/app/metrics/closedloop/handlers.py", line 38, in alert_opened_handler
    send_mail(subject, body, None, recipients)
smtplib.SMTPServerDisconnected: Connection unexpectedly closed"""


@pytest.fixture
def outbox_rows() -> dict[str, OutboxMessage]:
    """A morning's outbox: relayed rows, one waiting out its backoff and two dead letters."""
    now = timezone.now()

    def ago(minutes: int) -> dt.datetime:
        return now - dt.timedelta(minutes=minutes)

    rows = {
        "completed": OutboxMessage(
            event="response.completed",
            handler="metrics.closedloop.handlers.response_completed_handler",
            payload={"response_id": 5120},
            state=OutboxState.DONE,
            attempts=1,
            created_at=ago(95),
            available_at=ago(95),
            done_at=ago(95),
        ),
        "invitations": OutboxMessage(
            event="invitation.due",
            handler="surveys.distribution.sending.invitations_due_handler",
            payload={},
            state=OutboxState.DONE,
            attempts=1,
            created_at=ago(60),
            available_at=ago(60),
            done_at=ago(60),
        ),
        "alert": OutboxMessage(
            event="alert.opened",
            handler="metrics.closedloop.handlers.alert_opened_handler",
            payload={"alert_id": 311},
            state=OutboxState.PENDING,
            attempts=2,
            created_at=ago(12),
            available_at=now + dt.timedelta(seconds=40),
            last_error=ALERT_ERROR,
        ),
        "webhook": OutboxMessage(
            event="webhook.due",
            handler="xmplatform.api.handlers.webhook_due_handler",
            payload={"delivery_ids": [9001, 9002]},
            state=OutboxState.DEAD,
            attempts=8,
            created_at=ago(240),
            available_at=ago(30),
            last_error=WEBHOOK_ERROR,
        ),
        "erased": OutboxMessage(
            event="person.erased",
            handler="xmplatform.people.person_erased_handler",
            payload={"person_id": 77},
            state=OutboxState.DEAD,
            attempts=8,
            created_at=ago(300),
            available_at=ago(45),
            last_error=ERASURE_ERROR,
        ),
    }
    for row in rows.values():
        row.save()
    return rows


def log_in(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "xm.manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def look(page: Any, shots: Path, name: str, lang: str, device: str) -> None:
    """Saves the whole page and checks that a phone never scrolls it sideways."""
    page.screenshot(path=str(shots / f"{name}-{lang}-{device}.png"), full_page=True)
    if device == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name


DEAD_LETTERS = {"tr": "Teslim edilemeyen kayıtlar", "en": "Dead letters"}
RETRY = {"tr": "Şimdi yeniden dene", "en": "Retry now"}
RETRIED = {
    "tr": "1 teslim edilemeyen kayıt yeniden beklemede; aktarıcı şimdi ele alıyor.",
    "en": "1 dead letter is pending again; the relay takes it now.",
}


def test_a_dead_letter_is_retried_from_its_page(
    open_page: Any, live_server: Any, shots: Path, xm_manager: Any, outbox_rows: dict
) -> None:
    webhook = outbox_rows["webhook"]
    fields = ("state", "attempts", "available_at", "done_at", "last_error")
    dead = {field: getattr(webhook, field) for field in fields}
    for lang, device in VIEWS:
        OutboxMessage.objects.filter(pk=webhook.pk).update(**dead)  # dead again
        _retry_in_view(open_page(lang, device), live_server, shots, webhook, lang, device)


def _retry_in_view(
    page: Any, live_server: Any, shots: Path, webhook: OutboxMessage, lang: str, device: str
) -> None:
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/core/deadletter/")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator(".breadcrumbs").inner_text().endswith(DEAD_LETTERS[lang])
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "ConnectionError: receiver refused" in rows.nth(1).inner_text()
    look(page, shots, "deadletters", lang, device)

    page.goto(f"{live_server.url}/admin/core/deadletter/{webhook.pk}/change/")
    button = page.get_by_role("button", name=RETRY[lang])
    assert button.is_visible()
    assert page.locator(".field-last_error .readonly").inner_text() == WEBHOOK_ERROR
    look(page, shots, "deadletter", lang, device)

    button.click()
    page.wait_for_url(f"{live_server.url}/admin/core/deadletter/")
    assert page.locator(".messagelist .success").inner_text() == RETRIED[lang]
    assert page.locator("#result_list tbody tr").count() == 1
    assert "webhook.due" not in page.locator("#result_list").inner_text()
    look(page, shots, "deadletters-retried", lang, device)
    webhook.refresh_from_db()
    # The relay took it at once (the deliveries it names are gone: nothing left to post).
    assert (webhook.state, webhook.attempts) == (OutboxState.DONE, 1)


STATES = {
    "tr": ["Teslim edilemeyen", "Teslim edilemeyen", "Bekliyor", "Tamamlandı", "Tamamlandı"],
    "en": ["Dead letter", "Dead letter", "Pending", "Done", "Done"],
}


def test_the_outbox_messages_list(
    open_page: Any, live_server: Any, shots: Path, xm_manager: Any, outbox_rows: dict
) -> None:
    for lang, device in VIEWS:
        _outbox_in_view(open_page(lang, device), live_server, shots, lang, device)


def _outbox_in_view(page: Any, live_server: Any, shots: Path, lang: str, device: str) -> None:
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/core/outboxmessage/")
    assert (
        page.locator(".breadcrumbs")
        .inner_text()
        .endswith({"tr": "Giden kutusu kayıtları", "en": "Outbox messages"}[lang])
    )
    states = page.locator("#result_list tbody td.field-state").all_inner_texts()
    assert [state.replace("\n", " ") for state in states] == STATES[lang]
    look(page, shots, "outbox", lang, device)
    if device == "desktop":
        # Beside the sidebar and the filter every column is in view, the last one too.
        table, box = page.evaluate(
            "[document.querySelector('#result_list').scrollWidth,"
            " document.querySelector('#changelist-form .results').clientWidth]"
        )
        assert table <= box


@contextmanager
def database_away() -> Iterator[None]:
    """Every SQLite statement fails as it does while another process holds the file."""
    locked = sqlite3.OperationalError("database is locked")
    with (
        mock.patch.object(SQLiteCursorWrapper, "execute", side_effect=locked),
        mock.patch.object(SQLiteCursorWrapper, "executemany", side_effect=locked),
    ):
        yield


UNAVAILABLE = {"tr": "Geçici olarak kullanılamıyor", "en": "Temporarily unavailable"}
TRY_AGAIN = {"tr": "Yeniden deneyin", "en": "Try again"}


def test_the_503_page_while_the_database_is_away(
    open_page: Any, live_server: Any, shots: Path, xm_manager: Any
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the outage is staged on SQLite; PostgreSQL's is drilled in tests/integration")
    survey = make_survey()
    for lang, device in VIEWS:
        _, token = invite(survey, external_id=f"p-{lang}-{device}", language=lang)
        _outage_in_view(open_page(lang, device), live_server, shots, token, lang, device)


def _outage_in_view(
    page: Any, live_server: Any, shots: Path, token: str, lang: str, device: str
) -> None:
    log_in(page, live_server)

    for name, path in [("503-hosted", f"/s/{token}/"), ("503-admin", "/admin/core/deadletter/")]:
        with database_away():
            response = page.goto(f"{live_server.url}{path}")
        assert response.status == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert response.headers["content-language"] == lang
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("h1").inner_text() == UNAVAILABLE[lang]
        look(page, shots, name, lang, device)

    # The database is back: "Try again" opens the page asked for, nothing was restarted.
    with page.expect_navigation() as back:
        page.get_by_role("link", name=TRY_AGAIN[lang]).click()
    assert back.value.status == 200
    assert page.url == f"{live_server.url}/admin/core/deadletter/"
    assert page.locator(".breadcrumbs").inner_text().endswith(DEAD_LETTERS[lang])


EXPORT = {"tr": "Verileri dışa aktar (JSON)", "en": "Export data (JSON)"}
ERASE = {"tr": "Bu kişiyi sil", "en": "Erase this person"}
ERASED = {"tr": "#{id} numaralı kişi silindi.", "en": "Person #{id} was erased."}


def test_the_person_page_exports_and_erases(
    open_page: Any, live_server: Any, shots: Path, xm_manager: Any
) -> None:
    customers = make_audience("customers", name="Customers")
    for n, (lang, device) in enumerate(VIEWS):
        person = make_person(f"cust-104{n}", name="Ayşe Yılmaz", email=f"ayse{n}@example.com")
        make_membership(person, customers)
        _erase_in_view(open_page(lang, device), live_server, shots, person, lang, device)


def _erase_in_view(
    page: Any, live_server: Any, shots: Path, person: Person, lang: str, device: str
) -> None:
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/audiences/person/{person.pk}/change/")
    export = page.get_by_role("link", name=EXPORT[lang])
    erase = page.get_by_role("link", name=ERASE[lang])
    assert export.is_visible() and erase.is_visible()
    # Erasure cannot be undone: its button is the admin's delete red, the export's is not.
    background = "a => getComputedStyle(a).backgroundColor"
    colours = [link.evaluate(background) for link in (export, erase)]
    assert colours[1] == "rgb(186, 33, 33)" != colours[0]
    look(page, shots, "person", lang, device)

    with page.expect_download() as download:
        export.click()
    assert download.value.suggested_filename == f"person-{person.pk}.json"
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert "Ayşe Yılmaz" in json.dumps(exported, ensure_ascii=False)

    erase.click()
    look(page, shots, "person-erase", lang, device)
    page.locator("#content form [type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/audiences/person/")
    assert page.locator(".messagelist .success").inner_text() == ERASED[lang].format(id=person.pk)
    look(page, shots, "person-erased", lang, device)
    assert not Person.objects.filter(pk=person.pk).exists()
