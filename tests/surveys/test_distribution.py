"""Planning: touchpoint triggers (delay, sampling, condition, channel fallback) and waves."""

import datetime
from collections import Counter

import pytest
from django.db import transaction

from journeys.models import TouchpointEvent
from surveys import tokens
from surveys.distribution import planning as distribution
from surveys.distribution.funnel import survey_funnel
from surveys.models import FatiguePolicy, Invitation, ReportingPeriod, RuleKind
from surveys.models import InvitationState as S
from tests.factories import make_audience, make_membership, make_touchpoint
from tests.surveys.distribution_factories import (
    DAY,
    NOW,
    customers,
    make_invitation,
    make_rule,
    make_survey,
    member,
    opt_out,
    past_contact,
)
from xmplatform.core.outbox import outbox_emit, outbox_relay

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def audience():
    return customers()


@pytest.fixture
def touchpoint(audience):
    return make_touchpoint(audience, slug="ticket-closed")


@pytest.fixture
def ticket_csat(audience, touchpoint):
    return make_survey(audience, name="Ticket CSAT", touchpoint=touchpoint)


def record(person, touchpoint, **attributes) -> TouchpointEvent:  # noqa: ANN001
    return TouchpointEvent.objects.create(
        person=person, touchpoint=touchpoint, occurred_at=NOW, attributes=attributes
    )


def test_trigger_plans_an_invitation_due_after_the_delay(ticket_csat, touchpoint, audience):
    rule = make_rule(ticket_csat, RuleKind.TRIGGER, delay=2 * HOUR, expiry_days=5)
    ayse = member(audience, "ayse")
    event = record(ayse, touchpoint)
    assert distribution.invitations_plan_for_events(event_ids=[event.id]) == 1
    inv = Invitation.objects.get()
    assert (inv.rule_id, inv.event_id, inv.person_id, inv.channel, inv.state) == (
        rule.id,
        event.id,
        ayse.id,
        "email",
        "planned",
    )
    assert (inv.due_at, inv.expires_at) == (NOW + 2 * HOUR, NOW + 2 * HOUR + 5 * DAY)


def test_trigger_twice_for_the_same_event_plans_once(ticket_csat, touchpoint, audience):
    make_rule(ticket_csat, RuleKind.TRIGGER)
    event = record(member(audience, "ayse"), touchpoint)
    distribution.invitations_plan_for_events(event_ids=[event.id])
    assert distribution.invitations_plan_for_events(event_ids=[event.id]) == 0
    assert Invitation.objects.count() == 1


def test_trigger_condition_skips_events_whose_attributes_differ(ticket_csat, touchpoint, audience):
    make_rule(ticket_csat, RuleKind.TRIGGER, condition={"outcome": ["resolved", "closed"]})
    ayse, bora = member(audience, "ayse"), member(audience, "bora")
    events = [
        record(ayse, touchpoint, outcome="resolved"),
        record(bora, touchpoint, outcome="open"),
    ]
    distribution.invitations_plan_for_events(event_ids=[e.id for e in events])
    assert list(Invitation.objects.values_list("person_id", flat=True)) == [ayse.id]


def test_trigger_sampling_quarter_keeps_about_a_quarter_and_is_stable(
    ticket_csat, touchpoint, audience
):
    rule = make_rule(ticket_csat, RuleKind.TRIGGER, sampling_rate=0.25)
    ayse = member(audience, "ayse")
    events = [record(ayse, touchpoint, n=i) for i in range(400)]
    planned = distribution.invitations_plan_for_events(event_ids=[e.id for e in events])
    expected = sum(distribution.sampled(key=f"{rule.id}:{e.id}", rate=0.25) for e in events)
    assert planned == expected
    assert 70 <= planned <= 130


def test_trigger_falls_back_to_sms_when_email_is_opted_out(ticket_csat, touchpoint, audience):
    make_rule(ticket_csat, RuleKind.TRIGGER, channels=["email", "sms"])
    ayse = member(audience, "ayse", phone="+905551112233")
    opt_out(ayse, "email")
    nophone = member(audience, "cem")
    opt_out(nophone, "email")
    events = [record(ayse, touchpoint), record(nophone, touchpoint)]
    distribution.invitations_plan_for_events(event_ids=[e.id for e in events])
    rows = (
        dict(Invitation.objects.values_list("person__external_id", "channel")),
        dict(Invitation.objects.values_list("person__external_id", "suppression_reason")),
    )
    assert rows == ({"ayse": "sms", "cem": "email"}, {"ayse": "", "cem": "opted_out"})
    assert Invitation.objects.get(person=nophone).state == "suppressed"


def test_recorded_events_reach_the_planner_through_the_outbox(ticket_csat, touchpoint, audience):
    make_rule(ticket_csat, RuleKind.TRIGGER)
    ayse = member(audience, "ayse")
    with transaction.atomic():
        event = record(ayse, touchpoint)
        # journeys owes event.recorded in the transaction that stores the events.
        outbox_emit("event.recorded", event_ids=[event.id])
    assert outbox_relay() == 1
    assert Invitation.objects.filter(event=event).count() == 1


def test_wave_forecast_counts_equal_the_real_run(audience):
    survey = make_survey(audience, name="Quarterly NPS")
    other = make_survey(audience, name="Onboarding")
    staff = make_audience("staff", kind="employee")
    FatiguePolicy.objects.create(audience=staff, max_invitations=1, window_days=90)
    people = [member(audience, f"c{i}") for i in range(40)]
    for i, p in enumerate(people):
        if i % 5 == 0:
            past_contact(other, p, NOW - 3 * DAY)  # min_gap
        elif i % 5 == 1:
            opt_out(p)
        elif i % 5 == 2:
            make_membership(p, staff)
            past_contact(other, p, NOW - 40 * DAY)  # the staff policy: 1 in 90 days
    rule = make_rule(survey, sample_share=0.5, hourly_cap=3, expiry_days=1)
    forecast = distribution.wave_forecast(rule=rule, now=NOW)
    assert Invitation.objects.filter(survey=survey).count() == 0
    plan = distribution.wave_run(rule=rule, now=NOW)
    assert (plan.candidates, plan.planned, plan.suppressed, plan.deferred) == (
        forecast.candidates,
        forecast.planned,
        forecast.suppressed,
        forecast.deferred,
    )
    states = Counter(
        Invitation.objects.filter(survey=survey).values_list("state", "suppression_reason")
    )
    assert states[("planned", "")] == plan.planned
    for reason, n in plan.suppressed.items():
        assert states[("suppressed", reason)] == n
    assert set(plan.suppressed) <= {"min_gap", "opted_out", "frequency_cap"}
    assert plan.candidates == sum(states.values())


def test_wave_respects_hourly_cap_and_suppresses_what_falls_past_expiry(audience):
    survey = make_survey(audience, name="Monthly NPS")
    for i in range(10):
        member(audience, f"c{i}")
    rule = make_rule(survey, hourly_cap=2, expiry_days=0)
    rule.expiry_days = 0
    plan = distribution.wave_run(rule=rule, now=NOW)
    assert (plan.planned, dict(plan.suppressed)) == (0, {"wave_cap": 10})
    rule2 = make_rule(make_survey(audience, name="Pulse"), hourly_cap=4, expiry_days=7)
    plan = distribution.wave_run(rule=rule2, now=NOW)
    dues = Counter(Invitation.objects.filter(rule=rule2).values_list("due_at", flat=True))
    assert dues == {NOW: 4, NOW + HOUR: 4, NOW + 2 * HOUR: 2}
    assert (plan.spread_hours, plan.deferred) == (3, 6)


def test_wave_targets_segment_and_attributes_and_skips_people_who_left(audience):
    survey = make_survey(audience, name="Gold NPS")
    gold = member(audience, "gold")
    gold.memberships.update(segment="enterprise", attributes={"plan": "gold"})
    silver = member(audience, "silver")
    silver.memberships.update(segment="enterprise", attributes={"plan": "silver"})
    gone = member(audience, "gone")
    gone.memberships.update(segment="enterprise", attributes={"plan": "gold"}, left_on=NOW.date())
    member(audience, "smb")
    rule = make_rule(survey, segment="enterprise", attribute_filter={"plan": "gold"})
    distribution.wave_run(rule=rule, now=NOW)
    assert list(Invitation.objects.values_list("person__external_id", flat=True)) == ["gold"]


def test_second_run_of_a_wave_suppresses_recontact_while_the_first_is_pending(audience):
    survey = make_survey(audience, name="Pulse")
    member(audience, "ayse")
    rule = make_rule(survey)
    distribution.wave_run(rule=rule, now=NOW)
    plan = distribution.wave_run(rule=rule, now=NOW + HOUR)
    assert (plan.planned, dict(plan.suppressed), rule.runs) == (0, {"recontact": 1}, 2)


def test_wave_schedule_puts_a_recurring_wave_in_the_beat_tables(audience):
    from django_celery_beat.models import CrontabSchedule

    rule = make_rule(make_survey(audience, name="Quarterly pulse"))
    quarterly = CrontabSchedule.objects.create(
        minute="0", hour="9", day_of_month="1", month_of_year="1,4,7,10"
    )
    task = distribution.wave_schedule(rule=rule, crontab=quarterly)
    rule.refresh_from_db()
    assert (rule.periodic_task_id, task.task, task.args, task.crontab_id, task.one_off) == (
        task.id,
        "surveys.wave_run_task",
        f"[{rule.id}]",
        quarterly.id,
        False,
    )
    once = distribution.wave_schedule(rule=rule, once_at=NOW)
    assert (once.id, once.one_off, once.clocked.clocked_time, once.crontab) == (
        task.id,
        True,
        NOW,
        None,
    )
    with pytest.raises(ValueError, match="exactly one"):
        distribution.wave_schedule(rule=rule)


def test_wave_run_task_plans_the_rule_it_is_given(audience):
    from surveys.tasks import wave_run_task

    member(audience, "ayse")
    rule = make_rule(make_survey(audience, name="Pulse"))
    assert wave_run_task.delay(rule.id).get() == 1
    assert Invitation.objects.filter(rule=rule, state="planned").count() == 1


def test_issued_tokens_are_fresh_and_hash_as_their_nonces_derive():
    pairs = tokens.issued(5)
    assert len({nonce for nonce, _ in pairs}) == 5
    for nonce, token_hash in pairs:
        assert len(nonce) == 32
        assert token_hash == tokens.token_hash(tokens.token_for(nonce))


# --- The funnel of an anonymous survey below superuser ----------------------------------


def test_anonymous_funnel_counts_each_invitation_as_it_stood_before_it_was_opened():
    """Stored state (and whether its delivery was recorded) → the stage it is counted in."""
    survey = make_survey(customers(), name="Pulse", anonymous=True)
    august, september = (datetime.datetime(2026, month, 1, tzinfo=datetime.UTC) for month in (8, 9))
    ReportingPeriod.objects.create(
        survey=survey,
        starts_on=august.date(),
        ends_on=datetime.date(2026, 8, 31),
        published_at=september,
    )
    ReportingPeriod.objects.create(
        survey=survey, starts_on=september.date(), ends_on=datetime.date(2026, 9, 30)
    )
    sent = {"sent_at": august, "claimed_at": august}
    unknown = {"claimed_at": august}
    for i, fields in enumerate(
        [
            {"state": S.SENT, **sent},  # sent
            {"state": S.OPENED, "opened_at": september, **sent},  # sent
            {"state": S.RESPONDED, "responded_at": september, **sent},  # sent: open period
            {"state": S.RESPONDED, "responded_at": august, **sent},  # responded: published
            {"state": S.DELIVERY_UNKNOWN, **unknown},  # delivery unknown
            {"state": S.OPENED, "opened_at": september, **unknown},  # delivery unknown
            {"state": S.RESPONDED, "responded_at": september, **unknown},  # delivery unknown
            {"state": S.RESPONDED, "responded_at": august, **unknown},  # responded: published
            {"state": S.RESPONDED, "responded_at": september},  # planned (again, after resend)
            {"state": S.FAILED, **unknown},  # failed
            {"state": S.SUPPRESSED, "suppression_reason": "frequency_cap"},  # suppressed
        ]
    ):
        make_invitation(survey, member(customers(), f"p{i}"), **fields)
    shown = survey_funnel(survey=survey)
    assert (
        shown.planned,
        shown.delivery_unknown,
        shown.sent,
        shown.opened,
        shown.responded,
        shown.failed,
        shown.suppressed,
    ) == (1, 3, 3, 0, 2, 1, {"frequency_cap": 1})
    real = survey_funnel(survey=survey, real=True)
    assert (real.planned, real.delivery_unknown, real.sent, real.opened, real.responded) == (
        0,
        1,
        1,
        2,
        5,
    )
    named = make_survey(customers(), name="Named")
    make_invitation(named, None, state=S.OPENED, opened_at=september)
    assert survey_funnel(survey=named).opened == 1  # named: as stored
