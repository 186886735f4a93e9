"""EX ↔ CX keeps the employees' anonymity: whole published periods, units of at least k, no
unit whose absence reveals a smaller one, whatever the window or the unit chosen."""

import datetime as dt
import itertools

import pytest

from audiences.models import Membership
from metrics.selectors.units import ex_cx
from tests.metrics.conftest import add_period, add_responses, anonymous_world, build_world
from tests.metrics.ex_cx_support import Pair

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)  # a published quarter-like period: 2 March – 29 March
END = dt.date(2026, 3, 29)
NEXT = dt.date(2026, 4, 6)  # a second period, published
LATER = dt.date(2026, 5, 4)  # a third, still open


def _pulse(worlds: Pair, sizes: dict[str, list[int]], *, day: dt.date = START) -> None:
    """Anonymous eNPS answers per segment (the employee's store), on the period's first day."""
    for segment, values in sizes.items():
        add_responses(worlds.staff, [{"nps": v, "segment": segment, "day": day} for v in values])


@pytest.fixture
def worlds() -> Pair:
    """Employees with an anonymous pulse (k = 5); customers answering by the same segments."""
    staff = anonymous_world("staff", threshold=5)
    clients = build_world("clients", touchpoints=())
    add_period(staff.survey, START, END)
    add_period(staff.survey, NEXT, NEXT + dt.timedelta(days=27))
    add_period(staff.survey, LATER, LATER + dt.timedelta(days=27), published=False)
    for segment, values in {
        "ankara": [10, 9, 6],
        "bursa": [9, 9, 8, 2],
        "izmir": [10, 10, 7],
        "konya": [3, 5, 9, 10],
        "samsun": [8, 8, 9],
    }.items():
        add_responses(
            clients,
            [{"nps": v, "segment": segment, "day": START + dt.timedelta(days=3)} for v in values],
        )
    return Pair(staff=staff, clients=clients)


def _rows(worlds: Pair, unit: str = "segment", date_from=None, date_to=None) -> dict:  # noqa: ANN001
    result = ex_cx(
        employees=worlds.staff.audience,
        customers=worlds.clients.audience,
        unit=unit,
        date_from=date_from,
        date_to=date_to,
    )
    return {row.unit: row for row in result.rows}


def test_a_unit_under_k_and_the_smallest_unit_beside_it_are_suppressed(worlds: Pair) -> None:
    _pulse(worlds, {"ankara": [10] * 6, "bursa": [9] * 7, "izmir": [0, 0]})

    rows = _rows(worlds)

    assert rows["izmir"].employees_suppressed  # 2 < k
    # Showing ankara would let "everyone minus bursa minus ankara" reveal izmir's two.
    assert rows["ankara"].employees_suppressed
    assert rows["ankara"].employees.n == 0 and rows["ankara"].employees.value is None
    assert not rows["bursa"].employees_suppressed and rows["bursa"].employees.n == 7
    # Customers are named: exact whatever the employees show.
    assert rows["ankara"].nps.n == 3


def test_suppressed_units_stay_out_of_the_correlation(worlds: Pair) -> None:
    _pulse(
        worlds,
        {
            "ankara": [10, 9, 9, 9, 8],
            "bursa": [6, 7, 8, 9, 9, 5],
            "izmir": [10, 10, 9, 9, 9],
            "konya": [2, 3, 9, 9, 8, 7],
            "samsun": [9, 9, 3],
            "trabzon": [7, 8],
        },
    )

    result = ex_cx(
        employees=worlds.staff.audience,
        customers=worlds.clients.audience,
        unit="segment",
        date_from=None,
        date_to=None,
    )

    shown = [r.unit for r in result.rows if not r.employees_suppressed and r.employees.n]
    assert shown == ["ankara", "bursa", "izmir", "konya"]
    assert result.correlation is not None and result.correlation.units == 4


def test_an_open_period_shows_nothing_of_the_employees(worlds: Pair) -> None:
    _pulse(worlds, {"ankara": [10] * 6, "bursa": [9] * 7}, day=LATER)

    rows = _rows(worlds)

    assert all(row.employees.n == 0 and not row.employees_suppressed for row in rows.values())


def test_no_two_windows_differ_by_fewer_than_k_employee_answers_in_any_unit(worlds: Pair) -> None:
    _pulse(worlds, {"ankara": [10] * 6, "bursa": [9] * 7, "izmir": [0, 0], "konya": [5] * 8})
    _pulse(worlds, {"ankara": [3] * 5, "bursa": [9] * 4, "konya": [10] * 6}, day=NEXT)
    _pulse(worlds, {"ankara": [1] * 9, "bursa": [2] * 9}, day=LATER)
    days = [START - dt.timedelta(days=2) + dt.timedelta(days=i) for i in range(0, 80, 5)]
    windows = [(days[0] - dt.timedelta(days=1), days[-1] + dt.timedelta(days=1))]
    windows += list(itertools.combinations(days, 2))
    read = {}
    for date_from, date_to in windows:
        for unit, row in _rows(worlds, "segment", date_from, date_to).items():
            n = 0 if row.employees_suppressed else row.employees.n
            assert n == 0 or n >= 5
            read[(date_from, date_to, unit)] = n
    seen: dict[str, set[int]] = {}
    for (a, b, unit), n in read.items():
        seen.setdefault(unit, set()).add(n)
        # Every narrower window inside this one: the difference is none or at least k.
        for c, d in windows:
            if a <= c and d <= b:
                assert read.get((c, d, unit), 0) == n or n - read.get((c, d, unit), 0) >= 5
    assert seen["izmir"] == {0}
    # March: ankara hidden with izmir; April: bursa (4) hidden, ankara with it (complement).
    assert seen["ankara"] == {0}
    assert seen["bursa"] == {0, 7}
    assert seen["konya"] == {0, 6, 8, 14}


def test_an_attribute_unit_cannot_split_anonymous_answers_and_says_so(worlds: Pair) -> None:
    people = [
        Membership(person=p, audience=worlds.staff.audience, attributes={"store": "ankara"})
        for p in _people("e", 6)
    ]
    Membership.objects.bulk_create(people)
    for p in _people("c", 1):
        Membership.objects.create(
            person=p, audience=worlds.clients.audience, attributes={"store": "ankara"}
        )
        add_responses(worlds.clients, [{"nps": 9, "person": p, "day": START}])
    _pulse(worlds, {"ankara": [10] * 6})

    result = ex_cx(
        employees=worlds.staff.audience,
        customers=worlds.clients.audience,
        unit="store",
        date_from=None,
        date_to=None,
    )

    assert [(r.unit, r.employees.n, r.employees_suppressed) for r in result.rows] == [
        ("ankara", 0, False)
    ]
    assert result.anonymous_left_out == ["staff survey"]


def test_named_employee_answers_split_by_attribute_beside_anonymous_ones_left_out(
    worlds: Pair,
) -> None:
    from surveys.models import Question, Survey, SurveyStatus

    named = Survey.objects.create(
        audience=worlds.staff.audience, name="named pulse", status=SurveyStatus.LIVE
    )
    Question.objects.create(survey=named, key="nps", type="nps", order=1)
    staff = _people("e", 2)
    for p in staff:
        Membership.objects.create(
            person=p, audience=worlds.staff.audience, attributes={"store": "konya"}
        )
    client = _people("c", 1)[0]
    Membership.objects.create(
        person=client, audience=worlds.clients.audience, attributes={"store": "konya"}
    )
    add_responses(
        worlds.staff, [{"nps": 10, "person": p, "day": START} for p in staff], survey=named
    )
    add_responses(worlds.clients, [{"nps": 0, "person": client, "day": START}])
    _pulse(worlds, {"konya": [0] * 6})

    rows = _rows(worlds, "store")

    # Named answers are exact (two people, no threshold); the anonymous six are not in it.
    assert (rows["konya"].employees.value, rows["konya"].employees.n) == (100.0, 2)


def _people(prefix: str, count: int):  # noqa: ANN202
    from tests.metrics.conftest import make_people

    return make_people(f"{prefix}-{count}-{Membership.objects.count()}", count)


def test_an_attribute_every_employees_segment_equals_splits_anonymous_answers_by_segment(
    worlds: Pair,
) -> None:
    for store in ("ankara", "bursa", "izmir"):
        Membership.objects.bulk_create(
            [
                Membership(
                    person=p,
                    audience=worlds.staff.audience,
                    segment=store,
                    attributes={"store": store, "team": "sales"},
                )
                for p in _people(f"e-{store}", 3)
            ]
        )
    for p in _people("c", 3):
        store = ("ankara", "bursa", "izmir")[p.pk % 3]
        Membership.objects.create(
            person=p, audience=worlds.clients.audience, attributes={"store": store}
        )
        add_responses(worlds.clients, [{"nps": 9, "person": p, "day": START}])
    _pulse(worlds, {"ankara": [10] * 6, "bursa": [9] * 7, "izmir": [0, 0]})

    result = ex_cx(
        employees=worlds.staff.audience,
        customers=worlds.clients.audience,
        unit="store",
        date_from=None,
        date_to=None,
    )

    rows = {r.unit: r for r in result.rows}
    assert result.employees_by_segment and result.anonymous_left_out == []
    assert rows["bursa"].employees.n == 7
    assert rows["ankara"].employees_suppressed and rows["izmir"].employees_suppressed
    # One employee whose segment is not their store: the segment no longer stands for it.
    first = Membership.objects.filter(audience=worlds.staff.audience).order_by("pk").first()
    Membership.objects.filter(pk=first.pk).update(segment="hq")
    again = ex_cx(
        employees=worlds.staff.audience,
        customers=worlds.clients.audience,
        unit="store",
        date_from=None,
        date_to=None,
    )
    assert not again.employees_by_segment
    assert again.anonymous_left_out == ["staff survey"]
