"""People search: partial, case- and accent-insensitive the Turkish way, scoped, on one index."""

import pytest
from django.db import connection
from django.db.models import Value

from audiences import search
from audiences.models import Person
from audiences.search import people_matching
from tests.search.support import analyst, member, two_audiences
from xmplatform.core.search import FOLD_FROM, Fold, fold

pytestmark = pytest.mark.django_db

PEOPLE = "/admin/audiences/person/"


def found(query: str) -> list[str]:
    return sorted(
        people_matching(Person.objects.all(), query).values_list("external_id", flat=True)
    )


@pytest.fixture
def cast():
    customers, employees = two_audiences()
    member(
        "c-1", customers, name="Barış Yılmaz", email="baris@example.com", phone="+90 532 123 45 67"
    )
    member("c-2", customers, name="İpek Işık", email="ipek.isik@example.com")
    member("c-3", customers, name="John Walker", email="jw@example.org", phone="(0212) 555-0101")
    member("e-1", employees, name="Şule Öztürk", email="sule@corp.example")
    return customers, employees


def test_fold_maps_every_turkish_i_to_plain_i_and_drops_marks():
    assert fold("İIıi") == "iiii"
    assert fold("BARIŞ Çağrı Güneş Öztürk") == "baris cagri gunes ozturk"
    assert fold("Kâzım José Zoë") == "kazim jose zoe"


def test_database_folds_exactly_as_python_does():
    text = FOLD_FROM + " abc İstanbul"
    folded = Person.objects.annotate(f=Fold(Value(text))).values_list("f", flat=True)[:1]
    member("x-1")

    assert list(folded) == [fold(text)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("baris", ["c-1"]),
        ("BARIS", ["c-1"]),
        ("Barış", ["c-1"]),
        ("barış yıl", ["c-1"]),
        ("YILMAZ", ["c-1"]),
        ("yilmaz", ["c-1"]),
        ("ipek", ["c-2"]),
        ("IPEK", ["c-2"]),
        ("İPEK", ["c-2"]),
        ("isik", ["c-2"]),
        ("IŞIK", ["c-2"]),
        ("ışık", ["c-2"]),
        ("sule", ["e-1"]),
        ("ÖZTÜRK", ["e-1"]),
        ("walk", ["c-3"]),
        ("WALKER", ["c-3"]),
    ],
)
def test_names_are_found_in_part_whatever_the_case_and_turkish_letters(cast, query, expected):
    assert found(query) == expected


def test_e_mail_phone_and_external_id_are_found_in_part(cast):
    assert found("example.org") == ["c-3"]
    assert found("@corp") == ["e-1"]
    assert found("0532 123 45 67") == ["c-1"]
    assert found("5321234567") == ["c-1"]
    assert found("123 45") == ["c-1"]
    assert found("0212 555") == ["c-3"]
    assert found("E-1") == ["e-1"]


def test_a_query_too_short_for_trigrams_matches_exact_ids_only(cast):
    member("ab", name="Abdullah")

    assert found("ab") == ["ab"]
    assert found("zz") == []
    assert found("") == ["ab", "c-1", "c-2", "c-3", "e-1"]


def test_the_column_follows_every_change_of_the_person(cast):
    Person.objects.filter(external_id="c-3").update(name="Johnny Çelik")

    assert found("walker") == []
    assert found("celik") == ["c-3"]


def test_people_list_finds_by_name_for_the_xm_team(client, xm_manager, cast):
    client.force_login(xm_manager)

    page = client.get(PEOPLE, {"q": "Walker"})

    assert [p.external_id for p in page.context["cl"].result_list] == ["c-3"]
    person = page.context["cl"].result_list[0]
    assert f'href="/admin/audiences/person/{person.pk}/timeline/"' in page.content.decode()


def test_an_analyst_finds_only_people_of_their_audiences(client, cast):
    customers, _employees = cast
    client.force_login(analyst("cx-analyst", customers))

    assert [
        p.external_id for p in client.get(PEOPLE, {"q": "sule"}).context["cl"].result_list
    ] == []
    assert [p.external_id for p in client.get(PEOPLE, {"q": "e-1"}).context["cl"].result_list] == []
    result = client.get(PEOPLE, {"q": "BARIS"}).context["cl"].result_list
    assert [p.external_id for p in result] == ["c-1"]


def test_search_page_query_count_does_not_grow_with_matches(
    client, xm_manager, cast, django_assert_max_num_queries
):
    client.force_login(xm_manager)
    for n in range(20):
        member(f"w-{n}", name=f"Walker {n}")

    # session, user, the page of people (ids, rows), the bounded count; no query per row
    with django_assert_max_num_queries(8):
        page = client.get(PEOPLE, {"q": "walker"})

    assert len(page.context["cl"].result_list) == 21


def walkers(customers, employees, n: int) -> None:
    """`n` Walkers in each audience, created in turns (the newest people are of both)."""
    for i in range(n):
        member(f"cw-{i}", customers, name=f"Walker {i}")
        member(f"ew-{i}", employees, name=f"Walker {i}")


def test_an_analysts_search_lists_only_their_audiences_people_in_fixed_queries(
    client, cast, django_assert_num_queries
):
    customers, employees = cast
    walkers(customers, employees, 60)
    client.force_login(analyst("cx-analyst", customers))

    # session, user, user and group permissions, the user's audiences, the bounded count
    # (PostgreSQL: in a savepoint under a timeout), the page (PostgreSQL: its ids, its rows)
    with django_assert_num_queries(11 if connection.vendor == "postgresql" else 7):
        page = client.get(PEOPLE, {"q": "walker"})

    cl = page.context["cl"]
    assert [p.external_id for p in cl.result_list] == [f"cw-{i}" for i in range(59, 9, -1)]
    assert cl.result_count == 61  # with c-3, John Walker


def test_an_analysts_search_past_the_count_walks_their_audiences_people_newest_first(
    needs_postgres, monkeypatch, client, cast, django_assert_num_queries
):
    monkeypatch.setattr(search, "SORT_BELOW", 55)  # past a page: the list runs the paginator
    customers, employees = cast
    walkers(customers, employees, 60)
    client.force_login(analyst("cx-analyst", customers))

    # session, user, user and group permissions, the user's audiences, the bounded count in a
    # savepoint under a timeout, the page's ids, its rows
    with django_assert_num_queries(11):
        page = client.get(PEOPLE, {"q": "walker"})

    cl = page.context["cl"]
    assert [p.external_id for p in cl.result_list] == [f"cw-{i}" for i in range(59, 9, -1)]
    assert cl.result_count == 56
    html = page.content.decode()
    assert "more than 55 results" in html
    assert "more than 55 people" in html
    assert "56 results" not in html


def test_a_search_past_the_count_says_more_than_in_turkish(
    needs_postgres, monkeypatch, client, xm_manager, cast
):
    monkeypatch.setattr(search, "SORT_BELOW", 1_000)
    customers, employees = cast
    walkers(customers, employees, 501)
    client.force_login(xm_manager)

    html = client.get(PEOPLE, {"q": "walker"}, headers={"accept-language": "tr"}).content.decode()

    assert "1.000 sonuçtan fazla" in html
    assert "1.000 kişiden fazla" in html
