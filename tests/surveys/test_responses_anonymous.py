"""How an anonymous survey's response is stored: on its reporting period's first day, with no
time, under a random id, unreleased, about the survey's touchpoint only (surveys.services)."""

import pytest
from django.utils import timezone

from audiences.models import Channel
from journeys.models import TouchpointEvent
from surveys import services, tokens
from surveys.models import (
    Answer,
    Invitation,
    InvitationState,
    QuestionType,
    ReportingPeriod,
    Response,
    Survey,
)
from surveys.periods import period_for
from surveys.services import responses
from tests.factories import make_person
from tests.surveys.distribution_factories import make_invitation, make_rule
from tests.surveys.test_hosted_support import (
    add_question,
    invite,
    make_survey,
    make_touchpoint,
    plain_static_files,  # noqa: F401 - autouse fixture
    public_link,
    three_page_survey,
    url,
)
from tests.surveys.test_periods import DAY, DECEMBER, midnight, waiting

pytestmark = pytest.mark.django_db


def one_question_survey(**extra) -> Survey:  # noqa: ANN003
    survey = make_survey(anonymous=True, **extra)
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    return survey


def test_an_anonymous_submit_keeps_its_period_start_and_no_time(client):
    survey = one_question_survey()
    invitation, token = invite(survey)
    today = timezone.localdate()

    client.post(url(token), {"page": "1", "q-nps": "7"})

    response = Response.objects.get()
    first_day = today.replace(day=1)
    assert (response.completed_on, response.completed_at, response.started_at) == (
        first_day,
        None,
        None,
    )
    assert response.released is False
    assert services.ANONYMOUS_IDS[0] <= response.pk < services.ANONYMOUS_IDS[1]
    invitation.refresh_from_db()
    # That it was answered, in which period: never when.
    assert invitation.state == InvitationState.RESPONDED
    assert invitation.responded_at == invitation.opened_at == midnight(first_day)
    # Still the one-response claim: a second submit is refused.
    again = client.post(url(token), {"page": "1", "q-nps": "1"})
    assert again.status_code == 200
    assert list(Answer.objects.values_list("number", flat=True)) == [7]


def test_an_anonymous_submit_within_a_wave_is_stored_on_the_wave_start(client):
    survey = one_question_survey()
    run = timezone.now() - 2 * DAY
    make_rule(survey, expiry_days=14, runs=1, last_run_at=run)
    invitation, token = invite(survey)

    client.post(url(token), {"page": "1", "q-nps": "9"})

    start = timezone.localdate(run)
    assert Response.objects.get().completed_on == start
    invitation.refresh_from_db()
    assert invitation.responded_at == midnight(start)
    assert ReportingPeriod.objects.get(survey=survey).ends_on == start + 13 * DAY


def test_an_opened_invitation_keeps_its_opening_day_and_says_answered_at_the_period_start(client):
    survey = one_question_survey()
    invitation, token = invite(survey)
    client.get(url(token))  # opened: the day only

    client.post(url(token), {"page": "1", "q-nps": "9"})

    invitation.refresh_from_db()
    assert invitation.opened_at == midnight(timezone.localdate())
    assert invitation.responded_at == midnight(timezone.localdate().replace(day=1))


def test_an_anonymous_response_carries_the_survey_touchpoint_never_the_events(client):
    survey = one_question_survey()
    survey.touchpoint = make_touchpoint(survey.audience, slug="checkout")
    survey.save()
    person = make_person("p-7")
    event = TouchpointEvent.objects.create(
        person=person,
        touchpoint=make_touchpoint(survey.audience, slug="support-closed"),
        occurred_at=timezone.now(),
    )
    _, token = services.invitation_create(
        survey=survey, person=person, channel=Channel.EMAIL, event=event
    )

    client.post(url(token), {"page": "1", "q-nps": "4"})

    assert Response.objects.get().touchpoint == survey.touchpoint


def test_a_page_saved_anonymous_response_waits_unreleased_with_a_random_id(client):
    survey = three_page_survey(anonymous=True)
    _, token = invite(survey)

    client.post(url(token), {"page": "1", "q-nps": "8"})

    started = Response.objects.get()
    assert (started.completed_on, started.started_at, started.released) == (None, None, False)
    assert started.pk >= services.ANONYMOUS_IDS[0]

    client.post(url(token), {"page": "2", "q-liked": "Hız"})
    client.post(url(token), {"page": "3", "q-csat": "4", "q-reason": "staff"})
    done = Response.objects.get()
    assert done.pk == started.pk
    assert (done.completed_on, done.completed_at, done.released) == (
        timezone.localdate().replace(day=1),
        None,
        False,
    )


def test_an_anonymous_public_link_response_is_stored_on_its_period_start(client):
    survey = one_question_survey()
    public_link(survey)

    client.post("/p/visit-qr/", {"page": "1", "q-nps": "10"})

    response = Response.objects.get()
    assert (response.completed_on, response.completed_at, response.released) == (
        timezone.localdate().replace(day=1),
        None,
        False,
    )


def test_a_taken_random_id_is_drawn_again(client, monkeypatch):
    survey = one_question_survey()
    taken = waiting(survey, DECEMBER, 1)[0].pk
    draws = iter([taken, taken, services.ANONYMOUS_IDS[0] + 12345])
    monkeypatch.setattr(responses, "anonymous_response_id", lambda: next(draws))
    _, token = invite(survey)

    client.post(url(token), {"page": "1", "q-nps": "5"})

    assert Response.objects.filter(survey=survey).count() == 2
    assert Response.objects.filter(pk=services.ANONYMOUS_IDS[0] + 12345).exists()


def test_anonymous_ids_do_not_follow_the_order_of_answering(client):
    survey = one_question_survey()
    tokens = [invite(survey, external_id=f"p-{i}")[1] for i in range(12)]

    for token in tokens:
        client.post(url(token), {"page": "1", "q-nps": "6"})

    ids = list(Response.objects.order_by("answers__id").values_list("pk", flat=True))
    assert len(set(ids)) == 12
    assert ids != sorted(ids)
    assert min(ids) >= services.ANONYMOUS_IDS[0]


def test_a_named_response_is_released_when_it_completes(client):
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    _, token = invite(survey)

    client.post(url(token), {"page": "1", "q-nps": "9"})  # one statement on PostgreSQL

    response = Response.objects.get()
    assert (response.released, response.completed_on) == (True, timezone.localdate())
    assert response.pk < services.ANONYMOUS_IDS[0]
    assert not ReportingPeriod.objects.exists()


def test_an_anonymous_submit_takes_a_fixed_number_of_queries(client, django_assert_num_queries):
    survey = one_question_survey()
    period_for(survey=survey, today=timezone.localdate())
    _, token = invite(survey)

    # 1 invitation by token hash  2 the survey's questions  3 an unfinished response by its
    # resume key  4 SAVEPOINT (BEGIN outside a test)  5 the survey's wave rule  6 its current
    # period  7 UPDATE the invitation: the claim  8 SAVEPOINT  9 INSERT the response
    # 10 RELEASE SAVEPOINT (a taken id is drawn again)  11 INSERT the answers
    # 12 RELEASE SAVEPOINT (COMMIT)
    with django_assert_num_queries(12):
        reply = client.post(url(token), {"page": "1", "q-nps": "9"})

    assert reply.status_code == 302


def test_invitation_url_and_claims_still_work_for_anonymous_invitations(client):
    """The claim `responded_at IS NULL` still keeps one response per anonymous invitation."""
    survey = one_question_survey()
    invitation = make_invitation(survey, make_person("p-3"), state=InvitationState.SENT)
    token = tokens.token_for(invitation.nonce)

    first = client.post(url(token), {"page": "1", "q-nps": "2"})
    second = client.post(url(token), {"page": "1", "q-nps": "10"})

    assert (first.status_code, second.status_code) == (302, 200)
    assert Response.objects.filter(survey=survey).count() == 1
    assert Invitation.objects.get().state == InvitationState.RESPONDED
