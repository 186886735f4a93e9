"""Working cases: closing needs a root cause, "my open cases" (overdue first), admin errors."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import resolve, reverse
from django.utils import timezone

from metrics.closedloop import cases
from metrics.models import AlertRule, Case, CaseNote, CaseStatus, RootCause, RuleCondition
from tests.factories import make_user
from tests.metrics.closed_loop_support import open_case
from tests.metrics.conftest import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(xm_manager):  # noqa: ANN001, ANN201
    world = build_world()
    world.audience.owner = xm_manager
    world.audience.save()
    return AlertRule.objects.create(
        audience=world.audience,
        name="NPS drop",
        condition=RuleCondition.SCORE_DROP,
        question_type="nps",
        notify="digest",
    )


@pytest.fixture
def shipping() -> RootCause:
    return RootCause.objects.create(name="Late shipping")


def test_closing_without_a_root_cause_is_refused(rule, xm_manager) -> None:  # noqa: ANN001
    case = open_case(rule, title="A", due_in=dt.timedelta(hours=4))
    case.status = CaseStatus.RESOLVED

    with pytest.raises(ValidationError) as error:
        cases.case_save(case=case, by=xm_manager)

    assert error.value.message_dict == {
        "root_cause": ["Choose the root cause before closing the case."]
    }
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert case.closed_at is None


def test_database_refuses_a_closed_case_without_root_cause(rule) -> None:  # noqa: ANN001
    case = open_case(rule, title="A", due_in=dt.timedelta(hours=4))

    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.WONT_FIX, closed_at=timezone.now())


def test_close_stamps_the_time_and_reopening_clears_it(rule, xm_manager, shipping) -> None:  # noqa: ANN001
    case = open_case(rule, title="A", due_in=dt.timedelta(hours=4))

    closed = cases.case_close(
        case_id=case.pk,
        status=CaseStatus.RESOLVED,
        root_cause_id=shipping.pk,
        by=xm_manager,
        note="Called back, sent a voucher",
    )

    assert closed.closed_at is not None
    assert CaseNote.objects.get().text == "Called back, sent a voucher"
    assert CaseNote.objects.get().author == xm_manager
    closed.status = CaseStatus.IN_PROGRESS
    cases.case_save(case=closed, by=xm_manager)
    closed.refresh_from_db()
    assert closed.closed_at is None


def test_my_open_cases_lists_mine_overdue_first(client, rule, xm_manager, shipping) -> None:  # noqa: ANN001
    open_case(rule, title="Due tomorrow", due_in=dt.timedelta(days=1))
    open_case(rule, title="Overdue by a day", due_in=-dt.timedelta(days=1))
    open_case(rule, title="Due in an hour", due_in=dt.timedelta(hours=1))
    open_case(rule, title="Someone else's", due_in=-dt.timedelta(days=3), assignee=make_user("ali"))
    done = open_case(rule, title="Closed already", due_in=-dt.timedelta(days=5))
    cases.case_close(
        case_id=done.pk, status=CaseStatus.WONT_FIX, root_cause_id=shipping.pk, by=xm_manager
    )
    client.force_login(xm_manager)

    response = client.get(reverse("admin:metrics_case_changelist") + "?assigned=me&state=open")

    assert response.status_code == 200
    titles = [c.title for c in response.context["cl"].result_list]
    assert titles == ["Overdue by a day", "Due in an hour", "Due tomorrow"]


def test_admin_resolving_without_root_cause_shows_the_error(client, rule, xm_manager) -> None:  # noqa: ANN001
    case = open_case(rule, title="A", due_in=dt.timedelta(hours=4))
    client.force_login(xm_manager)
    url = reverse("admin:metrics_case_change", args=[case.pk])

    response = client.post(url, _form(case, status=CaseStatus.RESOLVED, root_cause=""))

    assert response.status_code == 200
    assert "Choose the root cause before closing the case." in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW


def test_admin_resolves_with_root_cause_and_a_note(client, rule, xm_manager, shipping) -> None:  # noqa: ANN001
    case = open_case(rule, title="A", due_in=dt.timedelta(hours=4))
    client.force_login(xm_manager)
    url = reverse("admin:metrics_case_change", args=[case.pk])

    response = client.post(
        url,
        _form(case, status=CaseStatus.RESOLVED, root_cause=str(shipping.pk), note="Refund issued"),
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert case.root_cause == shipping
    assert case.closed_at is not None
    assert list(case.notes.values_list("text", "author")) == [("Refund issued", xm_manager.pk)]


def test_admin_rejects_a_bad_rule_with_field_errors(client, rule, xm_manager) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    response = client.post(
        reverse("admin:metrics_alertrule_add"),
        {
            "name": "Bad",
            "active": "on",
            "audience": str(rule.audience_id),
            "condition": RuleCondition.SCORE_BELOW,
            "question_type": "",
            "threshold": "abc",
            "window_days": "7",
            "cooldown": "1 00:00:00",
            "sla": "1 00:00:00",
            "notify": "immediate",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["threshold"] == [
        "Enter a number.",
        "Give the score X (or the response rate Y %).",
    ]
    assert errors["question_type"] == ["Choose the metric the rule watches."]
    assert AlertRule.objects.count() == 1


def test_admin_rejects_immediate_mail_for_a_score_rule(client, rule, xm_manager) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    response = client.post(
        reverse("admin:metrics_alertrule_add"),
        {
            "name": "Storm",
            "active": "on",
            "audience": str(rule.audience_id),
            "condition": RuleCondition.SCORE_BELOW,
            "question_type": "nps",
            "threshold": "10",
            "window_days": "7",
            "cooldown": "00:01:00",
            "sla": "1 00:00:00",
            "notify": "immediate",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["notify"] == ["Score alerts go out in the daily digest (or not at all)."]
    assert errors["cooldown"] == ["A cooldown shorter than 5 minutes is a notification storm."]
    assert AlertRule.objects.count() == 1


def test_case_admin_url_is_not_taken_for_an_audience_slug() -> None:
    assert resolve("/admin/metrics/case/").url_name == "metrics_case_changelist"
    assert resolve("/admin/metrics/customers/").url_name == "audience"


def _form(case: Case, *, status: str, root_cause: str, note: str = "") -> dict[str, str]:
    local = timezone.localtime(case.due_at)
    return {
        "status": status,
        "assignee": str(case.assignee_id),
        "due_at_0": local.strftime("%Y-%m-%d"),
        "due_at_1": local.strftime("%H:%M:%S"),
        "root_cause": root_cause,
        "notes-TOTAL_FORMS": "1",
        "notes-INITIAL_FORMS": "0",
        "notes-MIN_NUM_FORMS": "0",
        "notes-MAX_NUM_FORMS": "1000",
        "notes-0-text": note,
        "notes-0-case": str(case.pk),
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {
                "condition": RuleCondition.ANSWER_AT_MOST,
                "question_type": "csat_mean",
                "threshold": 2,
            },
            "question_type",
            "A single answer has no mean: choose CSAT.",
        ),
        (
            {"condition": RuleCondition.SCORE_BELOW, "question_type": "ces", "threshold": 3},
            "scale_max",
            "Give the scale (e.g. 5 or 7): means of two scales never mix.",
        ),
        (
            {"condition": RuleCondition.KEYWORD, "keywords": " , "},
            "keywords",
            "Give at least one keyword, e.g. “refund, rude”.",
        ),
        (
            {"condition": RuleCondition.ANY_ANSWER},
            "question",
            "Choose the question whose answers raise an alert.",
        ),
    ],
)
def test_rule_validation_names_the_field_and_the_fix(rule, fields, field, message) -> None:  # noqa: ANN001
    bad = AlertRule(audience=rule.audience, name="Bad", notify="digest", **fields)

    with pytest.raises(ValidationError) as error:
        bad.full_clean()

    assert error.value.message_dict[field] == [message]
