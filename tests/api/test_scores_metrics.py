"""The scores API for every metric: means per scale (never pooled), the response rate, and the
operational metrics per period with n (their denominator) and the 95 % margin."""

import datetime as dt

import pytest

from audiences.models import Membership
from journeys.models import TouchpointEvent, TouchpointRole
from metrics import definitions as d
from metrics.services import rollups_rebuild
from surveys.models import Answer, Question, QuestionType, Response
from tests.factories import make_person, make_touchpoint

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 2)


def _answers(world, question: Question, values: list[int]) -> None:  # noqa: ANN001
    for value in values:
        response = Response.objects.create(
            survey=world.customer_survey,
            audience=world.customers,
            touchpoint=world.checkout,
            completed_on=DAY,
            completed_at=dt.datetime.combine(DAY, dt.time(12), tzinfo=dt.UTC),
            released=True,
        )
        Answer.objects.create(response=response, question=question, number=value)


def test_mean_metrics_give_one_row_per_scale(api, world) -> None:  # noqa: ANN001
    five = Question.objects.create(
        survey=world.customer_survey, key="ces5", type=QuestionType.CES, order=5, scale_max=5
    )
    seven = Question.objects.create(
        survey=world.customer_survey, key="ces7", type=QuestionType.CES, order=6, scale_max=7
    )
    _answers(world, five, [4, 5])
    _answers(world, seven, [7, 6, 5])
    rollups_rebuild(date_from=DAY, date_to=DAY)
    body = api.get("/api/v1/scores/?audience=customers&metric=ces").json()
    rows = {r["scale"]: r for r in body["results"]}
    assert rows[5]["score"] == 4.5 and rows[5]["n"] == 2
    assert rows[7]["score"] == 6.0 and rows[7]["n"] == 3
    assert rows[7]["margin"] == pytest.approx(d.mean(n=3, total=18, sumsq=110).margin)


def _operations(world) -> None:  # noqa: ANN001
    help_desk = make_touchpoint(
        world.customers, slug="help", stage_name="Care", role=TouchpointRole.SUPPORT_REQUEST
    )
    gone = make_touchpoint(
        world.customers, slug="gone", stage_name="Exit", role=TouchpointRole.CHURNED
    )
    people = [make_person(f"ops-{k}") for k in range(10)]
    Membership.objects.bulk_create(
        [
            Membership(person=p, audience=world.customers, joined_on=dt.date(2026, 1, 1))
            for p in people
        ]
    )
    events = []
    for k, person in enumerate(people):
        moment = dt.datetime.combine(DAY + dt.timedelta(days=7 * (k % 2)), dt.time(10))
        events.append(
            TouchpointEvent(
                person=person,
                touchpoint=help_desk,
                occurred_at=moment.replace(tzinfo=dt.UTC),
                attributes={"handling_seconds": 60 * (1 + k % 3), "first_contact_resolved": k < 6},
            )
        )
    events.append(
        TouchpointEvent(
            person=people[0],
            touchpoint=gone,
            occurred_at=dt.datetime.combine(DAY, dt.time(11), tzinfo=dt.UTC),
        )
    )
    TouchpointEvent.objects.bulk_create(events)
    rollups_rebuild(date_from=DAY, date_to=DAY + dt.timedelta(days=14))


def test_operational_metrics_give_value_n_and_margin(api, world) -> None:  # noqa: ANN001
    _operations(world)
    base = "/api/v1/scores/?audience=customers&from=2026-11-01&to=2026-11-30"
    fcr = api.get(f"{base}&metric=fcr").json()
    assert fcr["metric"] == "fcr" and fcr["from"] == "2026-11-01"
    assert fcr["results"] == [
        {
            "group": None,
            "score": 60.0,
            "n": 10,
            "margin": pytest.approx(d.share(hits=6, n=10).margin),
        }
    ]
    churn = api.get(f"{base}&metric=churn_rate").json()["results"]
    # Eleven customers at the start: Ayşe and the ten who asked for help; one left.
    assert churn == [
        {
            "group": None,
            "score": pytest.approx(100 / 11),
            "n": 11,
            "margin": pytest.approx(d.share(hits=1, n=11).margin),
        }
    ]
    aht = api.get(f"{base}&metric=aht").json()["results"][0]
    assert aht["score"] == pytest.approx(114.0) and aht["n"] == 10 and aht["margin"] > 0
    clv = api.get(f"{base}&metric=clv").json()["results"][0]
    assert clv["margin"] is None
    weekly = api.get(f"{base}&metric=fcr&by=week").json()["results"]
    assert [r["group"] for r in weekly] == ["2026-11-02", "2026-11-09"]
    assert [r["n"] for r in weekly] == [5, 5]
    assert all(set(r) == {"group", "score", "n", "margin"} for r in weekly)


def test_operational_metrics_refuse_what_they_cannot_slice(api, world) -> None:  # noqa: ANN001
    _operations(world)
    base = "/api/v1/scores/?audience=customers&metric=churn_rate"
    assert api.get(f"{base}&by=touchpoint").status_code == 400
    assert "by" in api.get(f"{base}&by=segment").json()
    survey = api.get(f"{base}&survey={world.customer_survey.pk}")
    assert survey.status_code == 400 and "survey" in survey.json()
    employees = api.get("/api/v1/scores/?audience=employees&metric=churn_rate")
    assert employees.status_code == 400 and "metric" in employees.json()
    too_long = api.get(f"{base}&by=day&from=2026-01-01&to=2026-11-30")
    assert too_long.status_code == 400 and "by" in too_long.json()
    assert api.get(f"{base}&by=day&from=2026-11-01&to=2026-11-30").status_code == 200
    # Without from: from the first event on.
    body = api.get(base).json()
    assert body["from"] == "2026-11-02" and body["results"][0]["n"] == 11


def test_unknown_metric_lists_every_metric(api, world) -> None:  # noqa: ANN001
    body = api.get("/api/v1/scores/?audience=customers&metric=bogus").json()
    for metric in ("nps", "csat_mean", "ces", "rating", "response_rate", "churn_rate", "aht"):
        assert metric in str(body["metric"])
