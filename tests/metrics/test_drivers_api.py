"""GET /api/v1/drivers/: the contract, its refusals, the scope of keys, the 202 while computing,
and the anonymity of anonymous surveys against a caller who tries windows and segments."""

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from kombu.exceptions import OperationalError

from metrics.drivers import tasks
from metrics.drivers.models import DriverAnalysis
from tests.metrics.conftest import add_period
from tests.metrics.drivers_support import add_rows, drivers_world, known_rows

pytestmark = pytest.mark.django_db
URL = "/api/v1/drivers/"
CONTRACT = {"driver", "label", "importance", "low", "high", "performance"}
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _no_pending_requests() -> Iterator[None]:
    """The cache marks computations asked for; none may leak into the next test."""
    yield
    cache.clear()


@pytest.fixture
def shop():  # noqa: ANN201
    world = drivers_world()
    add_rows(world, known_rows(120))
    return world


def test_drivers_follow_the_contract(shop, api_key_for) -> None:  # noqa: ANN001
    response = api_key_for(shop).get(URL, {"survey": shop.survey.pk, "outcome": "nps"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"outcome", "n", "r2", "as_of", "results"}
    assert body["outcome"] == "nps" and body["n"] == 120 and 0 < body["r2"] < 1
    dt.datetime.fromisoformat(body["as_of"])
    results = body["results"]
    assert results and all(CONTRACT <= set(r) for r in results)
    assert sum(r["importance"] for r in results) == pytest.approx(1.0, abs=1e-4)
    importances = [r["importance"] for r in results]
    assert importances == sorted(importances, reverse=True)
    assert results[0]["driver"] == "csat"
    assert results[0]["label"] == "Satisfied with checkout?"
    assert {"topics=price", "paid=card"} <= {r["driver"] for r in results}
    for r in results:
        assert r["low"] <= r["importance"] <= r["high"] + 1e-9
        assert 0 <= r["performance"] <= 100


def test_labels_follow_the_request_language(shop, api_key_for) -> None:  # noqa: ANN001
    client = api_key_for(shop)
    response = client.get(
        URL, {"survey": shop.survey.pk, "outcome": "nps"}, HTTP_ACCEPT_LANGUAGE="tr"
    )
    labels = {r["driver"]: r["label"] for r in response.json()["results"]}
    assert labels["csat"] == "Ödemeden memnun musunuz?"
    assert labels["topics=price"] == "Ne önemliydi?: Fiyat"


def test_too_little_data_gives_a_reason_and_no_results(api_key_for) -> None:  # noqa: ANN001
    world = drivers_world()
    add_rows(world, known_rows(12))
    body = api_key_for(world).get(URL, {"survey": world.survey.pk, "outcome": "nps"}).json()
    assert body["n"] == 12 and body["results"] == []
    assert body["reason"] == "Too few responses for a driver analysis: 12, at least 30 are needed."
    assert "r2" not in body


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"outcome": "nps"}, "survey"),
        ({"survey": "abc", "outcome": "nps"}, "survey"),
        ({"survey": "{pk}"}, "outcome"),
        ({"survey": "{pk}", "outcome": "nope"}, "outcome"),
        ({"survey": "{pk}", "outcome": "topics"}, "outcome"),  # a choice question
        ({"survey": "{pk}", "outcome": "ease"}, "outcome"),  # CES is a driver, not an outcome
        ({"survey": "{pk}", "outcome": "nps", "from": "2026-13-01"}, "from"),
        ({"survey": "{pk}", "outcome": "nps", "to": "yesterday"}, "to"),
        ({"survey": "{pk}", "outcome": "nps", "from": "2026-06-02", "to": "2026-06-01"}, "from"),
        ({"survey": "{pk}", "outcome": "nps", "segment": "x" * 101}, "segment"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(shop, api_key_for, params, field) -> None:  # noqa: ANN001
    params = {k: v.replace("{pk}", str(shop.survey.pk)) for k, v in params.items()}
    response = api_key_for(shop).get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


def test_unknown_outcome_names_the_valid_keys(shop, api_key_for) -> None:  # noqa: ANN001
    response = api_key_for(shop).get(URL, {"survey": shop.survey.pk, "outcome": "nope"})
    assert "nps, csat, speed" in response.json()["outcome"]


def test_a_survey_outside_the_keys_audiences_is_not_found(shop, api_key_for) -> None:  # noqa: ANN001
    other = drivers_world("rivals")
    response = api_key_for(other).get(URL, {"survey": shop.survey.pk, "outcome": "nps"})
    assert response.status_code == 404
    assert not DriverAnalysis.objects.exists()  # nothing was computed for it either
    missing = api_key_for(shop).get(URL, {"survey": 999999, "outcome": "nps"})
    assert missing.status_code == 404


def test_first_ask_without_a_worker_answers_202(shop, api_key_for, monkeypatch) -> None:  # noqa: ANN001
    asked = []
    monkeypatch.setattr(tasks.compute_task, "delay", lambda *args: asked.append(args))
    response = api_key_for(shop).get(URL, {"survey": shop.survey.pk, "outcome": "nps"})
    assert response.status_code == 202
    assert response["Retry-After"] == "30"
    body = response.json()
    assert (body["n"], body["results"], body["reason"]) == (0, [], "computing")
    assert asked == [(shop.survey.pk, "nps", {"from": None, "to": None, "segment": None})]
    # Asked again while it is computing: not enqueued twice.
    again = api_key_for(shop).get(URL, {"survey": shop.survey.pk, "outcome": "nps"})
    assert again.status_code == 202 and len(asked) == 1


def test_a_broker_that_is_down_still_answers_202(shop, api_key_for, monkeypatch) -> None:  # noqa: ANN001
    def down(*args: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.compute_task, "delay", down)
    response = api_key_for(shop).get(URL, {"survey": shop.survey.pk, "outcome": "nps"})
    assert response.status_code == 202


def test_a_cached_analysis_is_read_without_writing(shop, api_key_for) -> None:  # noqa: ANN001
    client = api_key_for(shop)
    params = {"survey": shop.survey.pk, "outcome": "nps", "from": "2026-01-01"}
    first = client.get(URL, params).json()
    with CaptureQueriesContext(connection) as queries:
        again = client.get(URL, params).json()
    assert again == first
    assert not [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]
    assert DriverAnalysis.objects.count() == 1


# --- Anonymous surveys: never importances of an open period, never a small segment ----------

MAY, JUNE = dt.date(2026, 5, 1), dt.date(2026, 6, 1)


@pytest.fixture
def pulse():  # noqa: ANN201
    world = drivers_world("staff", anonymous=True, threshold=5)
    add_period(world.survey, MAY, dt.date(2026, 5, 31))
    add_period(world.survey, JUNE, dt.date(2026, 6, 30), published=False)
    add_rows(
        world, known_rows(36, day=MAY, segment="sales") + known_rows(4, 2, day=MAY, segment="hr")
    )
    add_rows(world, known_rows(60, 3, day=JUNE, segment="sales"))
    return world


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-06-01"},
        {"from": "2026-05-02"},
        {"from": "2026-05-15", "to": "2026-06-30"},
        {"segment": "hr"},
        {"segment": "sales"},  # its complement (hr, 4) is under k
        {"segment": "sales", "from": "2026-06-01"},
    ],
)
def test_anonymous_survey_answers_with_a_reason_never_importances(
    pulse, api_key_for, params
) -> None:  # noqa: ANN001
    body = (
        api_key_for(pulse).get(URL, {"survey": pulse.survey.pk, "outcome": "nps", **params}).json()
    )
    assert body["results"] == [] and body["reason"]
    assert body["n"] == 0  # not even the open period's count
    assert "r2" not in body


def test_anonymous_survey_counts_its_published_period_only(pulse, api_key_for) -> None:  # noqa: ANN001
    client = api_key_for(pulse)
    whole = client.get(URL, {"survey": pulse.survey.pk, "outcome": "nps"}).json()
    snapped = client.get(
        URL, {"survey": pulse.survey.pk, "outcome": "nps", "from": "2026-05-01", "to": "2026-05-01"}
    ).json()
    assert whole["n"] == snapped["n"] == 40
    assert [r["importance"] for r in whole["results"]] == [
        r["importance"] for r in snapped["results"]
    ]
