"""Fixtures for the audiences tests: one customer audience and a CSV builder."""

import pytest

from audiences.models import Audience
from tests.factories import make_audience

HEADER = "external_id,email,phone,name,language,time_zone,segment,joined_on,attr:plan\n"


@pytest.fixture
def customers(db) -> Audience:  # noqa: ANN001
    return make_audience("customers")


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    """A UTF-8 CSV file: the header line, then `lines` (one row each)."""
    return (header + "".join(f"{line}\n" for line in lines)).encode("utf-8")


GOOD_ROWS = (
    "c-1,ayse@example.com,+90 532 000 0001,Ayşe Yılmaz,tr,Europe/Istanbul,premium,2024-05-01,gold",
    "c-2,john@example.com,,John Smith,en,Europe/London,basic,2025-01-15,",
    "c-3,,,Elif Kaya,tr,,plus,,silver",
)


@pytest.fixture(autouse=True)
def _plain_static(settings) -> None:  # noqa: ANN001
    """Admin pages render without a collectstatic manifest (the production pass has DEBUG off)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
