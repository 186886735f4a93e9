"""Response rules: a detractor opens exactly one case, assigned and e-mailed once."""

import datetime as dt
import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from metrics.closedloop import alerts
from metrics.models import Alert, AlertRule, Case, CaseStatus, NotifyMode, RuleCondition
from metrics.tasks import response_alerts_task
from surveys.models import QuestionType, Response
from tests.factories import make_user
from tests.metrics.closed_loop_support import contact_survey, detractor_rule, invite, submit
from tests.surveys.test_hosted_support import plain_static_files  # noqa: F401 - autouse

pytestmark = pytest.mark.django_db


def _submit(client, django_capture_on_commit_callbacks, **kwargs) -> Response:  # noqa: ANN001
    survey = kwargs.pop("survey")
    _, token = invite(survey, external_id=kwargs.pop("external_id", "p-1"))
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, token, **kwargs)
    return Response.objects.filter(survey=survey).latest("pk")


def test_detractor_response_opens_one_case_for_the_owner_due_in_the_sla(
    client, django_capture_on_commit_callbacks, survey, rule, opened_alerts
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
    assert opened_alerts == [alert.pk]
    [message] = mail.outbox
    assert message.to == ["customers-owner@example.com"]
    assert message.subject == "New case for Customers: NPS (0–10) answer 3: Detractor callback"
    assert f"/admin/metrics/case/{case.pk}/change/" in message.body
    assert message.alternatives[0][1] == "text/html"
    assert "not to be contacted" not in message.body
    alert.refresh_from_db()
    assert alert.notified_at is not None
    assert alert.notify_attempts == 1


def test_second_submit_and_retried_task_keep_one_case_and_one_email(
    client, django_capture_on_commit_callbacks, survey, rule, opened_alerts
) -> None:  # noqa: ANN001
    _, token = invite(survey)
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, token, nps="2")
        submit(client, token, nps="2")  # a second tab posts the same answers
    response = Response.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response_alerts_task.delay(response.pk)  # a retry, or a redelivered message
        assert alerts.response_alerts_open(response_id=response.pk) == []

    assert Alert.objects.count() == 1
    assert Case.objects.count() == 1
    assert len(opened_alerts) == 1
    assert len(mail.outbox) == 1


def test_passive_and_promoter_open_nothing_and_send_nothing(
    client, django_capture_on_commit_callbacks, survey, rule, opened_alerts
) -> None:  # noqa: ANN001
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="7")
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="10", external_id="p-2")

    assert Alert.objects.count() == 0
    assert Case.objects.count() == 0
    assert opened_alerts == []
    assert mail.outbox == []


def test_anonymous_detractor_opens_no_alert_and_no_case(
    client, django_capture_on_commit_callbacks, opened_alerts
) -> None:  # noqa: ANN001
    survey = contact_survey(anonymous=True)
    detractor_rule(survey)
    response = _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="0")

    assert response.person_id is None
    assert Alert.objects.count() == 0
    assert Case.objects.count() == 0
    assert opened_alerts == []
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
    client, django_capture_on_commit_callbacks, django_assert_num_queries, survey, rule
) -> None:  # noqa: ANN001
    AlertRule.objects.create(
        audience=survey.audience,
        name="Keyword",
        condition=RuleCondition.KEYWORD,
        keywords="nothing-matches",
    )
    with mock.patch.object(alerts, "response_alerts_open", return_value=[]):
        response = _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="3")
    # 1 response with survey and audience, 2 rules, 3 answers with their questions,
    # 4 insert the alerts (ON CONFLICT DO NOTHING), 5 the alerts inserted, 6 insert the cases.
    # (No seventh: the response is no longer marked checked, the outbox row is the record.)
    with django_assert_num_queries(6):
        assert len(alerts.response_alerts_open(response_id=response.pk)) == 1


def test_notification_is_claimed_once(
    client, django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    _submit(client, django_capture_on_commit_callbacks, survey=survey, nps="3")
    alert = Alert.objects.get()

    assert alerts.alert_notify(alert_id=alert.pk) is False
    assert len(mail.outbox) == 1


def test_mail_error_releases_the_claim_for_a_retry(survey, rule) -> None:  # noqa: ANN001
    _, token = invite(survey)
    from surveys.models import Answer, Question

    response = Response.objects.create(
        survey=survey,
        audience=survey.audience,
        person=survey.invitations.get().person,
        channel="email",
        language="en",
        completed_on=timezone.localdate(),
        completed_at=timezone.now(),
    )
    Answer.objects.create(response=response, question=Question.objects.get(key="nps"), number=2)
    with transaction.atomic():
        [alert_id] = alerts.response_alerts_open(response_id=response.pk)
    with (
        mock.patch(
            "django.core.mail.EmailMultiAlternatives.send",
            side_effect=smtplib.SMTPServerDisconnected("gone"),
        ),
        pytest.raises(alerts.MailFailed),
    ):
        alerts.alert_notify(alert_id=alert_id)

    alert = Alert.objects.get()
    assert alert.notify_claimed_at is None
    assert alert.notified_at is None
    assert alert.notify_attempts == 1
    assert alerts.alert_notify(alert_id=alert_id) is True
    assert len(mail.outbox) == 1


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


def test_lost_dispatch_is_picked_up_by_the_reconciler(survey, rule) -> None:  # noqa: ANN001
    _, token = invite(survey)
    from surveys.models import Answer, Question

    response = Response.objects.create(
        survey=survey,
        audience=survey.audience,
        person=survey.invitations.get().person,
        channel="email",
        language="en",
        completed_on=timezone.localdate(),
        completed_at=timezone.now(),
    )
    Answer.objects.create(response=response, question=Question.objects.get(key="nps"), number=2)
    # Opened inside a transaction that never runs its on_commit callbacks: the task is lost.
    with transaction.atomic():
        alerts.response_alerts_open(response_id=response.pk)
    assert mail.outbox == []

    assert alerts.alerts_redispatch(now=timezone.now() + dt.timedelta(minutes=1)) == 0
    assert alerts.alerts_redispatch(now=timezone.now() + dt.timedelta(minutes=3)) == 1
    assert alerts.alerts_redispatch(now=timezone.now() + dt.timedelta(minutes=4)) == 0

    assert len(mail.outbox) == 1


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
    assert alerts.alert_digests_send() == 1
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
