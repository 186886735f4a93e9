"""Reads never write: the dashboard pages, `scores()`, `figures()` and the scores API issue no
INSERT, UPDATE or DELETE, named and anonymous surveys alike. The one write a page makes is the
audit row saying an analyst was shown what people wrote; the API key's last-use stamp (once a
minute) belongs to authentication and is taken before the reads are watched."""

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audiences.models import AuditLog, Role
from audiences.services import grant_set
from metrics import selectors as s
from metrics.services import rollups_rebuild
from tests.access.conftest import staff_with_grant
from tests.metrics.conftest import (
    TODAY,
    add_period,
    add_responses,
    anonymous_world,
    build_world,
    nps_specs,
)

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone

    fixed = dt.datetime.combine(TODAY, dt.time(18), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)


@pytest.fixture
def worlds() -> dict[str, Any]:
    """Named customers (some days rolled up, today fresh) and an anonymous pulse whose one
    period is published and whose current one is open."""
    customers = build_world()
    add_responses(
        customers, nps_specs([10, 9, 3, 7, 0, 8], day=TODAY - dt.timedelta(days=3), comment="ok")
    )
    add_responses(customers, nps_specs([6, 10], day=TODAY))
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=10), date_to=TODAY - dt.timedelta(days=1))
    staff = anonymous_world("staff", threshold=3)
    may, june = dt.date(2026, 5, 1), dt.date(2026, 6, 1)
    add_period(staff.survey, may, dt.date(2026, 5, 31))
    add_period(staff.survey, june, dt.date(2026, 6, 30), published=False)
    add_responses(staff, nps_specs([9, 10, 2, 7], day=may, comment="fine"))
    add_responses(staff, nps_specs([1, 2, 3], day=june))
    return {"customers": customers, "staff": staff}


def writes(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if WRITE.match(q["sql"])]


def test_scores_and_figures_write_nothing(worlds) -> None:  # noqa: ANN001
    with CaptureQueriesContext(connection) as captured:
        for world, metric in ((worlds["customers"], "nps"), (worlds["staff"], "enps")):
            for by in (None, "touchpoint", "segment", "month"):
                s.scores(audience=world.audience, metric=metric, by=by)
            s.figures(metric=metric, by="survey", filters=s.Filters(audience_id=world.audience.pk))
            s.compare_periods(
                audience=world.audience,
                metric=metric,
                date_from=TODAY - dt.timedelta(days=29),
                date_to=TODAY,
                filters=s.Filters(),
            )

    assert len(captured.captured_queries) > 0
    assert writes(captured) == []


def test_the_dashboard_pages_write_nothing_for_a_viewer(client, worlds, xm_manager) -> None:  # noqa: ANN001
    viewer = staff_with_grant("viewer", worlds["customers"].audience, Role.VIEWER, xm_manager)
    grant_set(user=viewer, audience=worlds["staff"].audience, role=Role.VIEWER, actor=xm_manager)
    client.force_login(viewer)
    pages = [
        reverse("metrics:index"),
        reverse("metrics:audience", args=["customers"]),
        reverse("metrics:audience", args=["staff"]),
        reverse("metrics:audience", args=["customers"]) + "?period=30&segment=gold",
    ]

    with CaptureQueriesContext(connection) as captured:
        for page in pages:
            assert client.get(page).status_code == 200

    assert writes(captured) == []


def test_the_dashboard_pages_write_only_the_audit_row_for_an_analyst(
    client, worlds, xm_manager
) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    with CaptureQueriesContext(connection) as captured:
        for slug in ("customers", "staff"):
            assert client.get(reverse("metrics:audience", args=[slug])).status_code == 200

    table = AuditLog._meta.db_table
    found = writes(captured)
    # The customers' page shows their comments ("ok"): the analyst's view of them is audited.
    assert len(found) == AuditLog.objects.count() >= 1
    assert {tuple(sql.split("(")[0].split()) for sql in found} == {("INSERT", "INTO", f'"{table}"')}


def test_the_scores_api_writes_nothing(worlds, api_key_for) -> None:  # noqa: ANN001
    customers = api_key_for(worlds["customers"])
    staff = api_key_for(worlds["staff"])
    # A key's first request of the minute stamps its last use (authentication's bookkeeping).
    for client in (customers, staff):
        assert client.get("/api/v1/audiences/").status_code == 200

    with CaptureQueriesContext(connection) as captured:
        for client, slug, metric in ((customers, "customers", "nps"), (staff, "staff", "enps")):
            for by in ("touchpoint", "segment", "month", None):
                query = {"audience": slug, "metric": metric, **({"by": by} if by else {})}
                assert client.get("/api/v1/scores/", query).status_code == 200
        rate = {"audience": "customers", "metric": "response_rate"}
        assert customers.get("/api/v1/scores/", rate).status_code == 200

    assert writes(captured) == []
