"""Reordering a journey's stages from its map: the POST endpoint behind drag and drop and the
← → buttons (which work without JavaScript), its permission checks and its refusals."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audiences.models import AudienceGrant, Role
from journeys.models import Journey, Stage
from journeys.stage_order import stages_reorder
from tests.factories import make_audience

pytestmark = pytest.mark.django_db


@pytest.fixture
def journey() -> Journey:
    journey = Journey.objects.create(audience=make_audience("customers"), name="Customer journey")
    for order, name in enumerate(("Awareness", "Purchase", "Support"), 1):
        Stage.objects.create(journey=journey, name=name, order=order)
    return journey


def _names(journey: Journey) -> list[str]:
    return list(journey.stages.order_by("order", "id").values_list("name", flat=True))


def _ids(journey: Journey, *names: str) -> list[int]:
    by_name = dict(journey.stages.values_list("name", "pk"))
    return [by_name[name] for name in names]


def _url(journey: Journey) -> str:
    return reverse("admin:journeys_journey_stage_order", args=[journey.pk])


def _user(django_user_model, journey: Journey, role: int, name: str = "someone"):  # noqa: ANN001, ANN202
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    AudienceGrant.objects.create(user=user, audience=journey.audience, role=role)
    return user


JSON = {"HTTP_ACCEPT": "application/json"}


def test_a_dragged_order_is_stored_whole_and_numbered_from_one(client, xm_manager, journey) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    order = _ids(journey, "Support", "Awareness", "Purchase")

    response = client.post(_url(journey), {"stage": order}, **JSON)

    assert response.status_code == 200
    assert response.json() == {"order": order, "message": "Stage order saved."}
    assert list(journey.stages.order_by("order").values_list("name", "order")) == [
        ("Support", 1),
        ("Awareness", 2),
        ("Purchase", 3),
    ]


def test_the_order_is_written_by_one_update(journey, django_assert_num_queries) -> None:  # noqa: ANN001
    order = _ids(journey, "Purchase", "Support", "Awareness")
    # savepoint, lock the journey, read its stages, one UPDATE … CASE, release
    with django_assert_num_queries(5):
        stages_reorder(journey=journey, stage_ids=order)
    assert _names(journey) == ["Purchase", "Support", "Awareness"]


def test_the_move_buttons_work_without_javascript(client, xm_manager, journey) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    [purchase] = _ids(journey, "Purchase")

    response = client.post(_url(journey), {"move": purchase, "direction": "left"})

    change = reverse("admin:journeys_journey_change", args=[journey.pk])
    assert response.status_code == 302
    assert response["Location"] == f"{change}#journey-map-title"
    assert _names(journey) == ["Purchase", "Awareness", "Support"]
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Stage order saved."]

    # The last stage moved later stays last; nothing else moves.
    [support] = _ids(journey, "Support")
    client.post(_url(journey), {"move": support, "direction": "right"})
    assert _names(journey) == ["Purchase", "Awareness", "Support"]


def test_the_page_draws_move_forms_for_who_may_reorder(client, xm_manager, journey) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    html = client.get(reverse("admin:journeys_journey_change", args=[journey.pk])).content.decode()

    # Outside the journey's own form (no nested forms): one small form per stage.
    assert html.index('class="module journey-map"') < html.index('id="journey_form"')
    assert html.count(f'action="{_url(journey)}"') == 3
    assert html.count('draggable="true"') == 3
    assert html.count('name="csrfmiddlewaretoken"') >= 4
    assert 'data-direction="left" disabled' in html  # the first stage cannot go earlier


@pytest.mark.parametrize(
    "names, extra, message",
    [
        (("Support", "Awareness"), [], "have changed since this page was loaded"),
        (("Support", "Awareness", "Purchase", "Support"), [], "named twice"),
        ((), [], "Send the stages in their new order."),
        (("Support", "Awareness", "Purchase"), ["x1"], "“x1” is not a stage of this journey."),
    ],
)
def test_a_bad_order_is_refused_with_its_reason_and_nothing_moves(
    client,  # noqa: ANN001
    xm_manager,  # noqa: ANN001
    journey,  # noqa: ANN001
    names: tuple[str, ...],
    extra: list[str],
    message: str,
) -> None:
    client.force_login(xm_manager)

    response = client.post(_url(journey), {"stage": [*_ids(journey, *names), *extra]}, **JSON)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert _names(journey) == ["Awareness", "Purchase", "Support"]


def test_a_stage_of_another_journey_is_refused(client, xm_manager, journey) -> None:  # noqa: ANN001
    other = Journey.objects.create(audience=journey.audience, name="Other")
    foreign = Stage.objects.create(journey=other, name="Elsewhere", order=1)
    client.force_login(xm_manager)

    response = client.post(
        _url(journey), {"stage": [*_ids(journey, "Purchase", "Support"), foreign.pk]}, **JSON
    )

    assert response.status_code == 400
    assert _names(journey) == ["Awareness", "Purchase", "Support"]
    assert Stage.objects.get(pk=foreign.pk).order == 1


def test_a_bad_move_without_javascript_says_why_on_the_page(client, xm_manager, journey) -> None:  # noqa: ANN001
    client.force_login(xm_manager)
    [purchase] = _ids(journey, "Purchase")

    response = client.post(_url(journey), {"move": purchase, "direction": "up"}, follow=True)

    assert response.status_code == 200
    assert "Move a stage left or right." in response.content.decode()
    assert _names(journey) == ["Awareness", "Purchase", "Support"]


def test_a_viewer_or_analyst_may_not_reorder(client, django_user_model, journey) -> None:  # noqa: ANN001
    for role in (Role.VIEWER, Role.ANALYST):
        client.force_login(_user(django_user_model, journey, role, f"user-{role}"))
        page = client.get(reverse("admin:journeys_journey_change", args=[journey.pk]))
        assert page.status_code == 200
        assert 'draggable="true"' not in page.content.decode()

        response = client.post(
            _url(journey), {"stage": _ids(journey, "Support", "Purchase", "Awareness")}, **JSON
        )

        assert response.status_code == 403
        assert response.json() == {
            "error": "You may not change the order of this journey's stages."
        }
        without_script = client.post(_url(journey), {"move": _ids(journey, "Support")[0]})
        assert without_script.status_code == 403
    assert _names(journey) == ["Awareness", "Purchase", "Support"]


def test_a_manager_of_another_audience_cannot_reach_the_journey(
    client,  # noqa: ANN001
    django_user_model,  # noqa: ANN001
    journey,  # noqa: ANN001
) -> None:
    stranger = django_user_model.objects.create_user("stranger", password="x", is_staff=True)
    AudienceGrant.objects.create(user=stranger, audience=make_audience("staff"), role=Role.MANAGER)
    client.force_login(stranger)

    response = client.post(
        _url(journey), {"stage": _ids(journey, "Support", "Purchase", "Awareness")}, **JSON
    )

    assert response.status_code == 404
    assert _names(journey) == ["Awareness", "Purchase", "Support"]


def test_a_manager_of_the_audience_may_reorder(client, django_user_model, journey) -> None:  # noqa: ANN001
    client.force_login(_user(django_user_model, journey, Role.MANAGER))

    response = client.post(
        _url(journey), {"stage": _ids(journey, "Support", "Purchase", "Awareness")}, **JSON
    )

    assert response.status_code == 200
    assert _names(journey) == ["Support", "Purchase", "Awareness"]


def test_the_endpoint_takes_only_posts_with_a_csrf_token(xm_manager, journey) -> None:  # noqa: ANN001
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(xm_manager)
    order = _ids(journey, "Support", "Purchase", "Awareness")

    assert client.get(_url(journey)).status_code == 405
    assert client.post(_url(journey), {"stage": order}, **JSON).status_code == 403
    assert _names(journey) == ["Awareness", "Purchase", "Support"]
