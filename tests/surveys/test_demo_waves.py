"""Demo employee pulse: its quarterly waves, who each invites and answers, their comments and
what a published wave shows."""

import datetime
from collections import Counter

import pytest
from django.db.models import Max

from audiences.models import AudienceKind, Membership, Person
from metrics.privacy import shown_values
from surveys import demo
from surveys.demo import responses as demo_responses
from surveys.demo import wave_runs
from surveys.models import (
    Answer,
    Invitation,
    InvitationState,
    ReportingPeriod,
    Response,
    Survey,
)
from surveys.periods import anonymity_threshold
from tests.factories import make_audience
from tests.surveys.demo_support import (
    NOW,
    RUN_DAYS,
    RUNS,
    demo_world,
    published,
    run,
)

pytestmark = pytest.mark.django_db


def test_wave_runs_follow_the_rules_crontab_up_to_now():
    def at(*args: int) -> datetime.datetime:
        return datetime.datetime(*args, tzinfo=datetime.UTC)

    assert wave_runs(now=NOW, count=3) == RUNS
    # Not yet run on its day before 09:00; the year turns.
    assert wave_runs(now=at(2026, 10, 1, 8, 59), count=3) == [
        at(2026, 1, 1, 9),
        at(2026, 4, 1, 9),
        at(2026, 7, 1, 9),
    ]
    assert wave_runs(now=at(2027, 1, 1, 9), count=2) == [at(2026, 10, 1, 9), at(2027, 1, 1, 9)]


def test_each_wave_is_planned_at_its_run_and_sent_in_hourly_batches(monkeypatch):
    monkeypatch.setattr(demo_responses, "PULSE_HOURLY_CAP", 10)
    world = demo_world()

    run()

    pulse = Survey.objects.get(name="Employee engagement pulse")
    employees = list(
        Membership.objects.filter(audience=world["employees"])
        .order_by("person_id")
        .values_list("person_id", flat=True)
    )
    for run_at in RUNS:
        wave = list(
            Invitation.objects.filter(survey=pulse, planned_at=run_at).order_by("person_id")
        )
        # Everyone, in person order, ten an hour (the cap), each lasting 14 days.
        assert [i.person_id for i in wave] == employees
        assert [i.due_at for i in wave] == [
            run_at + datetime.timedelta(hours=n // 10) for n in range(len(employees))
        ]
        assert {i.expires_at - i.due_at for i in wave} == {datetime.timedelta(days=14)}
        assert all(i.due_at < i.sent_at <= i.due_at + datetime.timedelta(minutes=15) for i in wave)
        assert {i.channel for i in wave} == {"email"}
    # One reporting period per wave: the run day until its invitations expire.
    assert list(
        ReportingPeriod.objects.filter(survey=pulse)
        .order_by("starts_on")
        .values_list("starts_on", "ends_on")
    ) == [(day, day + datetime.timedelta(days=13)) for day in RUN_DAYS]


def test_every_seeded_invitation_was_planned_before_it_was_due_and_sent():
    demo_world()

    run()

    invitations = list(Invitation.objects.select_related("survey"))
    assert all(i.planned_at <= i.due_at <= i.sent_at for i in invitations)
    leads = Counter(
        (i.survey.name, i.due_at - i.planned_at)
        for i in invitations
        if i.survey.name != "Employee engagement pulse"
    )
    hour = datetime.timedelta(hours=1)
    assert set(leads) == {
        ("Customer relationship NPS", hour),
        ("Checkout satisfaction (CSAT)", hour),  # the trigger's delay
        ("Support effort (CES)", 2 * hour),  # the trigger's delay
        ("Match-day experience", hour),
    }


def test_employees_get_the_waves_they_were_employed_for():
    world = demo_world()
    members = Membership.objects.filter(audience=world["employees"]).order_by("person_id")
    joined_late, left_in_august, left_on_a_run_day = members[:3]
    joined_late.joined_on = datetime.date(2026, 5, 1)
    left_in_august.left_on = datetime.date(2026, 8, 15)
    left_on_a_run_day.left_on = datetime.date(2026, 7, 1)
    Membership.objects.bulk_update(
        [joined_late, left_in_august, left_on_a_run_day], ["joined_on", "left_on"]
    )

    run()

    def waves(member: Membership) -> list[datetime.date]:
        return sorted(
            i.planned_at.date()
            for i in Invitation.objects.filter(
                survey__name="Employee engagement pulse", person_id=member.person_id
            )
        )

    assert waves(joined_late) == RUN_DAYS[1:]
    assert waves(left_in_august) == RUN_DAYS[:2]
    assert waves(left_on_a_run_day) == RUN_DAYS[:1]


def test_about_two_in_three_employees_answer_each_wave():
    demo_world(people_per_audience=100)

    run()

    pulse = Survey.objects.get(name="Employee engagement pulse")
    answered = Counter(
        Invitation.objects.filter(survey=pulse, state=InvitationState.RESPONDED).values_list(
            "planned_at", flat=True
        )
    )
    # 100 employees invited per wave (seeded with Random(42): 65 %, 62 %, 71 % answered).
    assert answered == dict(zip(RUNS, [65, 62, 71], strict=True))
    stored = Counter(Response.objects.filter(survey=pulse).values_list("completed_on", flat=True))
    assert stored == dict(zip(RUN_DAYS, [65, 62, 71], strict=True))
    states = Counter(Invitation.objects.filter(survey=pulse).values_list("state", flat=True))
    assert states == {"responded": 198, "opened": 39, "sent": 63}


def test_an_open_wave_counts_its_released_batch_and_nothing_answered_after_now():
    world = demo_world(people_per_audience=100)
    now = datetime.datetime(2026, 10, 5, 12, 0, tzinfo=datetime.UTC)

    run(now=now)

    k = anonymity_threshold(world["employees"].anonymity_threshold)
    pulse = Survey.objects.get(name="Employee engagement pulse")
    periods = {p.starts_on: p for p in ReportingPeriod.objects.filter(survey=pulse)}
    current = periods[datetime.date(2026, 10, 1)]
    assert sorted(periods) == [
        datetime.date(2026, 4, 1),
        datetime.date(2026, 7, 1),
        datetime.date(2026, 10, 1),
    ]
    # The current wave's period runs to the 14th: open, its answers so far released at once.
    assert (current.ends_on, current.published_at) == (datetime.date(2026, 10, 14), None)
    responses = Response.objects.filter(survey=pulse, completed_on=current.starts_on)
    assert current.released == responses.filter(released=True).count() == responses.count()
    assert current.released >= k
    assert [periods[day].published_at for day in sorted(periods)[:2]] == [
        published(datetime.date(2026, 4, 14)),
        published(datetime.date(2026, 7, 14)),
    ]
    # Four days in, fewer have answered than in a whole wave, and nobody after now.
    earlier = Response.objects.filter(survey=pulse, completed_on=datetime.date(2026, 7, 1))
    assert (current.released, earlier.count()) == (45, 62)
    opened = Invitation.objects.filter(survey=pulse, opened_at__isnull=False)
    assert opened.aggregate(last=Max("opened_at"))["last"] <= now


def test_employees_comment_on_their_work_in_their_own_language():
    demo_world(people_per_audience=150)

    run()

    texts = list(
        Answer.objects.filter(
            response__survey__name="Employee engagement pulse", question__type="text"
        ).values_list("question__key", "response__language", "text")
    )
    customer_texts = {
        t for by_language in demo.TEXTS.values() for ts in by_language.values() for t in ts
    }
    for key, language, text in texts:
        # One opening of a topic in the respondent's language, maybe one of its follow-ups.
        topics = demo.EMPLOYEE_TEXTS[key][language]
        assert any(
            text == opening or text in {f"{opening} {more}" for more in follow_ups}
            for openings, follow_ups in topics
            for opening in openings
        ), text
        assert text not in customer_texts
    keys = Counter((key, language) for key, language, _text in texts)
    assert set(keys) == {("improve", "en"), ("improve", "tr"), ("liked", "en"), ("liked", "tr")}
    # Varied: most are worded differently (Random(42): 71 distinct of 89).
    assert (len({t for _k, _l, t in texts}), len(texts)) == (71, 89)


def test_departments_show_in_every_published_wave_but_a_team_of_a_handful_does_not():
    employees = make_audience("employees", AudienceKind.EMPLOYEE)
    sizes = {"engineering": 45, "sales": 40, "legal": 4, "audit": 4}
    people = [
        Person(external_id=f"e-{segment}-{n}", email=f"e-{segment}-{n}@example.com", language=lang)
        for segment, size in sizes.items()
        for n in range(size)
        for lang in ["tr" if n % 3 else "en"]
    ]
    Person.objects.bulk_create(people)
    Membership.objects.bulk_create(
        Membership(person=p, audience=employees, segment=p.external_id.split("-")[1])
        for p in Person.objects.all()
    )

    run()

    k = anonymity_threshold(employees.anonymity_threshold)
    pulse = Response.objects.filter(survey__name="Employee engagement pulse")
    # Respondents per wave and department (Random(42)): legal and audit under k each, at least
    # k together, so hiding both protects each without hiding a third department.
    expected = {
        RUN_DAYS[0]: {"engineering": 27, "sales": 28, "audit": 3, "legal": 2},
        RUN_DAYS[1]: {"engineering": 24, "sales": 27, "audit": 2, "legal": 4},
        RUN_DAYS[2]: {"engineering": 35, "sales": 31, "audit": 2, "legal": 3},
    }
    periods = ReportingPeriod.objects.filter(survey__audience=employees).order_by("starts_on")
    assert [p.starts_on for p in periods] == RUN_DAYS
    for period in periods:
        assert period.published_at == published(period.ends_on)
        answered = pulse.filter(completed_on=period.starts_on)
        assert Counter(answered.values_list("segment", flat=True)) == expected[period.starts_on]
        rows = Counter(answered.values_list("segment", "channel", "language"))
        # Languages are hidden too: with the two teams' remainder they would tell how many of
        # those few answered in English.
        assert shown_values(rows, k=k) == {
            "segment": {"engineering", "sales"},
            "channel": {"email"},
            "language": set(),
        }
