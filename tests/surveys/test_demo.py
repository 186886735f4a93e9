"""Demo surveys: live surveys per demo audience, invitations and responses, their ledger
entries, and their distribution (policies, rules, one planned wave), idempotent."""

import datetime
import io
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import OutputWrapper
from django.db import connection
from django.db.models import Count, F, Max, Min
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from audiences.models import AudienceKind, Membership, Person
from journeys.models import TouchpointRole
from metrics.privacy import shown_values
from surveys import demo, tokens
from surveys.demo import seed_distribution, seed_surveys, wave_runs
from surveys.distribution import fatigue
from surveys.logic import logic_errors, visible_keys
from surveys.models import (
    Answer,
    ContactKind,
    ContactLedger,
    DistributionRule,
    FatiguePolicy,
    Invitation,
    InvitationState,
    Question,
    ReportingPeriod,
    ReportingPeriodKind,
    Response,
    RuleKind,
    Survey,
    SurveyStatus,
)
from surveys.periods import anonymity_threshold, period_for
from surveys.services import ANONYMOUS_IDS
from tests.factories import make_audience, make_touchpoint

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)
# The quarterly pulse's runs up to NOW (09:00 UTC on the first of January, April, July, October).
RUNS = [datetime.datetime(2026, month, 1, 9, 0, tzinfo=datetime.UTC) for month in (4, 7, 10)]
RUN_DAYS = [run.date() for run in RUNS]


def published(ends_on: datetime.date) -> datetime.datetime:
    """When the beat publishes a period that ended on `ends_on`: 00:05 UTC the day after."""
    return datetime.datetime.combine(
        ends_on + datetime.timedelta(days=1), datetime.time(0, 5), tzinfo=datetime.UTC
    )


SEGMENTS = {
    "customers": ["gold", "silver", "bronze"],
    "employees": ["IT", "Sales"],
    "fans": ["season", "casual"],
}


def demo_world(people_per_audience: int = 30) -> dict:
    """Customers (4 touchpoints, one purchase, one support), employees and fans; no suppliers."""
    customers = make_audience("customers", AudienceKind.CUSTOMER)
    employees = make_audience("employees", AudienceKind.EMPLOYEE)
    fans = make_audience("fans", AudienceKind.FAN)
    touchpoints = {
        "visit": make_touchpoint(customers, "site-visit", stage_name="Awareness"),
        "checkout": make_touchpoint(
            customers, "checkout", stage_name="Purchase", role=TouchpointRole.PURCHASE
        ),
        "delivery": make_touchpoint(customers, "delivery", stage_name="Purchase"),
        "support": make_touchpoint(
            customers, "ticket-closed", stage_name="Support", role=TouchpointRole.SUPPORT_REQUEST
        ),
        "onboarding": make_touchpoint(employees, "first-day", stage_name="Onboarding"),
        "gate": make_touchpoint(fans, "stadium-entry", stage_name="Match day"),
    }
    people, memberships = [], []
    for audience in (customers, employees, fans):
        for n in range(people_per_audience):
            people.append(
                Person(
                    external_id=f"{audience.slug}-{n}",
                    email=f"{audience.slug}-{n}@example.com",
                    language="en" if n % 3 == 0 else "tr",
                )
            )
    Person.objects.bulk_create(people)
    by_id = {p.external_id: p for p in Person.objects.all()}
    for audience in (customers, employees, fans):
        segments = SEGMENTS[audience.slug]
        for n in range(people_per_audience):
            memberships.append(
                Membership(
                    person=by_id[f"{audience.slug}-{n}"],
                    audience=audience,
                    segment=segments[n % len(segments)],
                )
            )
    Membership.objects.bulk_create(memberships)
    return {"customers": customers, "employees": employees, "fans": fans, **touchpoints}


def run(**overrides) -> dict:
    out = io.StringIO()
    options = {"now": NOW, "rng": random.Random(42), "stdout": OutputWrapper(out)}
    counts = seed_surveys(**{**options, **overrides})
    counts["output"] = out.getvalue()
    return counts


def test_creates_live_surveys_for_the_audiences_present():
    world = demo_world()

    counts = run()

    surveys = {s.name: s for s in Survey.objects.select_related("audience", "touchpoint")}
    assert sorted(surveys) == [
        "Checkout satisfaction (CSAT)",
        "Customer relationship NPS",
        "Employee engagement pulse",
        "Match-day experience",
        "Support effort (CES)",
    ]
    assert {s.status for s in surveys.values()} == {SurveyStatus.LIVE}
    assert surveys["Customer relationship NPS"].audience == world["customers"]
    assert surveys["Checkout satisfaction (CSAT)"].touchpoint == world["checkout"]
    assert surveys["Support effort (CES)"].touchpoint == world["support"]
    assert surveys["Employee engagement pulse"].anonymous is True
    assert surveys["Match-day experience"].audience == world["fans"]
    assert counts["surveys"] == 5
    assert counts["invitations"] == Invitation.objects.count()
    assert counts["responses"] == Response.objects.count()
    assert counts["answers"] == Answer.objects.count()
    assert counts["contacts"] == ContactLedger.objects.count() == counts["invitations"]
    assert counts["output"] == (
        f"Surveys: 5 created, {counts['invitations']} invitations, {counts['responses']} "
        f"responses, {counts['answers']} answers, {counts['contacts']} contact-ledger entries.\n"
    )
    for survey in surveys.values():
        assert logic_errors(survey.questions.all()) == {}


def test_a_share_of_each_audience_is_invited_once_per_survey_and_every_employee_per_wave():
    demo_world(people_per_audience=40)

    run()

    per_survey = dict(Survey.objects.annotate(n=Count("invitations")).values_list("name", "n"))
    # round(40 × share): NPS 35 %, CSAT 30 %, CES 15 %, fans 30 %; the pulse: 40 × 3 waves
    assert per_survey == {
        "Customer relationship NPS": 14,
        "Checkout satisfaction (CSAT)": 12,
        "Support effort (CES)": 6,
        "Employee engagement pulse": 120,
        "Match-day experience": 12,
    }
    pairs = Invitation.objects.values("survey__name", "person").annotate(n=Count("id"))
    per_pair = {(p["survey__name"] == "Employee engagement pulse", p["n"]) for p in pairs}
    assert per_pair == {(False, 1), (True, 3)}


def test_invitations_have_working_tokens_and_plausible_states():
    demo_world()

    run()

    states = set(Invitation.objects.values_list("state", flat=True))
    assert states == {InvitationState.SENT, InvitationState.OPENED, InvitationState.RESPONDED}
    for invitation in Invitation.objects.all()[:20]:
        assert invitation.token_hash == tokens.token_hash(tokens.token_for(invitation.nonce))
        assert invitation.sent_at <= NOW
    responded = Invitation.objects.filter(state=InvitationState.RESPONDED)
    assert not responded.filter(responded_at__isnull=True).exists()
    assert not Invitation.objects.filter(
        state=InvitationState.SENT, opened_at__isnull=False
    ).exists()


def test_named_responses_belong_to_responded_invitations():
    demo_world()

    run()

    named = Response.objects.filter(survey__anonymous=False)
    assert (
        named.count()
        == Invitation.objects.filter(
            survey__anonymous=False, state=InvitationState.RESPONDED
        ).count()
    )
    assert not named.filter(invitation__isnull=True).exists()
    assert not named.filter(completed_at__isnull=True).exists()
    mismatched = [
        r for r in named.select_related("invitation") if r.person_id != r.invitation.person_id
    ]
    assert mismatched == []


def test_anonymous_responses_keep_no_person_invitation_or_time():
    demo_world()

    run()

    pulse = Response.objects.filter(survey__name="Employee engagement pulse")
    assert (
        pulse.count()
        == Invitation.objects.filter(
            survey__name="Employee engagement pulse", state=InvitationState.RESPONDED
        ).count()
    )
    assert pulse.filter(person__isnull=False).count() == 0
    assert pulse.filter(invitation__isnull=False).count() == 0
    assert pulse.filter(completed_at__isnull=False).count() == 0
    assert pulse.filter(started_at__isnull=False).count() == 0
    assert pulse.filter(completed_on__isnull=True).count() == 0
    assert set(pulse.values_list("segment", flat=True)) == {"IT", "Sales"}
    # Stored as the hosted pages store them: on their period's first day (the day its wave
    # ran), under random ids, about the survey's touchpoint (none) only.
    assert set(pulse.values_list("completed_on", flat=True)) == set(RUN_DAYS)
    assert pulse.filter(pk__lt=ANONYMOUS_IDS[0]).count() == 0
    assert pulse.filter(touchpoint__isnull=False).count() == 0
    assert pulse.exclude(announced_on=F("completed_on")).count() == 0


def test_anonymous_invitations_keep_the_period_only_and_responses_do_not_follow_their_order():
    demo_world()

    run()

    invitations = Invitation.objects.filter(
        survey__name="Employee engagement pulse", state=InvitationState.RESPONDED
    ).order_by("pk")
    moments = [m for i in invitations for m in (i.opened_at, i.responded_at)]
    assert moments and all(
        (m.hour, m.minute, m.second, m.microsecond) == (0, 0, 0, 0) for m in moments
    )
    days_by_invitation = [i.responded_at.date() for i in invitations]
    assert set(days_by_invitation) == set(RUN_DAYS)  # answered in which wave, not when
    pulse = Response.objects.filter(survey__name="Employee engagement pulse")
    days_by_response = list(pulse.values_list("completed_on", flat=True))
    assert sorted(days_by_response) == sorted(days_by_invitation)
    # Random ids: neither the invitations' order nor any order of answering.
    ids = list(pulse.values_list("pk", flat=True))
    assert len(set(ids)) == len(ids) and min(ids) >= ANONYMOUS_IDS[0]


def test_named_responses_are_spread_over_the_last_ninety_days_and_the_pulse_over_three_waves():
    demo_world()

    run()

    named = Response.objects.filter(survey__anonymous=False)
    span = named.aggregate(first=Min("completed_on"), last=Max("completed_on"))
    assert span["first"] >= (NOW - datetime.timedelta(days=90)).date()
    assert span["last"] <= NOW.date()
    assert (span["last"] - span["first"]).days >= 30
    # The pulse's answers sit on the days of its last three quarterly runs up to NOW.
    anonymous = Response.objects.filter(survey__anonymous=True)
    assert sorted(set(anonymous.values_list("completed_on", flat=True))) == RUN_DAYS


def test_anonymous_responses_are_released_in_batches_of_at_least_k_and_past_periods_published():
    world = demo_world(people_per_audience=100)

    run()

    k = anonymity_threshold(world["employees"].anonymity_threshold)
    pulse = Response.objects.filter(survey__name="Employee engagement pulse")
    by_period = {
        p.starts_on: p
        for p in ReportingPeriod.objects.filter(survey__name="Employee engagement pulse")
    }
    assert sorted(by_period) == sorted(set(pulse.values_list("completed_on", flat=True)))
    released = Counter(pulse.filter(released=True).values_list("completed_on", flat=True))
    waiting = Counter(pulse.filter(released=False).values_list("completed_on", flat=True))
    for start, period in by_period.items():
        # Published when the beat would have published it: the night after it ended.
        if period.ends_on < NOW.date():
            assert period.published_at == published(period.ends_on)
        else:
            assert period.published_at is None
        assert period.released == released[start]
        assert period.released == 0 or period.released >= k
        if period.published_at is None:
            assert waiting[start] < k  # the open period: what waits is under k
    assert sum(released.values()) > 0
    # Named surveys have no periods and every response counts at once.
    assert not ReportingPeriod.objects.filter(survey__anonymous=False).exists()
    assert not Response.objects.filter(survey__anonymous=False, released=False).exists()


# --- The employee pulse: its quarterly waves -------------------------------------------------


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
    monkeypatch.setattr(demo, "PULSE_HOURLY_CAP", 10)
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
    # 100 employees invited per wave (seeded with Random(42): 65 %, 70 %, 70 % answered).
    assert answered == dict(zip(RUNS, [65, 70, 70], strict=True))
    stored = Counter(Response.objects.filter(survey=pulse).values_list("completed_on", flat=True))
    assert stored == dict(zip(RUN_DAYS, [65, 70, 70], strict=True))
    states = Counter(Invitation.objects.filter(survey=pulse).values_list("state", flat=True))
    assert states == {"responded": 205, "opened": 32, "sent": 63}


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
    assert (current.released, earlier.count()) == (37, 70)
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
    # Varied: most are worded differently (Random(42): 62 distinct of 79).
    assert (len({t for _k, _l, t in texts}), len(texts)) == (62, 79)


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
        RUN_DAYS[0]: {"engineering": 32, "sales": 25, "audit": 4, "legal": 1},
        RUN_DAYS[1]: {"engineering": 32, "sales": 31, "audit": 4, "legal": 4},
        RUN_DAYS[2]: {"engineering": 32, "sales": 29, "audit": 3, "legal": 2},
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


def test_answers_follow_the_display_logic_and_scales():
    demo_world()

    run()

    questions = {q.pk: q for q in Question.objects.all()}
    by_response: dict[int, dict] = {}
    for answer in Answer.objects.all():
        q = questions[answer.question_id]
        value = answer.number if answer.number is not None else (answer.choices or answer.text)
        by_response.setdefault(answer.response_id, {})[q.key] = (q, value)
    for answers in by_response.values():
        survey_questions = [q for q, _v in answers.values()]
        survey_id = survey_questions[0].survey_id
        all_questions = [q for q in questions.values() if q.survey_id == survey_id]
        plain = {key: value for key, (_q, value) in answers.items()}
        assert set(plain) <= visible_keys(all_questions, plain)
        for q, value in answers.values():
            if q.type == "nps":
                assert 0 <= value <= 10
            elif q.type == "csat":
                assert 1 <= value <= 5
            elif q.type in ("ces", "rating"):
                assert 1 <= value <= q.scale_max
        required = {q.key for q in all_questions if q.required}
        assert required & visible_keys(all_questions, plain) <= set(plain)


def test_nps_has_promoters_passives_and_detractors_and_texts_in_both_languages():
    demo_world(people_per_audience=150)

    run()

    scores = list(
        Answer.objects.filter(
            question__key="nps", response__survey__name="Customer relationship NPS"
        ).values_list("number", flat=True)
    )
    assert any(s <= 6 for s in scores)
    assert any(7 <= s <= 8 for s in scores)
    assert any(s >= 9 for s in scores)
    texts = Answer.objects.filter(question__type="text").exclude(text="")
    languages = set(texts.values_list("response__language", flat=True))
    assert languages == {"en", "tr"}
    turkish = texts.filter(response__language="tr").values_list("text", flat=True)
    assert any(set("çğıöşüİ") & set(t) for t in turkish)


def test_scores_differ_by_segment():
    demo_world(people_per_audience=150)

    run()

    means = {}
    for segment in SEGMENTS["customers"]:
        values = list(
            Answer.objects.filter(
                question__key="nps",
                response__survey__name="Customer relationship NPS",
                response__segment=segment,
            ).values_list("number", flat=True)
        )
        means[segment] = sum(values) / len(values)
    # Segments are sorted (bronze, gold, silver) and get +0.1, 0, −0.1 of sentiment.
    assert means["bronze"] > means["silver"]


def test_running_again_creates_nothing():
    demo_world()
    first = run()
    before = (
        Survey.objects.count(),
        Invitation.objects.count(),
        Response.objects.count(),
        Answer.objects.count(),
        ContactLedger.objects.count(),
    )

    second = run(rng=random.Random(1))

    assert second == {
        "surveys": 0,
        "invitations": 0,
        "responses": 0,
        "answers": 0,
        "contacts": 0,
        "output": (
            "Surveys: 0 created, 0 invitations, 0 responses, 0 answers, 0 contact-ledger entries.\n"
        ),
    }
    after = (
        Survey.objects.count(),
        Invitation.objects.count(),
        Response.objects.count(),
        Answer.objects.count(),
        ContactLedger.objects.count(),
    )
    assert after == before
    assert first["surveys"] == 5


def test_missing_audiences_are_skipped():
    make_audience("suppliers", AudienceKind.SUPPLIER)

    counts = run()

    assert list(Survey.objects.values_list("name", flat=True)) == ["Supplier satisfaction"]
    assert counts["surveys"] == 1
    assert counts["invitations"] == 0


def test_without_a_support_touchpoint_there_is_no_ces_survey():
    customers = make_audience("customers", AudienceKind.CUSTOMER)
    make_touchpoint(customers, "checkout", role=TouchpointRole.PURCHASE)

    run()

    assert sorted(Survey.objects.values_list("name", flat=True)) == [
        "Checkout satisfaction (CSAT)",
        "Customer relationship NPS",
    ]


def count_seed_queries(people: int) -> tuple[int, int, int]:
    """(statements other than INSERTs, INSERT statements, rows written) of one seed over
    `people` members per audience."""
    demo_world(people_per_audience=people)
    with CaptureQueriesContext(connection) as captured:
        counts = run()
    written = ("invitations", "responses", "answers", "contacts")
    inserts = sum(q["sql"].lstrip().upper().startswith("INSERT") for q in captured)
    return len(captured) - inserts, inserts, sum(counts[key] for key in written)


def test_query_count_does_not_grow_per_row():
    small_other, small_inserts, small_rows = count_seed_queries(40)
    Survey.objects.all().delete()
    Membership.objects.all().delete()
    Person.objects.all().delete()
    from audiences.models import Audience

    Audience.objects.all().delete()
    large_other, large_inserts, large_rows = count_seed_queries(200)

    # Per survey: the template's inserts, a status update, its questions, the audience's
    # members, then bulk inserts, the invitations' planned times (one UPDATE, one per wave
    # run for the pulse) and the periods' release. Once: the demo surveys' ids and the
    # ledger's INSERT … SELECT. None of that depends on the number of rows; the bulk inserts
    # do only as far as a statement's size is capped (SQLite: 999 parameters).
    assert large_rows > 4 * small_rows
    assert large_other == small_other
    assert large_inserts < large_rows / 50


def test_csat_falls_back_to_the_first_touchpoint_without_a_purchase_one():
    customers = make_audience("customers", AudienceKind.CUSTOMER)
    visit = make_touchpoint(customers, "site-visit", stage_name="Awareness")
    make_touchpoint(customers, "delivery", stage_name="Delivery")

    run()

    assert Survey.objects.get(name="Checkout satisfaction (CSAT)").touchpoint == visit


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


def distribute(**overrides) -> dict:
    out = io.StringIO()
    totals = seed_distribution(**{"now": NOW, "stdout": OutputWrapper(out), **overrides})
    totals["output"] = out.getvalue()
    return totals


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
