"""A person, whole: the timeline page's content, its scope, anonymity, and its query count."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences.models import AuditAction, AuditLog, Role
from journeys.models import Journey, TouchpointEvent
from surveys.models import InvitationState, Survey
from tests.factories import make_touchpoint
from tests.search.support import analyst, case_for, member, two_audiences
from tests.surveys.admin_responses_support import make_invitation
from tests.surveys.test_admin_support import add_response, survey_with_questions

pytestmark = pytest.mark.django_db


def timeline_url(person) -> str:
    return f"/admin/audiences/person/{person.pk}/timeline/"


def setting(customers, employees) -> dict:
    """A touchpoint and surveys in each audience (one of them anonymous)."""
    return {
        "checkout": make_touchpoint(customers, "checkout"),
        "payroll": make_touchpoint(employees, "first-payroll", stage_name="Onboarding"),
        "visit": survey_with_questions(customers, name="Visit"),
        "onboarding": survey_with_questions(employees, name="Onboarding survey"),
        "pulse": survey_with_questions(employees, name="Pulse", anonymous=True),
    }


def history(person, customers, world: dict, *, n: int = 1) -> None:
    """n of each kind of row in each audience; one anonymous answer the page must never show."""
    checkout, payroll = world["checkout"], world["payroll"]
    visit, onboarding, pulse = world["visit"], world["onboarding"], world["pulse"]
    now = timezone.now()
    for k in range(n):
        when = now - dt.timedelta(days=k + 1)
        TouchpointEvent.objects.create(person=person, touchpoint=checkout, occurred_at=when)
        TouchpointEvent.objects.create(person=person, touchpoint=payroll, occurred_at=when)
        make_invitation(
            visit,
            person,
            state=InvitationState.SUPPRESSED,
            suppression_reason="opted_out",
        )
        make_invitation(
            pulse, person, sent_at=when, state=InvitationState.RESPONDED, responded_at=when
        )
        response = add_response(
            visit,
            {"nps": 3, "reason": "price", "improve": "Kargo çok geç geldi"},
            person=person,
            completed_at=when,
        )
        add_response(onboarding, {"nps": 8}, person=person, completed_at=when)
        case_for(
            customers,
            title=f"NPS 3: call back {k}",
            person=person,
            response=response,
            notes=("Aradım, iade edilecek",),
        )
    add_response(pulse, {"nps": 1, "improve": "Yöneticim bağırıyor"})


@pytest.fixture
def world():
    customers, employees = two_audiences()
    person = member("p-1", customers, employees, name="Barış Yılmaz", phone="+90 532 1")
    history(person, customers, setting(customers, employees))
    return person, customers, employees


def test_the_xm_team_sees_everything_about_the_person(client, xm_manager, world):
    person, _customers, _employees = world
    client.force_login(xm_manager)

    html = client.get(timeline_url(person), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for text in (
        "Barış Yılmaz",
        "Joined Customers",
        "Joined Employees",
        "Checkout",
        "Purchase stage of Customers journey",
        "Invitation to Visit",
        "Not sent: opted out",
        "Answered Visit",
        "Detractor (0–6)",
        "3 / 10",
        "Price",
        "Kargo çok geç geldi",
        "NPS 3: call back 0",
        "Aradım, iade edilecek",
        "Answered Onboarding survey",
        "Invitation to Pulse",
        "Anonymous survey: its answers are never shown with a person.",
    ):
        assert text in html, text
    assert "Yöneticim" not in html  # an anonymous answer has no person, even for superusers
    assert ">price<" not in html


def test_turkish_page_reads_in_turkish(client, xm_manager, world):
    person, _customers, _employees = world
    client.force_login(xm_manager)

    html = client.get(timeline_url(person), HTTP_ACCEPT_LANGUAGE="tr").content.decode()

    assert "Fiyat" in html
    assert "Ana neden" in html


def test_audience_journey_and_survey_names_read_in_the_readers_language(client, xm_manager, world):
    person, customers, _employees = world
    customers.name_translations = {"tr": "Müşterilerimiz"}
    customers.save()
    journey = Journey.objects.get(audience=customers)
    journey.name_translations = {"tr": "Müşteri yolculuğu"}
    journey.save()
    Survey.objects.filter(name="Visit").update(name_translations={"tr": "Ziyaret anketi"})
    client.force_login(xm_manager)

    turkish = client.get(timeline_url(person), HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    english = client.get(timeline_url(person), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for name in ("Müşterilerimiz", "Müşteri yolculuğu", "Ziyaret anketi"):
        assert name in turkish and name not in english


def test_an_analyst_sees_only_their_audiences_rows(client, world):
    person, customers, _employees = world
    client.force_login(analyst("cx-analyst", customers))

    html = client.get(timeline_url(person)).content.decode()

    assert "Answered Visit" in html
    assert "NPS 3: call back 0" in html
    for hidden in ("Employees", "Onboarding", "Pulse", "First-Payroll"):
        assert hidden not in html, hidden


def test_hr_insider_sees_no_customer_row_and_no_anonymous_answer(client, world):
    person, _customers, employees = world
    client.force_login(analyst("hr-analyst", employees))

    page = client.get(timeline_url(person))
    html = page.content.decode()

    assert page.status_code == 200
    for hidden in ("Customers", "Visit", "call back", "Kargo", "opted out", "Yöneticim"):
        assert hidden not in html, hidden
    pulse = next(e for e in page.context["entries"] if e["title"] == "Invitation to Pulse")
    # Answered in a period not yet published: shown as sent, and never with a time of answer.
    assert "Sent" in pulse["lines"]
    assert "Responded" not in pulse["lines"]


def test_a_person_outside_the_users_audiences_is_not_found(client, world):
    person, _customers, _employees = world
    stranger = member("s-1", name="Someone Else")
    client.force_login(analyst("cx-analyst", person.memberships.first().audience))

    assert client.get(timeline_url(stranger)).status_code == 404
    assert client.get("/admin/audiences/person/999999/timeline/").status_code == 404


def test_a_viewer_or_outsider_cannot_open_it(client, outsider, world):
    person, customers, _employees = world
    client.force_login(analyst("viewer", customers, role=Role.VIEWER))
    assert client.get(timeline_url(person)).status_code in (302, 403, 404)

    client.force_login(outsider)
    assert client.get(timeline_url(person)).status_code == 302  # to the login page


def test_showing_answers_is_audited(client, xm_manager, world):
    person, customers, employees = world
    client.force_login(xm_manager)

    client.get(timeline_url(person))

    entries = AuditLog.objects.filter(action=AuditAction.RESPONSES_VIEWED)
    assert sorted(entries.values_list("audience_id", "target")) == sorted(
        [
            (customers.pk, f"person {person.pk} timeline"),
            (employees.pk, f"person {person.pk} timeline"),
        ]
    )


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_count_does_not_grow_with_history(client, django_assert_max_num_queries):
    customers, employees = two_audiences()
    short = member("p-1", customers, employees, name="Short History")
    long = member("p-2", customers, employees, name="Long History")
    places = setting(customers, employees)
    history(short, customers, places)
    history(long, customers, places, n=6)
    client.force_login(analyst("both", customers, employees))
    count_queries(client, timeline_url(short))  # fills the content-type cache

    few = count_queries(client, timeline_url(short))
    many = count_queries(client, timeline_url(long))

    assert many == few
    # session, user, grants and owned audiences; the person (scoped), its memberships,
    # audience names, events, invitations, responses, answers, cases, notes, the export check,
    # the audit insert
    with django_assert_max_num_queries(16):
        client.get(timeline_url(long))


def test_person_page_links_to_the_timeline(client, xm_manager, world):
    person, _customers, _employees = world
    client.force_login(xm_manager)

    html = client.get(f"/admin/audiences/person/{person.pk}/change/").content.decode()

    assert f'href="{timeline_url(person)}"' in html
