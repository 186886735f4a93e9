"""Planning runs once: triggers through the outbox, invitations due now, waves per tick."""

import datetime
import threading

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule

from journeys.models import TouchpointEvent
from surveys.distribution import ondemand, sending, ticks
from surveys.distribution import planning as distribution
from surveys.models import (
    DistributionRule,
    FatiguePolicy,
    Invitation,
    InvitationState,
    RuleKind,
    WaveRun,
)
from tests.factories import make_touchpoint
from tests.surveys.distribution_factories import (
    DAY,
    NOW,
    customers,
    make_invitation,
    make_rule,
    make_survey,
    member,
)
from xmplatform.core.models import OutboxMessage
from xmplatform.core.outbox import outbox_emit, outbox_relay

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def audience():
    return customers()


@pytest.fixture
def touchpoint(audience):
    return make_touchpoint(audience, slug="ticket-closed")


@pytest.fixture
def ticket_csat(audience, touchpoint):
    return make_survey(audience, name="Ticket CSAT", touchpoint=touchpoint)


@pytest.fixture
def no_quiet_hours():
    """Tests that send at the real time of day must not meet the default quiet hours."""
    FatiguePolicy.objects.create(quiet_start=datetime.time(0), quiet_end=datetime.time(0))


def record(person, touchpoint, at=NOW) -> TouchpointEvent:  # noqa: ANN001
    return TouchpointEvent.objects.create(person=person, touchpoint=touchpoint, occurred_at=at)


def owed(event: str) -> list[dict]:
    return list(OutboxMessage.objects.filter(event=event).values("state", "payload"))


# --- Triggers through the outbox ------------------------------------------------------------


def test_the_event_handler_run_twice_plans_each_invitation_once(ticket_csat, touchpoint, audience):
    make_rule(ticket_csat, RuleKind.TRIGGER)
    events = [record(member(audience, name), touchpoint) for name in ("ayse", "bora")]
    ids = [e.id for e in events]
    distribution.events_recorded_handler(message_id=1, event_ids=ids)
    distribution.events_recorded_handler(message_id=1, event_ids=ids)
    assert sorted(Invitation.objects.values_list("event_id", flat=True)) == ids


def test_the_database_refuses_a_second_invitation_of_one_rule_for_one_event(
    ticket_csat, touchpoint, audience
):
    rule = make_rule(ticket_csat, RuleKind.TRIGGER)
    ayse = member(audience, "ayse")
    event = record(ayse, touchpoint)
    make_invitation(ticket_csat, ayse, rule=rule, event=event)
    make_invitation(ticket_csat, ayse, rule=rule)  # a wave's rows name no event
    make_invitation(ticket_csat, ayse, rule=rule)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_invitation(ticket_csat, ayse, rule=rule, event=event)


@pytest.mark.django_db(transaction=True)
def test_two_relays_planning_the_same_events_at_once_plan_once(needs_postgres):
    audience = customers()
    touchpoint = make_touchpoint(audience, slug="ticket-closed")
    survey = make_survey(audience, name="Ticket CSAT", touchpoint=touchpoint)
    make_rule(survey, RuleKind.TRIGGER, delay=DAY)
    ids = [record(member(audience, f"p{i}"), touchpoint).id for i in range(30)]
    barrier = threading.Barrier(2)
    planned = []

    def plan() -> None:
        barrier.wait()
        try:
            planned.append(distribution.invitations_plan_for_events(event_ids=ids))
        finally:
            connection.close()

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(planned) == [0, 30]
    assert Invitation.objects.count() == 30


def test_an_invitation_due_now_is_owed_to_the_sender(ticket_csat, touchpoint, audience):
    make_rule(ticket_csat, RuleKind.TRIGGER)
    event = record(member(audience, "ayse"), touchpoint)
    assert distribution.invitations_plan_for_events(event_ids=[event.id], now=NOW) == 1
    assert owed("invitation.due") == [{"state": "pending", "payload": {}}]


def test_an_invitation_due_later_is_left_to_the_beat(ticket_csat, touchpoint, audience):
    make_rule(ticket_csat, RuleKind.TRIGGER, delay=2 * HOUR)
    event = record(member(audience, "ayse"), touchpoint)
    assert distribution.invitations_plan_for_events(event_ids=[event.id], now=NOW) == 1
    assert owed("invitation.due") == []


def test_a_suppressed_trigger_invitation_owes_nothing(ticket_csat, touchpoint, audience):
    make_rule(ticket_csat, RuleKind.TRIGGER)
    event = record(member(audience, "nomail", email=""), touchpoint)
    assert distribution.invitations_plan_for_events(event_ids=[event.id], now=NOW) == 1
    assert Invitation.objects.get().state == InvitationState.SUPPRESSED
    assert owed("invitation.due") == []


def test_an_email_asked_for_on_request_is_owed_to_the_sender_an_in_app_one_is_not(audience):
    survey = make_survey(audience, name="Checkout CSAT")
    ayse, bora = member(audience, "ayse"), member(audience, "bora")
    ondemand.invitation_request(survey=survey, person=bora, channel="app")
    assert owed("invitation.due") == []
    ondemand.invitation_request(survey=survey, person=ayse, channel="email")
    assert owed("invitation.due") == [{"state": "pending", "payload": {}}]


def test_a_trigger_without_delay_is_sent_before_the_beats_minute(
    ticket_csat, touchpoint, audience, no_quiet_hours, django_capture_on_commit_callbacks
):
    make_rule(ticket_csat, RuleKind.TRIGGER)
    ayse = member(audience, "ayse")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = record(ayse, touchpoint, at=timezone.now())
            outbox_emit("event.recorded", event_ids=[event.id])
    # The relay planned it (event.recorded), then sent it (invitation.due): no beat ran.
    assert Invitation.objects.get().state == InvitationState.SENT
    assert [m.to for m in mail.outbox] == [["ayse@example.com"]]
    assert set(OutboxMessage.objects.values_list("event", "state")) == {
        ("event.recorded", "done"),
        ("invitation.due", "done"),
    }


def test_the_due_handler_sends_after_the_relays_commit_not_inside_it(
    audience, no_quiet_hours, django_capture_on_commit_callbacks
):
    survey = make_survey(audience, name="Checkout CSAT")
    invitation = make_invitation(survey, member(audience, "ayse"), due_at=timezone.now())
    outbox_emit("invitation.due")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert outbox_relay() == 1
    # Inside the relay's transaction nothing was claimed: a claim commits before a send.
    invitation.refresh_from_db()
    assert (invitation.state, len(mail.outbox), len(callbacks)) == ("planned", 0, 1)
    callbacks[0]()
    invitation.refresh_from_db()
    assert (invitation.state, len(mail.outbox)) == ("sent", 1)


def test_dispatch_now_sends_full_batches_up_to_its_bound(audience):
    survey = make_survey(audience, name="Checkout CSAT")
    for i in range(7):
        make_invitation(survey, member(audience, f"p{i}"))
    counts = sending.dispatch_now(now=NOW, max_batches=2, limit=3)
    assert (counts["claimed"], counts["sent"]) == (6, 6)
    assert Invitation.objects.filter(state="planned").count() == 1


def test_dispatch_now_stops_at_the_first_batch_that_is_not_full(
    audience, django_assert_num_queries
):
    survey = make_survey(audience, name="Checkout CSAT")
    for i in range(4):
        make_invitation(survey, member(audience, f"p{i}"))
    counts = sending.dispatch_now(now=NOW, max_batches=5, limit=3)
    assert (counts["claimed"], counts["sent"]) == (4, 4)
    # With nothing due, one batch is tried: SAVEPOINT, surveys with due invitations (none),
    # RELEASE SAVEPOINT.
    with django_assert_num_queries(3):
        assert sending.dispatch_now(now=NOW, max_batches=5, limit=3) == {"claimed": 0}


# --- Which scheduled time a beat's run stands for --------------------------------------------


def istanbul_quarterly() -> CrontabSchedule:
    return CrontabSchedule.objects.create(
        minute="0",
        hour="9",
        day_of_month="1",
        month_of_year="1,4,7,10",
        timezone="Europe/Istanbul",
    )


def test_a_crontab_run_stands_for_its_latest_tick_in_the_crontabs_zone():
    cron = istanbul_quarterly().schedule
    # 09:00 in Istanbul is 06:00 UTC.
    assert ticks.crontab_tick(cron, now=NOW, after=False) == datetime.datetime(
        2026, 1, 1, 6, 0, tzinfo=datetime.UTC
    )
    assert ticks.crontab_tick(cron, now=NOW, after=True) == datetime.datetime(
        2026, 4, 1, 6, 0, tzinfo=datetime.UTC
    )
    tick = datetime.datetime(2026, 4, 1, 6, 0, tzinfo=datetime.UTC)
    assert ticks.crontab_tick(cron, now=tick, after=False) == tick
    assert ticks.crontab_tick(cron, now=tick + 59 * MINUTE, after=False) == tick


@pytest.mark.parametrize(
    "fields",
    [
        {"minute": "*/15"},
        {"minute": "30", "hour": "8,20", "day_of_week": "1-5"},
        {"minute": "0", "hour": "0", "day_of_month": "31"},
        {"minute": "5", "hour": "9", "day_of_week": "0", "day_of_month": "1-7"},
    ],
)
def test_a_crontab_tick_is_one_celery_would_fire_and_the_next_is_after_now(fields):
    cron = CrontabSchedule(timezone="Europe/Istanbul", **fields).schedule
    for hours in range(0, 24 * 40, 7):
        now = NOW + hours * HOUR + 13 * MINUTE
        previous = ticks.crontab_tick(cron, now=now, after=False)
        following = ticks.crontab_tick(cron, now=now, after=True)
        assert previous <= now < following
        # Celery's own arithmetic from the previous tick lands on the following one.
        last, delta, _now = cron.remaining_delta(previous)
        assert (last + delta).astimezone(datetime.UTC) == following


def test_a_one_off_stands_for_its_clocked_time_and_an_interval_for_its_slot():
    from django_celery_beat.models import PeriodicTask

    clocked = ClockedSchedule.objects.create(clocked_time=NOW - HOUR)
    once = PeriodicTask(name="once", task="t", clocked=clocked, one_off=True)
    assert ticks.fired_for(once, now=NOW + 5 * MINUTE) == NOW - HOUR
    assert ticks.next_time(once, now=NOW - DAY) == NOW - HOUR
    every = IntervalSchedule.objects.create(every=6, period=IntervalSchedule.HOURS)
    periodic = PeriodicTask(name="every", task="t", interval=every)
    assert ticks.fired_for(periodic, now=NOW + 2 * HOUR + 7 * MINUTE) == NOW
    assert ticks.fired_for(None, now=NOW) == NOW


# --- Waves: once per scheduled time, the same people for it ----------------------------------


def wave(audience, people: int = 40, **extra) -> DistributionRule:  # noqa: ANN001
    for i in range(people):
        member(audience, f"c{i}")
    return make_rule(make_survey(audience, name="Pulse"), sample_share=0.5, **extra)


def drawn(rule: DistributionRule) -> set[int]:
    return set(Invitation.objects.filter(rule=rule).values_list("person_id", flat=True))


def test_a_second_run_for_the_same_scheduled_time_plans_nothing(audience):
    rule = wave(audience)
    tick = NOW - 5 * MINUTE
    first = distribution.wave_run(rule=rule, now=NOW, scheduled_for=tick)
    again = distribution.wave_run(rule=rule, now=NOW + MINUTE, scheduled_for=tick)
    assert (again.already_ran, again.planned, again.candidates) == (True, 0, 0)
    assert Invitation.objects.filter(rule=rule).count() == first.candidates
    run = WaveRun.objects.get()
    assert (run.rule_id, run.scheduled_for, run.started_at) == (rule.id, tick, NOW)
    assert (run.candidates, run.planned, run.suppressed) == (
        first.candidates,
        first.planned,
        first.suppressed_total,
    )
    rule.refresh_from_db()
    assert (rule.runs, rule.last_run_at) == (1, NOW)


def test_the_sample_depends_on_the_scheduled_time_not_on_the_run(audience):
    rule = wave(audience)
    tick = NOW - 5 * MINUTE
    forecast = distribution.wave_run(rule=rule, now=NOW, scheduled_for=tick, dry_run=True)
    distribution.wave_run(rule=rule, now=NOW, scheduled_for=tick)
    first = drawn(rule)
    assert len(first) == forecast.candidates
    assert 10 <= len(first) <= 30
    # Planned again for the same time (its run and invitations gone), later: the same people.
    Invitation.objects.all().delete()
    WaveRun.objects.all().delete()
    distribution.wave_run(rule=rule, now=NOW + HOUR, scheduled_for=tick)
    assert drawn(rule) == first
    # The next scheduled time draws anew.
    Invitation.objects.all().delete()
    distribution.wave_run(rule=rule, now=NOW + DAY, scheduled_for=tick + DAY)
    assert drawn(rule) != first


def test_a_run_by_hand_draws_whom_its_forecast_drew_and_is_claimed_for_its_moment(audience):
    rule = wave(audience)
    forecast = distribution.wave_forecast(rule=rule, now=NOW)
    plan = distribution.wave_run(rule=rule, now=NOW + 10 * MINUTE)
    assert (plan.candidates, plan.planned) == (forecast.candidates, forecast.planned)
    assert list(WaveRun.objects.values_list("scheduled_for", flat=True)) == [NOW + 10 * MINUTE]


def test_the_beats_run_is_keyed_by_the_crontab_tick_whenever_it_reaches_a_worker(audience):
    rule = wave(audience)
    distribution.wave_schedule(rule=rule, crontab=istanbul_quarterly())
    tick = datetime.datetime(2026, 4, 1, 6, 0, tzinfo=datetime.UTC)
    forecast = distribution.wave_forecast(rule=rule, now=tick - DAY)
    planned = distribution.wave_run_scheduled(rule_id=rule.id, now=tick + 2 * MINUTE)
    late = distribution.wave_run_scheduled(rule_id=rule.id, now=tick + 40 * MINUTE)
    assert (planned.planned, late.already_ran) == (forecast.planned, True)
    assert list(WaveRun.objects.values_list("scheduled_for", flat=True)) == [tick]
    next_quarter = distribution.wave_run_scheduled(rule_id=rule.id, now=tick + 91 * DAY)
    assert next_quarter.already_ran is False
    assert WaveRun.objects.count() == 2


def test_the_beats_run_of_an_inactive_or_missing_rule_plans_nothing(audience):
    rule = wave(audience, people=3, active=False)
    assert distribution.wave_run_scheduled(rule_id=rule.id, now=NOW).planned == 0
    assert distribution.wave_run_scheduled(rule_id=rule.id + 1, now=NOW).planned == 0
    assert WaveRun.objects.count() == Invitation.objects.count() == 0


def test_a_run_of_a_survey_that_is_not_live_claims_no_scheduled_time(audience):
    rule = wave(audience, people=3)
    rule.survey.status = "draft"
    rule.survey.save()
    assert distribution.wave_run(rule=rule, now=NOW).survey_not_live is True
    assert WaveRun.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_beats_running_one_scheduled_wave_at_once_plan_it_once(needs_postgres):
    rule = wave(customers(), people=200)
    distribution.wave_schedule(rule=rule, crontab=istanbul_quarterly())
    tick = datetime.datetime(2026, 4, 1, 6, 0, tzinfo=datetime.UTC)
    expected = distribution.wave_forecast(rule=rule, now=tick - HOUR)
    barrier = threading.Barrier(2)
    plans = []

    def beat(delay: datetime.timedelta) -> None:
        barrier.wait()
        try:
            plans.append(distribution.wave_run_scheduled(rule_id=rule.id, now=tick + delay))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat, args=(s * MINUTE,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.already_ran for p in plans) == [False, True]
    assert sum(p.planned for p in plans) == expected.planned
    assert Invitation.objects.filter(rule=rule).count() == expected.candidates
    assert list(WaveRun.objects.values_list("scheduled_for", flat=True)) == [tick]
    rule.refresh_from_db()
    assert rule.runs == 1
