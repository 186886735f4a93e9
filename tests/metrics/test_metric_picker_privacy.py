"""An analyst attacks an anonymous employee audience through the metric picker: whatever metric,
survey, segment and window they switch to (page and chart CSV), every figure shown holds at
least k people, a small segment shows nothing, and an open period adds nothing — polling the
same views before and after answers arrive in it gives the same figures."""

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from metrics.services import rollups_rebuild
from surveys.models import Invitation
from tests.metrics.conftest import add_period, add_responses, anonymous_world, make_people

pytestmark = pytest.mark.django_db

K = 5
SEP, OCT, NOV = dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
METRICS = ("enps", "csat", "csat_mean", "ces", "rating", "response_rate", "churn_rate")
WINDOWS: tuple[dict[str, str], ...] = (
    {"period": "30"},
    {"period": "90"},
    {"period": "all"},
    {"from": "2026-09-02", "to": "2026-11-20"},
    {"from": "2026-09-01", "to": "2026-10-01"},
)


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)


def _specs(count: int, day: dt.date, segment: str, offset: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "nps": (3 * i + offset) % 11,
            "csat": 1 + (i + offset) % 5,
            "ces": 1 + (2 * i + offset) % 5,
            "rating": 1 + (i + offset) % 5,
            "day": day,
            "segment": segment,
        }
        for i in range(count)
    ]


def _invite(world, sent: dt.date, count: int, answered: int, tag: str = "a") -> None:  # noqa: ANN001
    people = make_people(f"inv-{tag}-{sent.isoformat()}", count)
    moment = dt.datetime.combine(sent, dt.time(9), tzinfo=dt.UTC)
    Invitation.objects.bulk_create(
        [
            Invitation(
                survey=world.survey,
                person=p,
                channel="email",
                nonce=f"{tag}-{sent}-{k}",
                token_hash=f"{tag}-{sent}-{k}",
                state="sent",
                sent_at=moment,
                responded_at=dt.datetime.combine(sent, dt.time(0), tzinfo=dt.UTC)
                if k < answered
                else None,
            )
            for k, p in enumerate(people)
        ]
    )


def _pulse():  # noqa: ANN202
    world = anonymous_world("staff", threshold=K)
    add_period(world.survey, SEP, dt.date(2026, 9, 30))
    add_period(world.survey, OCT, dt.date(2026, 10, 31))
    add_period(world.survey, NOV, dt.date(2026, 11, 30), published=False)
    add_responses(world, _specs(9, SEP, "sales") + _specs(3, SEP, "legal", 1))
    add_responses(world, _specs(6, OCT, "sales", 2))
    add_responses(world, _specs(4, NOV, "sales", 3))
    _invite(world, SEP, 12, 12)
    _invite(world, NOV, 6, 4)
    rollups_rebuild(date_from=SEP, date_to=dt.date(2026, 11, 20))
    return world


def _figures(context: Any) -> list[tuple[str, Any, int]]:
    """Every figure the page shows, as (where, group, n)."""
    found: list[tuple[str, Any, int]] = []
    head = context.get("headline") or {}
    if head.get("n"):
        found.append(("headline", None, head["n"]))
    comparison = context.get("comparison")
    if comparison:
        for side in ("current", "previous"):
            if comparison[side].n:
                found.append((side, None, comparison[side].n))
    for row in (context.get("trend") or {}).get("rows", []):
        if row.get("n"):
            found.append(("trend", row["group"], row["n"]))
    for stage in context.get("heatmap") or []:
        if stage["total"].get("n"):
            found.append(("stage", stage["stage"].pk, stage["total"]["n"]))
        for cell in stage["cells"]:
            if cell.get("n"):
                found.append(("cell", cell["group"], cell["n"]))
    for part in context.get("distribution") or []:
        found.append(("distribution", part["key"], part["count"]))
    for scale in context.get("other_scales") or []:
        found.append(("scale", scale["scale"], scale["n"]))
    return found


def _views(client, world) -> dict[tuple[Any, ...], Any]:  # noqa: ANN001
    url = reverse("metrics:audience", args=[world.audience.slug])
    seen = {}
    # Every metric in every segment and window; the survey picked and not picked in turn (the
    # audience has one survey, so both name the same answers: each metric is seen both ways).
    surveys = ("", str(world.survey.pk))
    for metric in METRICS:
        for s, segment in enumerate(("", "sales", "legal")):
            for w, window in enumerate(WINDOWS):
                survey = surveys[(s + w) % 2]
                query = {"metric": metric, "survey": survey, "segment": segment, **window}
                response = client.get(url, query)
                assert response.status_code == 200
                key = tuple(sorted(query.items()))
                seen[key] = (response.context, _figures(response.context))
                csv = client.get(url, {**query, "format": "csv", "chart": "trend"})
                seen[(*key, "csv")] = (None, csv.content.decode())
    return seen


def test_switching_metric_survey_segment_and_window_never_shows_a_small_group_or_open_period(
    client, xm_manager
) -> None:  # noqa: ANN001
    world = _pulse()
    client.force_login(xm_manager)
    before = _views(client, world)
    for key, (context, figures) in before.items():
        if context is None:
            continue
        for where, group, n in figures:
            if where == "distribution":
                continue  # shares of the headline's answers, not a group of people
            assert n >= K, (key, where, group, n)
        query = dict(key)
        if query.get("segment") == "legal":
            if context["metric"] in ("response_rate", "churn_rate"):
                # Not sliced by segment: the whole audience's figures, and the page says so.
                whole = before[tuple(sorted({**query, "segment": ""}.items()))]
                assert figures == whole[1] and context["segment_ignored"]
                continue
            # Three people: nothing of them, whatever the metric.
            assert context.get("segment_hidden") or not context.get("headline", {}).get("n")
    # Answers and invitations arrive in the open period: no view may move.
    add_responses(world, _specs(7, NOV, "sales", 4) + _specs(2, NOV, "legal"))
    _invite(world, NOV, 5, 5, tag="b")
    rollups_rebuild(date_from=NOV, date_to=dt.date(2026, 11, 20))
    after = _views(client, world)
    assert {k: v[1] for k, v in after.items()} == {k: v[1] for k, v in before.items()}


def test_the_open_period_shows_nothing_even_alone(client, xm_manager) -> None:  # noqa: ANN001
    world = _pulse()
    client.force_login(xm_manager)
    url = reverse("metrics:audience", args=[world.audience.slug])
    for metric in ("enps", "csat", "ces"):
        context = client.get(url, {"metric": metric, "from": "2026-11-01"}).context
        assert not context["headline"].get("n")
        assert not [f for f in _figures(context) if f[0] != "distribution"]
