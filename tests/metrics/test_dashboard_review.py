"""The audience page as a browser review found it: a trend that fits a phone and names its
points as the data are grouped, the previous period told honestly, "as of" in the admin's
format with its time zone, readable flags and no list number on an empty list."""

import datetime as dt
import re
from pathlib import Path

import django.contrib.admin
import pytest
from django.urls import reverse
from django.utils import translation

from metrics.dashboard import period_label
from metrics.services import rollups_rebuild
from surveys.models import Question, QuestionType, Survey, SurveyStatus
from tests.metrics.conftest import TODAY, add_period, add_responses, anonymous_world, build_world

pytestmark = pytest.mark.django_db

NOW = dt.datetime.combine(TODAY, dt.time(18), tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin "now" so the default 90-day window covers the test data."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)


def _page(client, xm_manager, slug: str = "customers", **query: str):  # noqa: ANN001, ANN202
    client.force_login(xm_manager)
    return client.get(reverse("metrics:audience", args=[slug]), query)


def _roll() -> None:
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=400), date_to=TODAY)


# --- The trend and the heatmap on a phone -------------------------------------------------------


def test_the_trend_scales_to_its_box_and_the_heatmap_scrolls_in_its_own(client, xm_manager) -> None:  # noqa: ANN001
    world = build_world()
    add_responses(world, [{"nps": 9, "touchpoint": "checkout"}] * 3)
    _roll()

    html = _page(client, xm_manager).content.decode()

    assert '<svg id="xm-trend" viewBox="-72 -12 732 268" width="100%"' in html
    assert 'width="700"' not in html
    box = html.index('<div class="xm-scroll" id="xm-heatmap-scroll"')
    assert box < html.index('id="xm-heatmap"') < html.index("</div></div>", box)
    assert "Swipe sideways to see every touchpoint." in html


# --- Trend points named as the data are grouped --------------------------------------------------


def test_period_names_months_quarters_and_other_periods() -> None:
    october = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert period_label(*october) == "Oct 2026"
    with translation.override("tr"):
        assert period_label(*october) == "Eki 2026"
    assert period_label(dt.date(2026, 10, 1), dt.date(2026, 12, 31)) == "Q4 2026"
    assert period_label(dt.date(2026, 9, 28), dt.date(2026, 10, 4)) == "28 Sep – 4 Oct 2026"
    assert period_label(dt.date(2026, 12, 28), dt.date(2027, 1, 3)) == "28 Dec 2026 – 3 Jan 2027"
    # A month cut short by a wave that started within it is no calendar month.
    assert period_label(dt.date(2026, 10, 1), dt.date(2026, 10, 11)) == "1 Oct – 11 Oct 2026"


def test_an_anonymous_trend_is_one_point_per_period_named_in_the_language_shown(
    client, xm_manager
) -> None:  # noqa: ANN001
    world = anonymous_world()
    april, may = dt.date(2026, 4, 1), dt.date(2026, 5, 1)
    add_period(world.survey, april, dt.date(2026, 4, 30))
    add_period(world.survey, may, dt.date(2026, 5, 31))
    for day in (april, may):
        add_responses(world, [{"nps": 9, "day": day}] * 5)
    _roll()
    client.force_login(xm_manager)

    page = client.get(reverse("metrics:audience", args=["staff"]))
    turkish = client.get(reverse("metrics:audience", args=["staff"]), HTTP_ACCEPT_LANGUAGE="tr")

    trend = page.context["trend"]
    assert trend["period"] == "day"
    assert [(r["group"], r["label"], r["n"]) for r in trend["rows"]] == [
        (april, "Apr 2026", 5),
        (may, "May 2026", 5),
    ]
    html = page.content.decode()
    assert "(eNPS, per reporting period)" in html
    assert "<td>Apr 2026</td><td>May 2026</td>" in html
    assert "<td>Nis 2026</td><td>May 2026</td>" in turkish.content.decode()
    # A dot per period (a lone period draws no line), at coordinates no locale rewrites.
    assert html.count('class="xm-dot"') == 2
    assert '<circle cx="640.0" cy="0.0" r="4" class="xm-dot">' in turkish.content.decode()


def test_named_answers_beside_an_anonymous_survey_keep_the_weeks(client, xm_manager) -> None:  # noqa: ANN001
    world = anonymous_world()
    may = dt.date(2026, 5, 1)
    add_period(world.survey, may, dt.date(2026, 5, 31))
    add_responses(world, [{"nps": 9, "day": may}] * 5)
    named = Survey.objects.create(audience=world.audience, name="Desk", status=SurveyStatus.LIVE)
    Question.objects.create(survey=named, key="nps", type=QuestionType.NPS, order=1)
    add_responses(world, [{"nps": 6, "day": dt.date(2026, 6, 10)}] * 2, survey=named)
    _roll()

    trend = _page(client, xm_manager, "staff").context["trend"]

    assert trend["period"] == "week"
    assert [(r["group"], r["label"], r["n"]) for r in trend["rows"]] == [
        (dt.date(2026, 4, 27), "27 Apr 2026", 5),  # the week May's period starts in
        (dt.date(2026, 6, 8), "8 Jun 2026", 2),
    ]


# --- The previous period ------------------------------------------------------------------------


def test_a_previous_period_without_answers_says_so(client, xm_manager) -> None:  # noqa: ANN001
    world = build_world()
    add_responses(world, [{"nps": 9}] * 4)
    _roll()

    page = _page(client, xm_manager)

    assert page.context["comparison"]["previous"].n == 0
    compare = page.content.decode().split('id="xm-compare">', 1)[1].split("</p>", 1)[0]
    assert re.sub(r"\s+", " ", compare).strip() == (
        'Previous period: <span class="xm-quiet">no answers</span>'
    )


def test_one_previous_answer_is_never_a_real_change(client, xm_manager) -> None:  # noqa: ANN001
    world = build_world()
    add_responses(world, [{"nps": 10}] * 12 + [{"nps": 0}] * 8)  # NPS 20 today
    add_responses(world, [{"nps": 8, "day": TODAY - dt.timedelta(days=100)}])  # NPS 0, margin 0
    _roll()

    page = _page(client, xm_manager)

    comparison = page.context["comparison"]
    assert (comparison["previous"].value, comparison["previous"].margin) == (0.0, 0.0)
    assert comparison["delta"] == 20.0
    assert (comparison["significant"], comparison["testable"]) == (False, False)
    html = page.content.decode()
    assert "a real change" not in html
    assert "too few answers shown to tell" in html


def test_a_change_beyond_both_real_margins_is_flagged(client, xm_manager) -> None:  # noqa: ANN001
    world = build_world()
    add_responses(world, [{"nps": 10}] * 30)
    before = TODAY - dt.timedelta(days=100)
    add_responses(world, [{"nps": 0, "day": before}] * 20 + [{"nps": 10, "day": before}] * 5)
    _roll()

    page = _page(client, xm_manager)

    assert (page.context["comparison"]["significant"], page.context["comparison"]["testable"]) == (
        True,
        True,
    )
    assert '<strong class="xm-flag">a real change</strong>' in page.content.decode()


def test_a_side_missing_withheld_anonymous_answers_is_not_compared(client, xm_manager) -> None:  # noqa: ANN001
    world = anonymous_world()
    may, march = dt.date(2026, 5, 1), dt.date(2026, 3, 1)
    add_period(world.survey, may, dt.date(2026, 5, 31))
    add_period(world.survey, march, dt.date(2026, 3, 31))
    add_responses(world, [{"nps": 10, "day": may, "segment": "sales"}] * 30)
    add_responses(world, [{"nps": 0, "day": march, "segment": "sales"}] * 20)
    add_responses(world, [{"nps": 0, "day": march, "segment": "ops"}] * 2)  # hides sales too
    # A named survey's answers of March in sales: the previous side shows those only.
    named = Survey.objects.create(audience=world.audience, name="Desk", status=SurveyStatus.LIVE)
    Question.objects.create(survey=named, key="nps", type=QuestionType.NPS, order=1)
    add_responses(world, [{"nps": 0, "day": march, "segment": "sales"}] * 10, survey=named)
    _roll()

    page = _page(client, xm_manager, "staff", segment="sales")

    comparison = page.context["comparison"]
    assert (comparison["current"].value, comparison["current"].n) == (100.0, 30)
    assert (comparison["previous"].value, comparison["previous"].n) == (-100.0, 10)
    # Both margins are real and far apart, but March's anonymous sales were withheld: the two
    # sides are not the same people, so no change is told.
    assert (comparison["significant"], comparison["testable"]) == (False, False)
    assert "too few answers shown to tell" in page.content.decode()


# --- Readability --------------------------------------------------------------------------------


def _contrast(fg: str, bg: str) -> float:
    def luminance(colour: str) -> float:
        if len(colour) == 4:  # #fff
            colour = "#" + "".join(c * 2 for c in colour[1:])
        parts = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [p / 12.92 if p <= 0.03928 else ((p + 0.055) / 1.055) ** 2.4 for p in parts]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_real_change_flag_reads_on_both_admin_themes() -> None:
    ours = Path("metrics/static/metrics/dashboard.css").read_text()
    admin_css = Path(django.contrib.admin.__file__).parent / "static/admin/css"
    light_bg = re.search(r"--body-bg: (#\w+);", (admin_css / "base.css").read_text())[1]
    dark_theme = (admin_css / "dark_mode.css").read_text().split('html[data-theme="dark"]')[1]
    dark_bg = re.search(r"--body-bg: (#\w+);", dark_theme)[1]
    light_fg = re.search(r'html\[data-theme="light"\] \{ --xm-flag-fg: (#\w{6})', ours)[1]
    dark_fg = re.search(r'html\[data-theme="dark"\] \{ --xm-flag-fg: (#\w{6})', ours)[1]
    auto_dark = re.search(r"prefers-color-scheme: dark\) \{ :root \{ --xm-flag-fg: (#\w{6})", ours)

    assert (light_bg, dark_bg) == ("#fff", "#121212")
    assert ".xm-flag { color: var(--xm-flag-fg); }" in ours
    assert auto_dark is not None and auto_dark[1] == dark_fg
    assert _contrast(light_fg, light_bg) >= 4.5
    assert _contrast(dark_fg, dark_bg) >= 4.5


def test_as_of_is_in_the_admins_format_with_the_time_zone(client, xm_manager, settings) -> None:  # noqa: ANN001
    world = build_world()
    add_responses(world, [{"nps": 9}] * 3)
    _roll()
    client.force_login(xm_manager)
    url = reverse("metrics:audience", args=["customers"])

    english = client.get(url).content.decode()
    turkish = client.get(url, HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    settings.TIME_ZONE = "Europe/Istanbul"
    istanbul = client.get(url).content.decode()

    assert '<p class="xm-note" id="xm-as-of">As of 15 Jun 2026, 18:00 UTC</p>' in english
    assert "15 Haziran 2026 18:00 UTC" in turkish
    assert "As of 15 Jun 2026, 21:00 +03" in istanbul


def test_no_ranked_touchpoint_is_said_in_a_sentence_not_a_numbered_item(client, xm_manager) -> None:  # noqa: ANN001
    world = anonymous_world()
    may = dt.date(2026, 5, 1)
    add_period(world.survey, may, dt.date(2026, 5, 31))
    add_responses(world, [{"nps": 9, "day": may}] * 2)  # under k: no touchpoint shown
    _roll()

    html = _page(client, xm_manager, "staff").content.decode()

    assert (
        '<p class="xm-quiet" id="xm-worst-empty">No touchpoint has enough responses yet.</p>'
        in html
    )
    assert 'id="xm-worst"' not in html
