"""POST /api/v1/invitations/ on WhatsApp: planned once a provider is configured, refused with
a reason (the field named, translated) when none is, instead of failing after five attempts."""

import pytest
from django.db import transaction

from audiences.models import Person
from surveys.models import Invitation, InvitationState

pytestmark = pytest.mark.django_db


def _ask_whatsapp(client, world, **headers):  # noqa: ANN001, ANN003, ANN202
    return client.post(
        "/api/v1/invitations/",
        {"survey": world.customer_survey.pk, "person": "c-1", "channel": "whatsapp"},
        format="json",
        **headers,
    )


def test_without_a_provider_a_whatsapp_invitation_is_refused_with_the_field_named(
    api, world, settings
):
    settings.SURVEY_WHATSAPP_PROVIDER = ""
    response = _ask_whatsapp(api, world)
    assert (response.status_code, response.json()) == (
        400,
        {"channel": ["No delivery is set up for whatsapp; use one of: email, sms, app, api, web."]},
    )
    response = _ask_whatsapp(api, world, HTTP_ACCEPT_LANGUAGE="tr")
    assert response.status_code == 400
    assert "whatsapp" in response.json()["channel"][0]
    assert Invitation.objects.count() == 0


def test_with_a_provider_a_whatsapp_invitation_is_planned_for_the_dispatcher(api, world, settings):
    settings.SURVEY_WHATSAPP_PROVIDER = "console"
    Person.objects.filter(pk=world.ayse.pk).update(phone="+905551112233")
    with transaction.atomic():
        response = _ask_whatsapp(api, world)
    assert (response.status_code, response.json()["state"]) == (201, "planned")
    invitation = Invitation.objects.get()
    assert (invitation.channel, invitation.state) == ("whatsapp", InvitationState.PLANNED)
