"""The anonymity threshold on anonymous surveys' slices, and named scores that are never held.

Anonymous data here sit on one published reporting period (September), as surveys.periods
stores them; every other rule of metrics.privacy has its tests in test_privacy_reads.py.
"""

import datetime as dt

import pytest

from metrics import selectors as s
from metrics.services import rollups_rebuild
from tests.metrics.conftest import (
    TODAY,
    add_period,
    add_responses,
    anonymous_world,
    build_world,
    nps_specs,
)

pytestmark = pytest.mark.django_db

SEPTEMBER = dt.date(2026, 9, 1)


def _employees_by_department(sizes: dict[str, list[int]]):  # noqa: ANN202
    world = anonymous_world()
    add_period(world.survey, SEPTEMBER, dt.date(2026, 9, 30))
    for dept, values in sizes.items():
        add_responses(world, nps_specs(values, segment=dept, day=SEPTEMBER))
    rollups_rebuild(date_from=SEPTEMBER, date_to=SEPTEMBER)
    return world


def _rows(world, by):  # noqa: ANN001, ANN202
    return s.scores(audience=world.audience, metric="enps", by=by).rows


def test_a_period_under_the_threshold_says_not_enough_responses() -> None:
    world = _employees_by_department({"sales": [10] * 4})
    assert _rows(world, None) == [{"group": None, "suppressed": True}]


def test_lone_small_department_hides_the_next_smallest_too() -> None:
    # sales 6, ops 7, legal 2: legal alone would equal "all minus sales minus ops".
    world = _employees_by_department({"sales": [10] * 6, "ops": [0] * 7, "legal": [0, 0]})
    rows = _rows(world, "segment")
    assert rows == [
        {"group": "legal", "suppressed": True},
        {"group": "ops", "score": -100.0, "n": 7, "margin": 0.0},
        {"group": "sales", "suppressed": True},
    ]
    # The subtraction attack: the total (n=15) minus every shown department leaves 8 answers,
    # two departments mixed, never legal's 2 alone.
    [total] = _rows(world, None)
    shown = sum(r["n"] for r in rows if not r.get("suppressed"))
    assert total["n"] - shown == 8


def test_two_hidden_slices_still_too_small_together_pull_in_a_third() -> None:
    world = _employees_by_department({"a": [10], "b": [10, 10], "c": [0] * 6, "d": [0] * 9})
    rows = _rows(world, "segment")
    assert [r["group"] for r in rows if r.get("suppressed")] == ["a", "b", "c"]
    assert [r["group"] for r in rows if not r.get("suppressed")] == ["d"]


def test_no_hidden_sibling_means_nothing_extra_is_hidden() -> None:
    world = _employees_by_department({"a": [10] * 5, "b": [0] * 5})
    rows = _rows(world, "segment")
    assert [r.get("suppressed", False) for r in rows] == [False, False]


def test_a_named_survey_of_employees_is_exact_and_moves_with_every_answer() -> None:
    # Nothing is held at an older value any more: a named score is what its answers say.
    world = build_world("team", kind="employee", threshold=5)
    add_responses(world, nps_specs([10] * 5))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    assert _rows(world, None) == [{"group": None, "score": 100.0, "n": 5, "margin": 0.0}]
    add_responses(world, nps_specs([0]))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    [row] = _rows(world, None)
    assert (round(row["score"], 4), row["n"]) == (66.6667, 6)
    # Two answers are shown as they are too: named responses are seen one by one anyway.
    small = build_world("pair", kind="employee", threshold=5)
    add_responses(small, nps_specs([10, 0]))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    assert s.scores(audience=small.audience, metric="enps", by=None).rows == [
        {"group": None, "score": 0.0, "n": 2, "margin": pytest.approx(138.5929, abs=1e-3)}
    ]
