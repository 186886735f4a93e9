"""The closed loop's outbox handlers: response rules once per response, the alert e-mail at most
once whatever reruns (and retried when the mail server refuses it)."""

import datetime as dt
import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from metrics.closedloop import handlers, response_rules
from metrics.models import Alert, AlertRule, Case, RuleCondition
from surveys.models import Answer, Response
from tests.metrics.closed_loop_support import completed_response, contact_survey, detractor_rule
from tests.metrics.conftest import opened_alerts
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.core.outbox import outbox_emit, outbox_relay

MAIL_HANDLER = "metrics.closedloop.handlers.alert_opened_handler"
RULES_HANDLER = "metrics.closedloop.handlers.response_completed_handler"


@pytest.mark.django_db
def test_a_completed_response_row_opens_the_case_announces_it_and_mails_once(
    django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    response = completed_response(survey)
    with transaction.atomic():
        outbox_emit("response.completed", response_id=response.pk)

    with django_capture_on_commit_callbacks(execute=True):
        outbox_relay()

    alert = Alert.objects.get()
    assert alert.response == response
    assert Case.objects.get().alert == alert
    assert opened_alerts() == [alert.pk]
    assert OutboxMessage.objects.get(handler=RULES_HANDLER).state == OutboxState.DONE
    assert OutboxMessage.objects.get(handler=MAIL_HANDLER).state == OutboxState.DONE
    [message] = mail.outbox
    assert message.subject == "New case for Customers: NPS (0–10) answer 2: Detractor callback"


@pytest.mark.django_db
def test_a_rerun_of_the_rules_handler_opens_nothing_and_announces_nothing(
    django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    response = completed_response(survey)
    handlers.response_completed_handler(message_id=1, response_id=response.pk)
    announced = OutboxMessage.objects.filter(event="alert.opened").count()

    handlers.response_completed_handler(message_id=1, response_id=response.pk)

    assert Alert.objects.count() == Case.objects.count() == 1
    assert OutboxMessage.objects.filter(event="alert.opened").count() == announced == 2


@pytest.mark.django_db
def test_an_anonymous_response_never_reaches_the_rules(survey) -> None:  # noqa: ANN001
    AlertRule.objects.create(
        audience=survey.audience, name="Shipping", condition=RuleCondition.KEYWORD, keywords="kargo"
    )
    survey.anonymous = True
    survey.save()
    response = Response.objects.create(
        survey=survey,
        audience=survey.audience,
        channel="email",
        language="en",
        completed_on=dt.date(2026, 10, 1),
    )
    Answer.objects.create(
        response=response, question=survey.questions.get(key="improve"), text="Kargo geç"
    )

    with mock.patch.object(response_rules, "_rules_apply") as evaluate:
        handlers.response_completed_handler(message_id=1, response_id=response.pk)

    evaluate.assert_not_called()  # the rules never receive an anonymous response's text
    assert Alert.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_a_crash_between_the_claim_and_the_mail_never_sends_twice(
    django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    response = completed_response(survey)
    [alert_id] = response_rules.response_alerts_open(response_id=response.pk)
    # The claim committed with the outbox row, then the worker died before sending.
    handlers.alert_opened_handler(message_id=1, alert_id=alert_id)

    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        handlers.alert_opened_handler(message_id=1, alert_id=alert_id)

    assert after_commit == []
    assert mail.outbox == []
    alert = Alert.objects.get()
    assert alert.notify_claimed_at is not None  # visibly claimed, not sent
    assert alert.notified_at is None
    assert alert.notify_attempts == 1


@pytest.mark.django_db
def test_a_crash_after_the_mail_never_sends_twice(
    django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    response = completed_response(survey)
    [alert_id] = response_rules.response_alerts_open(response_id=response.pk)
    with django_capture_on_commit_callbacks(execute=True):
        handlers.alert_opened_handler(message_id=1, alert_id=alert_id)
    # The mail went out, then the worker died before recording it.
    Alert.objects.update(notified_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        handlers.alert_opened_handler(message_id=1, alert_id=alert_id)

    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_refused_mail_is_retried_by_the_outbox_with_backoff_and_sent_once() -> None:
    survey = contact_survey()
    detractor_rule(survey)
    response = completed_response(survey)
    refused = smtplib.SMTPServerDisconnected("gone")
    with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=refused):
        with transaction.atomic():
            [alert_id] = response_rules.response_alerts_open(response_id=response.pk)
        # The commit woke the relay (in-process here): the send after its commit was refused.

    row = OutboxMessage.objects.get(handler=MAIL_HANDLER)
    assert (row.state, row.attempts) == (OutboxState.PENDING, 1)
    assert "MailFailed" in row.last_error
    assert row.available_at > timezone.now() + dt.timedelta(seconds=5)
    alert = Alert.objects.get()
    assert (alert.notify_claimed_at, alert.mail_window, alert.notify_attempts) == (None, None, 1)
    assert mail.outbox == []

    outbox_relay(now=timezone.now() + dt.timedelta(seconds=11))

    row.refresh_from_db()
    assert (row.state, row.attempts) == (OutboxState.DONE, 2)
    alert.refresh_from_db()
    assert alert.notified_at is not None
    assert alert.notify_attempts == 2
    assert [m.to for m in mail.outbox] == [["customers-owner@example.com"]]
    assert alert_id == alert.pk
