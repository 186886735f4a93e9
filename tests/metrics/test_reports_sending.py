"""Sending the weekly report: opt-in only, in the subscriber's language, once per week (a second
run, a crash after the claim), a refused mail retried, the signed one-click unsubscribe."""

import datetime as dt
import smtplib

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audiences.models import Role
from metrics.models import ReportSubscription
from metrics.reports.mail import unsubscribe_token
from metrics.reports.services import weekly_reports_send
from metrics.tasks import weekly_reports_task
from tests.metrics.test_reports_support import (
    NOW,
    WEEK,
    customers_with_two_weeks,
    grant,
    staff_user,
    subscribe,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():  # noqa: ANN201
    return customers_with_two_weeks()


def _viewer(world, username="viewer", **extra):  # noqa: ANN001, ANN003, ANN202
    user = staff_user(username, **extra)
    grant(user, world.audience, Role.VIEWER)
    return user


def test_only_users_who_switched_it_on_get_the_report(world):
    on = _viewer(world, "on")
    subscribe(on)
    off = _viewer(world, "off")
    subscribe(off, enabled=False)
    _viewer(world, "never")  # no subscription row: off by default

    result = weekly_reports_send(now=NOW)

    assert (result.sent, result.failed) == (1, 0)
    assert [m.to for m in mail.outbox] == [["on@example.com"]]
    row = ReportSubscription.objects.get(user=on)
    assert (row.last_sent_week, row.last_sent_at is not None) == (WEEK, True)


def test_a_subscription_is_off_by_default_in_the_site_language(world):
    row = ReportSubscription.objects.create(user=_viewer(world))

    assert (row.enabled, row.language) == (False, settings.LANGUAGE_CODE)


def test_a_turkish_subscriber_gets_the_report_in_turkish(world):
    subscribe(_viewer(world, "ayse"), language="tr")
    subscribe(_viewer(world, "john"), language="en")

    weekly_reports_send(now=NOW)

    by_user = {m.to[0]: m for m in mail.outbox}
    turkish, english = by_user["ayse@example.com"], by_user["john@example.com"]
    assert turkish.subject == "Haftalık deneyim raporu: 8 Haziran 2026 – 14 Haziran 2026"
    assert english.subject == "Weekly experience report: 8 Jun 2026 – 14 Jun 2026"
    assert "Geçen hafta: 100 (n = 40 · ±0,0)" in turkish.body
    assert "gerçek bir artış" in turkish.body and "hata payı içinde" in turkish.body
    assert "Kitle sayfasını aç" in turkish.alternatives[0][0]
    assert "Customers (Müşteri)" in turkish.body
    assert "Last week" not in turkish.body
    assert 'lang="tr"' in turkish.alternatives[0][0]


def test_a_second_run_in_the_same_week_sends_nothing_and_next_week_sends_again(world):
    subscribe(_viewer(world))

    first = weekly_reports_send(now=NOW)
    again = weekly_reports_send(now=NOW + dt.timedelta(hours=5))
    next_week = weekly_reports_send(now=NOW + dt.timedelta(days=7))

    assert (first.sent, again.sent, next_week.sent) == (1, 0, 1)
    assert len(mail.outbox) == 2


def test_a_sender_that_dies_after_the_claim_never_sends_that_report_twice(world, monkeypatch):
    for name in ("anna", "bert", "cleo"):
        subscribe(_viewer(world, name))
    real_send = EmailMultiAlternatives.send

    def crash_on_bert(message, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if message.to == ["bert@example.com"]:
            raise SystemExit("worker killed")  # not a mail error: the run dies here
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", crash_on_bert)
    with pytest.raises(SystemExit):
        weekly_reports_send(now=NOW)
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    rerun = weekly_reports_send(now=NOW + dt.timedelta(minutes=5))

    assert rerun.sent == 1
    assert [m.to[0] for m in mail.outbox] == ["anna@example.com", "cleo@example.com"]
    bert = ReportSubscription.objects.get(user__username="bert")
    # Visible: claimed for the week, never marked sent.
    assert (bert.last_sent_week, bert.last_sent_at) == (WEEK, None)


def test_a_refused_mail_gives_the_claim_back_for_the_retry(world, monkeypatch):
    user = _viewer(world)
    subscribe(user)
    previous = WEEK - dt.timedelta(days=7)
    ReportSubscription.objects.filter(user=user).update(last_sent_week=previous)

    def refuse(message, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    failed = weekly_reports_send(now=NOW)
    assert (failed.sent, failed.failed) == (0, 1)
    assert ReportSubscription.objects.get(user=user).last_sent_week == previous
    monkeypatch.undo()

    assert weekly_reports_send(now=NOW).sent == 1
    assert len(mail.outbox) == 1


def test_users_who_may_not_log_in_or_see_nothing_get_no_report(world):
    subscribe(_viewer(world, "gone", is_active=False))
    subscribe(_viewer(world, "demoted", is_staff=False))
    subscribe(_viewer(world, "noaddress", email=""))
    subscribe(staff_user("nogrant"))

    assert weekly_reports_send(now=NOW).sent == 0
    assert mail.outbox == []
    # Not claimed: a grant given later in the week still brings this week's report.
    assert ReportSubscription.objects.get(user__username="nogrant").last_sent_week is None


def test_the_task_sends_and_the_beat_runs_it_on_monday_morning(world):
    subscribe(_viewer(world))

    assert weekly_reports_task.delay(NOW.isoformat()).get() == 1

    entry = settings.CELERY_BEAT_SCHEDULE["metrics-weekly-reports"]
    assert entry["task"] == weekly_reports_task.name == "metrics.weekly_reports_task"
    assert entry["schedule"] == crontab(hour=7, minute=0, day_of_week="mon")
    assert entry["options"]["expires"] > 0
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE


# --- Unsubscribe --------------------------------------------------------------------------


def _sent_link(world):  # noqa: ANN001, ANN202
    user = _viewer(world)
    subscribe(user, language="tr")
    weekly_reports_send(now=NOW)
    (message,) = mail.outbox
    return user, message


def test_the_email_carries_a_signed_one_click_unsubscribe_link_and_header(world):
    user, message = _sent_link(world)
    link = f"http://127.0.0.1:8000/reports/unsubscribe/{unsubscribe_token(user.pk)}/"

    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in message.body and link in message.alternatives[0][0]


def test_opening_the_link_asks_and_the_button_switches_the_report_off(world):
    user, _message = _sent_link(world)
    path = f"/reports/unsubscribe/{unsubscribe_token(user.pk)}/"
    client = Client()

    page = client.get(path)
    assert page.status_code == 200
    assert "Haftalık rapor durdurulsun mu?" in page.content.decode()
    assert page.headers["Content-Language"] == "tr"
    assert ReportSubscription.objects.get(user=user).enabled is True  # a GET changes nothing

    done = client.post(path)
    assert done.status_code == 200
    assert "Haftalık rapor e-postasını artık almayacaksınız." in done.content.decode()
    assert ReportSubscription.objects.get(user=user).enabled is False
    assert weekly_reports_send(now=NOW + dt.timedelta(days=7)).sent == 0


def test_a_mail_clients_one_click_post_needs_no_csrf_token(world):
    user, _message = _sent_link(world)
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        f"/reports/unsubscribe/{unsubscribe_token(user.pk)}/",
        {"List-Unsubscribe": "One-Click"},
    )

    assert response.status_code == 200
    assert ReportSubscription.objects.get(user=user).enabled is False


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("aa" if not token.endswith("aa") else "bb"),  # signature
        lambda token: "999" + token[token.index(":") :],  # another user's id, same signature
        lambda token: "1",
        lambda token: "not-a-token",
    ],
)
def test_a_tampered_link_is_refused_in_the_readers_language(world, mangle):
    user, _message = _sent_link(world)
    token = mangle(unsubscribe_token(user.pk))

    get = Client().get(f"/reports/unsubscribe/{token}/", HTTP_ACCEPT_LANGUAGE="tr")
    post = Client().post(f"/reports/unsubscribe/{token}/", HTTP_ACCEPT_LANGUAGE="en")

    assert get.status_code == post.status_code == 404
    assert "Bu bağlantı geçerli değil" in get.content.decode()
    assert "This link is not valid" in post.content.decode()
    assert ReportSubscription.objects.get(user=user).enabled is True


def test_a_token_signed_for_something_else_is_refused(world):
    from django.core import signing

    user, _message = _sent_link(world)
    other = signing.dumps(user.pk, salt="surveys.public-link.browser")

    response = Client().post(f"/reports/unsubscribe/{other}/")

    assert response.status_code == 404
    assert ReportSubscription.objects.get(user=user).enabled is True


def test_each_further_subscriber_costs_three_queries(world, django_assert_num_queries):
    subscribe(_viewer(world, "first"))
    with CaptureQueriesContext(connection) as one:
        weekly_reports_send(now=NOW)
    for name in ("second", "third"):
        subscribe(_viewer(world, name))
    ReportSubscription.objects.update(last_sent_week=None)

    # Per subscriber: their grants and owned audiences, the week's claim, the sent stamp.
    with django_assert_num_queries(len(one) + 2 * 3):
        assert weekly_reports_send(now=NOW).sent == 3
