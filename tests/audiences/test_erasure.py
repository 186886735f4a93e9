"""Erasure and Django's admin change history: nothing there names the erased person.

The history is blanked when the erasure starts (audiences' part), while every row about the
person can still be found.
"""

import datetime as dt

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audiences.models import Channel, Consent, ConsentStatus, Membership, Person
from audiences.services import person_erase
from journeys.models import Journey, TouchpointEvent
from surveys.models import Answer, Question, QuestionType, Response
from tests.factories import make_membership, make_person, make_touchpoint
from tests.surveys.distribution_factories import make_invitation, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def ayse(customers):  # noqa: ANN001, ANN201
    person = make_person(
        "cust-4711", name="Ayşe Yılmaz", email="ayse@example.com", phone="+90 532 000 0001"
    )
    make_membership(person, customers)
    return person


def _log(user, objects, message="") -> None:  # noqa: ANN001
    """Change-history entries for `objects`, as the admin writes them."""
    first = objects[0]
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=type(first).objects.filter(pk__in=[o.pk for o in objects]),
        action_flag=CHANGE,
        change_message=message,
    )


def _history() -> list[tuple[str, str, str]]:
    return sorted(
        LogEntry.objects.values_list("content_type__model", "object_repr", "change_message")
    )


def test_entries_about_the_persons_own_rows_are_blanked(customers, ayse, xm_manager):  # noqa: ANN001
    consent = Consent.objects.create(person=ayse, channel=Channel.EMAIL, status="granted")
    event = TouchpointEvent.objects.create(
        person=ayse,
        touchpoint=make_touchpoint(customers),
        occurred_at=dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC),
    )
    other = make_person("cust-1", name="Mehmet Demir")
    _log(xm_manager, [ayse, other])
    _log(xm_manager, list(Membership.objects.filter(person=ayse)))
    _log(xm_manager, [consent])
    _log(xm_manager, [event])

    report = person_erase(person_id=ayse.pk, actor=xm_manager)

    erased = f"erased #{ayse.pk}"
    assert report.admin_log_entries == 4
    assert _history() == [
        ("consent", erased, ""),
        ("membership", erased, ""),
        ("person", "Mehmet Demir", ""),
        ("person", erased, ""),
        ("touchpointevent", erased, ""),
    ]


def test_entries_whose_text_mentions_the_person_are_blanked(customers, ayse, xm_manager):  # noqa: ANN001
    escalation = Journey.objects.create(audience=customers, name="Call back Ayşe Yılmaz")
    by_mail = Journey.objects.create(audience=customers, name="Complaint from ayse@example.com")
    by_phone = Journey.objects.create(audience=customers, name="Rang +90 532 000 0001 twice")
    by_id = Journey.objects.create(audience=customers, name="VIP cust-4711")
    _log(xm_manager, [escalation])
    _log(xm_manager, [by_mail])
    _log(xm_manager, [by_phone])
    _log(xm_manager, [by_id])
    # An inline change: Django stores the message as JSON with ASCII escapes ("Ay\u015fe").
    plain = Journey.objects.create(audience=customers, name="Onboarding")
    _log(
        xm_manager,
        [plain],
        [{"changed": {"name": "stage", "object": "Ayşe Yılmaz's visit", "fields": ["name"]}}],
    )

    report = person_erase(person_id=ayse.pk, actor=xm_manager)

    erased = f"erased #{ayse.pk}"
    assert report.admin_log_entries == 5
    assert _history() == [("journey", erased, "")] * 5


def test_lookalike_names_and_addresses_are_left_alone(customers, ayse, xm_manager):  # noqa: ANN001
    kept = [
        Journey.objects.create(audience=customers, name="Ayşe Yılmazer's account"),
        Journey.objects.create(audience=customers, name="Write to bayse@example.com"),
        Journey.objects.create(audience=customers, name="VIP cust-47110"),
        Journey.objects.create(audience=customers, name="Onboarding"),
    ]
    for journey in kept:
        _log(xm_manager, [journey])

    report = person_erase(person_id=ayse.pk, actor=xm_manager)

    assert report.admin_log_entries == 0
    assert sorted(LogEntry.objects.values_list("object_repr", flat=True)) == sorted(
        j.name for j in kept
    )


def test_entries_the_admin_wrote_for_the_person_page_are_blanked(client, ayse, xm_manager):  # noqa: ANN001
    client.force_login(xm_manager)
    page = client.get(reverse("admin:audiences_person_change", args=[ayse.pk]))
    data = {}
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form.initial
        data.update({f"{formset.prefix}-{k}": v for k, v in management.items()})
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, False):
                data[form.add_prefix(name)] = value
    data.update(
        {
            "name": "Ayşe Yılmaz Kaya",
            "consents-TOTAL_FORMS": "1",
            "consents-0-channel": Channel.SMS,
            "consents-0-status": ConsentStatus.GRANTED,
        }
    )
    saved = client.post(reverse("admin:audiences_person_change", args=[ayse.pk]), data)
    assert saved.status_code == 302
    logged = LogEntry.objects.get()
    assert (logged.action_flag, logged.object_repr) == (CHANGE, "Ayşe Yılmaz Kaya")
    assert "Ay\\u015fe Y\\u0131lmaz Kaya sms: granted" in logged.change_message

    person_erase(person_id=ayse.pk, actor=xm_manager)

    logged.refresh_from_db()
    assert (logged.object_repr, logged.change_message) == (f"erased #{ayse.pk}", "")


def test_the_scrub_is_one_update_however_long_the_history(customers, ayse, xm_manager):  # noqa: ANN001
    def queries_for(entries: int, person: Person) -> int:
        journeys = [
            Journey.objects.create(audience=customers, name=f"{person.name} #{i}")
            for i in range(entries)
        ]
        _log(xm_manager, journeys)
        _log(xm_manager, [person])
        with CaptureQueriesContext(connection) as captured:
            report = person_erase(person_id=person.pk, actor=xm_manager)
        assert report.admin_log_entries == entries + 1
        return sum("django_admin_log" in q["sql"] for q in captured.captured_queries)

    ContentType.objects.clear_cache()
    few = queries_for(1, ayse)
    many = queries_for(40, make_person("cust-9", name="Elif Kaya Demir"))

    assert (few, many) == (1, 1)


def test_a_person_with_short_values_is_matched_by_their_rows_only(customers, xm_manager):  # noqa: ANN001
    person = make_person("42", name="Al", email="", phone="")
    make_membership(person, customers)
    mentions_al = Journey.objects.create(audience=customers, name="Al 42")
    _log(xm_manager, [mentions_al])
    _log(xm_manager, [person])

    report = person_erase(person_id=person.pk, actor=xm_manager)

    assert report.admin_log_entries == 1
    assert sorted(LogEntry.objects.values_list("object_repr", flat=True)) == [
        "Al 42",
        f"erased #{person.pk}",
    ]


def test_addition_entries_of_deleted_consents_are_blanked(customers, ayse, xm_manager):  # noqa: ANN001
    consent = Consent.objects.create(person=ayse, channel=Channel.SMS, status="withdrawn")
    LogEntry.objects.log_actions(
        user_id=xm_manager.pk,
        queryset=Consent.objects.filter(pk=consent.pk),
        action_flag=ADDITION,
        change_message=[{"added": {}}],
    )

    person_erase(person_id=ayse.pk, actor=xm_manager)

    assert _history() == [("consent", f"erased #{ayse.pk}", "")]


def test_entries_about_rows_two_links_away_are_blanked(customers, ayse, xm_manager):  # noqa: ANN001
    """Answers hang from the person's response, triggered invitations from their event: the
    scrub finds them through the foreign keys, without naming the apps that hold them."""
    touchpoint = make_touchpoint(customers)
    event = TouchpointEvent.objects.create(
        person=ayse, touchpoint=touchpoint, occurred_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    )
    survey = make_survey(customers)
    question = Question.objects.create(
        survey=survey, order=1, key="nps", type=QuestionType.NPS, label={"en": "NPS"}
    )
    response = Response.objects.create(
        survey=survey, audience=customers, person=ayse, channel="email", language="en"
    )
    answer = Answer.objects.create(response=response, question=question, number=9)
    triggered = make_invitation(survey, None, event=event)
    unrelated = make_invitation(survey, None)
    _log(xm_manager, [answer])
    _log(xm_manager, [triggered])
    _log(xm_manager, [unrelated])

    report = person_erase(person_id=ayse.pk, actor=xm_manager)

    erased = f"erased #{ayse.pk}"
    assert report.admin_log_entries == 2
    assert _history() == sorted(
        [("answer", erased, ""), ("invitation", erased, ""), ("invitation", str(unrelated), "")]
    )


@pytest.mark.django_db(transaction=True)
def test_the_admin_says_when_the_erasure_is_complete(client, ayse, xm_manager):  # noqa: ANN001
    """Eager mode (no workers): the rest is relayed right after the commit, before the page."""
    client.force_login(xm_manager)
    ayse_id = ayse.pk
    url = reverse("admin:audiences_person_erase", args=[ayse_id])

    done = client.post(url, follow=True)

    assert [str(m) for m in done.context["messages"]] == [f"Person #{ayse_id} was erased."]
    assert not Person.objects.filter(pk=ayse_id).exists()


def test_the_admin_says_what_is_gone_and_what_follows_while_workers_finish(
    client, customers, xm_manager
):  # noqa: ANN001
    person = make_person("cust-5", name="Mehmet Demir")
    make_membership(person, customers)
    client.force_login(xm_manager)

    done = client.post(reverse("admin:audiences_person_erase", args=[person.pk]), follow=True)

    assert [str(m) for m in done.context["messages"]] == [
        f"Person #{person.pk} was erased: their details, memberships and consents are gone; "
        "their events, invitations, responses and cases follow within seconds."
    ]
