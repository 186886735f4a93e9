"""Admin changelists over large tables: queries independent of the rows, counts that never scan.

The query-count tests render each changelist with a few rows and again with many more: the
number of queries must not move. A page costs, at most: the session, the user, the paginator's
count (PostgreSQL: the estimate, then BEGIN / SET LOCAL statement_timeout / capped count /
COMMIT when filtered), the page of rows with its foreign keys joined, and one query per
related-object filter (audiences, surveys) or per indexed-values filter (segments).
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audiences.models import Channel, Consent, ConsentStatus, Membership, Person
from journeys.models import TouchpointEvent
from surveys.models import Invitation, InvitationState
from tests.factories import make_audience, make_membership, make_person, make_touchpoint
from tests.surveys.test_admin_support import add_response, survey_with_questions
from xmplatform.core import paging
from xmplatform.core.paging import EstimatedCountPaginator

pytestmark = pytest.mark.django_db

MAX_QUERIES = 14  # the response list filtered by survey: 13 on PostgreSQL


@pytest.fixture
def world():  # noqa: ANN201
    audience = make_audience()
    survey = survey_with_questions(audience)
    touchpoint = make_touchpoint(audience)
    return {"audience": audience, "survey": survey, "touchpoint": touchpoint, "n": 0}


def add_people(world, count: int) -> None:  # noqa: ANN001
    """`count` people, each with a membership, consent, event, invitation and response."""
    for _ in range(count):
        world["n"] += 1
        i = world["n"]
        person = make_person(f"p-{i}", name=f"Person {i}")
        make_membership(person, world["audience"], segment=("gold", "silver", "basic")[i % 3])
        Consent.objects.create(person=person, channel=Channel.EMAIL, status=ConsentStatus.GRANTED)
        event = TouchpointEvent.objects.create(
            person=person, touchpoint=world["touchpoint"], occurred_at=timezone.now()
        )
        Invitation.objects.create(
            survey=world["survey"],
            person=person,
            event=event,
            channel=Channel.EMAIL,
            nonce=f"{i:032d}",
            token_hash=f"{i:064d}",
            state=InvitationState.SENT,
        )
        add_response(
            world["survey"],
            {"nps": i % 11, "reason": "price", "improve": f"comment {i}"},
            person=person,
            segment="gold",
            touchpoint=world["touchpoint"],
        )


def changelists(world) -> list[str]:  # noqa: ANN001
    audience, survey = world["audience"].pk, world["survey"].pk
    return [
        reverse("admin:audiences_person_changelist"),
        reverse("admin:audiences_person_changelist") + "?q=p-1",
        reverse("admin:audiences_membership_changelist"),
        reverse("admin:audiences_membership_changelist") + f"?audience__id__exact={audience}",
        reverse("admin:audiences_consent_changelist"),
        reverse("admin:journeys_touchpointevent_changelist"),
        reverse("admin:journeys_touchpointevent_changelist") + "?occurred_at__gte=2000-01-01",
        reverse("admin:surveys_invitation_changelist"),
        reverse("admin:surveys_invitation_changelist") + "?state__exact=sent",
        reverse("admin:surveys_response_changelist"),
        reverse("admin:surveys_response_changelist") + f"?survey__id__exact={survey}",
        reverse("admin:surveys_response_changelist") + "?completed=yes",
    ]


def queries(client, path: str) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as captured:
        page = client.get(path)
    assert page.status_code == 200, path
    return len(captured)


def test_changelists_cost_the_same_queries_for_3_or_30_rows(client, xm_manager, world) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    add_people(world, 3)
    few = {path: queries(client, path) for path in changelists(world)}

    add_people(world, 27)
    many = {path: queries(client, path) for path in changelists(world)}

    assert many == few
    assert max(many.values()) <= MAX_QUERIES, many


def test_large_lists_never_ask_for_the_full_count(client, xm_manager, world) -> None:  # noqa: ANN001
    from django.contrib import admin

    from audiences.models import Consent as ConsentModel
    from surveys.models import Response

    for model in (Person, Membership, ConsentModel, TouchpointEvent, Invitation, Response):
        model_admin = admin.site._registry[model]
        assert model_admin.show_full_result_count is False, model
        assert model_admin.paginator is EstimatedCountPaginator, model
        assert model_admin.list_per_page <= 50, model
        assert model_admin.ordering in (("-id",), ["-id"]), model
        assert not model_admin.date_hierarchy, model
        # "Show counts" would count every row once per filter choice.
        assert model_admin.show_facets == admin.ShowFacets.NEVER, model


def test_every_list_filter_of_a_large_table_is_on_an_index() -> None:
    from django.contrib import admin

    from audiences.models import Consent as ConsentModel
    from surveys.models import Response
    from xmplatform.core.paging import RelatedChoicesListFilter

    for model in (Person, Membership, ConsentModel, TouchpointEvent, Invitation, Response):
        leading = {index.fields[0] for index in model._meta.indexes}
        leading |= {f.name for f in model._meta.concrete_fields if f.db_index or f.is_relation}
        for item in admin.site._registry[model].list_filter:
            name, spec = item if isinstance(item, tuple) else (item, None)
            if not isinstance(name, str):
                continue  # a SimpleListFilter (completed = yes/no) filters an indexed column
            if spec is RelatedChoicesListFilter:
                continue  # a list of a small table's ids on the foreign key (indexed)
            if spec is admin.DateFieldListFilter:
                continue  # dates follow arrival: newest first, the top of the id index
            assert name.split("__")[0] in leading, (model.__name__, name)


def test_events_of_a_channel_are_filtered_by_the_touchpoints_ids(client, xm_manager, world) -> None:  # noqa: ANN001
    add_people(world, 3)
    client.force_login(xm_manager)
    path = reverse("admin:journeys_touchpointevent_changelist")

    with CaptureQueriesContext(connection) as captured:
        shown = client.get(path, {"touchpoint__channel__exact": world["touchpoint"].channel})
    events = [q["sql"] for q in captured if 'FROM "journeys_touchpointevent"' in q["sql"]]
    none = client.get(path, {"touchpoint__channel__exact": "sms"})

    assert shown.context["cl"].result_count == 3
    assert none.context["cl"].result_count == 0
    assert len(events) == 2  # the count and the page, each on a literal list of touchpoint ids
    for sql in events:
        assert '"journeys_touchpointevent"."touchpoint_id" IN (' in sql
        assert '"journeys_touchpoint"."channel" =' not in sql


def test_events_list_filters_by_date_without_a_distinct_over_all_events(
    client, xm_manager, world
) -> None:  # noqa: ANN001
    add_people(world, 3)
    TouchpointEvent.objects.filter(person__external_id="p-1").update(
        occurred_at=timezone.now() - dt.timedelta(days=400)
    )
    client.force_login(xm_manager)
    path = reverse("admin:journeys_touchpointevent_changelist")

    with CaptureQueriesContext(connection) as captured:
        page = client.get(path, {"occurred_at__gte": str(timezone.localdate() - dt.timedelta(7))})

    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    assert not [q["sql"] for q in captured if "DISTINCT" in q["sql"].upper()]


def test_segment_filter_lists_each_segment_once(client, xm_manager, world) -> None:  # noqa: ANN001
    add_people(world, 6)
    client.force_login(xm_manager)

    page = client.get(reverse("admin:audiences_membership_changelist"))

    segment_filter = next(f for f in page.context["cl"].filter_specs if f.title == "segment")
    assert list(segment_filter.lookup_choices) == ["basic", "gold", "silver"]


# --- The paginator on PostgreSQL ---------------------------------------------------------


def test_filtered_count_stops_at_the_cap(needs_postgres, monkeypatch, world) -> None:  # noqa: ANN001
    monkeypatch.setattr(paging, "BOUNDED_COUNT_CAP", 5)
    add_people(world, 8)

    filtered = Person.objects.filter(external_id__startswith="p-").order_by("-id")
    with CaptureQueriesContext(connection) as captured:
        count = EstimatedCountPaginator(filtered, 50).count

    assert count == 6  # the cap plus one: "more than 5"
    assert "LIMIT 6" in captured[-2]["sql"]


def test_slow_filtered_count_gives_up_and_the_connection_stays_usable(
    needs_postgres, monkeypatch, world
) -> None:  # noqa: ANN001
    monkeypatch.setattr(paging, "BOUNDED_COUNT_TIMEOUT_MS", 50)
    add_people(world, 1)
    slow = Person.objects.extra(where=["pg_sleep(0.2) IS NOT NULL"]).order_by("-id")  # noqa: S610

    count = EstimatedCountPaginator(slow, 50).count

    assert count == paging.BOUNDED_COUNT_CAP + 1
    assert Person.objects.count() == 1


def test_unfiltered_count_is_the_planner_estimate(needs_postgres) -> None:  # noqa: ANN001
    Person.objects.bulk_create(
        [Person(external_id=f"bulk-{i}") for i in range(paging.BOUNDED_COUNT_CAP + 500)]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audiences_person")

    with CaptureQueriesContext(connection) as captured:
        count = EstimatedCountPaginator(Person.objects.order_by("-id"), 50).count

    assert abs(count - (paging.BOUNDED_COUNT_CAP + 500)) <= 500
    assert len(captured) == 1 and "reltuples" in captured[0]["sql"]


def test_member_and_response_counts_stop_at_the_cap(client, xm_manager, world, monkeypatch) -> None:  # noqa: ANN001
    from xmplatform.core import counts

    add_people(world, 3)
    client.force_login(xm_manager)
    monkeypatch.setattr(counts, "BOUNDED_COUNT_CAP", 2)
    capped = {
        "audiences": client.get(reverse("admin:audiences_audience_changelist")),
        "surveys": client.get(reverse("admin:surveys_survey_changelist")),
    }
    monkeypatch.setattr(counts, "BOUNDED_COUNT_CAP", 10)
    exact = client.get(reverse("admin:audiences_audience_changelist"))

    assert '<td class="field-member_count">2+</td>' in capped["audiences"].content.decode()
    assert '<td class="field-response_count">2+</td>' in capped["surveys"].content.decode()
    assert '<td class="field-member_count">3</td>' in exact.content.decode()


def test_row_checkboxes_are_djangos_markup_written_directly() -> None:
    from django.contrib import admin

    from audiences.admin import PersonAdmin

    person = Person(pk=7, external_id="p-7", name='<script>alert("x")</script>')
    scoped = PersonAdmin(Person, admin.site)

    assert scoped.action_checkbox(person) == admin.ModelAdmin.action_checkbox(scoped, person)
    assert "<script>" not in scoped.action_checkbox(person)


def test_a_filtered_page_reads_its_ids_then_its_rows_by_id(needs_postgres, world) -> None:  # noqa: ANN001
    add_people(world, 4)
    people = Person.objects.filter(language="en").order_by("-id")

    with CaptureQueriesContext(connection) as captured:
        page = list(EstimatedCountPaginator(people, 3).page(1).object_list)

    assert [p.external_id for p in page] == ["p-4", "p-3", "p-2"]
    reads = [q["sql"] for q in captured if 'FROM "audiences_person"' in q["sql"]]
    ids, rows = (sql for sql in reads if "COUNT" not in sql)
    assert ids.startswith('SELECT "audiences_person"."id" AS "pk" FROM')
    assert "language" not in rows.split("WHERE", 1)[1]  # the rows by primary key alone
