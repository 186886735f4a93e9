"""The navigation by work: groups in the team's order, each entry only for who may open it,
the current page marked; the site's root and favicon; the brand on every admin page."""

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.test import RequestFactory
from django.utils import translation

from audiences.models import Role
from tests.metrics.conftest import build_world
from tests.workspace.support import grant, staff_user
from xmplatform.workspace.navigation import GROUPS, NOT_IN_NAVIGATION, navigation_for

pytestmark = pytest.mark.django_db


def nav(user, path: str = "/admin/") -> list[dict]:  # noqa: ANN001
    request = RequestFactory().get(path)
    request.user = user
    with translation.override("en"):
        return [{**g, "label": str(g["label"])} for g in navigation_for(request)]


def labels(groups: list[dict]) -> dict[str, list[str]]:
    return {g["key"]: [e["label"] for e in g["entries"]] for g in groups}


def test_a_superuser_finds_the_work_in_six_groups_and_schedules_under_settings(xm_manager):
    groups = nav(xm_manager)

    assert [str(g["label"]) for g in groups] == [
        "Audiences & journeys",
        "Surveys",
        "Distribution",
        "Insights",
        "Closed loop",
        "Settings",
    ]
    found = labels(groups)
    assert found["surveys"] == ["Surveys", "New survey from a template", "Responses"]
    assert found["insights"][:2] == ["Experience dashboard", "EX ↔ CX"]
    assert found["closedloop"][:2] == ["My open cases", "Cases"]
    settings_work = [
        "Users",
        "Groups",
        "Audience grants",
        "API keys",
        "Webhooks",
        "Webhook deliveries",
        "Schedules",
    ]
    # In this order; the sign-in's accounts and devices sit among them when installed.
    assert [label for label in found["settings"] if label in settings_work] == settings_work
    every = [label for entries in found.values() for label in entries]
    for part in ("Clocked", "Crontabs", "Intervals", "Solar events", "Periodic tasks"):
        assert part not in every


def test_every_admin_model_has_a_place_in_the_navigation_or_is_reached_from_one():
    placed = {entry.model for group in GROUPS for entry in group.entries if entry.model}
    registered = {model._meta.label_lower for model in admin.site._registry}

    assert registered - placed == NOT_IN_NAVIGATION


def test_an_hr_analyst_sees_their_work_and_no_settings_but_their_report():
    world = build_world("staff")
    analyst = staff_user("hr")
    grant(analyst, world, Role.ANALYST)

    found = labels(nav(analyst))

    assert found == {
        "audiences": [
            "Audiences",
            "People",
            "Memberships",
            "Consents",
            "Journeys",
            "Stages",
            "Touchpoints",
            "Touchpoint events",
        ],
        "surveys": ["Surveys", "Responses"],
        "distribution": [
            "Distribution rules",
            "Invitations",
            "Fatigue policies",
            "Survey load",
            "Delivery unknown",
        ],
        "insights": ["Experience dashboard", "EX ↔ CX", "Topics"],
        "closedloop": ["My open cases", "Cases", "Alerts", "Alert rules", "Root causes"],
        "settings": ["My weekly report", "Your settings"],
    }


def test_a_viewer_sees_scores_and_the_structure_only():
    world = build_world("customers")
    viewer = staff_user("viewer")
    grant(viewer, world, Role.VIEWER)

    found = labels(nav(viewer))

    assert found == {
        "audiences": ["Audiences", "Journeys", "Stages", "Touchpoints"],
        "surveys": ["Surveys"],
        "insights": ["Experience dashboard", "EX ↔ CX"],
        "settings": ["My weekly report", "Your settings"],
    }


def test_a_user_who_is_not_staff_gets_no_navigation(outsider, client):
    assert nav(outsider) == []


def test_the_current_page_is_marked_and_its_group_opened(xm_manager):
    groups = nav(xm_manager, "/admin/surveys/survey/3/change/")
    current = [(g["key"], e["label"]) for g in groups for e in g["entries"] if e["current"]]
    assert current == [("surveys", "Surveys")]
    assert [g["key"] for g in groups if g["current"]] == ["surveys"]

    request = RequestFactory().get("/admin/metrics/case/", {"assigned": "me", "state": "open"})
    request.user = xm_manager
    with translation.override("en"):
        groups = navigation_for(request)
    current = [e["label"] for g in groups for e in g["entries"] if e["current"]]
    assert current == ["My open cases"]

    current = [e["label"] for g in nav(xm_manager, "/admin/metrics/case/") for e in g["entries"]]
    marked = [
        e["label"]
        for g in nav(xm_manager, "/admin/metrics/case/")
        for e in g["entries"]
        if e["current"]
    ]
    assert "Cases" in current and marked == ["Cases"]

    marked = [
        e["label"]
        for g in nav(xm_manager, "/admin/metrics/customers/")
        for e in g["entries"]
        if e["current"]
    ]
    assert marked == ["Experience dashboard"]


def test_every_admin_page_carries_the_brand_the_navigation_and_the_icon(client, xm_manager):
    client.force_login(xm_manager)

    for path in ("/admin/", "/admin/surveys/survey/", "/admin/metrics/"):
        page = client.get(path).content.decode()
        assert '<div id="site-name"><a href="/admin/">' in page, path
        assert "<span>xmplatform</span>" in page, path
        assert '<nav id="xm-nav" aria-label="Workspace">' in page, path
        assert '<link rel="icon" href="/static/workspace/favicon.svg" type="image/svg+xml">' in page
        assert 'href="/static/workspace/workspace.css"' in page
        assert "Django administration" not in page
    survey_list = client.get("/admin/surveys/survey/").content.decode()
    assert '<details class="xm-nav-group" id="xm-nav-surveys" open>' in survey_list
    assert "| xmplatform</title>" in survey_list


def test_the_log_in_page_has_the_brand_but_no_navigation(client):
    page = client.get("/admin/login/").content.decode()

    assert "<span>xmplatform</span>" in page
    assert 'id="xm-nav"' not in page
    assert 'id="xm-nav-toggle"' not in page


def test_the_root_leads_to_the_workspace_and_the_favicon_is_served(client, xm_manager):
    root = client.get("/")
    assert (root.status_code, root["Location"]) == (302, "/admin/")
    # Signed out, the admin sends the visitor to its log-in.
    assert client.get("/", follow=True).redirect_chain[-1] == ("/admin/login/?next=/admin/", 302)

    icon = client.get("/favicon.ico")
    assert (icon.status_code, icon["Location"]) == (302, "/static/workspace/favicon.ico")
    assert finders.find("workspace/favicon.ico")
    assert open(finders.find("workspace/favicon.ico"), "rb").read(4) == b"\x00\x00\x01\x00"

    # The admin's "View site" link is the root.
    client.force_login(xm_manager)
    assert '<a href="/">View site</a>' in client.get("/admin/").content.decode()
