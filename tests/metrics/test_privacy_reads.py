"""What a scoped reader gets of anonymous surveys: metrics.privacy on every read (scores, API,
dashboard), tried the way an insider would: shifted windows, slices and their complements,
overlapping dimensions, polling the open period, comments.

The staff pulse is anonymous (k = 5) with monthly periods: September and October are
published, November is open. Responses are stored as surveys.periods stores them (on their
period's first day, released in batches); the release itself is tested in test_exact_scores.
Only published periods are counted anywhere: November shows nothing, not even its total.
"""

import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiences.models import Membership
from metrics import privacy
from metrics import selectors as s
from metrics.services import rollups_rebuild
from surveys.models import ReportingPeriod, Response, Survey
from tests.metrics.conftest import (
    World,
    add_period,
    add_responses,
    anonymous_world,
    make_people,
)

pytestmark = pytest.mark.django_db

SEP, OCT, NOV = dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)
K = 5


def _pulse(slug: str = "staff") -> World:
    world = anonymous_world(slug, threshold=K)
    add_period(world.survey, SEP, dt.date(2026, 9, 30))
    add_period(world.survey, OCT, dt.date(2026, 10, 31))
    add_period(world.survey, NOV, dt.date(2026, 11, 30), published=False)
    return world


def _answers(world: World, day: dt.date, count: int, **spec: Any) -> None:
    add_responses(world, [{"nps": (3 * i) % 11, "day": day, **spec} for i in range(count)])


def _roll() -> None:
    rollups_rebuild(date_from=SEP, date_to=dt.date(2026, 11, 30))


def _n(world: World, by: str | None = None, **kwargs: Any) -> dict[Any, Any]:
    """{group: n} of the shown rows, "hidden" for the suppressed ones."""
    rows = s.scores(audience=world.audience, metric="enps", by=by, **kwargs).rows
    return {r["group"]: "hidden" if r.get("suppressed") else r["n"] for r in rows}


# --- Windows -----------------------------------------------------------------------------------


def test_windows_a_day_apart_give_the_same_figures_unless_a_period_starts_that_day() -> None:
    world = _pulse()
    _answers(world, SEP, 14, segment="sales")
    _roll()
    report = s.scores
    to_13 = report(
        audience=world.audience,
        metric="enps",
        by=None,
        date_from=dt.date(2026, 9, 10),
        date_to=dt.date(2026, 9, 13),
    )
    to_14 = report(
        audience=world.audience,
        metric="enps",
        by=None,
        date_from=dt.date(2026, 9, 10),
        date_to=dt.date(2026, 9, 14),
    )
    assert to_13.rows == to_14.rows == []
    # A window holding September's first day counts September whole, and says so.
    whole = report(
        audience=world.audience,
        metric="enps",
        by=None,
        date_from=SEP,
        date_to=dt.date(2026, 9, 14),
    )
    assert [r["n"] for r in whole.rows] == [14]
    assert (whole.date_from, whole.date_to) == (SEP, dt.date(2026, 9, 30))
    # For every pair of windows, the figures differ by a whole period or not at all.
    edges = [None, SEP, dt.date(2026, 9, 2), dt.date(2026, 9, 30), OCT]
    seen = set()
    for start, end in itertools.product(edges, edges):
        if start and end and start > end:
            continue
        rows = report(audience=world.audience, metric="enps", by=None, date_from=start, date_to=end)
        seen.add(tuple(r["n"] for r in rows.rows))
    assert seen == {(), (14,)}


def test_the_api_reports_the_window_the_figures_cover(api_key_for: Any) -> None:
    world = _pulse()
    _answers(world, OCT, 6)
    _roll()
    client = api_key_for(world)
    body = client.get(
        "/api/v1/scores/",
        {"audience": "staff", "metric": "enps", "from": "2026-09-20", "to": "2026-10-05"},
    ).json()
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-10-31")
    assert [r["n"] for r in body["results"]] == [6]
    assert dt.datetime.fromisoformat(body["as_of"]).tzinfo is not None
    # No period starts in the window: the window is the one asked, and nothing is in it.
    empty = client.get(
        "/api/v1/scores/",
        {"audience": "staff", "metric": "enps", "from": "2026-10-02", "to": "2026-10-30"},
    ).json()
    assert (empty["from"], empty["to"], empty["results"]) == ("2026-10-02", "2026-10-30", [])


# --- The open period ---------------------------------------------------------------------------


def test_the_open_period_shows_nothing_until_it_is_published() -> None:
    world = _pulse()
    _answers(world, NOV, 5, segment="sales")  # a released batch
    _answers(world, NOV, 3, segment="ops", released=False)  # waiting for their batch
    _roll()
    # Not its total, not its month, not a slice, not even a withheld group.
    for by in privacy.SCORE_BYS:
        assert _n(world, by) == {}, by
    # Two more wait, then the five are released together: still nothing while it is open.
    _answers(world, NOV, 2, segment="ops", released=False)
    Response.objects.filter(released=False).update(released=True)
    _roll()
    assert _n(world) == {}
    assert privacy.visible_groups(audience=world.audience, metric="enps") == {}
    # Nor the dashboard's index card or comparison of the month with the one before.
    from metrics.dashboard import index_cards

    [card] = index_cards(today=dt.date(2026, 11, 20), audience_ids=[world.audience.pk])
    assert (card["metric"], card.get("row")) == (None, None)  # nothing to head the card
    compared = s.compare_periods(
        audience=world.audience,
        metric="enps",
        date_from=NOV,
        date_to=dt.date(2026, 11, 30),
        filters=s.Filters(),
    )
    assert (compared["current"].n, compared["previous"].n, compared["delta"]) == (0, 0, None)
    # November ends and is published: everything it holds shows at once.
    ReportingPeriod.objects.filter(survey=world.survey, starts_on=NOV).update(
        published_at=dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.UTC)
    )
    assert _n(world) == {None: 10}
    assert _n(world, "month") == {NOV: 10}
    assert _n(world, "segment") == {"ops": 5, "sales": 5}


def test_a_period_under_k_shows_nothing_in_any_view() -> None:
    world = _pulse()
    _answers(world, SEP, 3, segment="sales")
    _roll()
    assert _n(world) == {None: "hidden"}
    assert _n(world, "month") == {SEP: "hidden"}
    assert _n(world, "survey") == {world.survey.pk: "hidden"}
    assert _n(world, "segment") == {"sales": "hidden"}


def test_rows_off_a_period_start_count_nowhere() -> None:
    # Stored before periods existed (or by a bug): on a day that starts no period.
    world = _pulse()
    _answers(world, dt.date(2026, 9, 12), 9, segment="sales")
    _roll()
    assert _n(world) == {}
    assert _n(world, "day") == {}


# --- Person slices -----------------------------------------------------------------------------


def test_person_slices_come_from_published_periods_and_windows_add_whole_periods() -> None:
    world = _pulse()
    for day in (SEP, OCT, NOV):
        _answers(world, day, 6, segment="sales", channel="email")
        _answers(world, day, 7, segment="ops", channel="sms")
    _roll()
    assert _n(world) == {None: 26}  # November is open: in no figure
    assert _n(world, "segment") == {"ops": 14, "sales": 12}
    assert _n(world, "segment", date_from=OCT) == {"ops": 7, "sales": 6}
    assert _n(world, "channel", date_to=dt.date(2026, 9, 30)) == {"email": 6, "sms": 7}
    # The segment filter shows that segment's published cells only.
    assert _n(world, None, segment="ops") == {None: 14}
    assert _n(world, "month", segment="ops") == {SEP: 7, OCT: 7}


def test_one_person_dimension_at_a_time() -> None:
    world = _pulse()
    _answers(world, SEP, 6, segment="sales", channel="email")
    _answers(world, SEP, 7, segment="ops", channel="sms")
    _roll()
    assert _n(world, "channel", segment="sales") == {}
    assert _n(world, "channel") == {"email": 6, "sms": 7}


def test_an_overlap_of_fewer_than_k_between_dimensions_is_hidden() -> None:
    # Segment c (10) answered by SMS (7) but for three by the web. Shown together, "c minus
    # SMS" would be those three: SMS goes (the smaller), and the web with it (a lone hidden
    # sibling), so the hidden channels hold 15.
    world = _pulse()
    _answers(world, SEP, 7, segment="c", channel="sms")
    _answers(world, SEP, 3, segment="c", channel="web")
    _answers(world, SEP, 5, segment="b", channel="web")
    _answers(world, SEP, 22, segment="b", channel="email")
    _roll()
    assert _n(world, "segment") == {"b": 27, "c": 10}
    assert _n(world, "channel") == {"email": 22, "sms": "hidden", "web": "hidden"}
    assert _n(world) == {None: 37}


def test_a_cell_inside_a_hidden_cell_of_another_dimension_is_hidden() -> None:
    # x (5) answered by e-mail, which is hidden (with SMS: 2 answers): no overlap under k, but
    # x shown beside a hidden cell that holds it could be compared, over a window of several
    # periods, with a figure of e-mail that contains it. x goes, y with it, and then the web,
    # which lies inside the hidden y.
    rows = {
        ("x", "email", "en"): 5,
        ("y", "email", "en"): 5,
        ("y", "sms", "en"): 2,
        ("y", "web", "en"): 20,
    }
    assert privacy.shown_values(rows, k=K) == {
        "segment": frozenset(),
        "channel": frozenset(),
        "language": frozenset({"en"}),
    }
    # Without the hidden container (SMS is large enough), everything shows.
    rows[("y", "sms", "en")] = 6
    assert privacy.shown_values(rows, k=K) == {
        "segment": frozenset({"x", "y"}),
        "channel": frozenset({"email", "sms", "web"}),
        "language": frozenset({"en"}),
    }


def test_a_mixed_figure_is_the_exact_named_part_plus_the_guarded_anonymous_part() -> None:
    world = _pulse()
    _answers(world, SEP, 6, segment="sales")
    _answers(world, SEP, 6, segment="ops")
    _answers(world, SEP, 1, segment="legal")
    named = Survey.objects.create(audience=world.audience, name="Named check-in", status="live")
    named.questions.create(key="nps", type="nps", order=1)
    add_responses(world, [{"nps": 10, "segment": "legal", "day": OCT}], survey=named)
    add_responses(world, [{"nps": 0, "segment": "sales", "day": OCT}], survey=named)
    _roll()
    # legal's anonymous answer is hidden (and ops, its smallest sibling); the named ones show.
    assert _n(world, "segment") == {"legal": 1, "ops": "hidden", "sales": 7}
    assert _n(world) == {None: 15}


def test_membership_attributes_slice_named_answers_only() -> None:
    world = _pulse()
    _answers(world, SEP, 6, segment="sales")
    named = Survey.objects.create(audience=world.audience, name="Named check-in", status="live")
    named.questions.create(key="nps", type="nps", order=1)
    [person] = make_people("attr", 1)
    Membership.objects.create(person=person, audience=world.audience, attributes={"site": "HQ"})
    add_responses(world, [{"nps": 9, "person": person, "day": OCT}], survey=named)
    _roll()
    assert _n(world, "attribute:site") == {"HQ": 1}


def test_an_anonymous_surveys_answers_count_at_its_own_touchpoint() -> None:
    world = anonymous_world(
        "staff", threshold=K, touchpoints=(("payroll", "Growth"), ("canteen", "Daily"))
    )
    add_period(world.survey, SEP, dt.date(2026, 9, 30))
    add_period(world.survey, NOV, dt.date(2026, 11, 30), published=False)
    # Stored with the triggering event's touchpoint: rolled up at the survey's.
    _answers(world, SEP, 6, touchpoint="canteen")
    _answers(world, NOV, 5, touchpoint="canteen")
    _roll()
    payroll, canteen = world.touchpoints["payroll"], world.touchpoints["canteen"]
    assert _n(world, "touchpoint") == {payroll.pk: 6}  # September; November is open
    assert _n(world, "stage") == {payroll.stage_id: 6}
    only_canteen = s.scores(
        audience=world.audience, metric="enps", by=None, date_from=None, date_to=None
    )
    assert [r["n"] for r in only_canteen.rows] == [6]
    filtered = s.figures(
        metric="enps",
        by=None,
        filters=s.Filters(audience_id=world.audience.pk, touchpoint_id=canteen.pk),
    )
    assert filtered.shown == {}


# --- The per-block rules, for any answers ------------------------------------------------------

cell_rows = st.dictionaries(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(["email", "sms", "web"]),
        st.sampled_from(["tr", "en"]),
    ),
    st.integers(1, 7),
    max_size=14,
)


def _members(rows: dict, dim: int, values: set) -> int:
    return sum(n for key, n in rows.items() if key[dim] in values)


@settings(max_examples=300, deadline=None)
@given(rows=cell_rows, k=st.sampled_from([3, 5]))
def test_a_published_blocks_shown_cells_keep_every_difference_at_zero_or_k(rows, k) -> None:
    shown = privacy.shown_values(rows, k=k)
    dims = privacy.PERSON_DIMENSIONS
    total = sum(rows.values())
    groups = []  # (dimension, set of values): shown cells and each dimension's hidden rest
    for i, dim in enumerate(dims):
        values = {key[i] for key in rows}
        hidden = values - shown[dim]
        for value in shown[dim]:
            assert _members(rows, i, {value}) >= k
            groups.append((i, {value}))
        if hidden and shown[dim]:
            assert len(hidden) >= 2 and _members(rows, i, hidden) >= k
        if hidden:
            groups.append((i, hidden))
    for (i, xs), (j, ys) in itertools.combinations(groups, 2):
        if i == j:
            continue
        both = sum(n for key, n in rows.items() if key[i] in xs and key[j] in ys)
        for only in (_members(rows, i, xs) - both, _members(rows, j, ys) - both):
            assert not 0 < only < k
    # Containment: no shown cell lies inside a hidden cell of another dimension.
    for i, dim in enumerate(dims):
        for x in shown[dim]:
            size = _members(rows, i, {x})
            for j, other in enumerate(dims):
                for y in {key[j] for key in rows} - shown[other] if j != i else ():
                    inside = sum(n for key, n in rows.items() if key[i] == x and key[j] == y)
                    assert inside < size
    if total < k:
        assert all(not v for v in shown.values())


periods_rows = st.lists(cell_rows, min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(blocks=periods_rows)
def test_figures_summed_over_windows_never_differ_by_fewer_than_k(blocks) -> None:
    """Over any windows (sets of periods) and dimensions, where one figure's group lies inside
    another's, their counts are equal or at least k apart."""
    shown = [privacy.shown_values(rows, k=K) for rows in blocks]
    figures = {}
    members = {}
    windows = [
        w for r in range(1, len(blocks) + 1) for w in itertools.combinations(range(len(blocks)), r)
    ]
    # A published period holds 0 or at least k released answers; a smaller block shows nothing.
    counted = [p for p, rows in enumerate(blocks) if sum(rows.values()) >= K]
    for window in windows:
        total = sum(sum(blocks[p].values()) for p in window if p in counted)
        if total:
            figures[(window, None, None)] = total
            members[(window, None, None)] = {(p, key) for p in window for key in blocks[p]}
        for i, dim in enumerate(privacy.PERSON_DIMENSIONS):
            for value in {key[i] for p in window for key in blocks[p]}:
                n = sum(_members(blocks[p], i, {value}) for p in window if value in shown[p][dim])
                if n:
                    figures[(window, dim, value)] = n
                    members[(window, dim, value)] = {
                        (p, key) for p in window for key in blocks[p] if key[i] == value
                    }
    for a, b in itertools.permutations(figures, 2):
        if members[a] <= members[b]:
            assert not 0 < abs(figures[b] - figures[a]) < K, (a, b)


# --- Comments ----------------------------------------------------------------------------------
