"""The audiences admin: lists render, and the CSV import view and action work."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audiences.models import Membership, Person
from tests.audiences.conftest import GOOD_ROWS, csv_bytes
from tests.factories import make_audience, make_membership, make_person


@pytest.fixture
def admin_client(client, xm_manager):  # noqa: ANN001, ANN201
    client.force_login(xm_manager)
    return client


def _upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", data, content_type="text/csv")


@pytest.mark.django_db
def test_audience_list_shows_current_member_counts(
    admin_client, customers, django_assert_max_num_queries
):  # noqa: ANN001
    make_audience("employees", kind="employee")
    for i in range(3):
        make_membership(make_person(f"p-{i}"), customers)
    Membership.objects.filter(person__external_id="p-2").update(left_on="2025-01-01")

    response = admin_client.get(reverse("admin:audiences_audience_changelist"))

    assert response.status_code == 200
    rows = {a.slug: a._member_count for a in response.context["cl"].result_list}
    assert rows == {"customers": 2, "employees": 0}


@pytest.mark.django_db
def test_person_list_and_search_render(admin_client, customers):  # noqa: ANN001
    make_person("p-42", email="found@example.com", name="Found Person")
    make_person("p-43", name="Other Person")

    response = admin_client.get(reverse("admin:audiences_person_changelist"), {"q": "p-42"})

    assert response.status_code == 200
    assert [p.external_id for p in response.context["cl"].result_list] == ["p-42"]


@pytest.mark.django_db
def test_person_page_shows_memberships_and_consents(admin_client, customers):  # noqa: ANN001
    person = make_person("p-1")
    make_membership(person, customers, segment="premium")

    response = admin_client.get(reverse("admin:audiences_person_change", args=[person.pk]))

    assert response.status_code == 200
    assert b"premium" in response.content
    assert b"consents-TOTAL_FORMS" in response.content


@pytest.mark.django_db
def test_audience_page_links_to_import(admin_client, customers):  # noqa: ANN001
    response = admin_client.get(reverse("admin:audiences_audience_change", args=[customers.pk]))

    url = reverse("admin:audiences_audience_import_people", args=[customers.pk])
    assert f'href="{url}"'.encode() in response.content


@pytest.mark.django_db
def test_import_view_imports_a_good_file(admin_client, customers):  # noqa: ANN001
    url = reverse("admin:audiences_audience_import_people", args=[customers.pk])

    response = admin_client.post(url, {"file": _upload(csv_bytes(*GOOD_ROWS))}, follow=True)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "3 rows: 3 created, 0 updated, 0 unchanged; memberships: 3 created, 0 updated, 0 unchanged."
    ]
    assert Membership.objects.filter(audience=customers).count() == 3


@pytest.mark.django_db
def test_import_view_shows_line_errors_and_imports_nothing(admin_client, customers):  # noqa: ANN001
    url = reverse("admin:audiences_audience_import_people", args=[customers.pk])
    data = csv_bytes(GOOD_ROWS[0], "c-2,not-an-email,,,,,,,")

    response = admin_client.post(url, {"file": _upload(data)})

    assert response.status_code == 400
    assert response.context["report"].errors == ["line 3: email: Enter a valid e-mail address."]
    assert b"line 3: email: Enter a valid e-mail address." in response.content
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_import_action_needs_exactly_one_audience(admin_client, customers):  # noqa: ANN001
    employees = make_audience("employees", kind="employee")
    url = reverse("admin:audiences_audience_changelist")

    one = admin_client.post(
        url, {"action": "import_people_action", "_selected_action": [customers.pk]}
    )
    two = admin_client.post(
        url,
        {"action": "import_people_action", "_selected_action": [customers.pk, employees.pk]},
        follow=True,
    )

    assert one.status_code == 302
    assert one["Location"] == reverse("admin:audiences_audience_import_people", args=[customers.pk])
    assert [str(m) for m in two.context["messages"]] == [
        "Select exactly one audience to import people into."
    ]


@pytest.mark.django_db
def test_import_view_is_closed_to_non_staff(client, outsider, customers):  # noqa: ANN001
    client.force_login(outsider)
    url = reverse("admin:audiences_audience_import_people", args=[customers.pk])

    response = client.post(url, {"file": _upload(csv_bytes(*GOOD_ROWS))})

    assert response.status_code == 302
    assert Person.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["membership", "consent"])
def test_other_lists_render(admin_client, customers, name):  # noqa: ANN001
    make_membership(make_person("p-1"), customers)
    response = admin_client.get(reverse(f"admin:audiences_{name}_changelist"))
    assert response.status_code == 200
