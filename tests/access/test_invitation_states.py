"""Polling the state of an anonymous survey's invitations gives the HR analyst no time of answering.

An invitation that turned opened or responded the moment its person answered would date the
answer to the polling interval, and tell who is in the next released batch. Below superuser it
reads as sent until the period it was answered in is published, everywhere: the invitation list
(column, state filter, count), its page, the person's page and the person's export.
"""

import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from surveys.models import Invitation, InvitationState, ReportingPeriod
from surveys.services import invitation_create
from tests.access.conftest import EMPLOYEE_MARK
from tests.factories import make_membership, make_person
from xmplatform.api.operations.responses import response_post
from xmplatform.api.selectors import Scope

pytestmark = pytest.mark.django_db

INVITATIONS = "/admin/surveys/invitation/"
STATES = ("", "sent", "opened", "responded")
CELL = re.compile(r'class="field-(shown_state|responded)">\s*(?:<p>)?(.*?)(?:</p>)?\s*</td>', re.S)


def client_for(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def newcomer(both):  # noqa: ANN001, ANN201
    """A new employee with a sent invitation to the anonymous pulse, and its token."""
    employees = both[0]
    person = make_person("newcomer", name=f"{EMPLOYEE_MARK} Newcomer")
    make_membership(person, employees["audience"], segment=f"{EMPLOYEE_MARK}Dept")
    invitation, token = invitation_create(
        survey=employees["survey"], person=person, channel="email", state=InvitationState.SENT
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())  # as a send does
    invitation.refresh_from_db()
    return person, invitation, token


def reads(client: Client, person, invitation) -> dict[str, object]:  # noqa: ANN001
    """Everything the analyst reads about invitation states."""
    seen: dict[str, object] = {}
    for state in STATES:
        page = client.get(INVITATIONS, {"state__exact": state} if state else {})
        changelist = page.context["cl"]
        seen[f"list {state}"] = (
            [(i.pk, i.shown_state) for i in changelist.result_list],
            changelist.result_count,
            CELL.findall(page.content.decode()),
        )
    page = client.get(f"{INVITATIONS}{invitation.pk}/change/")
    seen["page"] = [
        (field.field["name"], str(field.contents()))
        for fieldset in page.context["adminform"]
        for line in fieldset
        for field in line
    ]
    person_page = client.get(f"/admin/audiences/person/{person.pk}/change/").content.decode()
    seen["person page"] = CELL.findall(person_page)
    export = json.loads(client.get(f"/admin/audiences/person/{person.pk}/export/").content)
    seen["export"] = export["invitations"]
    return seen


def answer(token: str) -> None:
    """The person opens the hosted page and answers, as the platform stores it."""
    assert Client().get(f"/s/{token}/").status_code == 200
    _body, status = response_post(
        scope=Scope(), token=token, answers={"nps": 3, "why": "Nobody listens"}
    )
    assert status == 201


def test_an_anonymous_answer_changes_nothing_the_analyst_reads_until_its_period_is_published(
    both, hr_analyst, newcomer
):
    person, invitation, token = newcomer
    client = client_for(hr_analyst)
    before = reads(client, person, invitation)

    answer(token)
    during = reads(client, person, invitation)

    assert Invitation.objects.get(pk=invitation.pk).state == InvitationState.RESPONDED
    assert during == before
    assert ("shown_state", "Sent") in before["page"]
    assert before["list responded"][0] == before["list opened"][0] == []

    ReportingPeriod.objects.update(published_at=timezone.now())
    after = reads(client, person, invitation)

    # The whole period shows answered at once: the seeded answers of this month too.
    assert after["list responded"][0][0] == (invitation.pk, "responded")
    assert len(after["list responded"][0]) == 1 + len(both[0]["people"])
    assert invitation.pk not in [pk for pk, _state in after["list sent"][0]]
    assert ("shown_state", "Responded") in after["page"]
    assert (
        "answered_shown",
        "Yes (an anonymous survey keeps no time of answering)",
    ) in after["page"]
    assert after["person page"] == [
        ("shown_state", "Responded"),
        ("responded", "Yes (an anonymous survey keeps no time of answering)"),
    ]
    assert [(i["state"], i["opened_at"], i["responded_at"]) for i in after["export"]] == [
        ("responded", None, None)
    ]


def test_a_superuser_sees_the_stored_state_at_once(both, superuser, newcomer):
    person, invitation, token = newcomer
    client = client_for(superuser)

    answer(token)
    seen = reads(client, person, invitation)

    assert (invitation.pk, "responded") in seen["list responded"][0]
    assert ("shown_state", "Responded") in seen["person page"]
    assert [i["state"] for i in seen["export"]] == ["responded"]


def test_the_seeded_answers_of_an_unpublished_period_read_as_sent(both, hr_analyst, cx_analyst):
    employees, _customers = both
    client = client_for(hr_analyst)

    listed = client.get(INVITATIONS).context["cl"].result_list
    responded = client.get(INVITATIONS, {"state__exact": "responded"}).context["cl"].result_list

    assert {i.shown_state for i in listed} == {"sent"}
    assert len(listed) == len(employees["people"])
    assert list(responded) == []
    # A named survey's invitations keep their state: the CX analyst sees them answered.
    cx = client_for(cx_analyst)
    assert {i.shown_state for i in cx.get(INVITATIONS).context["cl"].result_list} == {"responded"}
