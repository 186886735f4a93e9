"""The audience page's metric picker: every metric the data support renders with n and its
margin, a survey filter opens on its own metric, means never pool scales, the trend draws its
margin band, the heatmap colours each touchpoint and stage, charts download as CSV, and the
queries stay bounded whatever the metric."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from audiences.models import AuditLog, Membership
from journeys.models import TouchpointEvent, TouchpointRole
from metrics import definitions as d
from metrics.dashboard import catalog, insight_links
from metrics.services import rollups_rebuild
from surveys.models import Invitation, Question, QuestionType, Survey, SurveyStatus
from tests.factories import make_touchpoint
from tests.metrics.conftest import TODAY, World, add_responses, build_world, make_people

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone

    fixed = dt.datetime.combine(TODAY, dt.time(18), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)


def _csat_survey(world: World) -> Survey:
    """A checkout CSAT survey: CSAT first, then a 1–7 effort question."""
    survey = Survey.objects.create(
        audience=world.audience, name="Checkout CSAT", status=SurveyStatus.LIVE
    )
    Question.objects.create(survey=survey, key="csat", type=QuestionType.CSAT, order=1)
    Question.objects.create(survey=survey, key="ces", type=QuestionType.CES, order=2, scale_max=7)
    return survey


def _shop(events: bool = True) -> tuple[World, Survey]:
    """Customers with a relationship survey (NPS, CSAT, CES 1–5, rating) over two touchpoints,
    a CSAT survey at checkout, invitations, and (optionally) operational events."""
    world = build_world("shop")
    specs = []
    for i in range(24):
        specs.append(
            {
                "nps": i % 11,
                "csat": 1 + i % 5,
                "ces": 1 + i % 5,
                "rating": 1 + (i * 2) % 5,
                "touchpoint": "checkout" if i % 2 else "delivery",
                "segment": "gold" if i % 3 else "silver",
                "comment": f"said {i}",
                "day": TODAY - dt.timedelta(days=i % 40),
            }
        )
    add_responses(world, specs)
    survey = _csat_survey(world)
    add_responses(
        world,
        [
            {"csat": 2 + i % 4, "ces": 3 + i % 5, "touchpoint": "checkout", "day": TODAY}
            for i in range(10)
        ],
        survey=survey,
    )
    people = make_people("inv", 8)
    sent = dt.datetime.combine(TODAY - dt.timedelta(days=3), dt.time(9), tzinfo=dt.UTC)
    Invitation.objects.bulk_create(
        [
            Invitation(
                survey=world.survey,
                person=p,
                channel="email",
                nonce=f"n{k}",
                token_hash=f"h{k}",
                state="sent",
                sent_at=sent,
                responded_at=sent if k % 2 else None,
            )
            for k, p in enumerate(people)
        ]
    )
    if events:
        Membership.objects.bulk_create(
            [Membership(person=p, audience=world.audience) for p in people]
        )
        support = make_touchpoint(
            world.audience, slug="help", stage_name="Care", role=TouchpointRole.SUPPORT_REQUEST
        )
        gone = make_touchpoint(
            world.audience, slug="gone", stage_name="Exit", role=TouchpointRole.CHURNED
        )
        moment = dt.datetime.combine(TODAY - dt.timedelta(days=2), dt.time(10), tzinfo=dt.UTC)
        TouchpointEvent.objects.bulk_create(
            [
                TouchpointEvent(
                    person=p,
                    touchpoint=support,
                    occurred_at=moment,
                    attributes={"handling_seconds": 100 + 20 * k, "first_contact_resolved": k > 2},
                )
                for k, p in enumerate(people)
            ]
            + [TouchpointEvent(person=people[0], touchpoint=gone, occurred_at=moment)]
        )
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=400), date_to=TODAY)
    return world, survey


def _page(client, slug: str, **query: str):  # noqa: ANN001, ANN202
    response = client.get(reverse("metrics:audience", args=[slug]), query)
    assert response.status_code == 200
    return response


def test_the_picker_offers_what_the_data_support(client, xm_manager) -> None:  # noqa: ANN001
    _shop()
    client.force_login(xm_manager)
    offered = [m for m, _label in _page(client, "shop").context["metric_choices"]]
    assert offered == [
        "nps",
        "csat",
        "csat_mean",
        "ces",
        "rating",
        "response_rate",
        "churn_rate",
        "retention_rate",
        "aht",
        "fcr",
    ]


@pytest.mark.parametrize(
    "metric",
    ["nps", "csat", "csat_mean", "ces", "rating", "response_rate", "churn_rate", "aht", "fcr"],
)
def test_every_metric_renders_with_n_and_its_margin(client, xm_manager, metric) -> None:  # noqa: ANN001
    _shop()
    client.force_login(xm_manager)
    response = _page(client, "shop", metric=metric)
    context, html = response.context, response.content.decode()
    assert context["metric"] == metric and not context["metric_reset"]
    head = context["headline"]
    assert head["n"] > 0 and head["score"] is not None and head["margin"] is not None
    assert f"n = {head['n']}" in html and "±" in html
    assert 'id="xm-trend"' in html and 'class="xm-axis-title"' in html
    for row in context["trend"]["rows"]:
        assert row.get("suppressed") or row["n"] > 0
    if catalog.info(metric).per_touchpoint:
        assert 'id="xm-heatmap"' in html and 'id="xm-heatmap-legend"' in html
    else:
        assert 'id="xm-heatmap-none"' in html


def test_a_survey_filter_opens_on_its_own_metric(client, xm_manager) -> None:  # noqa: ANN001
    world, survey = _shop()
    client.force_login(xm_manager)
    page = _page(client, "shop", survey=str(survey.pk)).context
    assert page["metric"] == "csat"
    assert page["headline"] == {
        "group": None,
        "score": 40.0,
        "n": 10,
        "margin": pytest.approx(d.csat(top2=4, n=10).margin),
    }
    # An explicit metric wins, and the relationship survey opens on NPS.
    assert _page(client, "shop", survey=str(survey.pk), metric="ces").context["metric"] == "ces"
    assert _page(client, "shop", survey=str(world.survey.pk)).context["metric"] == "nps"


def test_a_bad_or_unsupported_metric_falls_back_with_the_reset_note(client, xm_manager) -> None:  # noqa: ANN001
    _shop(events=False)
    client.force_login(xm_manager)
    for bad in ("bogus", "trial_to_paid", "enps"):
        response = _page(client, "shop", metric=bad)
        html = response.content.decode()
        if bad == "enps":  # the same question: NPS in a customer audience
            assert response.context["metric"] == "nps"
            continue
        assert response.context["metric"] == "nps"
        assert "Some filters were not valid and were reset" in html


def test_means_never_pool_scales(client, xm_manager) -> None:  # noqa: ANN001
    _world, survey = _shop()
    client.force_login(xm_manager)
    # CES: 24 answers on 1–5 (relationship survey), 10 on 1–7 (checkout survey).
    page = _page(client, "shop", metric="ces")
    assert page.context["scale"] == 5
    assert page.context["headline"]["n"] == 24
    assert page.context["other_scales"] == [{"scale": 7, "n": 10}]
    assert 'id="xm-other-scales"' in page.content.decode()
    alone = _page(client, "shop", metric="ces", survey=str(survey.pk)).context
    assert (alone["scale"], alone["headline"]["n"], alone["other_scales"]) == (7, 10, [])
    assert alone["trend"]["high"] == 7.0 and alone["trend"]["low"] == 1.0


def test_the_trend_draws_its_margin_as_a_band_inside_the_chart(client, xm_manager) -> None:  # noqa: ANN001
    _shop()
    client.force_login(xm_manager)
    response = _page(client, "shop", metric="nps")
    trend = response.context["trend"]
    assert trend["band"], "several weeks with a margin make a band"
    for polygon in trend["band"]:
        ys = [float(p.split(",")[1]) for p in polygon.split()]
        assert all(0 <= y <= 200 for y in ys)  # clipped to −100…100
    html = response.content.decode()
    assert 'class="xm-band"' in html
    assert "NPS (−100 to 100)" in html and ">Week</text>" in html


def test_the_margin_band_gives_a_lone_point_an_error_bar() -> None:
    from metrics.dashboard import margin_band

    polygons, bars = margin_band(
        [10.0, None, 50.0, 60.0], [5.0, None, 200.0, 1.0], low=0, high=100, w=300, h=100
    )
    assert bars == [{"x": 0.0, "y1": 85.0, "y2": 95.0}]
    # 50 ± 200 is clipped to the chart: 100 at the top, 0 at the bottom.
    assert polygons == ["200.0,0.0 300.0,39.0 300.0,41.0 200.0,100.0"]


def test_heatmap_cells_and_stage_aggregates_carry_band_n_and_margin(client, xm_manager) -> None:  # noqa: ANN001
    _shop()
    client.force_login(xm_manager)
    context = _page(client, "shop", metric="csat").context
    rows = {row["stage"].name: row for row in context["heatmap"]}
    purchase = rows["Purchase"]
    [checkout] = purchase["cells"]
    # The stage's aggregate is its touchpoints' answers together.
    assert purchase["total"]["n"] == checkout["n"] == 22  # 12 relationship + 10 checkout CSAT
    assert purchase["total"]["score"] == checkout["score"]
    assert checkout["bucket"] == catalog.bucket("csat", checkout["score"])
    assert checkout["margin"] == pytest.approx(
        d.csat(top2=round(checkout["score"] * 22 / 100), n=22).margin
    )
    assert rows["Care"]["total"]["empty"]
    assert [b["bucket"] for b in context["legend"]] == [0, 1, 2, 3, 4]


def test_colour_bands_are_diverging_and_follow_the_better_direction() -> None:
    assert [catalog.bucket("nps", v) for v in (-100, -50, 0, 50, 100)] == [0, 1, 2, 3, 4]
    assert catalog.bucket("ces", 7, scale=7) == 4 and catalog.bucket("ces", 1, scale=7) == 0
    assert catalog.bucket("churn_rate", 95) == 0 and catalog.bucket("churn_rate", 1) == 4


def test_chart_csv_downloads_figures_without_text_or_audit(client, xm_manager) -> None:  # noqa: ANN001
    _shop()
    client.force_login(xm_manager)
    url = reverse("metrics:audience", args=["shop"])
    logged = AuditLog.objects.count()
    trend = client.get(url, {"metric": "csat", "format": "csv", "chart": "trend"})
    assert trend.status_code == 200 and trend["Content-Type"].startswith("text/csv")
    assert 'filename="shop-trend-csat.csv"' in trend["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(trend.content.decode())))
    assert rows[0][:4] == ["period_start", "period", "metric", "scale"]
    assert {r[2] for r in rows[1:]} == {"csat"}
    heatmap = client.get(url, {"metric": "csat", "format": "csv", "chart": "heatmap"})
    text = heatmap.content.decode()
    assert "Checkout" in text and "said" not in text
    assert client.get(url, {"format": "csv", "chart": "worst"}).status_code == 200
    assert client.get(url, {"format": "csv", "chart": "nope"}).status_code == 400
    assert AuditLog.objects.count() == logged
    # The page links each chart's CSV (it works without JavaScript).
    html = client.get(url, {"metric": "csat"}).content.decode()
    assert "metric=csat&amp;format=csv&amp;chart=trend" in html
    assert "metrics/charts.js" in html and "<script>" not in html


def test_chart_csv_obeys_the_pages_access(client, xm_manager, django_user_model) -> None:  # noqa: ANN001
    from audiences.models import Role
    from tests.access.conftest import staff_with_grant

    world, _survey = _shop()
    other = build_world("others")
    viewer = staff_with_grant("viewer", other.audience, Role.VIEWER, xm_manager)
    client.force_login(viewer)
    url = reverse("metrics:audience", args=[world.audience.slug])
    assert client.get(url, {"format": "csv", "chart": "trend"}).status_code == 404


def test_index_cards_follow_the_picker(client, xm_manager) -> None:  # noqa: ANN001
    _shop()
    team = build_world("team", kind="employee", touchpoints=(("desk", "Work"),))
    add_responses(team, [{"nps": 9, "ces": 4}] * 3)
    client.force_login(xm_manager)
    cards = {
        c["audience"].slug: c
        for c in client.get(reverse("metrics:index"), {"metric": "ces"}).context["cards"]
    }
    assert cards["shop"]["metric"] == "ces" and cards["shop"]["scale"] == 5
    assert cards["shop"]["row"]["n"] == 24
    assert cards["team"]["metric"] == "ces"
    nps = {
        c["audience"].slug: c["metric"]
        for c in client.get(reverse("metrics:index"), {"metric": "nps"}).context["cards"]
    }
    assert nps == {"shop": "nps", "team": "enps"}
    text = client.get(reverse("metrics:index"), {"format": "csv"}).content.decode()
    assert text.splitlines()[0].startswith("audience,metric,scale,value,n,margin_95")


@pytest.mark.parametrize("metric", ["nps", "ces", "response_rate", "churn_rate"])
def test_the_page_costs_bounded_queries_whatever_the_metric(
    client, xm_manager, django_assert_max_num_queries, metric
) -> None:  # noqa: ANN001
    _shop()
    client.force_login(xm_manager)
    with django_assert_max_num_queries(21):
        _page(client, "shop", metric=metric)


def test_insight_links_name_only_routed_pages() -> None:
    world = build_world("linked")
    links = {link["name"] for link in insight_links(world.audience)}
    from django.urls import NoReverseMatch, reverse

    for name in ("drivers", "topics", "ex_cx"):
        try:
            reverse(f"metrics:{name}", kwargs={"slug": "linked"})
            routed = True
        except NoReverseMatch:
            try:
                reverse(f"metrics:{name}")
                routed = True
            except NoReverseMatch:
                routed = False
        assert (name in links) == routed


def test_operational_margins() -> None:
    assert d.share(hits=1, n=4).margin == pytest.approx(1.96 * (0.25 * 0.75 / 4) ** 0.5 * 100)
    assert d.share(hits=5, n=4) == d.Score(value=125.0, n=4, margin=None)
    # Equal handling times: no spread, no margin; a ratio over one row has none at all.
    same = d.ratio_of_sums(clusters=3, x=300, y=3, xx=3 * 100**2, yy=3, xy=300, n=3)
    assert (same.value, same.margin) == (100.0, 0.0)
    assert d.ratio_of_sums(clusters=1, x=10, y=1, xx=100, yy=1, xy=10, n=1).margin is None


@pytest.mark.parametrize("metric", ["churn_rate", "retention_rate", "aht", "fcr", "clv"])
def test_operational_figures_on_the_page_equal_the_apis(client, xm_manager, metric) -> None:  # noqa: ANN001
    from metrics.selectors import series

    world, _survey = _shop()
    client.force_login(xm_manager)
    context = _page(client, "shop", metric=metric, period="30").context
    if metric == "clv":
        assert context["metric"] == "nps"  # no purchases: not offered, the default instead
        return
    start = TODAY - dt.timedelta(days=29)
    [whole] = series.operation_rows(
        audience=world.audience, metric=metric, by=None, date_from=start, date_to=TODAY
    )
    assert context["headline"] == whole
    weekly = series.operation_rows(
        audience=world.audience, metric=metric, by="week", date_from=start, date_to=TODAY
    )
    assert [{k: v for k, v in r.items() if k != "label"} for r in context["trend"]["rows"]] == (
        weekly
    )


def test_small_rates_get_an_axis_that_shows_them() -> None:
    assert catalog.value_range("churn_rate", [(1.8, 0.7), (2.1, 0.7)]) == (0.0, 3.0)
    assert catalog.value_range("fcr", [(68.4, 3.7)]) == (0.0, 80.0)
    assert catalog.value_range("response_rate", [(97.0, 4.0)]) == (0.0, 100.0)
    assert catalog.value_range("aht", [(960.0, 39.0)]) == (0.0, 1000.0)
    assert catalog.value_range("nps", [(5.0, 3.0)]) == (-100.0, 100.0)
