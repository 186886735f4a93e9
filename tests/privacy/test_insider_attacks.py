"""The six findings of the insider review, replayed as the HR analyst and the employees key.

Each test stages what the attacker needs (an anonymous pulse answered over a week, a one-person
segment), runs the attack exactly as it was reported, and shows that it no longer yields an
individual's answer or the day they answered.
"""

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from django.core.management import call_command

from surveys.models import Response
from tests.factories import make_membership, make_person
from tests.privacy.conftest import K, Pulse, clock
from xmplatform.api.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SEPTEMBER_DAYS = [dt.datetime(2026, 9, day, 9, tzinfo=UTC) for day in range(8, 15)]
AFTER_SEPTEMBER = dt.datetime(2026, 10, 1, 0, 5, tzinfo=UTC)


def answer_in_september(pulse: Pulse) -> None:
    """Everyone answers on one of 8–14 September (legal's only member on the 13th)."""
    everyone = [p for people in pulse.people.values() for p in people]
    for i, person in enumerate(everyone):
        day = SEPTEMBER_DAYS[5] if person in pulse.people["legal"] else SEPTEMBER_DAYS[i % 7]
        pulse.submit(person, at=day + dt.timedelta(minutes=i), enps=i % 11, rating=1 + i % 5)
    pulse.release(at=AFTER_SEPTEMBER)


def total(body: dict[str, Any]) -> tuple[Any, ...]:
    """The figure of an ungrouped scores answer, or None when nothing is shown."""
    rows = [r for r in body["results"] if not r.get("suppressed")]
    return tuple((r.get("n"), r.get("score")) for r in rows)


def test_join_by_date_finds_no_day_of_answering_on_either_side(pulse, hr_key, hr_analyst):
    answer_in_september(pulse)

    invitations = hr_key.get(
        "/api/v1/invitations/", {"survey": pulse.survey.pk, "state": "responded"}
    )
    assert invitations.status_code == 200
    results = invitations.json()["results"]
    assert len(results) == 14
    assert {r["responded_at"] for r in results} == {None}

    listed = hr_key.get(f"/api/v1/surveys/{pulse.survey.pk}/responses/")
    assert listed.status_code == 403
    assert "scores" in json.dumps(listed.json())
    polled = hr_key.get(f"/api/v1/surveys/{pulse.survey.pk}/responses/", {"since": "2026-09-12"})
    assert polled.status_code == 403

    # The admin's two halves of the join: neither accepts the day.
    by_day = hr_analyst.get("/admin/surveys/invitation/", {"responded_at__date": "2026-09-12"})
    assert by_day.status_code == 400
    completed = hr_analyst.get("/admin/surveys/response/", {"completed_on": "2026-09-12"})
    assert completed.status_code == 400
    # The stored rows themselves keep no day of answering: only the period's first day.
    assert set(Response.objects.values_list("completed_on", flat=True)) == {dt.date(2026, 9, 1)}
    assert set(Response.objects.values_list("completed_at", flat=True)) == {None}


@pytest.mark.parametrize("metric", ["enps", "rating"])
def test_window_subtraction_gives_the_same_figure_for_windows_a_day_apart(pulse, hr_key, metric):
    answer_in_september(pulse)
    query = {"audience": "employees", "metric": metric, "from": "2026-09-10"}

    to_13 = hr_key.get("/api/v1/scores/", {**query, "to": "2026-09-13"})
    to_14 = hr_key.get("/api/v1/scores/", {**query, "to": "2026-09-14"})

    assert to_13.status_code == to_14.status_code == 200
    assert to_13.json()["results"] == to_14.json()["results"]
    # Shifting the start instead changes nothing either.
    from_11 = hr_key.get("/api/v1/scores/", {**query, "from": "2026-09-11", "to": "2026-09-14"})
    assert from_11.json()["results"] == to_14.json()["results"]


def test_daily_scores_of_an_anonymous_pulse_sit_on_the_period_start(pulse, hr_key):
    answer_in_september(pulse)

    body = hr_key.get(
        "/api/v1/scores/", {"audience": "employees", "metric": "enps", "by": "day"}
    ).json()

    assert [r["group"] for r in body["results"]] == ["2026-09-01"]
    assert body["results"][0]["n"] == 14


@pytest.mark.parametrize(
    "lookup",
    [
        {"segment": "legal"},
        {"language": "en"},
        {"channel": "email"},
        {"completed_on": "2026-09-01"},
        {"segment__startswith": "le"},
    ],
)
def test_the_response_list_refuses_lookups_its_sidebar_does_not_offer(pulse, hr_analyst, lookup):
    answer_in_september(pulse)

    page = hr_analyst.get("/admin/surveys/response/", lookup)

    assert page.status_code == 400


def test_no_anonymous_response_opens_one_by_one_in_the_admin(pulse, hr_analyst):
    answer_in_september(pulse)
    legal = pulse.people["legal"][0]
    response = Response.objects.get(segment="legal")

    listing = hr_analyst.get("/admin/surveys/response/")
    change = hr_analyst.get(f"/admin/surveys/response/{response.pk}/change/")

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 0
    assert change.status_code in (302, 403, 404)
    assert pulse.comments[legal.pk] not in change.content.decode()


def test_verbatims_never_come_from_a_group_under_the_threshold_nor_with_their_day(
    pulse, hr_analyst
):
    answer_in_september(pulse)
    legal_comment = pulse.comments[pulse.people["legal"][0].pk]
    window = {"from": "2026-09-01", "to": "2026-09-30"}

    whole = hr_analyst.get("/admin/metrics/employees/", window).content.decode()
    legal = hr_analyst.get(
        "/admin/metrics/employees/", {**window, "segment": "legal"}
    ).content.decode()

    assert legal_comment not in legal
    for day in SEPTEMBER_DAYS:
        for text in (whole, legal):
            assert day.date().isoformat() not in text
            assert day.strftime("%d.%m.%Y") not in text


def test_an_anonymous_response_sends_no_webhook(pulse, django_capture_on_commit_callbacks):
    Webhook.objects.create(
        name="HRIS",
        url="https://hris.example.com/hook",
        events=["response.completed"],
        audience=pulse.audience,
    )

    with django_capture_on_commit_callbacks(execute=True):
        pulse.submit(pulse.people["legal"][0], at=SEPTEMBER_DAYS[0], enps=2)

    assert not WebhookDelivery.objects.exists()


def test_polling_the_open_period_never_sees_fewer_than_k_answers_arrive(pulse, hr_key):
    sales, ops = pulse.people["sales"], pulse.people["ops"]
    now = dt.datetime(2026, 11, 3, 10, tzinfo=UTC)
    query = {"audience": "employees", "metric": "enps"}

    def poll() -> tuple[Any, ...]:
        with clock(now):
            pulse.release(at=now)
            return total(hr_key.get("/api/v1/scores/", query).json())

    seen = [poll()]
    for i, person in enumerate([*sales, *ops[:3]]):
        now += dt.timedelta(hours=1)
        pulse.submit(person, at=now, enps=(3 * i) % 11)
        seen.append(poll())

    # Two batches of five were released while November was open: nothing of them shows.
    assert Response.objects.filter(released=True).count() == 10
    assert seen == [()] * 11
    # November ends and is published: everything at once, at least k.
    now = dt.datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    [(n, _score)] = poll()
    assert n == 10 >= K


# --- Red team, attack 2: a batch total against the published cells -----------------------------

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
NOVEMBER_ENDS = dt.datetime(2026, 12, 1, 0, 5, tzinfo=UTC)


def key_figures(client: Any) -> dict[tuple[Any, ...], tuple[int, Any]]:
    """Every scores figure the employees key reads: {(metric, window, by, group): (n, score)}."""
    from metrics.privacy import SCORE_BYS

    found = {}
    for metric, window, by in itertools.product(("enps", "rating"), (None, "nov"), SCORE_BYS):
        query = {"audience": "employees", "metric": metric, **({"by": by} if by else {})}
        body = client.get("/api/v1/scores/", {**query, **(NOVEMBER if window else {})}).json()
        for row in body["results"]:
            if not row.get("suppressed"):
                found[(metric, window, by, row["group"], row.get("scale"))] = (
                    row["n"],
                    row["score"],
                )
    return found


def analyst_figures(client: Any, survey_id: int) -> dict[tuple[Any, ...], tuple[int, Any]]:
    """Every figure of answers on the HR analyst's pages: the dashboard (headline, trend,
    heatmap, under each segment filter), the index card and the survey's summary page."""
    found: dict[tuple[Any, ...], tuple[int, Any]] = {}
    for segment in (None, "legal", "engineering", "sales", "ops"):
        query = {**NOVEMBER, **({"segment": segment} if segment else {})}
        page = client.get("/admin/metrics/employees/", query).context
        head = page["headline"]
        if head.get("n"):
            found[("headline", segment)] = (head["n"], head["score"])
        for row in page.get("trend", {}).get("rows", []):
            if row.get("n"):
                found[("trend", segment, row["group"])] = (row["n"], row["score"])
        for stage in page.get("heatmap", []):
            for cell in stage["cells"]:
                if cell.get("n"):
                    found[("heatmap", segment, cell["group"])] = (cell["n"], cell["score"])
        if page.get("anonymous_verbatims"):  # texts, not a figure: kept apart below
            found[("comments", segment)] = (len(page["anonymous_verbatims"]), None)
    for card in client.get("/admin/metrics/").context["cards"]:
        row = card.get("row") or {}
        if row.get("n"):
            found[("card", card["audience"].slug)] = (row["n"], row["score"])
    summary = client.get(f"/admin/surveys/response/summary/{survey_id}/").context
    for period, _published, results in summary["summaries"]:
        for _label, result in results:
            if result.shown and result.score is not None:
                found[("summary", period.starts_on, result.question.key)] = (
                    result.n,
                    result.score,
                )
    return found


def read_everything(key: Any, analyst: Any, survey_id: int) -> dict[tuple[Any, ...], Any]:
    found = {("key", *k): v for k, v in key_figures(key).items()}
    return found | {("analyst", *k): v for k, v in analyst_figures(analyst, survey_id).items()}


def test_a_batch_total_minus_a_published_cell_no_longer_gives_one_persons_answer(
    pulse, hr_key, hr_analyst
):
    """The red team's attack 2: the open period's released total moved one batch at a time,
    the invitation list told who was in each batch, and the ended period's segment cells were
    published. "Total after B2 (the target + 9 engineers)" minus "engineering at the end (9)"
    was the target's rating and NPS group. Now nothing of a period shows until it is published,
    and what shows then is the published period's figures only."""
    engineers = []
    for i in range(9):
        person = make_person(f"emp-engineering-{i}", name=f"Engineer {i}")
        make_membership(person, pulse.audience, segment="engineering")
        engineers.append(person)
    target = pulse.people["legal"][0]
    batches = [
        [target, *engineers[:4]],  # B1: the target and four engineers
        engineers[4:],  # B2: five engineers
        pulse.people["sales"][:5],  # B3: five from sales
    ]
    before: dict[tuple[Any, ...], tuple[int, Any]] = {}
    now = dt.datetime(2026, 11, 2, 9, tzinfo=UTC)
    for number, batch in enumerate(batches, start=1):
        for person in batch:
            now += dt.timedelta(minutes=7)
            rating = 1 if person == target else 4
            pulse.submit(person, at=now, enps=2 if person == target else 9, rating=rating)
        now += dt.timedelta(hours=1)
        pulse.release(at=now)  # the batch is released
        assert Response.objects.filter(released=True).count() == 5 * number
        with clock(now + dt.timedelta(minutes=1)):
            seen = {("key", *k): v for k, v in key_figures(hr_key).items()}
            seen |= {
                ("analyst", *k): v for k, v in analyst_figures(hr_analyst, pulse.survey.pk).items()
            }
        before |= {(number, *k): v for k, v in seen.items()}

    # While November was open, neither the key nor the analyst could read one figure of it.
    assert before == {}

    pulse.release(at=NOVEMBER_ENDS)  # November ends: published
    with clock(NOVEMBER_ENDS + dt.timedelta(minutes=1)):
        after = {("key", *k): v for k, v in key_figures(hr_key).items()}
        after |= {
            ("analyst", *k): v for k, v in analyst_figures(hr_analyst, pulse.survey.pk).items()
        }

    # Every figure read before the end, against every figure read after: never 1 to k-1 apart.
    for early, late in itertools.product(before.values(), after.values()):
        assert not 0 < abs(early[0] - late[0]) < K
    # After: the published period's figures, legal hidden (with sales, its complement).
    sizes = {n for key, (n, _score) in after.items() if key[1] != "comments"}
    assert sizes == {15, 9}  # the period (15) and the engineering cell (9); nothing else
    assert after[("key", "enps", None, "segment", "engineering", None)][0] == 9
    assert ("key", "enps", None, "segment", "legal", None) not in after
    assert ("key", "enps", None, "segment", "sales", None) not in after
    # Among the figures after, no two differ by fewer than k respondents either: 15 - 9 = 6
    # holds legal and sales together, and the target's rating is in no difference of one.
    for a, b in itertools.combinations(sizes, 2):
        assert abs(a - b) >= K


def test_named_scores_match_their_own_responses_to_the_digit_and_count_today(
    db, django_capture_on_commit_callbacks
):
    from surveys import tokens
    from surveys.models import InvitationState
    from surveys.services import Respondent, response_answer
    from tests.api.conftest import client_for
    from tests.factories import make_membership, make_person
    from tests.metrics.conftest import build_world
    from tests.surveys.distribution_factories import make_invitation
    from xmplatform.api.services import api_key_create

    world = build_world("customers", touchpoints=())
    key = client_for(api_key_create(name="BI")[1])

    def answer(i: int, at: dt.datetime) -> None:
        person = make_person(f"c-{i}")
        make_membership(person, world.audience, segment="gold" if i % 3 else "silver")
        invitation = make_invitation(world.survey, person, state=InvitationState.SENT, sent_at=at)
        with clock(at):
            response_answer(
                respondent=Respondent(
                    survey=world.survey,
                    invitation=invitation,
                    token=tokens.token_for(invitation.nonce),
                ),
                questions=list(world.survey.questions.all()),
                values={"nps": (7 * i) % 11, "csat": 1 + i % 5, "ces": 1 + i % 5, "rating": 3},
                language="en",
            )

    yesterday = dt.datetime.now(UTC) - dt.timedelta(days=1)
    for i in range(7):
        answer(i, yesterday)
    call_command("metrics_rollup")
    for i in range(7, 11):  # after the rollup: only the raw path has these
        answer(i, dt.datetime.now(UTC))

    scores = key.get(
        "/api/v1/scores/", {"audience": "customers", "metric": "nps", "by": "survey"}
    ).json()
    rows = key.get(f"/api/v1/surveys/{world.survey.pk}/responses/").json()["results"]
    values = [r["answers"]["nps"] for r in rows]
    promoters = sum(v >= 9 for v in values) / len(values)
    detractors = sum(v <= 6 for v in values) / len(values)

    (row,) = scores["results"]
    assert row["n"] == len(values) == 11
    assert row["score"] == pytest.approx((promoters - detractors) * 100)
    assert "as_of" in scores
