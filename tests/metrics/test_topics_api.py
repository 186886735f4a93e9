"""GET /api/v1/topics/: the contract, the refusals naming their field, the key's scope."""

import datetime as dt

import pytest
from django.utils import timezone

from metrics.comments.models import Topic
from tests.metrics.comments_support import TR_DELIVERY, TR_PRICE, seed_and_process, theme_specs
from tests.metrics.conftest import TODAY, build_world

pytestmark = pytest.mark.django_db
URL = "/api/v1/topics/"


@pytest.fixture
def shop():  # noqa: ANN201
    world = build_world()
    specs = theme_specs(41, {"d": TR_DELIVERY, "p": TR_PRICE}, 30, "tr")
    for spec in specs[30:]:  # the price comments: promoters, a month earlier
        spec["nps"], spec["day"] = 10, TODAY - dt.timedelta(days=31)
    seed_and_process(world, specs)
    return world


def test_the_topics_of_a_question_with_n_share_sentiment_and_score(shop, api_key_for):  # noqa: ANN001
    body = api_key_for(shop).get(URL, {"survey": shop.survey.pk, "question": "comment"}).json()
    assert set(body) == {"n", "as_of", "results"}
    assert body["n"] == 60
    assert dt.datetime.fromisoformat(body["as_of"]) <= timezone.now()
    assert len(body["results"]) == 2
    for row in body["results"]:
        assert set(row) == {"topic", "label", "terms", "n", "share", "sentiment", "score"}
        assert Topic.objects.filter(pk=row["topic"], active=True).exists()
        assert row["n"] == 30 and row["share"] == 0.5
        assert all(isinstance(t, str) for t in row["terms"])
        assert -1 <= row["sentiment"] <= 1
    scores = sorted(row["score"] for row in body["results"])
    assert scores[1] == 10.0 and scores[0] < 6


def test_a_window_and_a_language_narrow_the_comments(shop, api_key_for):  # noqa: ANN001
    client = api_key_for(shop)
    recent = client.get(
        URL, {"survey": shop.survey.pk, "question": "comment", "from": TODAY.isoformat()}
    ).json()
    assert recent["n"] == 30
    assert sorted(r["n"] for r in recent["results"]) == [0, 30]
    english = client.get(
        URL, {"survey": shop.survey.pk, "question": "comment", "language": "en"}
    ).json()
    assert english["n"] == 0
    assert all(r["n"] == 0 and r["share"] is None for r in english["results"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"question": "comment"}, "survey"),
        ({"survey": "abc", "question": "comment"}, "survey"),
        ({"survey": "0", "question": "comment"}, "survey"),
        ({"survey": "SURVEY"}, "question"),
        ({"survey": "SURVEY", "question": "nps"}, "question"),
        ({"survey": "SURVEY", "question": "x" * 65}, "question"),
        ({"survey": "SURVEY", "question": "comment", "language": "de"}, "language"),
        ({"survey": "SURVEY", "question": "comment", "from": "2026-13-01"}, "from"),
        ({"survey": "SURVEY", "question": "comment", "to": "yesterday"}, "to"),
        (
            {"survey": "SURVEY", "question": "comment", "from": "2026-06-02", "to": "2026-06-01"},
            "from",
        ),
    ],
)
def test_bad_parameters_answer_400_naming_the_field(shop, api_key_for, params, field):  # noqa: ANN001
    params = {k: (str(shop.survey.pk) if v == "SURVEY" else v) for k, v in params.items()}
    response = api_key_for(shop).get(URL, params)
    assert response.status_code == 400
    assert set(response.json()) == {field}


def test_a_survey_outside_the_keys_audiences_is_not_found(shop, api_key_for):  # noqa: ANN001
    other = build_world("partners")
    response = api_key_for(other).get(URL, {"survey": shop.survey.pk, "question": "comment"})
    assert response.status_code == 404
    missing = api_key_for(shop).get(URL, {"survey": 999999, "question": "comment"})
    assert missing.status_code == 404


def test_no_key_no_topics(shop, client):  # noqa: ANN001
    assert client.get(URL, {"survey": shop.survey.pk, "question": "comment"}).status_code == 401


def test_the_schema_documents_the_topics_operation():
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/topics/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "survey",
        "question",
        "language",
        "from",
        "to",
    }
