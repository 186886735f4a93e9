"""GET /api/v1/ex-cx/: the contract, the key's scope and the messages of bad requests."""

import datetime as dt

import pytest
from rest_framework.test import APIClient
from scipy import stats

from audiences.models import Audience
from tests.metrics.conftest import add_period, add_responses
from tests.metrics.ex_cx_support import STORES, csat_of, fill, nps_of
from xmplatform.api.services import api_key_create

pytestmark = pytest.mark.django_db
URL = "/api/v1/ex-cx/"


def _client(*audiences: Audience) -> APIClient:
    client = APIClient()
    key = api_key_create(name="ex-cx key", audiences=list(audiences))[1]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def worlds():  # noqa: ANN201
    return fill()


def test_the_units_and_their_correlation_as_the_contract_says(
    worlds,
    django_assert_max_num_queries,  # noqa: ANN001
) -> None:
    client = _client(worlds.staff.audience, worlds.clients.audience)
    # key and its audiences, the two audiences, 2 key samples, the segment check, 2 scopes,
    # the eNPS read and the NPS and CSAT joins
    with django_assert_max_num_queries(14):
        response = client.get(URL, {"employees": "staff", "customers": "clients"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "unit",
        "as_of",
        "from",
        "to",
        "employees_from",
        "employees_to",
        "units",
        "correlation",
        "reason",
    }
    assert body["unit"] == "store"
    assert dt.datetime.fromisoformat(body["as_of"])
    ankara = body["units"][0]
    assert ankara == {
        "unit": "ankara",
        "employees": {"enps": 40.0, "n": 5, "margin": round(nps_of(STORES["ankara"][0]).margin, 2)},
        "customers": {
            "nps": 50.0,
            "n": 6,
            "margin": round(nps_of(STORES["ankara"][1]).margin, 2),
            "csat": 75.0,
            "csat_n": 4,
            "csat_margin": round(csat_of(STORES["ankara"][2]).margin, 2),
        },
    }
    x = [nps_of(STORES[s][0]).value for s in sorted(STORES)]
    y = [nps_of(STORES[s][1]).value for s in sorted(STORES)]
    expected = stats.pearsonr(x, y)
    interval = expected.confidence_interval(0.95)
    assert body["correlation"] == {
        "r": round(expected.statistic, 4),
        "low": round(interval.low, 4),
        "high": round(interval.high, 4),
        "units": 5,
    }
    assert body["reason"] is None


def test_a_suppressed_unit_carries_no_score_and_no_n(worlds) -> None:  # noqa: ANN001
    from surveys.models import Question, Survey

    pulse = Survey.objects.create(audience=worlds.staff.audience, name="pulse", anonymous=True)
    Question.objects.create(survey=pulse, key="nps", type="nps", order=1)
    start = dt.date(2026, 6, 1)
    add_period(pulse, start, start + dt.timedelta(days=13))
    add_responses(
        worlds.staff,
        [{"nps": 9, "segment": "a", "day": start}] * 6
        + [{"nps": 0, "segment": "b", "day": start}] * 2,
        survey=pulse,
    )
    add_responses(worlds.clients, [{"nps": 9, "segment": s, "day": start} for s in "ab"])
    client = _client(worlds.staff.audience, worlds.clients.audience)

    body = client.get(URL, {"employees": "staff", "customers": "clients", "unit": "segment"}).json()

    units = {u["unit"]: u for u in body["units"]}
    assert units["a"]["employees"] == {"suppressed": True}
    assert units["b"]["employees"] == {"suppressed": True}
    assert body["correlation"] is None
    assert "at least 4 units" in body["reason"]


def test_a_key_that_misses_either_audience_gets_404(worlds) -> None:  # noqa: ANN001
    for audiences in ([worlds.staff.audience], [worlds.clients.audience]):
        response = _client(*audiences).get(URL, {"employees": "staff", "customers": "clients"})
        assert response.status_code == 404


def test_an_unknown_audience_is_404_like_one_out_of_scope(worlds) -> None:  # noqa: ANN001
    client = _client(worlds.staff.audience, worlds.clients.audience)
    assert client.get(URL, {"employees": "nobody", "customers": "clients"}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"customers": "clients"}, "employees"),
        ({"employees": "staff"}, "customers"),
        ({"employees": "staff", "customers": "clients", "unit": "shoe"}, "unit"),
        ({"employees": "staff", "customers": "clients", "from": "June"}, "from"),
        ({"employees": "staff", "customers": "clients", "to": "2026-02-30"}, "to"),
        (
            {
                "employees": "staff",
                "customers": "clients",
                "from": "2026-06-02",
                "to": "2026-06-01",
            },
            "from",
        ),
        ({"employees": "clients", "customers": "clients"}, "employees"),
        ({"employees": "staff", "customers": "staff"}, "customers"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(worlds, params, field) -> None:  # noqa: ANN001
    client = _client(worlds.staff.audience, worlds.clients.audience)
    response = client.get(URL, params)

    assert response.status_code == 400
    assert field in response.json()


def test_odd_input_never_fails(worlds) -> None:  # noqa: ANN001
    client = _client(worlds.staff.audience, worlds.clients.audience)
    for unit in ("x\x00y", "' OR 1=1 --", "a" * 500, "segment"):
        response = client.get(URL, {"employees": "staff", "customers": "clients", "unit": unit})
        assert response.status_code in (200, 400)


def test_a_window_is_reported_and_applied(worlds) -> None:  # noqa: ANN001
    client = _client(worlds.staff.audience, worlds.clients.audience)
    body = client.get(
        URL,
        {"employees": "staff", "customers": "clients", "from": "2026-01-01", "to": "2026-01-31"},
    ).json()

    assert (body["from"], body["to"]) == ("2026-01-01", "2026-01-31")
    assert body["units"] == []
