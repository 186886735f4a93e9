"""What a scoped reader gets of anonymous surveys on pages: comments need k people and come
shuffled without their day; pages and the scores API only read; the dashboard shows whole
published periods in bounded queries. The staff pulse world is test_privacy_reads'.
"""

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics import privacy
from metrics import selectors as s
from surveys.models import ReportingPeriod
from tests.metrics.conftest import (
    World,
    add_responses,
    build_world,
    make_people,
)
from tests.metrics.test_privacy_reads import K, _answers, _n, _pulse, _roll  # noqa: F401

pytestmark = pytest.mark.django_db

SEP, OCT, NOV = dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)


@pytest.fixture
def analyst_client(client, xm_manager):  # noqa: ANN001, ANN201
    client.force_login(xm_manager)
    return client


def _comments(world: World, day: dt.date, texts: list[str], **spec: Any) -> None:
    add_responses(world, [{"nps": 8, "comment": t, "day": day, **spec} for t in texts])


def test_comments_of_an_anonymous_period_need_k_and_come_shuffled_without_day(
    analyst_client,
) -> None:
    world = _pulse()
    texts = [f"note {i}" for i in range(7)]
    _comments(world, SEP, texts, segment="sales")
    _comments(world, OCT, ["october one", "october two"], segment="sales")  # under k
    _comments(world, NOV, [f"open {i}" for i in range(6)], segment="sales")  # not published
    _roll()
    page = analyst_client.get(reverse("metrics:audience", args=["staff"]), {"period": "all"})
    shown = page.context["anonymous_verbatims"]
    assert sorted(v["text"] for v in shown) == texts
    assert [v["text"] for v in shown] != texts and [v["text"] for v in shown] != texts[::-1]
    assert {tuple(sorted(v)) for v in shown} == {
        ("period", "period_label", "question", "survey", "text")
    }
    assert {(v["period"].starts_on, v["period_label"]) for v in shown} == {(SEP, "Sep 2026")}
    assert page.context["verbatims"] == []
    html = page.content.decode()
    assert "october one" not in html and "open 0" not in html
    # The same page twice: the same order.
    again = analyst_client.get(reverse("metrics:audience", args=["staff"]), {"period": "all"})
    assert [v["text"] for v in again.context["anonymous_verbatims"]] == [v["text"] for v in shown]


def test_comments_under_a_segment_filter_need_k_there_and_none_or_k_beside(
    analyst_client,
) -> None:
    world = _pulse()
    _answers(world, SEP, 6, segment="sales")
    _answers(world, SEP, 6, segment="ops")
    _comments(world, SEP, [f"sales {i}" for i in range(5)], segment="sales")
    _comments(world, SEP, ["ops alone", "ops again"], segment="ops")
    _roll()
    url = reverse("metrics:audience", args=["staff"])

    def texts(**query: str) -> set[str]:
        page = analyst_client.get(url, {"period": "all", **query})
        return {v["text"] for v in page.context.get("anonymous_verbatims") or []}

    # The whole period holds 7: shown. Sales alone (5) would leave ops' 2 as "the rest".
    assert len(texts()) == 7
    assert texts(segment="sales") == set()
    assert texts(segment="ops") == set()


def _second_comment_question(world: World) -> None:
    world.survey.questions.create(key="idea", type="text", order=6, required=False)


def test_comments_need_k_people_not_k_comment_rows(analyst_client) -> None:
    # Three people wrote on both comment questions: six comments, three people (k = 5).
    world = _pulse()
    _second_comment_question(world)
    add_responses(
        world,
        [{"nps": 8, "comment": f"c{i}", "idea": f"i{i}", "day": SEP} for i in range(3)],
    )
    _answers(world, SEP, 6, segment="sales")
    _roll()
    page = analyst_client.get(reverse("metrics:audience", args=["staff"]), {"period": "all"})
    assert page.context["anonymous_verbatims"] == []


def test_a_question_with_fewer_than_k_comments_is_hidden_on_the_dashboard_as_on_the_summary(
    analyst_client,
) -> None:
    from surveys.exports import period_summaries

    world = _pulse()
    _second_comment_question(world)
    add_responses(
        world,
        [
            {"nps": 8, "comment": f"note {i}", **({"idea": f"idea {i}"} if i < 2 else {})}
            | {"day": SEP}
            for i in range(6)
        ],
    )
    _roll()
    page = analyst_client.get(reverse("metrics:audience", args=["staff"]), {"period": "all"})
    shown = page.context["anonymous_verbatims"]
    assert sorted(v["text"] for v in shown) == [f"note {i}" for i in range(6)]
    assert {v["question"] for v in shown} == {"comment"}
    [september, _october, _november] = period_summaries(survey=world.survey)
    results = {r.question.key: (r.n, r.shown, sorted(r.comments)) for r in september.results}
    assert results["comment"] == (6, True, [f"note {i}" for i in range(6)])
    assert results["idea"] == (2, False, [])


def test_a_viewer_sees_no_comments_and_nothing_is_written(client, django_user_model) -> None:  # noqa: ANN001
    from audiences.models import AuditLog, Role
    from tests.access.conftest import staff_with_grant

    world = _pulse()
    _comments(world, SEP, [f"note {i}" for i in range(6)], segment="sales")
    _roll()
    root = django_user_model.objects.create_superuser(username="root", password="pw-123456789")
    client.force_login(staff_with_grant("viewer", world.audience, Role.VIEWER, root))
    logged = AuditLog.objects.count()
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("metrics:audience", args=["staff"]), {"period": "all"})
    assert page.status_code == 200
    assert page.context["anonymous_verbatims"] == []
    assert AuditLog.objects.count() == logged
    assert _writes(queries) == []


# --- Reads say when, and never write -----------------------------------------------------------


# What a request writes besides the metrics: the session, the key's last use, the audit log.
BOOKKEEPING = ("django_session", "api_apikey", "audiences_auditlog")


def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and not any(table in q["sql"] for table in BOOKKEEPING)
    ]


def test_scores_and_pages_only_read(api_key_for, analyst_client) -> None:  # noqa: ANN001
    world = _pulse()
    _answers(world, SEP, 6, segment="sales")
    _answers(world, NOV, 5, segment="ops")
    customers = build_world()
    add_responses(customers, [{"nps": 9}, {"nps": 2}])
    _roll()
    client = api_key_for(world)
    with CaptureQueriesContext(connection) as queries:
        for by in (None, "segment", "month", "touchpoint"):
            reply = client.get(
                "/api/v1/scores/", {"audience": "staff", "metric": "enps", "by": by or ""}
            )
            assert reply.status_code == 200
        analyst_client.get(reverse("metrics:index"))
        analyst_client.get(reverse("metrics:audience", args=["customers"]), {"period": "all"})
    assert _writes(queries) == []


def test_the_dashboard_says_as_of_when(analyst_client) -> None:
    world = _pulse()
    _answers(world, SEP, 6)
    _roll()
    page = analyst_client.get(reverse("metrics:audience", args=["staff"]), {"period": "all"})
    assert page.context["as_of"] is not None
    assert 'id="xm-as-of"' in page.content.decode()


# --- The dashboard of an anonymous audience -----------------------------------------------------


def test_an_anonymous_audiences_page_shows_whole_periods_in_bounded_queries(
    analyst_client, django_assert_num_queries
) -> None:
    world = _pulse()
    for day in (SEP, OCT, NOV):
        _answers(world, day, 6, segment="sales")
        _answers(world, day, 7, segment="ops")
    _comments(world, SEP, [f"note {i}" for i in range(6)], segment="sales")
    _roll()
    url = reverse("metrics:audience", args=["staff"])
    # 1 session, 2 user, 3 audience, 4 scored question types, 5 surveys (with the watermark),
    # 6 their reporting periods, 7 segments (filter), 8 response rate, 9 closed-loop cases,
    # 10 the anonymous rollups of the periods' first days, 11 touchpoints with stages,
    # 12 comments per period group, 13 the ids of the groups shown, 14 their texts, 15 audit
    # log entry (comments were read).
    with django_assert_num_queries(15):
        page = analyst_client.get(url, {"from": "2026-09-01", "to": "2026-11-29"})
    context = page.context
    assert context["headline"]["n"] == 32  # 19 in September (6 commented), 13; November open
    # Every survey read is anonymous: one point per reporting period, named as the period.
    assert context["trend"]["period"] == "day"
    assert [(r["group"], r["label"], r["n"]) for r in context["trend"]["rows"]] == [
        (SEP, "Sep 2026", 19),
        (OCT, "Oct 2026", 13),
    ]
    payroll = world.touchpoints["payroll"]
    cells = [c for row in context["heatmap"] for c in row["cells"]]
    assert [(c["group"], c["n"]) for c in cells] == [(payroll.pk, 32)]
    assert len(context["anonymous_verbatims"]) == 6
    # The segment filter: the segment's published cells only.
    sales = analyst_client.get(url, {"from": "2026-09-01", "to": "2026-11-29", "segment": "sales"})
    assert sales.context["headline"]["n"] == 18
    assert [(r["group"], r["n"]) for r in sales.context["trend"]["rows"]] == [
        (SEP, 12),
        (OCT, 6),
    ]


def test_the_segment_list_names_no_segment_of_an_open_period_only(analyst_client) -> None:
    world = _pulse()
    _answers(world, SEP, 6, segment="sales")
    _answers(world, NOV, 6, segment="newcomers")
    _roll()
    page = analyst_client.get(reverse("metrics:audience", args=["staff"]), {"period": "all"})
    assert page.context["segments"] == ["sales"]


def test_an_anonymous_surveys_response_rate_counts_published_periods_only() -> None:
    from surveys.periods import period_start_moment
    from tests.surveys.distribution_factories import make_invitation

    world = _pulse()
    people = iter(make_people("rate", 10))

    def invite(sent: dt.date, answered: dt.date | None) -> None:
        make_invitation(
            world.survey,
            next(people),
            state="responded" if answered else "sent",
            sent_at=dt.datetime.combine(sent, dt.time(9), tzinfo=dt.UTC),
            # An anonymous answer is dated at midnight UTC of its period's first day.
            responded_at=period_start_moment(answered) if answered else None,
        )

    for i in range(4):
        invite(dt.date(2026, 10, 5), OCT if i < 3 else None)
    invite(dt.date(2026, 10, 20), NOV)  # sent in October, answered in the open November
    for i in range(5):
        invite(dt.date(2026, 11, 3), NOV if i < 4 else None)

    # October's five invitations, three answered in October; nothing of November.
    assert s.response_rates(audience_ids=[world.audience.pk]) == {world.audience.pk: 60.0}
    ReportingPeriod.objects.filter(survey=world.survey, starts_on=NOV).update(
        published_at=dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.UTC)
    )
    assert s.response_rates(audience_ids=[world.audience.pk]) == {world.audience.pk: 80.0}


# --- Query counts of the scores read -----------------------------------------------------------


def test_scores_of_an_anonymous_audience_cost_three_queries(django_assert_num_queries) -> None:
    world = _pulse()
    for day in (SEP, OCT):
        _answers(world, day, 6, segment="sales")
        _answers(world, day, 7, segment="ops")
    _roll()
    # 1 surveys (with the rollups' watermark), 2 reporting periods, 3 the rollups of their
    # first days (all before the watermark here; a period starting later adds the answers).
    with django_assert_num_queries(3):
        rows = s.scores(audience=world.audience, metric="enps", by="segment").rows
    assert [(r["group"], r["n"]) for r in rows] == [("ops", 14), ("sales", 12)]


def test_visible_groups_lists_every_figure_a_scoped_reader_can_get() -> None:
    world = _pulse()
    _answers(world, SEP, 6, segment="sales", channel="email")
    _answers(world, SEP, 7, segment="ops", channel="sms")
    _answers(world, NOV, 5, segment="ops", channel="sms")
    _roll()
    found = privacy.visible_groups(audience=world.audience, metric="enps")
    payroll = world.touchpoints["payroll"]
    # September only: November's five are released but the period is open.
    assert found == {
        (None, None): 13,
        ("touchpoint", payroll.pk): 13,
        ("stage", payroll.stage_id): 13,
        ("journey", payroll.stage.journey_id): 13,
        ("survey", world.survey.pk): 13,
        ("segment", "ops"): 7,
        ("segment", "sales"): 6,
        ("channel", "email"): 6,
        ("channel", "sms"): 7,
        ("language", "en"): 13,
        ("day", SEP): 13,
        ("week", dt.date(2026, 8, 31)): 13,
        ("month", SEP): 13,
        ("quarter", dt.date(2026, 7, 1)): 13,
    }
