"""The audience page for a CSAT survey in a real browser, in Turkish and English, on a phone and
a desktop: it opens on CSAT with the trend's margin band, the picker switches the metric, the
heatmap shows its colour band legend, charts export as CSV and PNG, and the page never scrolls
sideways. Screenshots go to $SCREENSHOT_DIR as audience-<metric>-<lang>-<device>.png."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from metrics.services import rollups_rebuild
from surveys.models import Question, QuestionType, Survey, SurveyStatus
from tests.metrics.conftest import add_responses, build_world
from tests.support.browser import DEVICES, LOCALES, VIEWS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct-horse-battery"


def _shop() -> Survey:
    """Customers over four touchpoints in three stages; a checkout CSAT survey answered each
    week for twelve weeks, with a 1–7 effort question."""
    world = build_world(
        "shop",
        touchpoints=(
            ("checkout", "Purchase"),
            ("payment", "Purchase"),
            ("delivery", "Delivery"),
            ("support", "Support"),
        ),
    )
    survey = Survey.objects.create(
        audience=world.audience, name="Checkout satisfaction (CSAT)", status=SurveyStatus.LIVE
    )
    Question.objects.create(survey=survey, key="csat", type=QuestionType.CSAT, order=1)
    Question.objects.create(survey=survey, key="ces", type=QuestionType.CES, order=2, scale_max=7)
    today = timezone.now().date()
    specs = []
    for week in range(12):
        for j in range(9):
            specs.append(
                {
                    "csat": 1 + (week + j * 2) % 5 if j % 4 else 5,
                    "ces": 1 + (week + j) % 7,
                    "touchpoint": ["checkout", "payment", "delivery", "support"][j % 4],
                    "day": today - dt.timedelta(days=7 * week + j % 5),
                }
            )
    add_responses(world, specs, survey=survey)
    add_responses(
        world,
        [{"nps": k % 11, "csat": 1 + k % 5, "touchpoint": "delivery"} for k in range(20)],
    )
    rollups_rebuild(date_from=today - dt.timedelta(days=120), date_to=today)
    return survey


def test_audience_page_for_a_csat_survey(chromium, live_server, django_user_model, shots) -> None:  # noqa: ANN001
    django_user_model.objects.create_superuser(username="xm", email="xm@x.test", password=PASSWORD)
    survey = _shop()
    for lang, device in VIEWS:
        _look(chromium, live_server, shots, survey, lang, device)


def _look(chromium, live_server, shots, survey: Survey, lang: str, device: str) -> None:  # noqa: ANN001
    context = chromium.new_context(locale=LOCALES[lang], accept_downloads=True, **DEVICES[device])
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "favicon" not in (m.location or {}).get("url", "")
            else None
        ),
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/metrics/shop/?survey={survey.pk}")
    page.fill("#id_username", "xm")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#xm-trend")
    assert page.locator("#xm-metric").input_value() == "csat"
    assert page.locator("#xm-trend polygon.xm-band").count() >= 1
    assert page.locator("#xm-trend polygon.xm-band").first.is_visible()
    assert page.locator("#xm-trend-y").text_content().startswith("CSAT")
    assert page.locator("#xm-heatmap-legend li").count() == 6
    assert page.locator("#xm-heatmap td.xm-stage-total").count() == 3
    # charts.js added an Export PNG button to each chart (the CSV links are the page's own).
    assert page.locator("#xm-trend-figure .xm-chart-button").count() == 1
    assert (
        page.evaluate("document.documentElement.scrollWidth")
        <= DEVICES[device]["viewport"]["width"]
    )
    page.screenshot(path=str(shots / f"audience-csat-{lang}-{device}.png"), full_page=True)
    for part in ("trend", "heatmap"):
        page.locator(f"#xm-{part}-figure").screenshot(
            path=str(shots / f"audience-csat-{part}-{lang}-{device}.png")
        )
    with page.expect_download() as png:
        page.locator("#xm-trend-figure .xm-chart-button").click()
    assert png.value.suggested_filename == "shop-trend-csat.png"
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as table:
        page.locator("#xm-heatmap-figure .xm-chart-button").click()
    assert Path(table.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The picker switches to the survey's 1–7 effort score.
    page.select_option("#xm-metric", "ces")
    page.locator(".xm-filters button[type=submit]").click()
    page.wait_for_selector("#xm-trend")
    assert page.locator("#xm-metric").input_value() == "ces"
    assert "1–7" in page.locator("#xm-headline h2").inner_text()
    assert (
        page.evaluate("document.documentElement.scrollWidth")
        <= DEVICES[device]["viewport"]["width"]
    )
    page.screenshot(path=str(shots / f"audience-ces-{lang}-{device}.png"), full_page=True)
    page.screenshot(path=str(shots / f"audience-ces-top-{lang}-{device}.png"))
    assert not errors, errors
    context.close()
