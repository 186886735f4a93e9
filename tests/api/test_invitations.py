"""POST /api/v1/invitations/ asks for one invitation through the fatigue guard; GET lists them."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audiences.models import AuditAction, AuditLog, Consent, ConsentStatus, Person
from surveys import tokens
from surveys.models import (
    ContactKind,
    ContactLedger,
    Invitation,
    InvitationState,
    ReportingPeriod,
    SurveyStatus,
)
from surveys.services import invitation_create
from tests.factories import make_membership, make_person
from xmplatform.api.models import ApiKey

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
        "link_withheld": False,
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


# --- Anonymous surveys: the link goes to the person only -----------------------------------


def _ask_pulse(client, world, channel="email", person="e-1"):
    return client.post(
        "/api/v1/invitations/",
        {"survey": world.employee_survey.pk, "person": person, "channel": channel},
        format="json",
    )


WITHHELD = (
    "The platform delivers this anonymous survey's invitation to the person; its link is never "
    "returned, so nobody else can answer in their place."
)


@pytest.mark.parametrize("who", ["hr", "api"])
def test_an_anonymous_surveys_invitation_is_delivered_by_the_platform_without_its_link(
    request, world, who
):
    client = request.getfixturevalue(who)

    response = _ask_pulse(client, world)

    invitation = Invitation.objects.get()
    assert (response.status_code, response.json()) == (
        201,
        {
            "id": invitation.pk,
            "state": "planned",
            "url": None,
            "token": None,
            "link_withheld": True,
            "detail": WITHHELD,
        },
    )
    assert (invitation.state, invitation.channel) == (InvitationState.PLANNED, "email")


def test_a_named_surveys_invitation_by_email_still_returns_its_link(api, world):
    body = _ask(api, world, channel="email").json()

    assert (body["link_withheld"], body["url"]) == (
        False,
        f"http://127.0.0.1:8000/s/{body['token']}/",
    )


@pytest.mark.parametrize("channel", ["api", "app", "web"])
def test_an_anonymous_survey_refuses_channels_the_caller_delivers(hr, world, channel):
    response = _ask_pulse(hr, world, channel=channel)

    assert (response.status_code, response.json()) == (
        400,
        {
            "channel": [
                "An anonymous survey's link goes only to the person, on a channel the platform "
                "delivers: use one of email, sms."
            ]
        },
    )
    assert Invitation.objects.count() == 0


def test_every_invitation_to_an_anonymous_survey_asked_through_the_api_is_audited(
    hr, world, employee_key
):
    make_membership(make_person("e-2", email="fake@example.com"), world.employees)
    _ask_pulse(hr, world)
    _ask_pulse(hr, world)  # suppressed: the first is still on its way
    _ask_pulse(hr, world, person="e-2")
    _ask(hr, world)  # another audience's survey: unknown to this key, nothing created

    prefix = ApiKey.objects.get(name="HR system").prefix
    entries = AuditLog.objects.order_by("id")
    first, second, third = Invitation.objects.order_by("id")
    assert [
        (e.actor_id, e.actor_username, e.action, e.audience_id, e.target, e.detail) for e in entries
    ] == [
        (
            None,
            f"API key HR system ({prefix})",
            AuditAction.INVITATION_REQUESTED,
            world.employees.pk,
            f"person {person_pk}",
            {
                "survey": world.employee_survey.pk,
                "invitation": inv.pk,
                "channel": "email",
                "state": state,
            },
        )
        for inv, person_pk, state in [
            (first, world.emre.pk, "planned"),
            (second, world.emre.pk, "suppressed"),
            (third, Person.objects.get(external_id="e-2").pk, "planned"),
        ]
    ]


def test_a_named_surveys_invitation_is_not_audited(api, world):
    _ask(api, world)

    assert AuditLog.objects.count() == 0


def test_the_openapi_schema_says_an_anonymous_surveys_link_is_withheld(world):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    post = schema["paths"]["/api/v1/invitations/"]["post"]
    created = schema["components"]["schemas"]["InvitationCreated"]

    assert (
        "an ANONYMOUS survey: its link is never handed to anyone but the person"
        in (post["description"])
    )
    assert created["properties"]["url"]["nullable"] is True
    assert created["properties"]["token"]["nullable"] is True
    assert "link_withheld" in created["required"]
    listed = schema["paths"]["/api/v1/invitations/"]["get"]
    assert (
        "shows as `sent` until the reporting period it was answered in is published"
        in (listed["description"])
    )


# --- Anonymous surveys: that an invitation was answered, once its period is published -------

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


def _publish(survey, starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 11, 30)):
    ReportingPeriod.objects.update_or_create(
        survey=survey,
        starts_on=starts_on,
        defaults={"ends_on": ends_on, "published_at": timezone.now()},
    )


@pytest.mark.parametrize("who", ["hr", "api"])
def test_anonymous_invitations_say_responded_never_when(request, world, who):
    client = request.getfixturevalue(who)
    anonymous, _named = _answered(world)
    _publish(world.employee_survey)

    rows = client.get(f"/api/v1/invitations/?survey={world.employee_survey.pk}").json()["results"]

    assert [(r["id"], r["state"], r["opened_at"], r["responded_at"]) for r in rows] == [
        (anonymous.pk, "responded", None, None)
    ]
    assert rows[0]["sent_at"] == "2026-11-12T14:03:00Z"  # when it was sent is no answer


def test_named_invitations_keep_their_times(api, world):
    _anonymous, named = _answered(world)

    (row,) = api.get(f"/api/v1/invitations/?survey={world.customer_survey.pk}").json()["results"]

    assert (row["id"], row["state"], row["opened_at"], row["responded_at"]) == (
        named.pk,
        "responded",
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
    _publish(world.employee_survey)

    plain = hr.get(base).json()["results"]
    probed = hr.get(f"{base}&{query}").json()["results"]

    assert [r["id"] for r in probed] == [r["id"] for r in plain] == [later.pk, anonymous.pk]


@pytest.mark.parametrize("who", ["hr", "api"])
def test_a_persons_export_says_their_anonymous_invitation_was_answered_never_when(
    request, world, who
):
    client = request.getfixturevalue(who)
    anonymous, _named = _answered(world)
    _publish(world.employee_survey)

    body = client.get("/api/v1/people/e-1/export/").json()

    assert [
        (i["id"], i["state"], i["opened_at"], i["responded_at"]) for i in body["invitations"]
    ] == [(anonymous.pk, "responded", None, None)]


def test_a_persons_export_keeps_the_times_of_named_invitations(api, world):
    _anonymous, named = _answered(world)

    body = api.get("/api/v1/people/c-1/export/").json()

    assert [(i["id"], i["state"], i["responded_at"]) for i in body["invitations"]] == [
        (named.pk, "responded", "2026-11-12T14:03:00+00:00")
    ]


# --- Anonymous surveys: an answer changes nothing a key reads until its period is published --

STATES = ["", *InvitationState.values]


def _reads(client, world) -> dict[str, object]:
    """Everything a key reads about the pulse's invitations: the list, each state filter, the
    person's export (its invitations)."""
    base = f"/api/v1/invitations/?survey={world.employee_survey.pk}"
    reads: dict[str, object] = {
        state: [
            (r["id"], r["state"]) for r in client.get(f"{base}&state={state}").json()["results"]
        ]
        for state in STATES
    }
    reads["person"] = [
        (r["id"], r["state"]) for r in client.get(f"{base}&person=e-1").json()["results"]
    ]
    reads["export"] = client.get("/api/v1/people/e-1/export/").json()["invitations"]
    return reads


@pytest.mark.parametrize("who", ["hr", "api"])
def test_an_anonymous_answer_changes_nothing_a_key_reads_until_its_period_is_published(
    request, world, who
):
    client = request.getfixturevalue(who)
    invitation, token = invitation_create(
        survey=world.employee_survey,
        person=world.emre,
        channel="email",
        state=InvitationState.SENT,
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=WHEN)
    before = _reads(client, world)

    opened = client.get(f"/s/{token}/")  # the person opens the page: a first change
    answered = client.post(
        "/api/v1/responses/", {"token": token, "answers": {"enps": 3}}, format="json"
    )
    during = _reads(client, world)

    assert (opened.status_code, answered.status_code) == (200, 201)
    assert Invitation.objects.get().state == InvitationState.RESPONDED  # stored as it is
    assert during == before
    assert before[""] == before["sent"] == [(invitation.pk, "sent")]
    assert before["responded"] == before["opened"] == []

    ReportingPeriod.objects.filter(survey=world.employee_survey).update(published_at=timezone.now())
    after = _reads(client, world)

    assert after[""] == after["responded"] == after["person"] == [(invitation.pk, "responded")]
    assert after["sent"] == after["opened"] == []
    assert [(i["state"], i["opened_at"], i["responded_at"]) for i in after["export"]] == [
        ("responded", None, None)
    ]


def test_an_opened_anonymous_invitation_shows_as_sent(hr, world):
    invitation = invitation_create(
        survey=world.employee_survey, person=world.emre, channel="email"
    )[0]
    Invitation.objects.filter(pk=invitation.pk).update(
        state=InvitationState.OPENED, sent_at=WHEN, opened_at=WHEN
    )

    shown = hr.get("/api/v1/invitations/?state=sent").json()["results"]

    assert [(r["id"], r["state"], r["opened_at"]) for r in shown] == [(invitation.pk, "sent", None)]
    assert hr.get("/api/v1/invitations/?state=opened").json()["results"] == []


@pytest.mark.parametrize(("claimed", "shown"), [(True, "delivery_unknown"), (False, "planned")])
def test_an_undelivered_anonymous_invitation_keeps_its_state_when_answered(
    hr, world, claimed, shown
):
    # Its message did arrive after all: the person answers. Jumping to `sent` would date it.
    invitation = invitation_create(
        survey=world.employee_survey, person=world.emre, channel="email"
    )[0]
    stored = InvitationState.DELIVERY_UNKNOWN if claimed else InvitationState.PLANNED
    Invitation.objects.filter(pk=invitation.pk).update(
        state=stored, claimed_at=WHEN if claimed else None
    )
    before = hr.get(f"/api/v1/invitations/?state={shown}").json()["results"]
    Invitation.objects.filter(pk=invitation.pk).update(
        state=InvitationState.RESPONDED, opened_at=WHEN, responded_at=WHEN
    )

    after = hr.get(f"/api/v1/invitations/?state={shown}").json()["results"]

    assert [(r["id"], r["state"]) for r in before] == [(invitation.pk, shown)]
    assert after == before
    assert hr.get("/api/v1/invitations/?state=sent").json()["results"] == []


def test_the_shown_state_costs_no_query(api, world, django_assert_num_queries):
    for _ in range(3):
        _answered(world)
    api.get("/api/v1/invitations/")  # the key's first use of the minute is noted once
    # key, its audiences, one page of invitations with survey, person and shown state
    with django_assert_num_queries(3):
        rows = api.get("/api/v1/invitations/?state=sent").json()["results"]
    assert len(rows) == 3
