"""EX ↔ CX: per-unit figures, the correlation and its interval, and the page."""

import csv
import io

import pytest
from django.urls import reverse
from scipy import stats

from audiences.models import Role
from metrics.selectors.units import correlate, ex_cx, fisher_interval, unit_keys
from tests.access.conftest import staff_with_grant
from tests.metrics.conftest import TODAY
from tests.metrics.ex_cx_support import STORES, answer, csat_of, fill, nps_of, pair

pytestmark = pytest.mark.django_db
# The fixtures answer on TODAY (mid-June 2026): the page's window must hold it.
JUNE = {"from": "2026-06-01", "to": "2026-06-30"}


def _read(worlds, unit: str = "store"):  # noqa: ANN001, ANN202
    return ex_cx(
        employees=worlds.staff.audience,
        customers=worlds.clients.audience,
        unit=unit,
        date_from=None,
        date_to=None,
    )


def test_each_store_shows_its_employee_enps_beside_its_customers_nps_and_csat() -> None:
    result = _read(fill())

    assert [row.unit for row in result.rows] == sorted(STORES)
    for row in result.rows:
        staff, nps, csat = STORES[row.unit]
        assert row.employees == nps_of(staff)
        assert row.employees_suppressed is False
        assert row.nps == nps_of(nps)
        assert row.csat == csat_of(csat)
    ankara = result.rows[0]
    assert (ankara.employees.value, ankara.employees.n) == (40.0, 5)
    assert (round(ankara.nps.value, 2), ankara.nps.n) == (50.0, 6)
    assert (ankara.csat.value, ankara.csat.n) == (75.0, 4)


def test_the_correlation_and_its_interval_match_scipy() -> None:
    result = _read(fill())

    x = [nps_of(STORES[s][0]).value for s in sorted(STORES)]
    y = [nps_of(STORES[s][1]).value for s in sorted(STORES)]
    expected = stats.pearsonr(x, y)
    interval = expected.confidence_interval(0.95)
    assert result.correlation is not None
    assert result.correlation.units == 5
    assert result.correlation.r == pytest.approx(expected.statistic, abs=1e-9)
    assert result.correlation.low == pytest.approx(interval.low, abs=1e-9)
    assert result.correlation.high == pytest.approx(interval.high, abs=1e-9)
    assert result.reason is None


@pytest.mark.parametrize("n", [4, 7, 30])
def test_the_fisher_interval_matches_scipy_for_other_sizes(n: int) -> None:
    x = [float(i) for i in range(n)]
    y = [((i * 37) % 11) + i / 2 for i in range(n)]
    expected = stats.pearsonr(x, y)
    low, high = fisher_interval(float(expected.statistic), n)
    assert (low, high) == pytest.approx(tuple(expected.confidence_interval(0.95)), abs=1e-9)


def test_fewer_than_four_units_give_no_correlation_and_say_why() -> None:
    three = dict(list(STORES.items())[:3])
    result = _read(fill(three))

    assert len(result.rows) == 3
    assert result.correlation is None
    assert "at least 4 units" in result.reason
    assert "there are 3" in result.reason


def test_units_of_one_side_only_show_and_stay_out_of_the_correlation() -> None:
    worlds = fill()
    answer(worlds.clients, "c-hq", [10, 9], key="nps", attributes={"store": "online"})
    answer(worlds.staff, "e-hq", [9, 9, 9], key="nps", attributes={"store": "head office"})

    result = _read(worlds)

    rows = {row.unit: row for row in result.rows}
    assert rows["online"].employees.n == 0 and rows["online"].nps.n == 2
    assert rows["head office"].employees.n == 3 and rows["head office"].nps.n == 0
    assert result.correlation.units == 5


def test_a_numeric_attribute_is_a_unit_as_text_and_people_without_it_are_no_unit() -> None:
    worlds = pair()
    answer(worlds.staff, "e-12", [9, 10], key="nps", attributes={"store": 12})
    answer(worlds.clients, "c-12", [6], key="nps", attributes={"store": 12})
    answer(worlds.clients, "c-none", [10, 10], key="nps", attributes={"region": "north"})

    result = _read(worlds)

    assert [(r.unit, r.employees.n, r.nps.n) for r in result.rows] == [("12", 2, 1)]


def test_the_units_offered_are_the_attribute_keys_both_audiences_carry_then_the_segment() -> None:
    worlds = pair()
    answer(worlds.staff, "e", [9], key="nps", attributes={"store": "a", "team": "x"})
    answer(worlds.clients, "c", [9], key="nps", attributes={"store": "a", "region": "n"})
    answer(worlds.clients, "c2", [9], key="nps", attributes={"branch": "b", "bad key!": 1})

    keys = unit_keys(employees=worlds.staff.audience, customers=worlds.clients.audience)

    assert keys == ["store", "segment"]


def test_a_window_counts_named_answers_of_its_days_only() -> None:
    worlds = pair()
    old = TODAY.replace(day=1)
    answer(worlds.staff, "e-old", [0, 0, 0], key="nps", attributes={"store": "a"}, day=old)
    answer(worlds.staff, "e-new", [10, 10], key="nps", attributes={"store": "a"})
    answer(worlds.clients, "c", [9], key="nps", attributes={"store": "a"})

    result = ex_cx(
        employees=worlds.staff.audience,
        customers=worlds.clients.audience,
        unit="store",
        date_from=TODAY,
        date_to=TODAY,
    )

    assert (result.rows[0].employees.value, result.rows[0].employees.n) == (100.0, 2)


def test_no_spread_on_one_side_gives_no_correlation() -> None:
    same = {s: ([10, 10], nps, csat) for s, (_, nps, csat) in STORES.items()}
    result = _read(fill(same))

    assert result.correlation is None
    assert "same score" in result.reason
    assert correlate([])[0] is None


# --- The page --------------------------------------------------------------------------------


def test_the_page_defaults_to_the_first_audiences_and_shared_attribute(
    client, xm_manager, django_assert_max_num_queries
) -> None:  # noqa: ANN001
    fill()
    client.force_login(xm_manager)
    # session, user, audiences seen, 2 key samples, the segment check, 2 scopes (+ their
    # periods), the eNPS read (named + anonymous parts), the NPS and CSAT joins
    with django_assert_max_num_queries(14):
        page = client.get(reverse("metrics:ex_cx"), JUNE)

    assert page.status_code == 200
    assert page.context["unit"] == "store"
    assert page.context["employees"].slug == "staff"
    assert page.context["customers"].slug == "clients"
    html = page.content.decode()
    assert html.count('class="xm-excx-row"') == 5
    assert 'class="xm-chart"' in html and "<circle" in html
    assert "r = " in html
    assert "not a cause" in html


def test_the_page_gives_its_table_as_csv(client, xm_manager) -> None:  # noqa: ANN001
    fill()
    client.force_login(xm_manager)
    response = client.get(reverse("metrics:ex_cx"), {"unit": "store", "format": "csv", **JUNE})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["unit", "enps", "enps_margin", "enps_n"]
    assert rows[1][0] == "ankara" and rows[1][1] == "40.0" and rows[1][3] == "5"
    assert len(rows) == 6


def test_a_formula_like_unit_is_neutralised_in_the_csv(client, xm_manager) -> None:  # noqa: ANN001
    worlds = pair()
    answer(worlds.staff, "e", [9], key="nps", attributes={"store": "=HYPERLINK(1)"})
    answer(worlds.clients, "c", [9], key="nps", attributes={"store": "=HYPERLINK(1)"})
    client.force_login(xm_manager)
    response = client.get(reverse("metrics:ex_cx"), {"format": "csv", **JUNE})

    assert "'=HYPERLINK(1)" in response.content.decode()


def test_a_bad_unit_is_reported_and_the_default_used(client, xm_manager) -> None:  # noqa: ANN001
    fill()
    client.force_login(xm_manager)
    page = client.get(reverse("metrics:ex_cx"), {"unit": "shoe size", "from": "2026-13-01"})

    assert page.status_code == 200
    assert page.context["unit"] == "store"
    assert 'id="xm-excx-errors"' in page.content.decode()


def test_a_viewer_of_one_audience_only_cannot_open_the_other(client, xm_manager) -> None:  # noqa: ANN001
    worlds = fill()
    viewer = staff_with_grant("cx.viewer", worlds.clients.audience, Role.VIEWER, xm_manager)
    client.force_login(viewer)

    assert client.get(reverse("metrics:ex_cx"), {"employees": "staff"}).status_code == 404
    page = client.get(reverse("metrics:ex_cx"))
    assert page.status_code == 200
    assert page.context["result"] is None
    assert 'id="xm-excx-missing"' in page.content.decode()


def test_a_viewer_of_both_audiences_sees_the_page(client, xm_manager) -> None:  # noqa: ANN001
    from audiences.services.access import grant_set

    worlds = fill()
    viewer = staff_with_grant("both.viewer", worlds.clients.audience, Role.VIEWER, xm_manager)
    grant_set(user=viewer, audience=worlds.staff.audience, role=Role.VIEWER, actor=xm_manager)
    client.force_login(viewer)

    page = client.get(reverse("metrics:ex_cx"), JUNE)
    assert page.status_code == 200
    assert len(page.context["result"].rows) == 5


def test_outsiders_get_no_page(client, outsider) -> None:  # noqa: ANN001
    fill()
    client.force_login(outsider)
    assert client.get(reverse("metrics:ex_cx")).status_code in (302, 403)


def test_the_page_and_the_api_only_read(client, xm_manager) -> None:  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from xmplatform.api.services import api_key_create

    worlds = fill()
    client.force_login(xm_manager)
    api = APIClient()
    key = api_key_create(name="k", audiences=[worlds.staff.audience, worlds.clients.audience])[1]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    params = {"employees": "staff", "customers": "clients"}
    # The session's first touch and the key's last use (recorded once a while) may write.
    client.get(reverse("metrics:ex_cx"), JUNE)
    api.get("/api/v1/ex-cx/", params)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("metrics:ex_cx"), JUNE).status_code == 200
        assert client.get(reverse("metrics:ex_cx"), {"format": "csv", **JUNE}).status_code == 200
        assert api.get("/api/v1/ex-cx/", params).status_code == 200
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []


def test_the_attribute_join_gives_what_the_shared_read_gives() -> None:
    from metrics.selectors import Filters, figures, read_scope
    from metrics.selectors.units import attribute_figures
    from tests.metrics.conftest import add_responses

    worlds = fill()
    # Answers without a person (a public link) or without the attribute are no unit.
    add_responses(worlds.clients, [{"nps": 10}, {"csat": 5}])
    answer(worlds.clients, "c-x", [0, 9], key="nps", attributes={"region": "north"})
    for metric in ("nps", "csat"):
        filters = Filters(audience_id=worlds.clients.audience.pk)
        scope = read_scope(filters=filters)
        shared = figures(metric=metric, by="attribute:store", filters=filters, scope=scope)
        joined = attribute_figures(metric=metric, key="store", filters=filters, scope=scope)
        assert joined.shown == shared.shown
        assert set(joined.shown) == {*STORES, None}
