"""The admin dashboard: cards, the audience page, its bounded queries, RoX and escaping."""

import datetime as dt

import pytest
from django.urls import reverse

from journeys.models import TouchpointEvent, TouchpointRole
from metrics import definitions as d
from metrics.services import rollups_rebuild
from surveys.models import Invitation
from tests.factories import make_touchpoint
from tests.metrics.conftest import (
    TODAY,
    add_period,
    add_responses,
    anonymous_world,
    build_world,
    make_people,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin "today" so the default 90-day window covers the test data."""
    from django.utils import timezone

    fixed = dt.datetime.combine(TODAY, dt.time(18), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)


def _customers(touchpoints: int, segments: int, per_cell: int):  # noqa: ANN202
    world = build_world(touchpoints=(("checkout", "Purchase"),))
    for k in range(1, touchpoints):
        tp = make_touchpoint(world.audience, slug=f"tp-{k}", stage_name=f"Stage {k % 3}")
        world.touchpoints[f"tp-{k}"] = tp
    specs = []
    for i, tp in enumerate(world.touchpoints):
        for seg in range(segments):
            for j in range(per_cell):
                specs.append(
                    {
                        "nps": (i + j) % 11,
                        "csat": 1 + j % 5,
                        "touchpoint": tp,
                        "segment": f"seg-{seg}",
                        "comment": f"comment {i}-{seg}-{j}",
                        "day": TODAY - dt.timedelta(days=j % 60),
                    }
                )
    add_responses(world, specs)
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=400), date_to=TODAY)
    return world


def test_audience_page_costs_the_same_queries_at_any_size(
    client, xm_manager, django_assert_num_queries
) -> None:  # noqa: ANN001
    small = _customers(touchpoints=1, segments=1, per_cell=6)
    big = _customers_other("big", touchpoints=6, segments=4, per_cell=9)
    client.force_login(xm_manager)
    # 1 session, 2 user, 3 audience, 4 scored questions (which metrics the picker offers),
    # 5 the audience's surveys (the filter's list, with the rollups' watermark; an anonymous
    # survey adds its reporting periods), 6 response rate, 7 touchpoints with stages (the
    # heatmap, and the roles that offer operational metrics), 8 segments (filter),
    # 9 closed-loop case counts (median and recovery add one query each only when cases were
    # closed), 10 the rollup grid up to the watermark and 11 the same grid from today's
    # answers (headline, period comparison, trend and touchpoint scores are sums of their
    # cells), 12 verbatims, 13 Return on Experience (daily outcomes), 14 the period's
    # operations snapshot (none here, so: 15 operational events from the event days,
    # 16 members at start), 17 audit log entry (the verbatims were read). Nothing else is
    # written.
    for world in (small, big):
        with django_assert_num_queries(QUERIES):
            response = client.get(reverse("metrics:audience", args=[world.audience.slug]))
        assert response.status_code == 200


QUERIES = 17


def _customers_other(slug: str, touchpoints: int, segments: int, per_cell: int):  # noqa: ANN202
    world = build_world(slug, touchpoints=(("first", "Purchase"),))
    for k in range(1, touchpoints):
        tp = make_touchpoint(world.audience, slug=f"{slug}-tp-{k}", stage_name=f"Stage {k % 3}")
        world.touchpoints[f"tp-{k}"] = tp
    specs = []
    for i, tp in enumerate(world.touchpoints):
        for seg in range(segments):
            for j in range(per_cell):
                specs.append(
                    {
                        "nps": (i + j) % 11,
                        "touchpoint": tp,
                        "segment": f"seg-{seg}",
                        "comment": f"comment {i}-{seg}-{j}",
                        "day": TODAY - dt.timedelta(days=j % 60),
                    }
                )
    add_responses(world, specs)
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=400), date_to=TODAY)
    return world


@pytest.mark.parametrize(
    ("query", "date_from", "segment"),
    [
        ({}, TODAY - dt.timedelta(days=89), None),
        ({"period": "30", "segment": "seg-1"}, TODAY - dt.timedelta(days=29), "seg-1"),
        ({"period": "all"}, None, None),
    ],
)
def test_audience_page_scores_equal_the_separate_slices(
    client, xm_manager, query, date_from, segment
) -> None:  # noqa: ANN001
    from metrics import selectors as s

    world = _customers_other("wide", touchpoints=4, segments=2, per_cell=9)
    older = [
        {"nps": k % 11, "touchpoint": tp, "segment": "seg-1", "day": TODAY - dt.timedelta(days=d)}
        for k, (tp, d) in enumerate((tp, d) for tp in world.touchpoints for d in (70, 100, 200))
    ]
    add_responses(world, older * 3)
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=400), date_to=TODAY)
    client.force_login(xm_manager)
    page = client.get(reverse("metrics:audience", args=[world.audience.slug]), query).context
    audience = world.audience
    f = s.Filters(audience_id=audience.pk, date_from=date_from, date_to=TODAY, segment=segment)
    [head] = s.score_rows(audience=audience, metric="nps", by=None, filters=f)
    assert page["headline"] == head
    period = "week" if date_from is not None and (TODAY - date_from).days < 90 else "month"
    # The page names each point (its week or month) beside the selectors' row.
    assert [{k: v for k, v in r.items() if k != "label"} for r in page["trend"]["rows"]] == (
        s.trend(audience=audience, metric="nps", period=period, filters=f)
    )
    by_touchpoint = s.scores(
        audience=audience,
        metric="nps",
        by="touchpoint",
        date_from=date_from,
        date_to=TODAY,
        segment=segment,
    ).rows
    shown = [c for row in page["heatmap"] for c in row["cells"] if not c.get("empty")]
    assert [{k: v for k, v in c.items() if k not in ("touchpoint", "bucket")} for c in shown] == [
        by_touchpoint[[r["group"] for r in by_touchpoint].index(c["group"])] for c in shown
    ]
    if date_from is None:
        assert "comparison" not in page
    else:
        # The page adds whether the two sides can be told apart at all (both shown whole,
        # each with a real margin).
        compared = s.compare_periods(
            audience=audience, metric="nps", date_from=date_from, date_to=TODAY, filters=f
        )
        testable = d.has_real_margin(compared["current"]) and d.has_real_margin(
            compared["previous"]
        )
        assert page["comparison"] == {**compared, "testable": testable}


def test_audience_page_reads_the_operations_snapshot_of_its_period(
    client, xm_manager, django_assert_num_queries
) -> None:  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics.services import operations_snapshots_refresh
    from metrics.views import PERIOD_CHOICES

    world = _customers(touchpoints=2, segments=1, per_cell=6)
    client.force_login(xm_manager)
    url = reverse("metrics:audience", args=[world.audience.slug])
    client.get(url)  # publishes the scores: later renders skip inserting them
    with CaptureQueriesContext(connection) as live:
        computed = client.get(url).context["operations"]
    assert operations_snapshots_refresh(today=TODAY) == 3
    # The snapshot stands in for the events and members queries.
    with django_assert_num_queries(len(live.captured_queries) - 2):
        response = client.get(url)
    assert response.context["operations"] == computed
    # The snapshots are those of the page's own periods.
    from metrics.services import DASHBOARD_PERIOD_DAYS

    assert {int(v) for v, _ in PERIOD_CHOICES if v != "all"} == set(DASHBOARD_PERIOD_DAYS)


def test_index_shows_one_card_per_audience_with_its_headline(client, xm_manager) -> None:  # noqa: ANN001
    world = build_world()
    add_responses(world, [{"nps": 10}] * 6 + [{"nps": 0}] * 4)
    # A named audience with three answers: shown as it is (its responses are seen anyway).
    team = build_world("team", kind="employee", touchpoints=(("desk", "Work"),))
    add_responses(team, [{"nps": 9}] * 3)
    # An anonymous pulse whose May holds three answers (k = 5): not enough responses.
    staff = anonymous_world("staff")
    may = dt.date(2026, 5, 1)
    add_period(staff.survey, may, dt.date(2026, 5, 31))
    add_responses(staff, [{"nps": 9, "day": may}] * 3)
    build_world("suppliers", kind="supplier", touchpoints=(("po", "Order"),))
    person = make_people("inv", 1)[0]
    now = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)
    for k, responded in enumerate([True, False, False, False]):
        Invitation.objects.create(
            survey=world.survey,
            person=person,
            channel="email",
            nonce=f"n{k}",
            token_hash=f"h{k}",
            state="sent",
            sent_at=now,
            responded_at=now if responded else None,
        )
    rollups_rebuild(date_from=may, date_to=TODAY)
    client.force_login(xm_manager)
    response = client.get(reverse("metrics:index"))
    assert response.status_code == 200
    cards = {c["audience"].slug: c for c in response.context["cards"]}
    assert cards["customers"]["metric"] == "nps"
    assert cards["customers"]["row"]["score"] == 20.0
    assert cards["customers"]["row"]["n"] == 10
    assert cards["customers"]["response_rate"] == 25.0
    assert cards["team"]["metric"] == "enps"
    assert cards["team"]["row"] == {"group": None, "score": 100.0, "n": 3, "margin": 0.0}
    assert cards["staff"]["metric"] == "enps"
    assert cards["staff"]["row"] == {"group": None, "suppressed": True, "empty": False, "n": 0}
    assert cards["suppliers"]["metric"] is None
    html = response.content.decode()
    assert html.count("not enough responses") == 1
    assert html.count('class="xm-card"') == 4
    assert 'class="xm-spark"' in html
    # When the figures were read, in the admin's date and time format with the time zone.
    assert 'id="xm-as-of"' in html and "As of 15 Jun 2026, 18:00 UTC" in html
    # The admin index links to the dashboard.
    assert reverse("metrics:index") in client.get(reverse("admin:index")).content.decode()


def test_audience_page_shows_heatmap_worst_touchpoints_and_escaped_verbatims(
    client, xm_manager
) -> None:  # noqa: ANN001
    world = build_world(
        touchpoints=(("checkout", "Purchase"), ("delivery", "Delivery"), ("returns", "Delivery"))
    )
    add_responses(world, [{"nps": 10, "touchpoint": "checkout", "comment": "praise"}] * 6)
    add_responses(world, [{"nps": 2, "touchpoint": "delivery", "comment": "<b>late</b>"}] * 7)
    add_responses(world, [{"nps": 0, "touchpoint": "returns", "comment": "one complaint"}] * 2)
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    client.force_login(xm_manager)
    response = client.get(reverse("metrics:audience", args=["customers"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;b&gt;late&lt;/b&gt;" in html and "<b>late</b>" not in html
    # A named survey's touchpoints are all shown, however few answered (no threshold).
    cells = {c["touchpoint"].slug: c for row in response.context["heatmap"] for c in row["cells"]}
    assert (cells["customers-returns"]["score"], cells["customers-returns"]["n"]) == (-100.0, 2)
    assert (cells["customers-checkout"]["score"], cells["customers-checkout"]["n"]) == (100.0, 6)
    assert (cells["customers-delivery"]["score"], cells["customers-delivery"]["n"]) == (-100.0, 7)
    assert "not enough responses" not in html.split('id="xm-heatmap"')[1].split("</table>")[0]
    assert [c["touchpoint"].slug for c in response.context["worst"]] == [
        "customers-delivery",
        "customers-returns",
        "customers-checkout",
    ]
    assert "one complaint" in html  # the newest comments, whatever their touchpoint
    assert response.context["headline"]["n"] == 15
    assert [p["count"] for p in response.context["distribution"]] == [6, 0, 9]
    assert 'id="xm-trend"' in html and 'id="xm-heatmap"' in html


def test_latest_verbatims_are_the_newest_and_leave_out_erased_text(client, xm_manager) -> None:  # noqa: ANN001
    world = build_world()
    old = [{"nps": 9, "comment": f"old {k}", "day": TODAY - dt.timedelta(days=3)} for k in range(9)]
    add_responses(world, old)
    [erased, _kept] = add_responses(
        world, [{"nps": 1, "comment": "name"}, {"nps": 8, "comment": "ok"}]
    )
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=3), date_to=TODAY)
    # An erasure deletes the free text; the filed verbatim must not bring it back.
    erased.answers.filter(question__key="comment").delete()
    client.force_login(xm_manager)
    response = client.get(reverse("metrics:audience", args=["customers"]))
    texts = [v["text"] for v in response.context["verbatims"]]
    assert texts == ["ok", "old 8", "old 7", "old 6", "old 5", "old 4", "old 3", "old 2"]
    assert response.context["verbatims"][0]["day"] == TODAY


def test_bad_filters_fall_back_to_defaults_without_an_error(client, xm_manager) -> None:  # noqa: ANN001
    build_world()
    client.force_login(xm_manager)
    response = client.get(
        reverse("metrics:audience", args=["customers"]), {"period": "forever", "survey": "x"}
    )
    assert response.status_code == 200
    assert response.context["filter_errors"]
    assert response.context["selected"]["period"] == "90"
    assert client.get(reverse("metrics:audience", args=["nobody"])).status_code == 404


def test_staff_without_the_metrics_permission_is_refused(client, django_user_model) -> None:  # noqa: ANN001
    user = django_user_model.objects.create_user(
        username="clerk", password="pw-123456789", is_staff=True
    )
    client.force_login(user)
    assert client.get(reverse("metrics:index")).status_code == 403


def test_outsider_is_sent_to_the_admin_login(client, outsider) -> None:  # noqa: ANN001
    client.force_login(outsider)
    response = client.get(reverse("metrics:index"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_return_on_experience_compares_promoters_and_detractors(client, xm_manager) -> None:  # noqa: ANN001
    world = build_world(threshold=3)
    shop = make_touchpoint(
        world.audience, slug="shop", stage_name="Purchase", role=TouchpointRole.PURCHASE
    )
    gone = make_touchpoint(
        world.audience, slug="gone", stage_name="Exit", role=TouchpointRole.CHURNED
    )
    promoters = make_people("pro", 3)
    detractors = make_people("det", 3)
    add_responses(world, [{"nps": 10, "person": p} for p in promoters])
    add_responses(world, [{"nps": 1, "person": p} for p in detractors])
    after = dt.datetime.combine(TODAY, dt.time(15), tzinfo=dt.UTC)
    before = dt.datetime.combine(TODAY, dt.time(8), tzinfo=dt.UTC)
    TouchpointEvent.objects.bulk_create(
        [
            TouchpointEvent(
                person=promoters[0], touchpoint=shop, occurred_at=after, attributes={"value": 100}
            ),
            TouchpointEvent(
                person=promoters[0], touchpoint=shop, occurred_at=after, attributes={"value": 50}
            ),
            TouchpointEvent(
                person=promoters[1], touchpoint=shop, occurred_at=after, attributes={"value": 30}
            ),
            # before the answer: not an outcome of it
            TouchpointEvent(
                person=promoters[2], touchpoint=shop, occurred_at=before, attributes={"value": 999}
            ),
            TouchpointEvent(person=detractors[0], touchpoint=gone, occurred_at=after),
            TouchpointEvent(person=detractors[1], touchpoint=gone, occurred_at=after),
            TouchpointEvent(
                person=detractors[2], touchpoint=shop, occurred_at=after, attributes={"value": 12}
            ),
        ]
    )
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    client.force_login(xm_manager)
    response = client.get(reverse("metrics:audience", args=["customers"]))
    rox = response.context["rox"]
    promoter = rox["promoter"]
    keys = ("n", "suppressed", "churn_rate", "retention_rate", "mean_spend")
    assert {k: promoter[k] for k in keys} == {
        "n": 3,
        "suppressed": False,
        "churn_rate": 0.0,
        "retention_rate": 100.0,
        "mean_spend": 60.0,
    }
    assert rox["detractor"]["n"] == 3
    assert rox["detractor"]["churn_rate"] == pytest.approx(200 / 3)
    assert rox["detractor"]["mean_spend"] == pytest.approx(4.0)
    assert rox["passive"] == {"n": 0, "suppressed": True}
    ops = response.context["operations"]
    assert ops["churn_rate"] is None  # no memberships: nobody at the start of the period
    assert 'id="xm-rox"' in response.content.decode()


def test_segment_filter_cannot_reveal_a_small_department_by_subtraction(client, xm_manager) -> None:  # noqa: ANN001
    world = anonymous_world("staff")
    may = dt.date(2026, 5, 1)
    add_period(world.survey, may, dt.date(2026, 5, 31))
    add_responses(world, [{"nps": 10, "segment": "sales", "day": may}] * 6)
    add_responses(world, [{"nps": 0, "segment": "ops", "day": may}] * 7)
    add_responses(world, [{"nps": 0, "segment": "legal", "day": may}] * 2)
    add_responses(world, [{"nps": 9, "segment": "it", "day": may}] * 9)
    rollups_rebuild(date_from=may, date_to=TODAY)
    client.force_login(xm_manager)
    url = reverse("metrics:audience", args=["staff"])
    shown = {}
    for segment in ("sales", "ops", "legal", "it"):
        response = client.get(url, {"segment": segment})
        assert response.status_code == 200
        shown[segment] = not response.context["headline"].get("suppressed", False)
    # legal (2) is under the threshold; sales (6), the next smallest, is hidden with it, so
    # "all minus the shown departments" mixes 8 answers of two departments.
    assert shown == {"sales": False, "ops": True, "legal": False, "it": True}
    total = client.get(url).context["headline"]["n"]
    assert total - 7 - 9 == 8


def test_a_named_segment_is_shown_however_small(client, xm_manager) -> None:  # noqa: ANN001
    world = build_world("team", kind="employee", touchpoints=(("desk", "Work"),))
    add_responses(world, [{"nps": 0, "segment": "legal"}] * 2)
    add_responses(world, [{"nps": 10, "segment": "sales"}] * 6)
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    client.force_login(xm_manager)
    response = client.get(reverse("metrics:audience", args=["team"]), {"segment": "legal"})
    assert response.context["headline"] == {
        "group": None,
        "score": -100.0,
        "n": 2,
        "margin": 0.0,
    }
    assert "segment_hidden" not in response.context
