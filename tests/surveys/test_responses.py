"""Responses: anonymity, one response per invitation / browser, preview, what a response carries."""

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from audiences.models import Channel
from journeys.models import TouchpointEvent
from surveys import services, tokens
from surveys.models import Answer, Invitation, InvitationState, Question, QuestionType, Response
from surveys.services import Progress, Respondent, named_submit
from tests.factories import make_person
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

pytestmark = pytest.mark.django_db


def _answer_all(client, path: str, nps: str = "3", **headers: str) -> None:
    client.post(path, {"page": "1", "q-nps": nps}, **headers)
    # Only the one shown of the two is read.
    client.post(path, {"page": "2", "q-improve": "Bekleme süresi", "q-liked": "Hız"})
    client.post(path, {"page": "3", "q-csat": "2", "q-reason": "price"})


def test_anonymous_response_keeps_no_person_invitation_times_or_user_agent(client):
    survey = three_page_survey(anonymous=True)
    invitation, token = invite(survey, segment="silver")

    _answer_all(client, url(token))

    response = Response.objects.get()
    invitation.refresh_from_db()
    assert response.person_id is None
    assert response.invitation_id is None
    assert response.started_at is None
    assert response.completed_at is None
    assert response.user_agent == ""
    assert response.resume_key is None
    assert response.browser_key is None
    # Stored on the first day of its reporting period (the calendar month: no wave), unreleased.
    first_day = timezone.localdate().replace(day=1)
    assert (response.completed_on, response.released) == (first_day, False)
    assert response.segment == "silver"
    assert response.channel == Channel.EMAIL
    assert invitation.state == InvitationState.RESPONDED
    midnight = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=datetime.UTC)
    assert invitation.responded_at == midnight
    assert not Response.objects.filter(invitation=invitation).exists()
    assert sorted(Answer.objects.values_list("question__key", "number", "text")) == [
        ("csat", 2, ""),
        ("improve", None, "Bekleme süresi"),
        ("nps", 3, ""),
        ("reason", None, "price"),
    ]


def test_anonymous_unfinished_response_resumes_through_its_keyed_hash(client):
    survey = three_page_survey(anonymous=True)
    _, token = invite(survey)

    client.post(url(token), {"page": "1", "q-nps": "10"})
    resumed = client.get(url(token)).content.decode()

    response = Response.objects.get()
    assert response.resume_key is not None
    assert token not in response.resume_key
    assert response.started_at is None
    assert "Neyi beğendiniz?" in resumed


def test_anonymous_second_submit_keeps_one_response(client):
    survey = three_page_survey(anonymous=True)
    _, token = invite(survey)
    _answer_all(client, url(token))

    again = client.post(url(token), {"page": "3", "q-csat": "5", "q-reason": "staff"})

    assert again.status_code == 200
    assert Response.objects.count() == 1
    assert Answer.objects.get(question__key="csat").number == 2


def test_named_response_carries_the_event_touchpoint_and_user_agent(client):
    survey = three_page_survey()
    touchpoint = make_touchpoint(survey.audience, slug="support-closed")
    person = make_person("p-9", language="en")
    event = TouchpointEvent.objects.create(
        person=person, touchpoint=touchpoint, occurred_at=timezone.now()
    )
    _, token = services.invitation_create(
        survey=survey, person=person, channel=Channel.SMS, event=event
    )

    _answer_all(client, url(token), HTTP_USER_AGENT="x" * 500)

    response = Response.objects.get()
    assert response.touchpoint == touchpoint
    assert response.channel == Channel.SMS
    assert response.language == "en"
    assert response.segment == ""
    assert response.person == person
    # The user agent is kept for named responses, cut to the column size.
    assert response.user_agent == "x" * 200


def test_public_link_second_completion_from_the_same_browser_is_refused(client):
    survey = three_page_survey()
    link = public_link(survey)

    first = client.get("/p/visit-qr/")
    _answer_all(client, "/p/visit-qr/")
    again = client.get("/p/visit-qr/")
    resubmit = client.post("/p/visit-qr/", {"page": "3", "q-csat": "5", "q-reason": "staff"})

    cookie = first.cookies["xm_browser"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert "Bu anketi zaten yanıtladınız" in again.content.decode()
    assert resubmit.status_code == 200
    response = Response.objects.get()
    assert response.public_link == link
    assert response.channel == Channel.WEB
    browser_id = client.cookies["xm_browser"].value.split(":")[0]
    assert response.browser_key == tokens.keyed_hash("browser", browser_id)
    assert browser_id not in response.browser_key


def test_public_link_another_browser_gets_its_own_response(client):
    survey = three_page_survey()
    public_link(survey)

    _answer_all(client, "/p/visit-qr/")
    _answer_all(Client(), "/p/visit-qr/", nps="9")

    assert Response.objects.filter(completed_on__isnull=False).count() == 2


def test_public_link_with_a_forged_cookie_starts_fresh(client):
    survey = three_page_survey()
    public_link(survey)
    client.cookies["xm_browser"] = "forged-id"

    page = client.get("/p/visit-qr/")

    assert page.status_code == 200
    assert page.cookies["xm_browser"].value != "forged-id"


def test_inactive_public_link_is_a_polite_404(client):
    survey = three_page_survey()
    link = public_link(survey)
    link.active = False
    link.save()

    assert client.get("/p/visit-qr/").status_code == 404


def test_preview_records_nothing(client, xm_manager):
    survey = three_page_survey()
    client.force_login(xm_manager)
    before = (Response.objects.count(), Answer.objects.count(), Invitation.objects.count())

    first = client.get(f"/s/preview/{survey.pk}/")
    client.post(f"/s/preview/{survey.pk}/", {"page": "1", "q-nps": "2"})
    second = client.get(f"/s/preview/{survey.pk}/?page=2")
    client.post(f"/s/preview/{survey.pk}/", {"page": "2", "q-improve": "Daha hızlı"})
    done = client.post(
        f"/s/preview/{survey.pk}/", {"page": "3", "q-csat": "1", "q-reason": "speed"}
    )
    after = (Response.objects.count(), Answer.objects.count(), Invitation.objects.count())

    assert first.status_code == 200
    assert "Önizleme — yanıtlar kaydedilmez." in first.content.decode()
    assert "Neyi iyileştirmeliyiz?" in second.content.decode()
    assert done.status_code == 302
    assert "Önizleme: hiçbir şey kaydedilmedi." in client.get(done["Location"]).content.decode()
    assert before == after == (0, 0, 0)


def test_preview_needs_a_staff_login(client, outsider):
    survey = three_page_survey()

    anonymous = client.get(f"/s/preview/{survey.pk}/")
    client.force_login(outsider)
    logged_in = client.get(f"/s/preview/{survey.pk}/")

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")
    assert logged_in.status_code == 302


def test_submit_past_the_response_limit_is_refused(client):
    survey = three_page_survey(response_limit=1)
    _, first = invite(survey, external_id="p-1")
    _, second = invite(survey, external_id="p-2")
    client.post(url(first), {"page": "1", "q-nps": "8"})
    client.post(url(second), {"page": "1", "q-nps": "8"})
    client.post(url(first), {"page": "3", "q-csat": "4", "q-reason": "price"})

    late = client.post(url(second), {"page": "3", "q-csat": "4", "q-reason": "price"})

    assert late.status_code == 410
    assert Response.objects.filter(completed_on__isnull=False).count() == 1


def test_response_answer_raises_for_an_already_completed_response():
    survey = three_page_survey()
    invitation, token = invite(survey)
    respondent = Respondent(survey=survey, invitation=invitation, token=token)
    response = services.response_start(respondent=respondent, language="tr")
    questions = list(survey.questions.all())
    unfinished = Progress(response=response, answers={})
    services.response_answer(
        respondent=respondent,
        questions=questions,
        values={"nps": 8},
        language="tr",
        progress=unfinished,
    )

    # A stale request: its invitation was read before the first completion committed.
    with pytest.raises(services.AlreadyResponded):
        services.response_answer(
            respondent=respondent,
            questions=questions,
            values={"nps": 1},
            language="tr",
            progress=unfinished,
        )

    assert Answer.objects.get().number == 8


def test_an_answer_emptied_on_the_last_page_is_deleted():
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    add_question(survey, "comment", QuestionType.TEXT, page=1, order=2, required=False)
    invitation, token = invite(survey)
    respondent = Respondent(survey=survey, invitation=invitation, token=token)
    questions = list(survey.questions.all())
    response = services.response_start(respondent=respondent, language="tr")
    services.response_save_page(
        response=response, questions=questions, values={"nps": 3, "comment": "Slow."}
    )

    services.response_answer(
        respondent=respondent,
        questions=questions,
        values={"nps": 4, "comment": None},
        language="tr",
        progress=Progress(response=response, answers={"nps": 3, "comment": "Slow."}),
    )

    assert list(Answer.objects.values_list("question__key", "number")) == [("nps", 4)]
    assert Response.objects.get().completed_on is not None


def test_the_one_statement_submit_sets_every_column_of_a_named_response():
    # named_submit._SUBMIT_NAMED_SQL lists its columns: a new field of Response or Answer needs
    # a place there (a named response has no public link, browser or resume key).
    sql = named_submit._SUBMIT_NAMED_SQL
    inserted = {
        table: {
            c.strip()
            for c in re.search(rf"INSERT INTO \{{{table}\}} \(([^)]*)\)", sql)[1].split(",")
        }
        for table in ("response", "answer")
    }

    left_empty = {"id", "public_link_id", "browser_key", "resume_key"}
    assert inserted["response"] | left_empty == {f.column for f in Response._meta.concrete_fields}
    assert inserted["answer"] | {"id"} == {f.column for f in Answer._meta.concrete_fields}


def _fields(instance) -> dict:  # noqa: ANN001
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_token_lookup_reads_what_the_orm_reads(django_assert_num_queries):
    survey = three_page_survey(intro={"tr": "Merhaba", "en": "Hello"}, response_limit=50)
    invitation, token = invite(survey, language="en")
    Invitation.objects.filter(pk=invitation.pk).update(opened_at=timezone.now())
    response = services.response_start(
        respondent=Respondent(survey=survey, invitation=invitation, token=token), language="en"
    )

    with django_assert_num_queries(1):
        found = services.invitation_for_token(token)

    expected = Invitation.objects.select_related("survey", "person").get(pk=invitation.pk)
    assert _fields(found) == _fields(expected)
    assert _fields(found.survey) == _fields(expected.survey)
    assert (found.person_language, found.response_pk) == ("en", response.pk)
    assert found.get_deferred_fields() == set() == found.survey.get_deferred_fields()


def test_the_token_lookup_of_an_invitation_without_person_or_response():
    survey = make_survey()
    invitation, token = services.invitation_create(
        survey=survey, person=None, channel=Channel.EMAIL, state=InvitationState.SENT
    )

    found = services.invitation_for_token(token)

    assert _fields(found) == _fields(Invitation.objects.get(pk=invitation.pk))
    assert (found.person_language, found.response_pk) == (None, None)


def test_the_questions_read_is_what_the_orm_reads_in_page_order(django_assert_num_queries):
    survey = three_page_survey()
    Question.objects.filter(key="nps").update(order=9)  # page first, then order

    with django_assert_num_queries(1):
        questions = services.survey_questions(survey=survey)

    expected = sorted(survey.questions.all(), key=lambda q: (q.page, q.order, q.pk))
    assert [_fields(q) for q in questions] == [_fields(q) for q in expected]
    assert [q.key for q in questions] == ["nps", "improve", "liked", "csat", "reason"]


def test_response_save_page_upserts_answers_in_one_statement(django_assert_num_queries):
    survey = three_page_survey()
    invitation, token = invite(survey)
    respondent = Respondent(survey=survey, invitation=invitation, token=token)
    response = services.response_start(respondent=respondent, language="tr")
    page3 = list(survey.questions.filter(page=3))
    services.response_save_page(
        response=response, questions=page3, values={"csat": 1, "reason": "price"}
    )

    # 1 SELECT … FOR UPDATE of the unfinished response (inside the caller's transaction, no
    # savepoint of its own), 2 INSERT … ON CONFLICT DO UPDATE for both answers
    with django_assert_num_queries(2):
        services.response_save_page(
            response=response, questions=page3, values={"csat": 5, "reason": "staff"}
        )

    assert list(Answer.objects.order_by("question__order").values_list("number", "text")) == [
        (5, ""),
        (None, "staff"),
    ]


def test_invitation_url_rebuilds_the_token_from_the_nonce(settings):
    settings.SITE_URL = "https://xm.example.com"
    survey = three_page_survey()
    invitation, token = invite(survey)

    assert services.invitation_url(invitation) == f"https://xm.example.com/s/{token}/"


def test_expired_state_without_date_is_refused(client):
    survey = three_page_survey()
    _, token = invite(survey, state=InvitationState.EXPIRED)

    assert client.get(url(token)).status_code == 410


def test_invitation_expiring_later_is_still_open(client):
    survey = three_page_survey()
    _, token = invite(survey, expires_at=timezone.now() + datetime.timedelta(days=1))

    assert client.get(url(token)).status_code == 200


def test_anonymous_public_link_response_keeps_only_the_browser_key_and_the_date(client):
    survey = three_page_survey(anonymous=True)
    public_link(survey)

    _answer_all(client, "/p/visit-qr/", HTTP_USER_AGENT="Mozilla/5.0 (Phone)")

    response = Response.objects.get()
    assert response.person_id is None
    assert response.invitation_id is None
    assert response.started_at is None
    assert response.completed_at is None
    assert response.user_agent == ""
    assert response.segment == ""
    assert response.completed_on == timezone.localdate().replace(day=1)
    assert response.released is False
    assert response.pk >= services.ANONYMOUS_IDS[0]
    assert len(response.browser_key) == 64


def test_one_page_submission_takes_a_fixed_number_of_queries(client, django_assert_num_queries):
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    add_question(survey, "comment", QuestionType.TEXT, page=1, order=2, required=False)
    _, token = invite(survey)

    # 1 invitation by token hash (with its survey, the person's language, the named response's id)
    # 2 the survey's questions
    if connection.vendor == "postgresql":
        # 3 the submit in one statement: claim the invitation, INSERT … ON CONFLICT the
        #   response (segment and touchpoint read by subqueries), upsert the answers, INSERT
        #   the response.completed outbox rows
        queries = 3
    else:
        # 3 SAVEPOINT (BEGIN outside a test)  4 UPDATE the invitation: the claim
        # 5 INSERT … ON CONFLICT the response (segment and touchpoint read by subqueries in it)
        # 6 INSERT the answers  7 INSERT the response.completed outbox rows (one statement for
        # all its handlers; it replaces the task published after the commit)
        # 8 RELEASE SAVEPOINT (COMMIT)
        queries = 8
    with django_assert_num_queries(queries):
        reply = client.post(url(token), {"page": "1", "q-nps": "9", "q-comment": "Quick."})

    assert reply.status_code == 302
    assert reply.headers["Location"] == f"{url(token)}?done=1&lang=tr"
    assert sorted(Answer.objects.values_list("question__key", "number", "text")) == [
        ("comment", None, "Quick."),
        ("nps", 9, ""),
    ]
    response = Response.objects.get()
    assert (response.segment, response.touchpoint_id) == ("gold", None)


def test_a_page_save_takes_a_fixed_number_of_queries(client, django_assert_num_queries):
    survey = three_page_survey()
    _, token = invite(survey)

    # 1 invitation by token hash  2 the survey's questions
    # 3 SAVEPOINT (BEGIN outside a test)  4 SELECT … FOR UPDATE the unanswered invitation
    # 5 SAVEPOINT  6 INSERT the response  7 RELEASE SAVEPOINT (a concurrent start may win)
    # 8 SELECT … FOR UPDATE the unfinished response  9 INSERT … ON CONFLICT the answer
    # 10 RELEASE SAVEPOINT (COMMIT)
    with django_assert_num_queries(10):
        reply = client.post(url(token), {"page": "1", "q-nps": "9"})

    assert reply.status_code == 302
    assert list(Answer.objects.values_list("question__key", "number")) == [("nps", 9)]


def test_a_response_without_an_event_carries_the_survey_touchpoint(client):
    survey = make_survey()
    survey.touchpoint = make_touchpoint(survey.audience, slug="checkout")
    survey.save()
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    _, token = invite(survey)

    client.post(url(token), {"page": "1", "q-nps": "4"})

    assert Response.objects.get().touchpoint == survey.touchpoint


def test_the_event_touchpoint_wins_over_the_survey_touchpoint(client):
    survey = make_survey()
    survey.touchpoint = make_touchpoint(survey.audience, slug="checkout")
    survey.save()
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    support = make_touchpoint(survey.audience, slug="support-closed")
    person = make_person("p-7", language="tr")
    event = TouchpointEvent.objects.create(
        person=person, touchpoint=support, occurred_at=timezone.now()
    )
    _, token = services.invitation_create(
        survey=survey, person=person, channel=Channel.EMAIL, event=event
    )

    client.post(url(token), {"page": "1", "q-nps": "4"})

    response = Response.objects.get()
    assert (response.touchpoint, response.segment) == (support, "")
