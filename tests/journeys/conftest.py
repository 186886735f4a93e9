"""Fixtures for the journeys tests: a customer and a touchpoint."""

import pytest

from audiences.models import Person
from journeys.models import Touchpoint
from tests.factories import make_audience, make_person, make_touchpoint


@pytest.fixture
def alice(db) -> Person:  # noqa: ANN001
    return make_person("alice")


@pytest.fixture
def checkout(db) -> Touchpoint:  # noqa: ANN001
    return make_touchpoint(make_audience("customers"), slug="checkout", role="purchase")


@pytest.fixture(autouse=True)
def _plain_static(settings) -> None:  # noqa: ANN001
    """Admin pages render without a collectstatic manifest (the production pass has DEBUG off)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
