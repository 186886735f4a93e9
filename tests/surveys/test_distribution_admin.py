"""The distribution admin: the survey panel, the fatigue report, delivery-unknown reconcile."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from surveys import tokens
from surveys.distribution.funnel import survey_funnel
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
        funnel = survey_funnel(survey=survey)
    assert (funnel.planned, funnel.suppressed, funnel.delivered, funnel.responded) == (
        1,
        {"frequency_cap": 2, "opted_out": 1},
        2,
        1,
    )
    client.force_login(xm_manager)
    url = reverse("admin:surveys_distribution_panel", args=[survey.pk])
    page = client.get(url).content.decode()
    assert "<td>&nbsp;&nbsp;frequency cap</td><td>2</td>" in page
    assert "<td>&nbsp;&nbsp;opted out</td><td>1</td>" in page
    assert '<th id="response-rate">50 %</th>' in page
    assert "Quarterly" in page
    turkish = client.get(url, headers={"accept-language": "tr"}).content.decode()
    assert "<td>&nbsp;&nbsp;sıklık sınırı</td><td>2</td>" in turkish


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
    assert mail.outbox[0].extra_headers["List-Unsubscribe"].endswith(f"{link}optout/>")
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


def _forecast(client, rule) -> list[str]:  # noqa: ANN001
    """The messages of the rule list's "forecast" action for `rule`."""
    response = client.post(
        reverse("admin:surveys_distributionrule_changelist"),
        {"action": "forecast", "_selected_action": [rule.pk]},
        follow=True,
    )
    return [str(m) for m in response.context["messages"]]


def test_forecast_action_reports_counts_by_rule_and_writes_nothing(client, xm_manager, survey):
    ayse, bora = member(customers(), "ayse"), member(customers(), "bora")
    past_contact(make_survey(customers(), name="Other"), bora, timezone.now() - 2 * DAY)
    rule = make_rule(survey, RuleKind.WAVE, name="Quarterly")
    client.force_login(xm_manager)
    assert _forecast(client, rule) == ["Quarterly would plan 1 and suppress 1 (1 minimum gap)."]
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
    assert "<td>2</td>" in current and "2 frequency cap" in current
    two_back = rows[2]
    assert "<td>1</td>" in two_back and "1 opted out" in two_back
    assert sum("opted out" in row for row in rows) == 1  # the 100-day-old one is out of range


def _rule_form(survey, **changes):
    """The add/change form's POST data for a wave of `survey`, with `changes`."""
    data = {
        "survey": survey.pk,
        "name": "Quarterly pulse",
        "kind": RuleKind.WAVE,
        "active": "on",
        "channels": "email, sms",
        "delay_0": "",
        "delay": "0",
        "sampling_rate": "1",
        "condition": "{}",
        "segment": "",
        "attribute_filter": "{}",
        "sample_share": "1",
        "schedule": "",
        "first_run_0": "",
        "first_run_1": "",
        "cron": "",
        "hourly_cap": "",
        "reminder_count": "2",
        "reminder_after_days": "3",
        "expiry_days": "14",
    }
    return {**data, **changes}


def test_rule_form_schedules_a_quarterly_wave_in_the_beat_tables(client, xm_manager, survey):
    from django_celery_beat.models import PeriodicTask

    client.force_login(xm_manager)
    response = client.post(
        reverse("admin:surveys_distributionrule_add"),
        _rule_form(survey, schedule="quarterly", first_run_0="2027-02-15", first_run_1="09:30:00"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = survey.distribution_rules.get()
    task = PeriodicTask.objects.get(pk=rule.periodic_task_id)
    cron = task.crontab
    assert (task.task, task.args, task.one_off, task.enabled) == (
        "surveys.wave_run_task",
        f"[{rule.pk}]",
        False,
        True,
    )
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "30",
        "9",
        "15",
        "2,5,8,11",
        "*",
    )
    assert rule.channels == ["email", "sms"]
    page = client.get(reverse("admin:surveys_distributionrule_change", args=[rule.pk]))
    assert reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]) in (
        page.content.decode()
    )
    # Saving again with "keep" leaves the schedule; "off" takes the wave out of beat.
    change = reverse("admin:surveys_distributionrule_change", args=[rule.pk])
    assert client.post(change, _rule_form(survey)).status_code == 302
    assert PeriodicTask.objects.filter(pk=task.pk).exists()
    assert client.post(change, _rule_form(survey, schedule="off")).status_code == 302
    rule.refresh_from_db()
    assert (rule.periodic_task_id, PeriodicTask.objects.filter(pk=task.pk).exists()) == (
        None,
        False,
    )


@pytest.mark.parametrize(
    ("schedule", "first_run", "cron", "expected"),
    [
        ("once", ("2099-01-01", "08:00:00"), "", (True, None)),
        ("weekly", ("2027-03-03", "07:15:00"), "", (False, ("15", "7", "*", "*", "3"))),
        ("monthly", ("2027-01-31", "10:00:00"), "", (False, ("0", "10", "28", "*", "*"))),
        ("cron", ("", ""), "0 9 1 */3 *", (False, ("0", "9", "1", "*/3", "*"))),
    ],
)
def test_rule_form_turns_each_schedule_into_its_beat_entry(
    client, xm_manager, survey, schedule, first_run, cron, expected
):
    client.force_login(xm_manager)
    data = _rule_form(
        survey, schedule=schedule, first_run_0=first_run[0], first_run_1=first_run[1], cron=cron
    )
    response = client.post(reverse("admin:surveys_distributionrule_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    task = survey.distribution_rules.get().periodic_task
    fields = task.crontab and (
        task.crontab.minute,
        task.crontab.hour,
        task.crontab.day_of_month,
        task.crontab.month_of_year,
        task.crontab.day_of_week,
    )
    assert (task.one_off, fields) == expected
    if schedule == "once":
        assert task.clocked.clocked_time.isoformat() == "2099-01-01T08:00:00+00:00"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"channels": "email, fax"}, "channels", "No delivery for fax"),
        ({"channels": " , "}, "channels", "Name at least one channel"),
        ({"channels": "email, email"}, "channels", "Name each channel once"),
        ({"attribute_filter": '{"plan__x": "gold"}'}, "attribute_filter", "not an attribute"),
        ({"attribute_filter": '["gold"]'}, "attribute_filter", "Give a JSON object"),
        ({"condition": '{"outcome": {"a": 1}}'}, "condition", "must be text, a number"),
        ({"schedule": "monthly"}, "first_run", "Say when the wave first runs"),
        (
            {"schedule": "once", "first_run_0": "2001-01-01", "first_run_1": "09:00:00"},
            "first_run",
            "must be in the future",
        ),
        ({"schedule": "cron", "cron": "every monday"}, "cron", "is not a cron expression"),
        ({"schedule": "cron", "cron": "@monthly"}, "cron", "give five fields"),
        ({"kind": RuleKind.TRIGGER}, "touchpoint", "Choose the touchpoint"),
    ],
)
def test_rule_form_refuses_bad_input_with_a_specific_error_and_saves_nothing(
    client, xm_manager, survey, changes, field, message
):
    client.force_login(xm_manager)
    response = client.post(
        reverse("admin:surveys_distributionrule_add"), _rule_form(survey, **changes)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert survey.distribution_rules.count() == 0


def test_rule_form_refuses_a_schedule_on_a_trigger(client, xm_manager):
    from tests.factories import make_touchpoint

    touchpoint = make_touchpoint(customers(), slug="ticket-closed")
    survey = make_survey(customers(), name="Ticket CSAT")
    client.force_login(xm_manager)
    data = _rule_form(
        survey,
        kind=RuleKind.TRIGGER,
        touchpoint=touchpoint.pk,
        schedule="daily",
        first_run_0="2027-01-01",
        first_run_1="09:00:00",
    )
    response = client.post(reverse("admin:surveys_distributionrule_add"), data)
    assert "only waves are scheduled" in " ".join(
        response.context["adminform"].form.errors["schedule"]
    )
    del data["schedule"]
    assert client.post(reverse("admin:surveys_distributionrule_add"), data).status_code == 302
    assert survey.distribution_rules.get().touchpoint == touchpoint


def test_reconcile_decision_resend_plans_it_again_through_the_guard(client, xm_manager, survey):
    from surveys.distribution import sending

    # Quiet hours off: the resend is sent whatever the hour of the run.
    FatiguePolicy.objects.create(
        audience=None, quiet_start=datetime.time(0), quiet_end=datetime.time(0)
    )
    ayse, now = member(customers(), "ayse"), timezone.now()
    inv = past_contact(survey, ayse, now - DAY)
    Invitation.objects.filter(pk=inv.pk).update(
        state=InvitationState.DELIVERY_UNKNOWN, claimed_at=now - DAY, expires_at=now + 9 * DAY
    )
    client.force_login(xm_manager)
    client.post(
        reverse("admin:surveys_distribution_unknown"), {"ids": [str(inv.pk)], "decision": "resend"}
    )
    inv.refresh_from_db()
    assert (inv.state, inv.claimed_at, ContactLedger.objects.count()) == ("planned", None, 0)
    assert sending.dispatch_batch(now=timezone.now()) == {"claimed": 1, "sent": 1}
    inv.refresh_from_db()
    assert (inv.state, ContactLedger.objects.filter(invitation=inv).count()) == ("sent", 1)
    assert len(mail.outbox) == 1


def test_distribution_pages_are_reachable_from_the_survey_and_the_rule_list(
    client, xm_manager, survey
):
    client.force_login(xm_manager)
    panel = reverse("admin:surveys_distribution_panel", args=[survey.pk])
    form = client.get(reverse("admin:surveys_survey_change", args=[survey.pk])).content.decode()
    assert f'href="{panel}" id="xm-distribution-link"' in form
    add = reverse("admin:surveys_distributionrule_add") + f"?survey={survey.pk}"
    assert add in client.get(panel).content.decode()
    prefilled = client.get(add).context["adminform"].form
    assert prefilled.initial["survey"] == str(survey.pk)
    rules = client.get(reverse("admin:surveys_distributionrule_changelist")).content.decode()
    assert reverse("admin:surveys_distribution_fatigue") in rules
    assert reverse("admin:surveys_distribution_unknown") in rules


def test_forecast_says_how_the_hourly_cap_defers_part_of_the_wave(client, xm_manager, survey):
    for i in range(5):
        member(customers(), f"c{i}")
    rule = make_rule(survey, RuleKind.WAVE, name="Monthly", hourly_cap=2)
    client.force_login(xm_manager)
    assert _forecast(client, rule) == [
        "Monthly would plan 5 and suppress 0 (—). "
        "The hourly cap spreads it over 3 hours: 3 deferred."
    ]


def test_a_wave_repeating_within_the_recontact_window_is_saved_with_a_warning(
    client, xm_manager, survey
):
    client.force_login(xm_manager)
    quarterly = _rule_form(
        survey, schedule="quarterly", first_run_0="2027-01-01", first_run_1="09:00:00"
    )
    response = client.post(reverse("admin:surveys_distributionrule_add"), quarterly, follow=True)
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1
    assert "after 89 days" in warnings[0] and "for 90 days" in warnings[0]
    assert survey.distribution_rules.get().periodic_task is not None  # saved all the same
    FatiguePolicy.objects.create(audience=None, recontact_days=80)
    change = reverse(
        "admin:surveys_distributionrule_change", args=[survey.distribution_rules.get().pk]
    )
    response = client.post(change, quarterly, follow=True)
    assert [m for m in response.context["messages"] if m.level_tag == "warning"] == []


def test_only_one_global_fatigue_policy_in_the_form_and_in_the_database(client, xm_manager):
    from django.db import IntegrityError, transaction

    FatiguePolicy.objects.create(audience=None)
    client.force_login(xm_manager)
    data = {
        "audience": "",
        "max_invitations": "3",
        "window_days": "30",
        "min_gap_days": "7",
        "recontact_days": "90",
        "rest_after_response_days": "14",
        "quiet_start": "21:00",
        "quiet_end": "09:00",
        "wave_hourly_cap": "",
    }
    response = client.post(reverse("admin:surveys_fatiguepolicy_add"), data)
    assert response.status_code == 200
    assert "There is already a global fatigue policy." in response.content.decode()
    with pytest.raises(IntegrityError), transaction.atomic():
        FatiguePolicy.objects.create(audience=None)
    FatiguePolicy.objects.create(audience=customers())  # one per audience besides
    assert FatiguePolicy.objects.count() == 2


def test_planning_a_wave_of_a_draft_survey_plans_nothing_but_it_can_be_forecast(client, xm_manager):
    draft = make_survey(customers(), name="Draft pulse", status="draft")
    member(customers(), "ayse")
    rule = make_rule(draft, RuleKind.WAVE, name="Pulse")
    client.force_login(xm_manager)
    assert _forecast(client, rule) == ["Pulse would plan 1 and suppress 0 (—)."]
    response = client.post(
        reverse("admin:surveys_distributionrule_changelist"),
        {"action": "run_now", "_selected_action": [rule.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Pulse: the survey is not live, so nothing was planned."
    ]
    rule.refresh_from_db()
    assert (Invitation.objects.filter(rule=rule).count(), rule.runs) == (0, 0)
