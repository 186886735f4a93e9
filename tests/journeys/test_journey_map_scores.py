"""The journey page's map with experience on it: scores on cards, stage aggregates, the
emotion curve, the metric and period pickers, and the anonymity rules."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from journeys.models import Journey, Stage, Touchpoint
from journeys.selectors import journey_map
from metrics import definitions as d
from metrics.journey_map import MetricChoice, band, metric_choices, scored_map
from tests.metrics.conftest import add_period, add_responses, anonymous_world, build_world

pytestmark = pytest.mark.django_db

STAGES = (("checkout", "Purchase"), ("delivery", "Delivery"), ("support", "Support"))


def _today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def world():  # noqa: ANN201
    """Customers on a three-stage journey: checkout and delivery answered, support not."""
    world = build_world("customers", touchpoints=STAGES)
    day = _today() - dt.timedelta(days=3)
    add_responses(
        world,
        [
            {"nps": v, "csat": c, "touchpoint": "checkout", "day": day}
            for v, c in [(10, 5), (9, 4), (9, 5), (7, 3), (3, 2), (10, 4)]
        ]
        + [{"nps": v, "touchpoint": "delivery", "day": day} for v in (2, 5, 6, 8, 9)],
    )
    return world


def _journey(world) -> Journey:  # noqa: ANN001
    return Journey.objects.get(audience=world.audience)


def _page(client, journey: Journey, **query: str) -> str:  # noqa: ANN001
    response = client.get(reverse("admin:journeys_journey_change", args=[journey.pk]), query)
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('class="module journey-map"') : html.index("</section>")]


def _card(html: str, slug: str) -> str:
    start = html.index(f'data-touchpoint="{slug}"')
    return html[start : html.index("</li>", start)]


def test_each_card_shows_its_touchpoints_nps_with_n_and_margin(client, xm_manager, world) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    html = _page(client, _journey(world))

    checkout = d.nps(promoters=4, passives=1, detractors=1)
    card = _card(html, "customers-checkout")
    assert f"{checkout.value:.0f}</span>" in card
    assert "n = 6" in card and f"±{checkout.margin:.1f}" in card
    assert "jm-band-p2" in card  # +50: two bands above the middle
    delivery = _card(html, "customers-delivery")
    assert "n = 5" in delivery and "-40</span>" in delivery and "jm-band-m1" in delivery
    assert "no answers" in _card(html, "customers-support")


def test_a_stage_scores_its_touchpoints_answers_together_and_the_curve_joins_stages(
    world,  # noqa: ANN001
) -> None:
    journey = _journey(world)
    # A second touchpoint on the Purchase stage, answered too.
    purchase = Stage.objects.get(journey=journey, name="Purchase")
    Touchpoint.objects.create(stage=purchase, slug="store-visit", name="Store", channel="store")
    world.touchpoints["store"] = Touchpoint.objects.get(slug="store-visit")
    add_responses(world, [{"nps": 0, "touchpoint": "store", "day": _today()}] * 2)

    scored = scored_map(
        journey=journey,
        stages=journey_map(journey=journey),
        choice=MetricChoice("nps", None, "NPS"),
        date_from=_today() - dt.timedelta(days=89),
        date_to=_today(),
    )

    stage = scored.stages[0]
    assert stage.stage.name == "Purchase"
    assert [cell.n for _tp, cell in stage.touchpoints] == [6, 2]
    together = d.nps(promoters=4, passives=1, detractors=3)
    assert (stage.cell.value, stage.cell.n) == (together.value, 8)
    assert stage.cell.margin == pytest.approx(together.margin)
    assert [s.cell.n for s in scored.stages] == [8, 5, 0]
    assert scored.journey.n == 13
    curve = scored.curve
    assert [p["x"] for p in curve["points"]] == [110.0, 342.0]  # the first two columns' middles
    assert len(curve["lines"]) == 1 and len(curve["bands"]) == 1
    assert curve["points"][0]["upper"] < curve["points"][0]["y"] < curve["points"][0]["lower"]


def test_the_picker_offers_the_audiences_metrics_and_switches_the_map(
    client,
    xm_manager,
    world,  # noqa: ANN001
) -> None:
    client.force_login(xm_manager)
    choices = metric_choices(world.audience)
    assert [(c.metric, c.scale) for c in choices] == [
        ("nps", None),
        ("csat", None),
        ("ces", 5),
        ("rating", 5),
    ]

    html = _page(client, _journey(world), metric="csat")

    card = _card(html, "customers-checkout")
    assert "67 %</span>" in card and "n = 6" in card  # four of six answered 4 or 5
    assert 'aria-current="true">CSAT</a>' in html


def test_an_employee_journey_offers_enps(db) -> None:  # noqa: ANN001
    world = anonymous_world("staff")
    assert metric_choices(world.audience)[0].metric == "enps"


def test_the_period_defaults_to_90_days_and_all_time_counts_older_answers(
    client,
    xm_manager,
    world,  # noqa: ANN001
) -> None:
    add_responses(
        world, [{"nps": 0, "touchpoint": "checkout", "day": _today() - dt.timedelta(days=200)}]
    )
    client.force_login(xm_manager)

    assert "n = 6" in _card(_page(client, _journey(world)), "customers-checkout")
    assert "n = 7" in _card(_page(client, _journey(world), period="all"), "customers-checkout")
    assert "n = 6" in _card(_page(client, _journey(world), period="bogus"), "customers-checkout")


def test_anonymous_touchpoints_show_published_periods_of_k_only(client, xm_manager) -> None:  # noqa: ANN001
    world = anonymous_world("staff", touchpoints=(("payroll", "Growth"), ("review", "Growth")))
    start = _today() - dt.timedelta(days=40)
    add_period(world.survey, start, start + dt.timedelta(days=13))
    add_responses(world, [{"nps": v, "day": start} for v in (10, 9, 9, 7, 2, 10)])
    journey = _journey(world)
    client.force_login(xm_manager)

    card = _card(_page(client, journey), "staff-payroll")
    assert "n = 6" in card and "jm-band" in card

    # A second survey on the review touchpoint: a published period under k, and an open one.
    from surveys.models import Question, Survey

    small = Survey.objects.create(
        audience=world.audience,
        name="review pulse",
        anonymous=True,
        touchpoint=world.touchpoints["review"],
    )
    Question.objects.create(survey=small, key="nps", type="nps", order=1)
    add_period(small, start, start + dt.timedelta(days=13))
    add_period(
        small, _today() - dt.timedelta(days=5), _today() + dt.timedelta(days=9), published=False
    )
    add_responses(world, [{"nps": 10, "day": start}] * 3, survey=small)
    add_responses(world, [{"nps": 0, "day": _today() - dt.timedelta(days=5)}] * 6, survey=small)

    html = _page(client, journey)
    review = _card(html, "staff-review")
    assert "not enough responses" in review
    assert "n = " not in review
    # The stage counts the shown touchpoint only, and says one was withheld.
    stage = html[html.index("journey-map-stage-score") :]
    assert "n = 6" in stage[:400] and "some touchpoints withheld" in stage[:600]


def test_roles_show_their_translated_label(client, xm_manager, world) -> None:  # noqa: ANN001
    Touchpoint.objects.filter(slug="customers-support").update(role="support_request")
    client.force_login(xm_manager)

    html = _page(client, _journey(world))
    with override("tr"):
        turkish = _page(client, _journey(world))

    card = _card(html, "customers-support")
    assert re.search(
        r'journey-map-role" title="Support request \(attributes[^"]*">Support request<', card
    )
    assert "support_request<" not in card
    assert "support_request<" not in _card(turkish, "customers-support")


def test_the_journey_page_with_scores_stays_in_bounded_queries(
    client,
    xm_manager,
    world,
    django_assert_max_num_queries,  # noqa: ANN001
) -> None:
    client.force_login(xm_manager)
    url = reverse("admin:journeys_journey_change", args=[_journey(world).pk])
    # The admin's own (session, user, journey, form, inlines) plus the map's three, the
    # metric choices and the read (scope, rollups, answers): no query per card or stage.
    with django_assert_max_num_queries(24) as queries:
        client.get(url)
    before = len(queries)
    for slug in ("a", "b", "c"):
        Touchpoint.objects.create(
            stage=Stage.objects.get(name="Support"), slug=f"extra-{slug}", name=slug, channel="web"
        )
    with django_assert_max_num_queries(before):
        client.get(url)


@pytest.mark.parametrize(
    ("metric", "scale", "value", "expected"),
    [
        ("nps", None, -100, "m3"),
        ("nps", None, -20, "m1"),
        ("nps", None, 0, "0"),
        ("nps", None, 100, "p3"),
        ("csat", None, 50, "0"),
        ("csat", None, 90, "p2"),
        ("ces", 7, 1, "m3"),
        ("ces", 7, 4, "0"),
        ("rating", 5, 4.5, "p2"),
        ("nps", None, None, ""),
    ],
)
def test_scores_fall_in_a_diverging_band_around_the_middle_of_their_scale(
    metric: str, scale: int | None, value: float | None, expected: str
) -> None:
    assert band(metric, scale, value) == expected
