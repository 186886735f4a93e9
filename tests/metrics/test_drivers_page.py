"""The key-drivers page in the admin: who sees it, what it shows, its CSV, its queries, and the
reasons it gives instead of importances."""

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audiences.models import Role
from metrics.drivers import tasks
from metrics.drivers.models import DriverAnalysis
from tests.access.conftest import staff_with_grant
from tests.metrics.conftest import add_period
from tests.metrics.drivers_support import (
    NOON,
    add_events,
    add_rows,
    drivers_world,
    known_rows,
    make_people,
)

pytestmark = pytest.mark.django_db
ALL = {"from": None, "to": None, "segment": None}
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)


@pytest.fixture
def shop():  # noqa: ANN201
    world = drivers_world()
    people = make_people("shopper", 120)
    rows = known_rows(120)
    for row, person in zip(rows, people, strict=True):
        row["person"] = person
        row["segment"] = "gold" if person.pk % 2 else "basic"
    add_rows(world, rows)
    add_events(world.touchpoints["delivery"], people[:50], NOON - dt.timedelta(days=2))
    return world


def url(world, **params):  # noqa: ANN001, ANN003, ANN201
    return reverse("metrics:drivers", args=[world.audience.slug]), params


def test_page_shows_ranked_drivers_matrix_and_figures(client, xm_manager, shop) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    path, params = url(shop, survey=shop.survey.pk, outcome="nps")
    response = client.get(path, params)
    assert response.status_code == 200
    html = response.content.decode()
    row = DriverAnalysis.objects.get()
    assert f"n = <strong>{row.n}</strong>" in html
    assert 'id="xm-drivers-matrix"' in html and 'data-name="shoppers-drivers-nps"' in html
    assert html.count('class="xm-point"') == len(row.results)
    assert "Fix first" in html and "Keep" in html
    assert "touchpoint:shoppers-delivery" in html
    table = html.split('id="xm-drivers-table"')[1]
    assert table.index("Satisfied with checkout?") < table.index("Paid by: Card")
    # The outcome picker offers the outcome questions only.
    picker = html.split('name="outcome"')[1].split("</select>")[0]
    assert re.findall(r'value="([^"]+)"', picker) == ["nps", "csat", "speed"]


def test_page_renders_a_cached_analysis_in_bounded_queries_without_writing(
    client, xm_manager, shop, django_assert_max_num_queries
) -> None:  # noqa: ANN001
    tasks.compute_task(shop.survey.pk, "nps", ALL)
    client.force_login(xm_manager)
    path, params = url(shop, survey=shop.survey.pk, outcome="nps")
    client.get(path, params)
    # session, user, audience, surveys, outcome questions, cached analysis, segments
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]


def test_csv_holds_the_ranked_table(client, xm_manager, shop) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    path, params = url(shop, survey=shop.survey.pk, outcome="nps", format="csv")
    response = client.get(path, params)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "rank",
        "driver",
        "label",
        "importance",
        "low",
        "high",
        "performance",
        "correlation",
    ]
    assert rows[1][:3] == ["1", "csat", "Satisfied with checkout?"]
    assert sum(float(r[3]) for r in rows[1:]) == pytest.approx(1.0, abs=1e-4)


def test_viewers_of_the_audience_see_it_others_do_not(client, xm_manager, shop) -> None:  # noqa: ANN001
    viewer = staff_with_grant("cx.viewer", shop.audience, Role.VIEWER, xm_manager)
    other = drivers_world("rivals")
    stranger = staff_with_grant("rival.viewer", other.audience, Role.VIEWER, xm_manager)
    path, params = url(shop, survey=shop.survey.pk)
    client.force_login(viewer)
    assert client.get(path, params).status_code == 200
    client.force_login(stranger)
    assert client.get(path, params).status_code == 404
    # Another audience's survey id falls back to this audience's own surveys.
    client.force_login(viewer)
    html = client.get(path, {"survey": other.survey.pk}).content.decode()
    assert "Rivals checkout" not in html


def test_bad_filters_reset_to_the_defaults(client, xm_manager, shop) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    path, _ = url(shop)
    response = client.get(path, {"from": "2026-99-01", "outcome": "no such key!"})
    assert response.status_code == 200
    assert "errornote" in response.content.decode()


def test_too_few_responses_show_the_reason(client, xm_manager) -> None:  # noqa: ANN001
    world = drivers_world("tiny")
    add_rows(world, known_rows(10))
    client.force_login(xm_manager)
    path, params = url(world, survey=world.survey.pk)
    html = client.get(path, params).content.decode()
    assert 'id="xm-drivers-reason"' in html
    assert "Too few responses for a driver analysis: 10, at least 30 are needed." in html
    assert "xm-drivers-matrix" not in html


def test_anonymous_open_period_shows_a_reason_and_no_segments_of_it(client, xm_manager) -> None:  # noqa: ANN001
    world = drivers_world("staff", anonymous=True)
    add_period(world.survey, dt.date(2026, 6, 1), dt.date(2026, 6, 30), published=False)
    add_rows(world, known_rows(50, day=dt.date(2026, 6, 1), segment="legal"))
    client.force_login(xm_manager)
    path, params = url(world, survey=world.survey.pk)
    html = client.get(path, params).content.decode()
    assert 'id="xm-drivers-reason"' in html and "xm-drivers-table" not in html
    assert "legal" not in html  # the open period's segments are not even listed
    assert 'id="xm-anonymous-note"' in html


def test_an_audience_without_outcome_questions_says_so(client, xm_manager) -> None:  # noqa: ANN001
    world = drivers_world("plain")
    world.survey.questions.exclude(key__in=["topics", "comment", "ease"]).delete()
    client.force_login(xm_manager)
    path, _ = url(world)
    assert 'id="xm-no-outcome"' in client.get(path).content.decode()


def test_drivers_that_explain_little_are_flagged(client, xm_manager) -> None:  # noqa: ANN001
    world = drivers_world("noise")
    rows = known_rows(200)
    for i, row in enumerate(rows):
        row["answers"]["nps"] = (i * 7) % 11  # unrelated to every driver
    add_rows(world, rows)
    client.force_login(xm_manager)
    path, params = url(world, survey=world.survey.pk)
    html = client.get(path, params).content.decode()
    assert DriverAnalysis.objects.get().r2 < 0.1
    assert 'id="xm-drivers-weak"' in html


def test_matrix_draws_the_ten_most_important_and_places_every_driver_in_a_quadrant() -> None:
    from metrics.drivers.chart import matrix_chart

    shares = [0.4, 0.2, 0.1] + [0.3 / 9] * 9
    results = [
        {"importance": s, "low": s / 2, "high": s * 1.5, "performance": 30.0 + 5 * i}
        for i, s in enumerate(shares)
    ]
    chart = matrix_chart(results)
    assert len(chart["points"]) == 10 and chart["more"]
    assert [r["rank"] for r in results] == list(range(1, 13))
    # Average share 1/12; median performance of the ten drawn: 52.5.
    assert [r["quadrant"] for r in results[:3]] == ["fix", "fix", "fix"]
    assert results[3]["quadrant"] == "monitor" and results[-1]["quadrant"] == "overinvest"
    assert all(r["quadrant_label"] for r in results)
