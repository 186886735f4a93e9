"""The workspace home: the setup checklist ticks itself from the data, what needs attention
comes from the data of the user's audiences only, as counts, never a person or an answer."""

import re

import pytest
from django.test import RequestFactory
from django.utils import timezone

from audiences.models import Role
from journeys.models import Journey
from surveys.models import Question, QuestionType, Response, Survey
from tests.factories import make_audience
from tests.metrics.conftest import add_responses, build_world
from tests.surveys.distribution_factories import make_rule
from tests.workspace.support import (
    PERSON_MARK,
    STAFF_MARK,
    busy_workspace,
    grant,
    staff_user,
)
from xmplatform.workspace.home import home_context, setup_checklist

pytestmark = pytest.mark.django_db


def request_for(user):  # noqa: ANN001, ANN201
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def ticks(user) -> dict[str, bool]:  # noqa: ANN001
    return {step.key: step.done for step in setup_checklist(request_for(user))}


def text(response) -> str:  # noqa: ANN001
    return re.sub(r"\s+", " ", response.content.decode())


# --- The setup checklist -------------------------------------------------------------------


def test_a_new_install_shows_five_open_steps_each_linking_where_it_is_done(client, xm_manager):
    client.force_login(xm_manager)
    page = text(client.get("/admin/"))

    steps = setup_checklist(request_for(xm_manager))
    assert [(s.key, s.done, s.url) for s in steps] == [
        ("audience", False, "/admin/audiences/audience/add/"),
        ("journey", False, "/admin/journeys/journey/add/"),
        ("survey", False, "/admin/surveys/survey/from-template/"),
        ("rule", False, "/admin/surveys/distributionrule/add/"),
        ("response", False, "/admin/surveys/response/"),
    ]
    assert 'id="xm-setup"' in page
    assert '<span class="xm-progress" id="xm-setup-progress">0 of 5 done</span>' in page
    assert (
        '<a class="button" href="/admin/surveys/survey/from-template/">Choose a template</a>'
        in page
    )


def test_each_step_ticks_itself_from_the_data(xm_manager):
    assert set(ticks(xm_manager).values()) == {False}

    audience = make_audience("fans", kind="fan")  # an audience always has an owner
    assert ticks(xm_manager)["audience"] is True

    Journey.objects.create(audience=audience, name="Match day")
    assert ticks(xm_manager)["journey"] is True

    survey = Survey.objects.create(audience=audience, name="Match day NPS")
    assert ticks(xm_manager)["survey"] is False  # a survey without questions is not done
    Question.objects.create(survey=survey, key="nps", type=QuestionType.NPS, order=1)
    assert ticks(xm_manager)["survey"] is True

    make_rule(survey)
    assert ticks(xm_manager)["rule"] is True

    Response.objects.create(survey=survey, audience=audience, channel="web", released=False)
    assert ticks(xm_manager)["response"] is False  # not completed
    Response.objects.filter(survey=survey).update(completed_on=timezone.localdate())
    assert ticks(xm_manager)["response"] is False  # an anonymous batch not yet released
    Response.objects.filter(survey=survey).update(released=True)
    assert ticks(xm_manager) == dict.fromkeys(
        ("audience", "journey", "survey", "rule", "response"), True
    )


def test_a_finished_setup_leaves_the_checklist_off_the_home(client, xm_manager):
    world = build_world("customers")
    make_rule(world.survey)
    add_responses(world, [{"nps": 9}])
    client.force_login(xm_manager)

    page = text(client.get("/admin/"))

    assert 'id="xm-setup"' not in page
    assert 'id="xm-attention"' in page


def test_the_checklist_of_a_scoped_manager_reads_their_audiences_only(client):
    mine = build_world("customers")
    theirs = build_world("dealers")
    make_rule(theirs.survey)
    add_responses(theirs, [{"nps": 9}])
    manager = staff_user("manager")
    grant(manager, mine, Role.MANAGER)

    assert ticks(manager) == {
        "audience": True,
        "journey": True,
        "survey": True,
        "rule": False,
        "response": False,
    }
    steps = {s.key: s for s in setup_checklist(request_for(manager))}
    assert steps["rule"].url == "/admin/surveys/distributionrule/add/"
    client.force_login(manager)
    assert "3 of 5 done" in text(client.get("/admin/"))


def test_a_viewer_who_sets_nothing_up_gets_no_checklist(client):
    world = build_world("customers")
    viewer = staff_user("viewer")
    grant(viewer, world, Role.VIEWER)
    client.force_login(viewer)

    page = text(client.get("/admin/"))

    assert home_context(request_for(viewer))["checklist"] == []
    assert 'id="xm-setup"' not in page
    assert 'id="xm-attention-none"' in page


# --- Needs attention -----------------------------------------------------------------------


def test_what_needs_attention_comes_from_the_data(client, xm_manager):
    now = timezone.now()
    workspace = busy_workspace(now)
    client.force_login(xm_manager)

    home = home_context(request_for(xm_manager), now=now)
    page = text(client.get("/admin/"))

    # Both audiences' open cases past due; none of them the superuser's own.
    assert home["overdue"] == {"total": 4, "mine": 0}
    assert "4 overdue cases" in page
    assert 'href="/admin/metrics/case/?state=overdue"' in page
    # A superuser reconciles every survey's unknown deliveries, the anonymous pulse's too.
    assert home["delivery_unknown"] == 2
    assert "2 invitations with delivery unknown" in page
    customers, staff = workspace.customers.survey, workspace.staff.survey
    assert home["mostly_suppressed"] == [
        {
            "survey": survey.name,
            "suppressed": 12,
            "total": 16,
            "url": f"/admin/surveys/distributionrule/panel/{survey.pk}/",
        }
        for survey in sorted((customers, staff), key=lambda s: s.pk)
    ]
    assert "12 of 16 invitations in the last 30 days were suppressed" in page
    [change] = home["score_changes"]
    assert (change["audience"], change["metric"], change["delta"], change["up"]) == (
        "Customers",
        "NPS",
        200.0,
        True,
    )
    assert change["url"] == "/admin/metrics/customers/"
    assert "100.0 (n = 40), was -100.0: a change beyond the margin of error." in page


def test_an_owner_sees_how_many_overdue_cases_are_theirs(client):
    workspace = busy_workspace(timezone.now())
    owner = workspace.customers.audience.owner
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    client.force_login(owner)

    page = text(client.get("/admin/"))

    assert "2 overdue cases" in page
    assert "1 of them is yours." in page
    assert "1 overdue" in page  # on the "My open cases" shortcut


def test_a_scoped_analyst_sees_only_their_audiences_and_no_one_by_name(client):
    now = timezone.now()
    workspace = busy_workspace(now)
    analyst = staff_user("cx")
    grant(analyst, workspace.customers, Role.ANALYST)
    client.force_login(analyst)

    home = home_context(request_for(analyst), now=now)
    page = client.get("/admin/").content.decode()

    assert home["overdue"] == {"total": 2, "mine": 0}
    assert home["delivery_unknown"] == 1
    assert [row["survey"] for row in home["mostly_suppressed"]] == ["customers survey"]
    assert [c["audience"] for c in home["score_changes"]] == ["Customers"]
    assert STAFF_MARK not in page
    # Counts only: no case title, no person.
    assert PERSON_MARK not in page
    assert "late delivery" not in page and "refund" not in page


def test_an_anonymous_surveys_unknown_deliveries_are_left_out_below_superuser(client):
    now = timezone.now()
    workspace = busy_workspace(now)
    hr = staff_user("hr")
    grant(hr, workspace.staff, Role.MANAGER)

    home = home_context(request_for(hr), now=now)

    # As on the reconcile page, which lists none of an anonymous survey's invitations.
    assert home["delivery_unknown"] == 0
    assert home["overdue"] == {"total": 2, "mine": 0}
    # A published score of the anonymous pulse would show; an open period never does.
    assert home["score_changes"] == []


def test_a_viewer_gets_scores_but_no_cases_or_invitations(client):
    now = timezone.now()
    workspace = busy_workspace(now)
    viewer = staff_user("viewer")
    grant(viewer, workspace.customers, Role.VIEWER)
    client.force_login(viewer)

    home = home_context(request_for(viewer), now=now)
    page = text(client.get("/admin/"))

    assert (home["overdue"], home["delivery_unknown"], home["mostly_suppressed"]) == (
        None,
        None,
        None,
    )
    assert [c["audience"] for c in home["score_changes"]] == ["Customers"]
    assert 'id="xm-my-cases"' not in page
    assert 'id="xm-my-report"' in page
    assert "overdue" not in page


def test_a_user_without_grants_sees_nothing_of_any_audience(client):
    busy_workspace(timezone.now())
    nobody = staff_user("nobody")
    client.force_login(nobody)

    page = client.get("/admin/").content.decode()

    assert 'id="xm-attention-none"' in page
    assert STAFF_MARK not in page and "Customers" not in page


def test_the_home_reads_a_fixed_number_of_queries(client, xm_manager, django_assert_num_queries):
    now = timezone.now()
    busy_workspace(now)
    for slug in ("dealers", "suppliers"):  # more audiences and surveys cost no more queries
        build_world(slug)
    client.force_login(xm_manager)

    # Session, user; the checklist's five exists(); overdue cases; delivery unknown; the
    # suppressed surveys' grouped counts and their names; score changes: the audiences, then
    # the weekly report's reads (its audiences, questions, surveys, periods, the named
    # figures, overdue cases: two); the recent actions.
    with django_assert_num_queries(20):
        response = client.get("/admin/")
    assert response.status_code == 200


def test_the_home_keeps_its_links_to_the_dashboard_cases_and_report(client, xm_manager):
    client.force_login(xm_manager)

    page = client.get("/admin/").content.decode()

    assert 'id="metrics-dashboard-link"' in page
    assert 'href="/admin/metrics/"' in page
    assert 'id="xm-my-cases" href="/admin/metrics/case/?assigned=me&amp;state=open"' in page
    assert 'id="xm-my-report" href="/admin/metrics/reports/weekly/"' in page


def test_the_home_is_in_turkish_for_a_turkish_reader(client, xm_manager):
    client.force_login(xm_manager)

    page = text(client.get("/admin/", HTTP_ACCEPT_LANGUAGE="tr"))

    assert '<html lang="tr"' in page
    assert "0 / 5 tamamlandı" in page
    assert "Dikkat gerektirenler" in page
