"""Working a case tells the outbox (`case.changed`) once per change, in the change's transaction."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from metrics.closedloop import cases
from metrics.models import AlertRule, Case, CaseStatus, RootCause, RuleCondition
from tests.factories import make_user
from tests.metrics.closed_loop_support import open_case
from tests.metrics.conftest import build_world
from xmplatform.core.models import OutboxMessage
from xmplatform.flows import HANDLERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(xm_manager) -> Case:  # noqa: ANN001
    world = build_world()
    world.audience.owner = xm_manager
    world.audience.save()
    rule = AlertRule.objects.create(
        audience=world.audience,
        name="NPS drop",
        condition=RuleCondition.SCORE_DROP,
        question_type="nps",
        notify="digest",
    )
    return open_case(rule, title="A", due_in=dt.timedelta(hours=4))


@pytest.fixture
def shipping() -> RootCause:
    return RootCause.objects.create(name="Late shipping")


def changes(case: Case) -> int:
    """The `case.changed` rows written for the case, per handler of the event."""
    rows = OutboxMessage.objects.filter(event="case.changed", payload__case_id=case.pk).count()
    return rows // len(HANDLERS["case.changed"])


def test_closing_with_a_note_tells_the_outbox_once(case, xm_manager, shipping) -> None:  # noqa: ANN001
    cases.case_close(
        case_id=case.pk,
        status=CaseStatus.RESOLVED,
        root_cause_id=shipping.pk,
        by=xm_manager,
        note="Called back",
    )

    assert changes(case) == 1
    assert list(
        OutboxMessage.objects.filter(event="case.changed").values_list("handler", "payload")
    ) == [(handler, {"case_id": case.pk}) for handler in HANDLERS["case.changed"]]


def test_reassigning_and_reopening_each_tell_the_outbox(case, xm_manager, shipping) -> None:  # noqa: ANN001
    case.assignee = make_user("ali")
    cases.case_save(case=case, by=xm_manager)
    closed = cases.case_close(
        case_id=case.pk, status=CaseStatus.WONT_FIX, root_cause_id=shipping.pk, by=xm_manager
    )
    closed.status = CaseStatus.IN_PROGRESS
    cases.case_save(case=closed, by=xm_manager, notes=["Reopened: the customer wrote again"])

    assert changes(case) == 3


def test_a_refused_close_tells_nothing(case, xm_manager) -> None:  # noqa: ANN001
    case.status = CaseStatus.RESOLVED

    with pytest.raises(ValidationError):
        cases.case_save(case=case, by=xm_manager, notes=["no cause given"])

    assert changes(case) == 0
    assert case.notes.count() == 0


def _form(case: Case, **changed: str) -> dict[str, str]:
    local = timezone.localtime(case.due_at)
    return {
        "status": case.status,
        "assignee": str(case.assignee_id),
        "due_at_0": local.strftime("%Y-%m-%d"),
        "due_at_1": local.strftime("%H:%M:%S"),
        "root_cause": "",
        "notes-TOTAL_FORMS": "1",
        "notes-INITIAL_FORMS": "0",
        "notes-MIN_NUM_FORMS": "0",
        "notes-MAX_NUM_FORMS": "1000",
        "notes-0-text": "",
        "notes-0-case": str(case.pk),
        **changed,
    }


def test_admin_save_of_a_status_and_a_note_tells_the_outbox_once(
    client, case, xm_manager, shipping
) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    response = client.post(
        reverse("admin:metrics_case_change", args=[case.pk]),
        _form(
            case,
            status=CaseStatus.RESOLVED,
            root_cause=str(shipping.pk),
            **{"notes-0-text": "Refund issued"},
        ),
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert list(case.notes.values_list("text", "author")) == [("Refund issued", xm_manager.pk)]
    assert changes(case) == 1


def test_admin_note_alone_tells_the_outbox_once(client, case, xm_manager) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    response = client.post(
        reverse("admin:metrics_case_change", args=[case.pk]),
        _form(case, **{"notes-0-text": "Left a voicemail"}),
    )

    assert response.status_code == 302
    assert list(case.notes.values_list("text", "author")) == [("Left a voicemail", xm_manager.pk)]
    assert changes(case) == 1


def test_admin_save_without_a_change_tells_nothing(client, case, xm_manager) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    response = client.post(reverse("admin:metrics_case_change", args=[case.pk]), _form(case))

    assert response.status_code == 302
    assert changes(case) == 0
