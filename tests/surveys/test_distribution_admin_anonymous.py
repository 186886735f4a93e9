"""Distribution admin, anonymous surveys: nothing here moves when a person opens or answers."""

import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.urls import reverse

from audiences.models import Audience, AudienceKind, Role
from metrics.tasks import anonymous_periods_release_task
from surveys import services, tokens
from surveys.distribution.funnel import survey_funnel
from surveys.models import (
    Invitation,
    InvitationState,
    Question,
    QuestionType,
    Response,
    Survey,
)
from tests.access.conftest import staff_with_grant
from tests.factories import make_audience
from tests.surveys.distribution_factories import (
    DAY,
    make_invitation,
    make_survey,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static(settings):
    """Pages render without a collectstatic manifest (the production storage needs one)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


UTC = datetime.UTC
SEPTEMBER_8 = datetime.datetime(2026, 9, 8, 9, tzinfo=UTC)
SEPTEMBER_14 = datetime.datetime(2026, 9, 14, 9, tzinfo=UTC)
AFTER_SEPTEMBER = datetime.datetime(2026, 10, 1, 0, 5, tzinfo=UTC)


@contextmanager
def clock(moment: datetime.datetime) -> Iterator[None]:
    """Every `timezone.now()` (and so `localdate()`) reads `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def employees() -> Audience:
    return Audience.objects.filter(slug="employees").first() or make_audience(
        "employees", kind=AudienceKind.EMPLOYEE
    )


def pulse_invited(count: int = 6, **invitation: object) -> tuple[Survey, list[Invitation]]:
    """An anonymous employee pulse (monthly periods, k = 5) with `count` invitations."""
    survey = make_survey(employees(), name="Pulse", anonymous=True)
    Question.objects.create(survey=survey, key="enps", type=QuestionType.NPS, order=1)
    invitation = invitation or {"state": InvitationState.SENT, "sent_at": SEPTEMBER_8 - DAY}
    return survey, [
        make_invitation(survey, member(employees(), f"emp-{i}"), **invitation) for i in range(count)
    ]


def answer(invitation: Invitation, *, at: datetime.datetime, enps: int = 7) -> None:
    """The person opens the invitation and answers through the hosted pages' services."""
    invitation.refresh_from_db()
    with clock(at):
        services.invitation_mark_opened(invitation=invitation)
        services.response_answer(
            respondent=services.Respondent(
                survey=invitation.survey,
                invitation=invitation,
                token=tokens.token_for(invitation.nonce),
            ),
            questions=list(invitation.survey.questions.all()),
            values={"enps": enps},
            language="en",
            user_agent="Mozilla/5.0",
        )


def release(*, at: datetime.datetime) -> None:
    """What beat does: release the batches that are due, publish the periods that ended."""
    with clock(at):
        anonymous_periods_release_task()


@pytest.fixture
def hr_manager(xm_manager):
    """Runs distribution for the employee audience only (not a superuser)."""
    return staff_with_grant("hr.manager", employees(), Role.MANAGER, xm_manager)


@pytest.fixture
def hr_analyst(xm_manager):
    """Analyses the employee audience only."""
    return staff_with_grant("hr.analyst", employees(), Role.ANALYST, xm_manager)


def funnel_table(client, survey: Survey) -> str:  # noqa: ANN001
    page = client.get(reverse("admin:surveys_distribution_panel", args=[survey.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index('<table id="distribution-funnel">')
    return html[start : html.index("</table>", start)]


def funnel_rows(client, survey: Survey) -> dict[str, str]:  # noqa: ANN001
    """The funnel's stages and figures as shown: {"Sent": "6", "Opened": "—", …}."""
    body = funnel_table(client, survey).split("<tbody>")[1]
    cells = r"<t[dh]>(?:<a [^>]*>)?([^<]+)(?:</a>)?</t[dh]><t[dh][^>]*>([^<]*)</t[dh]>"
    return {stage.strip(): figure.strip() for stage, figure in re.findall(cells, body)}


def test_an_anonymous_answer_moves_no_funnel_count_below_superuser_until_its_period_is_published(
    client, hr_analyst
):
    survey, invitations = pulse_invited()
    client.force_login(hr_analyst)
    before = funnel_table(client, survey)
    assert funnel_rows(client, survey) == {
        "Planned": "0",
        "Suppressed": "0",
        "Sending": "0",
        "Delivery unknown": "0",
        "Sent": "6",
        "Opened": "—",
        "Responded": "0",
        "Failed or bounced": "0",
        "Response rate": "0 %",
    }

    answer(invitations[0], at=SEPTEMBER_8)
    assert funnel_table(client, survey) == before
    for i, invitation in enumerate(invitations[1:5], start=1):
        answer(invitation, at=SEPTEMBER_8 + i * datetime.timedelta(hours=3))
    release(at=SEPTEMBER_14)  # a batch of k = 5 is released: the period is still open
    assert Response.objects.filter(survey=survey, released=True).count() == 5
    assert funnel_table(client, survey) == before

    release(at=AFTER_SEPTEMBER)  # September ends: published, all its answers at once
    shown = funnel_rows(client, survey)
    assert (shown["Sent"], shown["Opened"], shown["Responded"], shown["Response rate"]) == (
        "6",
        "—",
        "5",
        "83 %",
    )


def test_a_superuser_sees_the_real_funnel_of_an_anonymous_survey(client, xm_manager):
    survey, invitations = pulse_invited()
    answer(invitations[0], at=SEPTEMBER_8)
    Invitation.objects.filter(pk=invitations[1].pk).update(state=InvitationState.OPENED)
    client.force_login(xm_manager)
    shown = funnel_rows(client, survey)
    assert (shown["Sent"], shown["Opened"], shown["Responded"]) == ("6", "2", "1")
    assert (
        "funnel-anonymous"
        not in client.get(
            reverse("admin:surveys_distribution_panel", args=[survey.pk])
        ).content.decode()
    )


def test_anonymous_funnel_below_superuser_is_one_grouped_query(django_assert_num_queries):
    survey, invitations = pulse_invited()
    answer(invitations[0], at=SEPTEMBER_8)
    answer(invitations[1], at=SEPTEMBER_8)
    release(at=AFTER_SEPTEMBER)
    answer(invitations[2], at=AFTER_SEPTEMBER)  # October: not published
    # SELECT <counted state>, suppression_reason, COUNT(id) … WHERE survey … GROUP BY 1, 2
    # (whether a period is published is an EXISTS inside that same statement).
    with django_assert_num_queries(1):
        funnel = survey_funnel(survey=survey)
    assert (funnel.masked, funnel.sent, funnel.opened, funnel.responded) == (True, 4, 0, 2)
    with django_assert_num_queries(1):  # SELECT state, suppression_reason, COUNT(id) … GROUP BY
        real = survey_funnel(survey=survey, real=True)
    assert (real.masked, real.sent, real.opened, real.responded) == (False, 3, 0, 3)


def delivery_unknown_page(client) -> str:  # noqa: ANN001
    """The delivery-unknown page's content, without its per-request CSRF tokens."""
    page = client.get(reverse("admin:surveys_distribution_unknown")).content.decode()
    content = page[page.index('<div id="content-main">') :]
    return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", content)


def delivery_unknown_rows(client) -> list[str]:  # noqa: ANN001
    return re.findall(r'name="ids" value="(\d+)"', delivery_unknown_page(client))


def test_delivery_unknown_list_leaves_anonymous_surveys_out_below_superuser(
    client, hr_manager, xm_manager
):
    claimed = {"state": InvitationState.DELIVERY_UNKNOWN, "claimed_at": SEPTEMBER_8 - DAY}
    survey, [stuck] = pulse_invited(1, **claimed)
    onboarding = make_survey(employees(), name="Onboarding")  # named: listed as ever
    named = make_invitation(onboarding, member(employees(), "emp-named"), **claimed)
    client.force_login(hr_manager)
    page = client.get(reverse("admin:surveys_distribution_unknown")).content.decode()
    assert delivery_unknown_rows(client) == [str(named.pk)]
    assert (
        "Invitations of anonymous surveys are not listed here: one that leaves this list when "
        "it is opened would tell when its person answered." in page
    )
    client.force_login(xm_manager)
    assert delivery_unknown_rows(client) == [str(named.pk), str(stuck.pk)]
    assert (
        "anonymous-left-out"
        not in client.get(reverse("admin:surveys_distribution_unknown")).content.decode()
    )


def test_an_opened_and_answered_delivery_unknown_invitation_tells_the_manager_nothing(
    client, hr_manager, xm_manager
):
    claimed = {"state": InvitationState.DELIVERY_UNKNOWN, "claimed_at": SEPTEMBER_8 - DAY}
    survey, invitations = pulse_invited(5, **claimed)
    client.force_login(hr_manager)
    url = reverse("admin:surveys_distribution_unknown")
    list_before, funnel_before = delivery_unknown_page(client), funnel_table(client, survey)
    assert funnel_rows(client, survey)["Delivery unknown"] == "5"
    resolve = {"ids": [str(invitations[4].pk)], "decision": "failed"}
    before = [str(m) for m in client.post(url, resolve, follow=True).context["messages"]]

    for i, invitation in enumerate(invitations[:4]):
        answer(invitation, at=SEPTEMBER_8 + i * DAY)
    assert delivery_unknown_page(client) == list_before
    assert funnel_table(client, survey) == funnel_before
    # Resolving one that was answered reads exactly as resolving one that was not: nothing.
    resolve["ids"] = [str(invitations[0].pk)]
    after = [str(m) for m in client.post(url, resolve, follow=True).context["messages"]]
    assert before == after == ["0 invitations resolved."]
    states = sorted(Invitation.objects.filter(survey=survey).values_list("state", flat=True))
    assert states == ["delivery_unknown"] + ["responded"] * 4

    client.force_login(xm_manager)  # the stored states: one still unknown, four answered
    assert delivery_unknown_rows(client) == [str(invitations[4].pk)]
    real = funnel_rows(client, survey)
    assert (real["Delivery unknown"], real["Responded"]) == ("1", "4")

    client.force_login(hr_manager)
    release(at=AFTER_SEPTEMBER)  # 4 < k: never counted in scores, but the period is published
    shown = funnel_rows(client, survey)
    assert (shown["Delivery unknown"], shown["Sent"], shown["Responded"]) == ("1", "4", "4")
