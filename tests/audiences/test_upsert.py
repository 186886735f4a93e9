"""people_upsert: idempotent on external_id, set-based, exact counts."""

import datetime as dt

import pytest

from audiences.models import Membership, Person
from audiences.services import UpsertResult, people_upsert
from tests.factories import make_audience, make_membership, make_person


def _rows(n: int, **extra) -> list[dict]:  # noqa: ANN003
    return [
        {
            "external_id": f"p-{i}",
            "email": f"p{i}@example.com",
            "name": f"Person {i}",
            "language": "tr",
            "segment": "gold",
            "attributes": {"region": "marmara"},
            "joined_on": dt.date(2025, 1, 2),
            **extra,
        }
        for i in range(n)
    ]


@pytest.mark.django_db
def test_second_upsert_of_same_rows_writes_nothing(customers):  # noqa: ANN001
    first = people_upsert(rows=_rows(4), audience=customers)
    second = people_upsert(rows=_rows(4), audience=customers)

    assert first == UpsertResult(created=4, memberships_created=4)
    assert second == UpsertResult(unchanged=4, memberships_unchanged=4)
    assert Person.objects.count() == 4
    assert Membership.objects.filter(audience=customers, segment="gold").count() == 4


@pytest.mark.django_db
def test_upsert_updates_only_changed_people_and_memberships(customers):  # noqa: ANN001
    people_upsert(rows=_rows(3), audience=customers)
    rows = _rows(3)
    rows[0]["email"] = "new@example.com"
    rows[1]["segment"] = "silver"
    rows[2]["attributes"] = {"plan": "plus"}

    result = people_upsert(rows=rows, audience=customers)

    assert result == UpsertResult(
        updated=1, unchanged=2, memberships_updated=2, memberships_unchanged=1
    )
    assert Person.objects.get(external_id="p-0").email == "new@example.com"
    assert Membership.objects.get(person__external_id="p-1").segment == "silver"
    # Attributes are merged: the stored region stays beside the new plan.
    assert Membership.objects.get(person__external_id="p-2").attributes == {
        "region": "marmara",
        "plan": "plus",
    }


@pytest.mark.django_db
def test_upsert_leaves_absent_fields_alone(customers):  # noqa: ANN001
    make_person("p-0", name="Kept Name", phone="+90 1")

    result = people_upsert(rows=[{"external_id": "p-0", "email": "new@example.com"}])

    person = Person.objects.get(external_id="p-0")
    assert (person.name, person.phone, person.email) == ("Kept Name", "+90 1", "new@example.com")
    assert result == UpsertResult(updated=1)


@pytest.mark.django_db
def test_upsert_into_second_audience_adds_membership_only(customers):  # noqa: ANN001
    employees = make_audience("employees", kind="employee")
    people_upsert(rows=_rows(2), audience=customers)

    result = people_upsert(rows=_rows(2), audience=employees)

    assert result == UpsertResult(unchanged=2, memberships_created=2)
    assert Membership.objects.filter(person__external_id="p-0").count() == 2


@pytest.mark.django_db
def test_upsert_resumes_a_membership_that_had_ended(customers):  # noqa: ANN001
    person = make_person("p-0", email="p0@example.com", name="Person 0", language="tr")
    make_membership(
        person,
        customers,
        segment="gold",
        attributes={"region": "marmara"},
        joined_on=dt.date(2025, 1, 2),
        left_on=dt.date(2025, 6, 1),
    )

    result = people_upsert(rows=_rows(1), audience=customers)

    assert result == UpsertResult(unchanged=1, memberships_updated=1)
    assert Membership.objects.get(person=person).left_on is None


@pytest.mark.django_db
@pytest.mark.parametrize("n", [3, 100])
def test_first_upsert_query_count_does_not_grow_with_rows(
    customers,  # noqa: ANN001
    django_assert_num_queries,  # noqa: ANN001
    n: int,
) -> None:
    # 1 SAVEPOINT (people_upsert is atomic inside the test's transaction)
    # 2 SELECT people WHERE external_id IN (…)
    # 3 INSERT people … RETURNING id
    # 4 SELECT memberships of the audience WHERE person_id IN (…)
    # 5 INSERT memberships
    # 6 RELEASE SAVEPOINT
    # (SQLite caps one INSERT at 999 parameters, about 120 people; 100 stays within one.)
    with django_assert_num_queries(6):
        people_upsert(rows=_rows(n), audience=customers)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [3, 100])
def test_repeat_upsert_query_count_does_not_grow_with_rows(
    customers,  # noqa: ANN001
    django_assert_num_queries,  # noqa: ANN001
    n: int,
) -> None:
    people_upsert(rows=_rows(n), audience=customers)
    changed = _rows(n, name="Renamed", segment="silver")
    # 1 SAVEPOINT
    # 2 SELECT people WHERE external_id IN (…)
    # 3 UPDATE people (one CASE statement for all changed rows)
    # 4 SELECT memberships WHERE person_id IN (…)
    # 5 UPDATE memberships (one CASE statement)
    # 6 RELEASE SAVEPOINT
    with django_assert_num_queries(6):
        people_upsert(rows=changed, audience=customers)
    # Unchanged input: only the two SELECTs inside the savepoint.
    with django_assert_num_queries(4):
        people_upsert(rows=changed, audience=customers)


@pytest.mark.django_db
def test_upsert_works_in_chunks(customers):  # noqa: ANN001
    result = people_upsert(rows=_rows(25), audience=customers, chunk_size=10)
    again = people_upsert(rows=_rows(25), audience=customers, chunk_size=10)

    assert result == UpsertResult(created=25, memberships_created=25)
    assert again == UpsertResult(unchanged=25, memberships_unchanged=25)
