"""Audiences through the API, and scores with n and margin: exact for named surveys, per
reporting period and guarded for anonymous ones."""

import datetime as dt

import pytest
from django.utils import timezone

from audiences.models import Audience
from metrics.services import rollups_rebuild
from surveys.models import Answer, Invitation, Question, ReportingPeriod, Response
from tests.factories import make_touchpoint

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 2)


def test_audience_is_created_and_read(api, world):
    response = api.post(
        "/api/v1/audiences/",
        {"slug": "fans", "name": "Fans", "kind": "fan", "owner": "customers-owner"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {
        "slug": "fans",
        "name": "Fans",
        "kind": "fan",
        "owner": "customers-owner",
        "priority": 100,
        "description": "",
        "requires_opt_in": False,
        "anonymity_threshold": 5,
        "created_at": response.json()["created_at"],
    }
    assert api.get("/api/v1/audiences/fans/").json()["name"] == "Fans"
    assert Audience.objects.get(slug="fans").owner.username == "customers-owner"


def test_audience_errors_are_specific(api, world):
    taken = api.post(
        "/api/v1/audiences/",
        {"slug": "customers", "name": "X", "kind": "customer", "owner": "customers-owner"},
        format="json",
    )
    assert (taken.status_code, taken.json()) == (
        400,
        {"slug": ["An audience with this slug already exists."]},
    )
    nobody = api.post(
        "/api/v1/audiences/",
        {"slug": "x", "name": "X", "kind": "fan", "owner": "ghost"},
        format="json",
    )
    assert nobody.json() == {"owner": ["No user has this username."]}
    weak = api.post(
        "/api/v1/audiences/",
        {
            "slug": "staff",
            "name": "Staff",
            "kind": "employee",
            "owner": "customers-owner",
            "anonymity_threshold": 3,
        },
        format="json",
    )
    assert weak.json() == {
        "anonymity_threshold": ["Employee audiences need a threshold of at least 5."]
    }


def _answers(world, touchpoint, scores, day=DAY):
    question = Question.objects.get(survey=world.customer_survey, key="nps")
    for score in scores:
        response = Response.objects.create(
            survey=world.customer_survey,
            audience=world.customers,
            touchpoint=touchpoint,
            channel="email",
            language="en",
            completed_on=day,
        )
        Answer.objects.create(response=response, question=question, number=score)


def test_nps_by_touchpoint_names_groups_by_slug_and_shows_named_groups_however_small(api, world):
    delivery = make_touchpoint(world.customers, slug="delivery", stage_name="Delivery")
    returns = make_touchpoint(world.customers, slug="returns", stage_name="Returns")
    _answers(world, world.checkout, [10, 10, 9, 7, 3, 0])
    _answers(world, delivery, [10, 9, 9, 9, 8])
    _answers(world, returns, [1, 2])
    rollups_rebuild(date_from=DAY, date_to=DAY)
    response = api.get("/api/v1/scores/?audience=customers&metric=nps&by=touchpoint")
    assert response.status_code == 200
    results = response.json()["results"]
    checkout = next(r for r in results if r["group"] == "checkout")
    assert (round(checkout["score"], 2), checkout["n"]) == (16.67, 6)
    assert checkout["margin"] > 0
    # A named survey's responses are seen one by one anyway: no group is held back.
    assert [(r["group"], r["n"]) for r in results] == [
        ("checkout", 6),
        ("delivery", 5),
        ("returns", 2),
    ]
    assert not any(r.get("suppressed") for r in results)


def test_all_time_score_without_from_or_to(api, world):
    _answers(world, world.checkout, [10, 10, 10, 0, 0])
    rollups_rebuild(date_from=DAY, date_to=DAY)
    body = api.get("/api/v1/scores/?audience=customers&metric=nps").json()
    assert body["results"] == [
        {"group": None, "score": 20.0, "n": 5, "margin": body["results"][0]["margin"]}
    ]
    assert body["results"][0]["margin"] == pytest.approx(
        1.96 * ((0.6 + 0.4 - 0.04) / 5) ** 0.5 * 100
    )


def test_score_by_month_names_the_period_start(api, world):
    _answers(world, world.checkout, [9, 9, 9, 9, 9])
    rollups_rebuild(date_from=DAY, date_to=DAY)
    body = api.get(
        "/api/v1/scores/?audience=customers&metric=nps&by=month&from=2026-11-01&to=2026-11-30"
    ).json()
    assert [(r["group"], r["score"], r["n"]) for r in body["results"]] == [("2026-11-01", 100.0, 5)]


def test_a_named_group_of_two_is_shown_with_its_n_and_margin(api, world):
    _answers(world, world.checkout, [10, 0])
    rollups_rebuild(date_from=DAY, date_to=DAY)
    body = api.get("/api/v1/scores/?audience=customers&metric=nps").json()
    assert body["results"] == [
        {"group": None, "score": 0.0, "n": 2, "margin": pytest.approx(138.5929, abs=1e-3)}
    ]


def test_an_anonymous_period_under_the_threshold_has_no_score_and_no_n(api, world):
    september = dt.date(2026, 9, 1)
    ReportingPeriod.objects.create(
        survey=world.employee_survey,
        starts_on=september,
        ends_on=dt.date(2026, 9, 30),
        published_at=timezone.now(),
    )
    question = Question.objects.get(survey=world.employee_survey, key="enps")
    for score in (10, 0):
        response = Response.objects.create(
            survey=world.employee_survey,
            audience=world.employees,
            channel="email",
            language="en",
            completed_on=september,
        )
        Answer.objects.create(response=response, question=question, number=score)
    rollups_rebuild(date_from=september, date_to=september)
    body = api.get("/api/v1/scores/?audience=employees&metric=enps").json()
    assert body["results"] == [{"group": None, "suppressed": True}]


def test_response_rate_counts_sent_invitations(api, world):
    now = timezone.now()
    for i in range(6):
        Invitation.objects.create(
            survey=world.customer_survey,
            person=world.ayse,
            channel="email",
            nonce=f"n{i}",
            token_hash=f"h{i}",
            state="sent",
            sent_at=now,
            responded_at=now if i < 3 else None,
        )
    body = api.get("/api/v1/scores/?audience=customers&metric=response_rate").json()
    assert body["results"] == [{"group": None, "score": 50.0, "n": 6, "margin": None}]


def _invitations(survey, person, *, sent: int, responded: int, prefix: str) -> None:  # noqa: ANN001
    now = timezone.now()
    for i in range(sent):
        Invitation.objects.create(
            survey=survey,
            person=person,
            channel="email",
            nonce=f"{prefix}{i}",
            token_hash=f"{prefix}h{i}",
            state="sent",
            sent_at=now,
            responded_at=now if i < responded else None,
        )


def test_response_rate_by_survey_names_each_survey_by_its_id(api, world):
    _invitations(world.customer_survey, world.ayse, sent=8, responded=2, prefix="c")
    _invitations(world.employee_survey, world.emre, sent=2, responded=1, prefix="e")

    customers = api.get("/api/v1/scores/?audience=customers&metric=response_rate&by=survey")
    employees = api.get("/api/v1/scores/?audience=employees&metric=response_rate&by=survey")

    assert customers.status_code == 200, customers.content
    assert customers.json()["results"] == [
        {"group": world.customer_survey.pk, "score": 25.0, "n": 8, "margin": None}
    ]
    # The anonymous pulse's group of two is under the threshold (or not yet published).
    assert employees.status_code == 200, employees.content
    assert {r["group"] for r in employees.json()["results"]} <= {world.employee_survey.pk}
    assert all(r.get("suppressed") for r in employees.json()["results"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metric=nps", {"audience": "Name an audience by its slug."}),
        ("audience=customers&metric=happiness", None),
        ("audience=customers&metric=nps&by=colour", None),
        (
            "audience=customers&metric=nps&from=2026-02-30",
            {"from": "Use a date as YYYY-MM-DD (got 2026-02-30)."},
        ),
        (
            "audience=customers&metric=nps&from=2026-03-01&to=2026-02-01",
            {"from": "from must not be after to."},
        ),
        ("audience=customers&metric=response_rate&by=segment", None),
    ],
)
def test_bad_score_queries_are_400(api, world, query, expected):
    response = api.get(f"/api/v1/scores/?{query}")
    assert response.status_code == 400
    if expected is not None:
        assert response.json() == expected


def test_unknown_audience_scores_are_404(api, world):
    assert api.get("/api/v1/scores/?audience=nobody&metric=nps").status_code == 404


def test_an_anonymous_response_rate_moves_only_when_its_period_is_published(api, world):
    start = dt.date(2026, 9, 1)
    midnight = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    period = ReportingPeriod.objects.create(
        survey=world.employee_survey, starts_on=start, ends_on=dt.date(2026, 9, 30)
    )
    for i in range(10):
        Invitation.objects.create(
            survey=world.employee_survey,
            person=world.emre,
            channel="email",
            nonce=f"a{i}",
            token_hash=f"ah{i}",
            state="responded" if i < 6 else "sent",
            sent_at=midnight + dt.timedelta(days=2, hours=i),
            responded_at=midnight if i < 6 else None,  # an anonymous answer's period start
        )
    query = "/api/v1/scores/?audience=employees&metric=response_rate"

    while_open = api.get(query).json()["results"]
    period.published_at = timezone.now()
    period.save(update_fields=["published_at"])
    published = api.get(query).json()["results"]

    assert while_open == []
    assert published == [{"group": None, "score": 60.0, "n": 10, "margin": None}]
