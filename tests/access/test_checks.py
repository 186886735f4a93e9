"""The system check that keeps every admin of audience data scoped."""

from collections.abc import Iterator

import pytest
from django.contrib import admin

from audiences.checks import admins_are_scoped
from surveys.models import Response


def test_every_admin_of_the_audience_apps_is_scoped():
    assert admins_are_scoped() == []


@pytest.fixture
def plain_response_admin() -> Iterator[None]:
    scoped = admin.site._registry[Response]
    admin.site._registry[Response] = admin.ModelAdmin(Response, admin.site)
    yield
    admin.site._registry[Response] = scoped


@pytest.mark.usefixtures("plain_response_admin")
def test_an_unscoped_admin_is_an_error_that_says_how_to_fix_it():
    [error] = admins_are_scoped()

    assert error.id == "audiences.E001"
    assert error.msg == (
        "ModelAdmin shows surveys.Response to every staff user, whatever their audiences."
    )
    assert "AudienceScopedAdmin" in error.hint
