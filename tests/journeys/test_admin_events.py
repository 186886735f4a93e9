"""The touchpoint event list of an analyst whose audience's events are all older than the rest.

The pilot audience's 180 events come first (the lowest ids), then 120 customer events. On
PostgreSQL the analyst's page reads its ids in one statement that walks only the newest ids
before it sorts the pilot's rows (`xmplatform.core.paging.bounded_walk_ids`); the `walk` fixture
runs each list test twice, once with that walk too short to reach the pilot's events.
"""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Max, Min
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audiences.models import Role
from audiences.services import grant_set
from journeys.models import TouchpointEvent
from tests.factories import make_audience, make_person, make_touchpoint, make_user
from xmplatform.core import paging

pytestmark = pytest.mark.django_db

URL = reverse("admin:journeys_touchpointevent_changelist")
CHANNELS = ("web", "app", "email")


@pytest.fixture
def world() -> dict:
    """Pilot events first (in six tens of days, oldest first), then customer events."""
    owner = make_user("owner")
    pilot = make_audience("pilot", owner=owner)
    customers = make_audience("customers", owner=owner)
    pilot_tps = [
        make_touchpoint(pilot, slug=f"pilot-{channel}", channel=channel) for channel in CHANNELS
    ]
    customer_tp = make_touchpoint(customers, slug="checkout")
    person = make_person("p-1")
    other = make_person("p-2")
    now = timezone.now()
    TouchpointEvent.objects.bulk_create(
        TouchpointEvent(
            person=other if i % 10 == 0 else person,
            touchpoint=pilot_tps[i % 3],
            occurred_at=now - dt.timedelta(days=10 * (6 - i // 30)),
        )
        for i in range(180)
    )
    TouchpointEvent.objects.bulk_create(
        TouchpointEvent(person=person, touchpoint=customer_tp, occurred_at=now) for _ in range(120)
    )
    analyst = make_user("pilot.analyst")
    grant_set(user=analyst, audience=pilot, role=Role.ANALYST, actor=owner)
    return {
        "owner": owner,
        "pilot": pilot,
        "customers": customers,
        "pilot_tps": pilot_tps,
        "analyst": analyst,
    }


@pytest.fixture
def analyst_client(world) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(world["analyst"])
    return client


@pytest.fixture(params=["walk", "sort"])
def walk(request, monkeypatch) -> str:  # noqa: ANN001
    """Both halves of the bounded walk: the newest ids hold the page, or they do not."""
    if request.param == "sort":
        monkeypatch.setattr(paging, "WALK_ROWS", 5)
    return request.param


def pilot_ids(world, **filters) -> list[int]:  # noqa: ANN001, ANN003
    """The pilot's event ids newest first, by the plain ORM query."""
    events = TouchpointEvent.objects.filter(touchpoint__in=world["pilot_tps"], **filters)
    return list(events.order_by("-id").values_list("pk", flat=True))


def shown(response) -> list[int]:  # noqa: ANN001
    assert response.status_code == 200
    return [event.pk for event in response.context["cl"].result_list]


def test_the_analyst_sees_the_pilots_newest_events_first(world, analyst_client, walk) -> None:  # noqa: ANN001
    expected = pilot_ids(world)

    page = analyst_client.get(URL)

    assert shown(page) == expected[:50]
    assert page.context["cl"].result_count == 180
    assert page.context["cl"].paginator.num_pages == 4
    assert '<a href="?p=2">2</a>' in page.content.decode()
    assert '<a href="?p=4" class="end">4</a>' in page.content.decode()
    customer_events = set(TouchpointEvent.objects.exclude(touchpoint__in=world["pilot_tps"]))
    assert not {e.pk for e in customer_events} & set(shown(page))


def test_page_two_continues_where_page_one_ended(world, analyst_client, walk) -> None:  # noqa: ANN001
    page = analyst_client.get(URL, {"p": 2})

    assert shown(page) == pilot_ids(world)[50:100]
    assert '<a href="?p=1">1</a>' in page.content.decode()
    assert '<a href="?p=3">3</a>' in page.content.decode()


def test_the_last_page_holds_the_oldest_events(world, analyst_client, walk) -> None:  # noqa: ANN001
    assert shown(analyst_client.get(URL, {"p": 4})) == pilot_ids(world)[150:]


def test_the_channel_filter_applies_to_the_pilots_events(world, analyst_client, walk) -> None:  # noqa: ANN001
    page = analyst_client.get(URL, {"touchpoint__channel__exact": "app"})

    expected = pilot_ids(world, touchpoint__channel="app")
    assert shown(page) == expected[:50]
    assert len(expected) == 60
    assert (
        shown(analyst_client.get(URL, {"touchpoint__channel__exact": "app", "p": 2}))
        == (expected[50:])
    )


def test_the_date_filter_applies_to_the_pilots_events(world, analyst_client, walk) -> None:  # noqa: ANN001
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight - dt.timedelta(days=25)

    page = analyst_client.get(URL, {"occurred_at__gte": str(since)})  # as the filter links it

    expected = pilot_ids(world, occurred_at__gte=since)
    assert shown(page) == expected[:50]
    assert len(expected) == 60  # the newest two tens: 10 and 20 days ago


def test_the_person_search_applies_to_the_pilots_events(world, analyst_client, walk) -> None:  # noqa: ANN001
    page = analyst_client.get(URL, {"q": "p-2"})

    assert shown(page) == pilot_ids(world, person__external_id="p-2")
    assert len(shown(page)) == 18


def test_the_search_finds_an_event_by_key_or_person_for_one_query_more(
    world,
    analyst_client,  # noqa: ANN001
) -> None:
    keyed = TouchpointEvent.objects.filter(touchpoint__in=world["pilot_tps"]).order_by("id")[7]
    TouchpointEvent.objects.filter(pk=keyed.pk).update(idempotency_key="crm-ticket-991")

    few, many = (pilot_ids(world, person__external_id=p) for p in ("p-2", "p-1"))

    assert shown(analyst_client.get(URL, {"q": " crm-ticket-991 "})) == [keyed.pk]
    with CaptureQueriesContext(connection) as plain:
        shown(analyst_client.get(URL, {"p": 2}))
    with CaptureQueriesContext(connection) as one_page:
        assert shown(analyst_client.get(URL, {"q": "p-2"})) == few
    with CaptureQueriesContext(connection) as pages:
        assert shown(analyst_client.get(URL, {"q": "p-1", "p": 2})) == many[50:100]
    # The person first (one indexed query), then the page as without a search, whether the
    # person has one page of events or several.
    assert max(len(one_page), len(pages)) <= len(plain) + 1, (len(one_page), len(pages))
    # Nobody and nothing by that name: an empty page, not an error.
    assert shown(analyst_client.get(URL, {"q": "no-such-key"})) == []
    # Exact, not "contains": a fragment of a key or an id finds nothing.
    assert shown(analyst_client.get(URL, {"q": "crm-ticket"})) == []


def test_a_channel_without_pilot_events_shows_none(world, analyst_client, walk) -> None:  # noqa: ANN001
    assert shown(analyst_client.get(URL, {"touchpoint__channel__exact": "sms"})) == []


def test_an_analyst_of_another_audience_never_sees_the_pilots_events(world) -> None:  # noqa: ANN001
    customers_analyst = make_user("cx.analyst")
    grant_set(
        user=customers_analyst,
        audience=world["customers"],
        role=Role.ANALYST,
        actor=world["owner"],
    )
    client = Client()
    client.force_login(customers_analyst)

    ids = shown(client.get(URL)) + shown(client.get(URL, {"p": 3}))

    assert len(ids) == 70
    assert not set(ids) & set(pilot_ids(world))


def test_the_page_runs_the_same_queries_for_one_or_many_touchpoints(
    world,
    analyst_client,
    walk,
    django_assert_num_queries,  # noqa: ANN001
) -> None:
    analyst_client.get(URL)  # warm caches (content types, site)
    # session, user, the user's and their groups' permissions, the grants, the user's
    # touchpoints' ids, the count, the page (PostgreSQL: its ids, then the rows by id)
    queries = 8
    if connection.vendor == "postgresql":
        queries += 1 + 3  # the page's ids; SAVEPOINT, SET LOCAL statement_timeout, RELEASE
    with django_assert_num_queries(queries):
        shown(analyst_client.get(URL))

    for k in range(12):
        make_touchpoint(world["pilot"], slug=f"pilot-more-{k}", stage_name=f"Stage {k}")
    fresh = Client()
    fresh.force_login(world["analyst"])
    fresh.get(URL)
    with django_assert_num_queries(queries):
        shown(fresh.get(URL))


# --- PostgreSQL: the id read ------------------------------------------------------------------


def id_reads(client, params: dict | None = None) -> list[str]:  # noqa: ANN001
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, params or {}).status_code == 200
    return [q["sql"] for q in captured if "journeys_touchpointevent" in q["sql"]]


def test_the_analysts_ids_come_from_the_bounded_walk(
    needs_postgres,
    world,
    analyst_client,
    walk,  # noqa: ANN001
) -> None:
    reads = id_reads(analyst_client, {"p": 2})

    walks = [sql for sql in reads if "UNION ALL" in sql]
    assert len(walks) == 1
    assert '"journeys_touchpointevent"."touchpoint_id" IN (' in walks[0]
    assert "OFFSET 50 LIMIT 50" in walks[0]


@pytest.mark.parametrize(("offset", "limit"), [(0, 50), (45, 10), (110, 200)])
def test_bounded_walk_ids_match_the_plain_query_for_every_walk_length(
    needs_postgres,
    world,
    monkeypatch,
    offset,
    limit,  # noqa: ANN001
) -> None:
    events = TouchpointEvent.objects.filter(
        touchpoint__in=[tp.pk for tp in world["pilot_tps"][:2]]
    ).order_by("-id")
    expected = list(events.values_list("pk", flat=True)[offset : offset + limit])
    # Ids run on across tests on PostgreSQL: the walk is measured from this test's oldest id.
    oldest, newest = TouchpointEvent.objects.aggregate(Min("id"), Max("id")).values()

    # From walks that reach none of the pilot's events to walks past all of them.
    for walk_rows in range(0, newest - oldest + 3):
        monkeypatch.setattr(paging, "WALK_ROWS", walk_rows)
        assert paging.bounded_walk_ids(events, offset=offset, limit=limit) == expected, walk_rows


def test_an_empty_list_of_touchpoints_reads_nothing(needs_postgres, world) -> None:  # noqa: ANN001
    events = TouchpointEvent.objects.filter(touchpoint__in=[]).order_by("-id")

    assert paging.bounded_walk_ids(events, offset=0, limit=50) == []


def test_the_superusers_unfiltered_and_date_filtered_lists_keep_the_plain_read(
    needs_postgres,
    world,  # noqa: ANN001
) -> None:
    client = Client()
    client.force_login(world["owner"])
    owner = world["owner"]
    owner.is_superuser = owner.is_staff = True
    owner.save(update_fields=["is_superuser", "is_staff"])

    for params in ({}, {"occurred_at__gte": "2000-01-01 00:00:00+00:00"}, {"o": "1"}):
        assert not [sql for sql in id_reads(client, params) if "UNION ALL" in sql], params
    # A channel filter is a literal list of touchpoints: the bounded walk.
    reads = id_reads(client, {"touchpoint__channel__exact": "app"})
    assert [sql for sql in reads if "UNION ALL" in sql]


def test_a_long_list_of_touchpoints_keeps_the_plain_read(world) -> None:  # noqa: ANN001
    many = [tp.pk for tp in world["pilot_tps"]] + list(range(10_000, 10_000 + 100))
    events = TouchpointEvent.objects.filter(touchpoint__in=many).order_by("-id")

    assert not paging._walk_bounded(events, ("touchpoint",))
    assert paging._walk_bounded(events.filter(touchpoint__in=many[:100]), ("touchpoint",))
    assert not paging._walk_bounded(events.order_by("occurred_at"), ("touchpoint",))
    assert not paging._walk_bounded(events.filter(touchpoint__in=many[:3]), ("person",))
