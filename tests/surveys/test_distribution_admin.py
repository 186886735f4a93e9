"""The distribution admin: the survey panel, the fatigue report, delivery-unknown reconcile."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from surveys import tokens
from surveys.distribution import survey_funnel
from surveys.models import (
    Answer,
    ContactLedger,
    FatiguePolicy,
    Invitation,
    InvitationState,
    Question,
    QuestionType,
    Response,
    RuleKind,
)
from tests.surveys.distribution_factories import (
    DAY,
    NOW,
    customers,
    make_invitation,
    make_rule,
    make_survey,
    member,
    past_contact,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static(settings):
    """Pages render without a collectstatic manifest (the production storage needs one)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def survey():
    return make_survey(customers(), name="Service NPS")


def test_panel_shows_counts_by_state_and_rule_with_one_grouped_query(
    client, xm_manager, survey, django_assert_num_queries
):
    people = [member(customers(), f"p{i}") for i in range(6)]
    make_invitation(survey, people[0])
    make_invitation(survey, people[1], state="suppressed", suppression_reason="frequency_cap")
    make_invitation(survey, people[2], state="suppressed", suppression_reason="frequency_cap")
    make_invitation(survey, people[3], state="suppressed", suppression_reason="opted_out")
    make_invitation(survey, people[4], state="sent")
    make_invitation(survey, people[5], state="responded")
    make_rule(survey, RuleKind.WAVE, name="Quarterly")
    with django_assert_num_queries(1):  # SELECT state, reason, COUNT(*) … GROUP BY
        funnel = survey_funnel(survey_id=survey.pk)
    assert (funnel.planned, funnel.suppressed, funnel.delivered, funnel.responded) == (
        1,
        {"frequency_cap": 2, "opted_out": 1},
        2,
        1,
    )
    client.force_login(xm_manager)
    url = reverse("admin:surveys_distribution_panel", args=[survey.pk])
    page = client.get(url).content.decode()
    assert "<td>&nbsp;&nbsp;frequency_cap</td><td>2</td>" in page
    assert "<td>&nbsp;&nbsp;opted_out</td><td>1</td>" in page
    assert '<th id="response-rate">50 %</th>' in page
    assert "Quarterly" in page


def test_send_test_to_me_mails_the_staff_user(client, xm_manager, survey):
    client.force_login(xm_manager)
    url = reverse("admin:surveys_distribution_panel", args=[survey.pk])
    response = client.post(url, {"send_test": "1"})
    assert response.status_code == 302
    [message] = mail.outbox
    assert (message.to, message.subject.startswith("[TEST] ")) == (["xm@example.com"], True)
    assert Invitation.objects.count() == 0


def test_test_message_link_opens_the_survey_and_records_nothing(client, xm_manager, survey):
    Question.objects.create(
        survey=survey, key="nps", type=QuestionType.NPS, page=1, order=1, label={"en": "NPS?"}
    )
    client.force_login(xm_manager)
    client.post(reverse("admin:surveys_distribution_panel", args=[survey.pk]), {"send_test": "1"})
    [link] = set(re.findall(r"https?://[^/\s]+(/s/test/[^/\s]+/)", mail.outbox[0].body))
    assert mail.outbox[0].extra_headers["List-Unsubscribe"].endswith(f"{link}>")
    client.logout()  # the recipient's mail client is not logged in to the admin

    page = client.get(link)
    assert page.status_code == 200
    assert "NPS?" in page.content.decode()
    done = client.post(link, {"page": "1", "q-nps": "3"})
    assert (done.status_code, Response.objects.count(), Answer.objects.count()) == (302, 0, 0)
    assert Invitation.objects.count() == 0


def test_a_forged_test_link_is_not_found(client, survey, settings):
    forged = tokens.test_link_for(survey.pk)[:-2] + "xx"
    assert client.get(reverse("surveys:test_link", args=[forged])).status_code == 404
    settings.SECRET_KEY = "another-" + settings.SECRET_KEY  # the same value signed elsewhere
    stale = reverse("surveys:test_link", args=[tokens.test_link_for(survey.pk)])
    settings.SECRET_KEY = settings.SECRET_KEY.removeprefix("another-")
    assert client.get(stale).status_code == 404


def test_fatigue_report_buckets_people_by_invitations_received(client, xm_manager, survey):
    FatiguePolicy.objects.create(audience=None)
    a, b, c = (member(customers(), name) for name in ("a", "b", "c"))
    other = make_survey(customers(), name="Other")
    now = timezone.now()
    past_contact(survey, b, now - 20 * DAY)
    past_contact(survey, c, now - 40 * DAY)
    past_contact(other, c, now - 10 * DAY)
    past_contact(other, c, now - 2 * DAY)
    client.force_login(xm_manager)
    page = client.get(reverse("admin:surveys_distribution_fatigue")).content.decode()
    row = page.split(f'data-audience="{customers().pk}"')[1].split("</tr>")[0]
    # a: 0, b: 1, c: 3 → "0,1,2,3+" = 1,1,0,1; at the 2-in-30 cap today: c only.
    assert "<td>1</td><td>1</td><td>0</td><td>1</td><td>1</td>" in row


def test_outsider_cannot_open_the_panel(client, outsider, survey):
    client.force_login(outsider)
    url = reverse("admin:surveys_distribution_panel", args=[survey.pk])
    assert client.get(url).status_code == 302  # to the admin login


def test_reconcile_decision_failed_frees_the_budget(client, xm_manager, survey):
    ayse = member(customers(), "ayse")
    inv = past_contact(survey, ayse, NOW)
    Invitation.objects.filter(pk=inv.pk).update(state=InvitationState.DELIVERY_UNKNOWN)
    client.force_login(xm_manager)
    url = reverse("admin:surveys_distribution_unknown")
    assert str(inv.pk) in client.get(url).content.decode()
    client.post(url, {"ids": [str(inv.pk)], "decision": "failed"})
    inv.refresh_from_db()
    assert inv.state == "failed"
    assert ContactLedger.objects.count() == 0


def test_forecast_action_reports_counts_by_rule_and_writes_nothing(client, xm_manager, survey):
    ayse, bora = member(customers(), "ayse"), member(customers(), "bora")
    past_contact(make_survey(customers(), name="Other"), bora, timezone.now() - 2 * DAY)
    rule = make_rule(survey, RuleKind.WAVE, name="Quarterly")
    client.force_login(xm_manager)
    response = client.post(
        reverse("admin:surveys_distributionrule_changelist"),
        {"action": "forecast", "_selected_action": [rule.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Quarterly would plan 1 and suppress 1 (1 min_gap)."
    ]
    assert Invitation.objects.filter(survey=survey).count() == 0
    assert ayse.invitations.count() == 0


def test_fatigue_report_shows_suppressions_by_week_and_rule(client, xm_manager, survey):
    a, b = member(customers(), "a"), member(customers(), "b")
    now = timezone.now()
    this_week = (now - timezone.timedelta(days=now.weekday())).date()
    for person, reason, at in [
        (a, "frequency_cap", now),
        (b, "frequency_cap", now),
        (a, "opted_out", now - 14 * DAY),
        (b, "opted_out", now - 100 * DAY),
    ]:
        inv = make_invitation(survey, person, state="suppressed", suppression_reason=reason)
        Invitation.objects.filter(pk=inv.pk).update(planned_at=at)  # planned_at is auto_now_add
    client.force_login(xm_manager)
    page = client.get(reverse("admin:surveys_distribution_fatigue")).content.decode()
    weekly = page.split('id="suppressed-weekly"')[1]
    rows = weekly.split(f'data-audience="{customers().pk}"')[1:]
    first = (now - 90 * DAY).date()
    first_monday = first - timezone.timedelta(days=first.weekday())
    assert len(rows) == (this_week - first_monday).days // 7 + 1  # 13 or 14 weeks, newest first
    current = rows[0]
    assert f'data-week="{this_week:%Y-%m-%d}"' in weekly
    assert "<td>2</td>" in current and "2 frequency_cap" in current
    two_back = rows[2]
    assert "<td>1</td>" in two_back and "1 opted_out" in two_back
    assert sum("opted_out" in row for row in rows) == 1  # the 100-day-old one is out of range
