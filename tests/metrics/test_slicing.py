"""Scores sliced by every dimension, in one query each, from raw answers and rollups."""

import datetime as dt

import pytest

from audiences.models import Membership
from metrics import selectors as s
from metrics.services import rollups_rebuild
from tests.metrics.conftest import TODAY, add_responses, build_world, make_people

pytestmark = pytest.mark.django_db


def _by(rows: list[dict]) -> dict:
    return {r["group"]: (round(r["score"], 4), r["n"]) for r in rows}


def test_nps_counts_completed_responses_only(django_assert_num_queries) -> None:  # noqa: ANN001
    world = build_world()
    add_responses(world, [{"nps": 10}, {"nps": 9}, {"nps": 8}, {"nps": 3}])
    add_responses(world, [{"nps": 0, "completed": False}])
    filters = s.Filters(audience_id=world.audience.pk)
    with django_assert_num_queries(1):  # the one aggregate query
        agg = s.aggregate(metric="nps", by=None, filters=filters, source="raw")
    # Only the counts NPS needs are computed.
    assert agg[None] == s.Agg(n=4, promoters=2, passives=1, detractors=1)
    assert s.score_from("nps", agg[None]).value == pytest.approx(25.0)


def test_slices_by_segment_channel_language_and_touchpoint() -> None:
    world = build_world()
    add_responses(
        world,
        [
            {
                "nps": 10,
                "segment": "gold",
                "channel": "email",
                "language": "tr",
                "touchpoint": "checkout",
            },
            {
                "nps": 9,
                "segment": "gold",
                "channel": "sms",
                "language": "tr",
                "touchpoint": "checkout",
            },
            {
                "nps": 2,
                "segment": "basic",
                "channel": "sms",
                "language": "en",
                "touchpoint": "delivery",
            },
            {
                "nps": 7,
                "segment": "basic",
                "channel": "email",
                "language": "en",
                "touchpoint": "delivery",
            },
        ],
    )
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    f = s.Filters(audience_id=world.audience.pk)
    for source in ("raw", "rollup"):

        def rows(by: str, source: str = source) -> list[dict]:
            return s.score_rows(
                audience=world.audience, metric="nps", by=by, filters=f, source=source
            )

        assert _by(rows("segment")) == {"basic": (-50.0, 2), "gold": (100.0, 2)}
        assert _by(rows("channel")) == {"email": (50.0, 2), "sms": (0.0, 2)}
        assert _by(rows("language")) == {"en": (-50.0, 2), "tr": (100.0, 2)}
        checkout, delivery = world.touchpoints["checkout"], world.touchpoints["delivery"]
        assert _by(rows("touchpoint")) == {checkout.pk: (100.0, 2), delivery.pk: (-50.0, 2)}
        assert _by(rows("stage")) == {checkout.stage_id: (100.0, 2), delivery.stage_id: (-50.0, 2)}
        assert _by(rows("journey")) == {checkout.stage.journey_id: (25.0, 4)}
        assert _by(rows("survey")) == {world.survey.pk: (25.0, 4)}


def test_slices_by_period_and_trend() -> None:
    world = build_world()
    add_responses(
        world, [{"nps": 10, "day": dt.date(2026, 1, 5)}, {"nps": 0, "day": dt.date(2026, 1, 20)}]
    )
    add_responses(
        world, [{"nps": 9, "day": dt.date(2026, 2, 3)}, {"nps": 9, "day": dt.date(2026, 4, 1)}]
    )
    rollups_rebuild(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31))
    f = s.Filters(audience_id=world.audience.pk)
    for source in ("raw", "rollup"):
        months = s.score_rows(
            audience=world.audience, metric="nps", by="month", filters=f, source=source
        )
        assert _by(months) == {
            dt.date(2026, 1, 1): (0.0, 2),
            dt.date(2026, 2, 1): (100.0, 1),
            dt.date(2026, 4, 1): (100.0, 1),
        }
        quarters = s.score_rows(
            audience=world.audience, metric="nps", by="quarter", filters=f, source=source
        )
        assert _by(quarters) == {dt.date(2026, 1, 1): (33.3333, 3), dt.date(2026, 4, 1): (100.0, 1)}
        weeks = s.score_rows(
            audience=world.audience, metric="nps", by="week", filters=f, source=source
        )
        assert [r["group"] for r in weeks] == [
            dt.date(2026, 1, 5),
            dt.date(2026, 1, 19),
            dt.date(2026, 2, 2),
            dt.date(2026, 3, 30),
        ]
        days = s.score_rows(
            audience=world.audience, metric="nps", by="day", filters=f, source=source
        )
        assert len(days) == 4
    # A named audience's trend is exact: no period is hidden, however few answered in it.
    trend = s.trend(audience=world.audience, metric="nps", period="month", filters=f)
    assert trend == [
        {
            "group": dt.date(2026, 1, 1),
            "score": 0.0,
            "n": 2,
            "margin": pytest.approx(138.5929, abs=1e-3),
        },
        {"group": dt.date(2026, 2, 1), "score": 100.0, "n": 1, "margin": 0.0},
        {"group": dt.date(2026, 4, 1), "score": 100.0, "n": 1, "margin": 0.0},
    ]


def test_membership_attribute_slices_use_the_member_in_that_audience() -> None:
    world = build_world()
    people = make_people("attr", 3)
    for person, dept in zip(people, ["sales", "sales", "ops"], strict=True):
        Membership.objects.create(
            person=person, audience=world.audience, attributes={"department": dept}
        )
    add_responses(
        world,
        [
            {"nps": 10, "person": people[0]},
            {"nps": 6, "person": people[1]},
            {"nps": 9, "person": people[2]},
        ],
    )
    add_responses(world, [{"nps": 0}])  # anonymous: no attribute
    f = s.Filters(audience_id=world.audience.pk)
    rows = s.score_rows(audience=world.audience, metric="nps", by="attribute:department", filters=f)
    assert _by(rows) == {"ops": (100.0, 1), "sales": (0.0, 2), None: (-100.0, 1)}


def test_ces_never_mixes_a_five_and_a_seven_point_scale() -> None:
    five = build_world("five", ces_scale=5)
    add_responses(five, [{"ces": 4}, {"ces": 5}])
    seven_q = five.survey.questions.get(key="ces")
    other = type(five.survey).objects.create(audience=five.audience, name="seven")
    other.questions.create(key="ces", type="ces", scale_max=7)
    add_responses(five, [{"ces": 7}, {"ces": 6}, {"ces": 2}], survey=other)
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    f = s.Filters(audience_id=five.audience.pk)
    for source in ("raw", "rollup"):
        rows = s.score_rows(audience=five.audience, metric="ces", by=None, filters=f, source=source)
        assert [(r["scale"], round(r["score"], 4), r["n"]) for r in rows] == [
            (5, 4.5, 2),
            (7, 5.0, 3),
        ]
    assert seven_q.scale_max == 5


def test_csat_csat_mean_and_rating() -> None:
    world = build_world()
    add_responses(
        world, [{"csat": 5, "rating": 4}, {"csat": 4, "rating": 2}, {"csat": 2}, {"csat": 1}]
    )
    f = s.Filters(audience_id=world.audience.pk)
    [csat] = s.score_rows(audience=world.audience, metric="csat", by=None, filters=f, source="raw")
    assert (csat["score"], csat["n"]) == (50.0, 4)
    [mean] = s.score_rows(
        audience=world.audience, metric="csat_mean", by=None, filters=f, source="raw"
    )
    assert (mean["score"], mean["scale"]) == (3.0, None)
    [rating] = s.score_rows(
        audience=world.audience, metric="rating", by=None, filters=f, source="raw"
    )
    assert (rating["score"], rating["n"], rating["scale"]) == (3.0, 2, 5)


def test_unknown_metric_or_dimension_is_refused() -> None:
    f = s.Filters()
    with pytest.raises(s.UnknownSlice):
        s.aggregate(metric="bogus", by=None, filters=f)
    with pytest.raises(s.UnknownSlice):
        s.aggregate(metric="nps", by="shoe_size", filters=f)


def test_period_comparison_flags_only_changes_beyond_the_margin() -> None:
    world = build_world()
    june = dt.date(2026, 6, 1)
    may = dt.date(2026, 5, 1)
    # previous (May): 20 answers, NPS 0; current (June): 20 answers, NPS 100 -> a real change
    add_responses(world, [{"nps": 10, "day": may}] * 10 + [{"nps": 0, "day": may}] * 10)
    add_responses(world, [{"nps": 10, "day": june}] * 20)
    rollups_rebuild(date_from=dt.date(2026, 5, 1), date_to=dt.date(2026, 6, 30))
    f = s.Filters(audience_id=world.audience.pk)
    cmp = s.compare_periods(
        audience=world.audience,
        metric="nps",
        date_from=dt.date(2026, 5, 17),
        date_to=dt.date(2026, 6, 15),
        filters=f,
    )
    assert (cmp["current"].value, cmp["current"].n) == (100.0, 20)
    assert (cmp["previous"].value, cmp["previous"].n) == (0.0, 20)
    assert cmp["delta"] == 100.0
    assert cmp["significant"] is True
    # A small move inside the margin is not flagged.
    add_responses(world, [{"nps": 0, "day": june}])
    rollups_rebuild(date_from=june, date_to=june)
    world2 = build_world("small")
    add_responses(world2, [{"nps": 10, "day": may}] * 5 + [{"nps": 0, "day": may}] * 5)
    add_responses(world2, [{"nps": 10, "day": june}] * 6 + [{"nps": 0, "day": june}] * 4)
    rollups_rebuild(date_from=may, date_to=june)
    cmp2 = s.compare_periods(
        audience=world2.audience,
        metric="nps",
        date_from=dt.date(2026, 5, 17),
        date_to=dt.date(2026, 6, 15),
        filters=s.Filters(audience_id=world2.audience.pk),
    )
    assert cmp2["delta"] == pytest.approx(20.0)
    assert cmp2["significant"] is False
