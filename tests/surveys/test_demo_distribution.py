"""Demo history and distribution: the seeded contact ledger, fatigue policies, rules and one
planned wave, idempotent with `seed_demo`."""

import datetime
import io
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from surveys.distribution import fatigue
from surveys.models import (
    ContactKind,
    ContactLedger,
    DistributionRule,
    FatiguePolicy,
    Invitation,
    InvitationState,
    ReportingPeriod,
    ReportingPeriodKind,
    RuleKind,
)
from surveys.periods import period_for
from tests.surveys.demo_support import (
    NOW,
    RUN_DAYS,
    RUNS,
    demo_world,
    distribute,
    run,
)

pytestmark = pytest.mark.django_db

# --- The contact ledger of the seeded history ------------------------------------------------


def test_every_invitation_that_reached_someone_has_its_ledger_entry_at_its_sent_time():
    demo_world()

    counts = run()

    reached = Invitation.objects.filter(
        state__in=[InvitationState.SENT, InvitationState.OPENED, InvitationState.RESPONDED]
    )
    expected = sorted(
        (i.person_id, i.id, i.survey_id, ContactKind.INVITATION.value, i.channel, i.sent_at)
        for i in reached
    )
    entries = sorted(
        ContactLedger.objects.values_list(
            "person_id", "invitation_id", "survey_id", "kind", "channel", "at"
        )
    )
    assert entries == expected
    assert counts["contacts"] == len(expected) == Invitation.objects.count()


def test_demo_surveys_seeded_without_a_ledger_get_it_on_the_next_run():
    demo_world()
    run()
    sent = ContactLedger.objects.count()
    ContactLedger.objects.all().delete()

    again = run(rng=random.Random(1))

    assert (again["surveys"], again["contacts"]) == (0, sent)
    assert ContactLedger.objects.count() == sent


def test_the_fatigue_report_counts_the_seeded_invitations():
    world = demo_world()
    run()

    load = {row.audience_id: row for row in fatigue.audience_load(now=NOW)}

    per_person = Counter(
        Invitation.objects.filter(survey__audience=world["customers"]).values_list(
            "person_id", flat=True
        )
    )
    received = Counter(min(n, 3) for n in per_person.values())
    assert load[world["customers"].pk].buckets == {
        "0": 30 - len(per_person),
        "1": received[1],
        "2": received[2],
        "3+": received[3],
    }
    assert len(per_person) > 0


# --- Distribution: policies, rules, the planned relationship wave ----------------------------


def test_policies_are_the_global_defaults_and_a_stricter_one_for_employees():
    world = demo_world()
    run()

    totals = distribute()

    assert totals["policies"] == 2
    fields = [
        "max_invitations",
        "window_days",
        "min_gap_days",
        "recontact_days",
        "rest_after_response_days",
        "quiet_start",
        "quiet_end",
        "wave_hourly_cap",
    ]
    policies = {p.audience_id: p for p in FatiguePolicy.objects.all()}
    assert sorted(policies, key=str) == sorted([None, world["employees"].pk], key=str)
    default = fatigue.DEFAULT_POLICY
    # The defaults, but an 80-day recontact window so the quarterly pulse can run every quarter.
    assert [getattr(policies[None], f) for f in fields] == [
        80 if f == "recontact_days" else getattr(default, f) for f in fields
    ]
    employees = policies[world["employees"].pk]
    assert [getattr(employees, f) for f in fields] == [
        1,
        30,
        7,
        80,
        14,
        datetime.time(18, 0),
        datetime.time(9, 0),
        None,
    ]


def test_existing_policies_are_left_alone():
    demo_world()
    run()
    FatiguePolicy.objects.create(audience=None, max_invitations=5)

    totals = distribute()

    assert totals["policies"] == 0
    assert list(FatiguePolicy.objects.values_list("audience_id", "max_invitations")) == [(None, 5)]


def test_rules_are_two_triggers_and_two_waves_on_the_demo_surveys():
    world = demo_world()
    run()

    totals = distribute()

    assert totals["rules"] == 4
    rules = {r.name: r for r in DistributionRule.objects.select_related("survey")}
    assert {name: (r.kind, r.survey.name) for name, r in rules.items()} == {
        "Support effort after a request resolved at first contact": (
            RuleKind.TRIGGER,
            "Support effort (CES)",
        ),
        "Checkout satisfaction after each purchase": (
            RuleKind.TRIGGER,
            "Checkout satisfaction (CSAT)",
        ),
        "Quarterly employee pulse": (RuleKind.WAVE, "Employee engagement pulse"),
        "Monthly relationship NPS (10 % of customers)": (
            RuleKind.WAVE,
            "Customer relationship NPS",
        ),
    }
    ces = rules["Support effort after a request resolved at first contact"]
    assert (
        ces.touchpoint,
        ces.delay,
        ces.sampling_rate,
        ces.condition,
        ces.channels,
        ces.reminder_count,
        ces.reminder_after_days,
    ) == (
        world["support"],
        datetime.timedelta(hours=2),
        0.25,
        {"first_contact_resolved": True},
        ["email", "sms"],
        1,
        3,
    )
    csat = rules["Checkout satisfaction after each purchase"]
    assert (csat.touchpoint, csat.delay, csat.sampling_rate, csat.channels) == (
        world["checkout"],
        datetime.timedelta(hours=1),
        1.0,
        ["email", "sms"],
    )
    pulse = rules["Quarterly employee pulse"]
    assert (
        pulse.channels,
        pulse.reminder_count,
        pulse.reminder_after_days,
        pulse.expiry_days,
        pulse.hourly_cap,
    ) == (["email"], 2, 3, 14, 200)
    nps = rules["Monthly relationship NPS (10 % of customers)"]
    assert (nps.sample_share, nps.channels) == (0.1, ["email", "sms"])


def test_the_waves_are_in_the_beat_schedule_and_the_triggers_are_not():
    demo_world()
    run()

    distribute()

    schedules = {}
    for rule in DistributionRule.objects.select_related("periodic_task__crontab"):
        task = rule.periodic_task
        if task is None:
            schedules[rule.name] = None
            continue
        cron = task.crontab
        assert (task.task, task.args, task.enabled, task.one_off, task.queue) == (
            "surveys.wave_run_task",
            f"[{rule.pk}]",
            True,
            False,
            "bulk",
        )
        schedules[rule.name] = (
            cron.minute,
            cron.hour,
            cron.day_of_month,
            cron.month_of_year,
            cron.day_of_week,
        )
    assert schedules == {
        "Support effort after a request resolved at first contact": None,
        "Checkout satisfaction after each purchase": None,
        "Quarterly employee pulse": ("0", "9", "1", "1,4,7,10", "*"),
        "Monthly relationship NPS (10 % of customers)": ("0", "10", "1", "*", "*"),
    }
    assert PeriodicTask.objects.filter(task="surveys.wave_run_task").count() == 2


def test_the_relationship_wave_plans_once_and_suppresses_by_the_guards_own_rules():
    demo_world(people_per_audience=300)
    run()
    ledger_before = ContactLedger.objects.count()

    totals = distribute()

    wave = DistributionRule.objects.get(name="Monthly relationship NPS (10 % of customers)")
    invitations = list(Invitation.objects.filter(rule=wave))
    states = Counter(i.state for i in invitations)
    suppressed = Counter(i.suppression_reason for i in invitations if i.state == "suppressed")
    assert set(states) == {InvitationState.PLANNED, InvitationState.SUPPRESSED}
    assert (totals["planned"], totals["suppressed"]) == (states["planned"], suppressed)
    assert (wave.runs, wave.last_run_at) == (1, NOW)
    # Each verdict is what the guard decides from the seeded history.
    people = [i.person_id for i in invitations]
    policies = fatigue.policies_load()
    facts = fatigue.facts_load(people, policies=policies, now=NOW)
    reach = fatigue.reach_load(people)
    for invitation in invitations:
        _channel, reason = fatigue.channel_choose(
            wave.channels, reach[invitation.person_id], requires_opt_in=False
        )
        reason = reason or fatigue.budget_reason(
            facts[invitation.person_id], policies, survey_id=wave.survey_id, now=NOW
        )
        assert invitation.suppression_reason == (reason or "")
        assert reason is None or fatigue.reason_label(reason) != reason
    # Planned, not sent: nothing in the ledger yet, and due now for dispatch_due.
    planned = [i for i in invitations if i.state == InvitationState.PLANNED]
    assert {i.due_at for i in planned} == {NOW}
    assert ContactLedger.objects.count() == ledger_before
    reasons = ", ".join(
        f"{n} {fatigue.reason_label(r)}"
        for r, n in sorted(suppressed.items(), key=lambda item: (-item[1], item[0]))
    )
    assert totals["output"] == (
        f"Distribution: 4 rules, 2 fatigue policies, relationship wave planned "
        f"{states['planned']}, suppressed {suppressed.total()} ({reasons}).\n"
    )
    # The pulse's wave ran three times (seed_surveys): it is not planned again here.
    pulse = DistributionRule.objects.get(name="Quarterly employee pulse")
    assert not pulse.invitations.filter(state=InvitationState.PLANNED).exists()


def test_the_pulse_wave_records_the_runs_seeded_for_it():
    demo_world()
    run()

    distribute()

    rule = DistributionRule.objects.get(name="Quarterly employee pulse")
    survey = rule.survey
    assert (rule.runs, rule.last_run_at, rule.expiry_days) == (3, RUNS[-1], 14)
    pulse = Invitation.objects.filter(survey=survey)
    assert pulse.count() == rule.invitations.count() == 90
    # The other seeded invitations came from no rule (the relationship wave's are new).
    assert not Invitation.objects.exclude(survey=survey).filter(rule=rule).exists()
    assert not Invitation.objects.filter(
        survey__name="Customer relationship NPS", state=InvitationState.SENT, rule__isnull=False
    ).exists()
    # The survey's automatic reporting period is now the wave's: an answer during the last
    # wave belongs to its seeded period, a late one after it to the month from its end on.
    assert survey.reporting_period == ReportingPeriodKind.AUTO
    during = period_for(survey=survey, today=RUN_DAYS[-1] + datetime.timedelta(days=5))
    assert (during.starts_on, during.ends_on) == (RUN_DAYS[-1], datetime.date(2026, 10, 14))
    after = period_for(survey=survey, today=NOW.date())
    assert (after.starts_on, after.ends_on) == (
        datetime.date(2026, 11, 1),
        datetime.date(2026, 11, 30),
    )
    assert ReportingPeriod.objects.filter(survey=survey).count() == 4


def distribution_counts() -> tuple[int, ...]:
    return (
        DistributionRule.objects.count(),
        FatiguePolicy.objects.count(),
        Invitation.objects.count(),
        ContactLedger.objects.count(),
        PeriodicTask.objects.count(),
        CrontabSchedule.objects.count(),
    )


def test_running_the_distribution_seed_again_creates_nothing():
    demo_world()
    run()
    distribute()
    before = distribution_counts()

    again = distribute(now=NOW + datetime.timedelta(days=1))

    assert distribution_counts() == before
    assert again["output"] == (
        "Distribution: 0 rules, 0 fatigue policies, relationship wave planned 0, suppressed 0.\n"
    )
    assert DistributionRule.objects.get(name__startswith="Monthly relationship").runs == 1


def test_without_the_demo_surveys_only_the_global_policy_is_seeded():
    totals = distribute()

    assert (totals["rules"], totals["policies"], totals["planned"]) == (0, 1, 0)
    assert list(FatiguePolicy.objects.values_list("audience_id", flat=True)) == [None]


def test_seed_demo_twice_plans_one_wave_and_creates_nothing_new():
    def seed() -> str:
        out = io.StringIO()
        call_command("seed_demo", "--people", "400", stdout=out, stderr=io.StringIO())
        return out.getvalue()

    first = seed()
    before = distribution_counts()

    second = seed()

    assert distribution_counts() == before
    sent = Invitation.objects.filter(
        state__in=[InvitationState.SENT, InvitationState.OPENED, InvitationState.RESPONDED]
    )
    assert ContactLedger.objects.count() == sent.count()
    wave = DistributionRule.objects.get(name__startswith="Monthly relationship")
    assert wave.runs == 1
    assert Invitation.objects.filter(rule=wave, state=InvitationState.PLANNED).exists()
    assert "Distribution: 4 rules, 2 fatigue policies, relationship wave planned " in first
    assert (
        "Distribution: 0 rules, 0 fatigue policies, relationship wave planned 0, suppressed 0.\n"
        in second
    )
