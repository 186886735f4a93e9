"""The weekly report's content: headline scores with n and margin, a change flagged only beyond
the combined margin, anonymous surveys by whole published periods only (an open period or a
small one never shows), overdue cases (titles for analysts only), drivers and topics, and only
the audiences a user may view."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences.models import Role
from metrics.comments import processing
from metrics.comments.models import Topic
from metrics.comments.topics import topic_rule_save
from metrics.drivers.matrix import DriverFilters
from metrics.drivers.models import DriverAnalysis
from metrics.reports import selectors as report_selectors
from metrics.reports.mail import report_message
from metrics.reports.selectors import audience_reports, report_for
from tests.metrics.conftest import add_responses, build_world
from tests.metrics.test_reports_support import (
    LAST_WEEK,
    NOW,
    WEEK,
    customers_with_two_weeks,
    grant,
    overdue_cases,
    staff_user,
    staff_with_anonymous_periods,
)

pytestmark = pytest.mark.django_db


def _text_of(user, reports, language="en"):  # noqa: ANN001, ANN202
    message = report_message(user=user, language=language, reports=reports, week=WEEK)
    return message.body, message.alternatives[0][0]


def test_named_headlines_compare_last_week_with_the_week_before_exactly():
    world = customers_with_two_weeks()

    (report,) = audience_reports(audience_ids=[world.audience.pk], now=NOW).values()

    nps, csat = report.headlines
    assert (nps.metric, nps.survey, nps.current_from, nps.current_to) == (
        "nps",
        None,
        dt.date(2026, 6, 8),
        dt.date(2026, 6, 14),
    )
    assert (nps.previous_from, nps.previous_to) == (dt.date(2026, 6, 1), dt.date(2026, 6, 7))
    assert (nps.current.value, nps.current.n, nps.previous.value, nps.previous.n) == (
        100.0,
        40,
        -100.0,
        40,
    )
    assert nps.delta == 200.0
    assert nps.significant is True
    assert (csat.metric, csat.current.value, csat.current.n) == ("csat", 50.0, 20)
    assert (csat.previous.value, csat.previous.n) == (55.0, 20)
    assert csat.current.margin is not None and csat.current.margin > 20
    # 5 points apart with margins of about ±22 each: noise, not flagged.
    assert csat.significant is False


def test_the_email_shows_n_and_margin_and_flags_only_the_real_change():
    world = customers_with_two_weeks()
    owner = world.audience.owner

    text, html = _text_of(owner, report_for(owner, now=NOW))

    assert "Customers (Customer)" in text
    assert "Last week: 100 (n = 40 · ±0.0)" in text
    assert "The week before: -100 (n = 40 · ±0.0)" in text
    assert "Change: +200.0 — a real rise" in text
    assert "Last week: 50 % (n = 20 · ±21.9)" in text
    assert "Change: -5.0 points — within the margin of error" in text
    assert text.count("a real") == 1
    assert html.count('class="xm-flag"') == 1
    assert "http://127.0.0.1:8000/admin/metrics/customers/" in html


def test_answers_of_this_week_and_older_weeks_are_not_counted():
    world = build_world("customers")
    add_responses(world, [{"nps": 10, "day": WEEK}])  # today, Monday: next week's report
    add_responses(world, [{"nps": 0, "day": WEEK - dt.timedelta(days=15)}])
    add_responses(world, [{"nps": 9, "day": LAST_WEEK}])

    (report,) = audience_reports(audience_ids=[world.audience.pk], now=NOW).values()

    nps = report.headlines[0]
    assert (nps.current.value, nps.current.n, nps.previous.value, nps.previous.n) == (
        100.0,
        1,
        None,
        0,
    )
    assert nps.significant is False


def test_an_anonymous_survey_shows_its_last_two_published_periods_whole_and_nothing_open():
    world = staff_with_anonymous_periods()

    (report,) = audience_reports(audience_ids=[world.audience.pk], now=NOW).values()

    enps, csat = report.headlines
    assert (csat.metric, csat.current.value, csat.current.n) == ("csat", None, 0)
    assert (enps.metric, enps.survey) == ("enps", "staff survey")
    assert (enps.current_from, enps.current_to) == (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    # May: 4 promoters, 1 passive, 1 detractor of 6.
    assert (enps.current.value, enps.current.n) == (50.0, 6)
    # April had 3 answers, under k = 5: withheld, no n, no change told.
    assert (enps.previous.value, enps.previous.n, enps.previous.suppressed) == (None, 0, True)
    assert enps.delta is None and enps.significant is False


def test_an_open_anonymous_period_and_small_groups_never_reach_the_email():
    world = staff_with_anonymous_periods()
    # The attacker's angle: a named survey of the same audience answered in the same weeks,
    # so a read that let anonymous answers in would show them in the weekly figures.
    named = build_world("staff-named")
    named.survey.audience = world.audience
    named.survey.save(update_fields=["audience"])
    named.audience = world.audience
    add_responses(named, [{"nps": 10, "day": LAST_WEEK} for _ in range(2)])
    add_responses(named, [{"nps": 10, "day": dt.date(2026, 6, 1)}])
    owner = world.audience.owner

    reports = report_for(owner, now=NOW)
    text, html = _text_of(owner, reports)

    headlines = {(h.metric, h.survey): h for h in reports[0].headlines}
    # eNPS of the named survey: exactly its own three answers (the 20 open-period ones, all on
    # 1 June inside the week before, are not among them).
    weekly = headlines[("enps", None)]
    assert (weekly.current.n, weekly.previous.n) == (2, 1)
    assert headlines[("enps", "staff survey")].current.n == 6
    for body in (text, html):
        assert "n = 20" not in body and "n = 21" not in body and "n = 3)" not in body
        assert "30 Jun 2026" not in body  # the open period's end
        assert "1 Apr 2026" in body  # the withheld April period is named, without figures
        assert "not enough responses" in body


def test_an_anonymous_survey_with_no_recent_published_period_is_left_out():
    world = staff_with_anonymous_periods()

    (report,) = audience_reports(
        audience_ids=[world.audience.pk], now=NOW + dt.timedelta(days=120)
    ).values()

    assert report.headlines == []


def test_overdue_cases_count_for_viewers_and_titles_for_analysts_only():
    world = customers_with_two_weeks()
    overdue_cases(world)
    analyst, viewer = staff_user("analyst"), staff_user("viewer")
    grant(analyst, world.audience, Role.ANALYST)
    grant(viewer, world.audience, Role.VIEWER)
    reports = audience_reports(audience_ids=[world.audience.pk], now=NOW)

    (for_analyst,) = report_for(analyst, reports=reports)
    (for_viewer,) = report_for(viewer, reports=reports)

    assert for_analyst.overdue == for_viewer.overdue == 2
    assert [c["title"] for c in for_analyst.overdue_cases] == [
        "Late delivery complaint",
        "Refund not received",
    ]
    assert for_analyst.overdue_cases[0]["url"].startswith(
        "http://127.0.0.1:8000/admin/metrics/case/"
    )
    assert for_viewer.overdue_cases == []
    text, _html = _text_of(viewer, [for_viewer])
    assert "2 overdue cases" in text and "Late delivery" not in text
    text, html = _text_of(analyst, [for_analyst])
    assert "Late delivery complaint" in text and "Not yet due" not in text
    assert 'href="http://127.0.0.1:8000/admin/metrics/case/' in html


def test_a_user_never_gets_an_audience_they_have_no_grant_for():
    customers = customers_with_two_weeks()
    staff = staff_with_anonymous_periods()
    viewer = staff_user("viewer")
    grant(viewer, customers.audience, Role.VIEWER)
    outsider = staff_user("outsider")

    mine = report_for(viewer, now=NOW)

    assert [r.name for r in mine] == ["Customers"]
    assert report_for(outsider, now=NOW) == []
    assert [r.name for r in report_for(staff.audience.owner, now=NOW)] == ["Staff"]
    text, html = _text_of(viewer, mine)
    assert "Staff" not in text and "staff survey" not in html


def test_drivers_and_topics_show_their_labels_and_figures(monkeypatch):
    world = customers_with_two_weeks()
    asked = []

    def drivers(survey_id, outcome, limit):  # noqa: ANN001, ANN202
        asked.append(("drivers", survey_id, outcome, limit))
        if outcome != "nps":
            return []
        return [
            {"driver": "delivery", "label": "Delivery speed", "importance": 0.52},
            {"driver": "price", "label": "Price", "importance": 0.31},
        ]

    def topics(survey_id, limit):  # noqa: ANN001, ANN202
        asked.append(("topics", survey_id, limit))
        return [{"topic": 1, "label": "late / cargo / wait", "share": 0.4, "sentiment": -0.5}]

    monkeypatch.setattr(report_selectors, "top_drivers", drivers)
    monkeypatch.setattr(report_selectors, "top_topics", topics)

    (report,) = report_for(world.audience.owner, now=NOW)
    text, html = _text_of(world.audience.owner, [report])

    survey = world.survey.pk
    # Drivers once per language (their labels are translated), topics once per survey.
    assert asked == [
        ("drivers", survey, "nps", 3),
        ("drivers", survey, "nps", 3),
        ("topics", survey, 3),
        ("drivers", survey, "csat", 3),
        ("drivers", survey, "csat", 3),
    ]
    assert "Top drivers of NPS · customers survey" in text
    assert "1. Delivery speed (52 % of what explains the score)" in text
    assert "1. late / cargo / wait (40 % of comments · sentiment -0.50)" in text
    assert "Price" in html


def test_the_report_reads_in_a_fixed_number_of_queries(django_assert_max_num_queries, monkeypatch):
    # Drivers and topics are their owners' cached reads (one or a few per survey); these are
    # the report's own, whatever the number of answers.
    monkeypatch.setattr(report_selectors, "top_drivers", lambda *args: [])
    monkeypatch.setattr(report_selectors, "top_topics", lambda *args: [])
    customers = customers_with_two_weeks()
    staff = staff_with_anonymous_periods()
    overdue_cases(customers)
    ids = [customers.audience.pk, staff.audience.pk]

    # audiences, questions, surveys (+ watermark), periods, named rollups/answers (up to 2),
    # anonymous rollups/answers (up to 2), overdue counts, oldest overdue.
    with django_assert_max_num_queries(10):
        reports = audience_reports(audience_ids=ids, now=NOW)

    assert len(reports) == 2


def test_cached_drivers_show_in_the_readers_language():
    world = customers_with_two_weeks()
    DriverAnalysis.objects.create(
        survey=world.survey,
        outcome="nps",
        filters_key=DriverFilters().key,
        filters=DriverFilters().canonical(),
        n=80,
        r2=0.41,
        results=[
            {
                "driver": "csat",
                "labels": {"en": "Satisfaction", "tr": "Memnuniyet"},
                "importance": 0.7,
                "low": 0.6,
                "high": 0.8,
                "performance": 3.1,
            },
            {
                "driver": "touchpoint:delivery",
                "labels": {"en": "Delivery", "tr": "Teslimat"},
                "importance": 0.3,
                "low": 0.2,
                "high": 0.4,
                "performance": 0.5,
            },
        ],
        computed_at=timezone.now(),
        requested_at=timezone.now(),
    )
    owner = world.audience.owner
    reports = audience_reports(audience_ids=[world.audience.pk], now=NOW)

    (turkish,) = report_for(owner, language="tr", reports=reports)
    (english,) = report_for(owner, language="en", reports=reports)

    assert turkish.drivers == [
        {
            "survey": "customers survey",
            "outcome": "NPS",
            "results": [
                {"label": "Memnuniyet", "importance": 70.0},
                {"label": "Teslimat", "importance": 30.0},
            ],
        }
    ]
    assert [r["label"] for r in english.drivers[0]["results"]] == ["Satisfaction", "Delivery"]
    text, _html = _text_of(owner, [turkish], language="tr")
    assert "1. Memnuniyet (skoru açıklayanın %70 kadarı)" in text


def test_reading_the_report_writes_nothing():
    customers = customers_with_two_weeks()
    staff = staff_with_anonymous_periods()
    overdue_cases(customers)
    viewer = staff_user("viewer")
    grant(viewer, customers.audience, Role.ANALYST)
    grant(viewer, staff.audience, Role.VIEWER)

    with CaptureQueriesContext(connection) as queries:
        reports = report_for(viewer, now=NOW)
        _text_of(viewer, reports)

    writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.I)]
    assert writes == []


def test_polling_previews_while_an_anonymous_period_is_open_shows_no_change():
    world = staff_with_anonymous_periods()
    owner = world.audience.owner
    before = _text_of(owner, report_for(owner, now=NOW))

    # One more employee answers in the open June period (released, as after a batch of k).
    add_responses(world, [{"nps": 0, "day": dt.date(2026, 6, 1)}])
    after = _text_of(owner, report_for(owner, now=NOW + dt.timedelta(minutes=1)))

    assert before == after


def test_top_topics_of_a_named_survey_come_from_metrics_comments(monkeypatch):
    world = build_world("customers")
    add_responses(
        world,
        [{"nps": 3, "comment": "kargo çok geç geldi", "day": LAST_WEEK} for _ in range(6)]
        + [{"nps": 9, "comment": "fiyat uygun", "day": LAST_WEEK} for _ in range(2)],
    )
    monkeypatch.setattr(timezone, "now", lambda: NOW)  # top_topics reads the last 30 days
    processing.comments_process()
    topic_rule_save(
        topic=Topic(
            survey=world.survey,
            question=world.questions["comment"],
            label="Kargo",
            keywords="kargo",
        )
    )
    owner = world.audience.owner

    (report,) = report_for(owner, now=NOW)
    text, html = _text_of(owner, [report])

    (block,) = report.topics
    assert block["survey"] == "customers survey"
    assert block["results"][0]["label"] == "Kargo"
    assert block["results"][0]["share"] == 75.0
    assert "1. Kargo (75 % of comments" in text
    assert "kargo çok geç geldi" not in text and "kargo çok geç geldi" not in html


def test_two_renderings_a_second_apart_are_identical(monkeypatch):  # noqa: ANN001
    import time

    world = staff_with_anonymous_periods()
    owner = world.audience.owner
    first = _text_of(owner, report_for(owner, now=NOW))
    later = time.time() + 2
    monkeypatch.setattr(time, "time", lambda: later)

    # The unsubscribe link carries no timestamp: polling cannot tell renderings apart by it.
    assert _text_of(owner, report_for(owner, now=NOW)) == first
