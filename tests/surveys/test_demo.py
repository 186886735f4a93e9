"""Demo surveys: live surveys per demo audience, invitations and responses, their answers and
scores, idempotent and in a fixed number of statements."""

import datetime
import random
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count, Max, Min
from django.test.utils import CaptureQueriesContext

from audiences.models import AudienceKind, Membership, Person
from journeys.models import TouchpointRole
from surveys import tokens
from surveys.logic import logic_errors, visible_keys
from surveys.models import (
    Answer,
    ContactLedger,
    Invitation,
    InvitationState,
    Question,
    ReportingPeriod,
    Response,
    Survey,
    SurveyStatus,
)
from surveys.periods import anonymity_threshold
from surveys.services import ANONYMOUS_IDS
from tests.factories import make_audience, make_touchpoint
from tests.surveys.demo_support import (
    NOW,
    RUN_DAYS,
    SEGMENTS,
    demo_world,
    published,
    run,
)

pytestmark = pytest.mark.django_db


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
    # round(40 × share): NPS 45 %, CSAT 30 %, CES 15 %, fans 30 %; the pulse: 40 × 3 waves
    assert per_survey == {
        "Customer relationship NPS": 18,
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
