"""POST /api/v1/invitations/ asks for one invitation through the fatigue guard; GET lists them."""

import datetime as dt

import pytest

from audiences.models import Consent, ConsentStatus
from surveys import tokens
from surveys.models import ContactKind, ContactLedger, Invitation, InvitationState, SurveyStatus
from surveys.services import invitation_create

pytestmark = pytest.mark.django_db


def _ask(client, world, channel="api", person="c-1"):
    return client.post(
        "/api/v1/invitations/",
        {"survey": world.customer_survey.pk, "person": person, "channel": channel},
        format="json",
    )


def test_in_app_invitation_is_sent_at_once_with_its_url_and_token(api, world):
    response = _ask(api, world)
    assert response.status_code == 201
    body = response.json()
    invitation = Invitation.objects.get()
    assert body == {
        "id": invitation.pk,
        "state": "sent",
        "url": f"http://127.0.0.1:8000/s/{body['token']}/",
        "token": body["token"],
    }
    assert tokens.token_matches(invitation.nonce, body["token"])
    assert invitation.sent_at is not None
    assert list(ContactLedger.objects.values_list("person_id", "kind", "channel")) == [
        (world.ayse.pk, ContactKind.INVITATION, "api")
    ]


def test_email_invitation_is_planned_for_the_dispatcher(api, world):
    response = _ask(api, world, channel="email")
    assert response.status_code == 201
    assert response.json()["state"] == "planned"
    invitation = Invitation.objects.get()
    assert (invitation.state, invitation.channel, invitation.due_at is not None) == (
        InvitationState.PLANNED,
        "email",
        True,
    )
    assert ContactLedger.objects.count() == 0


def test_second_request_within_the_recontact_window_is_suppressed_with_its_rule(api, world):
    _ask(api, world)
    response = _ask(api, world)
    assert response.status_code == 200
    suppressed = Invitation.objects.get(state=InvitationState.SUPPRESSED)
    assert response.json() == {"id": suppressed.pk, "state": "suppressed", "reason": "recontact"}
    assert ContactLedger.objects.count() == 1


def test_opted_out_person_is_suppressed(api, world):
    Consent.objects.create(
        person=world.ayse, channel="api", status=ConsentStatus.WITHDRAWN, source="survey-page"
    )
    response = _ask(api, world)
    assert (response.status_code, response.json()["reason"]) == (200, "opted_out")


def test_person_without_address_cannot_get_an_sms(api, world):
    response = _ask(api, world, channel="sms")
    assert (response.status_code, response.json()["reason"]) == (200, "no_address")


def test_survey_that_is_not_live_is_400(api, world):
    world.customer_survey.status = SurveyStatus.DRAFT
    world.customer_survey.save()
    response = _ask(api, world)
    assert (response.status_code, response.json()) == (
        400,
        {"survey": ["The survey is not live, so it cannot be sent."]},
    )
    assert Invitation.objects.count() == 0


def test_person_outside_the_surveys_audience_is_400(api, world):
    response = _ask(api, world, person="e-1")
    assert (response.status_code, response.json()) == (
        400,
        {"person": ["The person is not a current member of the survey's audience."]},
    )


def test_unknown_channel_and_person_are_400(api, world):
    assert _ask(api, world, channel="pigeon").json() == {
        "channel": ['"pigeon" is not a valid choice.']
    }
    assert _ask(api, world, person="nobody").json() == {"person": ["Unknown person nobody."]}


def test_list_filters_by_survey_state_and_person(api, world):
    _ask(api, world)
    _ask(api, world)
    sent = api.get(f"/api/v1/invitations/?survey={world.customer_survey.pk}&state=sent&person=c-1")
    assert sent.status_code == 200
    assert [(i["person"], i["state"]) for i in sent.json()["results"]] == [("c-1", "sent")]
    assert len(api.get("/api/v1/invitations/").json()["results"]) == 2
    assert api.get("/api/v1/invitations/?state=lost").status_code == 400
    assert api.get("/api/v1/invitations/?survey=abc").status_code == 400


def test_list_pages_with_a_cursor(api, world, django_assert_num_queries):
    for _ in range(3):
        _ask(api, world)
    # key, its audiences, one page of invitations with survey and person joined
    with django_assert_num_queries(3):
        first = api.get("/api/v1/invitations/?page_size=2").json()
    assert len(first["results"]) == 2
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None


# --- Anonymous surveys: that an invitation was answered, never when ---------------------------

WHEN = dt.datetime(2026, 11, 12, 14, 3, tzinfo=dt.UTC)


def _answered(world):
    """An answered invitation of each survey: the anonymous Pulse and the named Checkout NPS."""
    anonymous = invitation_create(survey=world.employee_survey, person=world.emre, channel="email")[
        0
    ]
    named = invitation_create(survey=world.customer_survey, person=world.ayse, channel="email")[0]
    Invitation.objects.filter(pk__in=[anonymous.pk, named.pk]).update(
        state=InvitationState.RESPONDED, sent_at=WHEN, opened_at=WHEN, responded_at=WHEN
    )
    return anonymous, named


@pytest.mark.parametrize("who", ["hr", "api"])
def test_anonymous_invitations_say_responded_never_when(request, world, who):
    client = request.getfixturevalue(who)
    anonymous, _named = _answered(world)

    rows = client.get(f"/api/v1/invitations/?survey={world.employee_survey.pk}").json()["results"]

    assert [(r["id"], r["state"], r["opened_at"], r["responded_at"]) for r in rows] == [
        (anonymous.pk, "responded", None, None)
    ]
    assert rows[0]["sent_at"] == "2026-11-12T14:03:00Z"  # when it was sent is no answer


def test_named_invitations_keep_their_times(api, world):
    _anonymous, named = _answered(world)

    (row,) = api.get(f"/api/v1/invitations/?survey={world.customer_survey.pk}").json()["results"]

    assert (row["id"], row["opened_at"], row["responded_at"]) == (
        named.pk,
        "2026-11-12T14:03:00Z",
        "2026-11-12T14:03:00Z",
    )


@pytest.mark.parametrize(
    "query",
    [
        "responded_at=2026-11-12",
        "responded_at__date=2026-11-12",
        "responded_on=2026-11-12",
        "ordering=responded_at",
        "ordering=-responded_at",
    ],
)
def test_no_parameter_filters_or_orders_invitations_by_their_answer(hr, world, query):
    anonymous, _named = _answered(world)
    later = invitation_create(survey=world.employee_survey, person=world.emre, channel="sms")[0]
    base = f"/api/v1/invitations/?survey={world.employee_survey.pk}&state=responded"
    Invitation.objects.filter(pk=later.pk).update(
        state=InvitationState.RESPONDED, responded_at=WHEN + dt.timedelta(days=3)
    )

    plain = hr.get(base).json()["results"]
    probed = hr.get(f"{base}&{query}").json()["results"]

    assert [r["id"] for r in probed] == [r["id"] for r in plain] == [later.pk, anonymous.pk]


@pytest.mark.parametrize("who", ["hr", "api"])
def test_a_persons_export_says_their_anonymous_invitation_was_answered_never_when(
    request, world, who
):
    client = request.getfixturevalue(who)
    anonymous, _named = _answered(world)

    body = client.get("/api/v1/people/e-1/export/").json()

    assert [
        (i["id"], i["state"], i["opened_at"], i["responded_at"]) for i in body["invitations"]
    ] == [(anonymous.pk, "responded", None, None)]


def test_a_persons_export_keeps_the_times_of_named_invitations(api, world):
    _anonymous, named = _answered(world)

    body = api.get("/api/v1/people/c-1/export/").json()

    assert [(i["id"], i["responded_at"]) for i in body["invitations"]] == [
        (named.pk, "2026-11-12T14:03:00+00:00")
    ]
