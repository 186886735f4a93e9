"""Uploaded CSVs are size-limited on the admin's import page, before anything is written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audiences.models import Membership, Person
from tests.factories import make_audience

pytestmark = pytest.mark.django_db

HEADER = b"external_id,email,name\n"


def csv_file(rows: int) -> SimpleUploadedFile:
    body = HEADER + b"".join(b"c-%d,c%d@example.com,Person %d\n" % (i, i, i) for i in range(rows))
    return SimpleUploadedFile("people.csv", body, content_type="text/csv")


def test_admin_refuses_a_csv_over_the_limit_and_imports_nothing(
    client, xm_manager, settings
) -> None:  # noqa: ANN001
    settings.PEOPLE_CSV_MAX_BYTES = 1024
    audience = make_audience()
    client.force_login(xm_manager)
    upload = csv_file(100)
    assert upload.size > 1024

    page = client.post(
        reverse("admin:audiences_audience_import_people", args=[audience.pk]), {"file": upload}
    )

    assert page.status_code == 400
    assert "The file is larger than 0.0 MB; split it into smaller files." in page.content.decode()
    assert Person.objects.count() == 0
    assert Membership.objects.count() == 0


def test_admin_imports_a_csv_under_the_limit(client, xm_manager, settings) -> None:  # noqa: ANN001
    settings.PEOPLE_CSV_MAX_BYTES = 1024
    audience = make_audience()
    client.force_login(xm_manager)

    page = client.post(
        reverse("admin:audiences_audience_import_people", args=[audience.pk]),
        {"file": csv_file(5)},
    )

    assert page.status_code == 302
    assert Membership.objects.filter(audience=audience).count() == 5
