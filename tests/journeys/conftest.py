"""Fixtures for the journeys tests: a customer, a touchpoint, and a listener recorder."""

from collections.abc import Iterator

import pytest

from audiences.models import Person
from journeys.hooks import register_event_listener, unregister_event_listener
from journeys.models import Touchpoint
from tests.factories import make_audience, make_person, make_touchpoint


@pytest.fixture
def alice(db) -> Person:  # noqa: ANN001
    return make_person("alice")


@pytest.fixture
def checkout(db) -> Touchpoint:  # noqa: ANN001
    return make_touchpoint(make_audience("customers"), slug="checkout", role="purchase")


@pytest.fixture
def heard() -> Iterator[list[list[int]]]:
    """The event id lists a registered listener received, in order."""
    calls: list[list[int]] = []

    def listener(event_ids: list[int]) -> None:
        calls.append(event_ids)

    register_event_listener(listener)
    yield calls
    unregister_event_listener(listener)


@pytest.fixture(autouse=True)
def _plain_static(settings) -> None:  # noqa: ANN001
    """Admin pages render without a collectstatic manifest (the production pass has DEBUG off)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
