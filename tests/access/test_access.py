"""Grants and roles: what a viewer, an analyst and a manager may do, and what is audited."""

import datetime as dt
import json

import pytest
from django.contrib.admin.utils import display_for_value
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences.access import AudienceRoleBackend, audience_ids, scope
from audiences.forms_brand import BRAND_FIELDS
from audiences.models import AudienceGrant, AuditAction, AuditLog, Person, Role
from audiences.services import grant_remove, grant_set
from metrics.services import rollups_rebuild
from surveys.models import Invitation, ReportingPeriod, Response, Survey
from tests.access.conftest import CUSTOMER_MARK, EMPLOYEE_MARK, staff_with_grant
from tests.factories import make_membership, make_person
from tests.surveys.distribution_factories import make_invitation

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


# --- Grants --------------------------------------------------------------------------------


def test_a_new_grant_makes_staff_audits_and_tells_the_owner(
    both, superuser, django_capture_on_commit_callbacks
):
    employees = both[0]["audience"]
    user = get_user_model().objects.create_user("newcomer", "new@example.com", "pw")

    with django_capture_on_commit_callbacks(execute=True):
        grant_set(user=user, audience=employees, role=Role.VIEWER, actor=superuser)

    user.refresh_from_db()
    assert user.is_staff is True
    assert [m.to for m in mail.outbox] == [[employees.owner.email]]
    assert "newcomer" in mail.outbox[0].subject
    entry = AuditLog.objects.get()
    assert (entry.action, entry.audience_id, entry.actor_username, entry.target) == (
        AuditAction.GRANT_ADDED,
        employees.pk,
        "xm.manager",
        "user newcomer",
    )


def test_changing_a_role_is_audited_without_a_second_mail(
    both, superuser, django_capture_on_commit_callbacks
):
    employees = both[0]["audience"]
    user = get_user_model().objects.create_user("newcomer", "new@example.com", "pw")
    grant_set(user=user, audience=employees, role=Role.VIEWER, actor=superuser)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        grant_set(user=user, audience=employees, role=Role.ANALYST, actor=superuser)
        grant_set(user=user, audience=employees, role=Role.ANALYST, actor=superuser)

    assert callbacks == []
    assert mail.outbox == []
    assert list(AuditLog.objects.order_by("id").values_list("action", "detail")) == [
        (AuditAction.GRANT_ADDED, {"user_id": user.pk, "role": 10, "previous_role": None}),
        (AuditAction.GRANT_CHANGED, {"user_id": user.pk, "role": 20, "previous_role": 10}),
    ]


def test_removing_a_grant_is_audited_and_ends_access(both, superuser, hr_analyst):
    grant = AudienceGrant.objects.get(user=hr_analyst)

    grant_remove(grant=grant, actor=superuser)

    fresh = get_user_model().objects.get(pk=hr_analyst.pk)
    assert audience_ids(fresh, Role.VIEWER) == []
    assert AuditLog.objects.filter(action=AuditAction.GRANT_REMOVED).count() == 1
    assert client_for(fresh).get("/admin/audiences/person/").status_code == 403


def test_the_grant_admin_saves_through_the_service(
    both, superuser, django_capture_on_commit_callbacks
):
    employees = both[0]["audience"]
    user = get_user_model().objects.create_user("via.admin", "via@example.com", "pw")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(superuser).post(
            "/admin/audiences/audiencegrant/add/",
            {"user": user.pk, "audience": employees.pk, "role": Role.MANAGER},
        )

    assert response.status_code == 302
    assert AudienceGrant.objects.get(user=user).role == Role.MANAGER
    assert AuditLog.objects.filter(action=AuditAction.GRANT_ADDED, actor=superuser).count() == 1
    assert len(mail.outbox) == 1


def test_grants_and_the_audit_log_are_for_superusers_only(both, hr_analyst, cx_manager):
    for user in (hr_analyst, cx_manager):
        client = client_for(user)
        assert client.get("/admin/audiences/audiencegrant/").status_code == 403
        assert client.get("/admin/audiences/auditlog/").status_code == 403


# --- Roles ---------------------------------------------------------------------------------


def test_permissions_follow_the_highest_role(both, hr_analyst, cx_viewer, superuser):
    backend = AudienceRoleBackend()
    outsider = get_user_model().objects.create_user("nobody", "n@example.com", "pw")
    viewer = get_user_model().objects.get(pk=cx_viewer.pk)

    assert backend.get_all_permissions(outsider) == set()
    assert viewer.has_perm("surveys.view_survey") is True
    assert viewer.has_perm("surveys.view_response") is False
    assert hr_analyst.has_perm("surveys.view_response") is True
    assert hr_analyst.has_perm("surveys.change_survey") is False
    grant_set(user=viewer, audience=both[0]["audience"], role=Role.MANAGER, actor=superuser)
    manager = get_user_model().objects.get(pk=viewer.pk)
    assert manager.has_perm("surveys.change_survey") is True
    # ...but only on the audience the manager role was granted for.
    assert audience_ids(manager, Role.MANAGER) == [both[0]["audience"].pk]
    assert audience_ids(manager, Role.ANALYST) == [both[0]["audience"].pk]
    assert audience_ids(manager, Role.VIEWER) == sorted(a["audience"].pk for a in both)


def test_a_viewer_cannot_export_or_read_responses(both, cx_viewer):
    customers = both[1]
    client = client_for(cx_viewer)
    survey = customers["survey"]

    assert client.get(f"/admin/surveys/survey/{survey.pk}/export/csv/").status_code == 403
    assert client.get(f"/admin/surveys/survey/{survey.pk}/export/xlsx/").status_code == 403
    assert client.get("/admin/surveys/response/").status_code == 403
    assert client.get("/admin/audiences/person/").status_code == 403
    changelist = client.get("/admin/surveys/survey/")
    assert changelist.status_code == 200
    assert changelist.context["action_form"] is None  # no export (nor any other) action
    change = client.get(f"/admin/surveys/survey/{survey.pk}/change/").content.decode()
    assert "xm-export-csv" not in change
    assert AuditLog.objects.filter(action=AuditAction.RESPONSES_EXPORTED).count() == 0


def test_a_viewer_sees_scores_but_no_verbatims(both, cx_viewer, cx_analyst):
    rollups_rebuild(date_from=timezone.localdate(), date_to=timezone.localdate())
    page = "/admin/metrics/customers/"
    viewer_page = client_for(cx_viewer).get(page, {"period": "all"})
    analyst_page = client_for(cx_analyst).get(page, {"period": "all"})

    assert viewer_page.status_code == 200
    assert viewer_page.context["verbatims"] == []
    assert viewer_page.context["headline"]["n"] == 6
    assert len(analyst_page.context["verbatims"]) == 6
    # Reading what people wrote is audited; the viewer read none.
    viewed = AuditLog.objects.filter(action=AuditAction.RESPONSES_VIEWED)
    assert list(viewed.values_list("actor_id", "action", "target")) == [
        (cx_analyst.pk, AuditAction.RESPONSES_VIEWED, "dashboard verbatims")
    ]


def test_an_analyst_export_is_audited(both, cx_analyst):
    survey = both[1]["survey"]

    response = client_for(cx_analyst).get(f"/admin/surveys/survey/{survey.pk}/export/csv/")

    assert response.status_code == 200
    assert CUSTOMER_MARK in b"".join(response.streaming_content).decode()
    entry = AuditLog.objects.get(action=AuditAction.RESPONSES_EXPORTED)
    assert (entry.actor_id, entry.audience_id, entry.target) == (
        cx_analyst.pk,
        survey.audience_id,
        f"survey {survey.pk}",
    )


def test_viewing_responses_is_audited_per_audience_shown(both, hr_analyst, superuser):
    employees, customers = both
    analyst = staff_with_grant("both.analyst", customers["audience"], Role.ANALYST, superuser)
    grant_set(user=analyst, audience=employees["audience"], role=Role.ANALYST, actor=superuser)
    viewed = AuditLog.objects.filter(action=AuditAction.RESPONSES_VIEWED).order_by("pk")

    # The list shows named responses only: an analyst of both audiences is audited for the
    # customers, and the HR analyst, who sees no anonymous row there, not at all.
    assert client_for(analyst).get("/admin/surveys/response/").status_code == 200
    assert client_for(hr_analyst).get("/admin/surveys/response/").status_code == 200
    summary = f"/admin/surveys/response/summary/{employees['survey'].pk}/"
    assert client_for(hr_analyst).get(summary).status_code == 200

    assert [(e.actor_id, e.audience_id, e.target) for e in viewed] == [
        (analyst.pk, customers["audience"].pk, "response list"),
        (hr_analyst.pk, employees["audience"].pk, f"survey {employees['survey'].pk} summary"),
    ]


def test_a_manager_may_only_pick_their_own_audiences_in_forms(both, cx_manager):
    employees, customers = both
    client = client_for(cx_manager)

    form = client.get("/admin/surveys/survey/add/").context["adminform"].form
    assert list(form.fields["audience"].queryset) == [customers["audience"]]
    response = client.post(
        "/admin/surveys/survey/add/",
        {"name": "Sneaky", "audience": employees["audience"].pk, "status": "draft"},
    )
    assert response.status_code == 200
    assert "audience" in response.context["adminform"].form.errors
    assert not Survey.objects.filter(name="Sneaky").exists()


def test_a_manager_cannot_change_another_audiences_survey(both, cx_manager):
    employees = both[0]
    client = client_for(cx_manager)

    url = f"/admin/surveys/survey/{employees['survey'].pk}/change/"
    assert client.get(url).status_code == 302  # "does not exist": redirected to the index
    assert client.post(url, {"name": "renamed"}).status_code == 302
    employees["survey"].refresh_from_db()
    assert employees["survey"].name == f"{EMPLOYEE_MARK} Survey"


def test_a_staff_user_without_grants_sees_no_rows_despite_model_permissions(both):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("legacy", "l@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_person"))

    response = client_for(user).get("/admin/audiences/person/")

    assert response.status_code == 403
    assert scope(Person.objects.all(), user=user).count() == 0


# --- A person in two audiences ------------------------------------------------------------


@pytest.fixture
def shared_person(both):  # noqa: ANN201
    """One human who is both an employee and a customer."""
    person = make_person("dual-1", name="Dual Person", email="dual@example.com")
    make_membership(person, both[0]["audience"], segment="HR-only-segment")
    make_membership(person, both[1]["audience"], segment="CX-only-segment")
    for data in both:
        make_invitation(data["survey"], person, state="sent")
    Response.objects.create(
        survey=both[1]["survey"],
        audience=both[1]["audience"],
        person=person,
        channel="email",
        language="en",
        completed_on=timezone.localdate(),
    )
    return person


def test_a_person_page_shows_only_the_granted_audiences(shared_person, hr_analyst, cx_analyst):
    hr_page = client_for(hr_analyst).get(f"/admin/audiences/person/{shared_person.pk}/change/")
    cx_page = client_for(cx_analyst).get(f"/admin/audiences/person/{shared_person.pk}/change/")

    hr_text, cx_text = hr_page.content.decode(), cx_page.content.decode()
    response_url = f"/admin/surveys/response/{shared_person.responses.get().pk}/change/"
    assert f"{EMPLOYEE_MARK} Survey" in hr_text  # the employee invitation
    assert response_url not in hr_text
    assert f"{CUSTOMER_MARK} Survey" in cx_text
    assert response_url in cx_text
    assert "HR-only-segment" in hr_text
    assert "CX-only-segment" not in hr_text
    assert CUSTOMER_MARK not in hr_text
    assert "CX-only-segment" in cx_text
    assert "HR-only-segment" not in cx_text
    assert EMPLOYEE_MARK not in cx_text


def test_a_person_in_another_audience_too_cannot_be_exported_or_erased_by_one_team(
    shared_person, hr_analyst
):
    client = client_for(hr_analyst)
    base = f"/admin/audiences/person/{shared_person.pk}"

    assert client.get(f"{base}/export/").status_code == 403
    assert client.post(f"{base}/erase/").status_code == 403
    assert Person.objects.filter(pk=shared_person.pk).exists()


def test_person_export_downloads_json_and_is_audited(both, cx_analyst):
    person = both[1]["people"][0]

    response = client_for(cx_analyst).get(f"/admin/audiences/person/{person.pk}/export/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="person-{person.pk}.json"'
    data = json.loads(response.content)
    assert data["person"]["email"] == person.email
    assert [m["audience"] for m in data["memberships"]] == ["customers"]
    entry = AuditLog.objects.get(action=AuditAction.PERSON_EXPORTED)
    assert (entry.target, entry.audience_id) == (f"person {person.pk}", both[1]["audience"].pk)


def test_an_anonymous_surveys_invitation_says_answered_never_when(both, hr_analyst, cx_analyst):
    employees, customers = both
    when = dt.datetime(2026, 3, 17, 13, 45, tzinfo=dt.UTC)
    Invitation.objects.update(opened_at=when, responded_at=when)
    ReportingPeriod.objects.create(  # shown as answered once its period is published
        survey=employees["survey"],
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 31),
        published_at=timezone.now(),
    )
    shown = str(display_for_value(when, "-"))  # a time as the admin renders it
    times = [("responded", when.isoformat(), when.isoformat())]
    pages = {}
    for user, data in ((hr_analyst, employees), (cx_analyst, customers)):
        client, person = client_for(user), data["people"][0]
        page = client.get(f"/admin/audiences/person/{person.pk}/change/").content.decode()
        exported = json.loads(client.get(f"/admin/audiences/person/{person.pk}/export/").content)
        rows = [(i["state"], i["opened_at"], i["responded_at"]) for i in exported["invitations"]]
        pages[data["audience"].slug] = (page, rows)

    # The HR analyst learns that the employee answered the anonymous survey, never when.
    hr_page, hr_rows = pages["employees"]
    assert "Yes (an anonymous survey keeps no time of answering)" in hr_page
    assert shown not in hr_page
    assert hr_rows == [("responded", None, None)]
    # A named survey's invitation keeps its times, rendered the same way.
    cx_page, cx_rows = pages["customers"]
    assert shown in cx_page
    assert cx_rows == times


def test_erasure_needs_a_manager_and_a_confirmation(
    both, cx_analyst, cx_manager, django_capture_on_commit_callbacks
):
    person = both[1]["people"][0]
    url = f"/admin/audiences/person/{person.pk}/erase/"

    assert client_for(cx_analyst).post(url).status_code == 403
    manager = client_for(cx_manager)
    confirm = manager.get(url)
    assert confirm.status_code == 200
    assert "Yes, erase" in confirm.content.decode()
    assert Person.objects.filter(pk=person.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):  # the apps above finish it
        done = manager.post(url)

    assert done.status_code == 302
    assert not Person.objects.filter(pk=person.pk).exists()
    entry = AuditLog.objects.get(action=AuditAction.PERSON_ERASED)
    assert (entry.target, entry.actor_id) == (f"person {person.pk}", cx_manager.pk)
    assert person.email not in json.dumps(list(AuditLog.objects.values("target", "detail")))


def test_a_plain_delete_of_a_person_is_not_offered(both, superuser):
    person = both[1]["people"][0]
    response = client_for(superuser).get(f"/admin/audiences/person/{person.pk}/delete/")
    assert response.status_code == 403


# --- Query counts of the scoped changelists -------------------------------------------------


# Every page: session, user, the user's and their groups' permissions (ModelBackend), the
# grants (read once per request); then the page's own queries, listed per URL.
@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # count, page
        ("/admin/audiences/person/", 5 + 2),
        # audience filter choices, count, page, segment filter choices
        ("/admin/audiences/membership/", 5 + 4),
        # the user's surveys' ids, survey filter choices, count, page
        ("/admin/surveys/invitation/", 5 + 4),
        # the anonymous surveys' summary links, audience and survey filter choices, count,
        # page (no audit INSERT: the HR analyst is shown no response one by one)
        ("/admin/surveys/response/", 5 + 5),
        # the user's touchpoints' ids, count, page
        ("/admin/journeys/touchpointevent/", 5 + 3),
    ],
)
def test_scoped_changelists_run_a_fixed_number_of_queries(
    both, hr_analyst, url, queries, django_assert_num_queries
):
    client = client_for(hr_analyst)
    client.get(url)  # warm caches (content types, site)
    if connection.vendor == "postgresql":
        queries += 3  # the bounded count: SAVEPOINT, SET LOCAL statement_timeout, RELEASE
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


def test_the_staff_preview_opens_only_the_users_audiences_surveys(both, hr_analyst):
    employees, customers = both
    client = client_for(hr_analyst)

    own = client.get(f"/s/preview/{employees['survey'].pk}/")
    other = client.get(f"/s/preview/{customers['survey'].pk}/")

    assert own.status_code == 200
    assert other.status_code == 404
    assert CUSTOMER_MARK not in other.content.decode()


def test_analysts_cannot_send_tests_or_reconcile_deliveries(both, cx_analyst):
    client = client_for(cx_analyst)
    survey = both[1]["survey"]

    panel = f"/admin/surveys/distributionrule/panel/{survey.pk}/"
    assert client.get(panel).status_code == 200
    assert client.post(panel, {"send_test": "1"}).status_code == 403
    assert mail.outbox == []
    unknown = "/admin/surveys/distributionrule/delivery-unknown/"
    assert client.post(unknown, {"ids": ["1"], "decision": "failed"}).status_code == 403


def test_a_manager_reconciles_only_their_own_audiences_invitations(both, cx_manager):
    employees, customers = both
    theirs = Invitation.objects.filter(survey=employees["survey"]).first()
    mine = Invitation.objects.filter(survey=customers["survey"]).first()
    Invitation.objects.filter(pk__in=[theirs.pk, mine.pk]).update(state="delivery_unknown")

    client_for(cx_manager).post(
        "/admin/surveys/distributionrule/delivery-unknown/",
        {"ids": [str(theirs.pk), str(mine.pk)], "decision": "failed"},
    )

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.state, mine.state) == ("delivery_unknown", "failed")


def test_a_manager_cannot_loosen_an_audiences_privacy_settings(both, cx_manager):
    customers = both[1]["audience"]
    url = f"/admin/audiences/audience/{customers.pk}/change/"

    form = client_for(cx_manager).get(url).context["adminform"].form

    # Its names, description, priority and brand: never its kind, anonymity or thresholds.
    brand = ["logo", "logo_clear", *BRAND_FIELDS]
    assert sorted(form.fields) == sorted(
        ["description", "name", "name_translations", "priority", *brand]
    )


def test_events_are_scoped_by_a_literal_list_of_the_users_touchpoints(both, hr_analyst):
    from journeys.models import TouchpointEvent

    employees, customers = both
    events = scope(TouchpointEvent.objects.all(), user=hr_analyst, role=Role.ANALYST)

    sql = str(events.query)
    assert f'"touchpoint_id" IN ({employees["touchpoint"].pk})' in sql
    assert "SELECT" not in sql.split("WHERE", 1)[1]
    assert set(events.values_list("person__external_id", flat=True)) == {
        p.external_id for p in employees["people"]
    }


def test_segment_choices_are_the_users_audiences_without_a_distinct_on_postgresql(both, hr_analyst):
    client = client_for(hr_analyst)

    with CaptureQueriesContext(connection) as captured:
        page = client.get("/admin/audiences/membership/")
        choices = next(f for f in page.context["cl"].filter_specs if f.title == "segment")
        segments = list(choices.lookup_choices)

    assert segments == [f"{EMPLOYEE_MARK}Dept"]
    if connection.vendor == "postgresql":
        distinct = 'DISTINCT "audiences_membership"."segment"'
        assert not [q["sql"] for q in captured if distinct in q["sql"]]
