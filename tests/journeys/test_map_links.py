"""A touchpoint's card on the journey map: its role in words, and links to its events, its
surveys and its scores that land on lists and a dashboard showing that touchpoint only."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from audiences.models import AudienceGrant, Role
from journeys.models import Journey, Touchpoint, TouchpointEvent
from surveys.distribution.models import DistributionRule
from surveys.models import Survey
from tests.factories import make_person
from tests.metrics.conftest import add_period, add_responses, anonymous_world, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():  # noqa: ANN201
    """Customers: checkout (a purchase) and delivery (a support request), answered on both."""
    world = build_world("customers")
    Touchpoint.objects.filter(slug="customers-checkout").update(role="purchase")
    Touchpoint.objects.filter(slug="customers-delivery").update(role="support_request")
    day = timezone.localdate() - dt.timedelta(days=3)
    add_responses(
        world,
        [{"nps": v, "touchpoint": "checkout", "day": day} for v in (10, 9, 9, 7, 3, 10)]
        + [{"nps": v, "touchpoint": "delivery", "day": day} for v in (2, 5, 6, 8, 9)],
    )
    return world


def _journey(world) -> Journey:  # noqa: ANN001
    return Journey.objects.get(audience=world.audience)


def _card(client, world, slug: str, lang: str = "en") -> str:  # noqa: ANN001
    url = reverse("admin:journeys_journey_change", args=[_journey(world).pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    start = html.index(f'data-touchpoint="{slug}"')
    return html[start : html.index("</li>", start)]


def _links(card: str) -> dict[str, str]:
    found = re.findall(r'class="journey-map-link" data-kind="(\w+)" href="([^"]+)"', card)
    return {kind: url.replace("&amp;", "&") for kind, url in found}


def _user(django_user_model, world, role: int, name: str):  # noqa: ANN001, ANN202
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    AudienceGrant.objects.create(user=user, audience=world.audience, role=role)
    return user


def test_a_card_links_to_its_events_surveys_and_scores(client, xm_manager, world) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    checkout = world.touchpoints["checkout"]

    links = _links(_card(client, world, "customers-checkout"))

    assert links == {
        "events": f"/admin/journeys/touchpointevent/?touchpoint={checkout.pk}",
        "surveys": f"/admin/surveys/survey/?touchpoint={checkout.pk}",
        "scores": f"/admin/metrics/customers/?touchpoint={checkout.pk}",
    }


def test_roles_read_as_words_in_the_admins_language(client, xm_manager, world) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    english = _card(client, world, "customers-delivery")
    turkish = _card(client, world, "customers-delivery", lang="tr")

    assert 'journey-map-role" title="Support request (attributes: ' in english
    assert ">Support request</span>" in english
    assert "support_request<" not in english + turkish
    assert ">Support request<" not in turkish
    assert re.search(r'journey-map-role" title="[^"]+">[^<_]+</span>', turkish)


def test_a_viewer_gets_the_links_a_viewer_may_open(client, django_user_model, world) -> None:  # noqa: ANN001
    client.force_login(_user(django_user_model, world, Role.VIEWER, "viewer"))

    links = _links(_card(client, world, "customers-checkout"))

    # Events are people's: analysts and above list them.
    assert set(links) == {"surveys", "scores"}
    assert client.get(links["scores"]).status_code == 200


def test_the_events_link_lists_that_touchpoints_events_only(
    client,  # noqa: ANN001
    django_user_model,  # noqa: ANN001
    world,  # noqa: ANN001
) -> None:
    person = make_person("p-1")
    now = timezone.now()
    for slug, key in (("checkout", "c-1"), ("checkout", "c-2"), ("delivery", "d-1")):
        TouchpointEvent.objects.create(
            person=person,
            touchpoint=world.touchpoints[slug],
            occurred_at=now,
            idempotency_key=key,
        )
    client.force_login(_user(django_user_model, world, Role.ANALYST, "analyst"))

    url = _links(_card(client, world, "customers-checkout"))["events"]
    html = client.get(url).content.decode()

    assert "c-1" in html and "c-2" in html and "d-1" not in html
    # The sidebar names the chosen touchpoint (not a list of every touchpoint).
    assert "Checkout" in html
    # Not a touchpoint id: nothing matches, no error page.
    assert client.get(url.replace(str(world.touchpoints["checkout"].pk), "x")).status_code == 200


def test_the_surveys_link_lists_surveys_about_or_triggered_by_it(
    client,  # noqa: ANN001
    django_user_model,  # noqa: ANN001
    world,  # noqa: ANN001
) -> None:
    checkout = world.touchpoints["checkout"]
    about = Survey.objects.create(
        audience=world.audience, name="About checkout", touchpoint=checkout
    )
    triggered = Survey.objects.create(audience=world.audience, name="After checkout")
    DistributionRule.objects.create(
        survey=triggered, name="After a checkout", kind="trigger", touchpoint=checkout
    )
    Survey.objects.create(
        audience=world.audience, name="About delivery", touchpoint=world.touchpoints["delivery"]
    )
    client.force_login(_user(django_user_model, world, Role.MANAGER, "manager"))

    html = client.get(_links(_card(client, world, "customers-checkout"))["surveys"]).content
    html = html.decode()

    assert about.name in html and triggered.name in html
    assert "About delivery" not in html and world.survey.name not in html


def test_the_scores_link_shows_that_touchpoints_scores(client, xm_manager, world) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    url = _links(_card(client, world, "customers-checkout"))["scores"]

    html = client.get(url).content.decode()

    headline = html[html.index('id="xm-headline"') :]
    assert "n = 6" in headline[:1500]
    assert "Scores and comments of the touchpoint “Customers-Checkout” (Purchase)." in html
    # The whole audience answers 11 times.
    whole = client.get(reverse("metrics:audience", args=["customers"])).content.decode()
    assert "n = 11" in whole[whole.index('id="xm-headline"') :][:1500]


def test_another_audiences_touchpoint_is_refused_with_a_reason(client, xm_manager, world) -> None:  # noqa: ANN001
    other = build_world("partners", touchpoints=(("visit", "Visit"),))
    client.force_login(xm_manager)

    response = client.get(
        reverse("metrics:audience", args=["customers"]),
        {"touchpoint": other.touchpoints["visit"].pk},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "That touchpoint is not on this audience&#x27;s journeys." in html
    assert "n = 11" in html  # the whole audience, as the page says


def test_an_anonymous_touchpoint_under_k_shows_no_score(client, xm_manager) -> None:  # noqa: ANN001
    """Filtered to a touchpoint, an anonymous survey still shows whole published blocks of at
    least k only: three answers on the touchpoint say "not enough responses", never a score."""
    world = anonymous_world("staff", touchpoints=(("payroll", "Growth"), ("review", "Growth")))
    start = timezone.localdate() - dt.timedelta(days=40)
    add_period(world.survey, start, start + dt.timedelta(days=13))
    add_responses(world, [{"nps": 10, "day": start}] * 3)
    client.force_login(xm_manager)

    html = client.get(
        reverse("metrics:audience", args=["staff"]),
        {"touchpoint": world.touchpoints["payroll"].pk, "period": "90"},
    ).content.decode()

    headline = html[html.index('id="xm-headline"') :][:1500]
    assert "not enough responses" in headline
    assert "n = 3" not in html
