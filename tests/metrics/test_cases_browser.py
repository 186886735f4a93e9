"""A real browser: a manager opens "My open cases" (overdue first) and resolves one."""

import datetime as dt

import pytest

from metrics.models import AlertRule, Case, CaseStatus, RootCause, RuleCondition
from tests.factories import make_user
from tests.metrics.closed_loop_support import open_case
from tests.metrics.conftest import build_world


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_sees_open_cases_overdue_first_and_resolves_one(
    desktop_page, live_server, django_user_model, tmp_path
) -> None:  # noqa: ANN001
    # The audience's owner: its manager without a grant or superuser rights.
    manager = django_user_model.objects.create_user(
        username="xm", email="xm@example.com", password="correct-horse-battery", is_staff=True
    )
    world = build_world()
    world.audience.owner = manager
    world.audience.save()
    rule = AlertRule.objects.create(
        audience=world.audience,
        name="NPS drop",
        condition=RuleCondition.SCORE_DROP,
        question_type="nps",
        notify="digest",
    )
    open_case(rule, title="Checkout NPS fell", due_in=dt.timedelta(days=1))
    overdue = open_case(rule, title="Detractor waiting", due_in=-dt.timedelta(hours=3))
    open_case(rule, title="Not mine", due_in=-dt.timedelta(days=1), assignee=make_user("ali"))
    RootCause.objects.create(name="Late shipping")

    page = desktop_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "xm")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.click("#xm-my-cases")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("th a").inner_text() == "Detractor waiting"
    assert rows.nth(1).locator("th a").inner_text() == "Checkout NPS fell"
    assert rows.nth(0).locator(".xm-overdue").inner_text() == "Overdue"
    assert rows.nth(1).locator(".xm-overdue").count() == 0
    list_shot = tmp_path / "my-open-cases.png"
    page.screenshot(path=str(list_shot), full_page=True)

    rows.nth(0).locator("th a").click()
    page.select_option("#id_status", CaseStatus.RESOLVED)
    page.click("input[name=_save]")
    page.wait_for_selector(".errorlist")
    assert "Choose the root cause before closing the case." in page.inner_text(".errorlist")
    page.select_option("#id_status", CaseStatus.RESOLVED)
    page.select_option("#id_root_cause", label="Late shipping")
    page.fill("#id_notes-0-text", "Called back; refund issued")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    page.goto(f"{live_server.url}/admin/metrics/case/?assigned=me&state=open")
    titles = page.locator("#result_list tbody th a").all_inner_texts()
    assert titles == ["Checkout NPS fell"]
    overdue.refresh_from_db()
    assert overdue.status == CaseStatus.RESOLVED
    assert overdue.root_cause.name == "Late shipping"
    assert overdue.closed_at is not None
    assert list(overdue.notes.values_list("text", flat=True)) == ["Called back; refund issued"]
    assert Case.objects.filter(status=CaseStatus.NEW).count() == 2
    assert list_shot.stat().st_size > 10_000
