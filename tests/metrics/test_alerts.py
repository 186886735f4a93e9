"""Response rules: a detractor opens exactly one case, assigned and e-mailed once."""

import datetime as dt
import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from metrics.closedloop import handlers, notifications, response_rules
from metrics.models import Alert, AlertRule, Case, CaseStatus, NotifyMode, RuleCondition
from surveys.models import QuestionType, Response
from tests.factories import make_user
from tests.metrics.closed_loop_support import (
    completed_response,
    contact_survey,
    detractor_rule,
    invite,
    submit,
)
from tests.metrics.conftest import opened_alerts
from tests.surveys.test_hosted_support import plain_static_files  # noqa: F401 - autouse
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.core.outbox import outbox_relay

pytestmark = pytest.mark.django_db


def _submit(client, django_capture_on_commit_callbacks, **kwargs) -> Response:  # noqa: ANN001
    survey = kwargs.pop("survey")
    _, token = invite(survey, external_id=kwargs.pop("external_id", "p-1"))
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, token, **kwargs)
    return Response.objects.filter(survey=survey).latest("pk")


def test_detractor_response_opens_one_case_for_the_owner_due_in_the_sla(
    client,
    django_capture_on_commit_callbacks,
    survey,
    rule,
) -> None:  # noqa: ANN001
    before = timezone.now()
    response = _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="3")

    alert = Alert.objects.get()
    case = Case.objects.get()
    assert alert.rule == rule
    assert alert.response == response
    assert alert.value == 3.0
    assert alert.window_start is None
    assert case.alert == alert
    assert case.assignee == survey.audience.owner
    assert case.person == response.person
    assert case.may_contact is True
    assert case.status == CaseStatus.NEW
    assert case.due_at == case.opened_at + dt.timedelta(hours=24)
    assert case.opened_at >= before
    assert case.title == "NPS (0–10) answer 3: Detractor callback"
    assert opened_alerts() == [alert.pk]
    [message] = mail.outbox
    assert message.to == ["customers-owner@example.com"]
    assert message.subject == "New case for Customers: NPS (0–10) answer 3: Detractor callback"
    assert f"/admin/metrics/case/{case.pk}/change/" in message.body
    assert message.alternatives[0][1] == "text/html"
    assert "not to be contacted" not in message.body
    alert.refresh_from_db()
    assert alert.notified_at is not None
    assert alert.notify_attempts == 1


def test_second_submit_and_rerun_handler_keep_one_case_and_one_email(
    client, django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    _, token = invite(survey)
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, token, nps="2")
        submit(client, token, nps="2")  # a second tab posts the same answers
    response = Response.objects.get()
    [alert] = Alert.objects.all()
    with django_capture_on_commit_callbacks(execute=True):
        # The outbox runs a row again after a crash: neither handler does anything twice.
        handlers.response_completed_handler(message_id=0, response_id=response.pk)
        handlers.alert_opened_handler(message_id=0, alert_id=alert.pk)
        assert response_rules.response_alerts_open(response_id=response.pk) == []

    assert Alert.objects.count() == 1
    assert Case.objects.count() == 1
    assert len(opened_alerts()) == 1
    assert len(mail.outbox) == 1


def test_passive_and_promoter_open_nothing_and_send_nothing(
    client,
    django_capture_on_commit_callbacks,
    survey,
    rule,
) -> None:  # noqa: ANN001
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="7")
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="10", external_id="p-2")

    assert Alert.objects.count() == 0
    assert Case.objects.count() == 0
    assert opened_alerts() == []
    assert mail.outbox == []


def test_anonymous_detractor_opens_no_alert_and_no_case(
    client,
    django_capture_on_commit_callbacks,
) -> None:  # noqa: ANN001
    survey = contact_survey(anonymous=True)
    detractor_rule(survey)
    response = _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="0")

    assert response.person_id is None
    assert Alert.objects.count() == 0
    assert Case.objects.count() == 0
    assert opened_alerts() == []
    assert mail.outbox == []


def test_respondent_who_said_no_gets_a_do_not_contact_case(
    client, django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="1", may_contact="no")

    case = Case.objects.get()
    assert case.may_contact is False
    [message] = mail.outbox
    assert "The respondent asked not to be contacted" in message.body
    assert "p-1" not in message.body  # no name or id of the respondent in the e-mail


def test_unasked_contact_question_leaves_permission_unknown(
    client, django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="4", may_contact=None)

    assert Case.objects.get().may_contact is None


def test_rule_chosen_user_is_assigned_instead_of_the_owner(
    client, django_capture_on_commit_callbacks, survey
) -> None:  # noqa: ANN001
    agent = make_user("callback-agent")
    detractor_rule(survey, assignee=agent)
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="5")

    assert Case.objects.get().assignee == agent
    assert mail.outbox[0].to == ["callback-agent@example.com"]


def test_keyword_rule_matches_free_text_case_insensitively(
    client, django_capture_on_commit_callbacks, survey
) -> None:  # noqa: ANN001
    AlertRule.objects.create(
        audience=survey.audience,
        name="Shipping",
        condition=RuleCondition.KEYWORD,
        keywords="iade, KARGO",
        notify=NotifyMode.NONE,
    )
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="5")

    assert Case.objects.get().title == "Keyword “kargo” in a comment: Shipping"
    assert mail.outbox == []


def test_csat_rule_and_nps_rule_each_open_their_own_case(
    client, django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    AlertRule.objects.create(
        audience=survey.audience,
        name="Unhappy",
        condition=RuleCondition.ANSWER_AT_MOST,
        question_type=QuestionType.CSAT,
        threshold=2,
    )
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="3")

    assert sorted(Case.objects.values_list("alert__rule__name", flat=True)) == [
        "Detractor callback",
        "Unhappy",
    ]
    assert len(mail.outbox) == 2


def test_rule_of_another_survey_or_an_inactive_rule_does_not_fire(
    client, django_capture_on_commit_callbacks, survey
) -> None:  # noqa: ANN001
    other = contact_survey(audience=survey.audience, name="Other")
    detractor_rule(survey, survey=other)
    detractor_rule(survey, active=False)
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="0")

    assert Alert.objects.count() == 0


def test_evaluating_a_response_costs_bounded_queries(
    django_assert_num_queries, survey, rule
) -> None:  # noqa: ANN001
    AlertRule.objects.create(
        audience=survey.audience,
        name="Keyword",
        condition=RuleCondition.KEYWORD,
        keywords="nothing-matches",
    )
    response = completed_response(survey, nps=3)
    # 1 response with survey and audience, 2 rules, 3 answers with their questions,
    # 4 insert the alerts (ON CONFLICT DO NOTHING), 5 the alerts inserted, 6 insert the cases,
    # 7 insert the alert's `alert.opened` outbox rows (one per handler, one INSERT).
    # (Was 7 with "mark the response checked" in place of the outbox rows.)
    with django_assert_num_queries(7):
        assert len(response_rules.response_alerts_open(response_id=response.pk)) == 1


def test_notification_is_claimed_once(
    client, django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="3")
    alert = Alert.objects.get()

    assert notifications.alert_mail_claim(alert_id=alert.pk, now=timezone.now()) is False
    assert notifications.alert_mail_send(alert_id=alert.pk) is False  # sent already
    assert len(mail.outbox) == 1


def test_mail_error_releases_the_claim_for_a_retry(survey, rule) -> None:  # noqa: ANN001
    response = completed_response(survey)
    with transaction.atomic():
        [alert_id] = response_rules.response_alerts_open(response_id=response.pk)
    assert notifications.alert_mail_claim(alert_id=alert_id, now=timezone.now()) is True
    with (
        mock.patch(
            "django.core.mail.EmailMultiAlternatives.send",
            side_effect=smtplib.SMTPServerDisconnected("gone"),
        ),
        pytest.raises(notifications.MailFailed),
    ):
        notifications.alert_mail_send(alert_id=alert_id)

    alert = Alert.objects.get()
    assert alert.notify_claimed_at is None
    assert alert.notified_at is None
    assert alert.mail_window is None
    assert alert.notify_attempts == 1
    assert notifications.alert_mail_claim(alert_id=alert_id, now=timezone.now()) is True
    assert notifications.alert_mail_send(alert_id=alert_id) is True
    assert len(mail.outbox) == 1
    assert Alert.objects.get().notify_attempts == 2


def test_database_refuses_a_second_alert_for_the_same_rule_and_response(
    client, django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="3")
    alert = Alert.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            rule=rule,
            audience=survey.audience,
            response=alert.response,
            summary="again",
            opened_at=timezone.now(),
            notify=NotifyMode.NONE,
        )


def test_alert_whose_relay_was_never_woken_is_mailed_by_the_sweep_once(
    django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    response = completed_response(survey)
    # Opened inside a transaction that never runs its on_commit callbacks: no wake reached a
    # worker; the rows wait for the minute's sweep.
    with transaction.atomic():
        [alert_id] = response_rules.response_alerts_open(response_id=response.pk)
    assert mail.outbox == []
    assert (
        list(OutboxMessage.objects.filter(event="alert.opened").values_list("payload", "state"))
        == [({"alert_id": alert_id}, OutboxState.PENDING)] * 2
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_relay() == 2  # the e-mail and the webhooks
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_relay() == 0

    assert len(mail.outbox) == 1
    assert Alert.objects.get().notified_at is not None


def test_rule_mails_once_per_cooldown_and_later_alerts_wait_for_the_digest(
    client, django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="1")
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="2", external_id="p-2")

    assert Case.objects.count() == 2
    assert len(mail.outbox) == 1
    first, second = Alert.objects.order_by("pk")
    assert first.notify == NotifyMode.IMMEDIATE
    assert first.mail_window is not None
    assert second.notify == NotifyMode.DIGEST
    assert second.notified_at is None
    assert notifications.alert_digests_send() == 1
    assert mail.outbox[1].subject == "Your daily alerts: 1"
    assert "NPS (0–10) answer 2: Detractor callback" in mail.outbox[1].body


def test_rule_without_cooldown_mails_every_alert(
    client, django_capture_on_commit_callbacks, survey
) -> None:  # noqa: ANN001
    detractor_rule(survey, cooldown=dt.timedelta(0))
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="1")
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="2", external_id="p-2")

    assert len(mail.outbox) == 2
    assert list(Alert.objects.values_list("notify", "mail_window")) == [
        (NotifyMode.IMMEDIATE, None),
        (NotifyMode.IMMEDIATE, None),
    ]
