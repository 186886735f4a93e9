"""The demo tells its story on the data `seed_demo` writes (3000 people, seed 42): what drives
the customers' NPS, what follows it, what people write, and the stores both audiences share."""

import datetime as dt
import io
from collections import defaultdict

import numpy as np
import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from audiences.demo import STORES
from audiences.models import Audience, Membership
from journeys.models import TouchpointEvent
from metrics import selectors as s
from surveys.demo import EMPLOYEE_TEXTS
from surveys.demo.story import WEIGHTS
from surveys.demo.story_texts import STORY_TEXTS
from surveys.models import Answer, ReportingPeriod, Response

pytestmark = pytest.mark.django_db

NPS_SURVEY = "Customer relationship NPS"
PULSE = "Employee engagement pulse"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):  # noqa: ANN001, ANN201
    """The default demo, seeded once for the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
        yield
        transaction.set_rollback(True)


def _nps(values: list[int]) -> float:
    v = np.asarray(values)
    return float((np.mean(v >= 9) - np.mean(v <= 6)) * 100)


def _answers(survey: str) -> dict[int, dict]:
    rows: dict[int, dict] = defaultdict(dict)
    for rid, key, number, text, language in Answer.objects.filter(
        response__survey__name=survey
    ).values_list("response_id", "question__key", "number", "text", "response__language"):
        rows[rid][key] = number if number is not None else text
        rows[rid]["_language"] = language
    return rows


def test_promoters_stay_spend_and_refer_more_than_detractors_beyond_the_margin(demo) -> None:  # noqa: ANN001
    customers = Audience.objects.get(slug="customers")
    today = timezone.localdate()
    filters = s.Filters(date_from=today - dt.timedelta(days=89), date_to=today)

    rox = s.return_on_experience(audience=customers, filters=filters)
    raw = s.return_on_experience(audience=customers, filters=filters, source="raw")

    for column in ("promoter", "passive", "detractor", "all"):  # Σ spend in another order
        assert rox[column] == pytest.approx(raw[column], rel=1e-9), column
    promoters, detractors = rox["promoter"], rox["detractor"]
    assert promoters["retention_rate"] > detractors["retention_rate"]
    assert promoters["mean_spend"] > detractors["mean_spend"]
    for figure in ("retention", "spend", "referral"):
        assert rox["difference"][figure]["value"] > 0, figure
        assert rox["difference"][figure]["significant"], figure
    # Not 100 % for everyone beside a churning customer base: answers are followed by churn,
    # as the operations panel counts churn, and the currency is shown.
    ops = s.operational_metrics(audience=customers, date_from=filters.date_from, date_to=today)
    assert ops["churn_rate"] > 0
    assert 0 < rox["all"]["churn_rate"] < 100
    assert detractors["churn_rate"] > ops["churn_rate"] > promoters["churn_rate"]
    assert rox["currency"] == "TRY"


def test_churn_events_follow_the_answer_at_the_churned_touchpoint_and_end_the_membership(
    demo,  # noqa: ANN001
) -> None:
    churned = TouchpointEvent.objects.filter(
        touchpoint__role="churned", touchpoint__stage__journey__audience__slug="customers"
    )
    answered = dict(
        Response.objects.filter(survey__name=NPS_SURVEY).values_list("person_id", "completed_at")
    )
    after = [
        (person_id, at)
        for person_id, at in churned.values_list("person_id", "occurred_at")
        if person_id in answered and at > answered[person_id]
    ]
    assert len(after) >= 30
    left = dict(
        Membership.objects.filter(
            audience__slug="customers", person_id__in=[p for p, _ in after]
        ).values_list("person_id", "left_on")
    )
    assert all(left[person_id] is not None for person_id, _at in after)
    assert all(timezone.now() > at for _p, at in after)


def test_the_drivers_correlate_with_nps_in_the_order_of_their_weights(demo) -> None:  # noqa: ANN001
    rows = [r for r in _answers(NPS_SURVEY).values() if "delivery_speed" in r]
    nps = np.array([r["nps"] for r in rows], dtype=float)
    correlation = {
        key: np.corrcoef(nps, [r[key] for r in rows])[0, 1]
        for key in ("delivery_speed", "support_helpfulness", "price_fairness")
    }

    assert len(rows) >= 300
    assert sorted(WEIGHTS, key=WEIGHTS.get, reverse=True) == ["delivery", "support", "price"]
    assert (
        correlation["delivery_speed"]
        > correlation["support_helpfulness"]
        > correlation["price_fairness"]
        > 0.2
    )


def test_a_late_delivery_before_answering_lowers_the_score(demo) -> None:  # noqa: ANN001
    late = defaultdict(list)
    for person_id, at in TouchpointEvent.objects.filter(
        touchpoint__slug="cust-delivery", attributes__late=True
    ).values_list("person_id", "occurred_at"):
        late[person_id].append(at)
    scores = {True: [], False: []}
    for person_id, at, number in Answer.objects.filter(
        response__survey__name=NPS_SURVEY, question__key="nps"
    ).values_list("response__person_id", "response__completed_at", "number"):
        hit = any(dt.timedelta(0) < at - when <= dt.timedelta(days=30) for when in late[person_id])
        scores[hit].append(number)

    assert len(scores[True]) >= 30
    assert np.mean(scores[True]) < np.mean(scores[False]) - 1


def test_comments_are_in_the_response_language_and_in_the_tone_of_the_score(demo) -> None:  # noqa: ANN001
    tones = {"improve": "bad", "higher": "meh", "liked": "good"}
    seen = 0
    for row in _answers(NPS_SURVEY).values():
        for key, tone in tones.items():
            if key not in row:
                continue
            language = row["_language"]
            openings = {
                opening for topic in STORY_TEXTS.values() for opening in topic[tone][language][0]
            }
            assert any(row[key].startswith(o) for o in openings), (language, tone, row[key])
            seen += 1
    assert seen >= 200
    languages = set(
        Response.objects.filter(survey__name=NPS_SURVEY).values_list("language", flat=True)
    )
    assert languages == {"tr", "en"}


def test_employees_write_about_their_work_in_their_own_language(demo) -> None:  # noqa: ANN001
    customer_words = {
        o
        for t in STORY_TEXTS.values()
        for tone in t.values()
        for lang in tone.values()
        for o in lang[0]
    }
    texts = Answer.objects.filter(response__survey__name=PULSE, question__type="text")
    assert texts.count() >= 50
    for key, language, text in texts.values_list("question__key", "response__language", "text"):
        openings = {o for openings, _more in EMPLOYEE_TEXTS[key][language] for o in openings}
        assert any(text.startswith(o) for o in openings), text
        assert not any(text.startswith(o) for o in customer_words)


def test_stores_are_shared_by_both_audiences_and_their_enps_follows_their_customers_nps(
    demo,  # noqa: ANN001
) -> None:
    stores = {slug for slug, _w, _c in STORES}
    staff = Membership.objects.filter(audience__slug="employees", left_on__isnull=True)
    clients = Membership.objects.filter(audience__slug="customers")
    per_store = defaultdict(int)
    for membership in staff:
        assert membership.segment == membership.attributes["store"]
        per_store[membership.segment] += 1
    assert set(per_store) == stores == {m.attributes["store"] for m in clients}
    k = Audience.objects.get(slug="employees").anonymity_threshold
    assert min(per_store.values()) >= k

    # Each published pulse period shows most stores (at least k answers each).
    published = ReportingPeriod.objects.filter(survey__name=PULSE, published_at__isnull=False)
    assert published.count() >= 2
    employee = defaultdict(list)
    for period in published:
        answers = Answer.objects.filter(
            response__survey__name=PULSE,
            response__released=True,
            response__completed_on=period.starts_on,
            question__key="nps",
        )
        counts = defaultdict(int)
        for segment, number in answers.values_list("response__segment", "number"):
            counts[segment] += 1
            employee[segment].append(number)
        assert sum(1 for n in counts.values() if n >= k) >= 8
    store_of = {m.person_id: m.attributes["store"] for m in clients}
    customer = defaultdict(list)
    for person_id, number in Answer.objects.filter(
        response__survey__name=NPS_SURVEY, question__key="nps"
    ).values_list("response__person_id", "number"):
        customer[store_of[person_id]].append(number)
    shown = [st for st in stores if len(employee[st]) >= 3 * k and len(customer[st]) >= 20]
    assert len(shown) >= 7
    ex = [_nps(employee[st]) for st in shown]
    cx = [_nps(customer[st]) for st in shown]
    assert np.corrcoef(ex, cx)[0, 1] > 0.5
