"""Topics of anonymous surveys, attacked: open periods, small blocks, small topics and their
complements, date windows, the language filter, polling across a period's end, search and the
API. k = 5."""

import datetime as dt
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from audiences.models import AudienceGrant, Role
from metrics.comments import processing, selectors, topics
from metrics.comments.models import Topic
from surveys.models import ReportingPeriod
from tests.metrics.conftest import add_period, add_responses, anonymous_world

pytestmark = pytest.mark.django_db

K = 5
AUG, SEP, OCT, NOV = (dt.date(2026, m, 1) for m in (8, 9, 10, 11))
ENDS = {AUG: dt.date(2026, 8, 31), SEP: dt.date(2026, 9, 30), OCT: dt.date(2026, 10, 31)}


def _comments(world, day, texts, language="tr"):  # noqa: ANN001, ANN202
    add_responses(
        world, [{"nps": 8, "comment": t, "day": day, "language": language} for t in texts]
    )


@pytest.fixture
def staff():  # noqa: ANN201
    """An anonymous pulse: Aug (3 commenters, under k), Sep and Oct published, Nov open."""
    world = anonymous_world(threshold=K)
    for start, end in ENDS.items():
        add_period(world.survey, start, end)
    add_period(world.survey, NOV, dt.date(2026, 11, 30), published=False)
    _comments(world, AUG, ["maaş az"] * 3)
    # Sep: pay 6, manager 6, and "ofis" written by 2 of the pay people.
    _comments(world, SEP, ["maaş düşük ofis soğuk"] * 2 + ["maaşlar düşük"] * 4)
    _comments(world, SEP, ["my manager ignores us"] * 3 + ["the manager is fair"] * 3, "en")
    # Oct: pay 5, manager 5.
    _comments(world, OCT, ["maaşım geç yattı"] * 5 + ["yöneticiler iyi"] * 5)
    # Nov is open: nothing of it may show, whatever it holds.
    _comments(world, NOV, ["maaş rezalet"] * 6)
    processing.comments_process()
    question = world.questions["comment"]
    rules = (("Maaş", "maaş"), ("Yönetici", "yönetici, manager"), ("Ofis", "ofis"))
    for label, keyword in rules:
        topics.topic_rule_save(
            topic=Topic(survey=world.survey, question=question, label=label, keywords=keyword)
        )
    world.survey.audience.refresh_from_db()
    return world


def _report(world, **window):  # noqa: ANN001, ANN003, ANN202
    survey = world.survey
    survey.audience.refresh_from_db()
    return selectors.topic_report(survey=survey, question=world.questions["comment"], **window)


def _figures(report):  # noqa: ANN001, ANN202
    return {r.label: (r.n, r.share) if r.shown else None for r in report.rows}


def test_only_published_blocks_of_k_commenters_count(staff):  # noqa: ANN001
    report = _report(staff)
    assert report.n == 12 + 10  # Sep and Oct; not Aug (3 < k), not Nov (open)
    assert report.blocks == [SEP, OCT]
    figures = _figures(report)
    assert figures["Maaş"] == (11, round(11 / 22, 4))
    assert figures["Yönetici"] == (11, round(11 / 22, 4))


def test_a_topic_under_k_in_a_block_shows_no_n_and_no_share(staff):  # noqa: ANN001
    row = next(r for r in _report(staff).rows if r.label == "Ofis")
    assert not row.shown
    assert (row.n, row.share, row.sentiment, row.score, row.nps_effect, row.trend) == (
        None,
        None,
        None,
        None,
        None,
        [],
    )


def test_a_topic_mentioned_by_all_but_fewer_than_k_is_hidden_too(staff):  # noqa: ANN001
    _comments(staff, dt.date(2026, 7, 1), ["maaş"] * 7 + ["yönetici"] * 1)
    add_period(staff.survey, dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    processing.comments_process()
    figures = _figures(_report(staff, date_from=dt.date(2026, 7, 1), date_to=dt.date(2026, 7, 31)))
    # 7 of 8 mention pay: its complement is one person.
    assert figures["Maaş"] is None and figures["Yönetici"] is None


def test_no_two_nested_windows_differ_by_fewer_than_k_people_on_any_topic(staff):  # noqa: ANN001
    days = [None, *(d + dt.timedelta(days=o) for d in (AUG, SEP, OCT, NOV) for o in (-1, 0, 1))]
    reads = []
    for start, end in itertools.product(days, days):
        if start and end and start > end:
            continue
        report = _report(staff, date_from=start, date_to=end)
        figures = {r.label: r.n for r in report.rows if r.shown}
        reads.append((set(report.blocks), report.n, figures))
    for (blocks_a, n_a, fig_a), (blocks_b, n_b, fig_b) in itertools.permutations(reads, 2):
        if not blocks_a <= blocks_b:
            continue
        assert n_b - n_a == 0 or n_b - n_a >= K
        for label in fig_a.keys() & fig_b.keys():
            assert fig_b[label] - fig_a[label] == 0 or fig_b[label] - fig_a[label] >= K


def test_the_language_filter_shows_nothing_of_an_anonymous_survey(staff):  # noqa: ANN001
    for language in ("tr", "en"):
        report = _report(staff, language=language)
        assert report.n == 0 and report.rows == [] and report.reason


def test_polling_across_a_periods_end_moves_by_the_whole_period(staff):  # noqa: ANN001
    before = _report(staff)
    period = ReportingPeriod.objects.get(survey=staff.survey, starts_on=NOV)
    period.published_at = timezone.now()
    period.save(update_fields=["published_at"])
    after = _report(staff)
    assert before.n == 22 and after.n == 28  # Nov's six commenters, all at once
    assert _figures(before)["Maaş"][0] == 11 and _figures(after)["Maaş"][0] == 17
    # Nov's pay topic holds all six of Nov (complement 0): shown. "Yönetici" has 0 in Nov.
    assert _figures(after)["Yönetici"][0] == 11


def test_search_lists_only_shown_blocks_and_at_least_k_matches_without_day_or_language(staff):  # noqa: ANN001
    report = _report(staff)
    found = selectors.comments_found(report=report, query="maaş")
    assert found.total == 11
    assert {r["text"] for r in found.rows} <= {
        "maaş düşük ofis soğuk",
        "maaşlar düşük",
        "maaşım geç yattı",
    }
    assert all(set(r) == {"text", "sentiment", "topics"} for r in found.rows)
    few = selectors.comments_found(report=report, query="ofis")  # 2 people
    assert few.rows == [] and few.total == 0 and few.reason
    nothing_open = selectors.comments_found(report=report, query="rezalet")  # Nov only
    assert nothing_open.rows == []
    # The order is a keyed shuffle, not the insertion order.
    again = selectors.comments_found(report=report, query="maaş")
    assert [r["text"] for r in again.rows] == [r["text"] for r in found.rows]


def test_top_topics_for_the_weekly_report_follow_the_same_rules(staff, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(timezone, "localdate", lambda: dt.date(2026, 10, 20))
    top = {t["label"]: t["n"] for t in selectors.top_topics(staff.survey.pk, limit=10)}
    # The window holds October only; "Ofis" (two people in September) is never there.
    assert top["Maaş"] == 5 and top["Yönetici"] == 5 and "Ofis" not in top
    assert all(n >= K for n in top.values())
    assert len(selectors.top_topics(staff.survey.pk)) == 3


def test_the_api_withholds_the_figures_of_a_small_topic(staff, api_key_for):  # noqa: ANN001
    client = api_key_for(staff)
    body = client.get("/api/v1/topics/", {"survey": staff.survey.pk, "question": "comment"}).json()
    assert body["n"] == 22
    by_label = {r["label"]: r for r in body["results"]}
    assert by_label["Ofis"] == {
        "topic": by_label["Ofis"]["topic"],
        "label": "Ofis",
        "terms": ["ofis"],
        "suppressed": True,
    }
    assert by_label["Maaş"]["n"] == 11
    lang = client.get(
        "/api/v1/topics/", {"survey": staff.survey.pk, "question": "comment", "language": "en"}
    ).json()
    assert lang["n"] == 0 and lang["results"] == [] and lang["reason"]


def test_the_page_and_its_csv_withhold_small_topics(staff, client, django_user_model):  # noqa: ANN001
    analyst = django_user_model.objects.create_user("hr", password="x", is_staff=True)
    AudienceGrant.objects.create(user=analyst, audience=staff.audience, role=Role.ANALYST)
    client.force_login(analyst)
    url = reverse("metrics:topics", args=[staff.audience.slug])
    page = client.get(url, {"q": "ofis"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "ofis soğuk" not in html  # 2 matches: nothing listed
    assert "rezalet" not in html
    csv_rows = client.get(url, {"format": "csv"}).content.decode().splitlines()
    ofis = next(r for r in csv_rows if ",Ofis," in r)
    assert ofis.endswith(",,,,,,0")


def test_a_word_fewer_than_k_people_wrote_never_reaches_a_topic(staff):  # noqa: ANN001
    words = {w for t in Topic.objects.filter(source="discovered") for w in t.words}
    assert words and "ofis" not in words and "soğuk" not in words  # two people wrote them
    assert "rezalet" not in words  # only in the open period
