"""The anonymity threshold: small slices, their complements, and scores that hold still."""

import pytest

from metrics import selectors as s
from metrics.models import PublishedScore
from metrics.services import rollups_rebuild
from tests.metrics.conftest import TODAY, add_responses, build_world, nps_specs

pytestmark = pytest.mark.django_db


def _employees_by_department(sizes: dict[str, list[int]]):  # noqa: ANN202
    world = build_world("staff", kind="employee", touchpoints=(("payroll", "Growth"),))
    for dept, values in sizes.items():
        add_responses(world, nps_specs(values, segment=dept))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    return world


def test_a_slice_under_the_threshold_says_not_enough_responses() -> None:
    world = _employees_by_department({"sales": [10] * 4})
    assert s.scores(world.audience, "enps", None, None, None) == [
        {"group": None, "suppressed": True}
    ]


def test_lone_small_department_hides_the_next_smallest_too() -> None:
    # sales 6, ops 7, legal 2: legal alone would equal "all minus sales minus ops".
    world = _employees_by_department({"sales": [10] * 6, "ops": [0] * 7, "legal": [0, 0]})
    rows = s.scores(world.audience, "enps", "segment", None, None)
    assert rows == [
        {"group": "legal", "suppressed": True},
        {"group": "ops", "score": -100.0, "n": 7, "margin": 0.0},
        {"group": "sales", "suppressed": True},
    ]
    # The subtraction attack: the total (n=15) minus every shown department leaves 8 answers,
    # two departments mixed, never legal's 2 alone.
    [total] = s.scores(world.audience, "enps", None, None, None)
    shown = sum(r["n"] for r in rows if not r.get("suppressed"))
    assert total["n"] - shown == 8


def test_two_hidden_slices_still_too_small_together_pull_in_a_third() -> None:
    world = _employees_by_department({"a": [10], "b": [10, 10], "c": [0] * 6, "d": [0] * 9})
    rows = s.scores(world.audience, "enps", "segment", None, None)
    assert [r["group"] for r in rows if r.get("suppressed")] == ["a", "b", "c"]
    assert [r["group"] for r in rows if not r.get("suppressed")] == ["d"]


def test_no_hidden_sibling_means_nothing_extra_is_hidden() -> None:
    world = _employees_by_department({"a": [10] * 5, "b": [0] * 5})
    rows = s.scores(world.audience, "enps", "segment", None, None)
    assert [r.get("suppressed", False) for r in rows] == [False, False]


def test_published_score_moves_only_after_threshold_new_answers() -> None:
    world = build_world("team", kind="employee", threshold=5)
    add_responses(world, nps_specs([10] * 5))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    assert s.scores(world.audience, "enps", None, None, None) == [
        {"group": None, "score": 100.0, "n": 5, "margin": 0.0}
    ]
    # One detractor joins: showing -> would reveal that person's answer; the value holds.
    add_responses(world, nps_specs([0]))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    assert s.scores(world.audience, "enps", None, None, None) == [
        {"group": None, "score": 100.0, "n": 5, "margin": 0.0}
    ]
    # Four more (n grew by 5 since it was shown): the new value is published.
    add_responses(world, nps_specs([10, 10, 10, 0]))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    [row] = s.scores(world.audience, "enps", None, None, None)
    assert (row["score"], row["n"]) == (60.0, 10)
    assert PublishedScore.objects.get().n == 10
    # The raw, unpublished path still reports the live value for internal use.
    add_responses(world, nps_specs([0]))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    [live] = s.scores(world.audience, "enps", None, None, None, publish=False)
    assert (round(live["score"], 4), live["n"]) == (45.4545, 11)
    [held] = s.scores(world.audience, "enps", None, None, None)
    assert (held["score"], held["n"]) == (60.0, 10)


def test_a_closed_survey_publishes_its_final_score() -> None:
    world = build_world("pulse", kind="employee", threshold=5)
    add_responses(world, nps_specs([10] * 5))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    s.scores(world.audience, "enps", None, None, None, survey_id=world.survey.pk)
    add_responses(world, nps_specs([0]))
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    [held] = s.scores(world.audience, "enps", None, None, None, survey_id=world.survey.pk)
    assert (held["score"], held["n"]) == (100.0, 5)
    world.survey.status = "closed"
    world.survey.save(update_fields=["status"])
    [final] = s.scores(world.audience, "enps", None, None, None, survey_id=world.survey.pk)
    assert (round(final["score"], 4), final["n"]) == (66.6667, 6)
